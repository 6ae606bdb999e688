"""Whole loads: a generated CSV (UTF-8 and GB18030) and a MariaDB table, each loaded through
``rongshu.ingest.runner.run_load`` into a new lake version, against DuckDB's own CSV-to-Parquet
copy of the same data.

Usage::

    python bench/ingest.py                                  # 2,000,000 rows, MariaDB at 127.0.0.1
    python bench/ingest.py --rows 25000000 --dir /var/tmp   # the issue's figure (3.2 GB of CSV)
    python bench/ingest.py --mysql-url mysql+pymysql://root@db:3306/test --mysql-rows 1000000
    python bench/ingest.py --no-mysql --repeat 3            # median of three runs of each

The files are ``bench/ingest_read.py``'s (ten columns of people-like records: Chinese text, ID
numbers, dates, amounts), and so are the DuckDB copy and the MariaDB table. Each measurement runs
in its own process, so its peak memory (``VmHWM``, the process's high-water mark) is its own:

* ``duckdb copy``: ``COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'`` on the UTF-8 file (DuckDB
  reads GB18030 only through an extension that is never downloaded, so both encodings are
  compared with DuckDB's copy of the same data in UTF-8);
* ``load``: a snapshot load of the file through the real load path - a catalog resource with
  ten typed fields (integer key, text, a date, a decimal), a CSV source with the mapping
  suggested from the column names, ``run_load`` (connector, field mapping, one Delta commit, the
  load record) - in a fresh data directory on SQLite; rows/s, peak memory, and the ratio load
  speed / DuckDB speed (the goal: at least 0.5, with peak memory under 4 GB);
* ``mariadb load``: the same for a ``--mysql-rows`` table read through the SQL connector (the
  goal: at least 100,000 rows/s).

Every load is checked: rows read, written and rejected add up, and the new version holds them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import ingest_read

GB = 2**30
RESOURCE = "350100-BENCH-0001"
#: The CSV's columns as catalog fields (names as in the file, so the mapping is suggested).
CSV_FIELDS: list[tuple[str, str, str]] = [
    ("记录编号", "record_no", "integer"),
    ("姓名", "name", "string"),
    ("身份证号", "id_number", "string"),
    ("性别", "gender", "string"),
    ("出生日期", "birth_date", "date"),
    ("金额", "amount", "decimal"),
    ("地址", "address", "string"),
    ("区划代码", "district_code", "string"),
    ("电话", "phone", "string"),
    ("状态", "status", "string"),
]
#: ``ingest_read.create_mysql_table``'s columns as catalog fields.
SQL_FIELDS: list[tuple[str, str, str]] = [
    ("id", "id", "integer"),
    ("name", "name", "string"),
    ("id_number", "id_number", "string"),
    ("gender", "gender", "string"),
    ("birth_date", "birth_date", "date"),
    ("amount", "amount", "decimal"),
    ("address", "address", "string"),
    ("district_code", "district_code", "string"),
    ("phone", "phone", "string"),
    ("updated_at", "updated_at", "datetime"),
]


# --- one platform per load --------------------------------------------------------------------


def prepare(data_dir: Path, kind: str, options: dict[str, Any]) -> None:
    """A data directory with one department, one resource and its source, ready to load."""
    from rongshu.catalog import service as catalog
    from rongshu.catalog.schemas import (
        FieldSpec,
        FieldType,
        OpenType,
        ResourceSpec,
        ShareMethod,
        ShareType,
    )
    from rongshu.core.identity import service as identity
    from rongshu.core.identity.schemas import SYSTEM, DepartmentCreate
    from rongshu.ingest import service
    from rongshu.ingest.schemas import LoadMode, SourceCreate

    platform = _open(data_dir)
    columns = CSV_FIELDS if kind == "csv" else SQL_FIELDS
    fields = [
        FieldSpec(name=name, english_name=column, data_type=FieldType(typed), is_key=index == 0)
        for index, (name, column, typed) in enumerate(columns)
    ]
    spec = ResourceSpec(
        code=RESOURCE,
        name="基准测试人员信息",
        department_code="BENCH",
        fields=fields,
        share_type=ShareType.UNCONDITIONAL,
        share_methods=[ShareMethod.FILE],
        open_type=OpenType.UNCONDITIONAL,
    )
    ctx = catalog.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="BENCH")
    try:
        with platform.db.session_scope() as session:
            identity.create_department(
                session,
                data=DepartmentCreate(code="BENCH", name="基准测试局", region_code="350100"),
                actor=SYSTEM,
                ledger=platform.ledger,
            )
        with platform.db.session_scope() as session:
            catalog.create_resource(session, spec=spec, ctx=ctx)
            service.create_source(
                session,
                data=SourceCreate(
                    resource_code=RESOURCE,
                    name="bench",
                    kind=kind,
                    options=options,
                    mode=LoadMode.SNAPSHOT,
                ),
                actor=SYSTEM,
                ledger=platform.ledger,
                secret=platform.secret,
            )
    finally:
        platform.close()


def _open(data_dir: Path) -> Any:
    from rongshu.core.platform import Platform
    from rongshu.core.settings import Settings

    return Platform.open(Settings(data_dir=data_dir), upgrade=True)


def load(data_dir: str) -> dict[str, float]:
    """Run the prepared load (in a child process); rows, seconds, peak memory and its checks."""
    from rongshu.ingest.runner import run_load
    from rongshu.lake.tables import Lake

    platform = _open(Path(data_dir))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        record = run_load(platform, resource_code=RESOURCE, source_name="bench")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = ingest_read._peak_rss()
        stored = Lake(platform.settings.lake_dir).table(RESOURCE).count(record.version)
    finally:
        platform.close()
    return {
        "rows": record.rows_read,
        "written": record.rows_written,
        "rejected": record.rows_rejected,
        "stored": stored,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss": peak,
    }


def measure_load(work: Path, label: str, kind: str, options: dict[str, Any]) -> dict[str, float]:
    """Prepare a fresh data directory, run its load in a child process, then delete it."""
    data_dir = work / f"platform-{label}"
    prepare(data_dir, kind, options)
    try:
        done = subprocess.run(  # noqa: S603 - this script, run again for one measurement
            [sys.executable, __file__, "--child", str(data_dir)], capture_output=True, text=True
        )
    finally:
        shutil.rmtree(data_dir)
    if done.returncode:
        raise SystemExit(f"{label} load failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["written"] + result["rejected"] == result["rows"] == result["stored"]:
        raise SystemExit(f"{label} load does not add up: {result}")
    return result


def median_run(repeat: int, measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """The run of median time among ``repeat`` runs, with the highest peak memory of them all."""
    runs = sorted((measure() for _ in range(repeat)), key=lambda run: run["seconds"])
    return {**runs[len(runs) // 2], "peak_rss": max(run["peak_rss"] for run in runs)}


# --- report -----------------------------------------------------------------------------------


def _report(label: str, result: dict[str, float], baseline: float | None) -> None:
    speed = result["rows"] / result["seconds"]
    cpu = f" ({result['cpu_seconds']:.2f} s CPU)" if "cpu_seconds" in result else ""
    ratio = f", ratio to duckdb copy {speed / baseline:.2f}x" if baseline else ""
    print(
        f"{label}: {result['rows']:,.0f} rows in {result['seconds']:.2f} s{cpu}, "
        f"{speed:,.0f} rows/s, peak {ingest_read._mib(result['peak_rss'])}{ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="CSV rows (default 2M)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write files and lakes")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    parser.add_argument("--mysql-rows", type=int, default=1_000_000)
    parser.add_argument("--no-mysql", action="store_true")
    parser.add_argument("--no-csv", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each measurement; the median is shown"
    )
    parser.add_argument("--child", metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(load(args.child)))
        return

    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        work = Path(scratch)
        if not args.no_csv:
            bench_csv(work, args.rows, args.repeat)
        if not args.no_mysql:
            bench_mysql(work, args.mysql_url, args.mysql_rows, args.repeat)


def bench_csv(work: Path, rows: int, repeat: int) -> None:
    """DuckDB's copy of the UTF-8 file, then a load of each file."""
    utf8, gb = work / "people_utf8.csv", work / "people_gb18030.csv"
    started = time.perf_counter()
    ingest_read.write_csv(utf8, rows)
    ingest_read.transcode(utf8, gb, "gb18030")
    print(
        f"wrote {rows:,} rows: UTF-8 {ingest_read._mib(utf8.stat().st_size)}, "
        f"GB18030 {ingest_read._mib(gb.stat().st_size)} in {time.perf_counter() - started:.1f} s"
    )
    copy = work / "copy.parquet"
    duck = median_run(repeat, partial(ingest_read.measure, "duckdb", str(utf8), str(copy)))
    copy.unlink()
    duck_speed = duck["rows"] / duck["seconds"]
    _report("duckdb copy (UTF-8 -> parquet)", duck, None)
    for label, path in (("UTF-8", utf8), ("GB18030", gb)):
        load_file = partial(measure_load, work, label, "csv", {"path": str(path)})
        result = median_run(repeat, load_file)
        if result["rows"] != rows:
            raise SystemExit(f"rows lost: loaded {result['rows']:,} of {rows:,}")
        _report(f"load csv {label:8}", result, duck_speed)


def bench_mysql(work: Path, url: str, rows: int, repeat: int) -> None:
    """A ``rows``-row MariaDB table (``ingest_read``'s), loaded."""
    started = time.perf_counter()
    ingest_read.create_mysql_table(url, rows)
    print(f"mariadb: created {rows:,} rows in {time.perf_counter() - started:.1f} s")
    try:
        options = {"url": url, "table": "bench_ingest_people"}
        result = median_run(repeat, partial(measure_load, work, "mariadb", "sql", options))
        if result["rows"] != rows:
            raise SystemExit(f"rows lost: loaded {result['rows']:,} of {rows:,}")
        _report("load mariadb table", result, None)
    finally:
        ingest_read.drop_mysql_table(url)


if __name__ == "__main__":
    main()
