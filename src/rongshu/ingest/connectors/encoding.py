"""Text encodings of departments' files: detect UTF-8, UTF-8 with BOM and GB18030/GBK, never guess
silently, and transcode to UTF-8 as a stream, naming the byte offset of the first bad byte.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rongshu.core.errors import ValidationFailed
from rongshu.ingest.connectors.base import SourceUnreadable
from rongshu.ingest.connectors.iconv import BadByte, chunk_decoder

#: Bytes looked at to detect the encoding (and the header); more are read only when it is ASCII.
SAMPLE_BYTES = 1 << 20
_CHUNK = 1 << 20

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

#: Names people write for encodings, mapped to the codec that reads them. GBK and GB2312 files
#: are read as GB18030, their superset, so a rare character outside GBK does not fail a load.
_ALIASES = {
    "auto": "auto",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "gb18030": "gb18030",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "cp936": "gb18030",
    "utf-16": "utf-16",
    "utf16": "utf-16",
}


def normalise_encoding(name: str) -> str:
    """The codec for an ``encoding`` option; a clear error for an unknown one."""
    key = name.strip().lower().replace("_", "-")
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise ValidationFailed(
            f"unknown encoding {name!r}; use auto, utf-8, utf-8-sig, gb18030 or gbk",
            details=[{"field": "encoding", "value": name}],
        ) from None


def first_invalid(data: bytes, encoding: str, *, final: bool) -> int | None:
    """Offset of the first byte ``data`` cannot be decoded at, or None when it all decodes.

    With ``final`` false an incomplete character at the very end is not an error (the sample was
    cut there).
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(data, final)
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _is_ascii(data: bytes) -> bool:
    return data.isascii()


