"""Quotas and rate limits of grants: calls per Beijing day and calls per second.

Every service call takes its cost from its grant's two allowances before it runs: the daily
quota (calls per day, the day as Beijing counts it, ``Asia/Shanghai``) and the rate limit (calls
in the current whole second, a fixed window: a burst may reach twice the rate across a second's
boundary, never more). A refused call takes nothing, so a client held back by the rate limit
does not burn its daily quota by retrying.

Two backends, chosen by :func:`quota_backend`:

- :class:`InProcessQuotas` counts in this process's memory. With several worker processes each
  counts on its own, so an app may get up to (workers x quota); set ``RONGSHU_REDIS_URL`` for
  counts that all workers share.
- :class:`RedisQuotas` counts in Redis, one round trip per call.

Both take the clock as a parameter (tests move it across midnight) and compute the day's
boundaries once per day, not per call: this runs on every call of a service doing thousands of
calls a second.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from rongshu.core.errors import TooManyRequests
from rongshu.core.settings import Settings

if TYPE_CHECKING:
    from redis import Redis

__all__ = [
    "BEIJING",
    "InProcessQuotas",
    "QuotaBackend",
    "QuotaLimit",
    "QuotaVerdict",
    "RedisQuotas",
    "quota_backend",
    "raise_if_refused",
]

BEIJING: Final = ZoneInfo("Asia/Shanghai")
#: Redis keeps a day's count two days, so a call just before midnight on a slow clock still
#: finds its day.
_DAY_KEY_SECONDS: Final = 2 * 86_400
_SECOND_KEY_SECONDS: Final = 2


class QuotaLimit(StrEnum):
    """Which allowance refused a call."""

    DAILY = "daily_quota"
    RATE = "rate_limit"


class QuotaVerdict(NamedTuple):
    """The answer to one call's request for quota."""

    allowed: bool
    #: The allowance that refused the call (None when allowed).
    refused_by: QuotaLimit | None
    #: The refusing allowance's size: calls a day or calls a second (0 when allowed).
    limit: int
    #: Calls left today after this one (if it was allowed).
    remaining_today: int
    #: Seconds until the refusing allowance frees up (0 when allowed).
    retry_after: float


class QuotaBackend(Protocol):
    """Where grants' calls are counted."""

    def take(
        self, grant_id: int, daily_quota: int, rate_per_second: int, cost: int = 1
    ) -> QuotaVerdict:
        """Take ``cost`` calls from the grant's allowances if both have room; else take nothing."""
        ...

    def used_today(self, grant_id: int) -> int:
        """Calls the grant has used this Beijing day (as this backend counts them)."""
        ...


class _Day(NamedTuple):
    label: str
    start: float
    end: float


