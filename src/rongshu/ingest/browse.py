"""What the ingest pages and API show: sources and loads as the caller may see them, a
source's first rows with the suggested mapping, a resource's lake versions, a version's rows and
a load's rejected rows.

Who may see what is ``rongshu.ingest.access``; every read of rows is written to the audit ledger
with how many rows were read. Rows are read a page at a time through the lake's engine
(``LIMIT``/``OFFSET``), so a page of a table of any size costs about the same.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import FieldSpec
from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.errors import NotFound
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.ingest import access, service
from rongshu.ingest.connectors import SourceSpec, open_connector
from rongshu.ingest.mapping import FieldMapping
from rongshu.ingest.models import IngestSource
from rongshu.ingest.runner import rejected_table_name
from rongshu.ingest.schemas import LoadPublic, LoadStatus, SourcePublic
from rongshu.lake.tables import Lake, LakeTable

#: Rows a preview shows unless asked otherwise, and the most a page of rows may hold.
PREVIEW_ROWS = 20
MAX_PAGE_ROWS = 500
#: The engine a page of rows is read with: small, since a page is small.


class TargetField(BaseModel):
    """A catalog field a source column can be mapped to."""

    english_name: str
    name: str
    data_type: str
    required: bool


class SourcePreview(BaseModel):
    """A source's columns and first rows as read (text), and how they map to the fields."""

    columns: list[str]
    rows: list[list[str | None]]
    fields: list[TargetField]
    suggested: FieldMapping = Field(description="The mapping suggested from the column names.")
    mapping: FieldMapping = Field(description="The saved mapping, else the suggested one.")
    saved: bool = Field(description="Whether the source has a saved mapping.")


class VersionPublic(BaseModel):
    """One version of a resource's lake table and the load that made it."""

    version: int
    committed_at: datetime
    operation: str
    rows_added: int | None
    rows_removed: int | None
    load_id: int | None
    source: str | None


class RowPage(BaseModel):
    """A page of one version's rows (time travel: any version still kept)."""

    resource_code: str
    version: int
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


class RejectedRow(BaseModel):
    """One rejected cell: the source row it was in, the field, the value and why."""

    row_number: int
    column: str
    value: str | None
    reason: str
    raw: dict[str, Any] | str = Field(description="The whole source row as read.")


class RejectedPage(BaseModel):
    load_id: int
    resource_code: str
    rows: list[RejectedRow]
    total: int
    offset: int
    limit: int


class DepartmentVolume(BaseModel):
    """One department's aggregated rows: today and over the window."""

    department_code: str
    rows_today: int
    rows_window: int
    loads_window: int


class VolumeSummary(BaseModel):
    """政务数据汇聚量: rows aggregated today and over the last ``days`` days, per department."""

    today: date
    days: int
    rows_today: int
    rows_window: int
    departments: list[DepartmentVolume] = Field(description="Most rows over the window first.")


def volume_summary(session: Session, *, days: int = 30, today: date | None = None) -> VolumeSummary:
    """The console home's volume figures, from the daily volumes of successful loads."""
    today = today or datetime.now(service.SHANGHAI).date()
    totals: dict[str, DepartmentVolume] = {}
    for row in service.volumes(session, days=days, today=today):
        entry = totals.setdefault(
            row.department_code,
            DepartmentVolume(
                department_code=row.department_code, rows_today=0, rows_window=0, loads_window=0
            ),
        )
        entry.rows_window += row.rows_written
        entry.loads_window += row.loads
        if row.day == today:
            entry.rows_today += row.rows_written
    departments = sorted(totals.values(), key=lambda d: (-d.rows_window, d.department_code))
    return VolumeSummary(
        today=today,
        days=days,
        rows_today=sum(d.rows_today for d in departments),
        rows_window=sum(d.rows_window for d in departments),
        departments=departments,
    )


# -- what the caller may see ---------------------------------------------------------------


def visible_sources(
    session: Session,
    *,
    actor: Actor,
    ledger: AuditLedger,
    department: str | None = None,
    resource_code: str | None = None,
) -> list[SourcePublic]:
    """The sources ``actor`` sees (one department, or every one for platform admins)."""
    scope = _scope(actor, ledger, department, action="ingest.sources_read")
    return [
        source
        for source in service.list_sources(session, department=scope)
        if resource_code is None or source.resource_code == resource_code
    ]


