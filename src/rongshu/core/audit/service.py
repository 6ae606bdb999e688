"""Reading the audit trail (auditor only), exporting it, and recording changes on commit."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, event, func, select
from sqlalchemy.orm import Session

from rongshu.core.audit.ledger import AuditLedger, AuditRecord
from rongshu.core.audit.models import AuditEntry
from rongshu.core.audit.schemas import (
    AuditEntryList,
    AuditEntryPublic,
    AuditFilter,
    ChainProblemPublic,
    VerifyReportPublic,
)
from rongshu.core.audit.verify import VerifyReport, verify_chain
from rongshu.core.crypto import SM2PublicKey
from rongshu.core.db import Database
from rongshu.core.identity.roles import Permission

if TYPE_CHECKING:
    from rongshu.core.identity.schemas import Actor

SHANGHAI = ZoneInfo("Asia/Shanghai")
_PENDING_KEY = "rongshu.audit.pending"
EXPORT_COLUMNS = (
    "seq",
    "time",
    "actor",
    "department",
    "app",
    "action",
    "object",
    "purpose",
    "outcome",
    "row_count",
    "request_id",
    "prev_hash",
    "hash",
)


def audit_on_commit(session: Session, ledger: AuditLedger, record: AuditRecord) -> None:
    """Append ``record`` to the ledger once ``session`` commits; drop it on rollback."""
    pending: list[AuditRecord] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []

        def flush_pending(committed: Session) -> None:
            for item in committed.info.pop(_PENDING_KEY, []):
                ledger.append(item)

        def discard_pending(rolled_back: Session, _transaction: object) -> None:
            rolled_back.info.pop(_PENDING_KEY, None)

        event.listen(session, "after_commit", flush_pending, once=True)
        event.listen(session, "after_soft_rollback", discard_pending, once=True)
    pending.append(record)


def _require_auditor(actor: Actor, ledger: AuditLedger) -> None:
    from rongshu.core.identity.service import require

    require(actor, Permission.READ_AUDIT, ledger, object_="audit_trail")


def _filtered(query: Select[Any], f: AuditFilter) -> Select[Any]:
    if f.actor:
        query = query.where(AuditEntry.actor == f.actor)
    if f.department:
        query = query.where(AuditEntry.department == f.department)
    if f.action:
        query = query.where(AuditEntry.action == f.action)
    if f.outcome:
        query = query.where(AuditEntry.outcome == f.outcome)
    if f.since:
        query = query.where(AuditEntry.ts >= to_us(f.since))
    if f.until:
        query = query.where(AuditEntry.ts < to_us(f.until))
    return query


def search_entries(
    session: Session,
    *,
    filters: AuditFilter,
    limit: int,
    offset: int,
    actor: Actor,
    ledger: AuditLedger,
) -> AuditEntryList:
    """Entries matching ``filters``, newest first. Reading the trail is itself audited."""
    _require_auditor(actor, ledger)
    query = _filtered(select(AuditEntry), filters)
    count = session.scalar(_filtered(select(func.count(AuditEntry.seq)), filters)) or 0
    rows = session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit).offset(offset))
    data = [entry_public(row) for row in rows]
    ledger.append(actor.audit("audit.read", "audit_trail", row_count=len(data)))
    return AuditEntryList(data=data, count=count)


def export_entries(
    session: Session, *, filters: AuditFilter, actor: Actor, ledger: AuditLedger
) -> Iterator[str]:
    """CSV lines (UTF-8 with BOM, so Excel opens it) of every matching entry, oldest first."""
    _require_auditor(actor, ledger)
    ledger.append(actor.audit("audit.export", "audit_trail", purpose=filters.describe()))
    query = _filtered(select(AuditEntry), filters).order_by(AuditEntry.seq)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    for partition in (
        session.execute(query.execution_options(yield_per=5000)).scalars().partitions()
    ):
        buffer.seek(0)
        buffer.truncate()
        for row in partition:
            entry = entry_public(row)
            writer.writerow(
                [
                    entry.seq,
                    entry.time.astimezone(SHANGHAI).isoformat(),
                    entry.actor,
                    entry.department,
                    entry.app,
                    entry.action,
                    entry.object,
                    entry.purpose,
                    entry.outcome,
                    entry.row_count,
                    entry.request_id,
                    entry.prev_hash,
                    entry.hash,
                ]
            )
        yield buffer.getvalue()


def entry_public(row: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic(
        seq=row.seq,
        time=from_us(row.ts),
        actor=row.actor,
        department=row.department,
        app=row.app,
        action=row.action,
        object=row.object,
        purpose=row.purpose,
        outcome=row.outcome,
        row_count=row.row_count,
        request_id=row.request_id,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def entries_today(session: Session) -> int:
    """Entries written since midnight, Beijing time (the console's "today")."""
    midnight = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        session.scalar(select(func.count(AuditEntry.seq)).where(AuditEntry.ts >= to_us(midnight)))
        or 0
    )


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def from_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def entries_per_hour_today(session: Session) -> list[int]:
    """Audit entries in each hour of today, Beijing time (24 numbers)."""
    midnight = to_us(datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0))
    hour = (AuditEntry.ts - midnight) // 3_600_000_000
    counts = [0] * 24
    rows = session.execute(
        select(hour, func.count(AuditEntry.seq)).where(AuditEntry.ts >= midnight).group_by(hour)
    )
    for index, count in rows:
        if 0 <= int(index) < 24:
            counts[int(index)] = int(count)
    return counts


def verify(
    db: Database, *, public_key: SM2PublicKey, actor: Actor, ledger: AuditLedger
) -> VerifyReportPublic:
    """Walk the chain (auditor's work) and audit that it was done and what it found."""
    _require_auditor(actor, ledger)
    report = verify_chain(db, public_key)
    ledger.append(
        actor.audit(
            "audit.verify",
            "audit_trail",
            outcome="ok" if report.ok else "broken",
            row_count=report.entries,
        )
    )
    return report_public(report)


def report_public(report: VerifyReport) -> VerifyReportPublic:
    problem = report.problem
    return VerifyReportPublic(
        ok=report.ok,
        entries=report.entries,
        checkpoints=report.checkpoints,
        last_seq=report.last_seq,
        unsigned_tail=report.unsigned_tail,
        key_fingerprint=report.key_fingerprint,
        seconds=round(report.seconds, 3),
        problem=ChainProblemPublic(seq=problem.seq, kind=problem.kind, message=problem.message)
        if problem
        else None,
    )
