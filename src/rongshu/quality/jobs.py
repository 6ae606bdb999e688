"""Quality runs through the job queue: ``quality.run`` checks one version of a resource.

``ingest.load`` queues it after each load that made a version (when the queue defines it), with
``<code>@<version>`` as the idempotency key, so a version is checked once however often it is
asked for. A steward's "check now" (``request_run``) is queued too when a queue runs.
"""

from __future__ import annotations

from typing import Any

from rongshu.core.audit.service import audit_on_commit
from rongshu.core.identity.schemas import Actor
from rongshu.core.jobs import JobContext, JobQueue, job
from rongshu.core.platform import Platform
from rongshu.ingest import access
from rongshu.quality.rules import resource_of
from rongshu.quality.schemas import RunPublic
from rongshu.quality.service import run_quality


@job("quality.run")
def run(
    ctx: JobContext, *, resource_code: str, version: int | None = None, triggered_by: str = "job"
) -> dict[str, Any]:
    """Check ``version`` (default: the latest) of a resource against its rules."""
    platform: Platform = ctx.resource("platform")
    record = run_quality(platform, resource_code, version, triggered_by=triggered_by)
    return record.model_dump(mode="json")


def request_run(
    platform: Platform,
    queue: JobQueue | None,
    *,
    resource_code: str,
    version: int | None = None,
    actor: Actor,
) -> str | RunPublic:
    """A steward's "check now": queued when a queue runs (returns the job id), else run here.

    Only stewards of the resource's department (or whoever operates the platform) may ask.
    """
    with platform.db.session_scope() as session:
        department = resource_of(session, resource_code).department_code
        target = f"resource:{resource_code}"
        access.require(
            access.stewards(actor, department) or access.operates(actor),
            actor,
            platform.ledger,
            action="quality.run_request",
            object_=target,
            message=f"only data stewards of {department} have its data checked",
        )
        audit_on_commit(session, platform.ledger, actor.audit("quality.run_request", target))
    if queue is None:
        return run_quality(platform, resource_code, version, triggered_by=actor.name)
    handle = queue.enqueue(
        "quality.run", resource_code=resource_code, version=version, triggered_by=actor.name
    )
    return handle.id
