"""Data security: PII detection over every row of a 1,000,000-row × 20-column lake table, and a
5-column masking policy inside SQL, each against a per-value Python loop on a sample, scaled.

Usage::

    python bench/security.py                        # 1,000,000 rows, 3 runs, 20,000-row samples
    python bench/security.py --rows 200000 --repeat 1 --per-column  # quicker; each column alone
    python bench/security.py --cache /var/tmp/sec --sample 50000 --seed 20261123

Goals (the data-security issue): a full PII scan of 1 million rows × 20 columns in under 30
seconds on the 2-core machine; masking inside SQL at ≥ 1,000,000 rows/s for a 5-column policy.

1. **Data.** ``--rows`` people-like records, 12 PII columns and 8 others (``COLUMNS``): ID
   numbers valid per GB 11643 (``make_ric``, distinct per region, birth date and gender), names
   (surnames by Fujian frequency, given names by era), mobiles, home addresses of the same
   district as the ID number, e-mails, Luhn-valid bank cards of the demo's BINs, GA 36 plates of
   闽A (ordinary and new-energy), passports (``E`` and 8 digits), IPv4 addresses, longitude and
   latitude with 6 decimals, the birth date inside the ID number; amounts, status and channel
   enumerations, item codes, counts, a timestamp, hours. Rows are made with the demo's per-row
   builders where a value depends on the person, in numpy otherwise; made once per ``--rows``
   and ``--seed`` and kept as Parquet under ``--cache``. Each run commits them as one version of
   a lake table in a fresh directory under ``--cache`` (removed at the end). Not timed.
2. **PII detection.** ``scan_table`` on the version, each time on a fresh work engine: the full
   scan (``sample_rows=None``, every row) and the default sampled scan (100,000 spread rows);
   median of ``--repeat``. Every PII column must get its entity and every other column none,
   or the bench stops. Baseline: a naive scanner that tries every detector's test on every value
   of every column in Python (the standards' pure ``check`` for ID numbers, credit codes, mobiles
   and phones, bank cards, e-mail and plates; ``re`` patterns for the rest) and picks each
   column's entity by the same thresholds, on the first ``--sample`` rows already in Python
   lists (converting is not timed), best of ``--repeat``; its seconds scaled to ``--rows`` and
   shown as a ratio to the full scan. Its answers must be the same.
3. **Masking.** The 5-column ``POLICY`` (ID number pseudonym by keyed SM3-HMAC, phone keeping
   3 + 4, name keeping 1, birth date to its year, address to its city) as one ``SELECT`` built
   with ``mask_sql``, the keyed functions registered with ``register_mask_functions`` (a key
   directory in the scratch directory), the version registered on a fresh work engine each run
   and the result streamed with ``query_batches``, rows counted and nothing collected; rows/s
   = rows / wall seconds, median of ``--repeat``. Against, in the same run: the same ``SELECT``
   with every column clear (reading alone), as a ratio, and ``mask_value`` (the Python
   reference) per value on the first ``--sample`` rows, best of ``--repeat``, as a speedup.
   Before timing, the SQL output of the first 1,000 rows must equal ``mask_value``'s, or the
   bench stops.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from machine import facts  # bench/machine.py (scripts run from bench/)

from rongshu.core.keys import KeyPurpose, LocalKeyDirectory
from rongshu.demo.addresses import home_address, random_district
from rongshu.demo.identifiers import (
    BANK_BINS,
    PLATE_LETTERS,
    PLATE_PREFIX,
    IdSequenceAllocator,
    make_ric,
    mobile_phone,
)
from rongshu.demo.names import COMPOUND_SURNAMES, SURNAMES, given_name, surname
from rongshu.demo.regions import FIRST_ISSUE_YEAR
from rongshu.lake.dialect import SqlDialect
from rongshu.lake.tables import Lake, LakeTable
from rongshu.security import detection
from rongshu.security.detection import ColumnFinding, ColumnInfo, scan_table
from rongshu.security.entities import EntityType
from rongshu.security.masking import (
    Generalisation,
    Mask,
    MaskKeys,
    MaskOperator,
    mask_sql,
    mask_value,
)
from rongshu.security.service import register_mask_functions
from rongshu.standards import STANDARDS, ric_birth_date

TABLE = "BENCH"
ALIAS = "bench_people"
KEY = "record_id"
#: Rows whose masked values are compared with the Python reference before timing.
CHECK_ROWS = 1_000

#: The table: (column, the catalog's Chinese field name, the entity a scan must name).
COLUMNS: tuple[tuple[str, str, EntityType | None], ...] = (
    ("record_id", "记录编号", None),
    ("name", "姓名", EntityType.PERSON_NAME),
    ("id_number", "公民身份号码", EntityType.RESIDENT_ID),
    ("birth_date", "出生日期", EntityType.BIRTH_DATE),
    ("phone", "联系电话", EntityType.PHONE),
    ("email", "电子邮箱", EntityType.EMAIL),
    ("address", "家庭住址", EntityType.ADDRESS),
    ("bank_card", "银行卡号", EntityType.BANK_CARD),
    ("plate_no", "车牌号码", EntityType.VEHICLE_PLATE),
    ("passport_no", "护照号码", EntityType.PASSPORT),
    ("ip_address", "IP地址", EntityType.IP_ADDRESS),
    ("longitude", "经度", EntityType.COORDINATES),
    ("latitude", "纬度", EntityType.COORDINATES),
    ("amount", "补贴金额", None),
    ("status", "办理状态", None),
    ("channel", "受理渠道", None),
    ("category_code", "事项类别代码", None),
    ("item_count", "材料份数", None),
    ("created_at", "创建时间", None),
    ("handling_hours", "办理时长（小时）", None),
)
LABELS = {column: label for column, label, _ in COLUMNS}
EXPECTED = {column: entity for column, _, entity in COLUMNS}

#: The masking policy: (column, mask, the column's entity).
POLICY: tuple[tuple[str, Mask, EntityType], ...] = (
    ("id_number", Mask(MaskOperator.PSEUDONYM), EntityType.RESIDENT_ID),
    ("phone", Mask(MaskOperator.PARTIAL, {"keep_start": 3, "keep_end": 4}), EntityType.PHONE),
    ("name", Mask(MaskOperator.PARTIAL, {"keep_start": 1}), EntityType.PERSON_NAME),
    (
        "birth_date",
        Mask(MaskOperator.GENERALISE, {"to": Generalisation.YEAR.value}),
        EntityType.BIRTH_DATE,
    ),
    (
        "address",
        Mask(MaskOperator.GENERALISE, {"to": Generalisation.CITY.value}),
        EntityType.ADDRESS,
    ),
)

STATUSES = ("已受理", "办理中", "已办结", "已退回", "不予受理")
CHANNELS = ("窗口", "网上办", "掌上办", "自助终端", "12345热线")
ITEM_KINDS = ("XK", "GF", "QR", "JF", "QT")  # 许可, 公共服务, 确认, 给付, 其他
MAIL_DOMAINS = ("163.com", "126.com", "sina.com", "gmail.com", "foxmail.com", "hotmail.com")
#: Share of plates that are small new-energy ones (D/F, then six characters in all).
GREEN_PLATES = 0.15
#: Share of ordinary plates with no, one and two letters among their five characters.
PLATE_LETTER_SHARES = (0.15, 0.6, 0.25)
#: Share of e-mail addresses at qq.com, whose local part is the QQ number.
QQ_MAIL = 0.3


# --- the data ----------------------------------------------------------------------------------


def _ascii(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded ASCII digits: one row of ``width`` bytes each."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def _strings(chars: np.ndarray, keep: np.ndarray) -> pa.Array:
    """Each row's kept bytes (``keep``, same shape as ``chars``), in order, as a string array."""
    lengths = keep.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    data = np.ascontiguousarray(chars)[keep].tobytes()
    return pa.StringArray.from_buffers(len(chars), pa.py_buffer(offsets), pa.py_buffer(data))


