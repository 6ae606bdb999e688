"""Sources and load records: attach a source to a resource, keep its credentials encrypted,
record every load, and add up the volume aggregated per department and day.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import FieldSpec
from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.crypto import LocalCryptoProvider, hmac_sm3
from rongshu.core.db import newest_page, utcnow
from rongshu.core.errors import Conflict, NotFound, ValidationFailed
from rongshu.core.identity.schemas import Actor
from rongshu.core.jobs.registry import SCHEDULE_TIMEZONE, parse_cron
from rongshu.ingest import access
from rongshu.ingest.mapping import FieldMapping, Mapper
from rongshu.ingest.models import IngestLoad, IngestSource
from rongshu.ingest.schemas import (
    DEFAULT_SCHEDULES,
    SECRET_OPTIONS,
    FailingSource,
    LoadMode,
    LoadPublic,
    LoadStatus,
    SourceCreate,
    SourcePublic,
    VolumeRow,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
_crypto = LocalCryptoProvider()


def secret_key(installation_secret: bytes) -> bytes:
    """The SM4 key that encrypts source credentials, derived from the installation secret."""
    return hmac_sm3(installation_secret, b"rongshu:ingest:source-credentials")[:16]


def _bound_to(resource_code: str, name: str) -> bytes:
    # Associated data: a ciphertext copied to another source does not decrypt there.
    return f"ingest_source:{resource_code}:{name}".encode()


def create_source(
    session: Session, *, data: SourceCreate, actor: Actor, ledger: AuditLedger, secret: bytes
) -> SourcePublic:
    """Attach a source to a resource of the steward's own department."""
    resource = catalog.get_resource(session, code=data.resource_code, actor=actor)
    access.require(
        access.stewards(actor, resource.department_code),
        actor,
        ledger,
        action="ingest.source_create",
        object_=f"resource:{data.resource_code}",
        message=f"only data stewards of {resource.department_code} attach its sources",
    )
    _check_mode(data, {f.english_name for f in resource.fields})
    public, hidden = split_options(data.kind, data.options)
    row = IngestSource(
        resource_code=data.resource_code,
        department_code=resource.department_code,
        name=data.name,
        kind=data.kind,
        options=public,
        secret=_encrypt(secret, data.resource_code, data.name, hidden) if hidden else None,
        mapping=data.mapping,
        mode=data.mode.value,
        watermark_column=data.watermark_column,
        key_fields=data.key_fields,
        schedule=data.schedule or DEFAULT_SCHEDULES[resource.update_cycle],
        created_by=actor.name,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{data.resource_code} already has a source named {data.name}") from None
    audit_on_commit(
        session,
        ledger,
        actor.audit("ingest.source_create", f"source:{data.resource_code}/{data.name}"),
    )
    return source_public(row)


def _check_mode(data: SourceCreate, fields: set[str]) -> None:
    problems = []
    if data.mode is LoadMode.INCREMENTAL and not data.watermark_column:
        problems.append(
            {"field": "watermark_column", "reason": "incremental loads need a watermark column"}
        )
    if data.mode is LoadMode.UPSERT and not data.key_fields:
        problems.append(
            {"field": "key_fields", "reason": "upserts need the key fields to merge on"}
        )
    if data.watermark_column and data.watermark_column not in fields:
        problems.append(
            {
                "field": "watermark_column",
                "reason": f"not a field of the resource: {data.watermark_column}",
            }
        )
    unknown = [k for k in data.key_fields if k not in fields]
    if unknown:
        problems.append(
            {"field": "key_fields", "reason": f"not fields of the resource: {', '.join(unknown)}"}
        )
    if problems:
        raise ValidationFailed("the source's load settings are incomplete", details=problems)


def split_options(kind: str, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options as (shown, encrypted): credentials-bearing options of the kind go encrypted."""
    secret_names = SECRET_OPTIONS.get(kind, ())
    shown = {k: v for k, v in options.items() if k not in secret_names}
    hidden = {k: v for k, v in options.items() if k in secret_names}
    return shown, hidden


def _encrypt(secret: bytes, resource_code: str, name: str, values: dict[str, Any]) -> bytes:
    plaintext = json.dumps(values, ensure_ascii=False).encode()
    return _crypto.sm4_gcm_encrypt(
        secret_key(secret), plaintext, associated_data=_bound_to(resource_code, name)
    )


def connector_options(row: IngestSource, *, secret: bytes) -> dict[str, Any]:
    """Every option of a source, credentials decrypted (for the load runner only)."""
    options = dict(row.options)
    if row.secret:
        plaintext = _crypto.sm4_gcm_decrypt(
            secret_key(secret), row.secret, associated_data=_bound_to(row.resource_code, row.name)
        )
        options.update(json.loads(plaintext))
    return options


def source_public(row: IngestSource) -> SourcePublic:
    return SourcePublic(
        id=row.id,
        resource_code=row.resource_code,
        department_code=row.department_code,
        name=row.name,
        kind=row.kind,
        options=row.options,
        secret_options=sorted(SECRET_OPTIONS.get(row.kind, ())) if row.secret else [],
        mapping=row.mapping,
        mode=LoadMode(row.mode),
        watermark_column=row.watermark_column,
        last_watermark=row.last_watermark,
        key_fields=row.key_fields,
        schedule=row.schedule,
        enabled=row.enabled,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def get_source(session: Session, *, resource_code: str, name: str) -> IngestSource:
    row = session.scalar(
        select(IngestSource).where(
            IngestSource.resource_code == resource_code, IngestSource.name == name
        )
    )
    if row is None:
        raise NotFound(f"{resource_code} has no source named {name}")
    return row


def list_sources(session: Session, *, department: str | None = None) -> list[SourcePublic]:
    query = select(IngestSource).order_by(IngestSource.resource_code, IngestSource.name)
    if department:
        query = query.where(IngestSource.department_code == department)
    return [source_public(row) for row in session.scalars(query)]


# -- load records --------------------------------------------------------------------------


def start_load(
    session: Session,
    *,
    source: IngestSource,
    triggered_by: str,
    attempt: int = 1,
    stale_after: timedelta = timedelta(hours=6),
) -> IngestLoad:
    """Record that a load began (committed by the caller before the work starts).

    Earlier loads of the source still marked running whose process is gone are marked
    interrupted first (see ``interrupt_dead_loads``).
    """
    interrupt_dead_loads(session, source_id=source.id, stale_after=stale_after)
    load = IngestLoad(
        source_id=source.id,
        resource_code=source.resource_code,
        department_code=source.department_code,
        status=LoadStatus.RUNNING.value,
        triggered_by=triggered_by,
        host=socket.gethostname(),
        pid=os.getpid(),
        attempt=attempt,
    )
    session.add(load)
    session.flush()
    return load


def interrupt_dead_loads(session: Session, *, source_id: int, stale_after: timedelta) -> int:
    """Mark interrupted the source's loads left running by a process that died.

    A load is dead when it ran on this host and its process no longer exists (or is another
    program that reused the id since: then it started after the load did), or when it has run
    longer than ``stale_after`` wherever it ran. The lake never saw a partial version of it.
    """
    host, now = socket.gethostname(), utcnow()
    running = session.scalars(
        select(IngestLoad).where(
            IngestLoad.source_id == source_id, IngestLoad.status == LoadStatus.RUNNING.value
        )
    )
    interrupted = 0
    for load in running:
        gone = load.host == host and not _process_alive(load.pid, load.started_at)
        if gone or now - load.started_at > stale_after:
            load.status = LoadStatus.INTERRUPTED.value
            load.finished_at = now
            load.error = (
                "the loading process ended before the load finished; "
                "the lake kept the previous version"
            )
            interrupted += 1
    session.flush()
    return interrupted


def _process_alive(pid: int | None, since: datetime) -> bool:
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or another user's: not a load of ours
        return False
    started = _process_started(pid)
    # A recycled id belongs to a process younger than the load (the boot time is in whole seconds).
    return started is None or started <= since + timedelta(seconds=2)


def _process_started(pid: int) -> datetime | None:
    """When process ``pid`` started (Linux ``/proc``); ``None`` where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = int(stat.rpartition(")")[2].split()[19])  # field 22, starttime
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)


def finish_load(
    session: Session,
    *,
    load_id: int,
    status: LoadStatus,
    rows_read: int = 0,
    rows_written: int = 0,
    rows_rejected: int = 0,
    cells_repaired: int = 0,
    bytes_read: int = 0,
    fingerprint: str = "",
    version: int | None = None,
    error: str = "",
) -> LoadPublic:
    load = session.get(IngestLoad, load_id)
    if load is None:
        raise NotFound(f"no load {load_id}")
    load.status = status.value
    load.finished_at = utcnow()
    load.rows_read, load.rows_written, load.rows_rejected = rows_read, rows_written, rows_rejected
    load.cells_repaired = cells_repaired
    load.bytes_read, load.fingerprint, load.version, load.error = (
        bytes_read,
        fingerprint,
        version,
        error[:4000],
    )
    session.flush()
    return load_public(load)


def load_public(load: IngestLoad) -> LoadPublic:
    seconds = (load.finished_at - load.started_at).total_seconds() if load.finished_at else None
    return LoadPublic(
        id=load.id,
        source_id=load.source_id,
        resource_code=load.resource_code,
        department_code=load.department_code,
        status=LoadStatus(load.status),
        started_at=load.started_at,
        finished_at=load.finished_at,
        seconds=seconds,
        rows_read=load.rows_read,
        rows_written=load.rows_written,
        rows_rejected=load.rows_rejected,
        cells_repaired=load.cells_repaired,
        bytes_read=load.bytes_read,
        fingerprint=load.fingerprint,
        version=load.version,
        error=load.error,
        triggered_by=load.triggered_by,
        attempt=load.attempt,
    )


def volumes(session: Session, *, days: int = 30, today: date | None = None) -> list[VolumeRow]:
    """Rows aggregated per department per Beijing-time day over the last ``days`` days."""
    today = today or datetime.now(SHANGHAI).date()
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=SHANGHAI).astimezone(UTC)
    loads = session.scalars(
        select(IngestLoad).where(
            IngestLoad.started_at >= since, IngestLoad.status == LoadStatus.SUCCEEDED.value
        )
    )
    totals: dict[tuple[date, str], VolumeRow] = {}
    for load in loads:
        day = load.started_at.astimezone(SHANGHAI).date()
        row = totals.setdefault(
            (day, load.department_code),
            VolumeRow(
                day=day,
                department_code=load.department_code,
                loads=0,
                rows_written=0,
                rows_rejected=0,
                bytes_read=0,
            ),
        )
        row.loads += 1
        row.rows_written += load.rows_written
        row.rows_rejected += load.rows_rejected
        row.bytes_read += load.bytes_read
    return sorted(totals.values(), key=lambda r: (r.day, r.department_code))


