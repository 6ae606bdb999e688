"""``rongshu demo generate``: write the demo city's source systems (thin over ``generate_city``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from rongshu.core.errors import RongshuError
from rongshu.demo.generator import DEFAULT_ROWS, DEFAULT_SEED, CityManifest, generate_city
from rongshu.demo.schema import TABLE_BY_KEY

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(help="The demo city 榕城: synthetic source systems with known defects.")


def default_out_dir() -> Path:
    """``<data dir>/demo``, the data directory coming from ``RONGSHU_DATA_DIR``."""
    from rongshu.core.settings import load_settings

    return load_settings().data_dir / "demo"


@app.command()
def generate(
    rows: Annotated[
        int, typer.Option(help="Household-registry rows (residents), 100 to 25 000 000.")
    ] = DEFAULT_ROWS,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = (
        DEFAULT_SEED
    ),
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default <data dir>/demo).")
    ] = None,
    to_db: Annotated[
        list[str] | None,
        typer.Option(
            "--to-db",
            help="SQLAlchemy URL to also write the database-backed tables into (repeatable).",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the manifest as JSON.")
    ] = False,
) -> None:
    """Generate 榕城's departments' source files, SQLite database and ground truth."""
    target = out if out is not None else default_out_dir()
    try:
        if json_output:
            manifest = generate_city(target, rows=rows, seed=seed, database_urls=to_db or ())
        else:
            manifest = generate_with_progress(target, rows, seed, to_db or [])
    except RongshuError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(exc.exit_code) from None
    if json_output:
        typer.echo(manifest.model_dump_json(indent=2))
        return
    _print_summary(manifest)


def generate_with_progress(target: Path, rows: int, seed: int, urls: list[str]) -> CityManifest:
    """Generate the city with a progress bar per source table."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(TABLE_BY_KEY[stage].title, total=total)
            bar.update(tasks[stage], completed=done)

        return generate_city(target, rows=rows, seed=seed, database_urls=urls, progress=report)


def _print_summary(manifest: CityManifest) -> None:
    table = Table("部门", "数据表", "格式", "行数", "缺陷", "位置")
    for summary in manifest.tables:
        table.add_row(
            summary.department,
            summary.title,
            summary.source.value + (f" ({summary.encoding})" if summary.encoding else ""),
            f"{summary.rows:,}",
            f"{sum(summary.defects.values()):,}",
            ", ".join(summary.paths),
        )
    console.print(table)
    defects = sum(defect.count for defect in manifest.defects)
    console.print(
        f"{manifest.city}: {manifest.rows:,} residents, {defects:,} defects, "
        f"{manifest.duplicates:,} near-duplicates, seed {manifest.seed}, "
        f"{manifest.elapsed_seconds:.1f} s → {manifest.out_dir}"
    )
