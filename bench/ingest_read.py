"""Connector read speed: CSV (UTF-8 and GB18030) against DuckDB's own CSV-to-Parquet copy, and a
1-million-row MariaDB table.

Usage::

    python bench/ingest_read.py                          # 5,000,000 rows, MariaDB at 127.0.0.1
    python bench/ingest_read.py --rows 25000000 --dir /var/tmp/bench
    python bench/ingest_read.py --mysql-url mysql+pymysql://root@db:3306/test --mysql-rows 1000000
    python bench/ingest_read.py --no-mysql

For each CSV it reports, in one run on the same machine, each measurement in its own process
(peak memory is that process's high-water mark):

* ``duckdb copy``: ``COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'`` on the UTF-8 file
  (DuckDB reads GB18030 only through its ``encodings`` extension, which is never downloaded, so
  both encodings are compared with DuckDB's copy of the same data in UTF-8);
* ``connector``: the CSV connector draining every batch (encoding and header detected, every
  column as strings), rows/s, MB/s of the file, and the ratio connector speed / DuckDB speed.

Then it creates a ``--mysql-rows`` table in MariaDB (a bulk ``INSERT ... SELECT`` from the
sequence engine) and reports rows/s read through the SQL connector (unbuffered PyMySQL).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

_CHUNK = 1_000_000


def write_csv(path: Path, rows: int, seed: int = 1) -> None:
    """A ~10-column CSV of people-like records (Chinese text, IDs, dates, amounts), UTF-8."""
    rng = np.random.default_rng(seed)
    names = np.array(
        ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "黄敏", "赵军", "周杰", "吴婷"]
    )
    streets = np.array([f"榕城市鼓楼区五四路{i}号" for i in range(1000)])
    with path.open("wb") as out:
        for start in range(0, rows, _CHUNK):
            n = min(_CHUNK, rows - start)
            born = np.datetime64("1950-01-01") + rng.integers(0, 25_000, n).astype("timedelta64[D]")
            table = pa.table(
                {
                    "记录编号": pa.array(np.arange(start, start + n)),
                    "姓名": pa.array(names[rng.integers(0, 10, n)]),
                    "身份证号": pa.array(
                        np.char.add("3501", rng.integers(10**13, 10**14, n).astype(str))
                    ),
                    "性别": pa.array(np.where(rng.integers(0, 2, n) == 0, "男", "女")),
                    "出生日期": pa.array(np.datetime_as_string(born)),
                    "金额": pa.array(np.round(rng.random(n) * 10_000, 2)),
                    "地址": pa.array(streets[rng.integers(0, 1000, n)]),
                    "区划代码": pa.array(rng.integers(350_100, 350_199, n).astype(str)),
                    "电话": pa.array(rng.integers(13_000_000_000, 13_999_999_999, n).astype(str)),
                    "状态": pa.array(np.where(rng.integers(0, 3, n) == 0, "注销", "正常")),
                }
            )
            pcsv.write_csv(table, out, pcsv.WriteOptions(include_header=start == 0))


def transcode(source: Path, target: Path, encoding: str) -> None:
    """``source`` (UTF-8) written again in ``encoding``."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    with source.open("rb") as src, target.open("wb") as out:
        while chunk := src.read(16 << 20):
            out.write(decoder.decode(chunk).encode(encoding))


# --- measurements, each in a child process ----------------------------------------------------


def _peak_rss() -> int:
    status = Path("/proc/self/status").read_text().split("VmHWM:")[1]
    return int(status.split()[0]) * 1024


def child(kind: str, target: str, extra: str) -> dict[str, float]:
    if kind == "duckdb":
        import duckdb

        started = time.perf_counter()
        # Paths made by this script.
        copy = f"COPY (SELECT * FROM read_csv('{target}')) TO '{extra}' (FORMAT parquet)"  # noqa: S608
        duckdb.sql(copy)
        seconds = time.perf_counter() - started
        rows = duckdb.sql(f"SELECT count(*) FROM '{extra}'").fetchall()[0][0]  # noqa: S608
        return {"rows": rows, "seconds": seconds, "peak_rss": _peak_rss()}
    from rongshu.ingest.connectors import SourceSpec, open_connector

    options = {"path": target} if kind == "csv" else {"url": target, "table": extra}
    connector = open_connector(SourceSpec(kind=kind, options=options))
    started = time.perf_counter()
    rows = 0
    for batch in connector.batches():
        rows += batch.num_rows
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "peak_rss": _peak_rss()}