def recent_loads(session: Session, *, limit: int = 20) -> list[LoadPublic]:
    """The latest loads, newest first."""
    loads = session.scalars(select(IngestLoad).order_by(IngestLoad.id.desc()).limit(limit))
    return [load_public(load) for load in loads]


# -- schedules and alerts ------------------------------------------------------------------


def due_sources(session: Session, *, moment: datetime) -> list[IngestSource]:
    """Enabled sources whose schedule fires in the minute of ``moment`` (Beijing time)."""
    local = moment.astimezone(SCHEDULE_TIMEZONE).replace(tzinfo=None, second=0, microsecond=0)
    sources = session.scalars(
        select(IngestSource)
        .where(IngestSource.enabled.is_(True), IngestSource.schedule.is_not(None))
        .order_by(IngestSource.id)
    )
    return [source for source in sources if parse_cron(str(source.schedule))(local)]


def failing_sources(session: Session, *, department: str | None = None) -> list[FailingSource]:
    """Sources whose latest finished load failed or was interrupted, newest failure first."""
    latest = (
        select(func.max(IngestLoad.id))
        .where(IngestLoad.status != LoadStatus.RUNNING.value)
        .group_by(IngestLoad.source_id)
    )
    query = (
        select(IngestLoad, IngestSource)
        .join(IngestSource, IngestSource.id == IngestLoad.source_id)
        .where(
            IngestLoad.id.in_(latest),
            IngestLoad.status.in_([LoadStatus.FAILED.value, LoadStatus.INTERRUPTED.value]),
        )
        .order_by(IngestLoad.id.desc())
    )
    if department:
        query = query.where(IngestSource.department_code == department)
    return [
        FailingSource(source=source_public(source), load=load_public(load))
        for load, source in session.execute(query)
    ]


