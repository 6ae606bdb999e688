"""Rejected cells and the whole source row written as JSON, column-wise."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from rongshu.ingest.rejects import REJECTED_SCHEMA, REQUIRED_REASON, FlaggedCells, rows_as_json


def test_rows_as_json_keeps_every_type_readable() -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "姓名": ['引号"反斜杠\\换行\n制表\t控制\x01', None],
            "人数": [3, None],
            "金额": [float("nan"), 1.5],
            "金额2": pa.array([Decimal("12.30"), None], pa.decimal128(10, 2)),
            "日期": [date(2020, 1, 2), None],
            "时间": pa.array([datetime(2020, 1, 2, tzinfo=UTC), None], pa.timestamp("us", "UTC")),
            "有效": [True, None],
            "字节": [b"\xff\x00", None],
            "列表": [[1, 2], None],
        }
    )
    first, second = (json.loads(text) for text in rows_as_json(batch).to_pylist())
    assert first["姓名"] == '引号"反斜杠\\换行\n制表\t控制\x01'
    assert first["人数"] == 3 and first["有效"] is True and first["列表"] == [1, 2]
    assert first["金额"] == "nan"  # not a bare NaN, which is not JSON
    assert first["金额2"] == 12.3 and first["日期"] == "2020-01-02"
    assert first["时间"].startswith("2020-01-02 00:00:00")
    assert first["字节"] == "\ufffd\x00"
    assert second == dict.fromkeys(first) | {"金额": 1.5}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=20))
def test_any_text_survives_the_round_trip_through_json(cells: list[str | None]) -> None:
    batch = pa.RecordBatch.from_pydict({"列": pa.array(cells, pa.string())})
    assert [json.loads(text)["列"] for text in rows_as_json(batch).to_pylist()] == cells


def test_rejected_cells_come_out_in_row_then_field_order() -> None:
    batch = pa.RecordBatch.from_pydict({"a": ["x", "y", "z"], "b": ["1", None, "3"]})
    cells = FlaggedCells(batch, first_row=11)
    cells.add(
        position=1,
        column="b",
        source=batch.column("b"),
        rows=np.array([1]),
        unreadable=np.array([False]),
        reason="整数无法识别 (not an integer)",
    )
    cells.add(
        position=0,
        column="a",
        source=batch.column("a"),
        rows=np.array([1, 2]),
        unreadable=np.array([True, True]),
        reason="日期无法识别 (unrecognised date)",
    )
    rejected = cells.build()
    assert rejected.schema == REJECTED_SCHEMA
    assert [
        (r["row_number"], r["column"], r["value"], r["reason"]) for r in rejected.to_pylist()
    ] == [
        (12, "a", "y", "日期无法识别 (unrecognised date): y"),
        (12, "b", None, REQUIRED_REASON),
        (13, "a", "z", "日期无法识别 (unrecognised date): z"),
    ]
    assert json.loads(rejected.column("raw")[1].as_py()) == {"a": "y", "b": None}


def test_no_rejected_cells_is_an_empty_batch_of_the_same_shape() -> None:
    batch = pa.RecordBatch.from_pydict({"a": ["x"]})
    empty = FlaggedCells(batch, first_row=1).build()
    assert empty.num_rows == 0 and empty.schema == REJECTED_SCHEMA
