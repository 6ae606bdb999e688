"""Watermarks on exported tables: a leaked piece of an export, re-sorted, cut down and re-saved as
Excel or CSV, still names the recipient it was exported to, and only that recipient."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import xlsxwriter

from rongshu.core.errors import ValidationFailed
from rongshu.security.watermark import embed, survey
from rongshu.security.watermark_trace import TraceResult, read_table_file, trace

ROWS = 20_000
RECIPIENTS = 50
KEY = ["payment_no"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国平春梅兰云志红玉海燕金凤文辉桂荣"
TOWNSHIPS = [
    "城关镇",
    "白沙镇",
    "南通镇",
    "上街镇",
    "荆溪镇",
    "竹岐乡",
    "鸿尾乡",
    "廷坪乡",
    "洋里乡",
]
STREETS = ["温泉路", "八一七北路", "五四路", "华林路", "杨桥中路", "工业路", "福飞路", "铜盘路"]


def _names(rng: np.random.Generator, rows: int) -> list[str]:
    surnames = rng.choice(list(SURNAMES), rows)
    first = rng.choice(list(GIVEN), rows)
    second = rng.choice(list(GIVEN) + [""] * 20, rows)
    return [f"{s}{a}{b}" for s, a, b in zip(surnames, first, second, strict=True)]


def _id_numbers(rng: np.random.Generator, rows: int) -> list[str]:
    first = date(1940, 1, 1).toordinal()
    births = [date.fromordinal(first + int(d)) for d in rng.integers(0, 25_000, rows)]
    order = rng.permutation(rows)
    return [
        f"350121{born:%Y%m%d}{order[i] % 1000:03d}{'0123456789X'[i % 11]}"
        for i, born in enumerate(births)
    ]


def _payments(seed: int = 2024, rows: int = ROWS) -> pa.Table:
    """Subsidy payments (惠民补贴发放): one key, identifiers, an amount and a farmland area."""
    rng = np.random.default_rng(seed)
    cents = rng.integers(20_000, 2_000_000, rows)
    return pa.table(
        {
            "payment_no": [f"BT2024{i:07d}" for i in rng.permutation(rows)],
            "name": _names(rng, rows),
            "id_number": _id_numbers(rng, rows),
            "township": rng.choice(TOWNSHIPS, rows),
            "amount": pa.array([f"{c // 100}.{c % 100:02d}" for c in cents]).cast(
                pa.decimal128(12, 2)
            ),
            "area_mu": np.round(rng.uniform(0.5, 60.0, rows), 1),
            "paid_on": pa.array(
                [date(2024, 3, 1) + timedelta(days=int(d)) for d in rng.integers(0, 200, rows)],
                pa.date32(),
            ),
        }
    )


def _hotline_cases(seed: int = 12345, rows: int = ROWS) -> pa.Table:
    """A text-only table (12345 cases): nothing numeric to mark, so addresses and contents are."""
    rng = np.random.default_rng(seed)
    streets = rng.choice(STREETS, rows)
    numbers = rng.integers(1, 300, rows)
    topics = rng.choice(["噪音扰民", "路灯不亮", "井盖缺失", "占道经营", "垃圾未清运"], rows)
    return pa.table(
        {
            "case_no": [f"12345-{i:08d}" for i in range(rows)],
            "caller": _names(rng, rows),
            "phone": [f"1{n:010d}" for n in rng.integers(3_000_000_000, 9_999_999_999, rows)],
            "address": [f"闽侯县{s}{n}号" for s, n in zip(streets, numbers, strict=True)],
            "content": [f"{s}附近{t}，请尽快处理" for s, t in zip(streets, topics, strict=True)],
        }
    )


@pytest.fixture(scope="module")
def payments() -> pa.Table:
    return _payments()


@pytest.fixture(scope="module")
def keys() -> dict[str, bytes]:
    rng = np.random.default_rng(50)
    return {f"部门{i:02d}": rng.bytes(32) for i in range(RECIPIENTS)}


def _cells(table: pa.Table) -> list[list[object]]:
    return [table.column(name).to_pylist() for name in table.column_names]


def _write_xlsx(table: pa.Table, path: Path) -> None:
    """What an exporter (or a recipient re-saving in Excel) writes: numbers as numbers, dates as
    dates, text as text."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("导出")
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    kinds = [field.type for field in table.schema]
    sheet.write_row(0, 0, table.column_names)
    for row, values in enumerate(zip(*_cells(table), strict=True), start=1):
        for col, (kind, value) in enumerate(zip(kinds, values, strict=True)):
            if value is None:
                continue
            if pa.types.is_date(kind):
                sheet.write_datetime(row, col, value, day)
            elif pa.types.is_decimal(kind) or pa.types.is_floating(kind):
                sheet.write_number(row, col, float(value))
            else:
                sheet.write_string(row, col, str(value))
    workbook.close()


