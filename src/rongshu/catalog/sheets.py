"""Reading spreadsheets the way bureaus write them: .xlsx or CSV, with title rows above the
header, merged group cells over it, blank lines between records, and CSV in UTF-8 or GB18030.

The result is a ``Table`` per sheet: which column holds what (by the caller's header names), and
the data rows keyed by column, each with the row number Excel shows, so that every problem can
be reported where a person will find it. Nothing here knows about the catalog.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypeAlias

import openpyxl

CellValue: TypeAlias = str | int | float | bool | date | datetime | time | timedelta | None

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
HEADER_SCAN_ROWS = 30
MIN_HEADER_MATCHES = 2
LIST_SEPARATORS = re.compile(r"[、,，;；\n]+")


class SheetError(Exception):
    """The file (or one sheet of it) cannot be read at all."""

    def __init__(self, reason: str, *, sheet: str = "", row: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sheet = sheet
        self.row = row


@dataclass(frozen=True)
class Sheet:
    """A sheet's cells, row by row, with merged ranges filled in.

    A merged range's value is repeated in every cell it covers: a group header over its
    columns, a resource cell merged down over the rows of its fields. ``merged`` holds the
    (0-based) cells that received such a copy, so that a copy is not mistaken for a second
    column of the same name.
    """

    name: str
    grid: list[list[CellValue]]
    merged: frozenset[tuple[int, int]] = frozenset()
    encoding: str = ""


@dataclass(frozen=True)
class Row:
    """A data row: its number as Excel shows it (1-based) and its cells by column key."""

    number: int
    values: dict[str, CellValue]

    def get(self, key: str) -> CellValue:
        return self.values.get(key)


@dataclass(frozen=True)
class Table:
    """The records of one sheet, under the header row the caller's column names identify."""

    sheet: str
    header_row: int
    headers: dict[str, str]  # column key -> header as written in the file
    rows: list[Row]
    duplicates: list[tuple[str, int]] = field(default_factory=list)  # (header, 1-based column)

    def header(self, key: str, default: str) -> str:
        """The header as written, or ``default`` when the file has no such column."""
        return self.headers.get(key, default)


# -- reading files ---------------------------------------------------------------------------


def read_sheets(data: bytes, filename: str) -> list[Sheet]:
    """The visible sheets of an .xlsx file, or the one sheet of a CSV file (named after it)."""
    lower = filename.lower()
    if data.startswith(OLE_MAGIC) or lower.endswith(".xls"):
        raise SheetError(
            "不能读取 .xls（Excel 97-2003）或加密的工作簿，请另存为 .xlsx "
            "(old .xls and password-protected workbooks are not read; save as .xlsx)"
        )
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data)
    if lower.endswith((".xlsx", ".xlsm")):
        raise SheetError("文件不是有效的 .xlsx 工作簿 (the file is not a valid .xlsx workbook)")
    return [_read_csv(data, filename)]


