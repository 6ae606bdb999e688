"""Background jobs: areas declare them; a huey queue (SQLite embedded, Redis in production)
runs them.

An area declares its jobs in its own ``jobs.py``; the decorators only record a definition::

    from rongshu.core.jobs import JobContext, job, periodic

    @job("audit.verify_chain", retries=3, retry_delay=30)
    def verify_chain(ctx: JobContext, *, upto: int | None = None) -> dict[str, int]: ...

    @periodic("identity.purge_sessions", cron="*/15 * * * *")
    def purge_sessions(ctx: JobContext) -> int: ...

``create_queue(settings, context_factory=...)`` builds the queue from those definitions (nothing
is built at import). ``rongshu serve`` runs it in-process with ``start_in_process``/``stop``;
``rongshu worker`` in the foreground with ``run_worker``. Cron schedules read in Beijing time.
"""

from rongshu.core.jobs.queue import (
    JobFailed,
    JobHandle,
    JobQueue,
    JobTimeout,
    create_queue,
)
from rongshu.core.jobs.registry import (
    REGISTRY,
    SCHEDULE_TIMEZONE,
    ContextFactory,
    JobContext,
    JobDefinition,
    JobRegistry,
    job,
    periodic,
)

__all__ = [
    "REGISTRY",
    "SCHEDULE_TIMEZONE",
    "ContextFactory",
    "JobContext",
    "JobDefinition",
    "JobFailed",
    "JobHandle",
    "JobQueue",
    "JobRegistry",
    "JobTimeout",
    "create_queue",
    "job",
    "periodic",
]
