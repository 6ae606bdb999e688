"""The job queue: enqueue, wait for results, and run consumers in-process or in the foreground."""

from __future__ import annotations

import json
import logging
import signal
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import FrameType, MappingProxyType
from typing import TYPE_CHECKING, Any

from huey.consumer import Consumer
from huey.exceptions import ResultTimeout, TaskException
from huey.utils import normalize_time

from rongshu.core.errors import Conflict, NotFound, RongshuError, ValidationFailed
from rongshu.core.jobs.backends import QueueBackend, open_backend
from rongshu.core.jobs.registry import (
    REGISTRY,
    SCHEDULE_TIMEZONE,
    ContextFactory,
    JobContext,
    JobDefinition,
    JobRegistry,
    parse_cron,
)

if TYPE_CHECKING:
    from rongshu.core.settings import Settings

logger = logging.getLogger("rongshu.jobs")

# huey names a task "<module>.<name>"; a fixed module keeps queued messages readable by any
# version of this code, wherever the job functions live.
_TASK_MODULE = "rongshu.jobs"
_PERIODIC_SUFFIX = "[periodic]"


class JobFailed(RongshuError):
    """A background job failed with an error that is not a domain error, after all its retries."""

    status = 500
    code = "job_failed"
    exit_code = 1


class JobTimeout(RongshuError):
    """A job did not finish within the time its caller was willing to wait."""

    status = 504
    code = "job_timeout"
    exit_code = 1


class JobHandle:
    """A job on the queue. ``deduplicated``: an earlier job with the same idempotency key."""

    __slots__ = ("_queue", "deduplicated", "id", "name")

    def __init__(self, queue: JobQueue, id: str, name: str, *, deduplicated: bool = False) -> None:
        self._queue = queue
        self.id = id
        self.name = name
        self.deduplicated = deduplicated

    def __repr__(self) -> str:
        return f"JobHandle(id={self.id!r}, name={self.name!r}, deduplicated={self.deduplicated})"

    def result(self, timeout: float = 60.0) -> Any:
        """Wait for the job's return value; a failure is re-raised as a domain error.

        A result is handed out once: the first handle (of several for one idempotency key) that
        collects it gets it, and later calls wait until ``timeout`` and raise ``JobTimeout``.
        """
        return self._queue._collect(self, timeout)


