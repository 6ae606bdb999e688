"""Data sharing and exchange: verification calls through ``rongshu serve --workers 2`` on
loopback against a bare endpoint of the same framework, and a 10-million-row batch export
streamed through the server, with rows/s and the server's peak memory.

Usage::

    apt-get install wrk                          # the load generator (Debian package wrk)
    python bench/exchange.py                     # 60 s each, 1M people, a 10M-row export
    python bench/exchange.py --seconds 10 --rows 200000 --batch-rows 1000000   # quicker
    python bench/exchange.py --no-batch --connections 64

Goals (the data-exchange issue), on the 2-core machine: verification (authentication, quota,
masking and audit included) at ≥ 0.5× a bare endpoint of the same framework, p99 ≤ 25 ms, and
at least 3,000 verifications/s (a province's 800,000 a day in under 5 minutes); a 10,000,000-row
batch export at ≥ 500,000 rows/s with peak memory under 1 GB.

1. **Setup** (not timed), in a fresh data directory under ``--scratch`` (SQLite metadata,
   embedded defaults; removed at the end): the owner department's resource of ``--rows``
   people (``FIELDS``: the GB 11643 ID number as key, name, gender, birth date, mobile,
   district, address, household type; ID numbers distinct, their birth date and gender those
   of the ID), published, committed as one lake version, scanned for personal data; its
   services published; an app of another department with an API key; a verification grant
   with a daily quota and rate far above what the run can use; the serving index built. A
   second resource of ``--batch-rows`` people, its batch service granted to the same app.
2. **Verification.** ``rongshu serve --workers 2`` (``RONGSHU_JOBS_IN_PROCESS=false``,
   ``RONGSHU_LOG_LEVEL=WARNING``). ``--bodies`` different requests over people drawn at
   random, three claimed fields each (name, birth date, mobile): half all true, 40 % with one
   field false, 10 % an ID number that is in no record. Before timing, every kind of answer
   is checked against the data (the bench stops if one is wrong), then ``--warmup`` seconds of
   load (not counted). Then ``wrk`` for ``--seconds`` with ``--connections`` keep-alive
   connections, rotating over the requests (formatted once per wrk thread by a Lua script):
   throughput, p50/p90/p99 as wrk measures them (closed loop: a connection sends its next
   request when the answer arrives), non-2xx answers and socket errors; the CPU seconds of
   each server process (the workers share one listening socket, so one may take most of
   the connections). After the server stops (its audit writer drains), the ledger must
   hold an ``exchange.verify`` entry for every answered call.
3. **Bare.** ``bench/bare_app.py`` under uvicorn with the same worker count, the same
   requests, the same wrk and durations; its launcher binds the listening socket so that
   accepted connections get ``TCP_NODELAY`` (see its docstring). Ratio = rongshu's calls/s
   / bare calls/s. wrk's CPU seconds are shown beside (it shares the cores with the servers).
4. **Batch.** For each of ``--formats``: a fresh single-worker ``rongshu serve`` (so its peak
   is the export's alone, the server's own memory included), ``GET .../batch?format=...``
   read to the end by this process over one connection and thrown away, timed from the
   request to the last byte; rows are counted from what arrived (CSV lines less the header;
   the Parquet footer's row count) and must equal ``--batch-rows``. Peak memory is the server
   process's ``VmHWM`` after the export.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import uvicorn
from machine import facts  # bench/machine.py (scripts run from bench/)
from sqlalchemy import func, select

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import (
    FieldSpec,
    FieldType,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
)
from rongshu.core.audit.models import AuditEntry
from rongshu.core.db import utcnow
from rongshu.core.identity import service as identity
from rongshu.core.identity.schemas import SYSTEM, AppCreate, DepartmentCreate
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.exchange import grants, services, serving
from rongshu.exchange.schemas import ServiceKind
from rongshu.lake.schema import arrow_schema
from rongshu.lake.tables import Lake
from rongshu.security import service as security
from rongshu.security.schemas import MaskingProfile

BENCH = Path(__file__).resolve().parent
VERIFY_CODE = "GA-BENCH-01"
BATCH_CODE = "GA-BENCH-02"
OWNER, CONSUMER, BUREAU = "GA", "RS", "DSJ"
PURPOSE = "社会保险待遇资格认证"
CHUNK = 1_000_000
#: Answers checked one by one before the load (every kind of request is among them).
CHECKED = 200

FIELDS = [
    FieldSpec(
        name="公民身份号码", english_name="id_number", data_type=FieldType.STRING, is_key=True
    ),
    FieldSpec(name="姓名", english_name="name", data_type=FieldType.STRING, is_personal=True),
    FieldSpec(name="性别", english_name="gender", data_type=FieldType.STRING),
    FieldSpec(name="出生日期", english_name="birth_date", data_type=FieldType.DATE),
    FieldSpec(name="联系电话", english_name="phone", data_type=FieldType.STRING),
    FieldSpec(name="所属区县", english_name="district", data_type=FieldType.STRING),
    FieldSpec(name="住址", english_name="address", data_type=FieldType.STRING),
    FieldSpec(name="户口性质", english_name="household", data_type=FieldType.STRING),
]
CLAIMED = ("name", "birth_date", "phone")
DISTRICTS = {
    "350102": "鼓楼区",
    "350103": "台江区",
    "350104": "仓山区",
    "350105": "马尾区",
    "350111": "晋安区",
    "350121": "闽侯县",
    "350122": "连江县",
}
#: A region none of the records is from: its ID numbers are valid and found nowhere.
ELSEWHERE = "350123"  # 罗源县
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国平春梅兰云志红")
STREETS = ["五四路", "东街", "八一七北路", "湖东路", "福新路", "工业路", "华林路", "六一中路"]
HOUSEHOLDS = ["家庭户", "集体户"]
MOBILE_PREFIXES = np.array([133, 135, 136, 138, 139, 150, 152, 158, 159, 177, 180, 186, 189])
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
FIRST_BIRTH, LAST_BIRTH = date(1940, 1, 1), date(2005, 1, 1)
BIRTH_DAYS = (LAST_BIRTH - FIRST_BIRTH).days
#: Steps birth days around the range: rows next to each other are born years apart.
DAY_STEP = next(p for p in range(7919, BIRTH_DAYS) if gcd(p, BIRTH_DAYS) == 1)
EPOCH_DAYS = (FIRST_BIRTH - date(1970, 1, 1)).days

# -- the data --------------------------------------------------------------------------------


def _ascii(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded ASCII digits: one row of ``width`` bytes each."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def _fixed(chars: np.ndarray) -> pa.Array:
    """Rows of a byte matrix as a string array."""
    rows, width = chars.shape
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars).tobytes()
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))


def _pick(choices: Sequence[str], index: np.ndarray) -> pa.Array:
    return pa.array(choices).take(pa.array(index))


def resident_ids(regions: np.ndarray, days: np.ndarray, sequences: np.ndarray) -> pa.Array:
    """GB 11643 ID numbers: region codes (6-digit ints), birth days since ``FIRST_BIRTH``,
    sequence numbers (odd: male), and the check character."""
    born = np.datetime64(FIRST_BIRTH.isoformat()) + days.astype("timedelta64[D]")
    year = born.astype("datetime64[Y]")
    month = born.astype("datetime64[M]")
    ymd = (
        (year.astype(np.int64) + 1970) * 10_000
        + (month - year).astype(np.int64) * 100
        + 100
        + (born - month).astype(np.int64)
        + 1
    )
    body = np.hstack([_ascii(regions, 6), _ascii(ymd, 8), _ascii(sequences, 3)])
    check = CHECK[((body.astype(np.int64) - 48) * WEIGHTS).sum(axis=1) % 11]
    return _fixed(np.hstack([body, check[:, None]]))


def people(start: int, rows: int, seed: int) -> pa.RecordBatch:
    """Records ``start`` to ``start + rows`` (``FIELDS``'s columns). Row ``i``'s ID number
    spells ``i`` (district, birth day and sequence number), so ID numbers are distinct."""
    gen = np.random.default_rng([seed, start])
    index = np.arange(start, start + rows, dtype=np.int64)
    codes = np.array([int(code) for code in DISTRICTS], dtype=np.int64)
    district = index % len(codes)
    serial = index // len(codes)
    days = (serial % BIRTH_DAYS) * DAY_STEP % BIRTH_DAYS
    sequences = serial // BIRTH_DAYS + 1  # 001 to 999
    if sequences.max(initial=0) > 999:
        raise SystemExit(f"at most {len(codes) * BIRTH_DAYS * 999:,} distinct people")
    given = gen.integers(0, len(GIVEN), (rows, 2))
    names = pc.binary_join_element_wise(
        _pick(SURNAMES, gen.integers(0, len(SURNAMES), rows)),
        _pick(GIVEN, given[:, 0]),
        pc.if_else(pa.array(gen.random(rows) < 0.7), _pick(GIVEN, given[:, 1]), ""),
        "",
    )
    mobiles = np.hstack(
        [
            _ascii(MOBILE_PREFIXES[gen.integers(0, len(MOBILE_PREFIXES), rows)], 3),
            _ascii(gen.integers(0, 10**8, rows), 8),
        ]
    )
    district_names = _pick(list(DISTRICTS.values()), district)
    addresses = pc.binary_join_element_wise(
        "福建省福州市",
        district_names,
        _pick(STREETS, gen.integers(0, len(STREETS), rows)),
        pc.cast(pa.array(gen.integers(1, 400, rows)), pa.string()),
        "号",
        "",
    )
    return pa.record_batch(
        {
            "id_number": resident_ids(codes[district], days, sequences),
            "name": names,
            "gender": _pick(["女", "男"], sequences % 2),
            "birth_date": pa.array((days + EPOCH_DAYS).astype(np.int32)).cast(pa.date32()),
            "phone": _fixed(mobiles),
            "district": _pick(list(DISTRICTS), district),
            "address": addresses,
            "household": _pick(HOUSEHOLDS, (gen.random(rows) < 0.1).astype(np.int64)),
        }
    )


# -- setup -----------------------------------------------------------------------------------


@dataclass
class Setup:
    """What the timed parts need from the setup."""

    api_key: str
    verify_service: str
    batch_service: str
    #: Request bodies (one JSON line each) and the answer each must get: found, match, and
    #: the verdict per claimed field.
    bodies: list[bytes] = field(default_factory=list)
    expected: list[tuple[bool, bool, dict[str, str]]] = field(default_factory=list)


def _department(platform: Platform, code: str, name: str) -> None:
    with platform.db.session_scope() as session:
        identity.create_department(
            session,
            data=DepartmentCreate(code=code, name=name, region_code="350100"),
            actor=SYSTEM,
            ledger=platform.ledger,
        )


def _publish(platform: Platform, code: str, name: str) -> pa.Schema:
    """Register, submit and publish a catalog resource of ``FIELDS``; its lake schema."""
    ctx = catalog.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau=BUREAU)
    with platform.db.session_scope() as session:
        catalog.create_resource(
            session,
            spec=ResourceSpec(
                code=code,
                name=name,
                department_code=OWNER,
                fields=FIELDS,
                share_type=ShareType.CONDITIONAL,
                share_condition="用于核验身份、发放待遇",
                share_methods=[ShareMethod.API, ShareMethod.BATCH],
                open_type=OpenType.NONE,
                legal_basis="《中华人民共和国个人信息保护法》",
            ),
            ctx=ctx,
        )
        catalog.submit(session, code=code, reason="", ctx=ctx)
        catalog.review(session, code=code, approve=True, reason="", ctx=ctx)
        return arrow_schema(catalog.current_fields(session, code))


def _load(platform: Platform, code: str, schema: pa.Schema, rows: int, seed: int) -> None:
    """Commit ``rows`` people as one lake version, then scan it and publish its services."""

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, rows, CHUNK):
            yield people(start, min(CHUNK, rows - start), seed).cast(schema)

    Lake.from_settings(platform.settings).table(code).commit(
        batches(), schema=schema, mode="overwrite"
    )
    security.scan_resource(platform, code, actor=SYSTEM)
    with platform.db.session_scope() as session:
        services.publish_services(session, code=code, actor=SYSTEM, ledger=platform.ledger)


def _grant(platform: Platform, app_id: int, code: str, kind: ServiceKind) -> str:
    """Grant the app a service of ``code`` with room for any run; the service's code."""
    service_code = services.service_code(code, kind)
    with platform.db.session_scope() as session:
        service = services.get_service_row(session, service_code)
        grants.create_grant(
            session,
            app=identity.get_app(session, app_id),
            service=service,
            columns=list(service.columns),
            conditions=[],
            purpose=PURPOSE,
            profile=MaskingProfile.STANDARD,
            daily_quota=100_000_000,
            rate_per_second=1_000_000,
            expires_at=utcnow() + timedelta(days=30),
            actor=SYSTEM,
            ledger=platform.ledger,
        )
    return service_code


def setup(settings: Settings, *, rows: int, batch_rows: int, bodies: int, seed: int) -> Setup:
    """The platform, its two resources, the app, its grants and the serving index."""
    platform = Platform.open(settings, upgrade=True)
    try:
        for code, name in (
            (OWNER, "公安局"),
            (CONSUMER, "人力资源和社会保障局"),
            (BUREAU, "大数据局"),
        ):
            _department(platform, code, name)
        schema = _publish(platform, VERIFY_CODE, "常住人口基本信息")
        _load(platform, VERIFY_CODE, schema, rows, seed)
        with platform.db.session_scope() as session:
            app = identity.create_app(
                session,
                data=AppCreate(name="社保待遇资格认证", department_code=CONSUMER),
                actor=SYSTEM,
                ledger=platform.ledger,
            )
            issued = identity.issue_api_key(
                session,
                app_id=app.id,
                secret=platform.secret,
                keys=platform.data_keys,
                actor=SYSTEM,
                ledger=platform.ledger,
            )
        found = Setup(
            api_key=issued.api_key,
            verify_service=_grant(platform, app.id, VERIFY_CODE, ServiceKind.VERIFY),
            batch_service="",
        )
        serving.build(platform, VERIFY_CODE)
        _requests(found, rows, bodies, seed)
        if batch_rows:
            schema = _publish(platform, BATCH_CODE, "常住人口基本信息（批量）")
            _load(platform, BATCH_CODE, schema, batch_rows, seed + 1)
            found.batch_service = _grant(platform, app.id, BATCH_CODE, ServiceKind.BATCH)
    finally:
        platform.close()
    return found


def _requests(found: Setup, rows: int, count: int, seed: int) -> None:
    """``count`` request bodies over people drawn at random, and the answer each must get:
    5 in 10 with every claim true, 2 a wrong mobile, 1 a wrong name, 1 a wrong birth date,
    1 an ID number found nowhere."""
    rng = random.Random(seed)
    picked = sorted(rng.sample(range(rows), min(count, rows)))
    chosen: list[dict[str, Any]] = []
    for start in range(0, rows, CHUNK):
        inside = [i - start for i in picked if start <= i < start + CHUNK]
        if inside:
            batch = people(start, min(CHUNK, rows - start), seed)
            chosen += batch.take(pa.array(inside)).to_pylist()
    rng.shuffle(chosen)
    for n, person in enumerate(chosen):
        kind = n % 10
        claims = {
            "name": person["name"],
            "birth_date": person["birth_date"].isoformat(),
            "phone": person["phone"],
        }
        verdicts = dict.fromkeys(CLAIMED, "match")
        key = person["id_number"]
        if kind in (5, 6):
            claims["phone"] = claims["phone"][:-1] + str((int(claims["phone"][-1]) + 1) % 10)
            verdicts["phone"] = "mismatch"
        elif kind == 7:
            surname = SURNAMES[(SURNAMES.index(claims["name"][0]) + 1) % len(SURNAMES)]
            claims["name"] = surname + claims["name"][1:]
            verdicts["name"] = "mismatch"
        elif kind == 8:
            claims["birth_date"] = (person["birth_date"] + timedelta(days=1)).isoformat()
            verdicts["birth_date"] = "mismatch"
        elif kind == 9:
            elsewhere = resident_ids(
                np.array([int(ELSEWHERE)]), np.array([n % BIRTH_DAYS]), np.array([n % 999 + 1])
            )
            key = elsewhere[0].as_py()
            verdicts = {}
        body = {"key": {"id_number": key}, "claims": claims, "purpose": "待遇资格认证"}
        found.bodies.append(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
        found.expected.append((kind != 9, kind < 5, verdicts))


# -- servers ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in children.read_text().split()]
            except OSError:  # the thread or process has just ended
                continue
    return found


def _cpu_by_process(pids: Sequence[int]) -> dict[int, float]:
    """User + system CPU seconds of each running process."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def _cpu_seconds(pids: Sequence[int]) -> float:
    return sum(_cpu_by_process(pids).values())


def _status_kib(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    raise LookupError(f"no {name} in /proc/{pid}/status")


@dataclass
class Server:
    """A server process we started, and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def pids(self) -> list[int]:
        return _tree(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(name: str, command: list[str], env: dict[str, str], port: int, log: Path) -> Server:
    """Start a server and wait until it answers ``/healthz`` and its workers are idle."""
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command lines
            command, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(name, process, port, log)
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"{name} did not start: {command}\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                break
        except OSError:
            pass
        time.sleep(0.3)
    _settle(server)
    return server


def _settle(server: Server, *, idle: float = 0.1, longest: float = 120.0) -> None:
    """Wait until the server's processes use under ``idle`` of a core (workers still
    importing would take CPU from the measurement)."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        before = _cpu_seconds(server.pids())
        time.sleep(1.0)
        if _cpu_seconds(server.pids()) - before < idle:
            return


def rongshu_server(data_dir: Path, workers: int, log: Path) -> Server:
    port = _free_port()
    env = {
        **os.environ,
        "RONGSHU_DATA_DIR": str(data_dir),
        "RONGSHU_JOBS_IN_PROCESS": "false",
        "RONGSHU_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "rongshu", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    return start(f"rongshu serve --workers {workers}", command, env, port, log)


def bare_server(workers: int, log: Path) -> Server:
    port = _free_port()
    command = [sys.executable, str(BENCH / "bare_app.py"), "--port", str(port)]
    command += ["--workers", str(workers)]
    return start("bare FastAPI", command, dict(os.environ), port, log)


# -- verification ----------------------------------------------------------------------------

LUA = """-- written by bench/exchange.py: rotate over prepared verification requests
local prepared = {}
local next_one = 0

function init(args)
  local headers = {["Content-Type"] = "application/json", ["X-API-Key"] = %(key)s}
  for body in io.lines(%(bodies)s) do
    prepared[#prepared + 1] = wrk.format("POST", %(path)s, headers, body)
  end
  next_one = math.random(#prepared)  -- each thread starts somewhere else
end

function request()
  next_one = next_one %% #prepared + 1
  return prepared[next_one]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%%d,"duration_us":%%d,"p50_us":%%.0f,"p90_us":%%.0f,"p99_us":%%.0f,' ..
    '"max_us":%%.0f,"mean_us":%%.1f,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,' ..
    '"timeout":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status,
    e.timeout))
end
"""


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII is a Lua string


def write_script(scratch: Path, found: Setup) -> Path:
    bodies = scratch / "bodies.jsonl"
    bodies.write_bytes(b"\n".join(found.bodies) + b"\n")
    script = scratch / "verify.lua"
    path = f"/api/v1/exchange/services/{found.verify_service}/verify"
    script.write_text(
        LUA % {"key": _lua(found.api_key), "bodies": _lua(str(bodies)), "path": _lua(path)}
    )
    return script


def wrk(
    server: Server, script: Path, *, seconds: float, connections: int, threads: int
) -> dict[str, Any]:
    """One wrk run; its figures, with the CPU seconds of wrk and of the server meanwhile."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    command += ["-s", str(script), f"http://127.0.0.1:{server.port}"]
    pids = server.pids()
    server_before = _cpu_by_process(pids)
    children_before = os.times()
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    children_after = os.times()
    server_after = _cpu_by_process(pids)
    figures: dict[str, Any] = json.loads(
        next(line for line in done.stdout.splitlines() if line.startswith("{"))
    )
    spent = [server_after[pid] - server_before.get(pid, 0.0) for pid in server_after]
    figures["server_cpu_s"] = sum(spent)
    # The workers share one listening socket: whichever is awake accepts a burst of new
    # connections, so wrk's keep-alive connections may not be shared out evenly.
    figures["busiest_processes_cpu_s"] = sorted(spent, reverse=True)[:4]
    figures["wrk_cpu_s"] = (children_after.children_user + children_after.children_system) - (
        children_before.children_user + children_before.children_system
    )
    seconds_run = figures["duration_us"] / 1e6
    figures["calls_per_s"] = figures["requests"] / seconds_run
    figures["errors"] = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    return figures


#: A timed run whose least busy worker used less than this share of the busiest's CPU is run
#: again (up to ``BALANCE_TRIES`` times): wrk's connections all landed on some workers, and
#: the run measures fewer workers than it claims.
BALANCED_SHARE = 1 / 3
BALANCE_TRIES = 3


def balanced_wrk(
    server: Server, script: Path, *, workers: int, seconds: float, **load: int
) -> dict[str, Any]:
    """``wrk``, again while its connections were not shared out among the workers."""
    for attempt in range(1, BALANCE_TRIES + 1):
        figures = wrk(server, script, seconds=seconds, **load)
        busiest = figures["busiest_processes_cpu_s"][:workers]
        if workers < 2 or min(busiest) >= BALANCED_SHARE * max(busiest):
            figures["unbalanced_runs_discarded"] = attempt - 1
            return figures
        print(
            f"  {server.name}: run {attempt} discarded, its workers used "
            f"{' + '.join(f'{c:.1f}' for c in busiest)} s of CPU (connections not shared out)"
        )
    raise SystemExit(f"{server.name}: no run in {BALANCE_TRIES} shared its load among the workers")


def check_answers(server: Server, found: Setup) -> int:
    """Send the first ``CHECKED`` requests one by one; stop the bench on a wrong answer."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    path = f"/api/v1/exchange/services/{found.verify_service}/verify"
    headers = {"Content-Type": "application/json", "X-API-Key": found.api_key}
    checked = 0
    for body, (want_found, want_match, verdicts) in zip(
        found.bodies[:CHECKED], found.expected[:CHECKED], strict=True
    ):
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        got = (response.status, answer.get("found"), answer.get("match"), answer.get("fields"))
        if got != (200, want_found, want_match, verdicts):
            raise SystemExit(f"wrong answer to {body.decode()}: {answer} (status {got[0]})")
        checked += 1
    connection.close()
    return checked


def audited_calls(settings: Settings, service: str) -> int:
    """Successful verification calls of ``service`` in the audit ledger."""
    platform = Platform.open(settings)
    try:
        with platform.db.session_scope() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(
                        AuditEntry.action == "exchange.verify",
                        AuditEntry.object == f"service:{service}",
                        AuditEntry.outcome == "ok",
                    )
                )
                or 0
            )
    finally:
        platform.close()


# -- batch -----------------------------------------------------------------------------------

#: Bytes of a Parquet file's end kept while streaming: its footer must fit.
PARQUET_TAIL = 16 * 2**20


def stream_export(server: Server, found: Setup, file_format: str) -> dict[str, Any]:
    """One batch export read to the end and thrown away; rows counted from the bytes."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    path = f"/api/v1/exchange/services/{found.batch_service}/batch?format={file_format}"
    newlines = size = 0
    tail = bytearray()
    started = time.perf_counter()
    connection.request("GET", path, headers={"X-API-Key": found.api_key})
    response = connection.getresponse()
    if response.status != 200:
        raise SystemExit(f"batch export refused: {response.status} {response.read()[:500]!r}")
    while chunk := response.read1(1 << 20):
        size += len(chunk)
        if file_format == "csv":
            newlines += chunk.count(b"\n")
        else:
            tail += chunk
            if len(tail) > 2 * PARQUET_TAIL:
                del tail[:-PARQUET_TAIL]
    seconds = time.perf_counter() - started
    connection.close()
    rows = newlines - 1 if file_format == "csv" else _parquet_rows(bytes(tail))
    return {"rows": rows, "bytes": size, "seconds": seconds, "rows_per_s": rows / seconds}


def _parquet_rows(tail: bytes) -> int:
    """The row count in a Parquet file's footer, from the file's last bytes alone."""
    if tail[-4:] != b"PAR1":
        raise SystemExit("the Parquet export does not end with its footer")
    length = int.from_bytes(tail[-8:-4], "little")
    footer = b"PAR1" + tail[-(length + 8) :]  # the leading magic makes it a file to pyarrow
    return int(pq.read_metadata(pa.BufferReader(footer)).num_rows)


def batch(data_dir: Path, found: Setup, file_format: str, log: Path) -> dict[str, Any]:
    """One export through a fresh single-worker server; its figures and peak memory."""
    server = rongshu_server(data_dir, 1, log)
    try:
        pid = server.process.pid
        idle_kib = _status_kib(pid, "VmRSS")
        cpu = _cpu_seconds([pid])
        figures = stream_export(server, found, file_format)
        figures["server_cpu_s"] = _cpu_seconds([pid]) - cpu
        figures["idle_rss_mib"] = idle_kib / 1024
        figures["peak_rss_mib"] = _status_kib(pid, "VmHWM") / 1024
    finally:
        server.stop()
    return figures


# -- report ----------------------------------------------------------------------------------

GOAL_CALLS = 3_000
GOAL_RATIO = 0.5
GOAL_P99_MS = 25.0
GOAL_ROWS = 500_000
GOAL_PEAK_BYTES = 10**9


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _server_stack() -> str:
    """Which event loop and HTTP parser uvicorn picks here (both servers pick the same)."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn {uvicorn.__version__} ({loop}, {parser})"


def report_verification(ours: dict[str, Any], bare: dict[str, Any], seconds: float) -> list[str]:
    ratio = ours["calls_per_s"] / bare["calls_per_s"]
    rows = [
        ("calls/s", lambda f: f"{f['calls_per_s']:,.0f}"),
        ("calls", lambda f: f"{f['requests']:,}"),
        (
            "p50 / p90 / p99 ms",
            lambda f: (
                f"{f['p50_us'] / 1000:.1f} / {f['p90_us'] / 1000:.1f} / {f['p99_us'] / 1000:.1f}"
            ),
        ),
        ("max ms", lambda f: f"{f['max_us'] / 1000:.0f}"),
        ("errors (non-2xx + socket)", lambda f: f"{f['status']} + {f['errors'] - f['status']}"),
        (
            "server CPU s (cores busy)",
            lambda f: f"{f['server_cpu_s']:.1f} ({f['server_cpu_s'] / seconds:.2f})",
        ),
        (
            "CPU s per server process",
            lambda f: " + ".join(f"{c:.1f}" for c in f["busiest_processes_cpu_s"] if c >= 0.05),
        ),
        ("wrk CPU s", lambda f: f"{f['wrk_cpu_s']:.1f}"),
    ]
    lines = [f"{'':28}{'rongshu verify':>22}{'bare FastAPI':>22}"]
    lines += [f"{label:28}{show(ours):>22}{show(bare):>22}" for label, show in rows]
    p99 = ours["p99_us"] / 1000
    lines += [
        f"ratio rongshu / bare: {ratio:.2f}×",
        f"goal ≥ {GOAL_CALLS:,} verifications/s: {_verdict(ours['calls_per_s'] >= GOAL_CALLS)}",
        f"goal ≥ {GOAL_RATIO}× the bare endpoint: {_verdict(ratio >= GOAL_RATIO)}",
        f"goal p99 ≤ {GOAL_P99_MS:g} ms: {_verdict(p99 <= GOAL_P99_MS)}",
        f"no errors: {_verdict(ours['errors'] == 0 and bare['errors'] == 0)}",
    ]
    return lines


def report_batch(file_format: str, figures: dict[str, Any]) -> list[str]:
    peak = figures["peak_rss_mib"] * 2**20
    return [
        f"batch {file_format:8} {figures['rows']:,} rows, {figures['bytes'] / 2**20:,.0f} MiB in "
        f"{figures['seconds']:.1f} s: {figures['rows_per_s']:,.0f} rows/s "
        f"({figures['bytes'] / 2**20 / figures['seconds']:,.0f} MiB/s); server CPU "
        f"{figures['server_cpu_s']:.1f} s; server RSS {figures['idle_rss_mib']:,.0f} MiB idle, "
        f"peak {figures['peak_rss_mib']:,.0f} MiB",
        f"  goal ≥ {GOAL_ROWS:,} rows/s: {_verdict(figures['rows_per_s'] >= GOAL_ROWS)}; "
        f"goal peak < 1 GB: {_verdict(peak < GOAL_PEAK_BYTES)}",
    ]


def command() -> str:
    return " ".join([".venv/bin/python", "bench/exchange.py", *map(shlex.quote, sys.argv[1:])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="each timed load")
    parser.add_argument("--warmup", type=float, default=5.0, help="load before each timed one")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--rows", type=int, default=1_000_000, help="people to verify against")
    parser.add_argument("--bodies", type=int, default=20_000, help="different requests")
    parser.add_argument("--batch-rows", type=int, default=10_000_000)
    parser.add_argument("--formats", default="csv,parquet", help="batch formats, comma-separated")
    parser.add_argument("--no-batch", action="store_true")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this bench needs wrk as its load generator: apt-get install wrk")
    print(facts())
    print(
        f"servers: {_server_stack()}, {args.workers} workers; wrk {args.threads} thread(s), "
        f"{args.connections} connections, {args.seconds:g} s each after {args.warmup:g} s"
    )
    scratch = Path(tempfile.mkdtemp(prefix="rongshu-bench-exchange-", dir=args.scratch))
    data_dir = scratch / "data"
    settings = Settings(data_dir=data_dir, jobs_in_process=False, log_level="WARNING")
    batch_rows = 0 if args.no_batch else args.batch_rows
    try:
        started = time.perf_counter()
        found = setup(
            settings, rows=args.rows, batch_rows=batch_rows, bodies=args.bodies, seed=args.seed
        )
        print(
            f"setup: {args.rows:,} people + serving index, {batch_rows:,} batch rows, "
            f"{len(found.bodies):,} requests in {time.perf_counter() - started:.0f} s"
        )
        script = write_script(scratch, found)
        load = {"connections": args.connections, "threads": args.threads}

        server = rongshu_server(data_dir, args.workers, scratch / "rongshu.log")
        try:
            checked = check_answers(server, found)
            print(f"{checked} answers checked against the data")
            warm = wrk(server, script, seconds=args.warmup, **load)
            ours = balanced_wrk(server, script, workers=args.workers, seconds=args.seconds, **load)
        finally:
            server.stop()
        audited = audited_calls(settings, found.verify_service)
        answered = checked + warm["requests"] + ours["requests"]  # discarded runs: more entries
        print(f"audit ledger: {audited:,} verify entries for {answered:,} answered calls")
        if audited < answered:
            raise SystemExit("calls are missing from the audit ledger")

        server = bare_server(args.workers, scratch / "bare.log")
        try:
            wrk(server, script, seconds=args.warmup, **load)
            bare = balanced_wrk(server, script, workers=args.workers, seconds=args.seconds, **load)
        finally:
            server.stop()
        print("\n".join(report_verification(ours, bare, args.seconds)))

        exports = {}
        for file_format in [] if args.no_batch else args.formats.split(","):
            exports[file_format] = batch(data_dir, found, file_format, scratch / "batch.log")
            print("\n".join(report_batch(file_format, exports[file_format])))
            if exports[file_format]["rows"] != batch_rows:
                raise SystemExit(f"the {file_format} export holds the wrong number of rows")
        print(f"\n`{command()}`\n")
        print(json.dumps({"verify": ours, "bare": bare, "batch": exports}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
