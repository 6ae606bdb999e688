"""The audit ledger (留痕): SM3-chained entries written with group commit, SM2 checkpoints.

Callers ``append`` records from any thread and get a future of the entry's sequence number. One
writer thread per process drains whatever has queued up and commits it as one transaction, so a
busy API pays one commit per batch instead of one per call; while busy, it lets each batch
gather for a couple of milliseconds first (``gather_seconds``). Each batch first locks the
``audit_head`` row, so several processes (API workers, job workers) can share one chain.

Every entry's hash is SM3 over its canonical form, which includes the previous entry's hash; every
``checkpoint_every`` entries the chain position is signed with the platform's SM2 key. A verifier
with the public key finds any edited, deleted or reordered entry up to the last checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import OperationalError

from rongshu.core.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from rongshu.core.crypto import SM2PrivateKey, sm3
from rongshu.core.db import Database
from rongshu.core.errors import ConfigurationError

log = logging.getLogger("rongshu.audit")

GENESIS_HASH = "0" * 64
#: Pauses (seconds) between tries of a batch the database was too busy to take; each try also
#: waits the connection's own busy timeout. A batch is given up only after all of them.
COMMIT_RETRY_DELAYS: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, 4.0, 8.0)
HEAD_ID = 1

_entry: Table = AuditEntry.__table__  # type: ignore[assignment]
_head: Table = AuditHead.__table__  # type: ignore[assignment]
_checkpoint: Table = AuditCheckpoint.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What happened, as a caller reports it; the ledger adds sequence, time and hashes."""

    actor: str
    action: str
    object: str = ""
    outcome: str = "ok"
    department: str = ""
    app: str = ""
    purpose: str = ""
    row_count: int = 0
    request_id: str = ""


def now_us() -> int:
    """The current UTC time in microseconds since the Unix epoch (the ledger's clock)."""
    return time.time_ns() // 1000


#: Control characters are replaced in stored text, so U+001F can separate the fields.
_CONTROL_CHARACTERS = dict.fromkeys(range(32), "�")
FIELD_SEPARATOR = "\x1f"


def clean(value: str) -> str:
    """Text as the ledger stores it: control characters replaced by U+FFFD."""
    return value if value.isprintable() else value.translate(_CONTROL_CHARACTERS)


def entry_hash(
    seq: int,
    ts: int,
    actor: str,
    department: str,
    app: str,
    action: str,
    object_: str,
    purpose: str,
    outcome: str,
    row_count: int,
    request_id: str,
    prev_hash: str,
) -> str:
    """SM3 (hex) of the entry's canonical form: its fields, in this order, joined by U+001F.

    Text fields never hold control characters (``clean``), so the form is unambiguous, and it
    is cheap to rebuild, which keeps verification fast.
    """
    canonical = FIELD_SEPARATOR.join(
        (
            str(seq),
            str(ts),
            actor,
            department,
            app,
            action,
            object_,
            purpose,
            outcome,
            str(row_count),
            request_id,
            prev_hash,
        )
    )
    return sm3(canonical.encode()).hex()


def checkpoint_message(seq: int, hash_: str) -> bytes:
    """The bytes an SM2 checkpoint signs: the chain position and the entry hash there."""
    return f"rongshu-audit-checkpoint:{seq}:{hash_}".encode()


class _Batch:
    """Entries that will be committed together, and the one future they all wait on."""

    __slots__ = ("future", "items", "waiters")

    def __init__(self) -> None:
        self.items: list[tuple[AuditRecord, int]] = []
        self.future: Future[int] = Future()  # resolves to the batch's first sequence number
        self.waiters: dict[asyncio.AbstractEventLoop, asyncio.Future[int]] = {}

    def waiter(self) -> asyncio.Future[int]:
        """The batch's future for the running event loop: one per loop, however many of its
        callers wait, so a commit wakes each loop once rather than once per entry."""
        loop = asyncio.get_running_loop()
        found = self.waiters.get(loop)
        if found is None:
            found = self.waiters[loop] = asyncio.wrap_future(self.future, loop=loop)
        return found


