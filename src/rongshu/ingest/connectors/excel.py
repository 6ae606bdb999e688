"""Excel workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) read with calamine (Rust), title rows skipped
and merged, grouped headers flattened from the sheet's merged-cell ranges.

Every column comes out as strings, as with CSV: date cells as ISO dates, whole numbers without
``.0`` (so a date typed as an Excel serial number reaches the mapping as ``43831``), and empty
cells as nulls. Fully empty rows are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import python_calamine as calamine
from pydantic import Field

from rongshu.ingest.connectors.base import (
    DEFAULT_BATCH_ROWS,
    SourceNotFound,
    SourceUnreadable,
    WatermarkFilter,
    check_batch_rows,
    filter_after,
    parse_options,
    register_connector,
    unique_names,
)
from rongshu.ingest.connectors.files import FileOptions, check_files, file_fingerprint
from rongshu.ingest.connectors.header import HEADER_SCAN_ROWS, MergedRange, detect_header


class ExcelOptions(FileOptions):
    """Options of an Excel source."""

    sheet: str | int | None = Field(
        None, description="sheet name, or 1-based position; absent: the first visible sheet"
    )
    header_row: int | None = Field(
        None, ge=0, description="1-based row of the column labels; 0: no header; absent: detect"
    )
    skip_rows: int | None = Field(None, ge=0, description="rows above the label row")


@dataclass(frozen=True)
class _Layout:
    names: list[str]
    data_start: int  # absolute 0-based row of the first data row
    first_column: int  # absolute 0-based column where the sheet's cells start


@register_connector
class ExcelConnector:
    """One sheet of one workbook (or of several workbooks with the same columns)."""

    kind: ClassVar[str] = "excel"

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = parse_options(ExcelOptions, options, self.kind)
        self._paths = check_files(self.options.paths)
        self._layouts: dict[Path, _Layout] = {}
        self._bytes = 0
        self._loaded: tuple[Path, calamine.CalamineSheet] | None = None

    def fingerprint(self) -> str:
        """Size, mtime and the first and last MiB of each workbook."""
        return file_fingerprint(self._paths)

    def columns(self) -> list[str]:
        """Column labels as found (title rows skipped, grouped headers flattened)."""
        return list(self._layout(self._paths[0]).names)

    def preview(self, rows: int = 20) -> pa.Table:
        """The first ``rows`` data rows, as strings."""
        path = self._paths[0]
        taken: list[pa.RecordBatch] = []
        count = 0
        for batch in self._read(path, batch_rows=max(1, rows)):
            taken.append(batch.slice(0, rows - count))
            count += taken[-1].num_rows
            if count >= rows:
                break
        schema = _schema(self.columns())
        return pa.Table.from_batches(taken, schema=schema) if taken else schema.empty_table()

    def batches(
        self, *, batch_rows: int = DEFAULT_BATCH_ROWS, watermark: WatermarkFilter | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Every data row of the sheet in each workbook, as string columns."""
        check_batch_rows(batch_rows)
        self._bytes = 0
        first = self.columns()
        for path in self._paths:
            if path != self._paths[0]:
                names = self._layout(path).names
                if names != first:
                    raise SourceUnreadable(
                        f"{path.name} has other columns than {self._paths[0].name}",
                        details=[{"field": "path", "value": str(path), "columns": names}],
                    )
            for batch in self._read(path, batch_rows=batch_rows):
                yield filter_after(batch, watermark) if watermark is not None else batch

    @property
    def bytes_read(self) -> int:
        """Bytes of the workbooks opened so far (calamine reads a sheet whole)."""
        return self._bytes

    # -- reading -----------------------------------------------------------------------------

    def _sheet(self, path: Path) -> calamine.CalamineSheet:
        try:
            workbook = calamine.CalamineWorkbook.from_path(str(path))
        except calamine.PasswordError:
            raise SourceUnreadable(
                f"{path.name} is password-protected; save an unprotected copy",
                details=[{"field": "path", "value": str(path)}],
            ) from None
        except (calamine.CalamineError, OSError, ValueError) as exc:
            raise SourceUnreadable(
                f"{path.name} is not a readable Excel workbook ({exc})",
                details=[{"field": "path", "value": str(path), "reason": str(exc)}],
            ) from None
        wanted = self.options.sheet
        names = workbook.sheet_names
        try:
            if wanted is None:
                visible = [
                    m.name
                    for m in workbook.sheets_metadata
                    if m.visible == calamine.SheetVisibleEnum.Visible
                    and m.typ == calamine.SheetTypeEnum.WorkSheet
                ]
                return workbook.get_sheet_by_name((visible or names)[0])
            if isinstance(wanted, int):
                if not 1 <= wanted <= len(names):
                    raise calamine.WorksheetNotFound(str(wanted))
                return workbook.get_sheet_by_index(wanted - 1)
            return workbook.get_sheet_by_name(wanted)
        except (calamine.WorksheetNotFound, IndexError):
            raise SourceNotFound(
                f"{path.name} has no sheet {wanted!r}; its sheets: {', '.join(names)}",
                details=[{"field": "sheet", "value": wanted, "sheets": names}],
            ) from None
        except calamine.CalamineError as exc:
            raise SourceUnreadable(
                f"{path.name}: the sheet cannot be read ({exc})",
                details=[{"field": "sheet", "value": wanted, "reason": str(exc)}],
            ) from None

    def _layout(self, path: Path, sheet: calamine.CalamineSheet | None = None) -> _Layout:
        layout = self._layouts.get(path)
        if layout is not None:
            return layout
        if sheet is None:
            # Loading a sheet reads it whole: keep it for the read that usually follows.
            sheet = self._sheet(path)
            self._loaded = (path, sheet)
        first_column = sheet.start[1] if sheet.start else 0
        top = sheet.to_python(skip_empty_area=False, nrows=HEADER_SCAN_ROWS)
        rows = [[_text(cell) for cell in row[first_column:]] for row in top]
        merged: list[MergedRange] = [
            (r0, c0 - first_column, r1, c1 - first_column)
            for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])
            if r0 < HEADER_SCAN_ROWS
        ]
        found = detect_header(
            rows,
            merged=merged,
            header_row=self.options.header_row,
            skip_rows=self.options.skip_rows,
        )
        width = max(len(found.names), sheet.width)
        names = unique_names(
            found.names + [f"column_{i}" for i in range(len(found.names) + 1, width + 1)]
        )
        layout = self._layouts[path] = _Layout(names, found.data_start, first_column)
        return layout

    def _read(self, path: Path, *, batch_rows: int) -> Iterator[pa.RecordBatch]:
        if self._loaded is not None and self._loaded[0] == path:
            sheet = self._loaded[1]
        else:
            sheet = self._sheet(path)
        self._loaded = None
        self._bytes += path.stat().st_size
        layout = self._layout(path, sheet)
        if not layout.names:
            return
        width = len(layout.names)
        rows = sheet.iter_rows()
        start_row = sheet.start[0] if sheet.start else 0
        first = next(rows, None)
        if first is None:
            return
        # Older calamine builds yield rows from the first used row, newer ones pad from row 0.
        padded = start_row == 0 or all(cell == "" for cell in first)
        position = 0 if padded else start_row
        pending: list[list[Any]] = []
        current: list[Any] | None = first
        while current is not None:
            if position >= layout.data_start and current.count("") < len(current):
                pending.append(current)
                if len(pending) >= batch_rows:
                    yield _batch(pending, layout.names, width)
                    pending = []
            position += 1
            current = next(rows, None)
        if pending:
            yield _batch(pending, layout.names, width)


