"""Batch exchange: a granted app's export, streamed in constant memory, is the same file the
whole-table export makes, keeps to the grant's rows, and names the app when a piece leaks."""

from __future__ import annotations

import io
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from rongshu.catalog.schemas import FieldSpec, FieldType
from rongshu.core.errors import ValidationFailed
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.exchange import batch, grants, services
from rongshu.exchange.schemas import Condition, FilterOperator, ServiceKind
from rongshu.lake.tables import Lake
from rongshu.security import exports, service, watermark, watermark_trace
from rongshu.security.exports import ExportFormat, export_stream, trace_file
from rongshu.security.models import SecurityExport
from rongshu.security.schemas import MaskingProfile

from ..conftest import Write
from .conftest import FIELDS, Shared, make_app, people, publish_resource

pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)

CODE = "MZ-9101"
ROWS = 3000
# Partial masks repeat the ID number's first and last four characters across thousands of
# people, so the key would no longer tell rows apart: these exports use pseudonyms.
PROFILE = MaskingProfile.ANALYTICS
COLUMNS = ["id_number", "name", "birth_date", "phone", "district", "amount"]


@pytest.fixture
def shared(platform: Platform, write: Write) -> Shared:
    """Subsidy payments to residents: the exchange fixture's people with an amount each."""
    fields = [
        *FIELDS,
        FieldSpec(name="补贴金额", english_name="amount", data_type=FieldType.DECIMAL),
    ]
    publish_resource(platform, CODE, fields, department="MZ")
    rng = random.Random(7)
    rows = [{**p, "amount": round(rng.uniform(300, 5000), 2)} for p in people(ROWS)]
    write(CODE, rows)
    service.scan_resource(platform, CODE, actor=SYSTEM)
    with platform.db.session_scope() as session:
        services.publish_services(session, code=CODE, actor=SYSTEM, ledger=platform.ledger)
    app_id, api_key, key_id = make_app(platform, department="GA", name="低保核对")
    found = Shared(platform, CODE, rows, app_id, api_key, key_id)
    found.code = CODE
    return found


def _grant(shared: Shared, columns: list[str], conditions: list[Condition] | None = None):
    grant_id = shared.grant(
        ServiceKind.BATCH, columns, profile=PROFILE, conditions=conditions or []
    )
    with shared.platform.db.session_scope() as session:
        found = grants.active_grant(
            session,
            app_id=shared.app_id,
            service_code=services.service_code(CODE, ServiceKind.BATCH),
        )
    assert found is not None and found.id == grant_id
    return found


def _whole_table_export(platform: Platform, export_id: int) -> pa.Table:
    """What the export was before streaming: the whole masked table marked in one piece."""
    with platform.db.session_scope() as session:
        record = session.get(SecurityExport, export_id)
        masks, recipient, version = exports._masks_of(record), record.recipient, record.version
        key_version, key_columns = record.key_version, list(record.key_columns)
    original = pa.Table.from_batches(
        list(service.read_masked(platform, CODE, masks, version=version))
    )
    key = exports._recipient_key(platform, export_id, recipient, key_version)
    marked, _ = watermark.embed(original, key, key_columns=key_columns)
    return marked


