"""The audit ledger: group commit, SM3 chain, SM2 checkpoints, and tamper detection."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from rongshu.core.audit import ledger as ledger_module
from rongshu.core.audit.ledger import AuditRecord
from rongshu.core.audit.verify import verify_chain
from rongshu.core.crypto import SM2PrivateKey
from rongshu.core.platform import Platform

from ..conftest import open_platform


def fill(platform: Platform, count: int) -> None:
    futures = [
        platform.ledger.append(
            AuditRecord(actor=f"user{i % 7}", action="query", object=f"resource:{i}", row_count=i)
        )
        for i in range(count)
    ]
    assert sorted(f.result(30) for f in futures) == list(range(1, count + 1))


def tamper(platform: Platform, *statements: str) -> None:
    """Edit the table the way an intruder with database access would (triggers dropped)."""
    with platform.db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_entry_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_entry_no_delete"))
        for statement in statements:
            conn.execute(text(statement))


def verify(platform: Platform):  # type: ignore[no-untyped-def]
    return verify_chain(platform.db, platform.signing_key.public_key())


@pytest.fixture
def ledger_platform(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = open_platform(tmp_path / "data", audit_checkpoint_every=10)
    yield opened
    opened.close()


def test_intact_chain_verifies_with_checkpoints(ledger_platform: Platform) -> None:
    fill(ledger_platform, 95)
    report = verify(ledger_platform)
    assert report.ok, report.problem
    assert report.entries == 95
    assert report.checkpoints == 9
    assert report.unsigned_tail == 5


def test_edited_entry_is_caught(ledger_platform: Platform) -> None:
    fill(ledger_platform, 30)
    tamper(ledger_platform, "UPDATE audit_entry SET row_count = 0 WHERE seq = 17")
    report = verify(ledger_platform)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (17, "edited")


def test_edit_with_recomputed_hashes_is_caught_by_checkpoint(ledger_platform: Platform) -> None:
    """An intruder who rewrites the whole chain after an edit still cannot forge checkpoints."""
    from rongshu.core.audit.ledger import entry_hash

    fill(ledger_platform, 30)
    with ledger_platform.db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_entry_no_update"))
        conn.execute(text("UPDATE audit_entry SET actor = 'nobody' WHERE seq = 3"))
        prev = "0" * 64
        rows = conn.execute(text("SELECT * FROM audit_entry ORDER BY seq")).mappings().all()
        for row in rows:
            digest = entry_hash(
                row["seq"], row["ts"], row["actor"], row["department"], row["app"],
                row["action"], row["object"], row["purpose"], row["outcome"],
                row["row_count"], row["request_id"], prev,
            )  # fmt: skip
            conn.execute(
                text("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": row["seq"]},
            )
            prev = digest
        conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    report = verify(ledger_platform)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (10, "checkpoint_mismatch")


def test_deleted_entry_is_caught(ledger_platform: Platform) -> None:
    fill(ledger_platform, 30)
    tamper(ledger_platform, "DELETE FROM audit_entry WHERE seq = 12")
    report = verify(ledger_platform)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (12, "missing")
    assert "12" in report.problem.message


def test_deleted_tail_is_caught(ledger_platform: Platform) -> None:
    fill(ledger_platform, 25)
    tamper(ledger_platform, "DELETE FROM audit_entry WHERE seq > 23")
    report = verify(ledger_platform)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (24, "missing")


def test_reordered_entries_are_caught(ledger_platform: Platform) -> None:
    fill(ledger_platform, 30)
    # Swap the contents of entries 5 and 6, keeping each row's own hashes: the order changed.
    tamper(
        ledger_platform,
        "UPDATE audit_entry SET seq = -5 WHERE seq = 5",
        "UPDATE audit_entry SET seq = 5 WHERE seq = 6",
        "UPDATE audit_entry SET seq = 6 WHERE seq = -5",
    )
    report = verify(ledger_platform)
    assert report.problem is not None
    assert report.problem.seq == 5
    assert report.problem.kind in ("broken_link", "edited")


def test_forged_checkpoint_is_caught(ledger_platform: Platform) -> None:
    fill(ledger_platform, 30)
    from rongshu.core.audit.ledger import checkpoint_message

    forger = SM2PrivateKey.generate()
    with ledger_platform.db.engine.connect() as conn:
        digest = conn.execute(text("SELECT hash FROM audit_entry WHERE seq = 20")).scalar_one()
    forged = forger.sign(checkpoint_message(20, digest)).hex()
    tamper(
        ledger_platform,
        f"UPDATE audit_checkpoint SET signature = '{forged}' WHERE seq = 20",  # noqa: S608
    )
    report = verify(ledger_platform)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (20, "forged_checkpoint")


def test_triggers_refuse_edits(ledger_platform: Platform) -> None:
    fill(ledger_platform, 3)
    from sqlalchemy.exc import DatabaseError

    with pytest.raises(DatabaseError, match="append-only"):
        with ledger_platform.db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_entry WHERE seq = 1"))


def test_group_commit_from_many_threads_keeps_one_chain(ledger_platform: Platform) -> None:
    seqs: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        got = [
            ledger_platform.ledger.record(AuditRecord(actor=f"t{n}", action="call"))
            for _ in range(50)
        ]
        with lock:
            seqs.extend(got)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(seqs) == list(range(1, 401))
    assert verify(ledger_platform).ok


def test_two_processes_share_one_chain(tmp_path: Path) -> None:
    """Two ledgers (as two API workers would have) append to one database without a fork."""
    first = open_platform(tmp_path / "data", audit_checkpoint_every=7)
    second = open_platform(tmp_path / "data", audit_checkpoint_every=7)
    try:
        futures = []
        for i in range(100):
            ledger = first.ledger if i % 2 else second.ledger
            futures.append(ledger.append(AuditRecord(actor="w", action="call", row_count=i)))
        assert sorted(f.result(30) for f in futures) == list(range(1, 101))
        assert verify(first).ok
    finally:
        first.close()
        second.close()


@pytest.mark.postgres
def test_chain_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    platform = open_platform(tmp_path / "data", postgres_url, audit_checkpoint_every=10)
    try:
        fill(platform, 40)
        assert verify(platform).ok
        tamper_pg = "UPDATE audit_entry SET outcome = 'ok' WHERE seq = 33"
        with platform.db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER audit_entry_append_only ON audit_entry"))
            conn.execute(text(tamper_pg.replace("'ok'", "'changed'")))
        report = verify(platform)
        assert report.problem is not None
        assert (report.problem.seq, report.problem.kind) == (33, "edited")
    finally:
        platform.close()


@pytest.mark.parametrize(
    ("statement", "seq", "kind"),
    [
        (None, None, None),
        ("UPDATE audit_entry SET purpose = 'x' WHERE seq = 31", 31, "edited"),
        ("DELETE FROM audit_entry WHERE seq = 30", 30, "missing"),
        ("DELETE FROM audit_entry WHERE seq BETWEEN 28 AND 40", 28, "missing"),
        ("DELETE FROM audit_entry WHERE seq > 55", 56, "missing"),
    ],
)
def test_parallel_verification_matches_one_walk(
    ledger_platform: Platform, statement: str | None, seq: int | None, kind: str | None
) -> None:
    """Ranges verified in separate processes are stitched into the same verdict."""
    fill(ledger_platform, 61)
    if statement:
        tamper(ledger_platform, statement)
    key = ledger_platform.signing_key.public_key()
    parallel = verify_chain(ledger_platform.db, key, workers=3, parallel_threshold=1)
    single = verify_chain(ledger_platform.db, key, workers=1)
    assert parallel.problem == single.problem
    assert parallel.entries == single.entries
    if seq is None:
        assert parallel.ok and parallel.entries == 61
    else:
        assert parallel.problem is not None
        assert (parallel.problem.seq, parallel.problem.kind) == (seq, kind)


def test_a_batch_the_database_is_too_busy_for_is_tried_again_not_lost(
    ledger_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long transaction elsewhere can hold SQLite's write lock past the busy timeout: the
    writer waits and tries again instead of dropping the batch."""
    ledger = ledger_platform.ledger
    monkeypatch.setattr(ledger_module, "COMMIT_RETRY_DELAYS", (0.01, 0.01, 0.01))
    real_commit = ledger._commit
    refusals = []

    def busy_twice(batch):  # type: ignore[no-untyped-def]
        if len(refusals) < 2:
            refusals.append(len(batch))
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real_commit(batch)

    monkeypatch.setattr(ledger, "_commit", busy_twice)
    seq = ledger.record(AuditRecord(actor="importer", action="catalog.import"))
    assert (seq, len(refusals)) == (1, 2)
    assert verify(ledger_platform).ok
