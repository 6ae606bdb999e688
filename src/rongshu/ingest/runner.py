"""Running one load: read a source, map it to the catalog fields, commit one lake version.

The load is recorded before any work starts and finished whatever happens. The new version is
atomic (the lake's commit): a failed or killed load leaves the previous version as it was.
Rejected rows go to the resource's rejected-rows table (``<code>.rejected``) with the load id and
their reasons, after the data commit; they are staged on disk, so a load whose every row is
rejected still runs in bounded memory. The source is read and mapped in a worker thread a few
batches ahead of the lake's writer (``pipeline.read_ahead``), so the three overlap; ``progress``
is called from that thread.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import FieldSpec, Grade
from rongshu.core.platform import Platform
from rongshu.ingest import service
from rongshu.ingest.connectors.base import (
    SourceSpec,
    WatermarkFilter,
    open_connector,
    watermark_value,
)
from rongshu.ingest.mapping import REJECTED_SCHEMA, FieldMapping, Mapper
from rongshu.ingest.pipeline import read_ahead
from rongshu.ingest.schemas import LoadMode, LoadPublic, LoadStatus
from rongshu.lake.tables import Lake, WriteMode

LAKE_MODES: dict[LoadMode, WriteMode] = {
    LoadMode.SNAPSHOT: "overwrite",
    LoadMode.APPEND: "append",
    LoadMode.INCREMENTAL: "append",
    LoadMode.UPSERT: "merge",
}
REJECTED_TABLE_SCHEMA = pa.schema([pa.field("load_id", pa.int64()), *REJECTED_SCHEMA])
Progress = Callable[[int], None]
AfterLoad = Callable[[Platform, LoadPublic], None]

#: What runs after each successful load (the quality check of its version); areas append to it
#: in the hook modules ``rongshu.areas`` lists. A hook's failure is logged, never the load's.
AFTER_LOAD: list[AfterLoad] = []

log = logging.getLogger("rongshu.ingest")


def rejected_table_name(resource_code: str) -> str:
    """The lake table that keeps a resource's rejected rows, with reasons, per load."""
    return f"{resource_code}.rejected"


def repaired_table_name(resource_code: str) -> str:
    """The lake table that keeps the cells repaired on the way in (kept rows), per load."""
    return f"{resource_code}.repaired"


class _CellLog:
    """Flagged cells of a load (rejected or repaired) spooled to Parquet, then one commit."""

    def __init__(self, path: Path, load_id: int) -> None:
        self._path = path
        self._load_id = load_id
        self._writer = pq.ParquetWriter(path, REJECTED_TABLE_SCHEMA)
        self.cells = 0
        self.rows = 0

    def write(self, cells: pa.RecordBatch) -> None:
        if not cells.num_rows:
            return
        self.cells += cells.num_rows
        self.rows += len(pc.unique(cells.column("row_number")))
        load_ids = pa.array([self._load_id] * cells.num_rows, pa.int64())
        self._writer.write_batch(
            pa.RecordBatch.from_arrays([load_ids, *cells.columns], schema=REJECTED_TABLE_SCHEMA)
        )

    def close(self) -> None:
        self._writer.close()

    def commit(self, lake: Lake, table: str) -> None:
        """Append the cells to ``table`` (nothing when there are none); after ``close``."""
        if self.cells:
            lake.table(table).commit(
                pq.ParquetFile(self._path).iter_batches(),
                schema=REJECTED_TABLE_SCHEMA,
                mode="append",
                metadata={"load_id": str(self._load_id)},
            )


#: Grades whose fields the lake stores encrypted (GB/T 43697 core and important data).
ENCRYPTED_GRADES = frozenset({Grade.CORE, Grade.IMPORTANT})


