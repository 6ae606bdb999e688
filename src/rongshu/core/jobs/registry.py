"""Job definitions: what areas declare with ``@job`` and ``@periodic``; code, never state."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from huey import crontab

from rongshu.core.errors import ConfigurationError, NotFound, ValidationFailed

if TYPE_CHECKING:
    from rongshu.core.jobs.queue import JobQueue
    from rongshu.core.settings import Settings

#: Cron schedules are read in Beijing time; China has kept UTC+8 without DST since 1991.
SCHEDULE_TIMEZONE = timezone(timedelta(hours=8), "Asia/Shanghai")

#: Builds the per-process resources (metadata ``Database``, audit ledger, ...) jobs receive.
ContextFactory = Callable[["Settings"], Mapping[str, Any]]

JobFunction = TypeVar("JobFunction", bound=Callable[..., Any])

_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
# Keyword names that enqueue() or huey itself consume, so a job cannot take them.
_RESERVED_ARGUMENTS = frozenset({"name", "idempotency_key", "delay", "task"})


@dataclass(frozen=True)
class JobContext:
    """What the queue hands every job: the settings, this process's shared resources, and the
    queue itself (``None`` when a job runs outside one), for jobs that queue follow-up work."""

    settings: Settings
    resources: Mapping[str, Any] = field(default_factory=dict)
    job_id: str = ""
    attempt: int = 1
    queue: JobQueue | None = field(default=None, repr=False)

    def resource(self, name: str) -> Any:
        """The resource registered under ``name``; a clear error when the worker lacks it."""
        try:
            return self.resources[name]
        except KeyError:
            raise ConfigurationError(
                f"background jobs have no resource {name!r}; "
                f"available: {', '.join(sorted(self.resources)) or 'none'}"
            ) from None


@dataclass(frozen=True)
class JobDefinition:
    """One job as an area declared it: code, not state."""

    name: str
    function: Callable[..., Any] = field(repr=False)
    retries: int = 0
    retry_delay: float = 0.0
    cron: str | None = None

    @property
    def is_periodic(self) -> bool:
        """Whether the consumer's scheduler starts this job on its cron schedule."""
        return self.cron is not None

    def is_due(self, moment: datetime) -> bool:
        """Whether the cron schedule fires in the minute of ``moment`` (timezone-aware)."""
        if self.cron is None:
            return False
        if moment.tzinfo is None:
            raise ValueError("is_due needs a timezone-aware datetime")
        local = moment.astimezone(SCHEDULE_TIMEZONE).replace(tzinfo=None)
        return bool(parse_cron(self.cron)(local))

    def check_arguments(self, kwargs: Mapping[str, Any]) -> None:
        """Refuse arguments the job does not take, or that are not plain JSON values."""
        try:
            inspect.signature(self.function).bind(None, **kwargs)
        except TypeError as exc:
            raise ValidationFailed(
                f"wrong arguments for job {self.name}: {exc}",
                details=[{"job": self.name, "arguments": sorted(kwargs)}],
            ) from None
        try:
            json.dumps(dict(kwargs))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(
                f"arguments of job {self.name} must be JSON values: {exc}",
                details=[{"job": self.name}],
            ) from None


def parse_cron(cron: str) -> Callable[[datetime], bool]:
    """Turn ``minute hour day month weekday`` into huey's matcher of naive local datetimes."""
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"cron {cron!r} needs 5 fields: minute hour day month weekday")
    minute, hour, day, month, weekday = fields
    matcher: Callable[[datetime], bool] = crontab(minute, hour, day, month, weekday, strict=True)
    return matcher


class JobRegistry:
    """Job definitions by name; areas add to the global ``REGISTRY`` with ``@job``/``@periodic``."""

    def __init__(self) -> None:
        self._definitions: dict[str, JobDefinition] = {}

    def job(
        self, name: str, *, retries: int = 0, retry_delay: float = 0.0
    ) -> Callable[[JobFunction], JobFunction]:
        """Declare an on-demand job ``fn(ctx: JobContext, **kwargs) -> JSON value``."""
        return self._decorator(name, retries=retries, retry_delay=retry_delay, cron=None)

    def periodic(
        self, name: str, *, cron: str, retries: int = 0, retry_delay: float = 0.0
    ) -> Callable[[JobFunction], JobFunction]:
        """Declare a scheduled job ``fn(ctx: JobContext) -> JSON value`` (cron in Beijing time)."""
        parse_cron(cron)  # a typo fails at import, not silently at 2 a.m.
        return self._decorator(name, retries=retries, retry_delay=retry_delay, cron=cron)

    def _decorator(
        self, name: str, *, retries: int, retry_delay: float, cron: str | None
    ) -> Callable[[JobFunction], JobFunction]:
        if not _NAME.fullmatch(name):
            raise ValueError(f"job name {name!r} must look like 'area.job_name'")
        if retries < 0 or retry_delay < 0:
            raise ValueError(f"job {name}: retries and retry_delay must not be negative")

        def register(function: JobFunction) -> JobFunction:
            reserved = _RESERVED_ARGUMENTS & set(inspect.signature(function).parameters)
            if reserved:
                raise ValueError(f"job {name} may not take argument(s) {sorted(reserved)}")
            existing = self._definitions.get(name)
            if existing is not None and existing.function is not function:
                raise ValueError(f"job {name} is declared twice")
            self._definitions[name] = JobDefinition(name, function, retries, retry_delay, cron)
            return function

        return register

    def get(self, name: str) -> JobDefinition:
        """The definition named ``name``; ``NotFound`` when no area declared it."""
        try:
            return self._definitions[name]
        except KeyError:
            raise NotFound(f"no background job named {name!r}") from None

    def __iter__(self) -> Iterator[JobDefinition]:
        return iter(sorted(self._definitions.values(), key=lambda d: d.name))

    def __len__(self) -> int:
        return len(self._definitions)

    def __contains__(self, name: object) -> bool:
        return name in self._definitions


#: The platform's jobs; areas register here at import of their ``jobs.py``.
REGISTRY = JobRegistry()
job = REGISTRY.job
periodic = REGISTRY.periodic
