"""Retention: vacuum drops the versions the settings no longer keep, and only their files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from rongshu.core.errors import NotFound, ValidationFailed
from rongshu.lake import Lake, LakeTable
from rongshu.lake.storage import data_files

SCHEMA = pa.schema([("id", pa.int64()), ("label", pa.string())])


def batch(first: int, count: int = 3) -> pa.RecordBatch:
    ids = list(range(first, first + count))
    return pa.record_batch([pa.array(ids), pa.array([f"row {i}" for i in ids])], schema=SCHEMA)


def four_versions(lake: Lake) -> LakeTable:
    """Versions 0-3: overwrite, append, overwrite, append."""
    table = lake.table("GA-0001")
    for number, mode in enumerate(["overwrite", "append", "overwrite", "append"]):
        table.commit([batch(number * 10)], schema=SCHEMA, mode=mode)  # type: ignore[arg-type]
    return table


def files_of(table: LakeTable, versions: range) -> set[Path]:
    return {path for v in versions for path in table.scan(v).files}


def test_retention_by_count_keeps_the_latest_versions_and_their_files(tmp_path: Path) -> None:
    table = four_versions(Lake(tmp_path / "lake", retention_versions=2))
    expected = {v: table.read(v).to_pylist() for v in (2, 3)}
    kept_files = files_of(table, range(2, 4))

    removed = table.vacuum()

    assert [v.version for v in table.versions()] == [2, 3]
    assert {v: table.read(v).to_pylist() for v in (2, 3)} == expected
    with pytest.raises(NotFound, match="no version 1 \\(kept: 2–3\\)"):
        table.read(1)
    assert data_files(table.path) == kept_files
    assert removed == 2  # the files only versions 0 and 1 read


def test_vacuum_is_idempotent_and_later_loads_continue_the_numbering(tmp_path: Path) -> None:
    table = four_versions(Lake(tmp_path / "lake", retention_versions=1))
    assert table.vacuum() == 2  # versions 0 and 1 had one file each of their own
    assert table.vacuum() == 0
    assert [v.version for v in table.versions()] == [3]
    result = table.commit([batch(100)], schema=SCHEMA, mode="append")
    assert result.version == 4
    assert table.count() == 9


def test_retention_by_age_keeps_recent_versions(tmp_path: Path) -> None:
    table = four_versions(Lake(tmp_path / "lake", retention_days=30))
    assert table.vacuum() == 0
    assert [v.version for v in table.versions()] == [0, 1, 2, 3]
    assert table.read(0).num_rows == 3


def test_retention_of_zero_days_keeps_only_the_latest_version(tmp_path: Path) -> None:
    table = four_versions(Lake(tmp_path / "lake", retention_days=0))
    latest = table.read().to_pylist()
    table.vacuum()
    assert [v.version for v in table.versions()] == [3]
    assert table.read().to_pylist() == latest


def test_a_version_is_dropped_only_when_every_setting_allows_it(tmp_path: Path) -> None:
    table = four_versions(Lake(tmp_path / "lake", retention_versions=1, retention_days=30))
    assert table.vacuum() == 0
    assert len(table.versions()) == 4


def test_without_retention_vacuum_keeps_versions_but_removes_leftovers(lake: Lake) -> None:
    table = four_versions(lake)
    stray = table.path / "part-00000-left-by-a-killed-load.snappy.parquet"
    stray.write_bytes(b"PAR1 partial")
    staging = table.path / "_staging" / "abc"
    staging.mkdir(parents=True)
    (staging / "input.parquet").write_bytes(b"x")

    assert table.vacuum() == 1

    assert not stray.exists() and not (table.path / "_staging").exists()
    assert [v.version for v in table.versions()] == [0, 1, 2, 3]
    assert table.read(0).num_rows == 3


def test_vacuum_of_a_table_without_versions_does_nothing(lake: Lake) -> None:
    assert lake.table("none").vacuum() == 0


def test_retention_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="retention_versions"):
        Lake(tmp_path, retention_versions=0)
    with pytest.raises(ValidationFailed, match="retention_days"):
        Lake(tmp_path, retention_days=-1)
