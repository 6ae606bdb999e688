"""The connector interface: registry, option checking, watermark filtering, JSON records,
encoding detection on samples.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from rongshu.catalog.schemas import FieldType
from rongshu.core.errors import ValidationFailed
from rongshu.ingest.connectors import (
    CONNECTORS,
    SourceSpec,
    SourceUnreadable,
    WatermarkFilter,
    open_connector,
    register_connector,
)
from rongshu.ingest.connectors.base import (
    as_text_table,
    filter_after,
    split_batch,
    watermark_value,
)
from rongshu.ingest.connectors.encoding import detect_encoding, first_invalid, normalise_encoding
from rongshu.ingest.connectors.records import RecordBatcher, cell_text, flatten, records_at

NOWHERE = Path("sample.csv")


def test_builtin_kinds_are_registered() -> None:
    assert {"csv", "excel", "json", "parquet", "sql", "http"} <= set(CONNECTORS)


class _Constant:
    kind: ClassVar[str] = "constant-test"

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.value = options["value"]

    def fingerprint(self) -> str:
        return f"constant:{self.value}"

    def columns(self) -> list[str]:
        return ["value"]

    def preview(self, rows: int = 20) -> pa.Table:
        return pa.table({"value": [str(self.value)]})

    def batches(
        self, *, batch_rows: int = 65536, watermark: WatermarkFilter | None = None
    ) -> Iterator[pa.RecordBatch]:
        yield pa.record_batch({"value": [self.value]})

    @property
    def bytes_read(self) -> int:
        return 0


def test_a_new_kind_can_be_registered_and_opened() -> None:
    register_connector(_Constant)
    try:
        connector = open_connector(SourceSpec(kind="constant-test", options={"value": 7}))
        assert connector.fingerprint() == "constant:7"
        assert [b.to_pylist() for b in connector.batches()] == [[{"value": 7}]]
        with pytest.raises(ValueError, match="already registered"):

            @register_connector
            class _Other(_Constant):
                pass

    finally:
        CONNECTORS.pop("constant-test", None)


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(ValidationFailed, match="unknown source kind 'ftp'.*csv"):
        open_connector(SourceSpec(kind="ftp", options={}))


def test_bad_options_are_named_one_by_one() -> None:
    with pytest.raises(ValidationFailed) as caught:
        open_connector(
            SourceSpec(kind="csv", options={"path": "x.csv", "delimter": ";", "header_row": -1})
        )
    fields = {d["field"]: d["reason"] for d in caught.value.details}
    assert fields["delimter"] == "unknown option"
    assert "header_row" in fields
    assert "delimter" in caught.value.message


def test_sql_needs_a_table_or_a_query_and_only_selects() -> None:
    with pytest.raises(ValidationFailed, match="either a table or a query"):
        open_connector(SourceSpec(kind="sql", options={"url": "sqlite://"}))
    with pytest.raises(ValidationFailed, match="SELECT"):
        open_connector(
            SourceSpec(kind="sql", options={"url": "sqlite://", "query": "DELETE FROM t"})
        )


def test_sql_option_errors_never_show_the_password() -> None:
    url = "postgresql+psycopg://reader:S3cret-Pw@db.example/registry"
    with pytest.raises(ValidationFailed) as caught:
        open_connector(SourceSpec(kind="sql", options={"url": url, "table": "t", "x": 1}))
    assert "S3cret-Pw" not in caught.value.message
    assert "S3cret-Pw" not in str(caught.value.details)


def test_http_url_must_be_http() -> None:
    with pytest.raises(ValidationFailed, match="http"):
        open_connector(SourceSpec(kind="http", options={"url": "ftp://example.org/x"}))


def test_watermark_keeps_rows_after_the_value_only() -> None:
    batch = pa.record_batch(
        {
            "id": pa.array([1, 2, 3, None]),
            "day": pa.array(["2024-01-01", "2024-01-02", None, "2024-01-03"]),
            "seq": pa.array(["9", "10", "11", "x"]),
        }
    )
    assert filter_after(batch, WatermarkFilter("id", 1)).column("id").to_pylist() == [2, 3]
    after_day = filter_after(batch, WatermarkFilter("day", date(2024, 1, 1)))
    assert after_day.column("day").to_pylist() == ["2024-01-02", "2024-01-03"]
    # Text holding numbers compares as numbers, so "10" comes after 9; "x" cannot be read and
    # is kept for the mapping to reject with its reason, never dropped by the filter.
    assert filter_after(batch, WatermarkFilter("seq", 9)).column("seq").to_pylist() == [
        "10",
        "11",
        "x",
    ]
    with pytest.raises(ValidationFailed, match="not a column"):
        filter_after(batch, WatermarkFilter("missing", 1))


def test_watermark_compares_departments_dates_as_dates_not_text() -> None:
    batch = pa.record_batch({"day": ["2020/1/2", "2020-01-10", "2020年1月11日", "20200109"]})
    # As text, "2020/1/2" sorts after "2020-01-10"; as dates it is long before.
    later = filter_after(batch, WatermarkFilter("day", date(2020, 1, 9)))
    assert later.column("day").to_pylist() == ["2020-01-10", "2020年1月11日"]
    shanghai = ZoneInfo("Asia/Shanghai")
    times = pa.record_batch(
        {"at": pa.array([datetime(2020, 1, 10, 8), datetime(2020, 1, 10, 9)], pa.timestamp("us"))}
    )
    # A naive column is compared in the watermark's own zone, the zone the mapping reads it in.
    after = WatermarkFilter("at", datetime(2020, 1, 10, 8, tzinfo=shanghai))
    assert filter_after(times, after).num_rows == 1


def test_saved_watermarks_come_back_in_their_field_type() -> None:
    assert watermark_value("2020-01-10", FieldType.DATE, timezone="UTC") == date(2020, 1, 10)
    moment = watermark_value(
        "2020-01-10 08:00:00+00:00", FieldType.DATETIME, timezone="Asia/Shanghai"
    )
    assert moment == datetime(2020, 1, 10, 8, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(hours=8)  # shown in the mapping's zone
    assert watermark_value("120", FieldType.INTEGER, timezone="UTC") == 120
    assert watermark_value("P0200", FieldType.STRING, timezone="UTC") == "P0200"
    with pytest.raises(ValidationFailed, match="not a date value"):
        watermark_value("yesterday", FieldType.DATE, timezone="UTC")


def test_split_batch_bounds_the_rows_per_batch() -> None:
    batch = pa.record_batch({"n": list(range(10))})
    assert [b.num_rows for b in split_batch(batch, 4)] == [4, 4, 2]


def test_preview_tables_are_all_strings() -> None:
    table = pa.table(
        {"n": [1, None], "when": [datetime(2024, 1, 2, 3, 4, 5), None], "raw": [b"\x01\xff", None]}
    )
    text = as_text_table(table)
    assert all(pa.types.is_string(field.type) for field in text.schema)
    assert text.column("raw").to_pylist() == ["01ff", None]
    assert text.column("n").to_pylist() == ["1", None]


def test_json_records_are_flattened_to_text() -> None:
    assert flatten({"a": 1, "loc": {"lat": 26.1, "lng": 119.3}, "tags": ["x"]}) == {
        "a": 1,
        "loc.lat": 26.1,
        "loc.lng": 119.3,
        "tags": ["x"],
    }
    assert [cell_text(v) for v in (None, True, 5, 2.5, "文字", ["x", 1])] == [
        None,
        "true",
        "5",
        "2.5",
        "文字",
        '["x",1]',
    ]
    batcher = RecordBatcher(["a"])
    batcher.add({"a": 1})
    batcher.add({"a": 2, "late": "x"})
    batch = batcher.flush()
    assert batch.schema.names == ["a", "late"]
    assert batch.column("late").to_pylist() == [None, "x"]


def test_records_at_finds_the_list_or_explains_what_is_there() -> None:
    document = {"code": 0, "data": {"list": [{"a": 1}], "total": 1}}
    assert records_at(document, "data.list", where="api") == [{"a": 1}]
    with pytest.raises(SourceUnreadable, match="found: list, total"):
        records_at(document, "data.items", where="api")
    assert records_at({"code": 0, "rows": [{"a": 1}]}, None, where="api") == [{"a": 1}]


def test_encoding_detection_on_samples() -> None:
    text = "结婚证字号,男方姓名\nJ350121-2024-0000001,黄振浩\n"
    assert detect_encoding(NOWHERE, text.encode("utf-8"), size=len(text.encode())) == "utf-8"
    bom = codecs.BOM_UTF8 + text.encode("utf-8")
    assert detect_encoding(NOWHERE, bom, size=len(bom)) == "utf-8-sig"
    gb = text.encode("gb18030")
    assert detect_encoding(NOWHERE, gb, size=len(gb)) == "gb18030"
    broken = b"id,name\n1,\xff\xfe\xff\n"
    with pytest.raises(SourceUnreadable, match=r"ff fe ff.*byte offset 10 \(line 2\)"):
        detect_encoding(NOWHERE, broken, size=len(broken))


def test_a_character_cut_by_the_sample_end_is_not_an_error() -> None:
    data = "黄振浩".encode()
    assert first_invalid(data[:-1], "utf-8", final=False) is None
    assert first_invalid(data[:-1], "utf-8", final=True) == 6


def test_encoding_names_people_write() -> None:
    assert normalise_encoding("GBK") == "gb18030"
    assert normalise_encoding("UTF8") == "utf-8"
    with pytest.raises(ValidationFailed, match="unknown encoding"):
        normalise_encoding("klingon")