def _write_csv(table: pa.Table, path: Path, encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(table.column_names)
        for row in zip(*_cells(table), strict=True):
            writer.writerow(["" if value is None else str(value) for value in row])


def _leak(
    rng: np.random.Generator, marked: pa.Table, share: float, *, keep: str = "payment_no"
) -> pa.Table:
    """A random share of the rows in random order, less one random column other than ``keep``."""
    rows = rng.permutation(rng.choice(marked.num_rows, int(marked.num_rows * share), False))
    droppable = [name for name in marked.column_names if name != keep]
    return marked.take(rows).drop_columns([droppable[rng.integers(len(droppable))]])


def _trial(
    rng: np.random.Generator,
    table: pa.Table,
    keys: Mapping[str, bytes],
    key: bytes,
    path: Path,
) -> TraceResult:
    marked, _ = embed(table, key, key_columns=KEY)
    _write_xlsx(_leak(rng, marked, 0.10), path)
    return trace(read_table_file(path), table, keys, key_columns=KEY)


@pytest.mark.parametrize("trials", [10, pytest.param(100, marks=pytest.mark.slow)])
def test_a_tenth_of_the_rows_resorted_and_saved_as_excel_names_the_recipient(
    payments: pa.Table, keys: dict[str, bytes], tmp_path: Path, trials: int
) -> None:
    rng = np.random.default_rng(trials)
    names = list(keys)
    named = wrongly_named = 0
    for trial in range(trials):
        recipient = names[rng.integers(len(names))]
        result = _trial(rng, payments, keys, keys[recipient], tmp_path / f"{trial}.xlsx")
        named += result.recipient == recipient
        wrongly_named += result.recipient not in (None, recipient)
        assert result.rows_aligned == ROWS // 10
    assert named >= trials * 99 // 100
    assert wrongly_named == 0


def test_a_file_marked_for_someone_else_names_no_candidate(
    payments: pa.Table, keys: dict[str, bytes], tmp_path: Path
) -> None:
    rng = np.random.default_rng(8)
    for trial in range(5):
        outsider = rng.bytes(32)
        result = _trial(rng, payments, keys, outsider, tmp_path / f"{trial}.xlsx")
        assert result.recipient is None
        assert result.confidence < 0.5
        assert "no recipient singled out" in result.verdict


def test_the_unmarked_export_itself_names_no_candidate(
    payments: pa.Table, keys: dict[str, bytes]
) -> None:
    result = trace(payments.slice(0, 2_000), payments, keys, key_columns=KEY)
    assert result.recipient is None
    assert all(suspect.marks_matched == 0 for suspect in result.suspects)


def test_too_few_rows_to_be_sure_are_reported_as_such(
    payments: pa.Table, keys: dict[str, bytes]
) -> None:
    marked, _ = embed(payments, keys["部门03"], key_columns=KEY)
    result = trace(marked.slice(0, 100), payments, keys, key_columns=KEY)
    assert result.recipient is None
    assert "matching marks" in result.verdict


def test_the_evidence_is_the_chance_of_so_many_matches(
    payments: pa.Table, keys: dict[str, bytes]
) -> None:
    marked, _ = embed(payments, keys["部门11"], key_columns=KEY)
    result = trace(marked.slice(5_000, 2_000), payments, keys, key_columns=KEY)
    best, runner_up = result.suspects[:2]
    assert result.recipient == best.recipient == "部门11"
    assert best.marks_matched == best.marks_compared == result.marks_compared >= 30
    # All n marks matching a fair coin: p = 2^-n.
    assert best.log10_p_value == pytest.approx(-best.marks_compared * math.log10(2))
    assert result.evidence_margin == pytest.approx(runner_up.log10_p_value - best.log10_p_value)
    assert runner_up.marks_matched < runner_up.marks_compared / 4


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_a_csv_without_the_key_column_aligns_on_the_unmarked_columns(
    payments: pa.Table, keys: dict[str, bytes], tmp_path: Path, encoding: str
) -> None:
    rng = np.random.default_rng(9)
    marked, _ = embed(payments, keys["部门42"], key_columns=KEY)
    rows = rng.choice(ROWS, ROWS // 10, replace=False)
    leaked = marked.take(rows).drop_columns(["payment_no", "township"])
    path = tmp_path / "泄露.csv"
    _write_csv(leaked, path, encoding)

    result = trace(read_table_file(path), payments, keys, key_columns=KEY)

    assert result.recipient == "部门42"
    assert result.aligned_on == ("name", "id_number", "paid_on")
    assert result.rows_aligned == ROWS // 10


def test_a_text_only_table_is_marked_invisibly_and_traced(
    keys: dict[str, bytes], tmp_path: Path
) -> None:
    cases = _hotline_cases()
    markable = ["address", "content"]
    marked, report = embed(cases, keys["部门20"], key_columns=["case_no"], markable=markable)

    for name in ["case_no", "caller", "phone"]:
        assert marked.column(name).equals(cases.column(name))
    for name in markable:
        visible = pc.replace_substring_regex(marked.column(name), "[\u200b\u2060]", "")
        assert visible.equals(cases.column(name))
        changed = pc.sum(pc.not_equal(marked.column(name), cases.column(name))).as_py()
        assert changed == next(c.cells_marked for c in report.columns if c.name == name) > 0
    path = tmp_path / "cases.xlsx"
    _write_xlsx(_leak(np.random.default_rng(10), marked, 0.10, keep="case_no"), path)

    result = trace(read_table_file(path), cases, keys, key_columns=["case_no"], markable=markable)

    assert result.recipient == "部门20"


def test_the_change_to_the_data_is_one_unit_in_few_cells(
    payments: pa.Table, keys: dict[str, bytes]
) -> None:
    marked, report = embed(payments, keys["部门07"], key_columns=KEY)

    for name in ["payment_no", "name", "id_number", "township", "paid_on"]:
        assert marked.column(name).equals(payments.column(name))
    assert marked.schema == payments.schema
    changed_rows = np.zeros(ROWS, dtype=bool)
    for change, unit in zip(report.columns, [0.01, 0.1], strict=True):
        before = pc.cast(payments.column(change.name), pa.float64()).to_numpy()
        after = pc.cast(marked.column(change.name), pa.float64()).to_numpy()
        moved = np.round((after - before) / unit)
        changed = moved != 0
        changed_rows |= changed
        assert set(np.unique(moved)) == {-1.0, 0.0, 1.0}
        assert change.unit == unit
        assert change.cells_marked == int(changed.sum())
        assert change.max_absolute_change == pytest.approx(unit)
        assert change.max_relative_change <= report.max_relative_change
        assert change.sum_change == pytest.approx((after - before).sum(), abs=1e-6)
    assert report.markable == ("amount", "area_mu")
    assert report.rows_marked == int(changed_rows.sum())
    assert report.cells == ROWS * payments.num_columns
    assert report.fraction_cells_changed == report.cells_marked / report.cells
    # Documented figures for this table: ~3.5 % of the rows, ~0.9 % of all cells.
    assert 0.02 < report.fraction_rows_changed < 0.05
    assert 0.005 < report.fraction_cells_changed < 0.02


def test_rows_whose_key_repeats_are_left_alone(keys: dict[str, bytes]) -> None:
    table = _payments(rows=2_000)
    repeated = table.column("payment_no").to_pylist()
    repeated[1::2] = repeated[0::2]
    table = table.set_column(0, "payment_no", pa.array(repeated))

    marked, report = embed(table, keys["部门01"], key_columns=KEY, rate=1.0)

    assert report.rows_without_unique_key == 2_000
    assert report.cells_marked == 0
    assert marked.equals(table)


def test_mistakes_are_named(payments: pa.Table, keys: dict[str, bytes], tmp_path: Path) -> None:
    key = keys["部门00"]
    with pytest.raises(ValidationFailed, match="unknown columns: serial"):
        embed(payments, key, key_columns=["serial"])
    with pytest.raises(ValidationFailed, match="key columns are never marked"):
        embed(payments, key, key_columns=KEY, markable=["payment_no", "amount"])
    with pytest.raises(ValidationFailed, match="no float or decimal column"):
        embed(_hotline_cases(rows=10), key, key_columns=["case_no"])
    with pytest.raises(ValidationFailed, match="at least 16 bytes"):
        embed(payments, b"short", key_columns=KEY)

    other = _payments(seed=1, rows=500).set_column(
        0, "payment_no", pa.array([f"XX{i}" for i in range(500)])
    )
    with pytest.raises(ValidationFailed, match="nothing alignable"):
        trace(other, payments, keys, key_columns=KEY)
    with pytest.raises(ValidationFailed, match="none of the watermarked columns"):
        trace(payments.select(["payment_no", "name"]), payments, keys, key_columns=KEY)

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ValidationFailed, match="empty"):
        read_table_file(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("payment_no,amount\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="no rows"):
        read_table_file(header_only)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"a,b\n\xff\xfe\xff,1\n")
    with pytest.raises(ValidationFailed, match="cannot be read as UTF-8 or GB18030"):
        read_table_file(latin)


@pytest.mark.parametrize(
    ("key_columns", "markable"),
    [
        (KEY, None),
        (KEY, ["amount", "area_mu", "township"]),
        (["name"], None),  # thousands of names repeat: those rows carry no mark
        (["area_mu", "paid_on"], None),  # a float in the key: its scale is found first
    ],
)
def test_marks_do_not_depend_on_where_the_batches_are_cut(
    payments: pa.Table,
    keys: dict[str, bytes],
    key_columns: list[str],
    markable: list[str] | None,
) -> None:
    """A streamed export marks batch by batch; it must mark what the whole table would."""
    key = keys["部门03"]
    whole, report = embed(payments, key, key_columns=key_columns, markable=markable)
    cut = pa.Table.from_batches(payments.to_batches(max_chunksize=777))

    found = survey(cut.to_batches, cut.schema, key_columns=key_columns, markable=markable)
    marker = found.watermarker(key)
    pieces = pa.Table.from_batches([marker.mark(b) for b in cut.to_batches()])

    assert report.cells_marked > 0
    assert pieces.combine_chunks().equals(whole.combine_chunks())
    assert marker.report().cells_marked == report.cells_marked
    assert (found.rate, found.markable) == (report.rate, report.markable)