def _beijing_day(now: float) -> _Day:
    """The Beijing day holding the Unix time ``now``: its date and its bounds in Unix seconds."""
    start = datetime.fromtimestamp(now, BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    return _Day(start.strftime("%Y%m%d"), start.timestamp(), end.timestamp())


_NO_DAY: Final = _Day("", 0.0, 0.0)


def raise_if_refused(verdict: QuotaVerdict) -> None:
    """Raise the 429 for a refused verdict, naming the allowance and when to retry."""
    if verdict.allowed:
        return
    retry = max(1, math.ceil(verdict.retry_after))  # HTTP Retry-After is whole seconds
    if verdict.refused_by is QuotaLimit.DAILY:
        message = (
            f"daily quota used up: this grant allows {verdict.limit} calls a day (Beijing time); "
            f"it starts again at midnight, in {retry} s"
        )
    else:
        message = (
            f"rate limit exceeded: this grant allows {verdict.limit} calls a second; "
            f"retry in {retry} s"
        )
    raise TooManyRequests(
        message,
        details=[
            {
                "limit": verdict.refused_by,
                "allowed": verdict.limit,
                "remaining_today": verdict.remaining_today,
                "retry_after": retry,
            }
        ],
    )


class InProcessQuotas:
    """Counts in this process's memory (thread-safe): a dict lookup and a lock per call.

    Each worker process counts on its own; set Redis for counts the workers share.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._day = _NO_DAY
        # grant id -> [calls today, the current second, calls in that second]
        self._counts: dict[int, list[int]] = {}

    def _new_day(self, now: float) -> None:
        """Start the day holding ``now`` (with the lock held), once a day."""
        self._day = _beijing_day(now)
        # Midnight falls on a whole second, so the per-second counts go stale with it too.
        self._counts = {}

    def take(
        self, grant_id: int, daily_quota: int, rate_per_second: int, cost: int = 1
    ) -> QuotaVerdict:
        now = self._clock()
        second = int(now)
        with self._lock:
            if now >= self._day.end:
                self._new_day(now)
            counts = self._counts.get(grant_id)
            if counts is None:
                counts = self._counts[grant_id] = [0, second, 0]
            used = counts[0]
            if used + cost > daily_quota:
                remaining = max(0, daily_quota - used)
                return QuotaVerdict(
                    False, QuotaLimit.DAILY, daily_quota, remaining, self._day.end - now
                )
            this_second = counts[2] if counts[1] == second else 0
            if this_second + cost > rate_per_second:
                return QuotaVerdict(
                    False, QuotaLimit.RATE, rate_per_second, daily_quota - used, second + 1 - now
                )
            counts[0] = used + cost
            counts[1] = second
            counts[2] = this_second + cost
        return QuotaVerdict(True, None, 0, daily_quota - used - cost, 0.0)

    def used_today(self, grant_id: int) -> int:
        now = self._clock()
        with self._lock:
            if now >= self._day.end:
                self._new_day(now)
            counts = self._counts.get(grant_id)
            return counts[0] if counts else 0


# Check both allowances, then take from both, atomically: a refused call takes nothing, and no
# other worker sees a count it would have to give back (a plain INCRBY pipeline would need a
# second round trip to undo a refused call, and others would be refused meanwhile).
# KEYS: day key, second key. ARGV: cost, daily quota, rate, day key TTL, second key TTL.
# Returns {0 allowed | 1 daily quota | 2 rate limit, calls today after this call}.
_TAKE_SCRIPT: Final = """
local cost = tonumber(ARGV[1])
local day = tonumber(redis.call('GET', KEYS[1]) or '0')
if day + cost > tonumber(ARGV[2]) then return {1, day} end
local second = tonumber(redis.call('GET', KEYS[2]) or '0')
if second + cost > tonumber(ARGV[3]) then return {2, day} end
day = redis.call('INCRBY', KEYS[1], cost)
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('INCRBY', KEYS[2], cost)
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {0, day}
"""


class RedisQuotas:
    """Counts in Redis that every worker shares: one script call (one round trip) per call.

    Keys: ``<prefix>{<grant id>}:day:<YYYYMMDD>`` (kept two days) and
    ``<prefix>{<grant id>}:s:<Unix second>`` (kept two seconds); the braces keep a grant's keys
    in one Redis Cluster slot, as a script needs. Days and seconds come from the workers'
    clocks, so keep them in sync (NTP), as signed requests need anyway.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "rongshu:quota:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self.prefix = prefix
        self._clock = clock
        self._day = _NO_DAY
        self._script = client.register_script(_TAKE_SCRIPT)

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "rongshu:quota:", clock: Callable[[], float] = time.time
    ) -> RedisQuotas:
        from redis import Redis  # imported on use: installations without Redis never load it

        return cls(Redis.from_url(url), prefix=prefix, clock=clock)

    def _day_key(self, grant_id: int, now: float) -> tuple[str, float]:
        day = self._day
        if now >= day.end:
            # Threads racing here compute the same day; the tuple is swapped in one step.
            day = self._day = _beijing_day(now)
        return f"{self.prefix}{{{grant_id}}}:day:{day.label}", day.end

    def take(
        self, grant_id: int, daily_quota: int, rate_per_second: int, cost: int = 1
    ) -> QuotaVerdict:
        now = self._clock()
        second = int(now)
        day_key, day_end = self._day_key(grant_id, now)
        second_key = f"{self.prefix}{{{grant_id}}}:s:{second}"
        outcome, used = self._script(
            keys=[day_key, second_key],
            args=[cost, daily_quota, rate_per_second, _DAY_KEY_SECONDS, _SECOND_KEY_SECONDS],
        )
        if outcome == 1:
            remaining = max(0, daily_quota - used)
            return QuotaVerdict(False, QuotaLimit.DAILY, daily_quota, remaining, day_end - now)
        if outcome == 2:
            return QuotaVerdict(
                False, QuotaLimit.RATE, rate_per_second, daily_quota - used, second + 1 - now
            )
        return QuotaVerdict(True, None, 0, daily_quota - used, 0.0)

    def used_today(self, grant_id: int) -> int:
        day_key, _ = self._day_key(grant_id, self._clock())
        return int(self._client.get(day_key) or 0)

    def close(self) -> None:
        self._client.close()


@lru_cache(maxsize=16)
def _backend(redis_url: str | None, database_url: str) -> QuotaBackend:
    # ``database_url`` only keys the cache: in-process counts belong to one metadata database.
    if redis_url:
        return RedisQuotas.from_url(redis_url)
    return InProcessQuotas()


def quota_backend(settings: Settings) -> QuotaBackend:
    """This process's quota backend for the installation: Redis when ``settings.redis_url`` is
    set, else in-process counts. One per process and metadata database (grant ids are numbers in
    one database), so the counts outlive any one request."""
    return _backend(settings.redis_url, settings.resolved_database_url)
