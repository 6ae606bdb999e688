"""``rongshu demo generate`` (the demo's Typer sub-app)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from rongshu.demo.cli import app

runner = CliRunner()
# Mounted the way the main command mounts it: ``rongshu demo generate``.
root = typer.Typer()
root.add_typer(app, name="demo")


@root.command()
def version() -> None:
    """A second command, so the root is a group as in ``rongshu``."""


def test_generate_prints_the_manifest_as_json(tmp_path: Path) -> None:
    result = runner.invoke(
        root,
        ["demo", "generate", "--rows", "1000", "--seed", "3", "--out", str(tmp_path), "--json"],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.output)
    assert manifest["rows"] == 1000 and manifest["seed"] == 3
    assert {t["key"] for t in manifest["tables"]} >= {"household_registry", "student_status"}
    assert (tmp_path / "ground_truth/manifest.json").is_file()


def test_generate_prints_a_table_of_sources(tmp_path: Path) -> None:
    result = runner.invoke(root, ["demo", "generate", "--rows", "500", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "户籍人口信息" in result.output and "gb18030" in result.output
    assert "500 residents" in result.output


def test_out_of_range_rows_is_a_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(root, ["demo", "generate", "--rows", "5", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "rows must be between" in result.output
