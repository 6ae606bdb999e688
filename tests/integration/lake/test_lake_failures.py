"""Loads that die or hit a bad disk leave the lake as it was: SIGKILL, full disk, read-only disk."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pyarrow as pa
import pytest

from rongshu.lake import Lake, LakeStorageError, LakeTable
from rongshu.lake.duckdb_engine import DuckDBEngine
from rongshu.lake.storage import data_files

Mount = Callable[[str, Path], AbstractContextManager[None]]  # the mount fixture (conftest.py)
SCHEMA = pa.schema([("id", pa.int64()), ("payload", pa.string())])
BASE = [{"id": i, "payload": f"原始 {i}"} for i in range(100)]

# A load that never ends by itself: it streams random rows until it is killed.
KILLED_LOAD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import pyarrow as pa
    from rongshu.lake import Lake

    schema = pa.schema([("id", pa.int64()), ("payload", pa.string())])

    def endless():
        first = 1_000_000
        while True:
            ids = pa.array(range(first, first + 5000), pa.int64())
            payload = pa.array([os.urandom(24).hex() for _ in range(5000)])
            yield pa.record_batch([ids, payload], schema=schema)
            first += 5000
            time.sleep(0.002)

    lake = Lake(Path(sys.argv[1]), target_file_size=256 * 1024)
    lake.table("GA-0001").commit(endless(), schema=schema, mode=sys.argv[2], key=["id"])
    """
)


def base_table(lake: Lake) -> LakeTable:
    table = lake.table("GA-0001")
    table.commit([pa.RecordBatch.from_pylist(BASE, schema=SCHEMA)], schema=SCHEMA, mode="overwrite")
    return table


def random_rows(count: int, *, first: int = 10_000) -> Iterator[pa.RecordBatch]:
    """Incompressible rows, about 50 bytes each."""
    for start in range(first, first + count, 5000):
        ids = pa.array(range(start, start + 5000), pa.int64())
        yield pa.record_batch([ids, pa.array([os.urandom(24).hex() for _ in ids])], schema=SCHEMA)


def assert_unchanged(table: LakeTable) -> None:
    """Version 0 is still the only version, whole, and nothing else is read."""
    assert table.version() == 0
    assert [v.version for v in table.versions()] == [0]
    assert sorted(table.read().to_pylist(), key=lambda r: r["id"]) == BASE
    with DuckDBEngine() as engine:
        engine.register("t", table)
        assert engine.count("t") == len(BASE)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["append", "overwrite", "merge"])
def test_a_load_killed_mid_write_leaves_the_previous_version_intact(
    lake: Lake, tmp_path: Path, mode: str
) -> None:
    table = base_table(lake)
    committed = data_files(table.path)
    script = tmp_path / "load.py"
    script.write_text(KILLED_LOAD, encoding="utf-8")
    load = subprocess.Popen([sys.executable, str(script), str(lake.root), mode])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and load.poll() is None:
            written = data_files(table.path) - committed
            staged = list((table.path / "_staging").rglob("*.parquet"))
            if len(written) + len(staged) >= 2:
                break
            time.sleep(0.05)
        assert load.poll() is None, "the load ended before it could be killed"
        assert len(written) + len(staged) >= 2, "the load wrote no data files in 60 s"
        load.send_signal(signal.SIGKILL)
    finally:
        load.kill()
        load.wait()
    assert load.returncode == -signal.SIGKILL

    assert_unchanged(table)
    assert sorted(p.name for p in (table.path / "_delta_log").glob("*.json")) == [
        "00000000000000000000.json"
    ]
    leftovers = (data_files(table.path) - committed) | set((table.path / "_staging").rglob("*"))
    assert leftovers, "the kill should have left files of the unfinished load behind"

    rerun = table.commit(random_rows(20_000), schema=SCHEMA, mode=mode, key=["id"])  # type: ignore[arg-type]
    assert rerun.version == 1
    assert table.count() == (20_000 if mode == "overwrite" else 20_100)

    table.vacuum()
    kept = {path for v in (0, 1) for path in table.scan(v).files}
    assert data_files(table.path) == kept
    assert not (table.path / "_staging").exists()


@pytest.mark.parametrize("mode", ["append", "overwrite", "merge"])
def test_a_full_disk_gives_a_clear_error_and_leaves_the_lake_unchanged(
    tmp_path: Path, mount: Mount, mode: str
) -> None:
    disk = tmp_path / "small-disk"
    disk.mkdir()
    with mount("tmpfs", disk):
        lake = Lake(disk / "lake", target_file_size=256 * 1024)
        table = base_table(lake)
        committed = data_files(table.path)

        with pytest.raises(LakeStorageError, match="the disk is full") as raised:
            table.commit(random_rows(100_000), schema=SCHEMA, mode=mode, key=["id"])  # type: ignore[arg-type]

        assert "GA-0001" in raised.value.message and "unchanged" in raised.value.message
        assert_unchanged(table)
        assert data_files(table.path) == committed  # the failed load's files are gone
        assert not list((table.path / "_staging").rglob("*.parquet"))
        assert shutil.disk_usage(disk).free > 1_500_000
        retry = table.commit(random_rows(5000), schema=SCHEMA, mode=mode, key=["id"])  # type: ignore[arg-type]
        assert retry.version == 1


def test_a_read_only_disk_gives_a_clear_error_and_the_lake_stays_readable(
    lake: Lake, mount: Mount
) -> None:
    table = base_table(lake)
    committed = data_files(table.path)
    with mount("read-only", lake.root):
        for mode in ("append", "overwrite", "merge"):
            with pytest.raises(LakeStorageError, match="read-only"):
                table.commit(random_rows(5000), schema=SCHEMA, mode=mode, key=["id"])  # type: ignore[arg-type]
        with pytest.raises(LakeStorageError, match="read-only"):
            lake.table("GA-0002").commit(random_rows(5000), schema=SCHEMA, mode="append")
        with pytest.raises(LakeStorageError, match="read-only"):
            table.vacuum()
        assert_unchanged(table)
    assert_unchanged(table)
    assert data_files(table.path) == committed
    assert lake.tables() == ["GA-0001"]