def measure(kind: str, target: str, extra: str = "") -> dict[str, float]:
    done = subprocess.run(  # noqa: S603 - this script, run again for one measurement
        [sys.executable, __file__, "--child", kind, target, extra],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"{kind} measurement failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- MariaDB ----------------------------------------------------------------------------------


def create_mysql_table(url: str, rows: int) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_ingest_people"))
        conn.execute(
            text(
                """
                CREATE TABLE bench_ingest_people (
                    id BIGINT PRIMARY KEY, name VARCHAR(50), id_number CHAR(18),
                    gender VARCHAR(2), birth_date DATE, amount DECIMAL(12, 2),
                    address VARCHAR(200), district_code CHAR(6), phone VARCHAR(20),
                    updated_at DATETIME) CHARACTER SET utf8mb4
                """
            )
        )
        conn.execute(
            text(
                f"""
                INSERT INTO bench_ingest_people
                SELECT seq, CONCAT('张', seq % 1000), CONCAT('35010219', LPAD(seq, 10, '0')),
                       IF(seq % 2, '男', '女'), DATE_ADD('1950-01-01', INTERVAL seq % 25000 DAY),
                       (seq % 100000) / 10, CONCAT('榕城市鼓楼区五四路', seq % 1000, '号'),
                       CONCAT('3501', LPAD(seq % 100, 2, '0')), CONCAT('138', LPAD(seq, 8, '0')),
                       DATE_ADD('2024-01-01', INTERVAL seq SECOND)
                FROM seq_1_to_{int(rows)}
                """  # noqa: S608 - a number
            )
        )
    engine.dispose()


def drop_mysql_table(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_ingest_people"))
    engine.dispose()


# --- report -----------------------------------------------------------------------------------


def _mib(value: float) -> str:
    return f"{value / 2**20:,.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="CSV rows (default 5M)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    parser.add_argument("--mysql-rows", type=int, default=1_000_000)
    parser.add_argument("--no-mysql", action="store_true")
    parser.add_argument(
        "--child", nargs=3, metavar=("KIND", "TARGET", "EXTRA"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        work = Path(scratch)
        utf8, gb = work / "people_utf8.csv", work / "people_gb18030.csv"
        started = time.perf_counter()
        write_csv(utf8, args.rows)
        transcode(utf8, gb, "gb18030")
        print(
            f"wrote {args.rows:,} rows: UTF-8 {_mib(utf8.stat().st_size)}, "
            f"GB18030 {_mib(gb.stat().st_size)} in {time.perf_counter() - started:.1f} s"
        )
        duck = measure("duckdb", str(utf8), str(work / "copy.parquet"))
        duck_speed = duck["rows"] / duck["seconds"]
        print(
            f"duckdb copy (UTF-8 -> parquet): {duck['seconds']:.2f} s, {duck_speed:,.0f} rows/s, "
            f"peak {_mib(duck['peak_rss'])}"
        )
        for label, path in (("UTF-8", utf8), ("GB18030", gb)):
            read = measure("csv", str(path))
            if read["rows"] != args.rows:
                raise SystemExit(f"rows lost: read {read['rows']:,} of {args.rows:,}")
            speed = read["rows"] / read["seconds"]
            print(
                f"csv connector {label:8}: {read['seconds']:.2f} s, {speed:,.0f} rows/s, "
                f"{path.stat().st_size / 2**20 / read['seconds']:,.0f} MB/s, "
                f"peak {_mib(read['peak_rss'])}, ratio to duckdb copy {speed / duck_speed:.2f}x"
            )

    if args.no_mysql:
        return
    started = time.perf_counter()
    create_mysql_table(args.mysql_url, args.mysql_rows)
    print(f"mariadb: created {args.mysql_rows:,} rows in {time.perf_counter() - started:.1f} s")
    try:
        read = measure("sql", args.mysql_url, "bench_ingest_people")
        if read["rows"] != args.mysql_rows:
            raise SystemExit(f"rows lost: read {read['rows']:,} of {args.mysql_rows:,}")
        print(
            f"sql connector (mariadb, unbuffered): {read['seconds']:.2f} s, "
            f"{read['rows'] / read['seconds']:,.0f} rows/s, peak {_mib(read['peak_rss'])}"
        )
    finally:
        drop_mysql_table(args.mysql_url)


if __name__ == "__main__":
    main()
