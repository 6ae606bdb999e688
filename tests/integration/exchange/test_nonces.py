"""Replay protection shared by worker processes: nonces in the metadata database (SQLite and
PostgreSQL, each worker with its own connection pool) and in Redis (marked)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from rongshu.core.db import Database
from rongshu.core.errors import NotAuthenticated
from rongshu.core.platform import Platform
from rongshu.exchange.models import ExchangeNonce
from rongshu.exchange.signing import (
    DatabaseNonces,
    NonceStore,
    RedisNonces,
    nonce_store,
    read_signature_headers,
    signed_headers,
    verify_signature,
)

NONCE = "n0nce-0123456789abcdef"
sqlite_only = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
KEY_ID = "0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def workers(platform: Platform) -> Iterator[tuple[Database, Database]]:
    """Two workers' own connections to the platform's metadata database."""
    first, second = Database(platform.db.url), Database(platform.db.url)
    yield first, second
    first.dispose()
    second.dispose()


def nonce_rows(db: Database) -> int:
    with db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(ExchangeNonce)) or 0


def test_database_nonces_are_shared_by_workers(workers: tuple[Database, Database]) -> None:
    first, second = DatabaseNonces(workers[0]), DatabaseNonces(workers[1])
    assert first.claim(KEY_ID, NONCE, 300)
    assert not second.claim(KEY_ID, NONCE, 300), "another worker sees the nonce as used"
    assert not first.claim(KEY_ID, NONCE, 300)
    assert second.claim("fedcba9876543210", NONCE, 300), "the same nonce for another key is fine"


def test_an_expired_nonce_row_is_purged_and_may_be_used_again(
    workers: tuple[Database, Database],
) -> None:
    clock = Clock()
    nonces = DatabaseNonces(workers[0], purge_every=60, clock=clock)
    assert nonces.claim(KEY_ID, NONCE, 10)
    assert nonces.claim(KEY_ID, "other-nonce-0123456789", 10)
    clock.now += 11
    # The purge ran with the first claim; the next is a minute away, so the rows stay...
    assert nonce_rows(workers[0]) == 2
    assert nonces.claim(KEY_ID, NONCE, 10), "an expired nonce is no replay"
    assert not nonces.claim(KEY_ID, NONCE, 10)
    # ...until a claim after that minute deletes every expired row in the same transaction.
    clock.now += 60
    assert nonces.claim(KEY_ID, "third-nonce-0123456789", 10)
    assert nonce_rows(workers[0]) == 1


@pytest.fixture
def redis_nonces(redis_url: str) -> Iterator[RedisNonces]:
    prefix = f"rongshu_test_{uuid.uuid4().hex[:12]}:"
    nonces = RedisNonces.from_url(redis_url, prefix=prefix)
    yield nonces
    client = nonces._client
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    nonces.close()


@pytest.mark.redis
def test_redis_nonces_refuse_a_replay_and_forget_the_nonce_when_stale(
    redis_nonces: RedisNonces, redis_url: str
) -> None:
    other_worker = RedisNonces.from_url(redis_url, prefix=redis_nonces.prefix)
    try:
        assert redis_nonces.claim(KEY_ID, NONCE, 300)
        assert not other_worker.claim(KEY_ID, NONCE, 300)
        assert other_worker.claim("fedcba9876543210", NONCE, 300)
    finally:
        other_worker.close()
    ttl = redis_nonces._client.ttl(f"{redis_nonces.prefix}{KEY_ID}:{NONCE}")
    assert 0 < ttl <= 300


@pytest.mark.redis
@sqlite_only
def test_nonce_store_is_redis_when_redis_is_set(platform: Platform, redis_url: str) -> None:
    with_redis = platform.settings.model_copy(update={"redis_url": redis_url})
    store = nonce_store(with_redis, platform.db)
    assert isinstance(store, RedisNonces)
    store.close()


@sqlite_only
def test_nonce_store_is_the_database_without_redis(platform: Platform) -> None:
    assert isinstance(nonce_store(platform.settings, platform.db), DatabaseNonces)


def check(
    headers: dict[str, str], secret: str, nonces: NonceStore, body: bytes = b'{"k": 1}'
) -> None:
    verify_signature(
        read_signature_headers(headers),
        secret=secret,
        method="POST",
        path="/api/v1/exchange/services/GA-9001.verify/verify",
        query="",
        body=body,
        nonces=nonces,
        window=300,
    )


@pytest.mark.parametrize("store", ["database", pytest.param("redis", marks=pytest.mark.redis)])
@sqlite_only
def test_a_signed_call_is_accepted_once_on_any_worker(
    store: str, workers: tuple[Database, Database], request: pytest.FixtureRequest
) -> None:
    if store == "database":
        first: NonceStore = DatabaseNonces(workers[0])
        second: NonceStore = DatabaseNonces(workers[1])
    else:
        first = second = request.getfixturevalue("redis_nonces")
    headers = signed_headers(
        f"rsk_{KEY_ID}_the-secret", "POST", "/api/v1/exchange/services/GA-9001.verify/verify",
        b'{"k": 1}',
    )  # fmt: skip
    check(headers, "the-secret", first)
    with pytest.raises(NotAuthenticated, match="replayed X-Nonce"):
        check(headers, "the-secret", second)
