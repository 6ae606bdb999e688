"""Merge (upsert by key) into a lake table as one new version, in bounded memory.

1. The input is streamed into a staging Delta table under ``<table>/_staging/`` with a running
   row number, so nothing is held in memory and the caller's iterator is read exactly once.
2. A lake engine (DuckDB by default, spilling to the staging directory) refuses empty keys and
   keeps the last row of each key: the same input merged twice gives the same table.
3. Small inputs (at most ``Lake.merge_in_memory_rows`` rows) go through deltalake's MERGE, which
   rewrites only the files holding matched keys; its hash join holds the input in memory.
   Larger inputs are merged by the engine, which streams "old rows whose key is not in the input,
   then the input" into a full snapshot; memory stays within the engine's limit plus the
   Parquet writer's buffers, whatever the sizes, at the cost of rewriting the table.

The SQL here is dialect-neutral, so the merge works with any ``LakeEngine``.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake

from rongshu.core.errors import ValidationFailed
from rongshu.lake.schema import check_compatible, conform_batch
from rongshu.lake.storage import STAGING_DIR

if TYPE_CHECKING:
    from rongshu.lake.engine import LakeEngine
    from rongshu.lake.tables import BatchSource, LakeTable

SEQUENCE = "_rongshu_seq"
_RANK = "_rongshu_rank"


def merge_into(
    table: LakeTable,
    previous: DeltaTable | None,
    source: BatchSource,
    key: Sequence[str],
    properties: Callable[[int | None, int | None], CommitProperties],
) -> None:
    """Upsert ``source`` into ``table`` by ``key`` as one version (the writer lock is held)."""
    from rongshu.lake.tables import HOOKS, LakeTable

    adds_columns = False
    if previous is not None:
        current = pa.schema(previous.schema().to_arrow())
        adds_columns = check_compatible(table.name, current, source.schema)
    staging = table.path / STAGING_DIR / uuid.uuid4().hex
    engine: LakeEngine | None = None
    try:
        staged_schema = source.schema.append(pa.field(SEQUENCE, pa.int64()))
        write_deltalake(
            str(staging / "input"),
            pa.RecordBatchReader.from_batches(staged_schema, _numbered(source, staged_schema)),
            mode="overwrite",
        )
        engine = table.lake.engine(staging / "spill")
        staged = LakeTable(table.lake, f"{table.name} (merge input)", staging / "input")
        engine.register("staged", staged, as_stored=True)
        _refuse_empty_keys(engine, table.name, key)
        deduplicated = _deduplicated(engine, source.schema.names, key)
        if previous is not None and source.rows <= table.lake.merge_in_memory_rows:
            rows = pa.Table.from_batches(
                [conform_batch(b, source.schema) for b in engine.query_batches(deduplicated)],
                schema=source.schema,
            )
            predicate = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in key)
            (
                previous.merge(
                    rows,
                    predicate,
                    source_alias="s",
                    target_alias="t",
                    merge_schema=adds_columns,
                    streamed_exec=False,
                    commit_properties=properties(None, None),
                    post_commithook_properties=HOOKS,
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
            return
        if previous is not None:
            engine.register("target", table, previous.version(), as_stored=True)
        _rewrite(table, engine, previous, source.schema, key, deduplicated, properties)
    finally:
        if engine is not None:
            engine.close()
        shutil.rmtree(staging, ignore_errors=True)


def _rewrite(
    table: LakeTable,
    engine: LakeEngine,
    previous: DeltaTable | None,
    schema: pa.Schema,
    key: Sequence[str],
    deduplicated: str,
    properties: Callable[[int | None, int | None], CommitProperties],
) -> None:
    """Write old rows without a match, then the input, as a full snapshot."""
    from rongshu.lake.tables import HOOKS

    q = engine.dialect.quote
    if previous is None:
        sql = deduplicated
        counts = engine.query(f"SELECT count(*) AS n, 0 AS matched FROM ({deduplicated}) AS d")  # noqa: S608
    else:
        old = set(pa.schema(previous.schema().to_arrow()).names)
        columns = ", ".join(q(c) if c in old else f"NULL AS {q(c)}" for c in schema.names)
        joined = " AND ".join(f"d.{q(k)} = t.{q(k)}" for k in key)
        unmatched = f"NOT EXISTS (SELECT 1 FROM ({deduplicated}) AS d WHERE {joined})"  # noqa: S608
        sql = f"SELECT {columns} FROM target AS t WHERE {unmatched} UNION ALL {deduplicated}"  # noqa: S608
        counts = engine.query(
            f"SELECT (SELECT count(*) FROM ({deduplicated}) AS d) AS n, "  # noqa: S608
            f"(SELECT count(*) FROM target AS t WHERE NOT ({unmatched})) AS matched"
        )
    written = int(counts.column("n")[0].as_py())
    matched = int(counts.column("matched")[0].as_py())

    def rows() -> Iterator[pa.RecordBatch]:
        for batch in engine.query_batches(sql):
            yield conform_batch(batch, schema)

    current = pa.schema(previous.schema().to_arrow()) if previous is not None else None
    write_deltalake(
        str(table.path),
        pa.RecordBatchReader.from_batches(schema, rows()),
        mode="overwrite",
        schema_mode="overwrite" if current is not None and current != schema else None,
        name=table.name if previous is None else None,
        target_file_size=table.lake.target_file_size,
        commit_properties=properties(written, matched),
        post_commithook_properties=HOOKS,
    )


def _numbered(source: BatchSource, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The input with each row's position, so the last row of a key can win."""
    position = 0
    for batch in source:
        numbers = pa.array(range(position, position + batch.num_rows), pa.int64())
        position += batch.num_rows
        yield pa.RecordBatch.from_arrays([*batch.columns, numbers], schema=schema)


def _refuse_empty_keys(engine: LakeEngine, table: str, key: Sequence[str]) -> None:
    q = engine.dialect.quote
    empty = " OR ".join(f"{q(k)} IS NULL" for k in key)
    result = engine.query(f"SELECT count(*) AS n FROM staged WHERE {empty}")  # noqa: S608
    count = int(result.column("n")[0].as_py())
    if count:
        raise ValidationFailed(
            f"{count} input rows have an empty key ({', '.join(key)}); a merge into {table!r} "
            "needs every key column filled, so nothing was written"
        )


def _deduplicated(engine: LakeEngine, columns: Sequence[str], key: Sequence[str]) -> str:
    """SQL for the staged input with only the last row of each key."""
    q = engine.dialect.quote
    listed = ", ".join(q(c) for c in columns)
    partition = ", ".join(q(k) for k in key)
    return (
        f"SELECT {listed} FROM (SELECT *, row_number() OVER "  # noqa: S608
        f"(PARTITION BY {partition} ORDER BY {q(SEQUENCE)} DESC) AS {q(_RANK)} FROM staged) "
        f"AS ranked WHERE {q(_RANK)} = 1"
    )


def _q(name: str) -> str:
    """deltalake's predicate quoting (its SQL parser takes ANSI double quotes)."""
    return '"' + name.replace('"', '""') + '"'
