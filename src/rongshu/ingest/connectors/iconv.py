"""Bytes in a legacy encoding to UTF-8 bytes, in chunks: the C library's iconv where it is there
(about 1.6x Python's GB18030 codec, and it runs outside the GIL, beside Arrow's parser threads),
Python's codecs otherwise.

iconv is used only after it decodes a sample exactly as Python's codec does and reports a bad
byte at the same offset. Where they differ, no row is lost and no valid file fails:

* glibc follows GB18030-2005/2022 for 26 two-byte codes that Python's codec still maps to the
  Private Use Area (e.g. ``A6D9`` is ``︐`` U+FE10, ``FE59`` is ``龴`` U+9FB4, not U+E78D and
  U+E81E), so those come out as the standard characters;
* the 18 four-byte codes that older encoders (Python's, Windows code page 54936) wrote for those
  characters are not in glibc's table: at the first one, the stream is decoded from that chunk on
  by Python's codec, which reads them.
"""

from __future__ import annotations

import codecs
import ctypes
import ctypes.util
import errno
import sys
from functools import cache
from typing import Any, Protocol

_SELF_TEST = "榕城市鼓楼区五四路125号 ABC € 𠀀 〇 ，".encode("gb18030")


class BadByte(Exception):
    """A byte the encoding cannot decode, at ``offset`` in the whole stream."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class ChunkDecoder(Protocol):
    """Decodes a stream chunk by chunk into UTF-8 bytes."""

    def decode(self, chunk: bytes, final: bool) -> bytes:
        """UTF-8 for ``chunk``; an incomplete character waits for the next; ``BadByte`` on junk."""
        ...


class CodecDecoder:
    """Python's incremental codec."""

    def __init__(self, encoding: str, *, offset: int = 0) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)()
        self._offset = offset

    def decode(self, chunk: bytes, final: bool) -> bytes:
        pending = len(self._decoder.getstate()[0])
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise BadByte(self._offset - pending + exc.start) from None
        self._offset += len(chunk)
        return text.encode("utf-8")


class IconvDecoder:
    """The C library's iconv, called through ctypes (which lets go of the GIL meanwhile)."""

    def __init__(self, library: Any, handle: int) -> None:
        self._lib = library
        self._handle = ctypes.c_void_p(handle)
        self._pending = b""
        self._offset = 0  # bytes of the stream converted before ``_pending``
        self._out = ctypes.create_string_buffer(0)
        self._fallback: CodecDecoder | None = None

    def decode(self, chunk: bytes, final: bool) -> bytes:
        if self._fallback is not None:
            return self._fallback.decode(chunk, final)
        try:
            return self._decode(chunk, final)
        except BadByte:
            # Junk, or a code iconv's table lacks: Python's codec decides, from this chunk on.
            self._fallback = CodecDecoder("gb18030", offset=self._offset)
            return self._fallback.decode(self._pending + chunk, final)

    def _decode(self, chunk: bytes, final: bool) -> bytes:
        data = self._pending + chunk if self._pending else chunk
        if not data:
            return b""
        # UTF-8 takes at most 1.5x the bytes of GB18030 (two bytes become three).
        size = 2 * len(data) + 16
        if len(self._out) < size:
            self._out = ctypes.create_string_buffer(size)
        source = ctypes.c_char_p(data)
        source_left = ctypes.c_size_t(len(data))
        target = ctypes.c_char_p(ctypes.addressof(self._out))
        target_left = ctypes.c_size_t(size)
        result = self._lib.iconv(
            self._handle,
            ctypes.byref(source),
            ctypes.byref(source_left),
            ctypes.byref(target),
            ctypes.byref(target_left),
        )
        done = len(data) - source_left.value
        produced = ctypes.string_at(ctypes.addressof(self._out), size - target_left.value)
        if result == ctypes.c_size_t(-1).value:
            problem = ctypes.get_errno()
            if problem == errno.EINVAL and not final:
                self._pending = data[done:]  # a character cut by the chunk's end
                self._offset += done
                return produced
            raise BadByte(self._offset + done)
        self._pending = b""
        self._offset += done
        return produced

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            self._lib.iconv_close(handle)
            handle.value = None


@cache
def _library() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        library = ctypes.CDLL(name, use_errno=True)
        library.iconv_open.restype = ctypes.c_void_p
        library.iconv_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        library.iconv.restype = ctypes.c_size_t
        library.iconv.argtypes = [ctypes.c_void_p, *[ctypes.c_void_p] * 4]
        library.iconv_close.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return library


def _open_iconv(encoding: str) -> IconvDecoder | None:
    library = _library()
    if library is None:
        return None
    handle = library.iconv_open(b"UTF-8", encoding.upper().encode())
    if not handle or handle == ctypes.c_void_p(-1).value:
        return None
    return IconvDecoder(library, handle)


@cache
def _iconv_agrees(encoding: str) -> bool:
    """iconv decodes the sample as Python does, and stops at the same bad byte."""
    try:
        whole = _open_iconv(encoding)
        if whole is None:
            return False
        expected = _SELF_TEST.decode(encoding).encode("utf-8")
        if whole._decode(_SELF_TEST, True) != expected:
            return False
        cut = _open_iconv(encoding)
        if cut is None:
            return False
        halves = cut._decode(_SELF_TEST[:3], False) + cut._decode(_SELF_TEST[3:], True)
        if halves != expected:
            return False
        broken = _open_iconv(encoding)
        if broken is None:
            return False
        try:
            broken._decode(b"ab\x81\x20cd", True)
        except BadByte as exc:
            return exc.offset == 2
        return False
    except (OSError, ValueError, UnicodeError):
        return False


def chunk_decoder(encoding: str) -> ChunkDecoder:
    """The fastest decoder for ``encoding`` that reads exactly as Python's codec."""
    if encoding == "gb18030" and _iconv_agrees(encoding):
        decoder = _open_iconv(encoding)
        if decoder is not None:
            return decoder
    return CodecDecoder(encoding)
