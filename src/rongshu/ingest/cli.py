"""``rongshu ingest``: attach sources, run loads, see sources, loads and volumes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from rongshu.core.commands import (
    DataDirOpt,
    JsonOpt,
    cli_actor,
    console,
    err_console,
    opened,
    run,
    validated,
)
from rongshu.core.platform import Platform
from rongshu.ingest import service
from rongshu.ingest.schemas import LoadMode, LoadPublic, SourceCreate

app = typer.Typer(help="Aggregation (汇聚): sources and loads into the lake.", no_args_is_help=True)


@app.command("attach")
def attach(
    resource: Annotated[str, typer.Argument(help="Catalog resource code.")],
    name: Annotated[str, typer.Option(help="Source name, unique per resource.")],
    kind: Annotated[str, typer.Option(help="csv, excel, json, parquet, sql or http.")],
    option: Annotated[
        list[str],
        typer.Option(help="Connector option KEY=VALUE (repeat), e.g. path=... or url=..."),
    ] = [],  # noqa: B006 (typer reads the default)
    mode: Annotated[LoadMode, typer.Option(help="How loads become versions.")] = LoadMode.SNAPSHOT,
    key: Annotated[list[str], typer.Option(help="Key field for upserts (repeat).")] = [],  # noqa: B006
    watermark: Annotated[str | None, typer.Option(help="Watermark field (incremental).")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Attach a source to a resource (credentials in options are stored encrypted)."""
    options = {}
    for item in option:
        field, sep, value = item.partition("=")
        if not sep:
            err_console.print(f"[red]error:[/red] option {item!r} is not KEY=VALUE")
            raise typer.Exit(2)
        options[field.strip()] = value
    data = validated(
        SourceCreate,
        resource_code=resource,
        name=name,
        kind=kind,
        options=options,
        mode=mode,
        key_fields=key,
        watermark_column=watermark,
    )
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        source = run(
            lambda: service.create_source(
                session,
                data=data,
                actor=cli_actor(),
                ledger=platform.ledger,
                secret=platform.secret,
            )
        )
    console.print(f"attached {source.kind} source {source.name} to {source.resource_code}")


@app.command("run")
def run_source(
    resource: Annotated[str, typer.Argument(help="Catalog resource code.")],
    source: Annotated[str | None, typer.Option(help="Source name (default: all).")] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a resource's sources now, each into a new lake version."""
    with opened(data_dir) as platform:
        with platform.db.session_scope() as session:
            names = [
                s.name
                for s in service.list_sources(session)
                if s.resource_code == resource and (source is None or s.name == source)
            ]
        if not names:
            err_console.print(f"[red]error:[/red] no matching source of {resource}")
            raise typer.Exit(4)
        results = [_load(platform, resource, name, quiet=as_json) for name in names]
    if as_json:
        typer.echo(_json(results))


def _load(platform: Platform, resource: str, name: str, *, quiet: bool) -> LoadPublic:
    from rongshu.ingest.runner import run_load

    label = f"{resource} ← {name}"
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True, disable=quiet) as bar:
        task = bar.add_task(label, total=None)

        def progress(rows: int) -> None:
            bar.update(task, description=f"{label}: {rows:,} rows")

        load = run(
            lambda: run_load(
                platform,
                resource_code=resource,
                source_name=name,
                triggered_by=cli_actor().name,
                progress=progress,
            )
        )
    if not quiet:
        console.print(
            f"{label}: version {load.version}, {load.rows_written:,} rows written, "
            f"{load.rows_rejected:,} rejected, {load.cells_repaired:,} cells repaired, "
            f"{load.seconds or 0:.1f} s"
        )
    return load


def _json(items: Sequence[BaseModel]) -> str:
    return json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False, indent=2)


@app.command("sources")
def sources(data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """List attached sources."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        rows = service.list_sources(session)
    if as_json:
        typer.echo(
            json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=2)
        )
        return
    table = Table("resource", "source", "kind", "mode", "schedule", "last watermark")
    for row in rows:
        table.add_row(
            row.resource_code,
            row.name,
            row.kind,
            row.mode.value,
            row.schedule or "",
            row.last_watermark or "",
        )
    console.print(table)


@app.command("status")
def status(data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """The latest loads, sources whose latest load failed, and today's volume per department."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        loads = service.recent_loads(session)
        failing = service.failing_sources(session)
        volumes = service.volumes(session, days=1)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "loads": [r.model_dump(mode="json") for r in loads],
                    "failing_sources": [f.model_dump(mode="json") for f in failing],
                    "volumes_today": [v.model_dump(mode="json") for v in volumes],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table("load", "resource", "status", "read", "written", "rejected", "version", "error")
    for load in loads:
        table.add_row(
            str(load.id), load.resource_code, load.status.value, f"{load.rows_read:,}",
            f"{load.rows_written:,}", f"{load.rows_rejected:,}",
            "" if load.version is None else str(load.version), load.error[:60],
        )  # fmt: skip
    console.print(table)
    for alert in failing:
        console.print(
            f"[red]failing:[/red] {alert.source.resource_code} ← {alert.source.name} "
            f"(load {alert.load.id}, {alert.load.status.value}): {alert.load.error[:120]}"
        )
    for volume in volumes:
        console.print(
            f"{volume.day} {volume.department_code}: {volume.rows_written:,} rows aggregated"
        )
