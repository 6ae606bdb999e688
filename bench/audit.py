"""Audit ledger throughput: group-commit appends/s and verified entries/s.

Usage::

    python bench/audit.py                      # SQLite (embedded default)
    python bench/audit.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

For each engine it reports, in one run on the same machine:

* ``baseline``: one INSERT + COMMIT per entry (what a naive ledger does), 2,000 entries;
* ``group commit``: ``--entries`` appends from ``--threads`` caller threads through
  ``AuditLedger`` (SM3 chaining, SM2 checkpoints every 1,000 included), timed until all are durable;
* ``verify``: ``verify_chain`` over everything written, entries/s, as ``rongshu audit verify``
  runs it (one process per core on chains over 100,000 entries).

The ratio group-commit / baseline is the figure to compare across machines.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rongshu.core.audit.ledger import AuditRecord
from rongshu.core.audit.verify import verify_chain
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings


def baseline(platform: Platform, count: int) -> float:
    """Entries/s when every entry is its own transaction (no chaining cost at all)."""
    started = time.perf_counter()
    with platform.db.engine.connect() as conn:
        for i in range(count):
            conn.execute(
                text("INSERT INTO bench_naive (n, actor, action) VALUES (:n, 'u', 'query')"),
                {"n": i},
            )
            conn.commit()
    return count / (time.perf_counter() - started)


def group_commit(platform: Platform, count: int, threads: int) -> float:
    per_thread = count // threads
    record = AuditRecord(
        actor="app:17",
        department="RS",
        app="社保核验",
        action="exchange.verify",
        object="resource:GA-PERSON",
        purpose="社会保险待遇资格认证 (《社会保险法》)",
        row_count=1,
        request_id=uuid.uuid4().hex,
    )
    barrier = threading.Barrier(threads + 1)

    def caller() -> None:
        barrier.wait()
        futures = [platform.ledger.append(record) for _ in range(per_thread)]
        for future in futures:
            future.result(120)

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.perf_counter() - started)


def run(label: str, settings: Settings, entries: int, threads: int) -> None:
    platform = Platform.open(settings, upgrade=True)
    try:
        with platform.db.engine.begin() as conn:
            conn.execute(
                text("CREATE TABLE bench_naive (n BIGINT, actor VARCHAR(64), action VARCHAR(64))")
            )
        naive = baseline(platform, 2_000)
        grouped = group_commit(platform, entries, threads)
    finally:
        platform.close()
    # Verify as `rongshu audit verify` does: a fresh process state, no writer thread running.
    platform = Platform.open(settings)
    try:
        report = verify_chain(platform.db, platform.signing_key.public_key())
        if report.problem is not None:
            raise SystemExit(f"chain broken during the benchmark: {report.problem}")
        verified = report.entries / report.seconds
        print(
            f"{label:<11} baseline {naive:>9,.0f}/s | group commit {grouped:>9,.0f} appends/s "
            f"({grouped / naive:.1f}x baseline) | verify {verified:>9,.0f} entries/s "
            f"({report.entries:,} entries, {report.checkpoints:,} checkpoints)"
        )
    finally:
        platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres", help="PostgreSQL URL; a scratch database is made there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", Settings(data_dir=Path(tmp) / "sqlite"), args.entries, args.threads)
        if args.postgres:
            name = f"rongshu_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            try:
                settings = Settings(data_dir=Path(tmp) / "pg", database_url=url)
                run("postgresql", settings, args.entries, args.threads)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
