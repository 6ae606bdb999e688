"""The failing rows (问题数据) of runs: the lake table ``<resource code>.failures``.

One row per failing (row, rule) of a run, appended in one commit per run, with the row's key as
a JSON object of the resource's key fields (``{"person_id":"P001"}``), or ``{"_row":n}`` (its
1-based position in the version) when the resource declares no key. Keys are built from Arrow
arrays, never row by row: integers and booleans as JSON numbers and booleans, every other value
as a JSON string of its text (dates in ISO form), null as ``null``; the text is exactly what
``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` writes for the same values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from rongshu.lake.engine import LakeEngine
from rongshu.lake.tables import Lake

FAILURES_SCHEMA: Final = pa.schema(
    [
        pa.field("run_id", pa.int64()),
        pa.field("rule_id", pa.int64()),
        pa.field("rule", pa.string()),
        pa.field("severity", pa.string()),
        pa.field("field", pa.string()),
        pa.field("row_key", pa.string()),
        pa.field("value", pa.string()),
        pa.field("reason", pa.string()),
    ]
)

#: The key of rows of a resource without key fields: their position in the version.
ROW_NUMBER_KEY: Final = "_row"

# What json.dumps writes for the control characters (the rest of Unicode stays as it is).
_CONTROL_ESCAPES: Final = {
    chr(code): {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(code, f"\\u{code:04x}")
    for code in range(32)
}


def failures_table_name(resource_code: str) -> str:
    """The lake table that keeps a resource's failing rows, with reasons, per run."""
    return f"{resource_code}.failures"


