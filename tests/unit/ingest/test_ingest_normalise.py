"""Text normalisation steps over Arrow string arrays."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from rongshu.ingest.normalise import (
    DEFAULT_STEPS,
    apply_steps,
    empty_to_null,
    halfwidth,
    null_markers,
    trim,
    unknown_steps,
)


def test_halfwidth_turns_fullwidth_forms_into_ascii_and_leaves_chinese_alone() -> None:
    values = pa.array(
        ["１３５５０６４９０８６", "ＡＢＣ　ｘｙｚ～！", "福州（分公司）", "、。《》", None]
    )
    assert halfwidth(values).to_pylist() == [
        "13550649086",
        "ABC xyz~!",
        "福州(分公司)",
        "、。《》",
        None,
    ]


def test_halfwidth_covers_the_whole_fullwidth_block_exactly() -> None:
    block = "".join(chr(code) for code in range(0xFF01, 0xFF5F))
    neighbours = "\uff00\uff5f\uff61"  # just outside the block: left as they are
    result = halfwidth(pa.array([block + neighbours])).to_pylist()[0]
    assert result == "".join(chr(code) for code in range(0x21, 0x7F)) + neighbours


def test_halfwidth_of_a_slice_keeps_rows_aligned() -> None:
    values = pa.array(["ｘ", "１", None, "２ａ"]).slice(1)
    assert halfwidth(values).to_pylist() == ["1", None, "2a"]


def test_default_steps_trim_ideographic_spaces_and_empty_cells_become_null() -> None:
    values = pa.array(["\u3000张三\u3000", "   ", "", " 350104 ", None])
    assert apply_steps(values, DEFAULT_STEPS).to_pylist() == ["张三", None, None, "350104", None]


def test_steps_run_in_a_fixed_order_whatever_order_they_are_listed() -> None:
    values = pa.array(["  ｘ１２　３  "])
    assert apply_steps(values, ["no_spaces", "upper", "halfwidth"]).to_pylist() == ["X123"]


def test_null_markers_and_invisible_characters() -> None:
    values = pa.array(["NULL", "n/a", "—", "无", "\ufeff350104\u200b", "正常"])
    cleaned = apply_steps(values, ["invisible", "trim", "null_markers"]).to_pylist()
    assert cleaned == [None, None, None, None, "350104", "正常"]


def test_empty_to_null_keeps_other_values() -> None:
    assert empty_to_null(pa.array(["a", ""])).to_pylist() == ["a", None]
    assert empty_to_null(pa.array(["", None, "b", ""]).slice(1)).to_pylist() == [None, "b", None]


def test_trim_removes_every_character_arrow_counts_as_whitespace() -> None:
    # trim skips columns whose cells cannot start or end with whitespace: it must never skip
    # one that does, whatever the character and however short the cell.
    characters = [chr(c) for c in range(0x3100) if not 0xD800 <= c <= 0xDFFF]
    spaces = [c for c in characters if pc.utf8_trim_whitespace(pa.array([c])).to_pylist() == [""]]
    assert {"\t", " ", "\u00a0", "\u2000", "\u3000"} <= set(spaces)
    for space in spaces:
        for cell in (space, f"{space}号", f"号{space}", f"a{space}", f"{space}1", f"名{space}号"):
            column = pa.array(["张三", cell, "350104"])
            assert trim(column).to_pylist() == pc.utf8_trim_whitespace(column).to_pylist()
    assert null_markers(pa.array(["ok"])).to_pylist() == ["ok"]


@pytest.mark.parametrize("names", [["trim", "shout"], ["Trim"]])
def test_unknown_step_names_are_reported(names: list[str]) -> None:
    assert unknown_steps(names) == [name for name in names if name != "trim"]
