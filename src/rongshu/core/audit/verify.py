"""Verifying the audit chain: every entry's SM3 hash and link, every SM2 checkpoint.

Large chains are split into sequence ranges verified by separate processes (one per core); each
range reports its first and last hash, and the ranges are stitched together in order, so the
result is the same as one walk from the first entry to the last.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from rongshu.core.audit.ledger import (
    FIELD_SEPARATOR,
    GENESIS_HASH,
    HEAD_ID,
    checkpoint_message,
)
from rongshu.core.audit.models import AuditCheckpoint, AuditHead
from rongshu.core.crypto import SM2PublicKey, sm3
from rongshu.core.db import Database

#: Below this many entries one process is faster than starting workers.
PARALLEL_THRESHOLD = 100_000
_COLUMNS = (
    "seq, ts, actor, department, app, action, object, purpose, outcome, row_count, "
    "request_id, prev_hash, hash"
)
Checkpoints = dict[int, tuple[str, str]]  # seq -> (entry hash, signature hex)


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

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True)
class _RangeResult:
    """What one worker found in the sequence range [low, high)."""

    low: int
    count: int
    first_prev: str | None
    last_hash: str | None
    problem: ChainProblem | None


def verify_chain(
    db: Database,
    public_key: SM2PublicKey,
    *,
    workers: int | None = None,
    parallel_threshold: int = PARALLEL_THRESHOLD,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Walk every entry and checkpoint; report the first broken, missing or forged one."""
    started = time.perf_counter()
    report = VerifyReport(key_fingerprint=public_key.fingerprint())
    with db.engine.connect() as conn:
        checkpoint_rows = conn.execute(
            select(
                AuditCheckpoint.seq, AuditCheckpoint.entry_hash, AuditCheckpoint.signature
            ).order_by(AuditCheckpoint.seq)
        )
        checkpoints: Checkpoints = {int(s): (h, sig) for s, h, sig in checkpoint_rows}
        head_seq, head_hash = conn.execute(
            select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
        ).one()
        max_seq = int(conn.exec_driver_sql("SELECT MAX(seq) FROM audit_entry").scalar() or 0)
    report.checkpoints = len(checkpoints)
    top = max(max_seq, int(head_seq), max(checkpoints, default=0))
    ranges = _split(top, workers or os.cpu_count() or 1, parallel_threshold)
    pem = public_key.to_pem()
    if len(ranges) == 1:
        results = [_verify_range(db.url, 1, top + 1, checkpoints, pem, db, progress)]
    else:
        context = multiprocessing.get_context(_start_method())
        with ProcessPoolExecutor(len(ranges), mp_context=context) as pool:
            futures = [
                pool.submit(
                    _verify_range,
                    db.url,
                    low,
                    high,
                    {s: c for s, c in checkpoints.items() if low <= s < high},
                    pem,
                )
                for low, high in ranges
            ]
            results = [future.result() for future in futures]
    report.problem, report.entries, last_hash = _stitch(results)
    report.last_seq = report.entries
    if report.problem is None:
        report.problem = _check_head(report.entries, last_hash, int(head_seq), str(head_hash))
    last_checkpoint = max((s for s in checkpoints if s <= report.last_seq), default=0)
    report.unsigned_tail = report.last_seq - last_checkpoint
    report.seconds = time.perf_counter() - started
    return report


def _start_method() -> str:
    """Fork when this process runs no other thread (fast, nothing to re-import), else spawn."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _split(top: int, workers: int, threshold: int) -> list[tuple[int, int]]:
    if top < threshold or workers < 2:
        return [(1, top + 1)]
    step = -(-top // workers)
    return [(low, min(low + step, top + 1)) for low in range(1, top + 1, step)]


def _stitch(results: list[_RangeResult]) -> tuple[ChainProblem | None, int, str]:
    """Join range results in order: links across boundaries, then each range's own problem."""
    prev = GENESIS_HASH
    entries = 0
    for result in results:
        if result.first_prev is not None and result.first_prev != prev:
            return _broken(result.low), entries, prev
        if result.problem is not None:
            return result.problem, entries + result.count, prev
        entries += result.count
        prev = result.last_hash or prev
    return None, entries, prev


def _broken(seq: int) -> ChainProblem:
    return ChainProblem(seq, "broken_link", f"entry {seq} does not link to entry {seq - 1}")