def decode_text(data: bytes) -> tuple[str, str]:
    """Text of a CSV file and its encoding: UTF-8 (with or without BOM) or GB18030 (GBK).

    Anything else is refused rather than guessed: a wrong guess turns every Chinese character
    into another one without a trace.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SheetError(
            "文件是 UTF-16 编码，请另存为 UTF-8 或 GB18030 的 CSV "
            "(UTF-16 text is not read; save the CSV as UTF-8 or GB18030)"
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "UTF-8"
        except UnicodeDecodeError as exc:
            raise SheetError(
                f"文件以 UTF-8 标记开头，但第 {exc.start} 字节起不是 UTF-8 "
                "(the file starts with a UTF-8 BOM but is not UTF-8)"
            ) from exc
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError as exc:
        raise SheetError(
            f"文件编码既不是 UTF-8 也不是 GB18030（第 {exc.start} 字节），请另存为 UTF-8 "
            "(the file is neither UTF-8 nor GB18030; save it as UTF-8 CSV)"
        ) from exc


def _read_csv(data: bytes, filename: str) -> Sheet:
    text, encoding = decode_text(data)
    head = text[:4096]
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise SheetError(f"CSV 格式错误 (malformed CSV): {exc}", sheet=filename) from exc
    grid: list[list[CellValue]] = [list(record) for record in records]
    return Sheet(name=filename.rsplit("/", 1)[-1], grid=grid, encoding=encoding)


def _read_xlsx(data: bytes) -> list[Sheet]:
    try:
        with warnings.catch_warnings():
            # Bureau files often carry extensions openpyxl does not know (data validation
            # lists, slicers); it warns and reads the cells anyway, which is all we need.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SheetError(
            f"文件不是有效的 .xlsx 工作簿 (the file is not a valid .xlsx workbook): {exc}"
        ) from exc
    sheets = []
    try:
        for sheet in book.worksheets:
            if sheet.sheet_state != "visible":
                continue  # hidden sheets hold code lists and drafts, not the catalog
            grid: list[list[CellValue]] = [list(r) for r in sheet.iter_rows(values_only=True)]
            merged: set[tuple[int, int]] = set()
            for span in sheet.merged_cells.ranges:
                top, left = span.min_row - 1, span.min_col - 1
                value = grid[top][left] if top < len(grid) and left < len(grid[top]) else None
                for r in range(top, span.max_row):
                    for c in range(left, span.max_col):
                        if (r, c) != (top, left) and r < len(grid) and c < len(grid[r]):
                            grid[r][c] = value
                            merged.add((r, c))
            sheets.append(Sheet(name=sheet.title, grid=grid, merged=frozenset(merged)))
    finally:
        book.close()
    return sheets


# -- finding the table -----------------------------------------------------------------------


def normalise_header(text: str) -> str:
    """A header as compared: NFKC, no whitespace or required-marks (*), lower case."""
    cleaned = unicodedata.normalize("NFKC", text)
    cleaned = re.sub(r"[\s*]+", "", cleaned)
    return cleaned.lower()


def _match(value: CellValue, aliases: Mapping[str, str]) -> str | None:
    if not isinstance(value, str):
        return None
    name = normalise_header(value)
    if name in aliases:
        return aliases[name]
    # A note in brackets after the name: 共享类型(无条件共享/有条件共享/不予共享), 资源代码(必填)
    bare = re.sub(r"\(.*\)$", "", name)
    return aliases.get(bare) if bare else None


def find_table(sheet: Sheet, aliases: Mapping[str, str]) -> Table | None:
    """The sheet's table under its header row, or None when no row looks like a header.

    The header row is the first row (within the first 30) where at least two cells are known
    header names; title rows and group rows above it are skipped. Consecutive header-like
    rows below it (a two-row header with vertically merged cells) belong to the header too,
    the lowest name winning in each column. Rows with nothing in any known column are blank.
    """
    lookup = {normalise_header(k): v for k, v in aliases.items()}
    matches = [
        {c: key for c, value in enumerate(cells) if (key := _match(value, lookup))}
        for cells in sheet.grid[:HEADER_SCAN_ROWS]
    ]
    start = next(
        (i for i, found in enumerate(matches) if len(set(found.values())) >= MIN_HEADER_MATCHES),
        None,
    )
    if start is None:
        return None
    end = start
    while end + 1 < len(matches) and len(set(matches[end + 1].values())) >= MIN_HEADER_MATCHES:
        end += 1

    column_of: dict[str, int] = {}
    headers: dict[str, str] = {}
    duplicates: list[tuple[str, int]] = []
    by_column: dict[int, tuple[int, str]] = {}
    for r in range(start, end + 1):
        for c, key in matches[r].items():
            by_column[c] = (r, key)  # the lowest header row wins in a column
    for c in sorted(by_column):
        r, key = by_column[c]
        written = str(sheet.grid[r][c]).strip()
        if key in column_of:
            if (r, c) not in sheet.merged:
                duplicates.append((written, c + 1))
            continue
        column_of[key] = c
        headers[key] = re.sub(r"\s+", "", written)

    rows = []
    for index in range(end + 1, len(sheet.grid)):
        cells = sheet.grid[index]
        values = {key: _clean(cells[c]) if c < len(cells) else None for key, c in column_of.items()}
        if all(v is None for v in values.values()):
            continue  # a blank line
        if _repeats_header(cells, column_of, lookup):
            continue  # the header repeated further down (pasted sheets, printed pages)
        rows.append(Row(number=index + 1, values=values))
    return Table(
        sheet=sheet.name,
        header_row=end + 1,
        headers=headers,
        rows=rows,
        duplicates=duplicates,
    )


def _repeats_header(
    cells: list[CellValue], column_of: Mapping[str, int], lookup: Mapping[str, str]
) -> bool:
    """Half or more of the columns hold their own header name again."""
    same = sum(
        1 for key, c in column_of.items() if c < len(cells) and _match(cells[c], lookup) == key
    )
    return same >= max(MIN_HEADER_MATCHES, len(column_of) // 2)


def _clean(value: CellValue) -> CellValue:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# -- reading cells ---------------------------------------------------------------------------


def cell_text(value: CellValue) -> str:
    """A cell as text: numbers without a trailing .0, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def cell_list(value: CellValue) -> list[str]:
    """Several values in one cell, separated by 、 , ， ; ； or line breaks."""
    return [part.strip() for part in LIST_SEPARATORS.split(cell_text(value)) if part.strip()]


def cell_int(value: CellValue) -> int | None:
    """A whole number, or None for a blank cell; ValueError otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"「{cell_text(value)}」不是整数 (not a whole number)")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = cell_text(value).replace(",", "")
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
        return int(float(text))
    raise ValueError(f"「{cell_text(value)}」不是整数 (not a whole number)")


TRUE_WORDS = frozenset({"是", "y", "yes", "true", "1", "√", "✓"})
FALSE_WORDS = frozenset({"否", "n", "no", "false", "0", "×"})


def cell_bool(value: CellValue) -> bool:
    """是/否, Y/N, yes/no, true/false, 1/0 (any case); a blank cell is 否."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = cell_text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"「{cell_text(value)}」应为 是 或 否 (expected 是/否, Y/N, true/false, 1/0)")


_DATE_FORMS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


def cell_date(value: CellValue) -> date | None:
    """An Excel date cell, or 2024-01-02, 2024/1/2, 2024.1.2, 2024年1月2日, 20240102."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    # A date-time written as text keeps only its date: 2024-01-02 00:00:00
    text = re.sub(r"[ T]\d{1,2}:\d{2}(:\d{2})?$", "", text)
    for form in _DATE_FORMS:
        found = form.fullmatch(text)
        if found:
            year, month, day = (int(part) for part in found.groups())
            try:
                return date(year, month, day)
            except ValueError:
                break
    raise ValueError(
        f"「{cell_text(value)}」不是日期 (not a date: write 2024-01-02, 2024/1/2, "
        "2024年1月2日 or 20240102)"
    )
