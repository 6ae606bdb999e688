"""Watermarked exports of a resource, streamed, and tracing a leaked file back to its recipient.

An export reads the resource through a masking profile (the masks run inside the lake engine's
SQL, with a row filter as a predicate of bound parameters), marks the rows with the recipient's
fingerprint and yields the file's bytes as CSV (UTF-8 with BOM), Parquet or Excel, batch by
batch, never holding the table. The export is recorded with everything needed to trace a leak:
the lake version, the columns and the masks used, the rows' identifying keys, the marked columns
and the marking rate, and the watermark key's version. The recipient's key is never stored: it
is derived from the platform's watermark key and the export's number (HMAC-SM3), so only the
platform can recompute it.

How a stream runs, in constant memory (bar 17 bytes a row for the watermark's survey):
    1. The masked rows go from the engine to a spill file (Arrow IPC, uncompressed: writing and
       reading it back costs ~0.04 s a million rows) while ``watermark.survey`` reads what the
       marks depend on over the whole table: float columns' scales, repeated keys, the rate.
       A float key or many repeated keys take one or two more passes, over the spill.
    2. The export is recorded (``SecurityExport``), so that ``trace`` knows it before any byte
       leaves. A stream that fails before its first byte is forgotten again; once bytes have
       left, the record stays (a partial file is still traceable) with the rows actually sent.
    3. The spill is read again, marked batch by batch and written: CSV by Arrow's writer (one
       header, the BOM once), Parquet by ``ParquetWriter`` into a buffer drained after each
       batch (a row group per batch), Excel by xlsxwriter in ``constant_memory`` mode into a
       scratch file streamed at the end (an xlsx is a zip whose directory comes last). Excel
       holds 1,048,575 data rows; bigger Excel exports are refused before anything is read.

``trace_file`` reads a leaked CSV or Excel file, finds the exports it could come from (same
columns), rebuilds each export's original from the lake with the recorded masks, and asks
``watermark_trace.trace`` which recipient's marks it carries. The lake version must still be kept.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa
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
from rongshu.lake.formats import EXCEL_MAX_ROWS, FileWriter, csv_chunks, parquet_chunks, xlsx_chunks
from rongshu.lake.tables import SCRATCH_DIR, Lake
from rongshu.security import service, watermark, watermark_trace
from rongshu.security.entities import EntityType
from rongshu.security.masking import Mask, MaskOperator
from rongshu.security.models import SecurityExport
from rongshu.security.schemas import MaskingProfile

if TYPE_CHECKING:  # the exchange area builds filters; security only runs their SQL
    from rongshu.exchange.filters import RowFilter

_BATCH_ROWS: Final = 65_536
_READ_ALIAS: Final = "export_source"


class ExportFormat(LabelledEnum):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel"
    PARQUET = "parquet", "Parquet"


WRITERS: Final[dict[ExportFormat, FileWriter]] = {
    ExportFormat.CSV: csv_chunks,
    ExportFormat.PARQUET: parquet_chunks,
    ExportFormat.XLSX: xlsx_chunks,
}


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


class ExportStream:
    """A recorded export whose file is being produced: iterate ``chunks`` for its bytes.

    ``export`` is the record as it stands: before the chunks are used up its ``rows`` are
    those the export will hold and ``cells_changed`` is 0; afterwards both are what was sent.
    """

    def __init__(
        self,
        platform: Platform,
        export: ExportPublic,
        spill: _Spill,
        marker: watermark.Watermarker,
    ) -> None:
        self.export = export
        self._platform = platform
        self._spill = spill
        self._marker = marker
        self.chunks: Generator[bytes, None, None] = self._produce()

    def _produce(self) -> Generator[bytes, None, None]:
        sent = False
        try:
            marked = (self._marker.mark(batch) for batch in self._spill.batches())
            write = WRITERS[self.export.file_format]
            for chunk in write(marked, self._spill.schema, self._spill.directory):
                sent = True
                yield chunk
        except BaseException:
            if not sent:
                _forget(self._platform, self.export.id)
            raise
        finally:
            self._spill.close()
            if sent:
                self._settle()

    def _settle(self) -> None:
        """Record what was sent: the rows and the cells the marks changed."""
        report = self._marker.report()
        with self._platform.db.session_scope() as session:
            record = session.get(SecurityExport, self.export.id)
            if record is not None:
                record.rows, record.cells_changed = report.rows, report.cells_marked
        self.export = self.export.model_copy(
            update={
                "rows": report.rows,
                "cells_changed": report.cells_marked,
                "fraction_cells_changed": report.fraction_cells_changed,
            }
        )


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


def export_stream(
    platform: Platform,
    code: str,
    *,
    recipient: str,
    actor: Actor,
    profile: MaskingProfile = MaskingProfile.STANDARD,
    columns: Sequence[str] | None = None,
    row_filter: RowFilter | None = None,
    file_format: ExportFormat = ExportFormat.CSV,
    purpose: str = "",
    unmarked_ok: bool = False,
) -> ExportStream:
    """Record an export of ``code`` (masked by ``profile``, only the rows ``row_filter``
    passes, watermarked for ``recipient``) and return the stream of its file's bytes.

    Callers check who may export. Everything that can be refused is refused here, before the
    record exists: an unknown resource, no key column, an unscanned resource, too many rows
    for Excel, no column that can carry a mark (unless ``unmarked_ok``: the export is then
    recorded with no marked columns, so its file cannot be traced). The rows are read and
    surveyed here too (step 1 in the module's docstring), so
    this takes a while on a big table; the bytes come as ``chunks`` is iterated.
    """
    if not recipient.strip():
        raise ValidationFailed(
            "an export needs a recipient", details=[{"field": "recipient", "reason": "required"}]
        )
    lake = Lake.from_settings(platform.settings)
    version = lake.table(code).version()
    if version is None:
        raise NotFound(f"resource {code} has no data in the lake yet")
    chosen = list(columns) if columns is not None else lake.table(code).schema(version).names
    with platform.db.session_scope() as session:
        keys = [f.english_name or f.name for f in catalog.current_fields(session, code) if f.is_key]
        masks = service.column_masks(session, code, profile, chosen)
    key_columns = [k for k in keys if k in chosen]
    if not key_columns:
        raise ValidationFailed(
            "a watermarked export must include the resource's key fields",
            details=[{"field": "columns", "reason": "key_missing", "keys": keys}],
        )
    masks = service.distinct_keys(masks, key_columns)
    spill = _Spill(platform, lake, code, version, masks, row_filter)
    try:
        if file_format is ExportFormat.XLSX and (rows := spill.count()) > EXCEL_MAX_ROWS:
            raise ValidationFailed(
                f"an Excel sheet holds {EXCEL_MAX_ROWS:,} rows and this export has {rows:,}; "
                "export CSV or Parquet instead",
                details=[{"field": "file_format", "reason": "too_many_rows", "rows": rows}],
            )
        found = watermark.survey(
            spill.batches, spill.schema, key_columns=key_columns, allow_unmarked=unmarked_ok
        )
    except BaseException:
        spill.close()
        raise
    key_version, _ = service.key_provider(platform).current(KeyPurpose.WATERMARK)
    with platform.db.session_scope() as session:
        record = SecurityExport(
            resource_code=code,
            version=version,
            recipient=recipient.strip(),
            profile=profile.value,
            columns=chosen,
            masks=_masks_json(masks),
            row_filter=[c.model_dump(mode="json") for c in row_filter.conditions]
            if row_filter
            else None,
            key_columns=key_columns,
            markable=list(found.markable),
            rate=found.rate,
            max_relative_change=found.max_relative_change,
            key_version=key_version,
            rows=found.rows,
            cells_changed=0,
            file_format=file_format.value,
            purpose=purpose,
            created_by=actor.name,
        )
        session.add(record)
        session.flush()
        export = ExportPublic(
            id=record.id,
            resource_code=code,
            version=version,
            recipient=record.recipient,
            profile=profile,
            rows=found.rows,
            cells_changed=0,
            fraction_cells_changed=0.0,
            marked_columns=list(found.markable),
            file_format=file_format,
            path="",
        )
    key = _recipient_key(platform, export.id, export.recipient, key_version)
    return ExportStream(platform, export, spill, found.watermarker(key))


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
    stream = export_stream(
        platform,
        code,
        recipient=recipient,
        actor=actor,
        profile=profile,
        columns=columns,
        file_format=file_format,
        purpose=purpose,
    )
    try:
        _write(stream.chunks, out)
    except BaseException:
        stream.chunks.close()
        _forget(platform, stream.export.id)
        raise
    with platform.db.session_scope() as session:
        audit_on_commit(
            session,
            platform.ledger,
            actor.audit(
                "security.export",
                f"resource:{code}",
                purpose=f"{recipient}: {purpose}".strip(": "),
                row_count=stream.export.rows,
            ),
        )
    return stream.export.model_copy(update={"path": str(out)})


def _forget(platform: Platform, export_id: int) -> None:
    """Delete the record of an export none of whose bytes left the platform."""
    with platform.db.session_scope() as session:
        record = session.get(SecurityExport, export_id)
        if record is not None:
            session.delete(record)


def _write(chunks: Iterable[bytes], out: Path) -> None:
    """Write to a temporary file next to ``out`` and move it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        temp.replace(out)
    finally:
        temp.unlink(missing_ok=True)


# --- reading: the masked rows, once from the lake, then from a spill file ---------------------


class _Spill:
    """The masked rows of one export: read from the lake once, kept in a scratch file under
    the lake's scratch directory, read again from there for each later pass."""

    def __init__(
        self,
        platform: Platform,
        lake: Lake,
        code: str,
        version: int,
        masks: Sequence[service.ColumnMask],
        row_filter: RowFilter | None,
    ) -> None:
        self._platform, self._lake, self._code, self._version = platform, lake, code, version
        self._masks, self._filter = masks, row_filter
        root = lake.root / SCRATCH_DIR
        root.mkdir(parents=True, exist_ok=True)
        self._scratch = tempfile.TemporaryDirectory(dir=root, prefix="export-")
        self.directory = Path(self._scratch.name)
        self._path = self.directory / "rows.arrow"
        self._filled = False
        self.schema = self._read(lambda sql: f"{sql} LIMIT 0").schema  # noqa: S608

    def count(self) -> int:
        """The rows the export will hold."""
        counted = self._read(lambda sql: f"SELECT count(*) AS n FROM ({sql})")  # noqa: S608
        return int(counted.column("n")[0].as_py())

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows, in the engine's order (the same on every call)."""
        if self._filled:
            with pa.OSFile(str(self._path)) as source:
                yield from pa.ipc.open_stream(source)
            return
        lake_table = self._lake.table(self._code)
        with (
            self._lake.work_engine() as engine,
            pa.OSFile(str(self._path), "wb") as sink,
            pa.ipc.new_stream(sink, self.schema) as writer,
        ):
            sql, params = self._select(engine, lake_table)
            for batch in engine.query_batches(sql, params, _BATCH_ROWS):
                writer.write_batch(batch)
                yield batch
        self._filled = True

    def close(self) -> None:
        self._scratch.cleanup()

    def _read(self, wrap: Callable[[str], str]) -> pa.Table:
        lake_table = self._lake.table(self._code)
        with self._lake.work_engine() as engine:
            sql, params = self._select(engine, lake_table)
            return engine.query(wrap(sql), params)

    def _select(self, engine: Any, lake_table: Any) -> tuple[str, list[Any]]:
        engine.register(_READ_ALIAS, lake_table, self._version)
        service.register_mask_functions(engine, service.key_provider(self._platform))
        sql = service.masked_select(
            engine, _READ_ALIAS, self._masks, lake_table.schema(self._version)
        )
        if not self._filter:
            return sql, []
        # The filter reads the columns as stored: WHERE binds names to the source, not to the
        # masked columns of the same names.
        predicate, params = self._filter.sql(engine.dialect.quote)
        return f"{sql} WHERE {predicate}", params


def trace_file(platform: Platform, path: Path, *, resource: str | None = None) -> TraceOutcome:
    """The recipient a leaked ``path`` most likely came from, among the recorded exports."""
    leaked = watermark_trace.read_table_file(path)
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
            repr(record.row_filter),
            tuple(record.key_columns),
            tuple(record.markable),
            record.rate,
            record.max_relative_change,
        )
        groups[signature].append(record)
    outcomes: list[TraceOutcome] = []
    for members in groups.values():
        first = members[0]
        original = _original(platform, first)
        by_name = {_label(r): r for r in members}
        candidates = {
            name: _recipient_key(platform, r.id, r.recipient, r.key_version)
            for name, r in by_name.items()
        }
        result = watermark_trace.trace(
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


def _original(platform: Platform, record: SecurityExport) -> pa.Table:
    """The rows an export held before its marks: the recorded version, masks and row filter."""
    if not record.row_filter:
        masked = service.read_masked(
            platform, record.resource_code, _masks_of(record), version=record.version
        )
        return pa.Table.from_batches(list(masked))
    from rongshu.exchange.filters import RowFilter
    from rongshu.exchange.schemas import Condition

    lake = Lake.from_settings(platform.settings)
    schema = lake.table(record.resource_code).schema(record.version)
    conditions = [Condition.model_validate(c) for c in record.row_filter]
    spill = _Spill(
        platform,
        lake,
        record.resource_code,
        record.version,
        _masks_of(record),
        RowFilter(conditions, schema),
    )
    try:
        return pa.Table.from_batches(list(spill.batches()), schema=spill.schema)
    finally:
        spill.close()


def _label(record: SecurityExport) -> str:
    return f"{record.recipient} (export {record.id})"
