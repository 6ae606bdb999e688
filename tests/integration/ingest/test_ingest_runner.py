"""Loads end to end on the demo city: source → mapping → one atomic lake version → record."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from rongshu.core.platform import Platform
from rongshu.ingest import service
from rongshu.ingest.connectors import SourceNotFound
from rongshu.ingest.models import IngestLoad
from rongshu.ingest.runner import rejected_table_name, run_load
from rongshu.ingest.schemas import LoadMode, LoadStatus, SourcePublic
from rongshu.lake.tables import Lake

REGISTRY = "350100-GA-0001"
Attach = Callable[..., SourcePublic]  # the attach fixture (conftest.py)


def registry_db(city: Path) -> dict[str, str]:
    """Options of the household registry's table in the demo city's SQLite database."""
    return {"url": f"sqlite:///{city / 'sources' / 'sources.db'}", "table": "ga_household_registry"}


def test_snapshot_then_upsert_makes_versions_without_duplicates(
    platform: Platform, city: Path, attach: Attach
) -> None:
    attach(REGISTRY, "registry", "sql", registry_db(city), LoadMode.SNAPSHOT)
    first = run_load(platform, resource_code=REGISTRY, source_name="registry")
    assert first.status is LoadStatus.SUCCEEDED and first.version == 0
    assert first.rows_read == 400
    assert first.rows_written + first.rows_rejected == first.rows_read
    table = Lake.from_settings(platform.settings).table(REGISTRY)
    assert table.count() == first.rows_written

    attach(
        REGISTRY,
        "registry-merge",
        "sql",
        registry_db(city),
        LoadMode.UPSERT,
        key_fields=["person_id"],
    )
    merged = run_load(platform, resource_code=REGISTRY, source_name="registry-merge")
    again = run_load(platform, resource_code=REGISTRY, source_name="registry-merge")
    assert (merged.version, again.version) == (1, 2)
    assert table.count() == first.rows_written  # re-running the same input adds nothing
    assert table.count(version=0) == first.rows_written  # time travel
    with platform.db.session_scope() as session:
        assert {r.department_code for r in service.volumes(session)} == {"GA"}


def test_rejected_rows_are_kept_with_reasons(
    platform: Platform, city: Path, attach: Attach
) -> None:
    with sqlite3.connect(city / "sources" / "sources.db") as db:
        db.execute("UPDATE ga_household_registry SET birth_date = '2020年13月1日' WHERE rowid = 3")
    attach(REGISTRY, "registry", "sql", registry_db(city), LoadMode.SNAPSHOT)
    load = run_load(platform, resource_code=REGISTRY, source_name="registry")
    assert load.rows_rejected >= 1
    assert load.rows_written + load.rows_rejected == load.rows_read == 400
    rejected = Lake.from_settings(platform.settings).table(rejected_table_name(REGISTRY)).read()
    assert set(rejected.column("load_id").to_pylist()) == {load.id}
    bad = [r for r in rejected.to_pylist() if r["value"] == "2020年13月1日"]
    assert bad and bad[0]["row_number"] == 3 and "日期" in bad[0]["reason"]


def test_a_failing_source_is_recorded_and_leaves_the_lake_unchanged(
    platform: Platform, city: Path, attach: Attach
) -> None:
    attach(REGISTRY, "registry", "sql", registry_db(city), LoadMode.SNAPSHOT)
    run_load(platform, resource_code=REGISTRY, source_name="registry")
    (city / "sources" / "sources.db").unlink()
    with pytest.raises(SourceNotFound, match="sources.db"):
        run_load(platform, resource_code=REGISTRY, source_name="registry")
    table = Lake.from_settings(platform.settings).table(REGISTRY)
    assert table.version() == 0
    with platform.db.session_scope() as session:
        loads = session.scalars(select(IngestLoad).order_by(IngestLoad.id)).all()
        assert [load.status for load in loads] == ["succeeded", "failed"]
        assert loads[1].error and loads[1].version is None