def visible_loads(
    session: Session,
    *,
    actor: Actor,
    ledger: AuditLedger,
    department: str | None = None,
    resource_code: str | None = None,
    source_id: int | None = None,
    status: LoadStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[LoadPublic], int]:
    """Load records ``actor`` sees matching the filters, newest first, and their number."""
    scope = _scope(actor, ledger, department, action="ingest.loads_read")
    return service.list_loads(
        session,
        department=scope,
        resource_code=resource_code,
        source_id=source_id,
        status=status,
        offset=offset,
        limit=limit,
    )


def _scope(actor: Actor, ledger: AuditLedger, department: str | None, *, action: str) -> str | None:
    scope = access.departments_seen(actor, ledger, action=action)
    if scope is not None and department and department != scope:
        access.require(
            False,
            actor,
            ledger,
            action=action,
            object_=f"department:{department}",
            message=f"you see only the sources and loads of {scope}",
        )
    return department or scope


def seen_source(
    session: Session, *, resource_code: str, name: str, actor: Actor, ledger: AuditLedger
) -> IngestSource:
    """A source, when ``actor`` sees its department's sources."""
    row = service.get_source(session, resource_code=resource_code, name=name)
    access.require(
        access.sees(actor, row.department_code),
        actor,
        ledger,
        action="ingest.source_read",
        object_=f"source:{resource_code}/{name}",
        message=f"only stewards and approvers of {row.department_code} see its sources",
    )
    return row


def seen_load(session: Session, *, load_id: int, actor: Actor, ledger: AuditLedger) -> LoadPublic:
    """A load record, when ``actor`` sees its department's loads."""
    load = service.get_load(session, load_id=load_id)
    access.require(
        access.sees(actor, load.department_code),
        actor,
        ledger,
        action="ingest.load_read",
        object_=f"load:{load_id}",
        message=f"only stewards and approvers of {load.department_code} see its loads",
    )
    return load


def resource_department(session: Session, code: str) -> str:
    """The department that owns resource ``code`` (``NotFound`` for an unknown code)."""
    return catalog.get_resource(session, code=code, actor=SYSTEM).department_code


# -- reading rows (each read audited) ---------------------------------------------------------


def preview_source(
    session: Session,
    *,
    resource_code: str,
    name: str,
    actor: Actor,
    ledger: AuditLedger,
    secret: bytes,
    rows: int = PREVIEW_ROWS,
) -> SourcePreview:
    """A source's columns, first rows and mapping, for its department's stewards and approvers."""
    row = service.get_source(session, resource_code=resource_code, name=name)
    target = f"source:{resource_code}/{name}"
    _require_rows(actor, ledger, row.department_code, "ingest.preview", target)
    found = preview(
        kind=row.kind,
        options=service.connector_options(row, secret=secret),
        fields=catalog.current_fields(session, resource_code),
        saved=dict(row.mapping),
        rows=rows,
    )
    ledger.append(actor.audit("ingest.preview", target, row_count=len(found.rows)))
    return found


def read_rejected(
    session: Session,
    *,
    load_id: int,
    actor: Actor,
    ledger: AuditLedger,
    lake: Lake,
    offset: int,
    limit: int,
) -> RejectedPage:
    """A page of the cells a load rejected, for its department's stewards and approvers."""
    load = service.get_load(session, load_id=load_id)
    target = f"load:{load_id}"
    _require_rows(actor, ledger, load.department_code, "ingest.rejected_read", target)
    page = rejected_rows(lake, load.resource_code, load_id=load_id, offset=offset, limit=limit)
    ledger.append(actor.audit("ingest.rejected_read", target, row_count=len(page.rows)))
    return page


def resource_versions(
    session: Session, *, resource_code: str, actor: Actor, ledger: AuditLedger, lake: Lake
) -> list[VersionPublic]:
    """The kept versions of a resource's lake table, for those who see its loads."""
    department = resource_department(session, resource_code)
    access.require(
        access.sees(actor, department),
        actor,
        ledger,
        action="ingest.versions_read",
        object_=f"resource:{resource_code}",
        message=f"only stewards and approvers of {department} see its versions",
    )
    return versions(lake, resource_code)


def read_version(
    session: Session,
    *,
    resource_code: str,
    version: int | None,
    actor: Actor,
    ledger: AuditLedger,
    lake: Lake,
    offset: int,
    limit: int,
) -> RowPage:
    """A page of a version's rows, for the owning department's stewards and approvers."""
    department = resource_department(session, resource_code)
    asked = f"resource:{resource_code}@{'latest' if version is None else version}"
    _require_rows(actor, ledger, department, "ingest.version_read", asked)
    page = version_rows(lake, resource_code, version=version, offset=offset, limit=limit)
    read = f"resource:{resource_code}@{page.version}"
    ledger.append(actor.audit("ingest.version_read", read, row_count=len(page.rows)))
    return page