class JobQueue:
    """Jobs of a registry on one backend; build it with ``create_queue``."""

    def __init__(
        self,
        settings: Settings,
        backend: QueueBackend,
        definitions: Mapping[str, JobDefinition],
        *,
        context_factory: ContextFactory | None,
        idempotency_ttl: timedelta,
    ) -> None:
        self.settings = settings
        self.backend = backend.kind
        self._backend = backend
        self._huey = backend.huey
        self._definitions = dict(definitions)
        self._context_factory = context_factory
        self._idempotency_ttl = idempotency_ttl.total_seconds()
        self._resources: Mapping[str, Any] | None = None
        self._resources_lock = threading.Lock()
        self._consumer: Any = None
        self._tasks = {name: self._register(d) for name, d in self._definitions.items()}

    def _register(self, definition: JobDefinition) -> Any:
        def run(*, task: Any, **kwargs: Any) -> Any:
            attempt = definition.retries - task.retries + 1
            return self._execute(definition, task.id, attempt, definition.retries + 1, kwargs)

        run.__module__ = _TASK_MODULE
        options = {
            "retries": definition.retries,
            "retry_delay": definition.retry_delay,
            "context": True,
        }
        on_demand = self._huey.task(name=definition.name, **options)(run)
        if definition.cron is not None:
            matches = parse_cron(definition.cron)
            name = definition.name + _PERIODIC_SUFFIX

            def due(moment: datetime) -> bool:  # huey's scheduler asks once a minute, naive UTC
                local = moment.replace(tzinfo=UTC).astimezone(SCHEDULE_TIMEZONE)
                if not matches(local.replace(tzinfo=None)):
                    return False
                # Every consumer (web processes, workers) runs a scheduler: the first to ask in
                # a minute claims that minute, and the claim ends with it.
                claim_id = str(uuid.uuid4())
                rest_of_minute = 60.0 - moment.second - moment.microsecond / 1e6
                holder = self._backend.claim(f"periodic:{name}", claim_id, rest_of_minute)
                return holder == claim_id

            self._huey.periodic_task(due, name=name, **options)(run)
        return on_demand

    def _context(self, job_id: str, attempt: int) -> JobContext:
        with self._resources_lock:
            if self._resources is None:
                made = self._context_factory(self.settings) if self._context_factory else {}
                self._resources = MappingProxyType(dict(made))
        return JobContext(
            self.settings, self._resources, job_id=job_id, attempt=attempt, queue=self
        )

    def _execute(
        self,
        definition: JobDefinition,
        job_id: str,
        attempt: int,
        attempts: int,
        kwargs: dict[str, Any],
    ) -> Any:
        try:
            result = definition.function(self._context(job_id, attempt), **kwargs)
            json.dumps(result)  # results must stay readable by any client, not just pickle
        except Exception as exc:
            level = logging.WARNING if attempt < attempts else logging.ERROR
            logger.log(
                level,
                "job %s (%s) failed on attempt %d of %d: %s",
                definition.name,
                job_id,
                attempt,
                attempts,
                exc,
                extra={
                    "job_name": definition.name,
                    "job_id": job_id,
                    "attempt": attempt,
                    "error": f"{type(exc).__name__}: {exc}",
                },
            )
            raise
        return result

    def enqueue(
        self,
        name: str,
        *,
        idempotency_key: str | None = None,
        delay: float | None = None,
        **kwargs: Any,
    ) -> JobHandle:
        """Queue job ``name`` with ``kwargs``; with ``idempotency_key``, at most once a lifetime."""
        definition = self.definition(name)
        definition.check_arguments(kwargs)
        if delay is not None and delay < 0:
            raise ValidationFailed(f"delay of job {name} must not be negative")
        job_id = str(uuid.uuid4())
        claim = None
        if idempotency_key is not None:
            if not idempotency_key:
                raise ValidationFailed(f"idempotency key of job {name} must not be empty")
            claim = f"idempotency:{name}:{idempotency_key}"
            holder = self._backend.claim(claim, job_id, self._idempotency_ttl)
            if holder != job_id:
                return JobHandle(self, holder, name, deduplicated=True)
        eta = normalize_time(delay=delay, utc=True) if delay else None
        task = self._tasks[name].task_class((), dict(kwargs), id=job_id, eta=eta)
        try:
            self._huey.enqueue(task)
        except Exception:
            if claim is not None:
                self._backend.release(claim, job_id)
            raise
        return JobHandle(self, job_id, name)

    def _collect(self, handle: JobHandle, timeout: float) -> Any:
        try:
            return self._huey.result(handle.id, blocking=True, timeout=timeout, max_delay=0.25)
        except ResultTimeout:
            raise JobTimeout(
                f"job {handle.name} ({handle.id}) did not finish within {timeout:g} s"
            ) from None
        except TaskException as exc:
            raise _failure(handle, exc.metadata) from None

    def acquire_slot(self, group: str, limit: int, *, ttl: float) -> str | None:
        """Take one of ``limit`` slots of ``group`` (across every process on this queue's
        backend); returns the slot to release, or ``None`` when all are taken. A holder that dies
        keeps its slot until ``ttl`` seconds have passed."""
        if limit < 1:
            raise ValidationFailed(f"the slot limit of {group} must be at least 1")
        token = str(uuid.uuid4())
        for index in range(limit):
            key = f"slot:{group}:{index}"
            if self._backend.claim(key, token, ttl) == token:
                return f"{key}|{token}"
        return None

    def release_slot(self, slot: str) -> None:
        """Give back a slot from ``acquire_slot`` (a no-op if it has expired and been retaken)."""
        key, _, token = slot.rpartition("|")
        self._backend.release(key, token)

    def run_now(self, name: str, **kwargs: Any) -> Any:
        """Run job ``name`` in the caller, once, without the queue; errors propagate as raised."""
        definition = self.definition(name)
        definition.check_arguments(kwargs)
        return self._execute(definition, str(uuid.uuid4()), 1, 1, kwargs)

    def definition(self, name: str) -> JobDefinition:
        """The definition this queue runs under ``name``; ``NotFound`` otherwise."""
        try:
            return self._definitions[name]
        except KeyError:
            raise NotFound(f"no background job named {name!r}") from None

    def pending_count(self) -> int:
        """Jobs waiting to run, including delayed ones and retries."""
        return int(self._huey.pending_count()) + int(self._huey.scheduled_count())

    def scheduled_names(self) -> list[str]:
        """Names of the jobs the scheduler starts on a cron schedule."""
        return sorted(d.name for d in self._definitions.values() if d.is_periodic)

    @property
    def is_running(self) -> bool:
        """Whether an in-process consumer is running."""
        return self._consumer is not None

    def start_in_process(self, workers: int) -> None:
        """Run ``workers`` threads and the scheduler in this process; signals stay the server's."""
        if self._consumer is not None:
            raise Conflict("the in-process job consumer is already running")
        consumer = _EmbeddedConsumer(self._huey, **_consumer_options(workers))
        consumer.start()
        self._consumer = consumer

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the in-process consumer, letting running jobs finish for up to ``timeout`` s."""
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        consumer.shutdown_timeout = timeout
        consumer.stop(graceful=True)
        self._huey.notify_interrupted_tasks()

    def run_worker(self, workers: int, *, shutdown_timeout: float = 60.0) -> None:
        """Run a consumer in the foreground until SIGINT or SIGTERM, then finish running jobs."""
        options = _consumer_options(workers)
        consumer = _ForegroundConsumer(self._huey, shutdown_timeout=shutdown_timeout, **options)
        consumer.run()

    def flush(self) -> None:
        """Delete every queued and scheduled job, stored result and idempotency claim."""
        self._backend.flush()

    def close(self) -> None:
        """Stop the consumer, close resources that have ``close()``, release connections."""
        self.stop()
        resources, self._resources = self._resources, None
        for name, resource in reversed(list((resources or {}).items())):
            close = getattr(resource, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    logger.exception("closing job resource %s failed", name)
        self._backend.close()

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def create_queue(
    settings: Settings,
    *,
    context_factory: ContextFactory | None = None,
    registry: JobRegistry = REGISTRY,
    name: str = "rongshu",
    idempotency_ttl: timedelta = timedelta(hours=24),
) -> JobQueue:
    """A queue for every job in ``registry``: Redis when ``settings.redis_url``, else SQLite."""
    definitions = {definition.name: definition for definition in registry}
    return JobQueue(
        settings,
        open_backend(settings, name=name),
        definitions,
        context_factory=context_factory,
        idempotency_ttl=idempotency_ttl,
    )


def _failure(handle: JobHandle, metadata: dict[str, Any]) -> RongshuError:
    message = str(metadata.get("message") or metadata.get("error") or "unknown error")
    error_class = _domain_error_class(metadata.get("code"))
    if error_class is not None:
        try:
            return error_class(message)
        except TypeError:  # a domain error that needs more than a message
            pass
    return JobFailed(
        f"job {handle.name} failed: {message}",
        details=[{"job": handle.name, "id": handle.id, "error_type": metadata.get("type")}],
    )


def _domain_error_class(code: object) -> type[RongshuError] | None:
    pending: list[type[RongshuError]] = [RongshuError]
    while pending:
        cls = pending.pop()
        if cls.code == code:
            return cls
        pending.extend(cls.__subclasses__())
    return None


def _consumer_options(workers: int) -> dict[str, Any]:
    if workers < 1:
        raise ValidationFailed("job workers must be at least 1")
    # A second's polling bounds how long a new job waits on SQLite, which cannot block.
    return {
        "workers": workers,
        "worker_type": "thread",
        "periodic": True,
        "initial_delay": 0.1,
        "max_delay": 1.0,
        "scheduler_interval": 1,
    }


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    def _set_signal_handlers(self) -> None:
        """The web server owns the process's signals; it calls ``JobQueue.stop()``."""


class _ForegroundConsumer(Consumer):  # type: ignore[misc]
    """huey's consumer, but both SIGINT and SIGTERM stop gracefully and SIGHUP does not re-exec."""

    def _set_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle_signal)

    def _handle_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signum, self._restart, self._graceful = signum, False, True
        # A second signal interrupts the graceful wait.
        signal.signal(signum, signal.default_int_handler)
