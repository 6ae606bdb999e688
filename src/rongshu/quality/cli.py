"""``rongshu quality``: run checks, read scorecards and the league table, list and sync rules,
and check values against a national standard."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from rongshu.core.commands import DataDirOpt, JsonOpt, cli_actor, console, err_console, opened, run
from rongshu.quality import rules as quality_rules
from rongshu.quality import scorecards
from rongshu.quality.profiling import accept_suggestions, profile_resource
from rongshu.quality.reasons import describe
from rongshu.quality.schemas import (
    Dimension,
    LeagueTable,
    ResourceScorecard,
    RulePublic,
    RunPublic,
    SyncReport,
    ValueVerdict,
)
from rongshu.quality.service import run_quality

app = typer.Typer(
    help="Data quality (治理): rules, runs, scorecards and national standards.",
    no_args_is_help=True,
)


def _json(data: BaseModel | list[BaseModel]) -> None:
    dumped = (
        [item.model_dump(mode="json") for item in data]
        if isinstance(data, list)
        else data.model_dump(mode="json")
    )
    typer.echo(json.dumps(dumped, ensure_ascii=False, indent=2))


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}"


@app.command("run")
def run_command(
    resource: Annotated[str, typer.Argument(help="Catalog resource code.")],
    version: Annotated[int | None, typer.Option(help="Lake version (default: latest).")] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a version of a resource against its rules, in one pass."""
    with opened(data_dir) as platform:
        label = f"checking {resource}"
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task(label, total=None)

            def progress(failing: int) -> None:
                bar.update(task, description=f"{label}: {failing:,} failing values so far")

            record = run(
                lambda: run_quality(
                    platform,
                    resource,
                    version,
                    triggered_by=cli_actor().name,
                    progress=progress,
                )
            )
    if as_json:
        _json(record)
        return
    _print_run(record)


def _print_run(record: RunPublic) -> None:
    console.print(
        f"{record.resource_code} version {record.version}: {record.rows:,} rows, "
        f"{record.failing_rows:,} failing at least one rule, score {_score(record.score)} "
        f"({record.seconds or 0:.2f} s, run {record.id})"
    )
    if record.scores:
        console.print("  " + "  ".join(f"{d.label} {_score(s)}" for d, s in record.scores.items()))
    table = Table("rule", "kind", "field", "severity", "dimension", "checked", "failing", "note")
    for result in record.results:
        table.add_row(
            str(result.rule_id),
            result.kind.value,
            result.field or "",
            result.severity.value,
            result.dimension.value,
            f"{result.checked:,}",
            f"{result.failing:,}",
            result.note,
        )
    console.print(table)


