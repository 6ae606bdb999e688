"""Open-data portal: ``package_search`` over 10,000 datasets, ``datastore_search`` and a CSV
download of a 10-million-row dataset, through ``rongshu serve`` on loopback, with Datasette
serving the same rows from SQLite in the same run as the baseline.

Usage::

    .venv/bin/pip install -e ".[bench]"          # Datasette, the baseline
    .venv/bin/python bench/opendata.py           # 10,000 datasets, 10M rows (about 9–13 minutes)
    .venv/bin/python bench/opendata.py --quick   # 1,000 datasets, 1M rows: a smoke run
    .venv/bin/python bench/opendata.py --no-datasette --search-requests 2000

Goals (the open-data issue), on the 2-core machine: ``package_search`` p95 ≤ 50 ms with
10,000 datasets; ``datastore_search`` p95 ≤ 100 ms on a 10-million-row dataset with filters;
the 10-million-row CSV download at ≥ 300,000 rows/s with the server under 500 MB.

1. **Setup**, in a fresh data directory under ``--scratch`` (SQLite metadata, embedded
   defaults; removed at the end), through the platform's own paths (``opendata_data``): the
   bureau and 30 departments; ``--datasets`` catalog resources registered, approved and opened
   as datasets (metadata only: titles of place, subject and qualifier, 2–5 tags, themes, all
   licences, one in eight conditional); the air-quality resource of ``--rows`` readings (60
   stations every ten minutes: id, station code and name, district, time, PM2.5, AQI, level)
   committed to the lake in 1M-row batches, scanned (a steward overrides what the scan
   suggests: at 10M rows it takes ``reading_id`` for a phone number, and the release would
   mask the key to ``*``), opened, and **released** (timed: the release writes Parquet, CSV,
   GB18030 CSV and JSON, and Excel up to 1,048,575 rows). Then
   Datasette's SQLite file: the release's own rows, ``reading_id`` as row id, indexes on
   ``station_code`` and ``quality_level`` (timed, not part of any figure).
2. **Index, in process.** ``list_datasets`` and ``DatasetIndex`` timed as the server's first
   search runs them, then the query mix straight into the index (no HTTP).
3. **Search over HTTP.** ``rongshu serve --workers 1`` (``RONGSHU_JOBS_IN_PROCESS=false``,
   ``RONGSHU_LOG_LEVEL=WARNING``); one client on one keep-alive connection, requests one after
   another (concurrency 1). The first ``package_search`` builds the index (reported apart);
   ``WARMUP`` requests not counted; then ``--search-requests`` of a seeded mix: ``q`` a
   subject or part of one (a quarter empty), ``fq`` of 0–2 clauses on organization, groups
   and tags, 3–4 ``facet.field``, ``rows=20``, a fifth on a later page. Latency is from
   sending the request to the answer's last byte; every answer must be 200 with
   ``success: true`` and its count must equal the in-process index's.
4. **Datastore over HTTP**, the same server: ``--datastore-requests`` spread over four kinds
   (one equality filter; two filters; a filter and ``sort=aqi desc``; a filter with
   ``offset=5000``), each on a station drawn at random, ``limit=100``, the total counted (as
   CKAN does by default); each total must be the station's readings. Then Datasette
   (``datasette serve -i``, ``suggest_facets`` off, ``sql_time_limit_ms`` 60,000: its default
   1,000 refuses the filtered sort at 10M rows; ``max_csv_mb`` 0: its CSV export stops at
   100 MB by default) with the same requests in its own form:
   ``/air/air.json?station_code=S017&_size=100`` (``quality_level=``, ``_sort_desc=aqi``; the
   offset one through ``/air.json?sql=... LIMIT 100 OFFSET 5000``); its filtered counts must
   agree too.
5. **CSV download.** A fresh single-worker ``rongshu serve`` (so its peak is the download's),
   ``GET /datasets/<name>/download/csv`` read to the end in 1 MiB reads and thrown away, timed
   from the request to the last byte; rows = lines less the header, and must equal ``--rows``.
   Peak memory is the server process's ``VmHWM``. Datasette's ``/air/air.csv?_stream=on`` the
   same way, on a fresh Datasette.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import opendata_data as data
from exchange import (  # bench/exchange.py: its server start-up and /proc readings
    Server,
    _cpu_seconds,
    _free_port,
    _settle,
    _status_kib,
    rongshu_server,
)
from machine import facts

from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.opendata import releases
from rongshu.opendata.ckan_shapes import org_name
from rongshu.opendata.search import DatasetIndex
from rongshu.opendata.service import list_datasets

WARMUP = 20
FACET_SETS = (
    ("organization", "groups", "tags"),
    ("organization", "groups", "tags", "license_id"),
    ("organization", "tags", "res_format"),
    ("groups", "tags", "license_id", "access"),
)
KINDS = ("one filter", "two filters", "filter + sort", "filter + offset")
OFFSET = 5000
LIMIT = 100
#: Datasette's ``sql_time_limit_ms`` (its default, 1,000, refuses some of the requests).
SQL_TIME_LIMIT_MS = 60_000

GOAL_SEARCH_MS = 50.0
GOAL_DATASTORE_MS = 100.0
GOAL_ROWS_PER_S = 300_000
GOAL_PEAK_BYTES = 500 * 10**6


# -- the requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """One ``package_search``: its CKAN parameters, and the same as ``DatasetIndex.search``
    takes them."""

    q: str
    fq: list[tuple[str, str]]
    facets: tuple[str, ...]
    start: int

    def path(self) -> str:
        params = {"q": self.q, "rows": "20", "start": str(self.start)}
        if self.fq:
            params["fq"] = " ".join(f'{field}:"{value}"' for field, value in self.fq)
        params["facet.field"] = json.dumps(list(self.facets))
        return "/api/3/action/package_search?" + urlencode(params)

    def in_process(self, index: DatasetIndex) -> int:
        codes = {org_name(code): code for code, _ in data.PORTAL_DEPARTMENTS}
        filters = {
            field: [codes.get(value, value) if field == "organization" else value]
            for field, value in self.fq
        }
        found = index.search(
            q=self.q, filters=filters, rows=20, start=self.start, facet_fields=self.facets
        )
        return found.count


def searches(count: int, seed: int) -> list[Search]:
    """A seeded mix of portal searches (see the module's docstring)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        draw = rng.random()
        subject = rng.choice(data.SUBJECTS)
        if draw < 0.25:
            q = ""
        elif draw < 0.7:
            q = subject
        elif draw < 0.9:
            q = subject[:2]
        else:
            q = f"{rng.choice(data.PLACES)} {subject}"
        fq: list[tuple[str, str]] = []
        for field in rng.sample(["organization", "groups", "tags"], rng.choice([0, 0, 1, 1, 2])):
            if field == "organization":
                fq.append((field, org_name(rng.choice(data.PORTAL_DEPARTMENTS)[0])))
            elif field == "groups":
                fq.append((field, rng.choice(list(data.THEMES.values())).value))
            else:
                fq.append((field, rng.choice(data.TAGS)))
        start = rng.choice([20, 40]) if rng.random() < 0.2 else 0
        out.append(Search(q, fq, rng.choice(FACET_SETS), start))
    return out


@dataclass(frozen=True)
class Lookup:
    """One datastore request: its kind, station, and both servers' paths."""

    kind: str
    station: str
    rongshu: str
    datasette: str


def lookups(count: int, seed: int, resource_id: str) -> list[Lookup]:
    """``count`` datastore requests, the four kinds in turn, stations at random."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        station = rng.choice(data.STATION_CODES)
        filters: dict[str, str] = {"station_code": station}
        ours: dict[str, str] = {"resource_id": resource_id, "limit": str(LIMIT)}
        theirs: dict[str, str] = {"station_code": station, "_size": str(LIMIT)}
        table = f"/air/{data.SQLITE_TABLE}.json?"
        if kind == "two filters":
            filters["quality_level"] = theirs["quality_level"] = "良"
        elif kind == "filter + sort":
            ours["sort"] = "aqi desc"
            theirs["_sort_desc"] = "aqi"
        elif kind == "filter + offset":
            ours["offset"] = str(OFFSET)
            sql = (
                f"select * from {data.SQLITE_TABLE} where station_code = :s "  # noqa: S608
                f"order by reading_id limit {LIMIT} offset {OFFSET}"
            )
            table, theirs = "/air.json?", {"sql": sql, "s": station}
        ours["filters"] = json.dumps(filters, ensure_ascii=False)
        out.append(
            Lookup(
                kind,
                station,
                "/api/3/action/datastore_search?" + urlencode(ours),
                table + urlencode(theirs),
            )
        )
    return out


# -- timing ----------------------------------------------------------------------------------


def timed_gets(
    port: int, paths: Sequence[str], check: Callable[[int, dict[str, Any]], None]
) -> list[float]:
    """GET each path in turn on one keep-alive connection; the milliseconds each took, from
    sending the request to its last byte. ``check(n, answer)`` runs on every answer, outside
    the timing; a status other than 200 stops the bench."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    took = []
    try:
        for n, path in enumerate(paths):
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            took.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise SystemExit(f"GET {path} answered {response.status}: {body[:500]!r}")
            check(n, json.loads(body))
    finally:
        connection.close()
    return took


def percentiles(values: Sequence[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "n": len(values),
        "p50": statistics.median(values),
        "p95": cuts[94],
        "p99": cuts[98],
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def stream_csv(port: int, path: str) -> dict[str, Any]:
    """One CSV download read to the end and thrown away; rows counted from the lines."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    newlines = size = 0
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    if response.status != 200:
        raise SystemExit(f"GET {path} answered {response.status}: {response.read()[:500]!r}")
    while chunk := response.read1(1 << 20):
        size += len(chunk)
        newlines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    connection.close()
    rows = newlines - 1  # the header
    return {"rows": rows, "bytes": size, "seconds": seconds, "rows_per_s": rows / seconds}


def download(server: Server, path: str) -> dict[str, Any]:
    """A download through a server started for it; with its CPU and peak memory."""
    pid = server.process.pid
    idle = _status_kib(pid, "VmRSS")
    cpu = _cpu_seconds([pid])
    figures = stream_csv(server.port, path)
    figures["server_cpu_s"] = _cpu_seconds([pid]) - cpu
    figures["idle_rss_mib"] = idle / 1024
    figures["peak_rss_mib"] = _status_kib(pid, "VmHWM") / 1024
    return figures


def measured(server: Server, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``run()``'s figures, with the wall seconds and the server's CPU seconds meanwhile."""
    cpu = _cpu_seconds(server.pids())
    started = time.perf_counter()
    figures = run()
    figures["wall_s"] = time.perf_counter() - started
    figures["server_cpu_s"] = _cpu_seconds(server.pids()) - cpu
    return figures


# -- servers ---------------------------------------------------------------------------------


def datasette_server(database: Path, log: Path) -> Server:
    """``datasette serve -i`` on the SQLite file; waits until it answers and is idle."""
    port = _free_port()
    command = [str(Path(sys.executable).parent / "datasette"), "serve", "-i", str(database)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    command += ["--setting", "suggest_facets", "off"]
    # The default 1 s limit refuses (400) the filtered sort by AQI at 10M rows: let it answer.
    command += ["--setting", "sql_time_limit_ms", str(SQL_TIME_LIMIT_MS)]
    # Its CSV export stops at 100 MB by default (``max_csv_mb``); 0 lifts the cap.
    command += ["--setting", "max_csv_mb", "0"]
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server("Datasette", process, port, log)
    deadline = time.monotonic() + 300
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"Datasette did not start: {command}\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/-/versions.json")
            if connection.getresponse().status == 200:
                connection.close()
                break
        except OSError:
            pass
        time.sleep(0.3)
    _settle(server)
    return server


# -- the parts -------------------------------------------------------------------------------


@dataclass
class Built:
    """What the setup made and timed."""

    datasets: int
    publish_s: float
    load_s: float
    release_s: float
    release_rows: int
    release_files: dict[str, int]
    resource_id: str
    csv_path: str
    sqlite: Path | None
    sqlite_s: float


def build(settings: Settings, args: argparse.Namespace, scratch: Path) -> Built:
    platform = Platform.open(settings, upgrade=True)
    try:
        data.departments(platform)
        items = data.generate(args.datasets, args.seed)
        publish_s = data.publish_datasets(platform, items)
        print(
            f"setup: {len(items):,} datasets registered, approved and opened in {publish_s:.0f} s"
        )
        load_s = data.load_air(platform, args.rows, args.seed)
        print(
            f"setup: {args.rows:,} air-quality readings committed, scanned, opened: {load_s:.0f} s"
        )
        made, release_s = data.release_air(platform)
        files = {f"{f.format.value}/{f.encoding or '-'}": f.size for f in made.files}
        print(f"setup: release of {made.rows:,} rows in {release_s:.1f} s: {files}")
    finally:
        platform.close()
    sqlite, sqlite_s = None, 0.0
    if not args.no_datasette:
        parquet = releases.release_file(settings, data.AIR_NAME, made.version, "parquet")
        sqlite = scratch / "air.db"
        written, sqlite_s = data.write_sqlite(parquet, sqlite)
        print(f"setup: Datasette's SQLite file, {written:,} rows and 2 indexes in {sqlite_s:.0f} s")
    return Built(
        datasets=len(items),
        publish_s=publish_s,
        load_s=load_s,
        release_s=release_s,
        release_rows=made.rows,
        release_files=files,
        resource_id=args.resource_id or data.AIR_NAME,
        csv_path=f"/datasets/{data.AIR_NAME}/download/csv",
        sqlite=sqlite,
        sqlite_s=sqlite_s,
    )


def in_process(settings: Settings, mix: Sequence[Search]) -> tuple[dict[str, Any], list[int]]:
    """The index built as the server builds it, and the mix straight into it; each count."""
    platform = Platform.open(settings)
    try:
        started = time.perf_counter()
        with platform.db.session_scope() as session:
            datasets = list_datasets(session)
        listed = time.perf_counter() - started
        index = DatasetIndex(datasets)
        indexed = time.perf_counter() - started - listed
    finally:
        platform.close()
    counts, took = [], []
    for search in mix:
        started = time.perf_counter()
        counts.append(search.in_process(index))
        took.append((time.perf_counter() - started) * 1000)
    figures = {"list_s": listed, "index_s": indexed, "datasets": len(index), **percentiles(took)}
    return figures, counts


def search_http(port: int, mix: Sequence[Search], counts: Sequence[int]) -> dict[str, Any]:
    """``package_search`` over HTTP: the first request (it builds the index), a warm-up,
    then the mix; every count must equal the in-process index's."""

    def check(n: int, answer: dict[str, Any]) -> None:
        if not answer.get("success"):
            raise SystemExit(f"package_search failed: {answer}")
        if answer["result"]["count"] != counts[n]:
            raise SystemExit(
                f"package_search {mix[n]} counted {answer['result']['count']}, not {counts[n]}"
            )

    paths = [s.path() for s in mix]
    first = timed_gets(port, paths[:1], check)[0]
    timed_gets(port, paths[:WARMUP], check)
    took = timed_gets(port, paths, check)
    return {"first_ms": first, **percentiles(took)}


def datastore_http(
    port: int, requests: Sequence[Lookup], rows: int, *, datasette: bool
) -> dict[str, Any]:
    """The datastore requests over HTTP (ours or Datasette's form), warm-up first; every
    equality-filtered total must be the station's readings."""

    def check(n: int, answer: dict[str, Any]) -> None:
        lookup = requests[n % len(requests)]
        if datasette:
            got = answer.get("filtered_table_rows_count")
            at = answer["columns"].index("station_code")
            stations = {row[at] for row in answer["rows"]}
            records = answer["rows"]
        else:
            if not answer.get("success"):
                raise SystemExit(f"datastore_search failed: {answer}")
            got = answer["result"].get("total")
            records = answer["result"]["records"]
            stations = {record["station_code"] for record in records}
        if len(records) != LIMIT or stations != {lookup.station}:
            raise SystemExit(
                f"{lookup.kind} on {lookup.station}: {len(records)} records of {stations}"
            )
        if lookup.kind in ("one filter", "filter + sort", "filter + offset") and got is not None:
            want = data.air_rows_of(lookup.station, rows)
            if got != want:
                raise SystemExit(f"{lookup.kind} on {lookup.station}: total {got}, not {want}")

    paths = [lookup.datasette if datasette else lookup.rongshu for lookup in requests]
    timed_gets(port, paths[: 2 * len(KINDS)], check)
    took = timed_gets(port, paths, check)
    figures: dict[str, Any] = {"all": percentiles(took)}
    for kind in KINDS:
        figures[kind] = percentiles(
            [t for t, r in zip(took, requests, strict=True) if r.kind == kind]
        )
    return figures


# -- report ----------------------------------------------------------------------------------


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _ms(figures: dict[str, float]) -> str:
    return (
        f"{figures['p50']:.1f} / {figures['p95']:.1f} / {figures['p99']:.1f} / {figures['max']:.0f}"
    )


def _cores(figures: dict[str, Any]) -> str:
    """The server's CPU seconds over a part, and the cores that kept busy."""
    cpu, wall = figures["server_cpu_s"], figures["wall_s"]
    return f"{cpu:.1f} s in {wall:.1f} s ({cpu / wall:.2f} cores)"


def report(result: dict[str, Any]) -> list[str]:
    setup = result["setup"]
    lines = [
        "",
        f"setup: {setup['datasets']:,} datasets published and opened in "
        f"{setup['publish_s']:.0f} s; release of {setup['release_rows']:,} rows "
        f"{setup['release_s']:.1f} s ({', '.join(setup['release_files'])})",
        "",
        "p50 / p95 / p99 / max, milliseconds (sequential, one connection)",
    ]
    index = result["index"]
    search = result["search"]
    lines += [
        f"package_search, {index['datasets']:,} datasets:",
        f"  in process (DatasetIndex.search) {_ms(index)}",
        f"  HTTP, {search['n']} requests       {_ms(search)}",
        f"  index build: list_datasets {index['list_s']:.1f} s + DatasetIndex "
        f"{index['index_s']:.1f} s; the server's first search {search['first_ms'] / 1000:.1f} s",
        f"  server CPU {_cores(search)}",
        f"  goal p95 ≤ {GOAL_SEARCH_MS:g} ms: {_verdict(search['p95'] <= GOAL_SEARCH_MS)}",
    ]
    ours, theirs = result["datastore"], result.get("datasette")
    lines.append(f"datastore_search, {result['rows']:,} rows, limit {LIMIT}:")
    lines.append(f"  {'':18}{'rongshu':>32}{'Datasette':>32}{'ours ÷ theirs':>15}")
    for kind in ("all", *KINDS):
        other = _ms(theirs[kind]) if theirs else "—"
        ratio = f"p95 {ours[kind]['p95'] / theirs[kind]['p95']:.2f}×" if theirs else "—"
        lines.append(f"  {kind:18}{_ms(ours[kind]):>32}{other:>32}{ratio:>15}")
    lines.append(f"  server CPU: rongshu {_cores(ours)}")
    if theirs:
        lines[-1] += f"; Datasette {_cores(theirs)}"
    lines.append(
        f"  goal p95 ≤ {GOAL_DATASTORE_MS:g} ms: "
        f"{_verdict(ours['all']['p95'] <= GOAL_DATASTORE_MS)}"
    )
    lines.append(f"CSV download, {result['rows']:,} rows:")
    for name, figures in result["downloads"].items():
        lines.append(
            f"  {name:10} {figures['rows']:,} rows, {figures['bytes'] / 2**20:,.0f} MiB in "
            f"{figures['seconds']:.1f} s: {figures['rows_per_s']:,.0f} rows/s; server CPU "
            f"{figures['server_cpu_s']:.1f} s; RSS {figures['idle_rss_mib']:,.0f} MiB idle, "
            f"peak {figures['peak_rss_mib']:,.0f} MiB"
        )
    ours_csv = result["downloads"]["rongshu"]
    if "Datasette" in result["downloads"]:
        ratio = ours_csv["rows_per_s"] / result["downloads"]["Datasette"]["rows_per_s"]
        lines.append(f"  ratio rongshu / Datasette rows/s: {ratio:.1f}×")
    fast = ours_csv["rows_per_s"] >= GOAL_ROWS_PER_S
    small = ours_csv["peak_rss_mib"] * 2**20 < GOAL_PEAK_BYTES
    lines.append(
        f"  goal ≥ {GOAL_ROWS_PER_S:,} rows/s: {_verdict(fast)}; "
        f"goal peak < 500 MB: {_verdict(small)}"
    )
    return lines


def command() -> str:
    return " ".join([".venv/bin/python", "bench/opendata.py", *map(shlex.quote, sys.argv[1:])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 datasets and 1M rows")
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=10_000_000, help="air-quality readings")
    parser.add_argument("--search-requests", type=int, default=600)
    parser.add_argument("--datastore-requests", type=int, default=240)
    parser.add_argument("--no-datasette", action="store_true", help="skip the baseline")
    parser.add_argument(
        "--resource-id", default="", help="datastore_search's resource_id (default: the name)"
    )
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    if args.quick:
        args.datasets, args.rows = min(args.datasets, 1_000), min(args.rows, 1_000_000)
    if args.rows // data.STATIONS < OFFSET + LIMIT:
        raise SystemExit(f"the offset requests need --rows of {data.STATIONS * (OFFSET + LIMIT):,}")
    if not args.no_datasette and not (Path(sys.executable).parent / "datasette").exists():
        raise SystemExit('Datasette is the baseline: .venv/bin/pip install -e ".[bench]"')
    print(facts())
    scratch = Path(tempfile.mkdtemp(prefix="rongshu-bench-opendata-", dir=args.scratch))
    data_dir = scratch / "data"
    settings = Settings(data_dir=data_dir, jobs_in_process=False, log_level="WARNING")
    log = scratch / "servers.log"
    started = time.perf_counter()
    try:
        built = build(settings, args, scratch)
        mix = searches(args.search_requests, args.seed)
        index, counts = in_process(settings, mix)
        requests = lookups(args.datastore_requests, args.seed, built.resource_id)
        result: dict[str, Any] = {"rows": args.rows, "index": index}
        result["setup"] = {
            "datasets": built.datasets,
            "publish_s": built.publish_s,
            "load_s": built.load_s,
            "release_s": built.release_s,
            "release_rows": built.release_rows,
            "release_files": built.release_files,
            "sqlite_s": built.sqlite_s,
        }

        server = rongshu_server(data_dir, 1, log)
        try:
            print("package_search over HTTP ...", flush=True)
            result["search"] = measured(server, lambda: search_http(server.port, mix, counts))
            print("datastore_search over HTTP ...", flush=True)
            result["datastore"] = measured(
                server, lambda: datastore_http(server.port, requests, args.rows, datasette=False)
            )
            result["server_peak_mib"] = _status_kib(server.process.pid, "VmHWM") / 1024
        finally:
            server.stop()
        if built.sqlite is not None:
            server = datasette_server(built.sqlite, log)
            try:
                print("Datasette's table JSON ...", flush=True)
                result["datasette"] = measured(
                    server, lambda: datastore_http(server.port, requests, args.rows, datasette=True)
                )
            finally:
                server.stop()

        result["downloads"] = {}
        print("CSV downloads ...", flush=True)
        server = rongshu_server(data_dir, 1, log)
        try:
            result["downloads"]["rongshu"] = download(server, built.csv_path)
        finally:
            server.stop()
        if built.sqlite is not None:
            server = datasette_server(built.sqlite, log)
            try:
                path = f"/air/{data.SQLITE_TABLE}.csv?_stream=on&_size=max"
                result["downloads"]["Datasette"] = download(server, path)
            finally:
                server.stop()

        print("\n".join(report(result)))
        print(f"\nwhole run {time.perf_counter() - started:.0f} s; `{command()}`\n")
        print(json.dumps(result))
        for name, figures in result["downloads"].items():
            if figures["rows"] != args.rows:
                raise SystemExit(f"{name}'s CSV held {figures['rows']:,} rows, not {args.rows:,}")
    except BaseException:
        if log.exists():
            print(f"the servers' log ends:\n{log.read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
