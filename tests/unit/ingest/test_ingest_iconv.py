"""GB18030 to UTF-8 in chunks: the fast decoder reads what Python's codec reads, fails where it
fails, and never rejects a valid file.
"""

from __future__ import annotations

import pytest

from rongshu.ingest.connectors.iconv import BadByte, CodecDecoder, chunk_decoder

TEXT = "结婚证字号,男方姓名,登记机关\nJ350121-2024-0000001,黄振浩,榕城市闽侯县民政局 € 𠀀\n" * 500


def _decode_in_chunks(data: bytes, size: int) -> bytes:
    decoder = chunk_decoder("gb18030")
    parts = [decoder.decode(data[i : i + size], False) for i in range(0, len(data), size)]
    return b"".join(parts) + decoder.decode(b"", True)


@pytest.mark.parametrize("size", [1, 7, 4096, 1 << 20])
def test_chunked_decoding_matches_pythons_codec(size: int) -> None:
    data = TEXT.encode("gb18030")
    assert _decode_in_chunks(data, size) == TEXT.encode("utf-8")


def test_bad_byte_is_reported_at_its_stream_offset() -> None:
    data = TEXT.encode("gb18030")
    broken = data[:5000] + b"\x81\x20" + data[5000:]
    for size in (333, 1 << 20):
        with pytest.raises(BadByte) as caught:
            _decode_in_chunks(broken, size)
        assert caught.value.offset == 5000
    with pytest.raises(BadByte) as cut:
        chunk_decoder("gb18030").decode("黄".encode("gb18030")[:1], True)
    assert cut.value.offset == 0


def test_legacy_four_byte_codes_are_read_not_refused() -> None:
    # Older encoders write U+9FB4 (龴) as a four-byte code that newer tables dropped.
    legacy = "龴︐".encode("gb18030")
    assert len(legacy) == 8
    data = TEXT.encode("gb18030") + legacy
    assert _decode_in_chunks(data, 4096).decode("utf-8").endswith("龴︐")


def test_python_codec_decoder_keeps_offsets_across_chunks() -> None:
    decoder = CodecDecoder("gb18030")
    first = "黄振浩".encode("gb18030")
    assert decoder.decode(first[:3], False) == "黄".encode()
    with pytest.raises(BadByte) as caught:
        decoder.decode(first[3:] + b"\xff", True)
    assert caught.value.offset == len(first)