def _last(chars: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """The last ``lengths[i]`` bytes of each row."""
    width = chars.shape[1]
    return _strings(chars, np.arange(width)[None, :] >= (width - lengths)[:, None])


def _first(chars: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """The first ``lengths[i]`` bytes of each row."""
    return _strings(chars, np.arange(chars.shape[1])[None, :] < lengths[:, None])


def _bank_cards(gen: np.random.Generator, rows: int) -> pa.Array:
    """``bank_card``'s cards in numpy (it takes 60 µs a card): the same BINs, lengths and
    weights, random account digits and the Luhn check digit."""
    bins = np.array([int(bin_) for _, bin_, _, _ in BANK_BINS], dtype=np.int64)
    lengths = np.array([length for _, _, length, _ in BANK_BINS], dtype=np.int64)
    weights = np.array([weight for *_, weight in BANK_BINS])
    chosen = gen.choice(len(BANK_BINS), rows, p=weights / weights.sum())
    account = lengths[chosen] - 7  # after the 6-digit BIN, before the check digit
    body = bins[chosen] * 10**account + gen.integers(0, 10**12, rows) % 10**account
    digits = _ascii(body, 18).astype(np.int64) - 48  # right-aligned: zeros in front add nothing
    # The check digit is the rightmost; from there every second digit leftwards is doubled.
    doubled = (18 - np.arange(18)) % 2 == 1
    values = np.where(doubled, np.where(digits > 4, digits * 2 - 9, digits * 2), digits)
    check = (10 - values.sum(axis=1) % 10) % 10
    chars = np.hstack([digits, check[:, None]]).astype(np.uint8) + 48
    return _last(chars, lengths[chosen])


def _plates(gen: np.random.Generator, rows: int) -> pa.Array:
    """GA 36 plates of the city's office: five characters with up to two letters, or a small
    new-energy plate (``D``/``F``, a letter or digit, four digits)."""
    letters = np.frombuffer(PLATE_LETTERS.encode(), dtype=np.uint8)
    either = np.frombuffer((PLATE_LETTERS + "0123456789").encode(), dtype=np.uint8)
    serial = _ascii(gen.integers(0, 10**5, rows), 5)
    count = gen.choice(3, rows, p=PLATE_LETTER_SHARES)
    first = gen.integers(0, 5, rows)
    second = (first + gen.integers(1, 5, rows)) % 5
    row = np.arange(rows)
    for chosen, position in ((count >= 1, first), (count == 2, second)):
        serial[row[chosen], position[chosen]] = letters[gen.integers(0, len(letters), rows)][chosen]
    green = np.hstack(
        [
            np.frombuffer(b"DF", dtype=np.uint8)[gen.integers(0, 2, rows)][:, None],
            either[gen.integers(0, len(either), rows)][:, None],
            _ascii(gen.integers(0, 10**4, rows), 4),
        ]
    )
    is_green = gen.random(rows) < GREEN_PLATES
    chars = np.where(
        is_green[:, None], green, np.hstack([serial, np.zeros((rows, 1), dtype=np.uint8)])
    )
    return pc.binary_join_element_wise(
        pa.scalar(PLATE_PREFIX), _first(chars, np.where(is_green, 6, 5)), ""
    )


def _emails(gen: np.random.Generator, rows: int) -> pa.Array:
    """A word of 3-8 letters and 0-4 digits at a mail host, or a QQ number at qq.com."""
    word = np.hstack([gen.integers(97, 123, (rows, 8)), gen.integers(48, 58, (rows, 4))]).astype(
        np.uint8
    )
    letters, digits = gen.integers(3, 9, rows), gen.integers(0, 5, rows)
    column = np.arange(12)[None, :]
    keep = (column < letters[:, None]) | ((column >= 8) & (column < 8 + digits[:, None]))
    qq_digits = gen.integers(5, 11, rows)
    low = 10 ** (qq_digits - 1)
    qq = low + (gen.random(rows) * (10**qq_digits - low)).astype(np.int64)
    is_qq = gen.random(rows) < QQ_MAIL
    local = pc.if_else(pa.array(is_qq), _last(_ascii(qq, 10), qq_digits), _strings(word, keep))
    hosts = pa.array(MAIL_DOMAINS).take(pa.array(gen.integers(0, len(MAIL_DOMAINS), rows)))
    host_of = pc.if_else(pa.array(is_qq), pa.scalar("qq.com"), hosts)
    return pc.binary_join_element_wise(local, host_of, "@")


def _ipv4(gen: np.random.Generator, rows: int) -> pa.Array:
    octets = [gen.integers(1, 224, rows), gen.integers(0, 256, rows), gen.integers(0, 256, rows)]
    octets.append(gen.integers(1, 255, rows))
    return pc.binary_join_element_wise(*(pc.cast(pa.array(o), pa.string()) for o in octets), ".")


def _people(
    gen: np.random.Generator, rng: random.Random, rows: int
) -> dict[str, list[Any] | pa.Array]:
    """The columns that depend on the person, built per row with the demo city's builders."""
    first, last = np.datetime64("1935-01-01"), np.datetime64("2012-12-31")
    days = gen.integers(0, (last - first).astype(np.int64), rows).astype("timedelta64[D]")
    born: list[date] = (first + days).astype(object).tolist()
    male: list[bool] = (gen.random(rows) < 0.5).tolist()
    allocator = IdSequenceAllocator()
    ids, births, names, phones, addresses = [], [], [], [], []
    for birth, is_male in zip(born, male, strict=True):
        district = random_district(rng)
        region = district.id_code(max(birth.year, FIRST_ISSUE_YEAR))
        sequence = allocator.allocate(region, birth, is_male)
        while sequence is None:  # this region, day and gender are full: a day earlier
            birth -= timedelta(days=1)
            sequence = allocator.allocate(region, birth, is_male)
        ids.append(make_ric(region, birth, sequence))
        births.append(birth)
        names.append(surname(rng) + given_name(rng, is_male, birth.year))
        phones.append(mobile_phone(rng))
        addresses.append(home_address(rng, district).full)
    return {
        "name": names,
        "id_number": ids,
        "birth_date": pa.array(births, pa.date32()),
        "phone": phones,
        "address": addresses,
    }


def generate(rows: int, seed: int) -> pa.Table:
    """The bench table: ``COLUMNS`` in order, ``rows`` rows."""
    gen = np.random.default_rng(seed)
    people = _people(gen, random.Random(seed), rows)
    item_codes = pa.array([f"{kind}{n:04d}" for kind in ITEM_KINDS for n in range(1, 61)])
    start = np.datetime64("2024-01-01T00:00:00", "us")
    seconds = gen.integers(0, 2 * 365 * 86_400, rows).astype("timedelta64[s]")
    columns: dict[str, Any] = {
        KEY: pa.array(np.arange(1, rows + 1, dtype=np.int64)),
        **people,
        "email": _emails(gen, rows),
        "bank_card": _bank_cards(gen, rows),
        "plate_no": _plates(gen, rows),
        "passport_no": pc.binary_join_element_wise(
            pa.scalar("E"), _first(_ascii(gen.integers(0, 10**8, rows), 8), np.full(rows, 8)), ""
        ),
        "ip_address": _ipv4(gen, rows),
        "longitude": np.round(gen.uniform(118.5, 120.5, rows), 6),
        "latitude": np.round(gen.uniform(25.3, 26.7, rows), 6),
        "amount": np.round(gen.lognormal(6.5, 1.0, rows), 2),
        "status": pa.array(STATUSES).take(
            pa.array(gen.choice(len(STATUSES), rows, p=[0.1, 0.2, 0.6, 0.06, 0.04]))
        ),
        "channel": pa.array(CHANNELS).take(pa.array(gen.integers(0, len(CHANNELS), rows))),
        "category_code": item_codes.take(pa.array(gen.integers(0, len(item_codes), rows))),
        "item_count": pa.array(gen.integers(1, 13, rows).astype(np.int32)),
        "created_at": pa.array(start + seconds, pa.timestamp("us", tz="UTC")),
        "handling_hours": np.round(gen.gamma(2.0, 8.0, rows), 1),
    }
    return pa.table({column: columns[column] for column, _, _ in COLUMNS})


def cached_table(cache: Path, rows: int, seed: int) -> pa.Table:
    """The generated rows, made once per ``rows`` and ``seed`` and kept as Parquet."""
    path = cache / f"people-{rows}-{seed}.parquet"
    if path.exists():
        table = pq.read_table(path)
        print(f"data: {rows:,} rows × {table.num_columns} columns from {path}")
        return table
    started = time.perf_counter()
    table = generate(rows, seed)
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    pq.write_table(table, partial)
    partial.replace(path)  # whole or not at all, should the run be stopped
    print(
        f"data: generated {rows:,} rows × {table.num_columns} columns in "
        f"{time.perf_counter() - started:.1f} s, kept in {path}"
    )
    return table


def commit(lake: Lake, table: pa.Table) -> tuple[LakeTable, int]:
    """The rows as one version of the lake table ``TABLE``."""
    started = time.perf_counter()
    lake_table = lake.table(TABLE)
    result = lake_table.commit(table.to_batches(), schema=table.schema, mode="overwrite")
    size = sum(f.stat().st_size for f in lake_table.path.rglob("*.parquet"))
    print(
        f"lake: version {result.version}, {result.rows_written:,} rows, {size / 2**20:,.0f} MiB "
        f"of Parquet, committed in {time.perf_counter() - started:.1f} s"
    )
    return lake_table, result.version


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Measured:
    """One measurement: wall seconds of each run over ``rows`` rows."""

    label: str
    rows: int
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        """Rows per second of the median run."""
        return self.rows / self.median

    def spread(self) -> str:
        if len(self.seconds) == 1:
            return f"{self.seconds[0]:.2f}"
        return f"{self.median:.2f} ({min(self.seconds):.2f}–{max(self.seconds):.2f})"


def best_of(repeat: int, work: Callable[[], Any]) -> tuple[list[float], Any]:
    seconds, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    return seconds, result


# --- PII detection -----------------------------------------------------------------------------


def measure_scan(
    lake: Lake, table: LakeTable, version: int, sample_rows: int | None, repeat: int
) -> Measured:
    """``scan_table`` ``repeat`` times, each on a fresh work engine; its findings checked."""
    label = "full" if sample_rows is None else f"sampled ({sample_rows:,} rows)"
    seconds, rows = [], 0
    findings: list[ColumnFinding] = []
    for attempt in range(repeat):
        with lake.work_engine() as engine:
            started = time.perf_counter()
            rows, findings = scan_table(table, engine, version, LABELS, sample_rows=sample_rows)
            seconds.append(time.perf_counter() - started)
        print(f"  PII scan, {label}, run {attempt + 1}: {seconds[-1]:.2f} s ({rows:,} rows)")
    check_findings(f"the {label} scan", {f.column: f.entity for f in findings})
    return Measured(f"PII scan, {label}", rows, seconds)


def check_findings(who: str, found: Mapping[str, EntityType | None]) -> None:
    """Stop unless every PII column got its entity and every other column none."""
    wrong = [
        f"{column}: {found.get(column)} (expected {entity})"
        for column, entity in EXPECTED.items()
        if found.get(column) != entity
    ]
    if wrong:
        raise SystemExit(f"{who} named the wrong entities: " + "; ".join(wrong))


_HAN = "\u4e00-\u9fa5"
_PASSPORT = re.compile(
    r"E[A-HJ-NP-Z0-9][0-9]{7}|[DEGPS][0-9]{7,8}|[A-Z]{1,2}[0-9]{6,8}|[0-9]{8,9}|[A-Z0-9]{9}"
)
_CHINESE_NAME = re.compile(f"[{_HAN}]{{2,4}}|[{_HAN}]{{1,8}}·[{_HAN}]{{1,8}}")
_HOUSE_NUMBER = re.compile(r".*[0-9０-９]+(号|弄|栋|幢|室|单元|层|组|座).*")
_PLACE_AND_WAY = re.compile(f".*[{_HAN}]+(省|市|区|县).*(路|街|巷|大道|村|镇|乡).*")
_HAS_HAN = re.compile(f"[{_HAN}]")
_DOCUMENT_NUMBER = re.compile(r"第[0-9０-９]+号$")
_COORDINATE_PAIR = re.compile(r"-?[0-9]{1,3}\.[0-9]{3,}\s*[,， ]\s*-?[0-9]{1,3}\.[0-9]{3,}")
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_H = "[0-9a-fA-F]{1,4}"
_IP = re.compile(
    rf"({_OCTET}\.){{3}}{_OCTET}|({_H}:){{7}}{_H}|({_H}:){{1,7}}:|({_H}:){{1,6}}(:{_H}){{1,6}}"
    rf"|:(:{_H}){{1,7}}|::|::ffff:({_OCTET}\.){{3}}{_OCTET}"
)
_SINGLE_SURNAMES = frozenset(s for s in SURNAMES if len(s) == 1)


def _passes(*names: str) -> Callable[[str], bool]:
    checks = [STANDARDS[name].check for name in names]
    return lambda value: any(check(value).ok for check in checks)


def _person_name(value: str) -> bool:
    return _CHINESE_NAME.fullmatch(value) is not None and (
        value[0] in _SINGLE_SURNAMES or value[:2] in COMPOUND_SURNAMES
    )


def _address(value: str) -> bool:
    return (
        len(value) >= 6
        and _HAS_HAN.search(value) is not None
        and (
            _HOUSE_NUMBER.fullmatch(value) is not None
            or _PLACE_AND_WAY.fullmatch(value) is not None
        )
        and _DOCUMENT_NUMBER.search(value) is None
    )


def _coordinate(value: float) -> bool:
    return (73.4 <= value <= 135.1 or 3.8 <= value <= 53.6) and abs(
        value * 1000 - round(value * 1000)
    ) > 1e-9


def _coordinate_text(value: str) -> bool:
    if _COORDINATE_PAIR.fullmatch(value):
        return True
    try:
        number = float(value)
    except ValueError:
        return False
    return math.isfinite(number) and _coordinate(number)


def _birth_date(value: date) -> bool:
    return date(1900, 1, 1) <= value <= date.today()


def _birth_date_text(value: str) -> bool:
    try:
        return _birth_date(date.fromisoformat(value[:10]))
    except ValueError:
        return False


#: The naive scanner's test of each entity, by column kind, value by value.
NAIVE_TESTS: Mapping[EntityType, Mapping[str, Callable[[Any], bool]]] = {
    EntityType.RESIDENT_ID: {"text": _passes("ric", "ric15")},
    EntityType.CREDIT_CODE: {"text": _passes("uscc")},
    EntityType.PHONE: {"text": _passes("mobile", "phone")},
    EntityType.BANK_CARD: {"text": _passes("bank_card")},
    EntityType.EMAIL: {"text": _passes("email")},
    EntityType.VEHICLE_PLATE: {"text": _passes("plate")},
    EntityType.PASSPORT: {"text": lambda v: _PASSPORT.fullmatch(v) is not None},
    EntityType.IP_ADDRESS: {"text": lambda v: _IP.fullmatch(v) is not None},
    EntityType.PERSON_NAME: {"text": _person_name},
    EntityType.ADDRESS: {"text": _address},
    EntityType.COORDINATES: {"number": _coordinate, "text": _coordinate_text},
    EntityType.BIRTH_DATE: {"date": _birth_date, "text": _birth_date_text},
}


def naive_scan(columns: Mapping[str, list[Any]], schema: pa.Schema) -> dict[str, EntityType | None]:
    """Every test on every value of every column, in Python; each column's entity chosen by
    the detectors' thresholds (support, name hints, distinct names), as ``scan_table`` does;
    a date column with no entity that equals the birth date of an ID column is a birth date."""
    found: dict[str, EntityType | None] = {}
    for field in schema:
        info = ColumnInfo(field.name, LABELS[field.name], field.type)
        kind = info.kind
        if kind is None:
            found[field.name] = None
            continue
        values = [v for v in columns[field.name] if v is not None and v != ""]
        if kind == "text":
            values = [v if isinstance(v, str) else str(v) for v in values]
        elif kind == "date":
            values = [v.date() if isinstance(v, datetime) else v for v in values]
        best, best_score = None, 0.0
        for detector in detection.DETECTORS:
            test = NAIVE_TESTS[detector.entity].get(kind)
            if test is None or not values:
                continue
            support = sum(1 for v in values if test(v)) / len(values)
            hinted = info.hinted(detector)
            score = detection.confidence(support, hinted)
            if (
                (detector.needs_hint and not hinted)
                or support < detector.min_support
                or score < detection.MIN_CONFIDENCE
                or (detector.many_distinct and len(set(values)) < detection.MIN_DISTINCT_NAMES)
            ):
                continue
            if score > best_score:
                best, best_score = detector.entity, score
        found[field.name] = best
    ids = [column for column, entity in found.items() if entity is EntityType.RESIDENT_ID]
    for field in schema:
        if found[field.name] is not None or ColumnInfo(field.name, "", field.type).kind != "date":
            continue
        for id_column in ids:
            pairs = [
                (v.date() if isinstance(v, datetime) else v, n)
                for v, n in zip(columns[field.name], columns[id_column], strict=True)
                if v is not None
            ]
            same = sum(1 for day, number in pairs if number and day == ric_birth_date(number))
            if pairs and same / len(pairs) >= detection.MIN_CONFIDENCE:
                found[field.name] = EntityType.BIRTH_DATE
    return found


def measure_naive_scan(sample: pa.Table, repeat: int) -> Measured:
    columns = sample.to_pydict()  # the values in Python already: converting is not timed
    seconds, found = best_of(repeat, lambda: naive_scan(columns, sample.schema))
    check_findings("the naive scanner", found)
    print(f"  naive scanner on {sample.num_rows:,} rows: {min(seconds):.2f} s (best of {repeat})")
    return Measured("naive per-value Python scanner", sample.num_rows, [min(seconds)])


# --- masking -----------------------------------------------------------------------------------


def policy_select(
    dialect: SqlDialect, schema: pa.Schema, *, masked: bool, key: bool = False
) -> str:
    """The policy's columns from ``ALIAS``, masked or all clear (with the key first); the
    table's ``schema`` gives the column types, as a masked read passes them."""
    quote = dialect.quote
    parts = [
        (
            mask_sql(
                quote(column),
                mask,
                dialect,
                entity=entity,
                column_type=schema.field(column).type,
            )
            if masked
            else quote(column)
        )
        + f" AS {quote(column)}"
        for column, mask, entity in POLICY
    ]
    if key:
        parts.insert(0, quote(KEY))
    return f"SELECT {', '.join(parts)} FROM {quote(ALIAS)}"  # noqa: S608 - quoted identifiers


def measure_masking(
    lake: Lake,
    table: LakeTable,
    version: int,
    keys: LocalKeyDirectory,
    *,
    masked: bool,
    rows: int,
    repeat: int,
) -> Measured:
    """The policy's SELECT streamed ``repeat`` times, each on a fresh work engine."""
    label = "masking, 5-column policy in SQL" if masked else "same SELECT, every column clear"
    seconds = []
    for attempt in range(repeat):
        with lake.work_engine() as engine:
            engine.register(ALIAS, table, version)
            register_mask_functions(engine, keys)
            sql = policy_select(engine.dialect, table.schema(version), masked=masked)
            started = time.perf_counter()
            counted = sum(batch.num_rows for batch in engine.query_batches(sql))
            seconds.append(time.perf_counter() - started)
        if counted != rows:
            raise SystemExit(f"{label} returned {counted:,} rows, not {rows:,}")
        print(
            f"  {label}, run {attempt + 1}: {seconds[-1]:.2f} s ({rows / seconds[-1]:,.0f} rows/s)"
        )
    return Measured(label, rows, seconds)


def per_column(lake: Lake, table: LakeTable, version: int, keys: LocalKeyDirectory) -> None:
    """Each policy column alone, masked and clear, one run each: where the masking time goes."""
    print("each policy column alone (one run each):")
    with lake.work_engine() as engine:
        engine.register(ALIAS, table, version)
        register_mask_functions(engine, keys)
        quote = engine.dialect.quote
        for column, mask, entity in POLICY:
            seconds = []
            for expr in (
                quote(column),
                mask_sql(quote(column), mask, engine.dialect, entity=entity),
            ):
                sql = f"SELECT {expr} AS {quote(column)} FROM {quote(ALIAS)}"  # noqa: S608
                started = time.perf_counter()
                for _ in engine.query_batches(sql):
                    pass
                seconds.append(time.perf_counter() - started)
            print(
                f"  {column:<12} {mask.operator.value:<10} clear {seconds[0]:.2f} s, "
                f"masked {seconds[1]:.2f} s"
            )


def python_masks(columns: Mapping[str, list[Any]], keys: MaskKeys) -> dict[str, list[object]]:
    """The policy by the Python reference, value by value."""
    return {
        column: [mask_value(value, mask, keys, entity=entity) for value in columns[column]]
        for column, mask, entity in POLICY
    }


def check_masking(
    lake: Lake, table: LakeTable, version: int, data: pa.Table, keys: LocalKeyDirectory
) -> None:
    """Stop unless the SQL output of the first ``CHECK_ROWS`` rows equals ``mask_value``'s."""
    with lake.work_engine() as engine:
        engine.register(ALIAS, table, version)
        register_mask_functions(engine, keys)
        dialect = engine.dialect
        select = policy_select(dialect, table.schema(version), masked=True, key=True)
        sql = (
            f"{select} WHERE {dialect.quote(KEY)}"
            f" <= {dialect.param('n')} ORDER BY {dialect.quote(KEY)}"
        )
        ours = engine.query(sql, {"n": CHECK_ROWS}).to_pydict()
    head = data.slice(0, CHECK_ROWS).to_pydict()
    if ours[KEY] != head[KEY]:
        raise SystemExit(f"the masked SELECT did not return rows {KEY} 1 to {CHECK_ROWS:,}")
    mask_keys = MaskKeys(pseudonym=keys.current(KeyPurpose.PSEUDONYM)[1])
    reference = python_masks(head, mask_keys)
    for column, _, _ in POLICY:
        differ = [
            (head[column][i], sql_value, python_value)
            for i, (sql_value, python_value) in enumerate(
                zip(ours[column], reference[column], strict=True)
            )
            if sql_value != python_value
        ]
        if differ:
            raise SystemExit(
                f"masking {column} in SQL differs from mask_value on {len(differ)} of "
                f"{CHECK_ROWS:,} rows, e.g. (value, SQL, Python) {differ[:3]}"
            )
    example = {column: reference[column][0] for column, _, _ in POLICY}
    print(f"  SQL masking = mask_value on the first {CHECK_ROWS:,} rows, e.g. {example}")


def measure_python_masking(sample: pa.Table, keys: LocalKeyDirectory, repeat: int) -> Measured:
    columns = sample.to_pydict()  # the values in Python already: converting is not timed
    mask_keys = MaskKeys(pseudonym=keys.current(KeyPurpose.PSEUDONYM)[1])
    seconds, _ = best_of(repeat, lambda: python_masks(columns, mask_keys))
    print(f"  mask_value on {sample.num_rows:,} rows: {min(seconds):.2f} s (best of {repeat})")
    return Measured("mask_value per value (Python reference)", sample.num_rows, [min(seconds)])


# --- report ------------------------------------------------------------------------------------


def command() -> str:
    executable = Path(sys.executable)
    if executable.is_relative_to(Path.cwd()):
        executable = executable.relative_to(Path.cwd())
    return shlex.join([str(executable), *sys.argv])


def report(
    rows: int,
    scans: Sequence[Measured],
    naive: Measured,
    masked: Measured,
    clear: Measured,
    python: Measured,
) -> None:
    full, sampled = scans
    naive_total = naive.median / naive.rows * rows
    verdict = "met" if full.median < 30 else "**not met**"
    mask_verdict = "met" if masked.rate >= 1_000_000 else "**not met**"
    lines = [
        "| measurement | rows | seconds | rows/s | compared | goal |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {full.label}, 20 columns | {full.rows:,} | {full.spread()} | {full.rate:,.0f} | "
        f"{naive_total / full.median:,.1f}× the naive scanner | < 30 s: {verdict} |",
        f"| {sampled.label} | {sampled.rows:,} | {sampled.spread()} | {sampled.rate:,.0f} | "
        f"{naive.median / naive.rows * sampled.rows / sampled.median:,.1f}× the naive scanner | |",
        f"| {naive.label} | {naive.rows:,} | {naive.spread()} ({naive_total:,.0f} for "
        f"{rows:,}) | {naive.rate:,.0f} | | |",
        f"| {masked.label} | {masked.rows:,} | {masked.spread()} | **{masked.rate:,.0f}** | "
        f"{masked.rate / clear.rate:.2f}× the clear read; {masked.rate / python.rate:,.0f}× "
        f"mask_value | ≥ 1,000,000 rows/s: {mask_verdict} |",
        f"| {clear.label} | {clear.rows:,} | {clear.spread()} | {clear.rate:,.0f} | | |",
        f"| {python.label} | {python.rows:,} | {python.spread()} | {python.rate:,.0f} | | |",
    ]
    print(f"\n`{command()}`\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate and scan")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("/tmp/rongshu-bench-security"),  # noqa: S108 - the user's own cache
        help="where generated rows are kept (and the run's lake is made and removed)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--sample", type=int, default=20_000, help="rows of the Python baselines")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--per-column", action="store_true", help="also time each policy column alone"
    )
    args = parser.parse_args()
    if args.rows < CHECK_ROWS:
        parser.error(f"--rows must be at least {CHECK_ROWS:,} (the masking check's rows)")
    print(facts())
    data = cached_table(args.cache, args.rows, args.seed)
    sample = data.slice(0, min(args.sample, args.rows))
    with tempfile.TemporaryDirectory(dir=args.cache, prefix="run-") as scratch:
        lake = Lake(Path(scratch) / "lake")
        table, version = commit(lake, data)
        print("PII detection:")
        scans = [
            measure_scan(lake, table, version, size, args.repeat)
            for size in (None, detection.SAMPLE_ROWS)
        ]
        naive = measure_naive_scan(sample, args.repeat)
        print("masking:")
        keys = LocalKeyDirectory(Path(scratch) / "keys")
        check_masking(lake, table, version, data, keys)
        runs = {
            masked: measure_masking(
                lake, table, version, keys, masked=masked, rows=args.rows, repeat=args.repeat
            )
            for masked in (True, False)
        }
        if args.per_column:
            per_column(lake, table, version, keys)
        python = measure_python_masking(sample, keys, args.repeat)
    report(args.rows, scans, naive, runs[True], runs[False], python)


if __name__ == "__main__":
    main()