@dataclass
class _Plan:
    """Everything a load needs from the metadata database, read once before the work starts."""

    load_id: int
    kind: str
    options: dict[str, Any]
    mapping: dict[str, Any]
    mode: LoadMode
    key: list[str]
    watermark_column: str | None
    last_watermark: str | None
    fields: list[FieldSpec]

    @property
    def encrypted(self) -> list[str]:
        """Columns stored encrypted (SM4-GCM at rest): the core and important fields, but not
        the key fields merges match on."""
        return [
            f.english_name
            for f in self.fields
            if f.grade in ENCRYPTED_GRADES and not f.is_key and f.english_name
        ]


@dataclass
class _Tally:
    read: int = 0
    rejected: _CellLog | None = None
    repaired: _CellLog | None = None
    watermark: Any = None

    @property
    def rejected_rows(self) -> int:
        return self.rejected.rows if self.rejected else 0


def run_load(
    platform: Platform,
    *,
    resource_code: str,
    source_name: str,
    triggered_by: str = "system",
    attempt: int = 1,
    progress: Progress | None = None,
    after_load: bool = True,
) -> LoadPublic:
    """Run one load of ``source_name`` into ``resource_code``'s lake table; returns its record.

    With ``after_load`` (unless the caller queues the follow-up work itself), the ``AFTER_LOAD``
    hooks run once the load has succeeded.
    """
    plan = _plan(platform, resource_code, source_name, triggered_by, attempt)
    tally = _Tally()
    try:
        connector = open_connector(SourceSpec(kind=plan.kind, options=plan.options))
        columns = connector.columns()
        mapping = (
            FieldMapping.model_validate(plan.mapping)
            if plan.mapping
            else FieldMapping.suggest(columns, plan.fields)
        )
        mapper = Mapper(mapping, plan.fields, source_columns=columns)
        lake = Lake.from_settings(platform.settings)
        watermark = None
        if plan.mode is LoadMode.INCREMENTAL and plan.watermark_column and plan.last_watermark:
            # The watermark names a catalog field; the connector filters on its source column.
            column = next(
                (
                    c.source
                    for c in mapping.columns
                    if c.target == plan.watermark_column and c.source
                ),
                plan.watermark_column,
            )
            # Compared in the field's type, read as the mapping reads it: 2020/1/2 is a date
            # before 2020-01-10, not text after it.
            read = mapper.reader(plan.watermark_column)  # refuses a watermark that is no field
            field = next(f for f in plan.fields if f.english_name == plan.watermark_column)
            after = watermark_value(plan.last_watermark, field.data_type, timezone=mapping.timezone)
            watermark = WatermarkFilter(column, after, read=read)
        with tempfile.TemporaryDirectory(dir=_scratch(platform)) as scratch:
            rejected = tally.rejected = _CellLog(Path(scratch) / "rejected.parquet", plan.load_id)
            repaired = tally.repaired = _CellLog(Path(scratch) / "repaired.parquet", plan.load_id)
            stream = connector.batches(watermark=watermark)
            # Read and map in a worker thread while the lake writes (read_ahead); the cell logs
            # close after the worker has stopped.
            with (
                closing(rejected),
                closing(repaired),
                read_ahead(_mapped(stream, mapper, plan, tally, progress)) as good,
            ):
                # A snapshot of nothing empties the table; nothing new to add makes no version.
                rows = good if plan.mode is LoadMode.SNAPSHOT else _unless_empty(iter(good))
                result = (
                    None
                    if rows is None
                    else lake.table(resource_code).commit(
                        rows,
                        schema=mapper.schema,
                        mode=LAKE_MODES[plan.mode],
                        key=plan.key,
                        encrypt=plan.encrypted,
                        metadata={
                            "load_id": str(plan.load_id),
                            "source": source_name,
                            "fingerprint": connector.fingerprint(),
                        },
                    )
                )
            rejected.commit(lake, rejected_table_name(resource_code))
            repaired.commit(lake, repaired_table_name(resource_code))
    except Exception as exc:
        _finish_failed(platform, plan.load_id, tally, str(exc))
        raise
    with platform.db.session_scope() as session:
        if tally.watermark is not None:
            row = service.get_source(session, resource_code=resource_code, name=source_name)
            row.last_watermark = str(tally.watermark)
        record = service.finish_load(
            session,
            load_id=plan.load_id,
            status=LoadStatus.SUCCEEDED,
            rows_read=tally.read,
            rows_written=result.rows_written if result else 0,
            rows_rejected=tally.rejected_rows,
            cells_repaired=repaired.cells,
            bytes_read=connector.bytes_read,
            fingerprint=connector.fingerprint(),
            version=result.version if result else None,
        )
    if after_load:
        run_after_load(platform, record)
    return record


