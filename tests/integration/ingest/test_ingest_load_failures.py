"""Loads that fail leave the lake as it was, with a failed load record and a clear error.

A load process killed mid-write (SIGKILL), a missing file, bytes no encoding reads, credentials a
database refuses, a full disk and a read-only disk; and ``rongshu ingest run`` reporting such
errors in one line, without a stack trace.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from rongshu.core.platform import Platform
from rongshu.ingest.connectors import (
    DEFAULT_BATCH_ROWS,
    SourceCredentialsRefused,
    SourceNotFound,
    SourceUnreadable,
)
from rongshu.ingest.models import IngestLoad
from rongshu.ingest.pipeline import DEFAULT_DEPTH
from rongshu.ingest.runner import run_load
from rongshu.ingest.schemas import LoadStatus, SourcePublic
from rongshu.lake import LakeStorageError
from rongshu.lake.tables import Lake, LakeTable

REGISTRY = "350100-GA-0001"  # household registry, a table in the city's SQLite database
MARRIAGES = "350100-MZ-0001"  # marriage registrations, a GB18030 CSV
PARKING = "350100-JT-0001"  # parking occupancy, a paged JSON API

Attach = Callable[..., SourcePublic]  # the attach fixture (conftest.py)
Mount = Callable[[str, Path], AbstractContextManager[None]]  # the mount fixture

# Metadata on SQLite only: the failures are the sources' and the lake's; test_ingest_runner
# records a failed load on both metadata databases.
pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)

# One load in its own process, reporting the rows read so far to a file, until it is killed.
LOAD_PROCESS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from rongshu.core.platform import Platform
    from rongshu.core.settings import Settings
    from rongshu.ingest.runner import run_load

    data_dir, resource, source, report = sys.argv[1:5]
    platform = Platform.open(Settings(data_dir=Path(data_dir)))
    run_load(
        platform,
        resource_code=resource,
        source_name=source,
        progress=lambda rows: Path(report).write_text(str(rows)),
    )
    """
)


# Rows read when the lake's writer has surely taken batches: more than the read-ahead queue and
# the batch in the mapper's hands hold.
MID_WRITE = (DEFAULT_DEPTH + 2) * DEFAULT_BATCH_ROWS


class Snapshot:
    """A lake table's versions and rows, to show that a failed load changed nothing."""

    def __init__(self, table: LakeTable) -> None:
        self.table = table
        self.versions = [v.version for v in table.versions()]
        self.rows = self._rows()

    def _rows(self) -> list[dict[str, Any]]:
        return sorted(self.table.read().to_pylist(), key=repr)

    def assert_unchanged(self) -> None:
        assert [v.version for v in self.table.versions()] == self.versions
        assert self._rows() == self.rows


def lake_table(platform: Platform, code: str) -> LakeTable:
    return Lake.from_settings(platform.settings).table(code)


def first_load(platform: Platform, code: str, source: str) -> Snapshot:
    """A good load (version 0), and the table as it stands after it."""
    result = run_load(platform, resource_code=code, source_name=source)
    assert result.status is LoadStatus.SUCCEEDED and result.version == 0
    return Snapshot(lake_table(platform, code))


def loads(platform: Platform) -> list[IngestLoad]:
    with platform.db.session_scope() as session:
        rows = session.scalars(select(IngestLoad).order_by(IngestLoad.id)).all()
        session.expunge_all()
        return list(rows)


def assert_failed_last(platform: Platform, *fragments: str) -> None:
    last = loads(platform)[-1]
    assert (last.status, last.version) == (LoadStatus.FAILED.value, None)
    assert all(fragment in last.error for fragment in fragments), last.error


