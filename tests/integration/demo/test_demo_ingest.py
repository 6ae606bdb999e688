"""The demo's ingest step: every generated source attached and loaded, checked against the ground
truth, and a second run that changes nothing."""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rongshu.catalog.demo import register_demo_catalog
from rongshu.cli import app
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import bootstrap, read_manifest
from rongshu.demo.catalog_resources import catalog_resources, table_resource
from rongshu.demo.generator import MANIFEST_FILE, CityManifest, generate_city
from rongshu.demo.schema import TABLE_BY_KEY, DefectKind
from rongshu.ingest import service
from rongshu.ingest.demo import DemoIngest, load_demo_sources
from rongshu.ingest.schemas import LoadMode, LoadStatus
from rongshu.lake.tables import Lake

from ..conftest import open_platform

ROWS = 300

#: Planted defects a load repairs: the lake holds the value before the defect was planted.
REPAIRED = {DefectKind.MIXED_DATE_FORMAT, DefectKind.FULLWIDTH_DIGITS}


def demo_city(platform: Platform, out: Path, database_urls: list[str] | None = None) -> Path:
    generate_city(out, rows=ROWS, seed=3, database_urls=database_urls or [])
    bootstrap(platform)
    register_demo_catalog(platform, out)
    return out


def manifest_of(city: Path) -> CityManifest:
    manifest = read_manifest(city)
    assert manifest is not None
    return manifest


def resource_rows(manifest: CityManifest) -> dict[str, int]:
    """Rows each resource should hold: its generated table's."""
    return {table_resource(TABLE_BY_KEY[t.key]).code: t.rows for t in manifest.tables}


def lake_counts(platform: Platform, codes: list[str]) -> dict[str, tuple[int | None, int]]:
    lake = Lake.from_settings(platform.settings)
    return {code: (lake.table(code).version(), lake.table(code).count()) for code in codes}


def check_loaded(platform: Platform, manifest: CityManifest, report: DemoIngest) -> None:
    """Every source attached has succeeded, and every resource holds its table exactly once."""
    assert report.failures == []
    expected = resource_rows(manifest)
    with platform.db.session_scope() as session:
        sources = service.list_sources(session)
        assert len(sources) == report.sources
        assert {s.resource_code for s in sources} == set(expected)
        for source in sources:
            loads, _ = service.list_loads(session, source_id=source.id)
            assert loads and loads[0].status is LoadStatus.SUCCEEDED, (source.name, loads)
            if source.mode is LoadMode.INCREMENTAL:
                assert source.last_watermark, source.name
    for load in report.loads:
        assert load.rows_written + load.rows_rejected == load.rows_read, load
    for code, (version, count) in lake_counts(platform, list(expected)).items():
        assert version is not None and count == expected[code], code


def shown(value: Any) -> str:
    """A lake value as the ground truth writes it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def holds(value: Any, text: str) -> bool:
    """Whether a lake value is the ground truth's ``text`` (numbers compared as numbers)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value) == float(text)
    return shown(value) == text


def test_every_generated_source_is_loaded_as_the_ground_truth_says(
    platform: Platform, tmp_path: Path
) -> None:
    city = demo_city(platform, tmp_path / "city")
    manifest = manifest_of(city)
    report = load_demo_sources(platform, city)

    check_loaded(platform, manifest, report)
    assert report.databases_left_out == []
    assert len(report.loads) == report.attached == report.sources == len(manifest.tables)
    by_resource = {load.resource_code: load for load in report.loads}
    for code, rows in resource_rows(manifest).items():
        assert by_resource[code].rows_read == rows, code
    # No planted defect makes a cell unreadable: each is repaired, emptied or kept for quality
    # checks, and the lake shows which (checked cell by cell below).
    assert sum(load.rows_rejected for load in report.loads) == 0
    declared = {r.code for r in catalog_resources()}
    assert set(report.without_source) == declared - set(resource_rows(manifest))
    assert report.without_source and "27 catalog resources have no source" in report.summary()

    lake = Lake.from_settings(platform.settings)
    tables = {}
    for summary in manifest.tables:
        rows = lake.table(table_resource(TABLE_BY_KEY[summary.key]).code).read().to_pylist()
        tables[summary.key] = {shown(row[summary.key_column]): row for row in rows}
    with (city / manifest.defects_path).open(encoding="utf-8", newline="") as file:
        defects = list(csv.DictReader(file))
    checked: dict[str, int] = {}
    for defect in defects:
        value = tables[defect["table"]][defect["row_key"]][defect["column"]]
        kind = DefectKind(defect["kind"])
        if kind is DefectKind.MISSING_VALUE:
            assert value is None, defect
            outcome = "emptied"
        elif kind in REPAIRED:
            assert holds(value, defect["original"]), defect
            outcome = "repaired"
        else:
            assert holds(value, defect["injected"]), defect
            outcome = "kept"
        checked[outcome] = checked.get(outcome, 0) + 1
    assert set(checked) == {"emptied", "repaired", "kept"}, checked


