"""`rongshu ingest attach | run | sources | status` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rongshu.catalog.demo import register_demo_catalog
from rongshu.cli import app
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.generator import generate_city


def rongshu(data_dir: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_attach_run_and_see_the_load(tmp_path: Path) -> None:
    city, data_dir = tmp_path / "city", tmp_path / "data"
    generate_city(city, rows=300, seed=3)
    platform = Platform.open(Settings(data_dir=data_dir), upgrade=True)
    try:
        bootstrap(platform)
        register_demo_catalog(platform, city)
    finally:
        platform.close()
    url = f"url=sqlite:///{city / 'sources' / 'sources.db'}"
    rongshu(data_dir, "ingest", "attach", "350100-GA-0001", "--name", "db", "--kind", "sql",
            "--option", url, "--option", "table=ga_household_registry")  # fmt: skip
    sources = json.loads(rongshu(data_dir, "ingest", "sources", "--json"))
    assert sources[0]["secret_options"] == ["url"] and "url" not in sources[0]["options"]
    out = rongshu(data_dir, "ingest", "run", "350100-GA-0001")
    assert "version 0, 300 rows written" in out
    status = json.loads(rongshu(data_dir, "ingest", "status", "--json"))
    assert status["loads"][0]["status"] == "succeeded"
    assert status["volumes_today"][0]["rows_written"] == 300
    missing = rongshu(data_dir, "ingest", "run", "350100-RS-0001", code=4)
    assert "no matching source" in missing
    assert status["failing_sources"] == []


def test_a_failing_load_is_a_clear_error_and_an_alert(tmp_path: Path) -> None:
    city, data_dir = tmp_path / "city", tmp_path / "data"
    generate_city(city, rows=100, seed=3)
    platform = Platform.open(Settings(data_dir=data_dir), upgrade=True)
    try:
        bootstrap(platform)
        register_demo_catalog(platform, city)
    finally:
        platform.close()
    rongshu(data_dir, "ingest", "attach", "350100-GA-0001", "--name", "drop", "--kind", "csv",
            "--option", f"path={tmp_path / 'not-there.csv'}")  # fmt: skip
    out = rongshu(data_dir, "ingest", "run", "350100-GA-0001", code=4)
    assert "not-there.csv" in out and "Traceback" not in out
    status = rongshu(data_dir, "ingest", "status")
    assert "failing:" in status and "350100-GA-0001 ← drop" in status
