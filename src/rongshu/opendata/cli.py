"""``rongshu opendata``: the portal's datasets, opening and withdrawing them, and releases."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from rongshu.core.commands import (
    DataDirOpt,
    JsonOpt,
    cli_actor,
    console,
    emit,
    err_console,
    opened,
    run,
    validated,
)
from rongshu.core.workdays import BEIJING
from rongshu.opendata import publishing, releases, service
from rongshu.opendata.schemas import (
    DatasetPublic,
    DatasetSpec,
    Licence,
    ReleasePublic,
    ReleaseState,
    Theme,
)
from rongshu.security.schemas import MaskingProfile

app = typer.Typer(
    help="The open-data portal (公共数据开放): datasets, opening, withdrawing, releases.",
    no_args_is_help=True,
)

#: Exit code of a release refused (personal information found): as for other refusals.
REFUSED_EXIT = 3


def _names(value: str | None) -> list[str]:
    """``a,b`` → ``["a", "b"]``."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command("datasets")
def datasets_command(
    withdrawn: Annotated[
        bool, typer.Option("--withdrawn", help="Include withdrawn datasets.")
    ] = False,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Datasets on the portal: access, theme, owner, latest version, rows, downloads."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        found = service.list_datasets(session, include_withdrawn=withdrawn)
    if as_json:
        _print_json([d.model_dump(mode="json") for d in found])
        return
    table = Table("name", "title", "access", "theme", "department", "version", "rows", "downloads")
    for dataset in found:
        latest = dataset.latest
        table.add_row(
            dataset.name + ("" if dataset.state.value == "active" else " (withdrawn)"),
            dataset.title,
            dataset.access.label,
            dataset.theme.label,
            dataset.department_name,
            str(latest.version) if latest else "—",
            f"{latest.rows:,}" if latest else "—",
            f"{dataset.downloads:,}",
        )
    console.print(table)


def _dataset_line(dataset: DatasetPublic, as_json: bool) -> None:
    if as_json:
        _print_json(dataset.model_dump(mode="json"))
        return
    emit(dataset, as_json=False, columns=["name", "title", "access", "state", "columns"])


@app.command("open")
def open_command(
    code: Annotated[str, typer.Argument(help="The catalog resource's code.")],
    title: Annotated[str, typer.Option(help="Default: the resource's name.")] = "",
    notes: Annotated[str, typer.Option(help="Default: the resource's summary.")] = "",
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeat).")] = None,
    theme: Annotated[Theme, typer.Option(help="The portal theme.")] = Theme.GOVERNMENT,
    licence: Annotated[Licence, typer.Option(help="The licence.")] = Licence.CC_BY_4,
    columns: Annotated[
        str | None,
        typer.Option(help="Fields to open, a,b,c; default every non-personal field."),
    ] = None,
    quasi: Annotated[
        str | None, typer.Option(help="Quasi-identifiers checked for k-anonymity, a,b.")
    ] = None,
    k: Annotated[int, typer.Option("--k", help="Smallest group a combination needs.")] = 5,
    spatial: Annotated[str, typer.Option(help="Area covered, e.g. 榕城市.")] = "",
    profile: Annotated[
        MaskingProfile, typer.Option(help="Masking profile the data is read by.")
    ] = MaskingProfile.STANDARD,
    featured: Annotated[bool, typer.Option("--featured", help="Show on the home page.")] = False,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open (or update) a published resource as a dataset; personal fields are refused."""
    spec = validated(
        DatasetSpec,
        title=title,
        notes=notes,
        tags=tag or [],
        theme=theme,
        licence=licence,
        columns=_names(columns),
        quasi_identifiers=_names(quasi),
        k_anonymity=k,
        spatial=spatial,
        masking_profile=profile,
        featured=featured,
    )
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        row = run(
            lambda: publishing.open_dataset(
                platform, session, code=code, spec=spec, actor=cli_actor()
            )
        )
        dataset = service.dataset_public(session, row)
    _dataset_line(dataset, as_json)


@app.command("withdraw")
def withdraw_command(
    name: Annotated[str, typer.Argument(help="The dataset's name (or resource code).")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take a dataset off the portal (its files stay for the record)."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        row = run(
            lambda: publishing.withdraw_dataset(
                platform, session, name=name, reason=reason, actor=cli_actor()
            )
        )
        dataset = service.dataset_public(session, row)
    _dataset_line(dataset, as_json)


_RELEASE_COLUMNS = ["version", "state", "rows", "suppressed_rows", "dropped_rows", "created_at"]


def _files(release: ReleasePublic) -> str:
    return ", ".join(
        f.format.value + ("(gb18030)" if f.encoding == "gb18030" else "") for f in release.files
    )


@app.command("release")
def release_command(
    name: Annotated[str, typer.Argument(help="The dataset's name (or resource code).")],
    version: Annotated[
        int | None, typer.Option(help="The lake version; default the latest.")
    ] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Release a lake version of a dataset now (once per version); exit 3 if refused."""
    with opened(data_dir) as platform:
        made = run(lambda: releases.release(platform, name, actor=cli_actor(), version=version))
    if as_json:
        _print_json(made.model_dump(mode="json"))
    else:
        emit(made, as_json=False, columns=_RELEASE_COLUMNS)
        if made.files:
            console.print(f"files: {_files(made)}")
    if made.state is ReleaseState.REFUSED:
        err_console.print(f"[red]refused:[/red] {made.error}", highlight=False)
        raise typer.Exit(REFUSED_EXIT)


@app.command("releases")
def releases_command(
    name: Annotated[str, typer.Argument(help="The dataset's name (or resource code).")],
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every release of a dataset, newest first, refused ones with the reason."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        found = run(lambda: service.list_releases(session, name))
    if as_json:
        _print_json([r.model_dump(mode="json") for r in found])
        return
    table = Table("version", "state", "rows", "suppressed", "left out", "files", "made", "error")
    for release in found:
        table.add_row(
            str(release.version),
            release.state.label,
            f"{release.rows:,}",
            f"{release.suppressed_rows:,}",
            f"{release.dropped_rows:,}",
            _files(release),
            f"{release.created_at.astimezone(BEIJING):%Y-%m-%d %H:%M}",
            release.error,
        )
    console.print(table)