class AuditTicket:
    """A caller's claim on one appended entry: its sequence number once committed."""

    __slots__ = ("_batch", "_index")

    def __init__(self, batch: _Batch, index: int) -> None:
        self._batch = batch
        self._index = index

    def result(self, timeout: float | None = None) -> int:
        """Wait for the commit; returns the sequence number or raises the commit's error."""
        return self._batch.future.result(timeout) + self._index

    async def wait(self) -> int:
        """Await the commit from async code."""
        return await asyncio.shield(self._batch.waiter()) + self._index


class AuditLedger:
    """Appends audit entries with group commit; one instance per process."""

    def __init__(
        self,
        db: Database,
        signing_key: SM2PrivateKey,
        *,
        checkpoint_every: int = 1000,
        batch_max: int = 5000,
        gather_seconds: float = 0.002,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        if checkpoint_every < 1:
            raise ConfigurationError("audit_checkpoint_every must be at least 1")
        self._db = db
        self._key = signing_key
        self._fingerprint = signing_key.public_key().fingerprint()
        self._checkpoint_every = checkpoint_every
        self._batch_max = batch_max
        self._gather = gather_seconds
        self._last_commit = 0.0
        self._gathering = False
        self.on_commit = on_commit
        self._batches: deque[_Batch] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._writing = False
        self._thread: threading.Thread | None = None

    # -- appending -------------------------------------------------------------------------

    def append(self, record: AuditRecord) -> AuditTicket:
        """Queue ``record``; the ticket yields its sequence number once committed.

        Callers share one future per batch, so appending costs a list append, not a lock and
        a future of its own.
        """
        with self._cond:
            if self._closed:
                raise ConfigurationError("the audit ledger is closed")
            batches = self._batches
            if not batches or len(batches[-1].items) >= self._batch_max:
                batches.append(_Batch())
            batch = batches[-1]
            batch.items.append((record, now_us()))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="rongshu-audit-writer", daemon=True
                )
                self._thread.start()
            if not self._gathering or len(batch.items) >= self._batch_max:
                self._cond.notify()
        return AuditTicket(batch, len(batch.items) - 1)

    def record(self, record: AuditRecord, *, timeout: float = 30.0) -> int:
        """Append and wait until the entry is committed; returns its sequence number."""
        return self.append(record).result(timeout)

    async def arecord(self, record: AuditRecord) -> int:
        """Append from async code and await the commit."""
        return await self.append(record).wait()

    @property
    def queue_depth(self) -> int:
        """Entries waiting for the writer (a gauge for /metrics)."""
        return sum(len(batch.items) for batch in self._batches)

    def flush(self, *, timeout: float = 30.0) -> None:
        """Wait until every entry appended so far is committed (or has failed)."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: not self._batches and not self._writing, timeout=timeout
            ):
                raise TimeoutError("audit entries were not committed in time")

    def close(self, *, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop the writer thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # -- the writer ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._batches and not self._closed:
                    self._cond.wait()
                if not self._batches and self._closed:
                    return
                self._gather_more()
                batch = self._batches.popleft()
                self._writing = True
            try:
                first_seq = self._commit_retrying(batch.items)
            except Exception as exc:  # the callers learn of it through their tickets
                log.exception("audit batch of %d entries failed", len(batch.items))
                batch.future.set_exception(exc)
            else:
                batch.future.set_result(first_seq)
                if self.on_commit is not None:
                    self.on_commit(len(batch.items))
            self._last_commit = time.monotonic()
            with self._cond:
                self._writing = False
                self._cond.notify_all()

    def _gather_more(self) -> None:
        """Under load, let the batch fill for ``gather_seconds`` before committing it.

        Entries arrive one call at a time; committing each as soon as it is queued makes a
        transaction of one or two entries, and the commits' CPU then outweighs the calls'. When
        the previous commit ended less than ``gather_seconds`` ago (a busy ledger), waiting that
        long collects the next calls' entries into the same transaction; an idle ledger commits
        at once. Called with the condition held.
        """
        if self._gather <= 0 or self._closed:
            return
        if time.monotonic() - self._last_commit > self._gather:
            return
        deadline = time.monotonic() + self._gather
        self._gathering = True
        try:
            while len(self._batches[0].items) < self._batch_max and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        finally:
            self._gathering = False

    def _commit_retrying(self, batch: Sequence[tuple[AuditRecord, int]]) -> int:
        """``_commit``, tried again while the database is busy: a long transaction elsewhere
        (a bulk import on SQLite) can hold the write lock past one busy timeout, and entries
        must not be lost for that. Other errors, and a database busy for every try, fail."""
        for delay in COMMIT_RETRY_DELAYS:
            try:
                return self._commit(batch)
            except OperationalError as exc:
                log.warning("audit batch waits for the database (%s); again in %.1f s", exc, delay)
                time.sleep(delay)
        return self._commit(batch)

    def _commit(self, batch: Sequence[tuple[AuditRecord, int]]) -> int:
        with self._db.engine.begin() as conn:
            # Plain statements (no SQLAlchemy expressions built per batch): under load a batch
            # holds a handful of entries, and building statements would cost more than them.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            # Writing the head row first takes the write lock (SQLite) / row lock (PostgreSQL)
            # before we read it, so concurrent writers serialise on the chain head.
            conn.exec_driver_sql(_LOCK_HEAD)
            head = conn.exec_driver_sql(_READ_HEAD)
            last_seq, prev_hash = head.one()
            first_seq = last_seq + 1
            rows, checkpoints = self._chain(batch, first_seq, prev_hash)
            _insert_entries(conn, rows)
            if checkpoints:
                conn.execute(insert(_checkpoint), checkpoints)
            conn.exec_driver_sql(_MOVE_HEAD.replace("?", mark), (rows[-1]["seq"], rows[-1]["hash"]))
        return int(first_seq)

    def _chain(
        self, batch: Iterable[tuple[AuditRecord, int]], first_seq: int, prev_hash: str
    ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        rows: list[dict[str, object]] = []
        checkpoints: list[dict[str, object]] = []
        seq = first_seq
        for r, ts in batch:
            row: dict[str, object] = {
                "seq": seq,
                "ts": ts,
                "actor": clean(r.actor)[:64],
                "department": clean(r.department)[:32],
                "app": clean(r.app)[:100],
                "action": clean(r.action)[:100],
                "object": clean(r.object)[:300],
                "purpose": clean(r.purpose),
                "outcome": clean(r.outcome)[:32],
                "row_count": int(r.row_count),
                "request_id": clean(r.request_id)[:64],
                "prev_hash": prev_hash,
            }
            digest = entry_hash(*row.values())  # type: ignore[arg-type]
            row["hash"] = digest
            rows.append(row)
            if seq % self._checkpoint_every == 0:
                checkpoints.append(self._sign(seq, digest))
            prev_hash = digest
            seq += 1
        return rows, checkpoints

    def _sign(self, seq: int, digest: str) -> dict[str, object]:
        return {
            "seq": seq,
            "entry_hash": digest,
            "signed_ts": now_us(),
            "key_fingerprint": self._fingerprint,
            "signature": self._key.sign(checkpoint_message(seq, digest)).hex(),
        }


_ENTRY_COLUMNS = tuple(column.name for column in _entry.columns)
# The chain head is the row with id HEAD_ID (1).
_LOCK_HEAD = "UPDATE audit_head SET seq = seq WHERE id = 1"
_READ_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"
_MOVE_HEAD = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"


def _insert_entries(conn: Connection, rows: list[dict[str, object]]) -> None:
    """Insert a batch of entries; on PostgreSQL (psycopg) through COPY, several times faster."""
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        columns = ", ".join(_ENTRY_COLUMNS)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(f"COPY audit_entry ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[name] for name in _ENTRY_COLUMNS))
        return
    # Plain DB-API executemany with tuples: SQLAlchemy's per-row parameter handling would cost
    # more than the hashing does.
    placeholders = ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * len(rows[0]))
    statement = f"INSERT INTO audit_entry ({', '.join(_ENTRY_COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(statement, [tuple(row[name] for name in _ENTRY_COLUMNS) for row in rows])
    finally:
        cursor.close()
