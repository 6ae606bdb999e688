"""Batch exchange exports: a synthetic lake table of ``--rows`` residents' payments streamed as a
masked, watermarked CSV and Parquet export to nowhere, with rows/s and peak memory.

Usage::

    python bench/batch_export.py                      # 1,000,000 rows, standard profile
    python bench/batch_export.py --rows 10000000      # the goal's size
    python bench/batch_export.py --profile analytics --formats csv

Goal (the batch-exchange issue): a 10,000,000-row export at ≥ 500,000 rows/s with peak memory
under 1 GB on the 2-core machine.

1. **Data.** ``--rows`` rows of 8 columns, made in numpy a million at a time and committed as
   one lake version of a catalog resource in a fresh data directory under ``--scratch``
   (removed at the end): GB 11643 ID numbers (the key; valid check characters, distinct),
   names, mobiles, an amount with two decimals (the column the watermark marks), a birth date,
   a district code, an item code and a count. The resource is scanned for personal data (so
   the masking profile has something to go on). Not timed.
2. **Export.** For each format, a child process (so its peak RSS is the export's alone) opens
   the platform, calls ``export_stream`` with ``--profile`` and reads every chunk, counting
   bytes and writing nothing: the engine's masked read and the watermark's survey (step one),
   then marking and writing (step two), both timed; rows/s = rows / both. Peak RSS is the
   child's ``VmHWM`` (``ru_maxrss`` would carry the parent's over), imports included.

Under the standard profile the ID number is shown as its first and last four characters,
which repeat across millions of people: the key no longer tells rows apart and few rows are
marked (the cost is the same: every row is surveyed). ``--profile analytics`` pseudonymises
the ID number instead (distinct keys, ~1.5 % of rows marked) at the price of keyed SM3-HMACs
in the masked read.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from machine import facts  # bench/machine.py (scripts run from bench/)

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
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.lake.schema import arrow_schema
from rongshu.lake.tables import Lake
from rongshu.security import service as security
from rongshu.security.exports import ExportFormat, export_stream
from rongshu.security.schemas import MaskingProfile

CODE = "MZ-BENCH-01"
CHUNK = 1_000_000
FIELDS = [
    FieldSpec(
        name="公民身份号码", english_name="id_number", data_type=FieldType.STRING, is_key=True
    ),
    FieldSpec(name="姓名", english_name="name", data_type=FieldType.STRING),
    FieldSpec(name="联系电话", english_name="phone", data_type=FieldType.STRING),
    FieldSpec(name="补贴金额", english_name="amount", data_type=FieldType.DECIMAL),
    FieldSpec(name="出生日期", english_name="birth_date", data_type=FieldType.DATE),
    FieldSpec(name="所属区县", english_name="district", data_type=FieldType.STRING),
    FieldSpec(name="补贴项目", english_name="item", data_type=FieldType.STRING),
    FieldSpec(name="发放次数", english_name="times", data_type=FieldType.INTEGER),
]
DISTRICTS = np.array(["350102", "350103", "350104", "350105", "350111", "350121", "350122"])
SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹"))
GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国平春梅兰云志红"))
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK = np.array(list("10X98765432"))


def _text(values: np.ndarray) -> pa.Array:
    text = pa.array(values.astype(str))  # a big numpy text array comes back chunked
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _chunk(start: int, rows: int, rng: np.random.Generator) -> pa.RecordBatch:
    """Rows ``start`` to ``start + rows``: distinct valid ID numbers (region, birth date, a
    sequence number that makes them distinct, check character), the rest drawn at random."""
    index = np.arange(start, start + rows)
    born = rng.integers(date(1940, 1, 1).toordinal(), date(2005, 1, 1).toordinal(), rows)
    dates = np.array([date.fromordinal(int(d)).strftime("%Y%m%d") for d in np.unique(born)])
    days = dict(zip(np.unique(born), dates, strict=True))
    birth_text = np.array([days[d] for d in born])
    # Distinct: the region and sequence spell the row number, 7 districts x 1000 x dates.
    region = DISTRICTS[index % len(DISTRICTS)]
    sequence = np.char.zfill(((index // len(DISTRICTS)) % 1000).astype(str), 3)
    body = np.char.add(np.char.add(region, birth_text), sequence)
    digits = np.frombuffer(body.astype("S17").tobytes(), np.uint8).reshape(rows, 17) - 48
    ids = np.char.add(body, CHECK[(digits * WEIGHTS).sum(axis=1) % 11])
    names = np.char.add(
        np.char.add(
            SURNAMES[rng.integers(0, len(SURNAMES), rows)], GIVEN[rng.integers(0, len(GIVEN), rows)]
        ),
        GIVEN[rng.integers(0, len(GIVEN), rows)],
    )
    phones = pc.binary_join_element_wise(
        "13", pc.utf8_lpad(pa.array(rng.integers(0, 10**9, rows)).cast(pa.string()), 9, "0"), ""
    )
    epoch = date(1970, 1, 1).toordinal()
    return pa.record_batch(
        {
            "id_number": _text(ids),
            "name": _text(names),
            "phone": phones,
            "amount": np.round(rng.uniform(50, 20_000, rows), 2),
            "birth_date": pa.array(born - epoch, pa.int32()).cast(pa.date32()),
            "district": _text(region),
            "item": _text(np.char.add("BT", (rng.integers(1, 40, rows)).astype(str))),
            "times": rng.integers(1, 13, rows),
        }
    )


def build(data_dir: Path, rows: int, seed: int) -> None:
    """The catalog resource, its lake version of ``rows`` rows, and a PII scan of it."""
    platform = Platform.open(Settings(data_dir=data_dir), upgrade=True)
    try:
        ctx = catalog.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="DSJ")
        with platform.db.session_scope() as session:
            identity.create_department(
                session,
                data=DepartmentCreate(code="MZ", name="民政局", region_code="350100"),
                actor=SYSTEM,
                ledger=platform.ledger,
            )
            catalog.create_resource(
                session,
                spec=ResourceSpec(
                    code=CODE,
                    name="惠民补贴发放",
                    department_code="MZ",
                    fields=FIELDS,
                    share_type=ShareType.UNCONDITIONAL,
                    share_methods=[ShareMethod.BATCH],
                    open_type=OpenType.NONE,
                    legal_basis="《中华人民共和国个人信息保护法》",
                ),
                ctx=ctx,
            )
            schema = arrow_schema(catalog.current_fields(session, CODE))
        rng = np.random.default_rng(seed)

        def batches() -> Iterator[pa.RecordBatch]:
            for start in range(0, rows, CHUNK):
                yield _chunk(start, min(CHUNK, rows - start), rng).cast(schema)

        Lake.from_settings(platform.settings).table(CODE).commit(
            batches(), schema=schema, mode="overwrite"
        )
        security.scan_resource(platform, CODE, actor=SYSTEM)
    finally:
        platform.close()


def measure(data_dir: Path, file_format: ExportFormat, profile: MaskingProfile) -> dict[str, float]:
    """One export streamed to nowhere (run in a child process: its peak RSS is the export's)."""
    platform = Platform.open(Settings(data_dir=data_dir))
    try:
        started = time.perf_counter()
        stream = export_stream(
            platform,
            CODE,
            recipient="bench",
            actor=SYSTEM,
            profile=profile,
            file_format=file_format,
        )
        surveyed = time.perf_counter()
        size = sum(len(chunk) for chunk in stream.chunks)
        done = time.perf_counter()
    finally:
        platform.close()
    return {
        "rows": stream.export.rows,
        "bytes": size,
        "cells_changed": stream.export.cells_changed,
        "read_and_survey_s": surveyed - started,
        "mark_and_write_s": done - surveyed,
        "peak_rss_mib": _peak_rss_kib() / 1024,
    }


def _peak_rss_kib() -> int:
    """This process's peak resident memory. Not ``getrusage``'s ``ru_maxrss``: Linux carries
    that over from the parent through fork and exec, and the parent has just built the data.
    ``VmHWM`` belongs to the process's own address space."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--profile", default="standard", choices=[p.value for p in MaskingProfile])
    parser.add_argument("--formats", default="csv,parquet", help="comma-separated: csv, parquet")
    parser.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child: a data dir
    parser.add_argument("--format", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        found = measure(Path(args.measure), ExportFormat(args.format), MaskingProfile(args.profile))
        print(json.dumps(found))
        return
    print(facts())
    data_dir = Path(tempfile.mkdtemp(prefix="rongshu-bench-batch-", dir=args.scratch))
    try:
        started = time.perf_counter()
        build(data_dir, args.rows, args.seed)
        built = time.perf_counter() - started
        print(f"{args.rows:,} rows built, committed and scanned in {built:.1f} s")
        for name in args.formats.split(","):
            child = subprocess.run(  # noqa: S603 - this script, with our own arguments
                [
                    sys.executable,
                    __file__,
                    "--measure",
                    str(data_dir),
                    "--format",
                    name,
                    "--profile",
                    args.profile,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            found = json.loads(child.stdout.strip().splitlines()[-1])
            first, second = found["read_and_survey_s"], found["mark_and_write_s"]
            rows, seconds = found["rows"], first + second
            print(
                f"{name:8} {args.profile:9} {rows:,} rows, {found['bytes'] / 2**20:,.0f} MiB in "
                f"{seconds:.1f} s (read + survey {first:.1f} s, mark + write {second:.1f} s): "
                f"{rows / seconds:,.0f} rows/s; {found['cells_changed']:,} cells marked; "
                f"peak RSS {found['peak_rss_mib']:,.0f} MiB"
            )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
