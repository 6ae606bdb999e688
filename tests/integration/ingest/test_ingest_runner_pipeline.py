"""A load reads and maps in a worker thread while the lake writes: a failure on the worker's side
still fails the whole load and leaves the lake as it was, and memory stays flat with size."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from sqlalchemy import select

from rongshu.core.platform import Platform
from rongshu.ingest.mapping import MappedBatch, Mapper
from rongshu.ingest.models import IngestLoad
from rongshu.ingest.runner import run_load
from rongshu.ingest.schemas import LoadStatus
from rongshu.lake.storage import data_files
from rongshu.lake.tables import Lake

from .conftest import Attach

REGISTRY = "350100-GA-0001"
BATCH_ROWS = 65_536  # the connectors' default batch

pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)


def registry_csv(city: Path, path: Path, rows: int) -> Path:
    """The city's household registry repeated to ``rows`` rows, as a department's CSV export."""
    with sqlite3.connect(city / "sources" / "sources.db") as db:
        cursor = db.execute("SELECT * FROM ga_household_registry")
        names = [column[0] for column in cursor.description]
        records = cursor.fetchall()
    table = pa.table({name: [r[i] for r in records] for i, name in enumerate(names)})
    repeats = pa.concat_tables([table] * max(1, 100_000 // len(table)))
    with path.open("wb") as out:
        written = 0
        while written < rows:
            chunk = repeats.slice(0, rows - written)
            pcsv.write_csv(chunk, out, pcsv.WriteOptions(include_header=written == 0))
            written += chunk.num_rows
    return path


def test_a_mapping_error_mid_stream_fails_the_load_and_leaves_the_lake_unchanged(
    platform: Platform, city: Path, attach: Attach, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = {
        "url": f"sqlite:///{city / 'sources' / 'sources.db'}",
        "table": "ga_household_registry",
    }
    attach(REGISTRY, "database", "sql", database)
    first = run_load(platform, resource_code=REGISTRY, source_name="database")
    table = Lake.from_settings(platform.settings).table(REGISTRY)
    files = data_files(table.path)
    export = registry_csv(city, tmp_path / "export.csv", 200_000)
    attach(REGISTRY, "export", "csv", {"path": str(export)})

    # The second batch fails to map, in the worker thread, after the lake has taken the first.
    mapped, calls, error = Mapper.map, [], RuntimeError("the mapping broke on the second batch")

    def map_until_the_second_batch(
        self: Mapper, batch: pa.RecordBatch, *, first_row: int
    ) -> MappedBatch:
        calls.append(threading.current_thread().name)
        if len(calls) == 2:
            raise error
        return mapped(self, batch, first_row=first_row)

    monkeypatch.setattr(Mapper, "map", map_until_the_second_batch)
    with pytest.raises(RuntimeError) as raised:
        run_load(platform, resource_code=REGISTRY, source_name="export")
    assert raised.value is error
    assert calls == ["rongshu-read-ahead"] * 2
    assert not any(t.name == "rongshu-read-ahead" for t in threading.enumerate())

    assert table.version() == first.version and table.count() == first.rows_written
    assert data_files(table.path) == files  # the new version's files are gone
    with platform.db.session_scope() as session:
        failed = session.scalars(select(IngestLoad).order_by(IngestLoad.id.desc())).first()
        assert failed is not None
        assert (failed.status, failed.version) == (LoadStatus.FAILED.value, None)
        assert failed.rows_read == BATCH_ROWS and "second batch" in (failed.error or "")

    monkeypatch.undo()
    again = run_load(platform, resource_code=REGISTRY, source_name="export")
    assert (again.status, again.version) == (LoadStatus.SUCCEEDED, first.version + 1)
    assert again.rows_read == again.rows_written + again.rows_rejected == 200_000
    assert table.count() == again.rows_written


# One load in its own process, reporting its peak memory (VmHWM: this process's own). The load
# alone: the quality check that follows a load (after_load) is bounded by its engine's memory
# limit, not by the load's pipeline.
LOAD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from rongshu.core.platform import Platform
    from rongshu.core.settings import Settings
    from rongshu.ingest.runner import run_load

    platform = Platform.open(Settings(data_dir=Path(sys.argv[1])))
    record = run_load(
        platform, resource_code=sys.argv[2], source_name=sys.argv[3], after_load=False
    )
    peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
    print(json.dumps({"rows": record.rows_written, "peak_rss": peak}))
    """
)


def _load_in_a_process(platform: Platform, source: str) -> dict[str, int]:
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-c", LOAD, str(platform.settings.data_dir), REGISTRY, source],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_peak_memory_of_a_load_does_not_grow_with_the_source(
    platform: Platform, city: Path, attach: Attach, tmp_path: Path
) -> None:
    small = registry_csv(city, tmp_path / "small.csv", 2_400_000)
    large = registry_csv(city, tmp_path / "large.csv", 4_800_000)
    attach(REGISTRY, "small", "csv", {"path": str(small)})
    attach(REGISTRY, "large", "csv", {"path": str(large)})
    platform.close()  # the loads run in their own processes

    small_load = _load_in_a_process(platform, "small")
    large_load = _load_in_a_process(platform, "large")
    assert (small_load["rows"], large_load["rows"]) == (2_400_000, 4_800_000)
    # Twice the rows (some 480 MB more text) through read, map, encrypt and commit: the peak
    # grows by less than a fifth of the extra data (holding it would add all of it, and more).
    # Both loads fill the lake writer's buffer, which holds a data file's worth of rows: the
    # registry's ID numbers are stored encrypted (important data), as incompressible tokens,
    # so a smaller load (1.2 million rows: 0.99 GB peak, against 1.07 GB at 3.6 and 6 million)
    # would not fill it.
    extra = large.stat().st_size - small.stat().st_size
    assert extra > 400 * 2**20
    assert large_load["peak_rss"] - small_load["peak_rss"] < extra // 5
