"""Loads through the job queue: schedules, retries with backoff, the concurrency limit, alerts,
and loads whose process died."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rongshu.areas import load_jobs
from rongshu.catalog.demo import register_demo_catalog
from rongshu.core.errors import PermissionDenied
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.core.jobs import JobQueue, create_queue
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.generator import generate_city
from rongshu.ingest import jobs, service
from rongshu.ingest.connectors.base import SourceNotFound, SourceUnreadable
from rongshu.ingest.models import IngestLoad, IngestSource
from rongshu.ingest.schemas import LoadMode, LoadStatus, SourceCreate

from ..conftest import open_platform

REGISTRY = "350100-GA-0001"
WAIT = 30.0


@pytest.fixture
def city_platform(tmp_path: Path) -> Iterator[Platform]:
    """A platform with the demo catalog, and quick retries so tests see the backoff."""
    city = tmp_path / "city"
    generate_city(city, rows=200, seed=7)
    platform = open_platform(
        tmp_path / "data", ingest_retries=2, ingest_retry_delay=0.2, ingest_max_concurrent_loads=1
    )
    bootstrap(platform)
    register_demo_catalog(platform, city)
    attach(platform, "registry", "sql", url=f"sqlite:///{city / 'sources' / 'sources.db'}")
    yield platform
    platform.close()


@pytest.fixture
def queue(city_platform: Platform) -> Iterator[JobQueue]:
    load_jobs()
    queue = create_queue(
        city_platform.settings, context_factory=lambda _settings: {"platform": city_platform}
    )
    yield queue
    queue.flush()
    queue.close()


def attach(
    platform: Platform, name: str, kind: str, schedule: str | None = None, **options: Any
) -> None:
    if kind == "sql":
        options.setdefault("table", "ga_household_registry")
    with platform.db.session_scope() as session:
        service.create_source(
            session,
            data=SourceCreate(
                resource_code=REGISTRY,
                name=name,
                kind=kind,
                options=options,
                mode=LoadMode.SNAPSHOT,
                schedule=schedule,
            ),
            actor=SYSTEM,
            ledger=platform.ledger,
            secret=platform.secret,
        )


def loads(platform: Platform, source: str) -> list[IngestLoad]:
    with platform.db.session_scope() as session:
        row = service.get_source(session, resource_code=REGISTRY, name=source)
        found = list(
            session.scalars(
                select(IngestLoad).where(IngestLoad.source_id == row.id).order_by(IngestLoad.id)
            )
        )
        session.expunge_all()
        return found


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT:g} s waiting for {what}")
        time.sleep(0.1)


def test_a_scheduled_load_runs_through_the_queue(city_platform: Platform, queue: JobQueue) -> None:
    queue.start_in_process(workers=2)
    handle = queue.enqueue("ingest.load", resource_code=REGISTRY, source_name="registry")
    record = handle.result(timeout=WAIT)
    assert record["status"] == "succeeded" and record["rows_read"] == 200
    assert record["triggered_by"] == "schedule" and record["version"] == 0


def test_dispatch_queues_each_due_source_once_a_minute(
    city_platform: Platform, queue: JobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    attach(city_platform, "every-minute", "csv", schedule="* * * * *", path="/nonexistent.csv")
    attach(city_platform, "at-nine", "csv", schedule="0 9 * * *", path="/nonexistent.csv")
    minute = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    monkeypatch.setattr(jobs, "this_minute", lambda: minute)
    assert queue.run_now("ingest.dispatch") == {"due": 2, "queued": 2}
    assert queue.run_now("ingest.dispatch") == {"due": 2, "queued": 0}  # another scheduler
    minute = datetime(2026, 11, 23, 1, 1, tzinfo=UTC)
    assert queue.run_now("ingest.dispatch") == {"due": 1, "queued": 1}
    # The registry source follows its resource's update cycle, which is not due at these times.
    assert queue.pending_count() == 3


def test_schedules_come_from_the_update_cycle_unless_overridden(city_platform: Platform) -> None:
    with city_platform.db.session_scope() as session:
        registry = service.get_source(session, resource_code=REGISTRY, name="registry")
        assert registry.schedule  # the resource's update cycle gave it one
        registry.enabled = False
        assert service.due_sources(session, moment=datetime(2026, 1, 1, tzinfo=UTC)) == []
    with pytest.raises(ValueError, match="not a valid"):
        SourceCreate(resource_code=REGISTRY, name="x", kind="csv", schedule="0 25 * * *")


def test_a_failing_load_is_retried_with_backoff_then_alerts_its_steward(
    city_platform: Platform, queue: JobQueue, tmp_path: Path
) -> None:
    attach(city_platform, "dropbox", "csv", path=str(tmp_path / "not-dropped-yet.csv"))
    queue.start_in_process(workers=2)
    queue.enqueue("ingest.load", resource_code=REGISTRY, source_name="dropbox")
    wait_until(lambda: len(loads(city_platform, "dropbox")) == 3, "three attempts")
    attempts = loads(city_platform, "dropbox")
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert {a.status for a in attempts} == {LoadStatus.FAILED.value}
    gaps = [
        (later.started_at - earlier.finished_at).total_seconds()
        for earlier, later in zip(attempts, attempts[1:], strict=False)
        if earlier.finished_at
    ]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # the delay doubles
    time.sleep(1.5)  # no fourth attempt: two retries were allowed
    assert len(loads(city_platform, "dropbox")) == 3
    with city_platform.db.session_scope() as session:
        alerts = service.failing_sources(session, department="GA")
        assert [(a.source.name, a.load.attempt) for a in alerts] == [("dropbox", 3)]
        assert "not-dropped-yet.csv" in alerts[0].load.error
        assert service.failing_sources(session, department="RS") == []


def test_errors_that_waiting_cannot_fix_are_not_retried(
    city_platform: Platform, queue: JobQueue, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"name,id\n" + bytes(range(128, 256)) * 50 + b"\n")
    attach(city_platform, "broken", "csv", path=str(broken), encoding="utf-8")
    queue.start_in_process(workers=1)
    with pytest.raises(SourceUnreadable):
        queue.enqueue("ingest.load", resource_code=REGISTRY, source_name="broken").result(WAIT)
    time.sleep(0.8)
    assert [a.attempt for a in loads(city_platform, "broken")] == [1]
    assert jobs.retryable(SourceNotFound("later")) and not jobs.retryable(PermissionDenied("x"))


def test_a_load_waits_for_a_free_slot(city_platform: Platform, queue: JobQueue) -> None:
    held = queue.acquire_slot("ingest.load", 1, ttl=60)  # another worker's load
    assert held is not None
    assert queue.run_now("ingest.load", resource_code=REGISTRY, source_name="registry") == {
        "status": "waiting",
        "retry_in": jobs.SLOT_WAIT,
    }
    assert loads(city_platform, "registry") == []  # nothing ran
    assert queue.pending_count() == 1  # it asks again later
    queue.release_slot(held)
    record = queue.run_now("ingest.load", resource_code=REGISTRY, source_name="registry")
    assert record["status"] == "succeeded"


def test_run_now_is_for_the_departments_stewards(city_platform: Platform) -> None:
    outsider = Actor(
        kind="user", name="rs-steward", roles=frozenset({Role.DATA_STEWARD}), department="RS"
    )
    with pytest.raises(PermissionDenied):
        jobs.request_load(
            city_platform, None, resource_code=REGISTRY, source_name="registry", actor=outsider
        )
    steward = Actor(
        kind="user", name="ga-steward", roles=frozenset({Role.DATA_STEWARD}), department="GA"
    )
    record = jobs.request_load(
        city_platform, None, resource_code=REGISTRY, source_name="registry", actor=steward
    )
    assert not isinstance(record, str) and record.status is LoadStatus.SUCCEEDED
    assert record.triggered_by == "ga-steward"


def test_run_now_goes_to_the_queue_without_retries(
    city_platform: Platform, queue: JobQueue, tmp_path: Path
) -> None:
    attach(city_platform, "dropbox", "csv", path=str(tmp_path / "missing.csv"))
    job_id = jobs.request_load(
        city_platform, queue, resource_code=REGISTRY, source_name="dropbox", actor=SYSTEM
    )
    assert isinstance(job_id, str)
    queue.start_in_process(workers=1)
    wait_until(lambda: len(loads(city_platform, "dropbox")) == 1, "the load")
    time.sleep(1.0)
    assert len(loads(city_platform, "dropbox")) == 1


def test_a_load_whose_process_died_is_marked_interrupted(city_platform: Platform) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    with city_platform.db.session_scope() as session:
        source = service.get_source(session, resource_code=REGISTRY, name="registry")
        orphan = service.start_load(session, source=source, triggered_by="schedule")
        orphan.pid = int(dead.stdout)  # as if a killed process had started it
        mine = service.start_load(session, source=source, triggered_by="schedule")
        assert orphan.status == LoadStatus.INTERRUPTED.value and "previous version" in orphan.error
        service.start_load(session, source=source, triggered_by="schedule")
        assert mine.status == LoadStatus.RUNNING.value  # this process is alive
        assert session.scalar(select(IngestSource.enabled).where(IngestSource.id == source.id))