def _verify_range(
    url: str,
    low: int,
    high: int,
    checkpoints: Checkpoints,
    public_pem: bytes,
    db: Database | None = None,
    progress: Callable[[int], None] | None = None,
) -> _RangeResult:
    """Check entries low <= seq < high: contiguous, linked, hashes right, checkpoints signed."""
    database = db or Database(url)
    try:
        with database.engine.connect() as conn:
            cursor = _entry_cursor(conn, low, high)
            try:
                walk = _RangeWalk(low, checkpoints, SM2PublicKey.from_pem(public_pem))
                while rows := cursor.fetchmany(20_000):
                    problem = walk.check(rows)
                    if problem is not None:
                        return walk.result(problem)
                    if progress is not None:
                        progress(walk.expected - 1)
            finally:
                cursor.close()
    finally:
        if db is None:
            database.dispose()
    if walk.expected < high:  # the head or a checkpoint names entries that are not there
        return walk.result(_gap(walk.expected, high))
    return walk.result(None)


def _entry_cursor(conn: Connection, low: int, high: int) -> Any:
    """A DB-API cursor over entries low <= seq < high, in order.

    Plain DB-API rows are a third cheaper than SQLAlchemy rows at this volume. On PostgreSQL the
    cursor is a server-side (named) one, so memory stays flat however long the chain is.
    """
    raw = conn.connection.dbapi_connection
    assert raw is not None  # noqa: S101 (a checked-out connection always has one)
    placeholder = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    if conn.dialect.name == "postgresql":
        cursor = raw.cursor(name=f"rongshu_audit_verify_{low}")
    else:
        cursor = raw.cursor()
    cursor.execute(
        f"SELECT {_COLUMNS} FROM audit_entry "  # noqa: S608 (constant columns)
        f"WHERE seq >= {placeholder} AND seq < {placeholder} ORDER BY seq",
        (low, high),
    )
    return cursor


class _RangeWalk:
    """The state of one walk through a sequence range."""

    def __init__(self, low: int, checkpoints: Checkpoints, public_key: SM2PublicKey) -> None:
        self.low = low
        self.expected = low
        self.first_prev: str | None = None
        self.prev: str | None = None
        self.checkpoints = checkpoints
        self.public_key = public_key

    def result(self, problem: ChainProblem | None) -> _RangeResult:
        count = self.expected - self.low
        return _RangeResult(self.low, count, self.first_prev, self.prev, problem)

    def check(self, rows: Sequence[Sequence[Any]]) -> ChainProblem | None:
        join = FIELD_SEPARATOR.join
        for row in rows:
            seq = row[0]
            if seq != self.expected:
                return _gap(self.expected, seq)
            if self.first_prev is None:
                self.first_prev = row[11]
            elif row[11] != self.prev:
                return _broken(seq)
            fields = (str(seq), str(row[1]), *row[2:9], str(row[9]), row[10], row[11])
            digest = sm3(join(fields).encode()).hex()
            if digest != row[12]:
                return ChainProblem(
                    seq, "edited", f"entry {seq} does not match its hash (edited or moved)"
                )
            if seq in self.checkpoints:
                problem = _check_checkpoint(seq, self.checkpoints[seq], digest, self.public_key)
                if problem is not None:
                    return problem
            self.prev = digest
            self.expected += 1
        return None


def _gap(expected: int, found: int) -> ChainProblem:
    if found == expected + 1:
        return ChainProblem(expected, "missing", f"entry {expected} is missing")
    return ChainProblem(expected, "missing", f"entries {expected}–{found - 1} are missing")


def _check_checkpoint(
    seq: int, checkpoint: tuple[str, str], digest: str, public_key: SM2PublicKey
) -> ChainProblem | None:
    entry_hash, signature = checkpoint
    if entry_hash != digest:
        return ChainProblem(
            seq, "checkpoint_mismatch", f"checkpoint {seq} signs a different entry hash"
        )
    if not public_key.verify(checkpoint_message(seq, digest), bytes.fromhex(signature)):
        return ChainProblem(
            seq,
            "forged_checkpoint",
            f"checkpoint {seq} is not signed by the platform key {public_key.fingerprint()}",
        )
    return None


def _check_head(entries: int, last_hash: str, head_seq: int, head_hash: str) -> ChainProblem | None:
    """The chain head must name the last entry: catches a deleted tail past the last checkpoint."""
    if head_seq != entries:
        first = min(head_seq, entries) + 1
        return ChainProblem(
            first,
            "missing",
            f"the chain head names entry {head_seq} but the last entry is {entries}",
        )
    if head_hash != last_hash:
        return _broken(head_seq)
    return None