def detect_encoding(path: Path, sample: bytes, *, size: int) -> str:
    """``utf-8-sig`` after a BOM, else ``utf-8`` when the sample is valid UTF-8, else ``gb18030``
    when it is valid GB18030, else a ``SourceUnreadable`` naming the bad byte's offset.

    A sample that is pure ASCII says nothing, so the end of the file is looked at too.
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    at_eof = len(sample) >= size
    if _is_ascii(sample) and not at_eof:
        tail = _read_tail(path, size)
        if not _is_ascii(tail):
            return _detect_in_tail(path, tail)
        return "utf-8"
    bad_utf8 = first_invalid(sample, "utf-8", final=at_eof)
    if bad_utf8 is None:
        return "utf-8"
    bad_gb = first_invalid(sample, "gb18030", final=at_eof)
    if bad_gb is None:
        return "gb18030"
    raise _undecodable(path, sample, bad_utf8)


def _read_tail(path: Path, size: int) -> bytes:
    with path.open("rb") as file:
        file.seek(max(0, size - SAMPLE_BYTES))
        return file.read(SAMPLE_BYTES)


def _detect_in_tail(path: Path, tail: bytes) -> str:
    # The tail may start inside a character: skip UTF-8 continuation bytes / try each alignment.
    start = 0
    while start < min(4, len(tail)) and 0x80 <= tail[start] <= 0xBF:
        start += 1
    if first_invalid(tail[start:], "utf-8", final=True) is None:
        return "utf-8"
    for skip in range(4):
        if first_invalid(tail[skip:], "gb18030", final=True) is None:
            return "gb18030"
    raise SourceUnreadable(
        f"{path.name}: the end of the file is neither UTF-8 nor GB18030; set the encoding option",
        details=[{"field": "encoding", "reason": "undetectable"}],
    )


def _undecodable(path: Path, data: bytes, offset: int, base: int = 0) -> SourceUnreadable:
    line = data.count(b"\n", 0, offset) + 1 if base == 0 else None
    where = f"byte offset {base + offset:,}" + (f" (line {line})" if line else "")
    bad = data[offset : offset + 4].hex(" ")
    return SourceUnreadable(
        f"{path.name}: cannot be read as UTF-8 or GB18030: bytes {bad} at {where}; "
        "save it as UTF-8 or GB18030, or set the encoding option",
        details=[{"field": "encoding", "offset": base + offset, "bytes": bad}],
    )


def locate_invalid(path: Path, encoding: str, *, start: int = 0) -> tuple[int, int] | None:
    """(byte offset, line) of the first byte of ``path`` that ``encoding`` cannot decode."""
    decoder = codecs.getincrementaldecoder(encoding)()
    position, lines = start, 0
    with path.open("rb") as file:
        file.seek(start)
        while True:
            chunk = file.read(_CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, not chunk)
            except UnicodeDecodeError as exc:
                offset = position - pending + exc.start
                lines += chunk.count(b"\n", 0, max(0, exc.start - pending))
                return offset, lines + 1
            if not chunk:
                return None
            lines += chunk.count(b"\n")
            position += len(chunk)


def bad_byte_error(path: Path, encoding: str, offset: int, line: int) -> SourceUnreadable:
    """The error for a bad byte found past the sample, with where it is."""
    with path.open("rb") as file:
        file.seek(offset)
        bad = file.read(4).hex(" ")
    return SourceUnreadable(
        f"{path.name}: byte offset {offset:,} (line {line:,}) is not valid {encoding}: "
        f"bytes {bad}; the file mixes encodings or is damaged there",
        details=[{"field": "encoding", "encoding": encoding, "offset": offset, "line": line}],
    )


class Utf8Transcoder(io.RawIOBase):
    """A readable stream of UTF-8 bytes decoded from ``raw`` in ``encoding``, chunk by chunk.

    A bad byte stops the stream with ``error`` set to a ``SourceUnreadable`` naming its offset
    (the reader above may wrap the exception, so callers check ``error``).
    """

    def __init__(self, raw: BinaryIO, encoding: str, path: Path) -> None:
        super().__init__()
        self._raw = raw
        self._decoder = chunk_decoder(encoding)
        self._encoding = encoding
        self._path = path
        self._buffer = memoryview(b"")
        self._eof = False
        self.bytes_in = 0
        self.error: SourceUnreadable | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview | bytearray) -> int:  # type: ignore[override]
        # Short reads are allowed (and cheaper than gluing chunks): 0 bytes only at the end.
        while not len(self._buffer) and not self._eof:
            self._buffer = memoryview(self._decode_more(max(_CHUNK, len(target))))
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count

    def _decode_more(self, size: int) -> bytes:
        chunk = self._raw.read(size)
        try:
            data = self._decoder.decode(chunk, not chunk)
        except BadByte as exc:
            line = _line_of(self._path, exc.offset)
            self.error = bad_byte_error(self._path, self._encoding, exc.offset, line)
            raise self.error from None
        self.bytes_in += len(chunk)
        if not chunk:
            self._eof = True
        return data

    def close(self) -> None:
        self._raw.close()
        super().close()


def _line_of(path: Path, offset: int) -> int:
    lines = 1
    with path.open("rb") as file:
        remaining = offset
        while remaining > 0:
            chunk = file.read(min(_CHUNK, remaining))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            remaining -= len(chunk)
    return lines


class DecodedText:
    """The text of a file in ``encoding``, chunk by chunk, with the bytes read so far.

    A bad byte raises ``SourceUnreadable`` naming its byte offset and line.
    """

    def __init__(self, path: Path, encoding: str, *, chunk: int = _CHUNK) -> None:
        self.path = path
        self.encoding = encoding
        self.bytes_in = 0
        self._chunk = chunk

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding)()
        with self.path.open("rb") as file:
            while True:
                chunk = file.read(self._chunk)
                pending = len(decoder.getstate()[0])
                try:
                    text = decoder.decode(chunk, not chunk)
                except UnicodeDecodeError as exc:
                    offset = self.bytes_in - pending + exc.start
                    raise bad_byte_error(
                        self.path, self.encoding, offset, _line_of(self.path, offset)
                    ) from None
                self.bytes_in += len(chunk)
                if text:
                    yield text
                if not chunk:
                    return


def sniff_encoding(path: Path, option: str) -> str:
    """The encoding to read ``path`` with: the option, or detected when it is ``auto``."""
    if option != "auto":
        return option
    size = path.stat().st_size
    with path.open("rb") as file:
        sample = file.read(SAMPLE_BYTES)
    return detect_encoding(path, sample, size=size)