def _require_rows(
    actor: Actor, ledger: AuditLedger, department: str, action: str, target: str
) -> None:
    access.require(
        access.reads_rows(actor, department),
        actor,
        ledger,
        action=action,
        object_=target,
        message=f"only stewards and approvers of {department} read its rows",
    )


# -- the readers ------------------------------------------------------------------------------


def target_fields(fields: list[FieldSpec]) -> list[TargetField]:
    return [
        TargetField(
            english_name=f.english_name,
            name=f.name,
            data_type=f.data_type.value if f.data_type else "",
            required=f.is_key or "not_null" in f.rules,
        )
        for f in fields
        if f.english_name
    ]


def preview(
    *,
    kind: str,
    options: dict[str, Any],
    fields: list[FieldSpec],
    saved: dict[str, Any],
    rows: int = PREVIEW_ROWS,
) -> SourcePreview:
    """Open the source, read its columns and first ``rows`` rows, and suggest a mapping."""
    connector = open_connector(SourceSpec(kind=kind, options=options))
    columns = connector.columns()
    table = connector.preview(rows)
    suggested = FieldMapping.suggest(columns, fields)
    mapping = FieldMapping.model_validate(saved) if saved else suggested
    return SourcePreview(
        columns=columns,
        rows=[list(row.values()) for row in table.to_pylist()],
        fields=target_fields(fields),
        suggested=suggested,
        mapping=mapping,
        saved=bool(saved),
    )


def versions(lake: Lake, code: str) -> list[VersionPublic]:
    """The versions of ``code``'s lake table still kept, newest first (none before a load)."""
    found = []
    for info in reversed(lake.table(code).versions()):
        load_id = info.metadata.get("load_id")
        found.append(
            VersionPublic(
                version=info.version,
                committed_at=info.committed_at,
                operation=info.operation,
                rows_added=info.rows_added,
                rows_removed=info.rows_removed,
                load_id=int(load_id) if load_id and load_id.isdigit() else None,
                source=info.metadata.get("source"),
            )
        )
    return found


def version_rows(lake: Lake, code: str, *, version: int | None, offset: int, limit: int) -> RowPage:
    """A page of the rows of ``version`` (the latest when None) of ``code``'s lake table."""
    table = lake.table(code)
    if not table.exists():
        raise NotFound(f"{code} has no lake versions yet: no load has succeeded")
    scan = table.scan(version)
    with lake.work_engine() as engine:
        engine.register("version_rows", table, scan.version)
        page = engine.query("SELECT * FROM version_rows LIMIT ? OFFSET ?", [limit, offset])
    return RowPage(
        resource_code=code,
        version=scan.version,
        columns=scan.schema.names,
        rows=[_plain_row(row) for row in page.to_pylist()],
        total=scan.rows,
        offset=offset,
        limit=limit,
    )


def rejected_rows(lake: Lake, code: str, *, load_id: int, offset: int, limit: int) -> RejectedPage:
    """A page of the cells load ``load_id`` rejected, in source row order, with reasons."""
    table = lake.table(rejected_table_name(code))
    rows: list[RejectedRow] = []
    total = 0
    if table.exists():
        rows, total = _rejected(table, load_id, offset, limit)
    return RejectedPage(
        load_id=load_id, resource_code=code, rows=rows, total=total, offset=offset, limit=limit
    )


def _rejected(
    table: LakeTable, load_id: int, offset: int, limit: int
) -> tuple[list[RejectedRow], int]:
    with table.lake.work_engine() as engine:
        engine.register("rejected", table)
        total = engine.query("SELECT count(*) AS n FROM rejected WHERE load_id = ?", [load_id])
        page = engine.query(
            'SELECT row_number, "column", value, reason, raw FROM rejected WHERE load_id = ? '
            "ORDER BY row_number LIMIT ? OFFSET ?",
            [load_id, limit, offset],
        )
    rows = [RejectedRow(**{**row, "raw": _raw(row["raw"])}) for row in page.to_pylist()]
    return rows, int(total.column("n")[0].as_py())


def _raw(text: str) -> dict[str, Any] | str:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row JSON can carry: binary cells as hex."""
    return {k: v.hex() if isinstance(v, bytes) else v for k, v in row.items()}
