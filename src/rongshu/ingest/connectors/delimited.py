"""CSV and TSV files: encoding detected (UTF-8, UTF-8 with BOM, GB18030/GBK), delimiter detected,
title rows skipped and grouped headers merged; read by Arrow's multithreaded streaming parser.

Every column comes out as strings (empty cells as nulls): departments write ``2020年1月2日`` and
full-width digits, and parsing those is the mapping's job, not the reader's.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import pyarrow as pa
import pyarrow.csv as pcsv
from pydantic import Field, field_validator

from rongshu.ingest.connectors.base import (
    DEFAULT_BATCH_ROWS,
    SourceUnreadable,
    WatermarkFilter,
    check_batch_rows,
    filter_after,
    parse_options,
    register_connector,
    split_batch,
)
from rongshu.ingest.connectors.encoding import (
    SAMPLE_BYTES,
    Utf8Transcoder,
    bad_byte_error,
    detect_encoding,
    locate_invalid,
    normalise_encoding,
)
from rongshu.ingest.connectors.files import FileOptions, check_files, file_fingerprint
from rongshu.ingest.connectors.header import HEADER_SCAN_ROWS, detect_header

_DELIMITERS = (",", "\t", ";", "|")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_MIN_BLOCK = 1 << 20
_MAX_BLOCK = 64 << 20
#: Rows with the wrong number of fields kept at most (with ``bad_rows: reject``) before giving up.
MAX_BAD_ROWS = 100_000


class CsvOptions(FileOptions):
    """Options of a CSV/TSV source."""

    encoding: str = Field("auto", description="auto, utf-8, utf-8-sig, gb18030 or gbk")
    delimiter: str | None = Field(None, description="one character; detected when absent")
    quote_char: str = '"'
    header_row: int | None = Field(
        None, ge=0, description="1-based row of the column labels; 0: no header; absent: detect"
    )
    skip_rows: int | None = Field(None, ge=0, description="rows above the label row")
    bad_rows: Literal["error", "reject"] = Field(
        "error",
        description="a row with the wrong number of fields stops the read, or is set aside",
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        return normalise_encoding(value)

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        value = _DELIMITER_NAMES.get(value.lower(), value)
        if len(value) != 1 or value in "\r\n":
            raise ValueError("the delimiter is one character, such as , or tab")
        return value

    @field_validator("quote_char")
    @classmethod
    def _one_quote(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError("the quote character is one character")
        return value


@dataclass(frozen=True)
class BadRow:
    """A row set aside because its number of fields does not match the header."""

    path: str
    expected_columns: int
    actual_columns: int
    text: str


@dataclass(frozen=True)
class _Plan:
    """How to read one file."""

    path: Path
    encoding: str
    delimiter: str
    skip_lines: int
    names: list[str]
    longest_line: int


@register_connector
class CsvConnector:
    """CSV/TSV files (one or several with the same columns)."""

    kind: ClassVar[str] = "csv"

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = parse_options(CsvOptions, options, self.kind)
        self._paths = check_files(self.options.paths)
        self._plans: dict[Path, _Plan] = {}
        self._bytes_done = 0
        self._bytes_current = 0
        #: Rows set aside under ``bad_rows: reject``, for the load's rejected rows.
        self.bad_rows: list[BadRow] = []

    # -- planning ----------------------------------------------------------------------------

    def _plan(self, path: Path) -> _Plan:
        plan = self._plans.get(path)
        if plan is None:
            plan = self._plans[path] = self._make_plan(path)
        return plan

    def _make_plan(self, path: Path) -> _Plan:
        size = path.stat().st_size
        with path.open("rb") as file:
            sample = file.read(SAMPLE_BYTES)
        at_eof = len(sample) >= size
        encoding = self.options.encoding
        if encoding == "auto":
            encoding = detect_encoding(path, sample, size=size)
        text = _decode_sample(path, sample, encoding, at_eof=at_eof)
        delimiter = self.options.delimiter or _detect_delimiter(text, path)
        rows, line_after = _sample_rows(text, delimiter, self.options.quote_char, path)
        layout = detect_header(
            rows, header_row=self.options.header_row, skip_rows=self.options.skip_rows
        )
        skip_lines = line_after[layout.data_start - 1] if layout.data_start else 0
        sampled = text.encode("utf-8")
        longest = max((len(line) for line in sampled.split(b"\n")), default=0)
        plan = _Plan(path, encoding, delimiter, skip_lines, layout.names, longest)
        if path != self._paths[0]:
            first = self._plan(self._paths[0])
            if plan.names != first.names:
                raise SourceUnreadable(
                    f"{path.name} has other columns than {first.path.name}",
                    details=[{"field": "path", "value": str(path), "columns": plan.names}],
                )
        return plan

    # -- the interface -----------------------------------------------------------------------

    def fingerprint(self) -> str:
        """Size, mtime and the first and last MiB of each file."""
        return file_fingerprint(self._paths)

    def columns(self) -> list[str]:
        """Column labels as found (after title rows; grouped headers merged)."""
        return list(self._plan(self._paths[0]).names)

    def preview(self, rows: int = 20) -> pa.Table:
        """The first ``rows`` rows, as strings."""
        taken: list[pa.RecordBatch] = []
        count = 0
        for batch in self._read(self._plan(self._paths[0])):
            taken.append(batch.slice(0, rows - count))
            count += taken[-1].num_rows
            if count >= rows:
                break
        schema = _schema(self.columns())
        return pa.Table.from_batches(taken, schema=schema) if taken else schema.empty_table()

    def batches(
        self, *, batch_rows: int = DEFAULT_BATCH_ROWS, watermark: WatermarkFilter | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Every data row of every file, as string columns."""
        check_batch_rows(batch_rows)
        self._bytes_done = self._bytes_current = 0
        self.bad_rows = []
        for path in self._paths:
            pending: list[pa.RecordBatch] = []
            count = 0
            for batch in self._read(self._plan(path)):
                if watermark is not None:
                    batch = filter_after(batch, watermark)
                pending.append(batch)
                count += batch.num_rows
                if count >= batch_rows:
                    yield from split_batch(_joined(pending), batch_rows)
                    pending, count = [], 0
            if count:
                yield _joined(pending)
            self._bytes_done += path.stat().st_size
            self._bytes_current = 0

    @property
    def bytes_read(self) -> int:
        """Bytes of the files read so far."""
        return self._bytes_done + self._bytes_current

    # -- reading -----------------------------------------------------------------------------

    def _read(self, plan: _Plan) -> Iterator[pa.RecordBatch]:
        if not plan.names:
            return
        # Arrow reads some 30 blocks ahead: small blocks keep memory flat (and parse as fast);
        # batches are put back together to about ``batch_rows`` below.
        block = min(_MAX_BLOCK, max(_MIN_BLOCK, plan.longest_line * 16))
        read_options = pcsv.ReadOptions(
            skip_rows=plan.skip_lines, column_names=plan.names, block_size=block
        )
        parse_options = pcsv.ParseOptions(
            delimiter=plan.delimiter,
            quote_char=self.options.quote_char,
            newlines_in_values=True,
            invalid_row_handler=self._set_aside(plan)
            if self.options.bad_rows == "reject"
            else None,
        )
        convert_options = pcsv.ConvertOptions(
            column_types=dict.fromkeys(plan.names, pa.string()),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        )
        transcoder: Utf8Transcoder | None = None
        source: pa.NativeFile | Utf8Transcoder
        if plan.encoding in ("utf-8", "utf-8-sig"):
            source = pa.OSFile(str(plan.path))
        else:
            transcoder = Utf8Transcoder(plan.path.open("rb"), plan.encoding, plan.path)
            source = transcoder
        try:
            reader = pcsv.open_csv(
                source,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
            for batch in reader:
                self._bytes_current = (
                    transcoder.bytes_in if transcoder is not None else source.tell()
                )
                yield batch
        except SourceUnreadable:
            raise
        except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
            if transcoder is not None and transcoder.error is not None:
                raise transcoder.error from None
            raise self._read_error(plan, exc) from None
        finally:
            source.close()

    def _read_error(self, plan: _Plan, exc: Exception) -> SourceUnreadable:
        message = str(exc)
        if "invalid utf8" in message.lower():
            found = locate_invalid(plan.path, plan.encoding)
            if found is not None:
                return bad_byte_error(plan.path, plan.encoding, *found)
        if "Expected" in message and "columns" in message:
            message += " (set bad_rows: reject to set such rows aside, or check the delimiter)"
        return SourceUnreadable(
            f"{plan.path.name}: {message}",
            details=[{"field": "path", "value": str(plan.path), "reason": message}],
        )

    def _set_aside(self, plan: _Plan) -> Any:
        def handle(row: Any) -> str:
            if len(self.bad_rows) >= MAX_BAD_ROWS:
                return "error"
            self.bad_rows.append(
                BadRow(str(plan.path), row.expected_columns, row.actual_columns, row.text)
            )
            return "skip"

        return handle


def _joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _schema(names: list[str]) -> pa.Schema:
    return pa.schema([pa.field(name, pa.string()) for name in names])


def _decode_sample(path: Path, sample: bytes, encoding: str, *, at_eof: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        text = decoder.decode(sample, at_eof)
    except UnicodeDecodeError as exc:
        line = sample.count(b"\n", 0, exc.start) + 1
        raise bad_byte_error(path, encoding, exc.start, line) from None
    text = text.removeprefix("\ufeff")  # a BOM under an explicit utf-8
    if not at_eof:
        # The sample was cut mid-line: keep whole lines only.
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut >= 0 else text
    return text


def _sample_rows(
    text: str, delimiter: str, quote_char: str, path: Path
) -> tuple[list[list[str]], list[int]]:
    """The first rows of the sample, and after each row the number of physical lines read."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote_char)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            rows.append(row)
            lines.append(reader.line_num)
            if len(rows) >= HEADER_SCAN_ROWS:
                break
    except csv.Error as exc:
        raise SourceUnreadable(
            f"{path.name}: not a readable delimited text file ({exc})",
            details=[{"field": "path", "reason": str(exc)}],
        ) from None
    return rows, lines


def _detect_delimiter(text: str, path: Path) -> str:
    """The candidate that splits most sample rows into the same number (> 1) of fields."""
    preferred = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    candidates = (preferred, *[d for d in _DELIMITERS if d != preferred])
    best, best_score = preferred, 0
    head = text[:65536]
    for candidate in candidates:
        if candidate not in head:
            continue
        reader = csv.reader(io.StringIO(head, newline=""), delimiter=candidate)
        try:
            counts = Counter(
                len(row) for _, row in zip(range(HEADER_SCAN_ROWS), reader, strict=False)
            )
        except csv.Error:
            continue
        width, rows = max(counts.items(), key=lambda item: (item[1], item[0]), default=(0, 0))
        score = rows if width > 1 else 0
        if score > best_score:
            best, best_score = candidate, score
    return best
