"""Loads through the job queue: schedules, retries with backoff, and a concurrency limit.

Every minute ``ingest.dispatch`` queues an ``ingest.load`` for each enabled source whose schedule
(from its resource's update cycle, or the steward's override) fires in that minute; the minute is
the idempotency key, so several schedulers never queue one run twice. A load waits for one of
``ingest_max_concurrent_loads`` slots shared by every worker process. A failed scheduled load is
tried again after ``ingest_retry_delay`` seconds, doubling each time, up to ``ingest_retries``
times; errors that waiting cannot fix (a refused password, a malformed file, a missing source
record) are not retried. Every attempt leaves a load record, and a source whose latest load
failed shows in its steward's console (``service.failing_sources``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from rongshu.core.audit.service import audit_on_commit
from rongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity.schemas import Actor
from rongshu.core.jobs import JobContext, JobQueue, job, periodic
from rongshu.core.platform import Platform
from rongshu.ingest import access, service
from rongshu.ingest.connectors.base import SourceCredentialsRefused, SourceNotFound
from rongshu.ingest.runner import run_load
from rongshu.ingest.schemas import LoadPublic

log = logging.getLogger("rongshu.ingest")

#: Seconds a load waits before asking again for a concurrency slot.
SLOT_WAIT = 15.0
_SLOT_GROUP = "ingest.load"


@periodic("ingest.dispatch", cron="* * * * *")
def dispatch(ctx: JobContext) -> dict[str, int]:
    """Queue a load of every source due this minute."""
    platform: Platform = ctx.resource("platform")
    queue = _queue(ctx)
    minute = this_minute()
    with platform.db.session_scope() as session:
        due = [(s.id, s.resource_code, s.name) for s in service.due_sources(session, moment=minute)]
    queued = 0
    for source_id, resource_code, name in due:
        handle = queue.enqueue(
            "ingest.load",
            idempotency_key=f"{source_id}@{minute.isoformat()}",
            resource_code=resource_code,
            source_name=name,
            triggered_by="schedule",
        )
        queued += not handle.deduplicated
    return {"due": len(due), "queued": queued}


@job("ingest.load")
def load(
    ctx: JobContext,
    *,
    resource_code: str,
    source_name: str,
    triggered_by: str = "schedule",
    attempt: int = 1,
    retry: bool = True,
) -> dict[str, Any]:
    """Run one load when a slot is free; on a failure that may pass, queue the next attempt
    (unless ``retry`` is false: a person who asked for the load is watching it)."""
    platform: Platform = ctx.resource("platform")
    settings = ctx.settings
    queue = _queue(ctx)
    arguments: dict[str, Any] = {
        "resource_code": resource_code,
        "source_name": source_name,
        "triggered_by": triggered_by,
        "retry": retry,
    }
    slot = queue.acquire_slot(
        _SLOT_GROUP, settings.ingest_max_concurrent_loads, ttl=settings.ingest_load_hours * 3600
    )
    if slot is None:
        queue.enqueue("ingest.load", delay=SLOT_WAIT, attempt=attempt, **arguments)
        return {"status": "waiting", "retry_in": SLOT_WAIT}
    check_later = defines(queue, "quality.run")
    try:
        record = run_load(
            platform,
            resource_code=resource_code,
            source_name=source_name,
            triggered_by=triggered_by,
            attempt=attempt,
            after_load=not check_later,
        )
    except Exception as exc:
        if not retry or attempt > settings.ingest_retries or not retryable(exc):
            raise
        delay = settings.ingest_retry_delay * 2 ** (attempt - 1)
        log.warning(
            "load of %s/%s failed (attempt %d), retrying in %.0f s: %s",
            resource_code,
            source_name,
            attempt,
            delay,
            exc,
        )
        queue.enqueue("ingest.load", delay=delay, attempt=attempt + 1, **arguments)
        return {"status": "failed", "error": str(exc), "retry_in": delay}
    finally:
        queue.release_slot(slot)
    if check_later and record.version is not None:
        queue.enqueue(
            "quality.run",
            idempotency_key=f"{resource_code}@{record.version}",
            resource_code=resource_code,
            version=record.version,
            triggered_by=f"load:{record.id}",
        )
    return record.model_dump(mode="json")


def defines(queue: JobQueue, name: str) -> bool:
    """Whether ``queue`` runs the job ``name`` (an area's jobs may not be loaded)."""
    try:
        queue.definition(name)
    except NotFound:
        return False
    return True


def this_minute() -> datetime:
    """The current minute (UTC): what the dispatcher schedules by."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def retryable(exc: BaseException) -> bool:
    """Whether trying the same load again later may succeed.

    A file not dropped yet or a host that is down may come back; a refused password, a file that
    cannot be parsed as configured, a denied permission or a source that no longer exists will not.
    """
    if isinstance(exc, SourceNotFound):
        return True
    return not isinstance(
        exc, ValidationFailed | PermissionDenied | NotFound | SourceCredentialsRefused
    )


def request_load(
    platform: Platform,
    queue: JobQueue | None,
    *,
    resource_code: str,
    source_name: str,
    actor: Actor,
) -> str | LoadPublic:
    """A steward's "run now": queued when a queue runs (returns the job id), else run here.

    Only stewards of the source's department (or whoever administers the platform) may ask.
    """
    with platform.db.session_scope() as session:
        source = service.get_source(session, resource_code=resource_code, name=source_name)
        target = f"source:{resource_code}/{source_name}"
        access.require(
            access.stewards(actor, source.department_code) or access.operates(actor),
            actor,
            platform.ledger,
            action="ingest.load_request",
            object_=target,
            message=f"only data stewards of {source.department_code} run its loads",
        )
        audit_on_commit(session, platform.ledger, actor.audit("ingest.load_request", target))
    if queue is None:
        return run_load(
            platform, resource_code=resource_code, source_name=source_name, triggered_by=actor.name
        )
    handle = queue.enqueue(
        "ingest.load",
        resource_code=resource_code,
        source_name=source_name,
        triggered_by=actor.name,
        retry=False,
    )
    return handle.id


def _queue(ctx: JobContext) -> JobQueue:
    if ctx.queue is None:
        raise NotFound("ingest jobs run only on a job queue")
    return ctx.queue