@pytest.mark.parametrize("file_format", list(ExportFormat))
def test_the_stream_is_the_whole_table_export(
    platform: Platform, shared: Shared, file_format: ExportFormat
) -> None:
    grant = _grant(shared, COLUMNS)
    export, chunks = batch.batch_export(platform, grant, file_format=file_format, purpose="核对")
    data = b"".join(chunks)
    expected = _whole_table_export(platform, export.id)
    assert export.rows == ROWS and export.marked_columns == ["amount"]
    if file_format is ExportFormat.CSV:
        assert data.startswith("\ufeff".encode()) and data.count(b'"id_number"') == 1
        got = pa_csv.read_csv(
            io.BytesIO(data[3:]),
            convert_options=pa_csv.ConvertOptions(column_types=expected.schema),
        )
    elif file_format is ExportFormat.PARQUET:
        got = pq.read_table(io.BytesIO(data))
    else:
        path = Path(platform.settings.data_dir) / "got.xlsx"
        path.write_bytes(data)
        text = watermark_trace.read_table_file(path)
        got = text.set_column(
            text.schema.get_field_index("amount"),
            "amount",
            text.column("amount").cast(pa.float64()),
        )
        expected = expected.select(got.column_names)
        assert got.drop_columns(["amount"]).equals(
            pa.table(
                {n: expected.column(n).cast(pa.string()) for n in got.column_names if n != "amount"}
            )
        )
        got, expected = got.select(["amount"]), expected.select(["amount"])
    assert got.equals(expected)
    # The marks are there: a few percent of the amounts moved by one cent.
    with platform.db.session_scope() as session:
        record = session.get(SecurityExport, export.id)
        assert record.rows == ROWS and 0 < record.cells_changed < ROWS


def test_a_cut_resorted_leak_of_a_streamed_csv_names_the_app(
    platform: Platform, shared: Shared, tmp_path: Path
) -> None:
    grant = _grant(shared, COLUMNS)
    # Two other apps got exports of the same fields too: the trace must pick the right one.
    for name in ("城管应用", "卫健应用"):
        other, _, _ = make_app(platform, department="WJ", name=name)
        shared.grant(ServiceKind.BATCH, COLUMNS, profile=PROFILE, app_id=other)
        with platform.db.session_scope() as session:
            theirs = grants.active_grant(
                session, app_id=other, service_code=services.service_code(CODE, ServiceKind.BATCH)
            )
        b"".join(batch.batch_export(platform, theirs, purpose="核对")[1])
    export, chunks = batch.batch_export(platform, grant, purpose="核对")
    leaked_file = tmp_path / "export.csv"
    leaked_file.write_bytes(b"".join(chunks))
    table = watermark_trace.read_table_file(leaked_file)
    rng = random.Random(3)
    keep = rng.sample(range(table.num_rows), table.num_rows // 10)
    piece = tmp_path / "piece.csv"
    pa_csv.write_csv(table.take(pa.array(keep)), piece)
    outcome = trace_file(platform, piece)
    assert outcome.recipient == f"app:{grant.app_id} 低保核对", outcome.verdict
    assert outcome.export_id == export.id and outcome.exports_considered == 3


def test_only_the_granted_rows_leave(platform: Platform, shared: Shared) -> None:
    condition = Condition(column="district", op=FilterOperator.EQ, value="350103")
    grant = _grant(shared, COLUMNS, [condition])
    export, chunks = batch.batch_export(platform, grant, file_format=ExportFormat.PARQUET)
    got = pq.read_table(io.BytesIO(b"".join(chunks)))
    wanted = sum(1 for row in shared.rows if row["district"] == "350103")
    assert 0 < wanted < ROWS and export.rows == got.num_rows == wanted
    assert set(got.column("district").to_pylist()) == {"350103"}


def test_a_grant_without_the_key_fields_is_refused(platform: Platform, shared: Shared) -> None:
    grant = _grant(shared, ["name", "amount"])
    with pytest.raises(ValidationFailed, match="key fields"):
        batch.batch_export(platform, grant)
    assert _exports(platform) == 0


def _exports(platform: Platform) -> int:
    with platform.db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(SecurityExport)) or 0


