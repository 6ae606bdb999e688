"""Every successful load is checked: in process after ``run_load``, or as a queued job."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from rongshu.areas import load_jobs
from rongshu.core.jobs import JobQueue, create_queue
from rongshu.core.platform import Platform
from rongshu.ingest import service as ingest
from rongshu.ingest.runner import run_load
from rongshu.ingest.schemas import LoadMode
from rongshu.lake.tables import Lake
from rongshu.quality import service
from rongshu.quality.failures import failures_table_name, row_key
from rongshu.quality.schemas import RuleKind, RunStatus

from .conftest import REGISTRY, registry_city

WAIT = 60.0


@pytest.fixture
def city(platform: Platform, tmp_path: Path) -> Path:
    """The demo city (300 registry rows) in the catalog, its registry attached as a source."""
    out = tmp_path / "city"
    registry_city(platform, out, rows=300, seed=7)
    return out


def injected(city: Path, table: str, kind: str) -> set[str]:
    """Row keys of the registry rows the generator gave a defect of ``kind``."""
    with (city / "ground_truth" / "defects.csv").open(encoding="utf-8") as stream:
        return {
            row_key({"person_id": row["row_key"]})
            for row in csv.DictReader(stream)
            if row["table"] == table and row["kind"] == kind
        }


def test_a_load_is_checked_against_the_catalogs_rules(platform: Platform, city: Path) -> None:
    load = run_load(platform, resource_code=REGISTRY, source_name="registry")
    with platform.db.session_scope() as session:
        run = service.latest_run(session, REGISTRY)
    assert run is not None and run.status is RunStatus.SUCCEEDED
    assert (run.version, run.rows, run.triggered_by) == (
        load.version,
        load.rows_written,
        f"load:{load.id}",
    )
    standards = {r.params["standard"] for r in run.results if r.kind is RuleKind.STANDARD}
    assert {"ric", "region", "phone"} <= standards  # seeded from the catalog fields' rules
    ric = next(r for r in run.results if r.params.get("standard") == "ric")
    failures = Lake.from_settings(platform.settings).table(failures_table_name(REGISTRY)).read()
    bad_check_digits = {
        f["row_key"] for f in failures.to_pylist() if f["reason"] == "ric.check_digit"
    }
    expected = injected(city, "household_registry", "bad_id_check_digit")
    assert expected and bad_check_digits == expected
    assert service.failing_keys(platform, run.id, ric.rule_id) >= expected


def test_a_load_that_adds_no_version_is_not_checked(platform: Platform, city: Path) -> None:
    run_load(platform, resource_code=REGISTRY, source_name="registry")
    with platform.db.session_scope() as session:
        row = ingest.get_source(session, resource_code=REGISTRY, name="registry")
        row.mode = LoadMode.APPEND.value
        row.options = {"query": "SELECT * FROM ga_household_registry WHERE 0"}  # nothing new
    again = run_load(platform, resource_code=REGISTRY, source_name="registry")
    assert again.version is None
    with platform.db.session_scope() as session:
        _, count = service.list_runs(session, resource_code=REGISTRY)
    assert count == 1


@pytest.fixture
def queue(platform: Platform, city: Path) -> Iterator[JobQueue]:
    load_jobs()
    opened = create_queue(platform.settings, context_factory=lambda _: {"platform": platform})
    yield opened
    opened.flush()
    opened.close()


def test_a_queued_load_queues_the_check_of_its_version(platform: Platform, queue: JobQueue) -> None:
    queue.start_in_process(workers=2)
    record = queue.enqueue("ingest.load", resource_code=REGISTRY, source_name="registry").result(
        timeout=WAIT
    )
    # The load queued the check of its version, keyed by the version: asking again finds it.
    check = queue.enqueue(
        "quality.run",
        idempotency_key=f"{REGISTRY}@{record['version']}",
        resource_code=REGISTRY,
        version=record["version"],
    )
    assert check.deduplicated
    checked = check.result(timeout=WAIT)
    assert checked["status"] == "succeeded" and checked["version"] == record["version"]
    assert checked["triggered_by"] == f"load:{record['id']}"
    with platform.db.session_scope() as session:
        runs, _ = service.list_runs(session, resource_code=REGISTRY)
    assert [r.id for r in runs] == [checked["id"]]  # not also checked in the load's process
