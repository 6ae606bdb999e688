"""Watermarked exports of a resource, and tracing a leaked file back to its recipient.

An export reads the resource through a masking profile (``service.read_masked``), marks the
rows with the recipient's fingerprint (``watermark.embed``) and writes CSV, Excel or Parquet.
The export is recorded with everything needed to trace a leak: the lake version, the columns
and the masks used, the rows identifying keys, the marked columns and the marking rate, and the
watermark key's version. The recipient's key is never stored: it is derived from the platform's
watermark key and the export's number (HMAC-SM3), so only the platform can recompute it.

``trace_file`` reads a leaked CSV or Excel file, finds the exports it could come from (same
columns), rebuilds each export's original from the lake with the recorded masks, and asks
``watermark.trace`` which recipient's marks it carries. The lake version must still be kept.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter
from pydantic import BaseModel
from sqlalchemy import select

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import Grade, LabelledEnum
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.crypto import hmac_sm3
from rongshu.core.errors import NotFound, ValidationFailed
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import require
from rongshu.core.keys import KeyPurpose
from rongshu.core.platform import Platform
from rongshu.lake.tables import Lake
from rongshu.security import service, watermark
from rongshu.security.entities import EntityType
from rongshu.security.masking import Mask, MaskOperator
from rongshu.security.models import SecurityExport
from rongshu.security.schemas import MaskingProfile


class ExportFormat(LabelledEnum):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel"
    PARQUET = "parquet", "Parquet"


class ExportPublic(BaseModel):
    id: int
    resource_code: str
    version: int
    recipient: str
    profile: MaskingProfile
    rows: int
    cells_changed: int
    fraction_cells_changed: float
    marked_columns: list[str]
    file_format: ExportFormat
    path: str


class TraceOutcome(BaseModel):
    """Who a leaked file most likely came from, and how sure that is."""

    recipient: str | None
    export_id: int | None
    resource_code: str | None
    confidence: float
    verdict: str
    rows_leaked: int
    rows_aligned: int
    marks_compared: int
    exports_considered: int


def _recipient_key(platform: Platform, export_id: int, recipient: str, version: int) -> bytes:
    master = service.key_provider(platform).get(KeyPurpose.WATERMARK, version)
    return hmac_sm3(master, f"rongshu-watermark:{export_id}:{recipient}".encode())


def _masks_json(masks: Sequence[service.ColumnMask]) -> dict[str, Any]:
    return {
        m.column: {
            "operator": m.mask.operator.value,
            "params": dict(m.mask.params),
            "entity": m.entity.value if m.entity else None,
            "grade": m.grade.value,
        }
        for m in masks
    }


def _masks_of(record: SecurityExport) -> list[service.ColumnMask]:
    return [
        service.ColumnMask(
            column,
            Mask(MaskOperator(item["operator"]), item["params"]),
            EntityType(item["entity"]) if item["entity"] else None,
            Grade(item["grade"]),
        )
        for column, item in record.masks.items()
    ]


def export_resource(
    platform: Platform,
    code: str,
    out: Path,
    *,
    recipient: str,
    actor: Actor,
    profile: MaskingProfile = MaskingProfile.STANDARD,
    columns: Sequence[str] | None = None,
    file_format: ExportFormat = ExportFormat.CSV,
    purpose: str = "",
) -> ExportPublic:
    """Export ``code`` (masked by ``profile``, watermarked for ``recipient``) to ``out``.

    The file appears whole or not at all, and the export is recorded only if it was written.
    """
    require(actor, Permission.OPERATE_PLATFORM, platform.ledger, object_=f"resource:{code}")
    if not recipient.strip():
        raise ValidationFailed(
            "an export needs a recipient", details=[{"field": "recipient", "reason": "required"}]
        )
    table_ref = Lake.from_settings(platform.settings).table(code)
    version = table_ref.version()
    if version is None:
        raise NotFound(f"resource {code} has no data in the lake yet")
    chosen = list(columns) if columns is not None else table_ref.schema(version).names
    with platform.db.session_scope() as session:
        keys = [f.english_name or f.name for f in catalog.current_fields(session, code) if f.is_key]
        masks = service.column_masks(session, code, profile, chosen)
    key_columns = [k for k in keys if k in chosen]
    if not key_columns:
        raise ValidationFailed(
            "a watermarked export must include the resource's key fields",
            details=[{"field": "columns", "reason": "key_missing", "keys": keys}],
        )
    original = pa.Table.from_batches(
        list(service.read_masked(platform, code, masks, version=version)),
    )
    key_version, _ = service.key_provider(platform).current(KeyPurpose.WATERMARK)
    with platform.db.session_scope() as session:
        record = SecurityExport(
            resource_code=code,
            version=version,
            recipient=recipient.strip(),
            profile=profile.value,
            columns=chosen,
            masks=_masks_json(masks),
            key_columns=key_columns,
            markable=[],
            rate=0.0,
            max_relative_change=watermark.DEFAULT_MAX_RELATIVE_CHANGE,
            key_version=key_version,
            rows=original.num_rows,
            cells_changed=0,
            file_format=file_format.value,
            purpose=purpose,
            created_by=actor.name,
        )
        session.add(record)
        session.flush()
        key = _recipient_key(platform, record.id, record.recipient, key_version)
        marked, report = watermark.embed(original, key, key_columns=key_columns)
        record.markable, record.rate = list(report.markable), report.rate
        record.cells_changed = report.cells_marked
        _write(marked, out, file_format)
        audit_on_commit(
            session,
            platform.ledger,
            actor.audit(
                "security.export",
                f"resource:{code}",
                purpose=f"{recipient}: {purpose}".strip(": "),
                row_count=original.num_rows,
            ),
        )
        session.flush()
        return ExportPublic(
            id=record.id,
            resource_code=code,
            version=version,
            recipient=record.recipient,
            profile=profile,
            rows=report.rows,
            cells_changed=report.cells_marked,
            fraction_cells_changed=report.fraction_cells_changed,
            marked_columns=list(report.markable),
            file_format=file_format,
            path=str(out),
        )


def _write(table: pa.Table, out: Path, file_format: ExportFormat) -> None:
    """Write to a temporary file next to ``out`` and move it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    temp = Path(temp_name)
    try:
        if file_format is ExportFormat.PARQUET:
            pq.write_table(table, temp)
        elif file_format is ExportFormat.XLSX:
            _write_xlsx(table, temp)
        else:
            with temp.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(table.column_names)
                for batch in table.to_batches(65536):
                    writer.writerows(
                        zip(
                            *(batch.column(i).to_pylist() for i in range(batch.num_columns)),
                            strict=True,
                        )
                    )
        temp.replace(out)
    finally:
        temp.unlink(missing_ok=True)


