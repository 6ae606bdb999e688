"""Usage of the services: calls, errors, refusals, rows and latency per service, app and day.

Counting a call costs a dictionary update in the worker that answered it (``UsageRecorder``);
a background thread writes what was counted every ``FLUSH_SECONDS`` as new ``exchange_usage``
rows, so several workers never update the same row. Reports add the rows up; latency is kept as
a histogram over fixed buckets (``BUCKETS_MS``), so p50 and p99 survive the adding up (read off
as the bucket's upper bound: an upper estimate, never an optimistic one).
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.core.db import Database, utcnow
from rongshu.core.identity.models import App
from rongshu.core.workdays import BEIJING
from rongshu.exchange.models import ExchangeService, ExchangeUsage
from rongshu.exchange.schemas import ServiceKind, UsageReport, UsageRow

log = logging.getLogger("rongshu.exchange.usage")

#: Upper bounds (ms) of the latency buckets; the last bucket holds everything slower.
BUCKETS_MS: tuple[float, ...] = (
    0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 25, 35, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000,
)  # fmt: skip
FLUSH_SECONDS = 10.0
#: Kinds counted in the plan's daily query/verification indicator.
INDICATOR_KINDS = (ServiceKind.QUERY.value, ServiceKind.VERIFY.value)


def beijing_day(at: datetime | None = None) -> str:
    return (at or utcnow()).astimezone(BEIJING).strftime("%Y-%m-%d")


@dataclass
class _Tally:
    calls: int = 0
    errors: int = 0
    denied: int = 0
    rows: int = 0
    seconds: float = 0.0
    histogram: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_MS) + 1))

    def add(self, other: _Tally | ExchangeUsage) -> None:
        self.calls += other.calls
        self.errors += other.errors
        self.denied += other.denied
        self.rows += other.rows
        self.seconds += other.seconds
        self.histogram = [a + b for a, b in zip(self.histogram, other.histogram, strict=False)]


class UsageRecorder:
    """Counts calls in memory and writes them out in the background."""

    def __init__(self, db: Database, *, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._db = db
        self._flush_seconds = flush_seconds
        self._tallies: dict[tuple[str, int, int], _Tally] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._day = beijing_day()
        self._day_ends = self._next_midnight()

    @staticmethod
    def _next_midnight() -> float:
        now = utcnow().astimezone(BEIJING)
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight.timestamp()

    def count(
        self, service_id: int, app_id: int, *, seconds: float, outcome: str, rows: int = 0
    ) -> None:
        """Count one call (``outcome``: ok, error or denied)."""
        if time.time() >= self._day_ends:
            self._day, self._day_ends = beijing_day(), self._next_midnight()
        bucket = bisect.bisect_left(BUCKETS_MS, seconds * 1000.0)
        key = (self._day, service_id, app_id)
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                tally = self._tallies[key] = _Tally()
            tally.calls += 1
            tally.rows += rows
            tally.seconds += seconds
            tally.histogram[bucket] += 1
            if outcome == "error":
                tally.errors += 1
            elif outcome == "denied":
                tally.denied += 1
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="rongshu-exchange-usage", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            try:
                self.flush()
            except Exception:  # counted again at the next flush
                log.exception("writing exchange usage failed")

    def flush(self) -> int:
        """Write what has been counted; returns the rows written."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
        if not tallies:
            return 0
        try:
            with self._db.session_scope() as session:
                session.add_all(
                    ExchangeUsage(
                        day=day,
                        service_id=service_id,
                        app_id=app_id,
                        calls=t.calls,
                        errors=t.errors,
                        denied=t.denied,
                        rows=t.rows,
                        seconds=t.seconds,
                        histogram=t.histogram,
                    )
                    for (day, service_id, app_id), t in tallies.items()
                )
        except Exception:
            with self._lock:  # keep the counts for the next try
                for key, t in tallies.items():
                    self._tallies.setdefault(key, _Tally()).add(t)
            raise
        return len(tallies)

    def close(self) -> None:
        """Stop the background thread and write the last counts."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def percentile(histogram: Sequence[int], fraction: float) -> float | None:
    """The upper bound (ms) of the bucket holding the ``fraction`` quantile."""
    total = sum(histogram)
    if total == 0:
        return None
    rank, seen = fraction * total, 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return BUCKETS_MS[index] if index < len(BUCKETS_MS) else float("inf")
    return float("inf")


def usage_report(
    session: Session,
    *,
    days: int = 7,
    service: str | None = None,
    app_id: int | None = None,
    department: str | None = None,
    daily_target: int = 0,
) -> UsageReport:
    """Calls per service, app and day over the last ``days`` Beijing days; with ``department``,
    the calls its apps made and the calls to its resources' services."""
    first = beijing_day(utcnow() - timedelta(days=days - 1))
    query = (
        select(
            ExchangeUsage,
            ExchangeService.code,
            ExchangeService.kind,
            App,
            ExchangeService.resource_code,
        )
        .join(ExchangeService, ExchangeService.id == ExchangeUsage.service_id)
        .join(App, App.id == ExchangeUsage.app_id)
        .where(ExchangeUsage.day >= first)
    )
    if service:
        query = query.where(ExchangeService.code == service)
    if app_id is not None:
        query = query.where(ExchangeUsage.app_id == app_id)
    merged: dict[tuple[str, str, int], _Tally] = {}
    apps: dict[int, App] = {}
    kinds: dict[str, str] = {}
    owners = (
        {r.code: r.department_code for r in catalog.published_resources(session)}
        if department
        else {}
    )
    for usage, code, kind, app, resource_code in session.execute(query):
        if department and department not in (app.department.code, owners.get(resource_code)):
            continue
        apps[app.id], kinds[code] = app, kind
        merged.setdefault((usage.day, code, app.id), _Tally()).add(usage)
    data = [
        UsageRow(
            day=day,
            service=code,
            kind=ServiceKind(kinds[code]),
            app_id=app_key,
            app_name=apps[app_key].name,
            consumer_department=apps[app_key].department.code,
            calls=t.calls,
            errors=t.errors,
            denied=t.denied,
            rows=t.rows,
            p50_ms=percentile(t.histogram, 0.5),
            p99_ms=percentile(t.histogram, 0.99),
        )
        for (day, code, app_key), t in sorted(merged.items(), reverse=True)
    ]
    return UsageReport(
        data=data,
        count=len(data),
        calls_today=calls_today(session),
        daily_target=daily_target,
    )


def calls_today(session: Session) -> int:
    """Queries and verifications answered today (Beijing day), every worker's flushed counts."""
    total = session.scalar(
        select(func.coalesce(func.sum(ExchangeUsage.calls - ExchangeUsage.denied), 0))
        .join(ExchangeService, ExchangeService.id == ExchangeUsage.service_id)
        .where(ExchangeUsage.day == beijing_day(), ExchangeService.kind.in_(INDICATOR_KINDS))
    )
    return int(total or 0)
