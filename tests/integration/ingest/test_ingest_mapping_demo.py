"""Field mapping over the demo city's real source files: every defect a mapping should repair is
repaired, and nothing is lost.

The sources are read here with the plainest readers (csv, sqlite3, json, openpyxl), every cell as
text the way a connector hands over a column of mixed cells, so this tests the mapping alone.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest

from rongshu.demo.catalog_resources import table_resource
from rongshu.demo.generator import generate_city
from rongshu.demo.schema import TABLES, SourceFormat, TableSpec
from rongshu.ingest.mapping import FieldMapping, MappedBatch, Mapper
from rongshu.ingest.parsing import DATE_FORM_REASON, FULLWIDTH_REASON


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    out = tmp_path_factory.mktemp("city")
    manifest = generate_city(out, rows=300, seed=1)
    yield out, manifest


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_source(out: Path, summary: Any, table: TableSpec) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a generated source, cells as the file or database gives them."""
    if summary.source is SourceFormat.SQLITE:
        with sqlite3.connect(out / summary.paths[0]) as db:
            cursor = db.execute(f"SELECT * FROM {summary.sql_table}")  # noqa: S608 - our own name
            return [d[0] for d in cursor.description], [list(r) for r in cursor.fetchall()]
    path = out / summary.paths[0]
    if summary.source is SourceFormat.CSV:
        with path.open(encoding=summary.encoding, newline="") as handle:
            rows = list(csv.reader(handle))
        return rows[0], rows[1:]
    if summary.source is SourceFormat.NDJSON:
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    elif summary.source is SourceFormat.JSON:
        records = json.loads(path.read_text(encoding="utf-8"))["data"]
    else:
        workbook = openpyxl.load_workbook(path, read_only=True)
        try:
            sheet = workbook.active
            assert sheet is not None
            cells = list(sheet.iter_rows(values_only=True))
        finally:
            workbook.close()
        header = [f"{group}/{label}" for group, label in _merged_header(cells, table)]
        return header, [[_cell(v) for v in row] for row in cells[summary.header_rows :]]
    header = list(records[0])
    return header, [[record.get(name) for name in header] for record in records]


def _merged_header(cells: list[tuple[Any, ...]], table: TableSpec) -> list[tuple[str, str]]:
    """Group label (merged over several columns) and column label, as a connector flattens them."""
    groups = [label for label, width in table.groups for _ in range(width)]
    return list(zip(groups, [str(v) for v in cells[2]], strict=True))


def as_batch(header: list[str], rows: list[list[Any]]) -> pa.RecordBatch:
    """Every column as text, except columns whose cells are all numbers (JSON, SQLite)."""
    arrays = []
    for index in range(len(header)):
        values = [row[index] for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds and kinds <= {int, float}:
            arrays.append(pa.array(values))
        else:
            arrays.append(pa.array([_cell(v) for v in values], pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=header)


def map_table(out: Path, summary: Any, table: TableSpec) -> tuple[MappedBatch, int, dict[str, int]]:
    fields = table_resource(table).fields
    header, rows = read_source(out, summary, table)
    suggested = FieldMapping.suggest(header, fields)
    assert suggested.unmatched_fields == [] and suggested.ignored == [], table.key
    mapper = Mapper(suggested, fields, source_columns=header)
    batch = as_batch(header, rows)
    half = batch.num_rows // 2  # two batches: row numbers must run on across them
    first = mapper.map(batch.slice(0, half), first_row=1)
    second = mapper.map(batch.slice(half), first_row=half + 1)
    good = pa.Table.from_batches([first.good, second.good]).combine_chunks().to_batches()
    merged = MappedBatch(
        good[0] if good else first.good,
        _concatenated(first.rejected, second.rejected),
        _concatenated(first.repaired, second.repaired),
    )
    key = {v: i for i, v in enumerate(merged.good.column(table.key_column).to_pylist())}
    return merged, len(rows), key


def _concatenated(first: pa.RecordBatch, second: pa.RecordBatch) -> pa.RecordBatch:
    both = pa.Table.from_batches([first, second])
    return both.combine_chunks().to_batches()[0] if both.num_rows else first


def test_every_demo_source_maps_without_loss_and_without_rejects(city: tuple[Path, Any]) -> None:
    out, manifest = city
    tables = {t.key: t for t in TABLES}
    for summary in manifest.tables:
        mapped, count, _ = map_table(out, summary, tables[summary.key])
        rejected_rows = set(mapped.rejected.column("row_number").to_pylist())
        assert mapped.good.num_rows + len(rejected_rows) == count, summary.key
        assert mapped.rejected.num_rows == 0, (summary.key, mapped.rejected.to_pylist()[:3])


def test_mixed_date_formats_and_fullwidth_digits_are_repaired(city: tuple[Path, Any]) -> None:
    out, manifest = city
    tables = {t.key: t for t in TABLES}
    with (out / manifest.defects_path).open(encoding="utf-8", newline="") as handle:
        defects = [d for d in csv.DictReader(handle)
                   if d["kind"] in ("mixed_date_format", "fullwidth_digits")]  # fmt: skip
    assert {d["kind"] for d in defects} == {"mixed_date_format", "fullwidth_digits"}
    mapped_tables = {s.key: map_table(out, s, tables[s.key]) for s in manifest.tables}
    checked = 0
    for defect in defects:
        mapped, _, rows_by_key = mapped_tables[defect["table"]]
        if defect["row_key"] not in rows_by_key:
            continue  # a defect in a row the export left out
        value = mapped.good.column(defect["column"])[rows_by_key[defect["row_key"]]].as_py()
        shown = value.isoformat() if isinstance(value, date) else value
        assert shown == defect["original"], defect
        checked += 1
    assert checked >= len(defects) * 0.9
    # Every repair is recorded, with its reason, and nothing else is (recall and precision 1).
    reasons = {"mixed_date_format": DATE_FORM_REASON, "fullwidth_digits": FULLWIDTH_REASON}
    expected = {
        (d["table"], d["column"], d["row_key"], reasons[d["kind"]])
        for d in defects
        if d["row_key"] in mapped_tables[d["table"]][2]
    }
    recorded = set()
    for key, (mapped, _, _) in mapped_tables.items():
        key_at = tables[key].index(tables[key].key_column)  # sources keep the table's order
        for cell in mapped.repaired.to_pylist():
            row_key = str(list(json.loads(cell["raw"]).values())[key_at])
            recorded.add((key, cell["column"], row_key, cell["reason"].partition(": ")[0]))
    assert recorded == expected