def run_after_load(platform: Platform, record: LoadPublic) -> None:
    """Run the ``AFTER_LOAD`` hooks of the areas (``rongshu.areas``) on a succeeded load."""
    from rongshu.areas import load_hooks

    try:
        load_hooks()
    except Exception:  # a broken hook module must not turn a committed load into a failure
        log.exception("the after-load hooks could not be loaded")
    for hook in list(AFTER_LOAD):
        try:
            hook(platform, record)
        except Exception as exc:  # noqa: BLE001 - the load itself succeeded and is committed
            log.warning(
                "after load %d of %s, %s failed: %s",
                record.id,
                record.resource_code,
                getattr(hook, "__qualname__", hook),
                exc,
            )


def _plan(
    platform: Platform, resource_code: str, source_name: str, triggered_by: str, attempt: int
) -> _Plan:
    with platform.db.session_scope() as session:
        source = service.get_source(session, resource_code=resource_code, name=source_name)
        plan = _Plan(
            load_id=service.start_load(
                session,
                source=source,
                triggered_by=triggered_by,
                attempt=attempt,
                stale_after=timedelta(hours=platform.settings.ingest_load_hours),
            ).id,
            kind=source.kind,
            options=service.connector_options(source, secret=platform.secret),
            mapping=dict(source.mapping),
            mode=LoadMode(source.mode),
            key=list(source.key_fields),
            watermark_column=source.watermark_column,
            last_watermark=source.last_watermark,
            fields=catalog.current_fields(session, resource_code),
        )
    return plan


def _mapped(
    batches: Iterable[pa.RecordBatch],
    mapper: Mapper,
    plan: _Plan,
    tally: _Tally,
    progress: Progress | None,
) -> Iterator[pa.RecordBatch]:
    """Mapped batches of the source; rejected and repaired cells written aside on the way."""
    with _closing(batches):
        for batch in batches:
            mapped = mapper.map(batch, first_row=tally.read + 1)
            tally.read += batch.num_rows
            if tally.rejected is not None:
                tally.rejected.write(mapped.rejected)
            if tally.repaired is not None:
                tally.repaired.write(mapped.repaired)
            if plan.watermark_column and mapped.good.num_rows:
                latest = pc.max(mapped.good.column(plan.watermark_column)).as_py()
                if latest is not None and (tally.watermark is None or latest > tally.watermark):
                    tally.watermark = latest
            if progress is not None:
                progress(tally.read)
            yield mapped.good


@contextmanager
def _closing(stream: Iterable[pa.RecordBatch]) -> Iterator[None]:
    """Close a half-read stream, so a failed load releases its database connection and locks."""
    try:
        yield
    finally:
        close = getattr(stream, "close", None)
        if callable(close):
            close()


def _unless_empty(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch] | None:
    """``batches`` as they were, or ``None`` when not one of them holds a row."""
    for batch in batches:
        if batch.num_rows:
            return itertools.chain([batch], batches)
    return None


def _finish_failed(platform: Platform, load_id: int, tally: _Tally, error: str) -> None:
    with platform.db.session_scope() as session:
        service.finish_load(
            session,
            load_id=load_id,
            status=LoadStatus.FAILED,
            rows_read=tally.read,
            rows_rejected=tally.rejected_rows,
            error=error,
        )


def _scratch(platform: Platform) -> Path:
    path = platform.settings.data_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path
