"""`rongshu catalog import | list | show | export` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rdflib
from typer.testing import CliRunner

from rongshu.cli import app
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.catalog_sheet import write_catalog


def rongshu(data_dir: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    platform = Platform.open(Settings(data_dir=tmp_path / "data"), upgrade=True)
    try:
        bootstrap(platform)
    finally:
        platform.close()
    return tmp_path / "data"


def test_import_list_show_and_export(data_dir: Path, tmp_path: Path) -> None:
    workbook = write_catalog(tmp_path / "city")
    out = rongshu(data_dir, "catalog", "import", str(workbook), "--submit")
    assert "imported 42 resources" in out
    listed = json.loads(rongshu(data_dir, "catalog", "list", "--json"))
    assert len(listed) == 42 and {r["status"] for r in listed} == {"submitted"}
    shown = rongshu(data_dir, "catalog", "show", "350100-GA-0001")
    assert "公民身份号码" in shown and "submit" in shown
    # Nothing is published yet, so the export is an empty catalog.
    target = tmp_path / "catalog.ttl"
    rongshu(data_dir, "catalog", "export", "--format", "dcat-ttl", "--output", str(target))
    graph = rdflib.Graph().parse(target, format="turtle")
    assert len(graph) > 0


def test_a_second_import_is_refused_row_by_row(data_dir: Path, tmp_path: Path) -> None:
    workbook = write_catalog(tmp_path / "city")
    rongshu(data_dir, "catalog", "import", str(workbook))
    out = rongshu(data_dir, "catalog", "import", str(workbook), code=2)
    assert "nothing was imported" in out
    assert "row" in out and "already registered" in out
