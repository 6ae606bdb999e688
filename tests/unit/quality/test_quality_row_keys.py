"""Row keys are built from Arrow arrays exactly as json.dumps writes them."""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa
import pytest

from rongshu.quality.failures import row_key, row_keys

TRICKY = ["P001", 'say "hi"', "back\\slash", "tab\tnew\nline\r", "\x00\x01\x1f\x7f", "公民 ①",
          "\u2028", "", None]  # fmt: skip


def dumps(values: dict[str, object]) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def test_text_keys_are_escaped_as_json_dumps_escapes_them() -> None:
    keys = row_keys(["id"], [pa.array(TRICKY, pa.string())]).to_pylist()
    assert keys == [dumps({"id": value}) for value in TRICKY]
    assert all(json.loads(k) == {"id": v} for k, v in zip(keys, TRICKY, strict=True))


def test_numbers_and_booleans_stay_json_scalars_other_types_become_text() -> None:
    columns = [
        pa.array([1, -20, None], pa.int64()),
        pa.array([True, False, None]),
        pa.array([date(2024, 2, 29), None, date(1, 1, 1)]),
        pa.array([1.5, None, 2.0]),
    ]
    keys = row_keys(["n", "flag", "day", "x"], columns).to_pylist()
    assert keys == [
        dumps({"n": 1, "flag": True, "day": "2024-02-29", "x": "1.5"}),
        dumps({"n": -20, "flag": False, "day": None, "x": None}),
        dumps({"n": None, "flag": None, "day": "0001-01-01", "x": "2"}),
    ]


def test_one_key_reads_as_the_vectorised_ones() -> None:
    assert row_key({"person_id": "RK1", "seq": 3}) == '{"person_id":"RK1","seq":3}'
    assert row_key({"_row": 7}) == '{"_row":7}'
    with pytest.raises(ValueError, match="at least one column"):
        row_keys([], [])