def row_keys(names: Sequence[str], columns: Sequence[pa.Array]) -> pa.Array:
    """The JSON key text of each row, from the key columns' arrays (vectorised)."""
    if not names:
        raise ValueError("a row key needs at least one column")
    pieces: list[pa.Array | str] = []
    for index, (name, column) in enumerate(zip(names, columns, strict=True)):
        pieces.append(("{" if index == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":")
        pieces.append(_json_values(column))
    pieces.append("}")
    length = len(columns[0])
    arrays = [
        piece if isinstance(piece, pa.Array) else pa.array([piece] * length, pa.string())
        for piece in pieces
    ]
    return pc.binary_join_element_wise(*arrays, "")


def row_key(values: Mapping[str, object]) -> str:
    """The key text of one row, as ``row_keys`` writes it (to look a row up by its key)."""
    names = list(values)
    columns = [pa.array([values[name]]) for name in names]
    return str(row_keys(names, columns)[0].as_py())


def _json_values(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each value of ``column`` as JSON text; null as ``null``."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_integer(column.type) or pa.types.is_boolean(column.type):
        text = column.cast(pa.string())
    else:
        text = column if pa.types.is_string(column.type) else column.cast(pa.string())
        text = pc.replace_substring(text, "\\", "\\\\")
        text = pc.replace_substring(text, '"', '\\"')
        if pc.any(pc.match_substring_regex(text, "[\\x00-\\x1f]")).as_py():
            for char, escape in _CONTROL_ESCAPES.items():
                text = pc.replace_substring(text, char, escape)
        quote = pa.array(['"'] * len(text), pa.string())
        text = pc.binary_join_element_wise(quote, text, quote, "")
    return pc.fill_null(text, "null")


def failing_keys(
    lake: Lake, engine: LakeEngine, resource_code: str, run_id: int, rule_id: int | None = None
) -> set[str]:
    """Row keys that failed in run ``run_id`` (one rule's, or any rule's)."""
    table = lake.table(failures_table_name(resource_code))
    if not table.exists():
        return set()
    engine.register("failures", table)
    param = engine.dialect.param
    sql = f"SELECT DISTINCT row_key FROM failures WHERE run_id = {param('run')}"  # noqa: S608
    params: dict[str, object] = {"run": run_id}
    if rule_id is not None:
        sql += f" AND rule_id = {param('rule')}"
        params["rule"] = rule_id
    return {str(key) for key in engine.query(sql, params).column("row_key").to_pylist()}


@dataclass(frozen=True)
class RuleKeys:
    """What a correction ticket needs of one rule's failing rows in a run."""

    count: int  # distinct failing row keys
    sample: list[str]  # the first of them in key order
    still_failing: int | None  # of them, how many failed in the earlier run asked about


def rule_keys(
    lake: Lake,
    engine: LakeEngine,
    resource_code: str,
    run_id: int,
    earlier: Mapping[int, int | None],
    sample: int,
) -> dict[int, RuleKeys]:
    """For each rule of ``earlier`` (rule id → an earlier run's id, or None), its failing row
    keys in run ``run_id``: how many, the first ``sample`` in order, and how many of them failed
    that rule in the earlier run too. Two queries in the lake engine, whatever the rows; a rule
    without failing rows is left out."""
    table = lake.table(failures_table_name(resource_code))
    if not earlier or not table.exists():
        return {}
    engine.register("failures", table)
    param = engine.dialect.param
    rules = ", ".join(str(int(rule)) for rule in earlier)
    pairs = [(int(rule), int(run)) for rule, run in earlier.items() if run is not None]
    listed = ", ".join(f"({rule}, {run})" for rule, run in pairs) or "(NULL, NULL)"
    # Both rule ids and run ids are integers written in here, never text from a request.
    now = (
        f"SELECT DISTINCT rule_id, row_key FROM failures WHERE run_id = {param('run')}"  # noqa: S608
        f" AND rule_id IN ({rules})"
    )
    before = (
        "SELECT DISTINCT f.rule_id, f.row_key FROM failures AS f"  # noqa: S608
        f" JOIN (VALUES {listed}) AS e(rule_id, run_id)"
        " ON f.rule_id = e.rule_id AND f.run_id = e.run_id"
    )
    counts = engine.query(
        f"WITH now AS ({now}), before AS ({before})"  # noqa: S608
        " SELECT now.rule_id, count(*) AS keys, count(before.row_key) AS still"
        " FROM now LEFT JOIN before"
        " ON before.rule_id = now.rule_id AND before.row_key = now.row_key"
        " GROUP BY now.rule_id",
        {"run": run_id},
    ).to_pylist()
    first = engine.query(
        f"SELECT rule_id, row_key FROM (SELECT rule_id, row_key, row_number() OVER"  # noqa: S608
        f" (PARTITION BY rule_id ORDER BY row_key) AS n FROM ({now}) AS now) AS ranked"
        f" WHERE n <= {int(sample)} ORDER BY rule_id, row_key",
        {"run": run_id},
    ).to_pylist()
    samples: dict[int, list[str]] = {}
    for row in first:
        samples.setdefault(int(row["rule_id"]), []).append(str(row["row_key"]))
    compared = {rule for rule, _ in pairs}
    return {
        int(row["rule_id"]): RuleKeys(
            int(row["keys"]),
            samples.get(int(row["rule_id"]), []),
            int(row["still"]) if int(row["rule_id"]) in compared else None,
        )
        for row in counts
    }


def write_failures(
    lake: Lake, resource_code: str, run_id: int, batches: Iterable[pa.RecordBatch]
) -> int:
    """Append the run's failing rows in one commit (none when there are none); rows written."""
    stream = iter(batches)
    for first in stream:
        if first.num_rows:
            break
    else:
        return 0

    def rows() -> Iterable[pa.RecordBatch]:
        yield first
        yield from stream

    result = lake.table(failures_table_name(resource_code)).commit(
        rows(), schema=FAILURES_SCHEMA, mode="append", metadata={"run_id": str(run_id)}
    )
    return result.rows_written


def failing_rows(
    lake: Lake,
    resource_code: str,
    run_id: int,
    *,
    rule_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """A page of a run's failing rows (one rule's, or every rule's), ordered by rule and row key:
    ``rule_id``, ``rule``, ``field``, ``row_key``, ``value`` and ``reason`` of each."""
    table = lake.table(failures_table_name(resource_code))
    if not table.exists():
        return []
    with lake.work_engine() as engine:
        engine.register("failures", table)
        param = engine.dialect.param
        sql = (
            "SELECT rule_id, rule, field, row_key, value, reason FROM failures "  # noqa: S608
            f"WHERE run_id = {param('run')}"
        )
        params: dict[str, object] = {"run": run_id, "limit": limit, "offset": offset}
        if rule_id is not None:
            sql += f" AND rule_id = {param('rule')}"
            params["rule"] = rule_id
        sql += f" ORDER BY rule_id, row_key LIMIT {param('limit')} OFFSET {param('offset')}"
        rows: list[dict[str, Any]] = engine.query(sql, params).to_pylist()
    return rows
