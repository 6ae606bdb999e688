"""generate_city's contract: deterministic bytes, clean reruns, validation, progress."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from rongshu.core.errors import ValidationFailed
from rongshu.demo.generator import generate_city
from rongshu.demo.schema import STUDENT_STATUS
from rongshu.demo.writers import XlsxSink


def _hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_seed_and_rows_give_byte_identical_files(tmp_path: Path) -> None:
    generate_city(tmp_path / "a", rows=3_000, seed=7)
    generate_city(tmp_path / "b", rows=3_000, seed=7)
    first, second = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    # 10 source files, the SQLite database, the catalog workbook, 4 ground-truth files
    assert len(first) == 16
    assert first == second


def test_another_seed_gives_another_city(tmp_path: Path) -> None:
    generate_city(tmp_path / "a", rows=1_000, seed=1)
    generate_city(tmp_path / "b", rows=1_000, seed=2)
    first, second = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert first.keys() == second.keys()
    # The catalog and the PII columns describe the tables, not their rows: the same for every seed.
    same = {"ground_truth/pii_columns.csv"} | {n for n in first if n.startswith("catalog/")}
    rows = [name for name in first if name not in same]
    assert len(rows) == len(first) - 2
    assert all(first[name] == second[name] for name in same)
    assert all(first[name] != second[name] for name in rows)


def test_a_rerun_replaces_the_previous_city(tmp_path: Path) -> None:
    generate_city(tmp_path, rows=2_000, seed=3)
    stale = tmp_path / "sources/jy/student_status_002.xlsx"
    stale.write_bytes(b"left over from a bigger run")
    mine = tmp_path / "sources/notes.txt"
    mine.write_text("not the generator's", encoding="utf-8")
    manifest = generate_city(tmp_path, rows=1_000, seed=3)
    assert not stale.exists()
    assert mine.exists()
    assert manifest.table("household_registry").rows == 1_000


@pytest.mark.parametrize("rows", [0, 99, 25_000_001])
def test_rows_outside_the_supported_range_are_refused(tmp_path: Path, rows: int) -> None:
    with pytest.raises(ValidationFailed, match="rows must be between"):
        generate_city(tmp_path, rows=rows)
    assert not (tmp_path / "sources").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("nosuchdb://somewhere/x", "cannot use database nosuchdb://somewhere/x"),
        ("postgresql+psycopg://demo:secret@127.0.0.1:9/x", "cannot use database postgresql"),
    ],
)
def test_unusable_database_urls_fail_before_any_file_is_written(
    tmp_path: Path, url: str, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message) as caught:
        generate_city(tmp_path, rows=1_000, database_urls=[url])
    assert "secret" not in caught.value.message
    assert not (tmp_path / "sources").exists()


def test_progress_reaches_every_stage_total(tmp_path: Path) -> None:
    seen: dict[str, tuple[int, int]] = {}
    generate_city(tmp_path, rows=25_000, progress=lambda s, d, t: seen.__setitem__(s, (d, t)))
    assert seen == {
        "household_registry": (25_000, 25_000),
        "air_quality_readings": (12_500, 12_500),
        "water_levels": (6_250, 6_250),
        "parking_occupancy": (6_250, 6_250),
        "foreigner_accommodation": (750, 750),
    }


def test_workbooks_roll_over_before_excels_row_limit(tmp_path: Path) -> None:
    sink = XlsxSink(tmp_path / "students.xlsx", STUDENT_STATUS, "标题", max_rows=40)
    row: list[object] = ["林一", "男", date(2014, 1, 2), "350102201401020011", "汉族", "G1"]
    row += ["学校", "四年级", "(1)班", date(2021, 9, 1), "林二", "13800000000", "地址"]
    sink.write([list(row) for _ in range(100)])
    paths = sink.close()
    assert [p.name for p in paths] == ["students.xlsx", "students_002.xlsx", "students_003.xlsx"]
    sizes = []
    for path in paths:
        sheet = openpyxl.load_workbook(path).active
        assert sheet["A1"].value == "标题" and sheet["A3"].value == "姓名"
        sizes.append(sheet.max_row - 3)
    assert sizes == [40, 40, 20]