def rongshu(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``rongshu`` command in its own process, as an operator runs it."""
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "rongshu", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**own_settings(), "COLUMNS": "200"},
    )


def own_settings() -> dict[str, str]:
    """The environment without RONGSHU_ settings: a child process uses the test's data dir only."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RONGSHU_")}


def marriage_file(city: Path) -> Path:
    return city / "sources" / "mz" / "marriage_registrations.csv"


def write_marriages(path: Path, count: int, *, noise: bool = True, tail: bytes = b"") -> None:
    """``count`` registrations of random hex (``noise``: compresses to half at best) or of one
    repeated character, then the bytes ``tail``.
    """
    header = "结婚证字号,男方姓名,男方身份证号,女方姓名,女方身份证号,登记日期,登记机关,业务类别"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(header + "\r\n")
        out = csv.writer(handle)
        for n in range(count):
            text = os.urandom(48).hex() if noise else "林" * 96
            people = [text[:32], text[32:50], text[50:82], text[82:]]
            out.writerow([f"J-{n:07d}", *people, "2024-01-02", text[:40], "结婚登记"])
    with path.open("ab") as handle:
        handle.write(tail)


# --- a load process killed mid-write ----------------------------------------------------------


@pytest.mark.slow
def test_a_load_process_killed_mid_write_leaves_the_previous_version_and_reruns(
    platform: Platform, city: Path, attach: Attach, department_api: Any, tmp_path: Path
) -> None:
    records = json.loads((city / "sources" / "jt" / "parking_occupancy.json").read_bytes())
    department_api.records = records["data"]
    attach(PARKING, "feed", "http", department_api.options(size=2000))
    before = first_load(platform, PARKING, "feed")

    department_api.endless = True  # the feed now never ends: the load runs until killed
    report = tmp_path / "rows-read"
    data_dir = str(platform.settings.data_dir)
    process = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, "-c", LOAD_PROCESS, data_dir, PARKING, "feed", str(report)],
        env=own_settings(),
    )
    try:
        # A bound on waiting, not a speed test: the suite's other processes share the cores.
        deadline, read = time.monotonic() + 90, 0
        while time.monotonic() < deadline and process.poll() is None and read < MID_WRITE:
            time.sleep(0.05)
            text = report.read_text() if report.exists() else ""
            read = int(text) if text.isdigit() else read
        assert process.poll() is None, "the load ended before it could be killed"
        assert read >= MID_WRITE, f"the load read only {read:,} rows in 90 s"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    before.assert_unchanged()  # no partial version: same versions, same rows
    killed = loads(platform)[-1]
    assert (killed.status, killed.version) == (LoadStatus.RUNNING.value, None)

    department_api.endless = False
    rerun = run_load(platform, resource_code=PARKING, source_name="feed")
    assert (rerun.status, rerun.version) == (LoadStatus.SUCCEEDED, 1)
    assert rerun.rows_written == len(before.rows) == lake_table(platform, PARKING).count()
    statuses = {load.id: load.status for load in loads(platform)}
    assert statuses[killed.id] == LoadStatus.INTERRUPTED.value  # found dead by the next load


# --- sources that cannot be read --------------------------------------------------------------


def test_a_missing_file_is_a_clear_error_and_changes_nothing(
    platform: Platform, city: Path, attach: Attach
) -> None:
    path = marriage_file(city)
    attach(MARRIAGES, "files", "csv", {"path": str(path)})
    before = first_load(platform, MARRIAGES, "files")
    path.unlink()

    with pytest.raises(SourceNotFound, match="marriage_registrations.csv"):
        run_load(platform, resource_code=MARRIAGES, source_name="files")

    before.assert_unchanged()
    assert_failed_last(platform, "marriage_registrations.csv")


def test_bytes_no_encoding_reads_fail_the_load_mid_stream_and_change_nothing(
    platform: Platform, city: Path, attach: Attach
) -> None:
    path = marriage_file(city)
    attach(MARRIAGES, "files", "csv", {"path": str(path)})
    before = first_load(platform, MARRIAGES, "files")
    # Past the first batch, so the lake is already writing the new version when the bytes come.
    write_marriages(path, 150_000, noise=False, tail=b"J-bad,\xff\xfe\xff,1,2,3,2024-01-02,4,5\r\n")

    with pytest.raises(SourceUnreadable, match="byte offset") as raised:
        run_load(platform, resource_code=MARRIAGES, source_name="files")

    assert "marriage_registrations.csv" in raised.value.message
    before.assert_unchanged()
    assert_failed_last(platform, "byte offset")
    assert loads(platform)[-1].rows_read >= DEFAULT_BATCH_ROWS  # failed mid-stream, not up front


