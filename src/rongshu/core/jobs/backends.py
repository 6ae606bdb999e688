"""Where the queue keeps its state: SQLite in the data directory, or Redis.

Each backend holds its huey instance and keeps idempotency claims: an atomic "claim this key for
this job unless a live claim exists" that huey's storage API lacks (its ``put_if_empty`` has no
expiry on SQLite, and on Redis only from 7.4). Engine differences stay in this module.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Protocol

from huey import RedisHuey, SqliteHuey

from rongshu.core.errors import RongshuError

if TYPE_CHECKING:
    from rongshu.core.settings import Settings

_HUEY_OPTIONS: dict[str, Any] = {
    "results": True,
    # A job that returns None must still tell a waiting caller it is done.
    "store_none": True,
    # Callers wait for the final outcome, not for the first of several attempts.
    "store_intermediate_errors": False,
    "utc": True,
}


class QueueBackend(Protocol):
    """One place a queue keeps its state; ``huey`` is the huey instance on top of it."""

    kind: str
    huey: Any

    def claim(self, key: str, job_id: str, ttl: float) -> str:
        """Claim ``key`` for ``job_id``; return the id of the job holding a live claim."""
        ...

    def release(self, key: str, job_id: str) -> None:
        """Drop the claim on ``key`` if ``job_id`` still holds it."""
        ...

    def flush(self) -> None:
        """Delete every queued and scheduled job, stored result and claim of this queue."""
        ...

    def close(self) -> None:
        """Release connections (they reopen lazily if the queue is used again)."""
        ...


def describe_failure(metadata: dict[str, Any], exception: BaseException) -> dict[str, Any]:
    """Add what a caller needs to re-raise a failure as the right domain error."""
    metadata["message"] = str(exception) or type(exception).__name__
    metadata["type"] = type(exception).__name__
    metadata["code"] = exception.code if isinstance(exception, RongshuError) else None
    return metadata


class _SqliteHuey(SqliteHuey):  # type: ignore[misc]
    def build_error_result(self, task: Any, exception: BaseException) -> dict[str, Any]:
        return describe_failure(super().build_error_result(task, exception), exception)


class _RedisHuey(RedisHuey):  # type: ignore[misc]
    def build_error_result(self, task: Any, exception: BaseException) -> dict[str, Any]:
        return describe_failure(super().build_error_result(task, exception), exception)


class SqliteBackend:
    """``<data_dir>/jobs.db``; claims are rows of huey's ``kv`` table, checked and written in one
    exclusive transaction."""

    kind = "sqlite"

    def __init__(self, settings: Settings, *, name: str) -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        filename = str(settings.data_dir / "jobs.db")
        self.huey = _SqliteHuey(name, filename=filename, **_HUEY_OPTIONS)
        self._storage = self.huey.storage

    def claim(self, key: str, job_id: str, ttl: float) -> str:
        now = time.time()
        with self._storage.db(commit=True) as cursor:  # BEGIN EXCLUSIVE
            cursor.execute(
                "select value from kv where queue = ? and key = ?", (self._storage.name, key)
            )
            row = cursor.fetchone()
            if row is not None:
                held = json.loads(bytes(row[0]))
                if held["expires_at"] > now:
                    return str(held["id"])
            value = json.dumps({"id": job_id, "expires_at": now + ttl}).encode()
            cursor.execute(
                "insert or replace into kv (queue, key, value) values (?, ?, ?)",
                (self._storage.name, key, value),
            )
        return job_id

    def release(self, key: str, job_id: str) -> None:
        with self._storage.db(commit=True) as cursor:
            cursor.execute(
                "select value from kv where queue = ? and key = ?", (self._storage.name, key)
            )
            row = cursor.fetchone()
            if row is not None and json.loads(bytes(row[0]))["id"] == job_id:
                cursor.execute(
                    "delete from kv where queue = ? and key = ?", (self._storage.name, key)
                )

    def flush(self) -> None:
        self.huey.flush()  # claims live in kv, which huey empties too

    def close(self) -> None:
        self._storage.close()


_RELEASE_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisBackend:
    """``settings.redis_url``; claims are plain keys written with ``SET NX PX`` (any Redis)."""

    kind = "redis"

    def __init__(self, settings: Settings, *, name: str) -> None:
        self.huey = _RedisHuey(
            name, url=settings.redis_url, blocking=True, read_timeout=1, **_HUEY_OPTIONS
        )
        self._conn = self.huey.storage.conn
        self._prefix = f"huey.idempotency.{self.huey.storage.name}."
        self._release = self._conn.register_script(_RELEASE_LUA)

    def claim(self, key: str, job_id: str, ttl: float) -> str:
        full_key = self._prefix + key
        # The loop only repeats when the holder's claim expires between SET and GET.
        for _ in range(5):
            if self._conn.set(full_key, job_id, nx=True, px=max(1, int(ttl * 1000))):
                return job_id
            held = self._conn.get(full_key)
            if held is not None:
                return str(held.decode())
        raise RongshuError(f"could not claim idempotency key {key!r}")

    def release(self, key: str, job_id: str) -> None:
        self._release(keys=[self._prefix + key], args=[job_id])

    def flush(self) -> None:
        self.huey.flush()
        for key in self._conn.scan_iter(match=self._prefix + "*", count=500):
            self._conn.delete(key)

    def close(self) -> None:
        self.huey.storage.pool.disconnect()


def open_backend(settings: Settings, *, name: str) -> QueueBackend:
    """The backend the settings call for: Redis when ``redis_url`` is set, else SQLite."""
    if settings.redis_url:
        return RedisBackend(settings, name=name)
    return SqliteBackend(settings, name=name)
