"""Demo-city generation speed and memory: residents/s, rows/s (all tables) and peak RSS.

Usage::

    python bench/demo_generate.py                    # 20 000 and 1 000 000 residents
    python bench/demo_generate.py 20000 5000000      # any sizes
    python bench/demo_generate.py --to-db postgresql+psycopg://postgres@127.0.0.1:5432/test 20000

Each size runs in a fresh Python process (so peak RSS is that run's own) writing to a temporary
directory, with the default seed. "rows" counts every table's rows (registry, the derived
department tables and the sensor series); "residents" is ``--rows``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(rows: int, urls: list[str]) -> None:
    from rongshu.demo.generator import generate_city

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        manifest = generate_city(Path(out), rows=rows, database_urls=urls)
        elapsed = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "residents": rows,
                "rows": sum(t.rows for t in manifest.tables),
                "defects": sum(d.count for d in manifest.defects),
                "seconds": elapsed,
                "peak_rss_mib": peak_kib / 1024,
                "output_mib": size / 2**20,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[20_000, 1_000_000])
    parser.add_argument("--to-db", action="append", default=[], help="SQLAlchemy URL (repeat)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.to_db)
        return
    print(
        f"{'residents':>11} {'all rows':>11} {'seconds':>8} {'residents/s':>12} "
        f"{'rows/s':>9} {'peak RSS MiB':>13} {'output MiB':>11}"
    )
    for size in args.sizes:
        command = [sys.executable, __file__, "--child", str(size)]
        for url in args.to_db:
            command += ["--to-db", url]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603
        result = json.loads(output.strip().splitlines()[-1])
        seconds = result["seconds"]
        print(
            f"{size:>11,} {result['rows']:>11,} {seconds:>8.1f} {size / seconds:>12,.0f} "
            f"{result['rows'] / seconds:>9,.0f} {result['peak_rss_mib']:>13.0f} "
            f"{result['output_mib']:>11.0f}"
        )


if __name__ == "__main__":
    main()
