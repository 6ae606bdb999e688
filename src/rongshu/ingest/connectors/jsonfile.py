"""JSON files: an array of records, NDJSON (one record per line), or an API-shaped document such
as ``{"code": 0, "data": [...]}`` with the records at ``records_path``. All are streamed: only
one record (and one batch) is in memory at a time, however large the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field, field_validator

from rongshu.ingest.connectors.base import (
    DEFAULT_BATCH_ROWS,
    SourceUnreadable,
    WatermarkFilter,
    check_batch_rows,
    filter_after,
    parse_options,
    register_connector,
)
from rongshu.ingest.connectors.encoding import DecodedText, normalise_encoding, sniff_encoding
from rongshu.ingest.connectors.files import FileOptions, check_files, file_fingerprint
from rongshu.ingest.connectors.records import RecordBatcher, sample_columns, text_schema

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"
#: Broken NDJSON lines kept at most (with ``bad_rows: reject``) before giving up.
MAX_BAD_ROWS = 100_000
#: A single record larger than this is taken for broken JSON rather than read on.
MAX_RECORD_CHARS = 64 << 20
_HEAD_CHARS = 4 << 20


class JsonOptions(FileOptions):
    """Options of a JSON source."""

    format: Literal["auto", "array", "ndjson", "object"] = Field(
        "auto", description="array of records, one record per line, or a document holding them"
    )
    records_path: str | None = Field(
        None, description="dotted path of the records in a document, e.g. data or result.items"
    )
    encoding: str = "auto"
    bad_rows: Literal["error", "reject"] = Field(
        "error", description="an NDJSON line that is not JSON stops the read, or is set aside"
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        return normalise_encoding(value)


@dataclass(frozen=True)
class BadLine:
    """An NDJSON line set aside because it is not valid JSON."""

    path: str
    line: int
    text: str
    reason: str


@register_connector
class JsonConnector:
    """JSON and NDJSON files."""

    kind: ClassVar[str] = "json"

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = parse_options(JsonOptions, options, self.kind)
        self._paths = check_files(self.options.paths)
        self._columns: list[str] | None = None
        self._done = 0
        self._current: DecodedText | None = None
        self.bad_rows: list[BadLine] = []

    def fingerprint(self) -> str:
        """Size, mtime and the first and last MiB of each file."""
        return file_fingerprint(self._paths)

    def columns(self) -> list[str]:
        """Keys of the first records (nested objects flattened with dots)."""
        if self._columns is None:
            self._columns = sample_columns(self._records(self._paths[0], sampling=True))
        return list(self._columns)

    def preview(self, rows: int = 20) -> pa.Table:
        """The first ``rows`` records, as strings."""
        batcher = RecordBatcher(self.columns())
        for record in islice(self._records(self._paths[0], sampling=True), rows):
            batcher.add(record)
        if not len(batcher):
            return text_schema(batcher.columns).empty_table()
        return pa.Table.from_batches([batcher.flush()])

    def batches(
        self, *, batch_rows: int = DEFAULT_BATCH_ROWS, watermark: WatermarkFilter | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Every record of every file, as string columns."""
        check_batch_rows(batch_rows)
        batcher = RecordBatcher(self.columns())
        self._done = 0
        self.bad_rows = []
        for path in self._paths:
            for record in self._records(path):
                batcher.add(record)
                if len(batcher) >= batch_rows:
                    yield _filtered(batcher.flush(), watermark)
            if self._current is not None:
                self._done += self._current.bytes_in
                self._current = None
        if len(batcher):
            yield _filtered(batcher.flush(), watermark)

    @property
    def bytes_read(self) -> int:
        """Bytes of the files read so far."""
        return self._done + (self._current.bytes_in if self._current is not None else 0)

    # -- reading -----------------------------------------------------------------------------

    def _records(self, path: Path, *, sampling: bool = False) -> Iterator[Any]:
        text = DecodedText(path, sniff_encoding(path, self.options.encoding))
        self._current = text
        chunks = iter(text)
        stream = _TextStream(chunks, path)
        kind: str = self.options.format
        if kind == "auto":
            kind = _detect_format(stream, path, records_path=self.options.records_path)
        if kind == "ndjson":
            yield from self._lines(stream, path, sampling=sampling)
            return
        stream.skip_whitespace()
        opening = stream.peek()
        if kind == "array" or (opening == "[" and not self.options.records_path):
            stream.expect("[")
            yield from stream.array_items()
        else:
            stream.expect("{")
            yield from stream.records_in_object(self.options.records_path)
        stream.skip_whitespace()
        if stream.peek():
            raise stream.error("unexpected text after the end of the JSON document")

    def _lines(self, stream: _TextStream, path: Path, *, sampling: bool) -> Iterator[Any]:
        for number, line in enumerate(stream.lines(), start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                if self.options.bad_rows == "reject" and len(self.bad_rows) < MAX_BAD_ROWS:
                    if not sampling:
                        self.bad_rows.append(BadLine(str(path), number, line[:2000], exc.msg))
                    continue
                raise SourceUnreadable(
                    f"{path.name}: line {number:,} is not valid JSON ({exc.msg} at column "
                    f"{exc.colno})",
                    details=[{"field": "path", "line": number, "reason": exc.msg}],
                ) from None


def _filtered(batch: pa.RecordBatch, watermark: WatermarkFilter | None) -> pa.RecordBatch:
    return filter_after(batch, watermark) if watermark is not None else batch


def _detect_format(stream: _TextStream, path: Path, *, records_path: str | None) -> str:
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        return "ndjson"
    stream.skip_whitespace()
    first = stream.peek()
    if first == "[":
        return "array"
    if first != "{":
        raise stream.error("a JSON file starts with [ or {")
    if records_path:
        return "object"
    # One object per line, or one document? Look past the first line.
    head = stream.head_lines(2)
    if len(head) == 2 and head[1].lstrip().startswith("{"):
        try:
            json.loads(head[0])
            return "ndjson"
        except json.JSONDecodeError:
            pass
    return "object"


class _TextStream:
    """An incremental JSON reader over chunks of text."""

    def __init__(self, chunks: Iterator[str], path: Path) -> None:
        self._chunks = chunks
        self._path = path
        self._buffer = ""
        self._pos = 0
        self._consumed = 0  # characters dropped from the front of the buffer
        self._eof = False

    def _more(self) -> bool:
        if self._eof:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self._eof = True
            return False
        if self._pos:
            self._consumed += self._pos
            self._buffer = self._buffer[self._pos :]
            self._pos = 0
        self._buffer += chunk
        return True

    def error(self, message: str) -> SourceUnreadable:
        at = self._consumed + self._pos
        return SourceUnreadable(
            f"{self._path.name}: {message} (at character {at:,})",
            details=[{"field": "path", "offset": at, "reason": message}],
        )

    def peek(self) -> str:
        while self._pos >= len(self._buffer):
            if not self._more():
                return ""
        return self._buffer[self._pos]

    def skip_whitespace(self) -> None:
        while True:
            while self._pos < len(self._buffer) and self._buffer[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buffer) or not self._more():
                return

    def expect(self, char: str) -> None:
        self.skip_whitespace()
        if self.peek() != char:
            found = self.peek() or "the end of the file"
            raise self.error(f"expected {char!r}, found {found!r}")
        self._pos += 1

    def value(self) -> Any:
        """The next JSON value, reading more text until it is complete."""
        self.skip_whitespace()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                # Incomplete, or broken: read on, but not without bound.
                if len(self._buffer) - self._pos < MAX_RECORD_CHARS and self._more():
                    continue
                raise self.error(f"invalid JSON: {exc.msg}") from None
            # A number at the very end of the buffer may go on in the next chunk.
            if end >= len(self._buffer) and not self._eof and self._more():
                continue
            self._pos = end
            return value

    def array_items(self) -> Iterator[Any]:
        """Items of an array whose ``[`` was just read."""
        self.skip_whitespace()
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield self.value()
            self.skip_whitespace()
            separator = self.peek()
            self._pos += 1
            if separator == "]":
                return
            if separator != ",":
                self._pos -= 1
                raise self.error(
                    f"expected ',' or ']' in the array, found {separator or 'the end'!r}"
                )

    def records_in_object(self, path: str | None, full_path: str | None = None) -> Iterator[Any]:
        """Records of the list at dotted ``path`` inside an object whose ``{`` was just read;
        without a path, of the first member that is a list.
        """
        parts = path.split(".") if path else []
        while True:
            self.skip_whitespace()
            if self.peek() == "}":
                self._pos += 1
                break
            key = self.value()
            self.expect(":")
            self.skip_whitespace()
            wanted = (parts and key == parts[0]) or (not parts and self.peek() == "[")
            if wanted and len(parts) <= 1:
                self.expect("[")
                yield from self.array_items()
                self._skip_rest_of_object()
                return
            if wanted and self.peek() == "{":
                self._pos += 1
                yield from self.records_in_object(".".join(parts[1:]), full_path or path)
                self._skip_rest_of_object()
                return
            self.value()  # a member we do not want: read past it
            self.skip_whitespace()
            if self.peek() == ",":
                self._pos += 1
        raise self.error(
            f"no records at {full_path or path!r}"
            if path
            else "the document holds no list of records; set records_path"
        )

    def _skip_rest_of_object(self) -> None:
        while True:
            self.skip_whitespace()
            char = self.peek()
            if char == "}":
                self._pos += 1
                return
            if char == ",":
                self._pos += 1
                self.value()
                self.expect(":")
                self.value()
                continue
            raise self.error(f"expected ',' or '}}', found {char or 'the end'!r}")

    def head_lines(self, count: int) -> list[str]:
        """The first ``count`` lines from the current position, without consuming them."""
        while (
            self._buffer.count("\n", self._pos) < count
            and len(self._buffer) - self._pos < _HEAD_CHARS
            and self._more()
        ):
            pass
        return self._buffer[self._pos :].split("\n", count)[:count]

    def lines(self) -> Iterator[str]:
        """The remaining text, line by line."""
        while True:
            newline = self._buffer.find("\n", self._pos)
            if newline < 0:
                if self._more():
                    continue
                rest = self._buffer[self._pos :]
                self._pos = len(self._buffer)
                if rest:
                    yield rest
                return
            yield self._buffer[self._pos : newline]
            self._pos = newline + 1