# -- the console: mapping a source, reading load records -------------------------------------


def save_mapping(
    session: Session,
    *,
    resource_code: str,
    name: str,
    mapping: FieldMapping,
    fields: Sequence[FieldSpec],
    source_columns: Sequence[str] | None = None,
    actor: Actor,
    ledger: AuditLedger,
) -> SourcePublic:
    """Save a source's field mapping (its department's stewards), checked against the fields
    and, when given, the source's columns; the next load uses it."""
    row = get_source(session, resource_code=resource_code, name=name)
    target = f"source:{resource_code}/{name}"
    access.require(
        access.stewards(actor, row.department_code),
        actor,
        ledger,
        action="ingest.mapping_save",
        object_=target,
        message=f"only data stewards of {row.department_code} map its sources",
    )
    Mapper(mapping, fields, source_columns=source_columns)  # ValidationFailed lists each problem
    row.mapping = mapping.model_dump(mode="json")
    row.updated_at = utcnow()
    session.flush()
    audit_on_commit(session, ledger, actor.audit("ingest.mapping_save", target))
    return source_public(row)


def list_loads(
    session: Session,
    *,
    department: str | None = None,
    resource_code: str | None = None,
    source_id: int | None = None,
    status: LoadStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[LoadPublic], int]:
    """Load records matching the filters, newest first, and how many match in all."""
    conditions = []
    if department:
        conditions.append(IngestLoad.department_code == department)
    if resource_code:
        conditions.append(IngestLoad.resource_code == resource_code)
    if source_id is not None:
        conditions.append(IngestLoad.source_id == source_id)
    if status is not None:
        conditions.append(IngestLoad.status == status.value)
    loads, count = newest_page(session, IngestLoad, conditions, offset=offset, limit=limit)
    return [load_public(load) for load in loads], count


def get_load(session: Session, *, load_id: int) -> LoadPublic:
    load = session.get(IngestLoad, load_id)
    if load is None:
        raise NotFound(f"no load {load_id}")
    return load_public(load)


def latest_loads(session: Session, *, source_ids: Sequence[int]) -> dict[int, LoadPublic]:
    """The latest load of each of the sources that has one, by source id."""
    if not source_ids:
        return {}
    latest = (
        select(func.max(IngestLoad.id))
        .where(IngestLoad.source_id.in_(source_ids))
        .group_by(IngestLoad.source_id)
    )
    loads = session.scalars(select(IngestLoad).where(IngestLoad.id.in_(latest)))
    return {load.source_id: load_public(load) for load in loads}