def test_running_again_changes_nothing_until_the_city_is_regenerated(
    platform: Platform, tmp_path: Path
) -> None:
    city = demo_city(platform, tmp_path / "city")
    first = load_demo_sources(platform, city)
    codes = list(resource_rows(manifest_of(city)))
    before = lake_counts(platform, codes)

    again = load_demo_sources(platform, city)
    assert (again.attached, again.loads, again.failures) == (0, [], [])
    assert again.already_loaded == again.sources == first.sources
    assert "already loaded since the city was generated" in again.summary()
    assert lake_counts(platform, codes) == before  # not even a new version
    with platform.db.session_scope() as session:
        assert len(service.list_sources(session)) == first.sources

    generate_city(city, rows=ROWS, seed=3)  # the same city rewritten: every file is newer
    regenerated = load_demo_sources(platform, city)
    assert regenerated.attached == 0 and len(regenerated.loads) == regenerated.sources
    # Snapshots replace, upserts merge, incremental loads find nothing past their watermark.
    check_loaded(platform, manifest_of(city), regenerated)
    assert any(load.rows_read == 0 for load in regenerated.loads)


def test_databases_that_cannot_be_used_are_left_out_with_the_reason(
    tmp_path: Path,
) -> None:
    platform = open_platform(tmp_path / "data")
    try:
        city = demo_city(platform, tmp_path / "city")
        path = city / MANIFEST_FILE
        stored = json.loads(path.read_text(encoding="utf-8"))
        stored["databases"] = [
            "postgresql+psycopg://rongshu:***@127.0.0.1:5432/departments",
            "postgresql+psycopg://postgres@127.0.0.1:1/departments",
        ]
        path.write_text(json.dumps(stored), encoding="utf-8")

        report = load_demo_sources(platform, city)
        assert len(report.databases_left_out) == 2
        assert "keeps no password" in report.databases_left_out[0]
        assert "127.0.0.1:1" in report.databases_left_out[1]
        check_loaded(platform, manifest_of(city), report)  # the files and SQLite still load
        assert report.sources == len(manifest_of(city).tables)
    finally:
        platform.close()


def _check_database_copies(url: str, tmp_path: Path) -> None:
    platform = open_platform(tmp_path / "data")
    try:
        city = demo_city(platform, tmp_path / "city", [url])
        manifest = manifest_of(city)
        report = load_demo_sources(platform, city)
        copied = [t for t in manifest.tables if t.sql_table]
        assert report.sources == len(manifest.tables) + len(copied)
        assert report.databases_left_out == []
        check_loaded(platform, manifest, report)  # merged by key into the same rows
        parsed = sa.make_url(url)
        with platform.db.session_scope() as session:
            databases = [s for s in service.list_sources(session) if s.kind == "sql"]
        names = {s.name for s in databases}
        assert names == {"sqlite.sources", f"{parsed.get_backend_name()}.{parsed.database}"}
        assert all(s.secret_options == ["url"] for s in databases)  # stored encrypted
    finally:
        platform.close()


@pytest.mark.postgres
def test_tables_copied_to_postgresql_are_attached_and_merged(
    postgres_url: str, tmp_path: Path
) -> None:
    _check_database_copies(postgres_url, tmp_path)


@pytest.mark.mysql
def test_tables_copied_to_mariadb_are_attached_and_merged(mysql_url: str, tmp_path: Path) -> None:
    _check_database_copies(mysql_url, tmp_path)


def test_rongshu_demo_prints_the_loads_and_keeps_one_source_each_on_rerun(
    tmp_path: Path,
) -> None:
    def run_demo() -> str:
        result = CliRunner().invoke(
            app,
            ["demo", "--no-serve", "--rows", str(ROWS), "--data-dir", str(tmp_path)],
            env={"COLUMNS": "300"},
        )
        assert result.exit_code == 0, result.output
        line = re.search(r"✓ ingest: (.*)", result.output)
        assert line, result.output
        return line.group(1)

    first = run_demo()
    assert re.search(r"15 loads into 15 resources: [\d,]+ rows written, 0 rejected", first)
    second = run_demo()
    assert "0 attached now" in second and "15 already loaded" in second
    result = CliRunner().invoke(app, ["ingest", "sources", "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 15
