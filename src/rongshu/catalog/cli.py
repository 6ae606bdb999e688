"""``rongshu catalog``: import, list, show and export the data-resource catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rongshu.catalog import service
from rongshu.catalog.schemas import ResourcePublic
from rongshu.core.commands import DataDirOpt, JsonOpt, cli_actor, console, opened, run
from rongshu.core.platform import Platform

app = typer.Typer(help="The data-resource catalog (政务数据资源目录).", no_args_is_help=True)

EXPORT_FORMATS = ("xlsx", "json", "dcat-jsonld", "dcat-ttl")


def _context(platform: Platform) -> service.CatalogContext:
    return service.CatalogContext(
        actor=cli_actor(), ledger=platform.ledger, bureau=platform.settings.bureau_department
    )


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="An .xlsx or .csv catalog in the bureau's shapes.")],
    submit: Annotated[
        bool, typer.Option(help="Submit every imported resource for review.")
    ] = False,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a catalog file, all or nothing; problems are listed by sheet, row and column."""
    from rongshu.catalog.importer import import_catalog

    if not file.is_file():
        console.print(f"[red]error:[/red] no such file: {file}")
        raise typer.Exit(2)
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        report = run(
            lambda: import_catalog(
                session,
                data=file.read_bytes(),
                filename=file.name,
                ctx=_context(platform),
                submit=submit,
            )
        )
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    console.print(
        f"imported {report.resources} resources with {report.fields} fields from {file.name}"
    )


@app.command("list")
def list_resources(
    department: Annotated[
        str | None, typer.Option(help="Only this department's resources.")
    ] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the resources the operator sees: every working copy, with status and version."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        resources = service.list_working(session, actor=cli_actor())
    if department:
        resources = [r for r in resources if r.department_code == department.upper()]
    if as_json:
        typer.echo(_json_list(resources))
        return
    table = Table(
        "code", "name", "department", "share", "open", "grade", "fields", "status", "version"
    )
    for item in resources:
        table.add_row(
            item.code,
            item.name,
            item.department_code,
            item.share_type.label,
            item.open_type.label,
            item.effective_grade.label,
            str(len(item.fields)),
            item.status.label,
            str(item.version),
        )
    console.print(table)


@app.command("show")
def show(
    code: Annotated[str, typer.Argument(help="Resource code.")],
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one resource: attributes, fields and history."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        resource = run(lambda: service.get_resource(session, code=code, actor=cli_actor()))
        events = service.history(session, code=code, actor=cli_actor())
    if as_json:
        typer.echo(resource.model_dump_json(indent=2))
        return
    console.print(
        f"[bold]{resource.code} {resource.name}[/bold]  "
        f"({resource.status.label}, v{resource.version})"
    )
    console.print(
        f"{resource.department_name} · {resource.share_type.label} · {resource.open_type.label}"
        f" · {resource.effective_grade.label} · {resource.update_cycle.label}"
    )
    if resource.summary:
        console.print(resource.summary)
    table = Table("#", "信息项", "英文名称", "类型", "主键", "个人信息", "分级", "质量规则")
    for item in resource.fields:
        table.add_row(
            str(item.position),
            item.name,
            item.english_name,
            item.data_type.label if item.data_type else "",
            "是" if item.is_key else "",
            "是" if item.is_personal else "",
            item.grade.label,
            "、".join(item.rules),
        )
    console.print(table)
    for event in events:
        console.print(f"{event.at:%Y-%m-%d %H:%M} {event.actor} {event.action} {event.reason}")


@app.command("export")
def export(
    format_: Annotated[str, typer.Option("--format", help=", ".join(EXPORT_FORMATS))] = "xlsx",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
    base_url: Annotated[
        str, typer.Option(help="Public URL for DCAT landing pages.")
    ] = "http://127.0.0.1:8000",
    data_dir: DataDirOpt = None,
) -> None:
    """Export the published catalog as Excel, JSON or DCAT-AP (JSON-LD or Turtle)."""
    from rongshu.catalog.dcat import export_dcat
    from rongshu.catalog.exporter import export_json, export_xlsx

    if format_ not in EXPORT_FORMATS:
        console.print(f"[red]error:[/red] --format must be one of {', '.join(EXPORT_FORMATS)}")
        raise typer.Exit(2)
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        resources = service.published_resources(session)
    title = "榕城市政务数据资源目录"
    if format_ == "xlsx":
        body = export_xlsx(resources, title=title)
    elif format_ == "json":
        body = export_json(resources)
    else:
        fmt = "json-ld" if format_ == "dcat-jsonld" else "turtle"
        body = export_dcat(resources, base_url=base_url, title=title, fmt=fmt)
    suffix = {"xlsx": "xlsx", "json": "json", "dcat-jsonld": "jsonld", "dcat-ttl": "ttl"}[format_]
    target = output or Path(f"catalog.{suffix}")
    target.write_bytes(body)
    console.print(f"wrote {len(resources)} published resources to {target}")


def _json_list(resources: list[ResourcePublic]) -> str:
    return json.dumps([r.model_dump(mode="json") for r in resources], ensure_ascii=False, indent=2)