def _write_xlsx(table: pa.Table, path: Path) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet("data")
        sheet.write_row(0, 0, table.column_names)
        row = 1
        for batch in table.to_batches(65536):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for values in zip(*columns, strict=True):
                sheet.write_row(row, 0, ["" if v is None else v for v in values])
                row += 1
    finally:
        workbook.close()


def trace_file(platform: Platform, path: Path, *, resource: str | None = None) -> TraceOutcome:
    """The recipient a leaked ``path`` most likely came from, among the recorded exports."""
    leaked = watermark.read_table_file(path)
    columns = set(leaked.column_names)
    with platform.db.session_scope() as session:
        query = select(SecurityExport).order_by(SecurityExport.id)
        if resource is not None:
            query = query.where(SecurityExport.resource_code == resource)
        records = [r for r in session.scalars(query) if columns <= set(r.columns)]
        session.expunge_all()
    if not records:
        raise NotFound(
            "no recorded export has these columns: "
            + ", ".join(sorted(columns))
            + (f" (resource {resource})" if resource else "")
        )
    groups: dict[tuple[Any, ...], list[SecurityExport]] = defaultdict(list)
    for record in records:
        signature = (
            record.resource_code,
            record.version,
            tuple(record.columns),
            repr(sorted(record.masks.items())),
            tuple(record.key_columns),
            tuple(record.markable),
            record.rate,
            record.max_relative_change,
        )
        groups[signature].append(record)
    outcomes: list[TraceOutcome] = []
    for members in groups.values():
        first = members[0]
        original = pa.Table.from_batches(
            list(
                service.read_masked(
                    platform, first.resource_code, _masks_of(first), version=first.version
                )
            )
        )
        by_name = {_label(r): r for r in members}
        candidates = {
            name: _recipient_key(platform, r.id, r.recipient, r.key_version)
            for name, r in by_name.items()
        }
        result = watermark.trace(
            leaked,
            original,
            candidates,
            key_columns=first.key_columns,
            markable=first.markable,
            rate=first.rate,
            max_relative_change=first.max_relative_change,
        )
        found = by_name.get(result.recipient) if result.recipient else None
        outcomes.append(
            TraceOutcome(
                recipient=found.recipient if found else None,
                export_id=found.id if found else None,
                resource_code=first.resource_code,
                confidence=result.confidence,
                verdict=result.verdict,
                rows_leaked=result.rows_leaked,
                rows_aligned=result.rows_aligned,
                marks_compared=result.marks_compared,
                exports_considered=len(records),
            )
        )
    return max(outcomes, key=lambda o: o.confidence)


def _label(record: SecurityExport) -> str:
    return f"{record.recipient} (export {record.id})"
