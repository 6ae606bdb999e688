"""The audit ledger (留痕): SM3-chained entries written with group commit, SM2 checkpoints.

Callers ``append`` records from any thread and get a future of the entry's sequence number. One
writer thread per process drains whatever has queued up and commits it as one transaction, so a
busy API pays one commit per batch instead of one per call. Each batch first locks the
``audit_head`` row, so several processes (API workers, job workers) can share one chain.

Every entry's hash is SM3 over its canonical form, which includes the previous entry's hash; every
``checkpoint_every`` entries the chain position is signed with the platform's SM2 key. A verifier
with the public key finds any edited, deleted or reordered entry up to the last checkpoint.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Table, func, insert, select, update

from rongshu.core.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from rongshu.core.crypto import SM2PrivateKey, SM2PublicKey, sm3
from rongshu.core.db import Database
from rongshu.core.errors import ConfigurationError

log = logging.getLogger("rongshu.audit")

GENESIS_HASH = "0" * 64
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
    """SM3 (hex) over the entry's canonical form: a compact UTF-8 JSON array of its fields."""
    canonical = json.dumps(
        [
            seq,
            ts,
            actor,
            department,
            app,
            action,
            object_,
            purpose,
            outcome,
            row_count,
            request_id,
            prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return sm3(canonical.encode()).hex()


def checkpoint_message(seq: int, hash_: str) -> bytes:
    """The bytes an SM2 checkpoint signs: the chain position and the entry hash there."""
    return f"rongshu-audit-checkpoint:{seq}:{hash_}".encode()


@dataclass(slots=True)
class _Pending:
    record: AuditRecord
    ts: int
    future: Future[int]


class AuditLedger:
    """Appends audit entries with group commit; one instance per process."""

    def __init__(
        self,
        db: Database,
        signing_key: SM2PrivateKey,
        *,
        checkpoint_every: int = 1000,
        batch_max: int = 5000,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        if checkpoint_every < 1:
            raise ConfigurationError("audit_checkpoint_every must be at least 1")
        self._db = db
        self._key = signing_key
        self._fingerprint = signing_key.public_key().fingerprint()
        self._checkpoint_every = checkpoint_every
        self._batch_max = batch_max
        self.on_commit = on_commit
        self._pending: list[_Pending] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- appending -------------------------------------------------------------------------

    def append(self, record: AuditRecord) -> Future[int]:
        """Queue ``record``; the future resolves to its sequence number once committed."""
        future: Future[int] = Future()
        with self._cond:
            if self._closed:
                raise ConfigurationError("the audit ledger is closed")
            self._pending.append(_Pending(record, now_us(), future))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="rongshu-audit-writer", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return future

    def record(self, record: AuditRecord, *, timeout: float = 30.0) -> int:
        """Append and wait until the entry is committed; returns its sequence number."""
        return self.append(record).result(timeout)

    async def arecord(self, record: AuditRecord) -> int:
        """Append from async code and await the commit."""
        return await asyncio.wrap_future(self.append(record))

    @property
    def queue_depth(self) -> int:
        """Entries waiting for the writer (a gauge for /metrics)."""
        return len(self._pending)

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
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending and self._closed:
                    return
                batch = self._pending[: self._batch_max]
                del self._pending[: self._batch_max]
            try:
                first_seq = self._commit(batch)
            except Exception as exc:  # the callers learn of it through their futures
                log.exception("audit batch of %d entries failed", len(batch))
                for item in batch:
                    item.future.set_exception(exc)
                continue
            for offset, item in enumerate(batch):
                item.future.set_result(first_seq + offset)
            if self.on_commit is not None:
                self.on_commit(len(batch))

    def _commit(self, batch: Sequence[_Pending]) -> int:
        with self._db.engine.begin() as conn:
            # Writing the head row first takes the write lock (SQLite) / row lock (PostgreSQL)
            # before we read it, so concurrent writers serialise on the chain head.
            conn.execute(update(_head).where(_head.c.id == HEAD_ID).values(seq=_head.c.seq))
            head = conn.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == HEAD_ID))
            last_seq, prev_hash = head.one()
            first_seq = last_seq + 1
            rows, checkpoints = self._chain(batch, first_seq, prev_hash)
            conn.execute(insert(_entry), rows)
            if checkpoints:
                conn.execute(insert(_checkpoint), checkpoints)
            conn.execute(
                update(_head)
                .where(_head.c.id == HEAD_ID)
                .values(seq=rows[-1]["seq"], hash=rows[-1]["hash"])
            )
        return int(first_seq)

    def _chain(
        self, batch: Iterable[_Pending], first_seq: int, prev_hash: str
    ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        rows: list[dict[str, object]] = []
        checkpoints: list[dict[str, object]] = []
        seq = first_seq
        for item in batch:
            r = item.record
            digest = entry_hash(
                seq,
                item.ts,
                r.actor,
                r.department,
                r.app,
                r.action,
                r.object,
                r.purpose,
                r.outcome,
                r.row_count,
                r.request_id,
                prev_hash,
            )
            rows.append(
                {
                    "seq": seq,
                    "ts": item.ts,
                    "actor": r.actor,
                    "department": r.department,
                    "app": r.app,
                    "action": r.action,
                    "object": r.object,
                    "purpose": r.purpose,
                    "outcome": r.outcome,
                    "row_count": r.row_count,
                    "request_id": r.request_id,
                    "prev_hash": prev_hash,
                    "hash": digest,
                }
            )
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


def initialise_head(conn: Connection) -> None:
    """Create the chain head row if it is missing (run by the migration and by tests)."""
    exists = conn.execute(select(func.count()).select_from(_head)).scalar_one()
    if not exists:
        conn.execute(insert(_head).values(id=HEAD_ID, seq=0, hash=GENESIS_HASH))


# -- verification -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first thing wrong with the chain: where, what kind, and in words."""

    seq: int
    kind: str
    message: str


@dataclass(slots=True)
class VerifyReport:
    """The result of walking the whole chain."""

    entries: int = 0
    checkpoints: int = 0
    last_seq: int = 0
    seconds: float = 0.0
    problem: ChainProblem | None = None
    key_fingerprint: str = ""
    unsigned_tail: int = 0
    last_hash: str = GENESIS_HASH

    @property
    def ok(self) -> bool:
        return self.problem is None


_VERIFY_COLUMNS = (
    "seq, ts, actor, department, app, action, object, purpose, outcome, row_count, "
    "request_id, prev_hash, hash"
)


def verify_chain(
    db: Database,
    public_key: SM2PublicKey,
    *,
    chunk: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Walk every entry and checkpoint; report the first broken, missing or forged one."""
    started = time.perf_counter()
    report = VerifyReport(key_fingerprint=public_key.fingerprint())
    with db.engine.connect() as conn:
        checkpoints = {
            row.seq: row for row in conn.execute(select(_checkpoint).order_by(_checkpoint.c.seq))
        }
        head_seq, head_hash = conn.execute(
            select(_head.c.seq, _head.c.hash).where(_head.c.id == HEAD_ID)
        ).one()
        result = conn.execution_options(stream_results=True, yield_per=chunk).exec_driver_sql(
            f"SELECT {_VERIFY_COLUMNS} FROM audit_entry ORDER BY seq"  # noqa: S608 (constant)
        )
        report.problem = _walk(result.partitions(chunk), checkpoints, public_key, report, progress)
        result.close()
    report.checkpoints = len(checkpoints)
    if report.problem is None:
        report.problem = _check_tail(report, checkpoints, int(head_seq), str(head_hash))
    last_checkpoint = max((s for s in checkpoints if s <= report.last_seq), default=0)
    report.unsigned_tail = report.last_seq - last_checkpoint
    report.seconds = time.perf_counter() - started
    return report


def _walk(
    partitions: Iterable[Sequence[Sequence[object]]],
    checkpoints: dict[int, Row[Any]],
    public_key: SM2PublicKey,
    report: VerifyReport,
    progress: Callable[[int], None] | None,
) -> ChainProblem | None:
    expected_seq = 1
    prev = GENESIS_HASH
    dumps = json.dumps
    for rows in partitions:
        for row in rows:
            seq: int = row[0]  # type: ignore[assignment]
            if seq != expected_seq:
                if seq == expected_seq + 1:
                    gap = f"entry {expected_seq} is"
                else:
                    gap = f"entries {expected_seq}–{seq - 1} are"
                return ChainProblem(expected_seq, "missing", f"{gap} missing")
            if row[11] != prev:
                return ChainProblem(
                    seq, "broken_link", f"entry {seq} does not link to entry {seq - 1}"
                )
            canonical = dumps(list(row[:12]), ensure_ascii=False, separators=(",", ":"))
            digest = sm3(canonical.encode()).hex()
            if digest != row[12]:
                return ChainProblem(
                    seq, "edited", f"entry {seq} does not match its hash (edited or moved)"
                )
            checkpoint = checkpoints.get(seq)
            if checkpoint is not None:
                problem = _check_checkpoint(checkpoint, digest, public_key)
                if problem is not None:
                    return problem
            prev = digest
            expected_seq += 1
        report.entries = report.last_seq = expected_seq - 1
        report.last_hash = prev
        if progress is not None:
            progress(report.entries)
    return None


def _check_checkpoint(
    checkpoint: Row[Any], digest: str, public_key: SM2PublicKey
) -> ChainProblem | None:
    seq: int = checkpoint.seq
    if checkpoint.entry_hash != digest:
        return ChainProblem(
            seq, "checkpoint_mismatch", f"checkpoint {seq} signs a different entry hash"
        )
    signature = bytes.fromhex(checkpoint.signature)
    if not public_key.verify(checkpoint_message(seq, digest), signature):
        return ChainProblem(
            seq,
            "forged_checkpoint",
            f"checkpoint {seq} is not signed by the platform key {public_key.fingerprint()}",
        )
    return None


def _check_tail(
    report: VerifyReport, checkpoints: dict[int, Row[Any]], head_seq: int, head_hash: str
) -> ChainProblem | None:
    beyond = [s for s in checkpoints if s > report.last_seq]
    if beyond:
        first = report.last_seq + 1
        return ChainProblem(
            first,
            "missing",
            f"entries {first}–{max(beyond)} are missing (a checkpoint signs entry {max(beyond)})",
        )
    if head_seq != report.last_seq:
        first = min(head_seq, report.last_seq) + 1
        return ChainProblem(
            first,
            "missing",
            f"the chain head names entry {head_seq} but the last entry is {report.last_seq}",
        )
    if head_hash != report.last_hash:
        return ChainProblem(
            head_seq, "broken_link", f"the chain head does not match entry {head_seq}'s hash"
        )
    return None
