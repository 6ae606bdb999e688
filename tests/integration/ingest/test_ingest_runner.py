"""Loads end to end on the demo city: source → mapping → one atomic lake version → record."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from rongshu.catalog.demo import register_demo_catalog
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.generator import generate_city
from rongshu.ingest import service
from rongshu.ingest.models import IngestLoad
from rongshu.ingest.runner import rejected_table_name, run_load
from rongshu.ingest.schemas import LoadMode, LoadStatus, SourceCreate
from rongshu.lake.tables import Lake

REGISTRY = "350100-GA-0001"


@pytest.fixture
def city(platform: Platform, tmp_path: Path) -> Path:
    out = tmp_path / "city"
    generate_city(out, rows=400, seed=7)
    bootstrap(platform)
    register_demo_catalog(platform, out)
    return out


def attach(platform: Platform, city: Path, name: str, mode: LoadMode, **extra: object) -> None:
    options = {
        "url": f"sqlite:///{city / 'sources' / 'sources.db'}",
        "table": "ga_household_registry",
    }
    with platform.db.session_scope() as session:
        service.create_source(
            session,
            data=SourceCreate(
                resource_code=REGISTRY,
                name=name,
                kind="sql",
                options=options,
                mode=mode,
                **extra,  # type: ignore[arg-type]
            ),
            actor=SYSTEM,
            ledger=platform.ledger,
            secret=platform.secret,
        )


def test_snapshot_then_upsert_makes_versions_without_duplicates(
    platform: Platform, city: Path
) -> None:
    attach(platform, city, "registry", LoadMode.SNAPSHOT)
    first = run_load(platform, resource_code=REGISTRY, source_name="registry")
    assert first.status is LoadStatus.SUCCEEDED and first.version == 0
    assert first.rows_read == 400
    assert first.rows_written + first.rows_rejected == first.rows_read
    table = Lake(platform.settings.lake_dir).table(REGISTRY)
    assert table.count() == first.rows_written

    attach(platform, city, "registry-merge", LoadMode.UPSERT, key_fields=["person_id"])
    merged = run_load(platform, resource_code=REGISTRY, source_name="registry-merge")
    again = run_load(platform, resource_code=REGISTRY, source_name="registry-merge")
    assert (merged.version, again.version) == (1, 2)
    assert table.count() == first.rows_written  # re-running the same input adds nothing
    assert table.count(version=0) == first.rows_written  # time travel
    with platform.db.session_scope() as session:
        assert {r.department_code for r in service.volumes(session)} == {"GA"}


def test_rejected_rows_are_kept_with_reasons(platform: Platform, city: Path) -> None:
    with sqlite3.connect(city / "sources" / "sources.db") as db:
        db.execute("UPDATE ga_household_registry SET birth_date = '2020年13月1日' WHERE rowid = 3")
    attach(platform, city, "registry", LoadMode.SNAPSHOT)
    load = run_load(platform, resource_code=REGISTRY, source_name="registry")
    assert load.rows_rejected >= 1
    assert load.rows_written + load.rows_rejected == load.rows_read == 400
    rejected = Lake(platform.settings.lake_dir).table(rejected_table_name(REGISTRY)).read()
    assert set(rejected.column("load_id").to_pylist()) == {load.id}
    bad = [r for r in rejected.to_pylist() if r["value"] == "2020年13月1日"]
    assert bad and bad[0]["row_number"] == 3 and "日期" in bad[0]["reason"]


def test_a_failing_source_is_recorded_and_leaves_the_lake_unchanged(
    platform: Platform, city: Path
) -> None:
    attach(platform, city, "registry", LoadMode.SNAPSHOT)
    run_load(platform, resource_code=REGISTRY, source_name="registry")
    (city / "sources" / "sources.db").unlink()
    with pytest.raises(Exception, match="sources.db|no such|unable|not found|exist"):
        run_load(platform, resource_code=REGISTRY, source_name="registry")
    table = Lake(platform.settings.lake_dir).table(REGISTRY)
    assert table.version() == 0
    with platform.db.session_scope() as session:
        loads = session.scalars(select(IngestLoad).order_by(IngestLoad.id)).all()
        assert [load.status for load in loads] == ["succeeded", "failed"]
        assert loads[1].error and loads[1].version is None