@pytest.mark.parametrize(
    ("service", "user"),
    [
        pytest.param("mysql_url", None, marks=pytest.mark.mysql),  # root, a wrong password
        pytest.param("postgres_url", "nobody_here", marks=pytest.mark.postgres),  # no such role
    ],
)
def test_wrong_database_credentials_are_refused_without_showing_the_password(
    request: pytest.FixtureRequest,
    platform: Platform,
    city: Path,
    attach: Attach,
    service: str,
    user: str | None,
) -> None:
    password = "Wr0ng-Pa55"
    good = {"url": f"sqlite:///{city / 'sources' / 'sources.db'}", "table": "ga_household_registry"}
    attach(REGISTRY, "registry", "sql", good)
    before = first_load(platform, REGISTRY, "registry")
    url = make_url(request.getfixturevalue(service)).set(password=password)
    if user:
        url = url.set(username=user)
    wrong = {"url": url.render_as_string(hide_password=False), "table": "ga_household_registry"}
    attach(REGISTRY, "department-db", "sql", wrong)

    with pytest.raises(SourceCredentialsRefused, match="refused the credentials") as raised:
        run_load(platform, resource_code=REGISTRY, source_name="department-db")

    assert password not in raised.value.message and password not in str(raised.value.details)
    before.assert_unchanged()
    assert_failed_last(platform, "refused the credentials")
    assert password not in loads(platform)[-1].error


# --- disks that refuse the write ----------------------------------------------------------------


def test_a_full_disk_is_a_clear_error_and_changes_nothing(
    platform: Platform, city: Path, attach: Attach, mount: Mount
) -> None:
    path = marriage_file(city)
    attach(MARRIAGES, "files", "csv", {"path": str(path)})
    lake_dir = platform.settings.lake_dir
    lake_dir.mkdir(parents=True, exist_ok=True)
    with mount("tmpfs", lake_dir):  # 2 MB
        before = first_load(platform, MARRIAGES, "files")
        write_marriages(path, 60_000)  # about 10 MB of text that compresses to half at best

        with pytest.raises(LakeStorageError, match="the disk is full") as raised:
            run_load(platform, resource_code=MARRIAGES, source_name="files")

        assert MARRIAGES in raised.value.message and "unchanged" in raised.value.message
        before.assert_unchanged()
        assert_failed_last(platform, "the disk is full")
        # The failed load's files are gone, so the next (smaller) load fits.
        write_marriages(path, 100)
        retry = run_load(platform, resource_code=MARRIAGES, source_name="files")
        assert (retry.status, retry.version, retry.rows_written) == (LoadStatus.SUCCEEDED, 1, 100)


def test_a_read_only_disk_is_a_clear_error_in_the_cli_and_changes_nothing(
    platform: Platform, city: Path, attach: Attach, mount: Mount
) -> None:
    attach(MARRIAGES, "files", "csv", {"path": str(marriage_file(city))})
    before = first_load(platform, MARRIAGES, "files")

    with mount("read-only", platform.settings.lake_dir):
        with pytest.raises(LakeStorageError, match="read-only"):
            run_load(platform, resource_code=MARRIAGES, source_name="files")
        shown = rongshu(platform.settings.data_dir, "ingest", "run", MARRIAGES)

    assert shown.returncode == LakeStorageError.exit_code, shown.stderr
    assert "error:" in shown.stderr and "read-only" in shown.stderr
    assert "Traceback" not in shown.stderr + shown.stdout
    before.assert_unchanged()
    assert [load.status for load in loads(platform)] == ["succeeded", "failed", "failed"]


# --- the CLI ------------------------------------------------------------------------------------


def test_the_cli_shows_an_unreadable_file_in_one_line_without_a_stack_trace(
    platform: Platform, city: Path, attach: Attach
) -> None:
    path = marriage_file(city)
    attach(MARRIAGES, "files", "csv", {"path": str(path)})
    before = first_load(platform, MARRIAGES, "files")
    write_marriages(path, 10, tail=b"J-bad,\xff\xfe\xff,1,2,3,2024-01-02,4,5\r\n")

    result = rongshu(platform.settings.data_dir, "ingest", "run", MARRIAGES, "--source", "files")

    assert result.returncode == SourceUnreadable.exit_code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error: marriage_registrations.csv: cannot be read as UTF-8")
    assert "byte offset 1,886 (line 12)" in lines[0]  # after the header and ten rows
    assert "Traceback" not in result.stderr + result.stdout
    before.assert_unchanged()
    assert_failed_last(platform, "byte offset")