def test_excel_beyond_its_row_limit_is_refused_before_anything_is_recorded(
    platform: Platform, shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", ROWS - 1)
    grant = _grant(shared, COLUMNS)
    with pytest.raises(ValidationFailed, match="Excel sheet holds"):
        batch.batch_export(platform, grant, file_format=ExportFormat.XLSX)
    assert _exports(platform) == 0


def test_a_stream_that_fails_before_its_first_byte_is_forgotten(
    platform: Platform, shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> Iterator[bytes]:
        raise OSError("disk full")
        yield b""

    monkeypatch.setitem(exports.WRITERS, ExportFormat.CSV, broken)
    grant = _grant(shared, COLUMNS)
    export, chunks = batch.batch_export(platform, grant)
    assert _exports(platform) == 1  # recorded before any byte is made
    with pytest.raises(OSError, match="disk full"):
        next(chunks)
    assert _exports(platform) == 0


def test_a_stream_cut_off_after_bytes_left_stays_recorded(
    platform: Platform, shared: Shared
) -> None:
    grant = _grant(shared, COLUMNS)
    export, chunks = batch.batch_export(platform, grant)
    assert next(chunks).startswith("\ufeff".encode())  # the header has gone out
    chunks.close()  # the client hung up
    with platform.db.session_scope() as session:
        record = session.get(SecurityExport, export.id)
        assert record is not None and record.rows == 0


@pytest.mark.slow
def test_a_million_row_export_runs_in_bounded_memory(platform: Platform) -> None:
    """The old export held the masked table and its marked copy (~150 MB here); a stream
    holds a few batches and 17 bytes a row for the watermark."""
    code = "MZ-9102"
    fields = [
        FieldSpec(
            name="公民身份号码", english_name="id_number", data_type=FieldType.STRING, is_key=True
        ),
        FieldSpec(name="姓名", english_name="name", data_type=FieldType.STRING),
        FieldSpec(name="补贴金额", english_name="amount", data_type=FieldType.DECIMAL),
        FieldSpec(name="备注", english_name="remark", data_type=FieldType.STRING),
    ]
    publish_resource(platform, code, fields, department="MZ")
    rows = 1_000_000
    rng = np.random.default_rng(5)
    numbers = pa.array(np.arange(rows)).cast(pa.string())
    table = pa.table(
        {
            "id_number": pa.compute.binary_join_element_wise("350102199001", numbers, ""),
            "name": pa.compute.binary_join_element_wise("居民", numbers, ""),
            "amount": np.round(rng.uniform(100, 9000, rows), 2),
            "remark": pa.compute.binary_join_element_wise("发放批次备注-", numbers, ""),
        }
    )
    Lake.from_settings(platform.settings).table(code).commit(
        table.to_batches(65536), schema=table.schema, mode="overwrite"
    )
    del table
    pool = pa.proxy_memory_pool(pa.default_memory_pool())
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    tracemalloc.start()
    try:
        stream = export_stream(
            platform, code, recipient="RS", actor=SYSTEM, profile=MaskingProfile.CLEAR
        )
        size = sum(len(chunk) for chunk in stream.chunks)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        pa.set_memory_pool(previous)
    assert stream.export.rows == rows and size > 40 * rows
    assert 0 < stream.export.cells_changed < rows
    assert python_peak + pool.max_memory() < 80 * 2**20, (python_peak, pool.max_memory())


def test_a_leak_of_a_filtered_export_is_traced_with_its_filter(
    platform: Platform, shared: Shared, write: Write, tmp_path: Path
) -> None:
    # In one district the amounts are whole tenths, elsewhere cents: the filtered export's
    # marks sit on another grid than the whole table's, so the trace must read it filtered.
    rows = [
        {**r, "amount": round(r["amount"], 1 if r["district"] == "350103" else 2)}
        for r in shared.rows
    ]
    write(CODE, rows)
    condition = Condition(column="district", op=FilterOperator.EQ, value="350103")
    grant = _grant(shared, COLUMNS, [condition])
    export, chunks = batch.batch_export(platform, grant, purpose="核对")
    with platform.db.session_scope() as session:
        assert session.get(SecurityExport, export.id).row_filter == [
            condition.model_dump(mode="json")
        ]
    leaked_file = tmp_path / "filtered.csv"
    leaked_file.write_bytes(b"".join(chunks))
    table = watermark_trace.read_table_file(leaked_file)
    keep = random.Random(5).sample(range(table.num_rows), table.num_rows * 3 // 10)
    piece = tmp_path / "piece.csv"
    pa_csv.write_csv(table.take(pa.array(keep)), piece)
    outcome = trace_file(platform, piece)
    assert outcome.recipient == f"app:{grant.app_id} 低保核对", outcome.verdict
