"""Grants' daily quotas and rate limits, counted in process and in Redis (marked), on a clock the
tests move: across Beijing midnight, and from one second to the next."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from rongshu.core.errors import TooManyRequests
from rongshu.core.settings import Settings
from rongshu.exchange.quotas import (
    BEIJING,
    InProcessQuotas,
    QuotaBackend,
    QuotaLimit,
    RedisQuotas,
    quota_backend,
    raise_if_refused,
)

GRANT = 42
PLENTY = 1_000_000


class Clock:
    """Unix time that only moves when a test moves it."""

    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, at: datetime) -> None:
        self.now = at.timestamp()


def beijing(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, second, micro, tzinfo=BEIJING)


@pytest.fixture
def clock() -> Clock:
    return Clock(beijing(1, 10, 0, 0, 250_000))


@pytest.fixture(params=["in_process", pytest.param("redis", marks=pytest.mark.redis)])
def quotas(request: pytest.FixtureRequest, clock: Clock) -> Iterator[QuotaBackend]:
    """Each backend on the test's clock; Redis keys under a prefix of this test's own."""
    if request.param == "in_process":
        yield InProcessQuotas(clock=clock)
        return
    prefix = f"rongshu_test_{uuid.uuid4().hex[:12]}:"
    backend = RedisQuotas.from_url(request.getfixturevalue("redis_url"), prefix=prefix, clock=clock)
    yield backend
    client = backend._client
    keys = list(client.scan_iter(match=f"{prefix}*"))
    for key in keys:
        # Every key is made to expire: none would outlive the test's days in Redis.
        assert client.ttl(key) > 0, key
    if keys:
        client.delete(*keys)
    backend.close()


def test_daily_quota_refuses_the_call_after_the_last_and_names_the_limit(
    quotas: QuotaBackend, clock: Clock
) -> None:
    for n in range(3):
        verdict = quotas.take(GRANT, daily_quota=3, rate_per_second=PLENTY)
        assert verdict.allowed and verdict.remaining_today == 2 - n
        clock.now += 1
    refused = quotas.take(GRANT, daily_quota=3, rate_per_second=PLENTY)
    assert not refused.allowed
    assert refused.refused_by is QuotaLimit.DAILY
    assert refused.remaining_today == 0
    # 10:00:03.25 on 1 March → midnight is 13 h 59 min 56.75 s away.
    assert refused.retry_after == pytest.approx(14 * 3600 - 3.25)
    assert quotas.used_today(GRANT) == 3, "a refused call takes nothing"

    with pytest.raises(TooManyRequests) as caught:
        raise_if_refused(refused)
    assert "daily quota used up" in caught.value.message and "3 calls a day" in caught.value.message
    assert caught.value.status == 429
    assert caught.value.details == [
        {"limit": "daily_quota", "allowed": 3, "remaining_today": 0, "retry_after": 50397}
    ]


def test_the_quota_starts_again_at_beijing_midnight_not_utc_midnight(
    quotas: QuotaBackend, clock: Clock
) -> None:
    clock.set(beijing(1, 23, 59, 59))
    assert quotas.take(GRANT, daily_quota=1, rate_per_second=PLENTY).allowed
    clock.set(beijing(1, 23, 59, 59, 900_000))
    last = quotas.take(GRANT, daily_quota=1, rate_per_second=PLENTY)
    assert last.refused_by is QuotaLimit.DAILY
    assert last.retry_after == pytest.approx(0.1)

    clock.set(beijing(2, 0, 0, 0))  # 16:00 UTC: a new Beijing day
    assert quotas.used_today(GRANT) == 0
    assert quotas.take(GRANT, daily_quota=1, rate_per_second=PLENTY).allowed
    assert quotas.used_today(GRANT) == 1

    clock.set(beijing(2, 8, 0, 0))  # 00:00 UTC the same Beijing day: still counted
    assert not quotas.take(GRANT, daily_quota=1, rate_per_second=PLENTY).allowed


def test_rate_limit_refuses_within_the_second_and_allows_the_next(
    quotas: QuotaBackend, clock: Clock
) -> None:
    for _ in range(5):
        assert quotas.take(GRANT, daily_quota=100, rate_per_second=5).allowed
    refused = quotas.take(GRANT, daily_quota=100, rate_per_second=5)
    assert refused.refused_by is QuotaLimit.RATE
    assert refused.retry_after == pytest.approx(0.75)  # the clock is at .25 of its second
    assert refused.remaining_today == 95
    assert quotas.used_today(GRANT) == 5, "retrying against the rate limit burns no quota"

    with pytest.raises(TooManyRequests) as caught:
        raise_if_refused(refused)
    assert caught.value.message == (
        "rate limit exceeded: this grant allows 5 calls a second; retry in 1 s"
    )

    clock.now += 1
    assert quotas.take(GRANT, daily_quota=100, rate_per_second=5).allowed


def test_grants_are_counted_apart(quotas: QuotaBackend) -> None:
    assert quotas.take(1, daily_quota=1, rate_per_second=PLENTY).allowed
    assert quotas.take(2, daily_quota=1, rate_per_second=PLENTY).allowed
    assert not quotas.take(1, daily_quota=1, rate_per_second=PLENTY).allowed


def test_a_call_may_cost_more_than_one(quotas: QuotaBackend) -> None:
    assert quotas.take(GRANT, daily_quota=10, rate_per_second=PLENTY, cost=7).allowed
    refused = quotas.take(GRANT, daily_quota=10, rate_per_second=PLENTY, cost=4)
    assert refused.refused_by is QuotaLimit.DAILY and refused.remaining_today == 3
    assert quotas.take(GRANT, daily_quota=10, rate_per_second=PLENTY, cost=3).allowed
    assert quotas.used_today(GRANT) == 10


def test_concurrent_calls_never_exceed_the_quota(quotas: QuotaBackend) -> None:
    allowed = []

    def worker() -> None:
        taken = [quotas.take(GRANT, 150, PLENTY).allowed for _ in range(50)]
        allowed.append(sum(taken))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 150
    assert quotas.used_today(GRANT) == 150


def test_an_allowed_verdict_raises_nothing(quotas: QuotaBackend) -> None:
    raise_if_refused(quotas.take(GRANT, 1, 1))


def test_backend_is_in_process_without_redis_and_one_per_process(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    backend = quota_backend(settings)
    assert isinstance(backend, InProcessQuotas)
    assert quota_backend(Settings(data_dir=tmp_path / "data")) is backend
    assert quota_backend(Settings(data_dir=tmp_path / "other")) is not backend


@pytest.mark.redis
def test_backend_is_redis_when_redis_is_set(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(data_dir=tmp_path / "data", redis_url=redis_url)
    backend = quota_backend(settings)
    assert isinstance(backend, RedisQuotas)
    assert quota_backend(Settings(data_dir=tmp_path / "data", redis_url=redis_url)) is backend


@pytest.mark.redis
def test_redis_counts_are_shared_by_every_worker(redis_url: str, clock: Clock) -> None:
    prefix = f"rongshu_test_{uuid.uuid4().hex[:12]}:"
    first = RedisQuotas.from_url(redis_url, prefix=prefix, clock=clock)
    second = RedisQuotas.from_url(redis_url, prefix=prefix, clock=clock)
    try:
        assert first.take(GRANT, daily_quota=2, rate_per_second=PLENTY).allowed
        assert second.take(GRANT, daily_quota=2, rate_per_second=PLENTY).allowed
        assert not first.take(GRANT, daily_quota=2, rate_per_second=PLENTY).allowed
        assert second.used_today(GRANT) == 2
    finally:
        keys = list(first._client.scan_iter(match=f"{prefix}*"))
        if keys:
            first._client.delete(*keys)
        first.close()
        second.close()
