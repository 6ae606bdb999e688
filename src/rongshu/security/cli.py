"""``rongshu security``: scan resources for personal information, show the masking matrix,
preview a masked read, export watermarked files and trace leaked ones, rotate data keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rongshu.core.commands import DataDirOpt, JsonOpt, cli_actor, console, opened, run
from rongshu.core.keys import KeyPurpose
from rongshu.security import service
from rongshu.security.detection import SAMPLE_ROWS
from rongshu.security.encryption import reencrypt_fields
from rongshu.security.exports import ExportFormat, export_resource, trace_file
from rongshu.security.schemas import MaskingProfile, ScanPublic

app = typer.Typer(
    help="Data security (数据安全): PII scans, grading, masking and data keys.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Data keys by purpose, versioned.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _print_scan(scan: ScanPublic) -> None:
    how = "every row" if scan.full else f"a sample of {scan.rows_scanned:,} rows"
    console.print(
        f"[bold]{scan.resource_code}[/bold] version {scan.version}: scanned {how} of "
        f"{scan.rows_in_version:,} in {scan.seconds:.1f} s; suggested grade "
        f"[bold]{scan.suggested_grade.label}[/bold] ({scan.suggested_grade.value})"
    )
    table = Table("column", "field", "entity", "confidence", "grade", "status", "evidence")
    for item in scan.fields:
        table.add_row(
            item.column,
            item.field_label,
            item.entity.label if item.entity else "—",
            f"{item.confidence:.2f}" if item.entity else "",
            item.suggested_grade.label,
            item.status.label,
            "; ".join(item.evidence),
        )
    console.print(table)


@app.command("scan")
def scan_command(
    resource: Annotated[str, typer.Argument(help="Catalog resource code.")],
    full: Annotated[bool, typer.Option("--full", help="Read every row, not a sample.")] = False,
    sample_rows: Annotated[int, typer.Option(help="Rows of the sample.")] = SAMPLE_ROWS,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Name each column's personal-information type and suggest grades (GB/T 35273, 43697)."""
    with opened(data_dir) as platform:
        scan = run(
            lambda: service.scan_resource(
                platform, resource, actor=cli_actor(), full=full, sample_rows=sample_rows
            )
        )
    if as_json:
        typer.echo(json.dumps(scan.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    _print_scan(scan)


@app.command("masking")
def masking_command(data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """The masking policy matrix: profile × entity type (or grade) → operator."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        rules = service.list_masking_rules(session)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rules], ensure_ascii=False))
        return
    table = Table("profile", "target", "operator", "parameters")
    for rule in rules:
        table.add_row(
            rule.profile.label,
            rule.target,
            rule.operator.label,
            json.dumps(rule.params, ensure_ascii=False) if rule.params else "",
        )
    console.print(table)


@app.command("preview")
def preview_command(
    resource: Annotated[str, typer.Argument(help="Catalog resource code.")],
    profile: Annotated[MaskingProfile, typer.Option(help="Masking profile.")] = (
        MaskingProfile.STANDARD
    ),
    rows: Annotated[int, typer.Option(min=1, max=1000, help="Rows to show.")] = 5,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The first rows of a resource as a masking profile shows them (read in the lake engine)."""
    with opened(data_dir) as platform:
        table = run(lambda: service.masked_preview(platform, resource, profile, rows))
    if as_json:
        typer.echo(json.dumps(table.to_pylist(), ensure_ascii=False, default=str))
        return
    shown = Table(*table.column_names)
    for record in table.to_pylist():
        shown.add_row(*("" if v is None else str(v) for v in record.values()))
    console.print(shown)


@app.command("export")
def export_command(
    resource: Annotated[str, typer.Argument(help="Catalog resource code.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    recipient: Annotated[str, typer.Option(help="Who receives the file (department, app).")],
    profile: Annotated[MaskingProfile, typer.Option(help="Masking profile.")] = (
        MaskingProfile.STANDARD
    ),
    file_format: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = (
        ExportFormat.CSV
    ),
    purpose: Annotated[str, typer.Option(help="Why the data leaves the platform.")] = "",
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a resource, masked and watermarked for one recipient (recorded for tracing)."""
    with opened(data_dir) as platform:
        done = run(
            lambda: export_resource(
                platform,
                resource,
                out,
                recipient=recipient,
                actor=cli_actor(),
                profile=profile,
                file_format=file_format,
                purpose=purpose,
            )
        )
    if as_json:
        typer.echo(json.dumps(done.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    console.print(
        f"export {done.id}: {done.rows:,} rows of {done.resource_code} v{done.version} for "
        f"{done.recipient} → {done.path}; watermark changed {done.cells_changed:,} cells "
        f"({done.fraction_cells_changed:.2%}) in {', '.join(done.marked_columns) or '—'}"
    )


@app.command("trace")
def trace_command(
    file: Annotated[Path, typer.Argument(help="A leaked CSV or Excel file.", exists=True)],
    resource: Annotated[str | None, typer.Option(help="Only exports of this resource.")] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Name the recipient a leaked file most likely came from, with a confidence."""
    with opened(data_dir) as platform:
        outcome = run(lambda: trace_file(platform, file, resource=resource))
    if as_json:
        typer.echo(json.dumps(outcome.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    who = outcome.recipient or "no one singled out"
    console.print(
        f"[bold]{who}[/bold] (export {outcome.export_id or '—'}), confidence "
        f"{outcome.confidence:.6f}: {outcome.rows_aligned:,} of {outcome.rows_leaked:,} leaked "
        f"rows matched, {outcome.marks_compared:,} marks compared among "
        f"{outcome.exports_considered} exports"
    )
    console.print(outcome.verdict, markup=False)


@keys_app.command("rotate")
def rotate_command(
    purpose: Annotated[KeyPurpose, typer.Argument(help="Which key to rotate.")],
    reencrypt: Annotated[
        bool, typer.Option(help="For the field key: re-encrypt the lake's encrypted fields now.")
    ] = True,
    data_dir: DataDirOpt = None,
) -> None:
    """Make a new current version of a data key; older versions stay readable."""
    with opened(data_dir) as platform:
        version = service.key_provider(platform).rotate(purpose)
        platform.ledger.append(cli_actor().audit("security.keys.rotate", f"key:{purpose.value}"))
        console.print(f"{purpose.label}: version {version} is now current")
        if purpose is KeyPurpose.FIELD and reencrypt:
            done = run(lambda: reencrypt_fields(platform, actor=cli_actor()))
            for item in done:
                console.print(
                    f"  {item.resource_code}: version {item.version}, {item.rows:,} rows "
                    f"re-encrypted ({', '.join(item.columns)})"
                )
            console.print(f"{len(done)} tables re-encrypted under field key v{version}")


@keys_app.command("list")
def list_keys_command(data_dir: DataDirOpt = None) -> None:
    """Every data key purpose and its versions (never the keys)."""
    with opened(data_dir) as platform:
        keys = service.key_provider(platform)
        table = Table("purpose", "versions", "current")
        for purpose in KeyPurpose:
            versions = keys.versions(purpose)
            table.add_row(
                purpose.label,
                ", ".join(map(str, versions)) or "—",
                str(versions[-1]) if versions else "—",
            )
    console.print(table)
