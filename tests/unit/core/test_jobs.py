"""Job definitions: what the decorators record and refuse (no queue, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from rongshu.core.errors import ConfigurationError, NotFound, ValidationFailed
from rongshu.core.jobs import REGISTRY, JobContext, JobRegistry


def test_job_decorator_records_definition_and_returns_function_unchanged() -> None:
    jobs = JobRegistry()

    def verify(ctx: JobContext, *, upto: int | None = None) -> int:
        return upto or 0

    decorated = jobs.job("audit.verify_chain", retries=3, retry_delay=30)(verify)

    assert decorated is verify
    definition = jobs.get("audit.verify_chain")
    assert (definition.retries, definition.retry_delay, definition.cron) == (3, 30, None)
    assert not definition.is_periodic
    assert "audit.verify_chain" in jobs and len(jobs) == 1


def test_periodic_decorator_records_its_schedule() -> None:
    jobs = JobRegistry()

    @jobs.periodic("identity.purge_sessions", cron="*/15 * * * *")
    def purge(ctx: JobContext) -> int:
        return 0

    definition = jobs.get("identity.purge_sessions")
    assert definition.is_periodic
    assert definition.cron == "*/15 * * * *"


def test_test_registries_do_not_touch_the_platform_registry() -> None:
    before = [d.name for d in REGISTRY]
    JobRegistry().job("scratch.job")(lambda ctx: None)
    assert [d.name for d in REGISTRY] == before


def test_registry_lists_definitions_by_name() -> None:
    jobs = JobRegistry()
    for name in ("quality.run", "audit.checkpoint", "ingest.poll"):
        jobs.job(name)(lambda ctx: None)
    assert [d.name for d in jobs] == ["audit.checkpoint", "ingest.poll", "quality.run"]


def test_unknown_job_is_not_found() -> None:
    with pytest.raises(NotFound, match="no background job named 'audit.nope'"):
        JobRegistry().get("audit.nope")


@pytest.mark.parametrize(
    "cron",
    ["*/15 * * *", "* * * * * *", "61 * * * *", "0 25 * * *", "every day", "0 2 * * mon"],
)
def test_invalid_cron_is_refused_when_declared(cron: str) -> None:
    with pytest.raises(ValueError, match=r"cron|valid|matches"):
        JobRegistry().periodic("identity.purge_sessions", cron=cron)


@pytest.mark.parametrize("name", ["verify", "Audit.verify", "audit.", "audit..x", "audit.verify-x"])
def test_job_names_must_be_area_dot_name(name: str) -> None:
    with pytest.raises(ValueError, match="area.job_name"):
        JobRegistry().job(name)


def test_negative_retries_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        JobRegistry().job("audit.verify", retries=-1)


def test_same_name_declared_twice_is_refused() -> None:
    jobs = JobRegistry()
    jobs.job("audit.verify")(lambda ctx: 1)
    with pytest.raises(ValueError, match="declared twice"):
        jobs.job("audit.verify")(lambda ctx: 2)


def test_re_registering_the_same_function_is_harmless() -> None:
    jobs = JobRegistry()

    def verify(ctx: JobContext) -> None:
        return None

    jobs.job("audit.verify")(verify)
    jobs.job("audit.verify")(verify)
    assert len(jobs) == 1


@pytest.mark.parametrize("argument", ["name", "idempotency_key", "delay", "task"])
def test_jobs_may_not_take_arguments_the_queue_consumes(argument: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def fn(ctx, *, {argument}=None): pass", namespace)  # noqa: S102
    with pytest.raises(ValueError, match=argument):
        JobRegistry().job("audit.verify")(namespace["fn"])


def test_cron_is_read_in_beijing_time() -> None:
    jobs = JobRegistry()
    jobs.periodic("quality.nightly", cron="0 2 * * *")(lambda ctx: None)
    nightly = jobs.get("quality.nightly")

    # 02:00 in Beijing is 18:00 UTC the day before.
    assert nightly.is_due(datetime(2024, 5, 1, 18, 0, 30, tzinfo=UTC))
    assert not nightly.is_due(datetime(2024, 5, 2, 2, 0, tzinfo=UTC))
    beijing = timezone(timedelta(hours=8))
    assert nightly.is_due(datetime(2024, 5, 2, 2, 0, tzinfo=beijing))


def test_cron_weekday_zero_is_sunday() -> None:
    jobs = JobRegistry()
    jobs.periodic("exchange.weekly_report", cron="30 8 * * 0")(lambda ctx: None)
    weekly = jobs.get("exchange.weekly_report")
    beijing = timezone(timedelta(hours=8))

    assert weekly.is_due(datetime(2024, 5, 5, 8, 30, tzinfo=beijing))  # a Sunday
    assert not weekly.is_due(datetime(2024, 5, 6, 8, 30, tzinfo=beijing))


def test_is_due_refuses_naive_datetimes() -> None:
    jobs = JobRegistry()
    jobs.periodic("quality.nightly", cron="0 2 * * *")(lambda ctx: None)
    with pytest.raises(ValueError, match="timezone-aware"):
        jobs.get("quality.nightly").is_due(datetime(2024, 5, 2, 2, 0))  # noqa: DTZ001


def test_arguments_are_checked_against_the_job_signature() -> None:
    jobs = JobRegistry()

    @jobs.job("ingest.load")
    def load(ctx: JobContext, *, source_id: int, full: bool = False) -> None:
        return None

    definition = jobs.get("ingest.load")
    definition.check_arguments({"source_id": 7})
    with pytest.raises(ValidationFailed, match="source_id"):
        definition.check_arguments({})
    with pytest.raises(ValidationFailed, match="sourceid"):
        definition.check_arguments({"source_id": 7, "sourceid": 7})


def test_arguments_must_be_json_values() -> None:
    jobs = JobRegistry()
    jobs.job("ingest.load")(lambda ctx, **kwargs: None)
    with pytest.raises(ValidationFailed, match="JSON"):
        jobs.get("ingest.load").check_arguments({"when": datetime(2024, 5, 1, tzinfo=UTC)})


def test_context_names_a_missing_resource() -> None:
    context = JobContext(settings=None, resources={"db": object()})  # type: ignore[arg-type]
    assert context.resource("db") is context.resources["db"]
    with pytest.raises(ConfigurationError, match="no resource 'ledger'; available: db"):
        context.resource("ledger")
