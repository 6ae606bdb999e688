"""Rejected rows (问题数据): one record per failing cell, with the reason and the whole source row;
repaired cells of kept rows are recorded in the same shape.

Built with Arrow kernels, not a loop over rows, so that even a badly mapped source whose every
row fails is rejected at speed: the reasons are joined column-wise and the source rows are
written as JSON objects by ``rows_as_json``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rongshu.ingest.parsing import text_of

#: One rejected cell: where in the source, which field, the raw value, why, and the whole row.
REJECTED_SCHEMA = pa.schema(
    [
        pa.field("row_number", pa.int64(), nullable=False),
        pa.field("column", pa.string(), nullable=False),
        pa.field("value", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string(), nullable=False),
    ]
)
REQUIRED_REASON = "必填项为空 (required field is empty)"

Rows = npt.NDArray[np.intp]

_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_CONTROL = "[\x00-\x1f]"


class FlaggedCells:
    """Collects a batch's flagged cells column by column (rejected ones, or repaired ones),
    then builds the batch of records with reasons."""

    def __init__(self, batch: pa.RecordBatch, first_row: int) -> None:
        self._batch = batch
        self._first_row = first_row
        self._rows: list[Rows] = []
        self._positions: list[npt.NDArray[np.int32]] = []
        self._columns: list[pa.Array] = []
        self._values: list[pa.Array] = []
        self._reasons: list[pa.Array] = []

    def add(
        self,
        *,
        position: int,
        column: str,
        source: pa.Array,
        rows: Rows,
        unreadable: npt.NDArray[np.bool_],
        reason: str,
    ) -> None:
        """Cells at ``rows`` of ``source`` rejected: ``unreadable`` ones for ``reason``, the
        others for being empty in a required field. ``position`` orders columns within a row."""
        values = source_text(source.take(pa.array(rows)))
        explained = pc.binary_join_element_wise(pa.scalar(f"{reason}: "), values, "")
        reasons = pc.if_else(pa.array(unreadable), explained, pa.scalar(REQUIRED_REASON))
        self._rows.append(rows)
        self._positions.append(np.full(len(rows), position, dtype=np.int32))
        self._columns.append(pa.repeat(pa.scalar(column, pa.string()), len(rows)))
        self._values.append(values)
        self._reasons.append(reasons)

    def build(self) -> pa.RecordBatch:
        """The rejected records, in source row order and field order within a row."""
        if not self._rows:
            return pa.RecordBatch.from_pylist([], schema=REJECTED_SCHEMA)
        rows = np.concatenate(self._rows)
        order = pa.array(np.lexsort((np.concatenate(self._positions), rows)))
        distinct = np.unique(rows)
        raw = rows_as_json(self._batch.take(pa.array(distinct)))
        return pa.RecordBatch.from_arrays(
            [
                pa.array(rows + self._first_row, pa.int64()).take(order),
                pa.concat_arrays(self._columns).take(order),
                pa.concat_arrays(self._values).take(order),
                pa.concat_arrays(self._reasons).cast(pa.string()).take(order),
                raw.take(pa.array(np.searchsorted(distinct, rows))).take(order),
            ],
            schema=REJECTED_SCHEMA,
        )


def source_text(values: pa.Array) -> pa.Array:
    """Cells as the text a steward would recognise (whole floats without ``.0``)."""
    try:
        return text_of(values)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in values.to_pylist()], pa.string())


def rows_as_json(batch: pa.RecordBatch) -> pa.Array:
    """Each row of ``batch`` as a JSON object of its columns, built column-wise."""
    if batch.num_columns == 0:
        return pa.repeat(pa.scalar("{}"), batch.num_rows)
    members = []
    for index, name in enumerate(batch.schema.names):
        key = pa.scalar(json.dumps(name, ensure_ascii=False) + ":")
        members.append(pc.binary_join_element_wise(key, _json_values(batch.column(index)), ""))
    joined = pc.binary_join_element_wise(*members, ",")
    return pc.binary_join_element_wise("{", joined, "}", "")


def _json_values(values: pa.Array) -> pa.Array:
    """JSON text of each value of a column (``null`` for missing ones)."""
    kind = values.type
    if pa.types.is_dictionary(kind):
        return _json_values(values.dictionary_decode())
    if pa.types.is_null(kind):
        return pa.repeat(pa.scalar("null"), len(values))
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_decimal(kind):
        encoded = values.cast(pa.string())
    elif pa.types.is_floating(kind):
        text = values.cast(pa.string())
        finite = pc.is_finite(values)
        encoded = pc.if_else(finite, text, _quoted(text))
    elif _is_text(kind) or pa.types.is_temporal(kind):
        encoded = _quoted(values.cast(pa.string()))
    else:
        encoded = pa.array(
            [json.dumps(_plain(v), ensure_ascii=False) for v in values.to_pylist()], pa.string()
        )
    return pc.fill_null(encoded, "null")


def _is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _quoted(text: pa.Array) -> pa.Array:
    original = text.cast(pa.string())
    text = original
    for plain, escaped in _ESCAPES:
        text = pc.replace_substring(text, pattern=plain, replacement=escaped)
    control = pc.fill_null(pc.match_substring_regex(original, pattern=_CONTROL), False)
    if pc.any(control).as_py():  # rarer control characters: let json spell those cells
        rows = np.flatnonzero(control.to_numpy(zero_copy_only=False))
        spelled = [json.dumps(v, ensure_ascii=False)[1:-1] for v in original.take(rows).to_pylist()]
        mask = np.zeros(len(text), dtype=bool)
        mask[rows] = True
        text = pc.replace_with_mask(text, pa.array(mask), pa.array(spelled, pa.string()))
    return pc.binary_join_element_wise('"', text, '"', "")


def _plain(value: Any) -> Any:
    """A Python value JSON can hold (for the rare nested or binary column)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