def _schema(names: list[str]) -> pa.Schema:
    return pa.schema([pa.field(name, pa.string()) for name in names])


def _text(cell: Any) -> str | None:
    """A cell as the text the mapping parses; None for an empty cell."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        if cell.is_integer() and abs(cell) < 1e15:
            return str(int(cell))
        return repr(cell)
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, date | time):
        return cell.isoformat()
    if isinstance(cell, timedelta):
        seconds = int(cell.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(cell)


def _column(values: Sequence[Any]) -> pa.Array:
    kinds = set(map(type, values))
    if kinds == {str}:
        array = pa.array(values, pa.string())
        return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
    # Columns of one kind of cell go through Arrow; anything mixed or unusual cell by cell.
    cleaned = [None if value == "" else value for value in values]
    try:
        if kinds <= {str, float}:
            numbers = pa.array(cleaned, pa.float64())
            whole = pc.and_(pc.equal(pc.floor(numbers), numbers), pc.less(pc.abs(numbers), 1e15))
            if pc.all(pc.fill_null(whole, True)).as_py():
                return pc.cast(pc.cast(numbers, pa.int64()), pa.string())
        elif kinds <= {str, date}:
            return pc.cast(pa.array(cleaned, pa.date32()), pa.string())
        elif kinds <= {str, datetime} and not any(v.microsecond for v in cleaned if v):
            return pc.cast(pa.array(cleaned, pa.timestamp("s")), pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        pass
    return pa.array([_text(value) for value in values], pa.string())


def _batch(rows: list[list[Any]], names: list[str], width: int) -> pa.RecordBatch:
    full = [row if len(row) == width else _fit(row, width) for row in rows]
    columns = list(zip(*full, strict=True))
    return pa.RecordBatch.from_arrays([_column(values) for values in columns], names=names)


def _fit(row: Sequence[Any], width: int) -> list[Any]:
    cells = list(row[:width])
    return cells + [""] * (width - len(cells))
