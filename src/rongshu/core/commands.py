"""What every area's command-line sub-app shares: output, settings, the open platform, errors.

Commands are thin: they open the platform, call services, and print tables (or JSON with
``--json``). Domain errors become a one-line message and the error's exit code.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from rongshu.core.errors import RongshuError
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings, load_settings

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default RONGSHU_DATA_DIR).")
]


def cli_settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, with command-line overrides."""
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        messages = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        err_console.print(f"[red]settings error:[/red] {messages}")
        raise typer.Exit(6) from None


@contextmanager
def opened(data_dir: Path | None = None, *, upgrade: bool = True) -> Iterator[Platform]:
    platform = Platform.open(cli_settings(data_dir), upgrade=upgrade)
    try:
        yield platform
    finally:
        platform.close()


def cli_actor() -> Actor:
    """Commands run on the server by its operator act as the platform itself, named."""
    return Actor(kind="system", name=f"cli:{getpass.getuser()}"[:64])


def run(action: Callable[[], T]) -> T:
    """Run a service call; a domain error prints one line and exits with its code."""
    try:
        return action()
    except RongshuError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        for detail in exc.details:
            err_console.print(f"  - {describe_problem(detail)}", markup=False)
        raise typer.Exit(exc.exit_code) from None


def describe_problem(detail: dict[str, Any]) -> str:
    """One line for one problem of a domain error (a form field, or a cell of an import file)."""
    if {"sheet", "row", "column", "reason"} <= detail.keys():
        where = f"{detail['sheet']} row {detail['row']}" if detail["row"] else str(detail["sheet"])
        return f"{where}, {detail['column']}: {detail['reason']}"
    if {"field", "reason"} <= detail.keys():
        return f"{detail['field']}: {detail['reason']}"
    return ", ".join(f"{key}={value}" for key, value in detail.items())


def emit(rows: Sequence[BaseModel] | BaseModel, *, as_json: bool, columns: Sequence[str]) -> None:
    """Print a model or list of models as a table, or as JSON."""
    items = [rows] if isinstance(rows, BaseModel) else list(rows)
    if as_json:
        data = [item.model_dump(mode="json") for item in items]
        typer.echo(
            json.dumps(
                data if not isinstance(rows, BaseModel) else data[0], ensure_ascii=False, indent=2
            )
        )
        return
    table = Table(*columns)
    for item in items:
        dumped = item.model_dump(mode="json")
        table.add_row(*(cell(dumped.get(column)) for column in columns))
    console.print(table)


def cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def validated(model: type[T], **data: Any) -> T:
    try:
        return model(**data)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            err_console.print(f"[red]invalid {field}:[/red] {message}")
        raise typer.Exit(2) from None