@app.command("report")
def report(
    resource: Annotated[
        str | None, typer.Argument(help="Resource code (default: the league table).")
    ] = None,
    version: Annotated[int | None, typer.Option(help="Lake version of the resource.")] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A resource's scorecard (scores, per-rule counts, trend), or every department's."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        if resource is None:
            league = scorecards.league_table(session)
            departments = [
                scorecards.department_scorecard(session, row.department_code) for row in league.data
            ]
        else:
            card = run(lambda: scorecards.resource_scorecard(session, resource, version=version))
    if resource is None:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "league": league.model_dump(mode="json"),
                        "departments": [d.model_dump(mode="json") for d in departments],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
            return
        _print_league(league)
        resources = Table("department", "resource", "name", "version", "rows", "failing", "score")
        for department in departments:
            for line in department.resources:
                resources.add_row(
                    department.department_code,
                    line.resource_code,
                    line.resource_name,
                    str(line.version),
                    f"{line.rows:,}",
                    f"{line.failing_rows:,}",
                    _score(line.score),
                )
        console.print(resources)
        return
    if as_json:
        _json(card)
        return
    _print_scorecard(card)


def _print_league(league: LeagueTable) -> None:
    table = Table(
        "rank",
        "department",
        "resources",
        "rows",
        "failing",
        "score",
        *(d.label for d in Dimension),
        title="质量排行 (league table)",
    )
    for row in league.data:
        table.add_row(
            str(row.rank),
            f"{row.department_code} {row.department_name}",
            str(row.resources),
            f"{row.rows:,}",
            f"{row.failing_rows:,}",
            _score(row.score),
            *(_score(row.scores.get(d)) for d in Dimension),
        )
    console.print(table)


def _print_scorecard(card: ResourceScorecard) -> None:
    console.print(f"{card.resource_code} {card.resource_name} ({card.department_code})")
    if card.run is None:
        console.print("  no succeeded quality run yet: `rongshu quality run` checks it")
        return
    _print_run(card.run)
    if len(card.trend) > 1:
        console.print(
            "trend: " + " → ".join(f"v{p.version} {_score(p.score)}" for p in card.trend[-10:])
        )


@app.command("rules")
def rules(
    words: Annotated[
        list[str],
        typer.Argument(
            help="RESOURCE to list its rules, or `sync RESOURCE` to seed them from the catalog.",
            metavar="[sync] RESOURCE",
        ),
    ],
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a resource's rules; `rules sync RESOURCE` brings them in step with the catalog."""
    if len(words) == 2 and words[0] == "sync":
        with opened(data_dir) as platform, platform.db.session_scope() as session:
            sync = run(
                lambda: quality_rules.sync_rules(
                    session, resource_code=words[1], actor=cli_actor(), ledger=platform.ledger
                )
            )
        _print_sync(sync, as_json=as_json)
        return
    if len(words) != 1:
        err_console.print("[red]error:[/red] give RESOURCE, or sync RESOURCE")
        raise typer.Exit(2)
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        run(lambda: quality_rules.resource_of(session, words[0]))
        listed = quality_rules.list_rules(session, resource_code=words[0])
    if as_json:
        _json(list(listed))
        return
    _print_rules(listed)
    if not listed:
        console.print("no rules yet: the first run (or `rongshu quality rules sync`) seeds them")


def _print_rules(listed: list[RulePublic]) -> None:
    table = Table("id", "field", "kind", "params", "severity", "dimension", "enabled", "origin")
    for rule in listed:
        table.add_row(
            str(rule.id),
            rule.field or "",
            rule.kind.value,
            json.dumps(rule.params, ensure_ascii=False) if rule.params else "",
            rule.severity.value,
            rule.dimension.value,
            "yes" if rule.enabled else "no",
            rule.origin.value,
        )
    console.print(table)


def _print_sync(sync: SyncReport, *, as_json: bool) -> None:
    if as_json:
        _json(sync)
        return
    console.print(
        f"{sync.resource_code}: {len(sync.added)} rules added, {len(sync.removed)} removed, "
        f"{sync.kept} kept"
    )
    if sync.added:
        _print_rules(sync.added)
    for skipped in sync.skipped:
        console.print(
            f"[yellow]skipped[/yellow] {skipped.field}: {skipped.rule} ({skipped.reason})"
        )


@app.command("profile")
def profile(
    resource: Annotated[str, typer.Argument(help="Catalog resource code.")],
    version: Annotated[int | None, typer.Option(help="Lake version (default: latest).")] = None,
    accept: Annotated[
        bool, typer.Option("--accept", help="Add the suggested rules to the resource.")
    ] = False,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Profile a resource's data (nulls, distinct values, top values, shapes) and suggest rules."""
    with opened(data_dir) as platform:
        found, suggestions = run(lambda: profile_resource(platform, resource, version=version))
        added = (
            run(lambda: accept_suggestions(platform, resource, suggestions, actor=cli_actor()))
            if accept
            else []
        )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "profile": found.model_dump(mode="json"),
                    "suggestions": [s.model_dump(mode="json") for s in suggestions],
                    "added": [r.model_dump(mode="json") for r in added],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table("column", "type", "nulls", "distinct", "top values", "shapes")
    for column in found.columns:
        table.add_row(
            column.name,
            column.data_type,
            f"{column.null_rate:.1%}",
            f"{column.distinct:,}",
            ", ".join(f"{v.value} ({v.count})" for v in column.top_values[:3]),
            ", ".join(v.value for v in column.shapes[:2]),
        )
    console.print(
        f"{resource} version {found.version}: {found.rows:,} rows "
        f"(top values and shapes from {found.sample_rows:,})"
    )
    console.print(table)
    for suggestion in suggestions:
        rule = suggestion.rule
        what = rule.params.get("standard", rule.kind.value)
        console.print(f"suggested: {rule.field} {what} — {suggestion.reason}")
    if added:
        console.print(f"added {len(added)} rule(s)")
    elif suggestions:
        console.print("add them with --accept")


@app.command("validate")
def validate(
    values: Annotated[list[str], typer.Argument(help="Values to check.")],
    standard: Annotated[str, typer.Option(help="Standard: ric, uscc, region, phone, ...")],
    as_json: JsonOpt = False,
) -> None:
    """Check values against a national standard; exit 1 when any fails."""
    from rongshu.standards import get_standard

    found = run(lambda: get_standard(standard))
    verdicts = []
    for value in values:
        verdict = found.check(value)
        zh, en = describe(verdict.reason) if verdict.reason else (None, None)
        verdicts.append(
            ValueVerdict(
                value=value, ok=verdict.ok, reason=verdict.reason, message_zh=zh, message_en=en
            )
        )
    if as_json:
        _json(list(verdicts))
    else:
        for item in verdicts:
            if item.ok:
                console.print(f"{item.value}  [green]ok[/green]", markup=True)
            else:
                console.print(
                    f"{item.value}  [red]{item.reason}[/red]  {item.message_zh} ({item.message_en})"
                )
    if not all(item.ok for item in verdicts):
        raise typer.Exit(1)


# -- corrections (added by the corrections area; rongshu.quality.corrections) --------------


@app.command("corrections")
def corrections_command(
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    overdue: Annotated[bool, typer.Option(help="Only tickets past their deadline.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Most tickets listed.")] = 100,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Correction tickets (纠错), newest first: state, deadline and failing rows."""
    from rongshu.quality.corrections import list_tickets

    with opened(data_dir) as platform, platform.db.session_scope() as session:
        data, count = run(
            lambda: list_tickets(
                session,
                actor=cli_actor(),
                ledger=platform.ledger,
                bureau=platform.settings.bureau_department,
                department=department,
                overdue=overdue,
                limit=limit,
            )
        )
    if as_json:
        _json(list(data))
        return
    columns = ("number", "department", "resource", "field", "rule", "state", "failing", "deadline")
    table = Table(*columns)
    for ticket in data:
        late = " [red](overdue)[/red]" if ticket.overdue else ""
        table.add_row(
            ticket.number,
            ticket.department_code,
            ticket.resource_code,
            ticket.field or "",
            ticket.rule_kind or ticket.kind.value,
            ticket.state.value,
            f"{ticket.failing:,}",
            f"{ticket.deadline:%Y-%m-%d %H:%M} UTC{late}",
        )
    console.print(table)
    console.print(f"{len(data)} of {count} tickets")
