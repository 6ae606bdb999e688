"""Sinks that write the departments' source systems: CSV, Excel, NDJSON, JSON and SQL tables.

Every sink takes rows chunk by chunk and keeps nothing but its open file or connection, so a
table of any size is written in constant memory. Files carry nothing that changes from run to
run (Excel's creation time is pinned), so the same seed gives the same bytes.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
import xlsxwriter

from rongshu.demo.regions import CITY_NAME
from rongshu.demo.schema import TableSpec

Rows = list[list[object]]

#: Rows per worksheet before a workbook rolls over to a new file (Excel's limit is 1 048 576).
XLSX_MAX_ROWS = 1_000_000
#: Header rows of the Excel file: title, column groups, column labels.
XLSX_HEADER_ROWS = 3
_PINNED_TIME = datetime(2025, 1, 1, 9, 0, 0)


class Sink(Protocol):
    """Where one table's rows go."""

    def write(self, rows: Rows) -> None:
        """Append a chunk of rows (in the column order of the table's spec)."""

    def close(self) -> list[Path]:
        """Finish; return the files written (none for a database table)."""


def _json_value(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    return value


class CsvSink:
    """A CSV file with the columns' Chinese labels as header, in the table's encoding."""

    def __init__(self, path: Path, spec: TableSpec) -> None:
        self._path = path
        self._file = path.open("w", encoding=spec.encoding or "utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator=spec.line_terminator)
        self._writer.writerow(column.label for column in spec.columns)

    def write(self, rows: Rows) -> None:
        """Dates print as ISO dates; None prints as an empty field."""
        self._writer.writerows(rows)

    def close(self) -> list[Path]:
        """Close the file."""
        self._file.close()
        return [self._path]


class NdjsonSink:
    """One JSON object per line, keyed by the columns' English names."""

    def __init__(self, path: Path, spec: TableSpec) -> None:
        self._path = path
        self._names = spec.column_names
        self._file = path.open("w", encoding="utf-8", newline="\n")

    def write(self, rows: Rows) -> None:
        """Write each row as a line."""
        names = self._names
        self._file.writelines(
            json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, default=_json_value)
            + "\n"
            for row in rows
        )

    def close(self) -> list[Path]:
        """Close the file."""
        self._file.close()
        return [self._path]


class JsonApiSink:
    """A JSON document shaped like an API response: ``{"code", "msg", "data": [...], "total"}``."""

    def __init__(self, path: Path, spec: TableSpec) -> None:
        self._path = path
        self._names = spec.column_names
        self._file = path.open("w", encoding="utf-8", newline="\n")
        self._file.write('{"code": 0, "msg": "success", "data": [\n')
        self._count = 0

    def write(self, rows: Rows) -> None:
        """Append rows to the ``data`` array."""
        names = self._names
        for row in rows:
            if self._count:
                self._file.write(",\n")
            item = dict(zip(names, row, strict=True))
            self._file.write(json.dumps(item, ensure_ascii=False, default=_json_value))
            self._count += 1

    def close(self) -> list[Path]:
        """Close the array and the document."""
        self._file.write(f'\n], "total": {self._count}}}\n')
        self._file.close()
        return [self._path]


class XlsxSink:
    """An Excel workbook as departments send them: a title row and merged, grouped headers.

    Row 1 is the title merged across all columns, row 2 the column groups (merged over their
    columns), row 3 the column labels; data start on row 4. Dates are date cells. A workbook
    rolls over to ``<name>_002.xlsx`` (and so on) after ``max_rows`` data rows.
    """

    def __init__(
        self, path: Path, spec: TableSpec, title: str, *, max_rows: int = XLSX_MAX_ROWS
    ) -> None:
        self._base = path
        self._spec = spec
        self._title = title
        self._max_rows = max_rows
        self._paths: list[Path] = []
        self._workbook: Any = None
        self._open_next()

    def _open_next(self) -> None:
        if self._workbook is not None:
            self._workbook.close()
        number = len(self._paths) + 1
        path = (
            self._base if number == 1 else self._base.with_stem(f"{self._base.stem}_{number:03d}")
        )
        self._paths.append(path)
        workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        workbook.set_properties({"created": _PINNED_TIME, "author": CITY_NAME})
        sheet = workbook.add_worksheet(self._spec.title[:31])
        title = workbook.add_format({"bold": True, "font_size": 14, "align": "center"})
        head = workbook.add_format(
            {"bold": True, "align": "center", "border": 1, "bg_color": "#DDEBF7"}
        )
        self._date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        last = len(self._spec.columns) - 1
        for index, column in enumerate(self._spec.columns):
            sheet.set_column(index, index, 24 if column.semantic in ("address", "org_name") else 14)
        # Constant-memory mode writes rows in order: title, groups, labels, then data.
        sheet.merge_range(0, 0, 0, last, self._title, title)
        first = 0
        for label, span in self._spec.groups:
            sheet.merge_range(1, first, 1, first + span - 1, label, head)
            first += span
        for index, column in enumerate(self._spec.columns):
            sheet.write_string(2, index, column.label, head)
        self._workbook = workbook
        self._sheet = sheet
        self._row = XLSX_HEADER_ROWS

    def write(self, rows: Rows) -> None:
        """Write rows as typed cells (text, number, date); None leaves a cell blank."""
        for row in rows:
            if self._row - XLSX_HEADER_ROWS >= self._max_rows:
                self._open_next()
            sheet, number = self._sheet, self._row
            for col, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(number, col, value)
                elif isinstance(value, date):
                    sheet.write_datetime(number, col, value, self._date)
                else:
                    sheet.write_number(number, col, value)
            self._row += 1

    def close(self) -> list[Path]:
        """Close the current workbook; return every file written."""
        self._workbook.close()
        return list(self._paths)


def _sql_rows(spec: TableSpec, rows: Rows) -> list[tuple[object, ...]]:
    # Legacy systems keep dates in text columns, which is how mixed formats got in: dates as text.
    dates = [i for i, column in enumerate(spec.columns) if column.semantic == "date"]
    out: list[tuple[object, ...]] = []
    for row in rows:
        values = list(row)
        for i in dates:
            value = values[i]
            if value is not None and not isinstance(value, str):
                values[i] = value.isoformat() if isinstance(value, date) else str(value)
        out.append(tuple(values))
    return out


_SQLITE_TYPES = {"text": "TEXT", "integer": "INTEGER", "real": "REAL"}


class SqliteSink:
    """A table in the departments' SQLite database (one connection shared by all its tables)."""

    def __init__(self, connection: sqlite3.Connection, spec: TableSpec) -> None:
        self._connection = connection
        self._spec = spec
        columns = ", ".join(
            f'"{c.name}" {_SQLITE_TYPES[c.type]}'
            + (" PRIMARY KEY" if c.name == spec.key_column else "")
            for c in spec.columns
        )
        connection.execute(f'DROP TABLE IF EXISTS "{spec.sql_table}"')
        connection.execute(f'CREATE TABLE "{spec.sql_table}" ({columns})')
        marks = ", ".join("?" for _ in spec.columns)
        self._insert = f'INSERT INTO "{spec.sql_table}" VALUES ({marks})'  # noqa: S608

    def write(self, rows: Rows) -> None:
        """Insert a chunk (the caller commits)."""
        self._connection.executemany(self._insert, _sql_rows(self._spec, rows))

    def close(self) -> list[Path]:
        """Nothing to close: the connection belongs to the caller."""
        return []


def _sa_type(spec: TableSpec, name: str, kind: str) -> Any:
    if kind == "integer":
        return sa.BigInteger()
    if kind == "real":
        return sa.Double()
    return sa.String(64 if name == spec.key_column else 255)


def sql_table(spec: TableSpec, metadata: sa.MetaData) -> sa.Table:
    """The SQLAlchemy table of a SQL-delivered source table (labels become column comments)."""
    columns = [
        sa.Column(
            column.name,
            _sa_type(spec, column.name, column.type),
            primary_key=column.name == spec.key_column,
            comment=column.label,
        )
        for column in spec.columns
    ]
    return sa.Table(spec.sql_table, metadata, *columns, comment=spec.title, mysql_charset="utf8mb4")


class SqlAlchemySink:
    """A table in an external database (PostgreSQL, MariaDB/MySQL), dropped and recreated."""

    def __init__(self, engine: sa.Engine, spec: TableSpec) -> None:
        self._engine = engine
        self._spec = spec
        self._table = sql_table(spec, sa.MetaData())
        self._table.drop(engine, checkfirst=True)
        self._table.create(engine)
        self._names = spec.column_names

    def write(self, rows: Rows) -> None:
        """Insert a chunk in one transaction (executemany)."""
        names = self._names
        params = [dict(zip(names, row, strict=True)) for row in _sql_rows(self._spec, rows)]
        with self._engine.begin() as connection:
            connection.execute(self._table.insert(), params)

    def close(self) -> list[Path]:
        """Nothing to close: the engine belongs to the caller."""
        return []
