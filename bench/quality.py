"""Quality runs: 14 rules over generated people records through ``run_quality``, against
python-stdnum, pandera and Great Expectations on a sample of the same rows, scaled per row.

Usage::

    python bench/quality.py                     # 25,000,000 rows, 3 runs, a 200,000-row sample
    python bench/quality.py --rows 2000000 --per-rule      # a quicker look, and each rule alone
    python bench/quality.py --dir /var/tmp --repeat 3 --sample 200000 --seed 20261122

Needs the ``bench`` extra (``pip install -e ".[bench]"``: python-stdnum, pandas, pandera, Great
Expectations); a peer that is not installed is left out and said so.

1. **Data.** A temporary platform (a fresh directory under ``--dir``, removed at the end) with
   one catalog resource of eleven fields whose ``rules`` lists declare 14 rules (``FIELDS``);
   ``--rows`` generated rows (numpy, batches of 1,000,000, so memory stays flat) are committed
   straight into its lake table as one version. Most values are right; each column has its own
   defect rates (``DEFECTS``): ID numbers with wrong check characters, unknown regions,
   impossible, future or pre-1900 birth dates, 15-digit legacy numbers, a lowercase ``x``;
   genders, birth dates and districts that disagree with the ID; broken phone numbers and
   credit codes; duplicated keys; out-of-range amounts and dates; unlisted statuses; missing
   values. Generating is not timed.
2. **rongshu.** ``run_quality`` on the version, ``--repeat`` times, as after a load: the rules
   compiled into one DuckDB query, the failing (row, rule) pairs written to the lake, the run
   recorded, then the after-run hooks (correction tickets). rows/s = rows / wall seconds of
   the whole call (the run's own recorded duration, without the hooks, and the process's CPU
   time are shown too). Then the same with only the rules a peer has, to compare like with
   like: the eight pandera and Great Expectations express, and the ID rule alone (rules
   disabled and enabled as a steward would; ``--all-rules-only`` skips these), and with
   ``--per-rule`` each rule alone, one run each.
3. **Peers**, each on the first ``--sample`` rows (read from the same version), in one thread,
   the data already in memory (their reading is not timed), best of ``--repeat``:
   ``stdnum.cn.ric.is_valid`` per value (the ID rule); pandera and Great Expectations with the
   eight rules they can express (not null ×2, unique, enum, two ranges, the name regex, the
   phone standard's pattern) on a pandas DataFrame, every failure collected (pandera ``lazy``,
   Great Expectations ``BASIC`` results: counts and a few values). rows/s = sample rows /
   seconds; the ratios are rongshu's median over a peer's best.
4. **Answers.** On the sample, rongshu's failing rows per rule (from the failures table) must
   equal pandera's and Great Expectations' counts for the eight shared rules, and its ``ric``
   failures must equal stdnum's invalid numbers but for the deliberate differences of
   ``DELIBERATE``; anything else stops the bench with an error, so it never reports a speed
   for wrong answers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import Any

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
from rongshu.demo.identifiers import MOBILE_PREFIXES
from rongshu.lake.schema import arrow_schema
from rongshu.lake.tables import Lake
from rongshu.quality import failures, rules
from rongshu.quality.schemas import RuleKind, RulePublic, RuleUpdate, RunPublic
from rongshu.quality.service import run_quality
from rongshu.standards import ric, uscc
from rongshu.standards.contact import FIXED_LINE, MOBILE_SEGMENTS, SERVICE
from rongshu.standards.regions import FIRST_ISSUE_YEAR, region_table

RESOURCE = "350100-BENCH-Q001"
BATCH_ROWS = 1_000_000
NAME_PATTERN = "^[一-龥·]{2,10}$"
STATUSES = ("正常", "注销", "迁出")
AMOUNT_RANGE = (0, 100_000)
REGISTERED_RANGE = (date(1990, 1, 1), date(2025, 12, 31))
#: The phone standard's accepted shapes as one pattern (what a regex-only tool can check).
PHONE_PATTERN = f"^(?:{MOBILE_SEGMENTS}|{FIXED_LINE}|{SERVICE})$"

#: The resource: (field name, column, type, the rules its catalog entry declares).
FIELDS: list[tuple[str, str, FieldType, list[str]]] = [
    ("人员编号", "person_id", FieldType.INTEGER, ["unique"]),
    ("公民身份号码", "id_number", FieldType.STRING, ["not_null", "ric"]),
    ("姓名", "name", FieldType.STRING, ["not_null", f"regex:{NAME_PATTERN}"]),
    ("性别", "gender", FieldType.STRING, ["ric_gender:id_number"]),
    ("出生日期", "birth_date", FieldType.DATE, ["ric_birth_date:id_number"]),
    ("联系电话", "phone", FieldType.STRING, ["phone"]),
    ("单位统一社会信用代码", "credit_code", FieldType.STRING, ["uscc"]),
    ("户籍区划代码", "district_code", FieldType.STRING, ["region", "ric_region:id_number"]),
    ("补贴金额", "amount", FieldType.DECIMAL, [f"range:{AMOUNT_RANGE[0]}~{AMOUNT_RANGE[1]}"]),
    ("人员状态", "status", FieldType.STRING, [f"enum:{'|'.join(STATUSES)}"]),
    (
        "登记日期",
        "registered_on",
        FieldType.DATE,
        [f"range:{REGISTERED_RANGE[0]}~{REGISTERED_RANGE[1]}"],
    ),
]

#: The rules pandera and Great Expectations can express: (column, kind) as rongshu names them.
SHARED_RULES = [
    ("person_id", "unique"),
    ("id_number", "not_null"),
    ("name", "not_null"),
    ("name", "regex"),
    ("phone", "standard"),
    ("amount", "range"),
    ("status", "enum"),
    ("registered_on", "range"),
]

#: Share of rows with each defect, per column (the rest is right).
DEFECTS: dict[str, dict[str, float]] = {
    "id_number": {
        "check_char": 0.004,
        "unknown_region": 0.002,
        "no_real_date": 0.002,
        "legacy_15": 0.0005,
        "born_future": 0.0005,
        "born_before_1900": 0.0003,
        "missing": 0.001,
    },
    "name": {"bad": 0.001, "missing": 0.001},
    "gender": {"other_gender": 0.003, "code_spelling": 0.02, "unstated": 0.0005},
    "birth_date": {"shifted": 0.003, "missing": 0.001},
    "phone": {
        "fixed_line": 0.18,
        "too_short": 0.001,
        "unallocated_segment": 0.001,
        "letters": 0.001,
        "missing": 0.02,
    },
    "credit_code": {
        "check_char": 0.003,
        "org_check_char": 0.001,
        "too_short": 0.001,
        "missing": 0.01,
    },
    "district_code": {"other_district": 0.002, "unknown": 0.001, "missing": 0.001},
    "amount": {"negative": 0.002, "too_large": 0.001, "missing": 0.001},
    "status": {"cancelled": 0.10, "moved": 0.045, "unlisted": 0.005},
    "registered_on": {"too_early": 0.001, "too_late": 0.001},
}
#: Share of rows whose ID number's check character is an ``X`` that is written ``x``.
LOWERCASE_X = 0.0005
#: Keys duplicated: this share of pairs of rows (2k, 2k + 1) share the first one's key.
DUPLICATE_PAIRS = 0.001
#: Reasons rongshu's ``ric`` gives where python-stdnum accepts the number (differences 1 and 3
#: of "Differences from python-stdnum" in docs/standards.md; the generator avoids the others).
DELIBERATE = {
    "ric.lowercase_x": "stdnum upper-cases a lowercase x before checking",
    "ric.birth_future": "stdnum accepts birth dates in the future",
    "ric.birth_implausible": "stdnum accepts births before 1900",
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕鹏辉建国志文斌宇浩"
BAD_NAMES = ("张三1", "Li Wei", "王", "张　伟", "李-明")
GENDERS = ("男", "女", "1", "2", "9")  # the two words, their GB/T 2261.1 codes, 9 unstated


# --- the data ----------------------------------------------------------------------------------


def region_pool() -> np.ndarray:
    """County-level codes in force every year from 1984 (the first year of issue) to the table's
    last year, in our GB/T 2260 table and in python-stdnum's: an ID number carrying one is right
    for any birth year in both (so every ID defect is one the generator made on purpose)."""
    table = region_table()
    start = FIRST_ISSUE_YEAR - table.first_year
    codes = []
    for code in sorted({period.code for period in table.periods}):
        since_1984 = (table.valid_years(code) or "")[start:]
        if code[4:] != "00" and since_1984 and set(since_1984) == {"1"}:
            codes.append(code)
    try:
        from stdnum.cn import ric as stdnum_ric
    except ImportError:
        return np.array(codes, dtype=np.int64)
    years = (1930, 1960, 1984, 2000, 2014, 2024)
    both = [
        code for code in codes if all(stdnum_ric.is_valid(_one_ric(code, year)) for year in years)
    ]
    return np.array(both, dtype=np.int64)


def _one_ric(region: str, year: int) -> str:
    first17 = f"{region}{year}0615123"
    return first17 + ric.check_char(first17)


def _ascii(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded ASCII digits: one row of ``width`` bytes each."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def _text(chars: np.ndarray, lengths: np.ndarray | None = None) -> pa.Array:
    """Rows of ASCII bytes (the first ``lengths[i]`` of row ``i``, or all) as a string array."""
    rows, width = chars.shape
    if lengths is None:
        data = np.ascontiguousarray(chars).tobytes()
        offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    else:
        data = chars[np.arange(width)[None, :] < lengths[:, None]].tobytes()
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))


def _missing(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def _pick(rng: np.random.Generator, rows: int, column: str) -> np.ndarray:
    """Each row's defect of ``column`` as an index into ``DEFECTS[column]``; -1: none."""
    shares = np.cumsum(list(DEFECTS[column].values()))
    drawn = np.searchsorted(shares, rng.random(rows), side="right")
    return np.where(drawn < len(shares), drawn, -1)


def _is(defect: np.ndarray, column: str, name: str) -> np.ndarray:
    result: np.ndarray = defect == list(DEFECTS[column]).index(name)
    return result


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _ric_column(
    rng: np.random.Generator, region: np.ndarray, born: np.ndarray, male: np.ndarray
) -> pa.Array:
    rows = len(region)
    defect = _pick(rng, rows, "id_number")
    year, month, day = _ymd(born)
    stated = year * 10_000 + month * 100 + day
    safe_day = np.minimum(day, 28)
    stated = np.where(_is(defect, "id_number", "no_real_date"), year * 10_000 + 1300 + day, stated)
    future = (2040 + rng.integers(0, 10, rows)) * 10_000 + month * 100 + safe_day
    stated = np.where(_is(defect, "id_number", "born_future"), future, stated)
    early = (1880 + rng.integers(0, 20, rows)) * 10_000 + month * 100 + safe_day
    stated = np.where(_is(defect, "id_number", "born_before_1900"), early, stated)
    unknown = 990_100 + rng.integers(0, 99, rows)  # no table has a 99 province
    code = np.where(_is(defect, "id_number", "unknown_region"), unknown, region)
    sequence = rng.integers(0, 499, rows) * 2 + np.where(male, 1, 2)
    digits = _ascii(code * 10**11 + stated * 1000 + sequence, 17)
    weights = np.array(ric.WEIGHTS, dtype=np.int64)
    index = ((digits.astype(np.int64) - 48) @ weights) % 11
    wrong = _is(defect, "id_number", "check_char")
    index = np.where(wrong, (index + rng.integers(1, 11, rows)) % 11, index)
    check = np.frombuffer(ric.CHECK_CHARS.encode(), dtype=np.uint8)[index]
    lower = (defect == -1) & (check == ord("X")) & (rng.random(rows) < LOWERCASE_X * 11)
    check = np.where(lower, ord("x"), check).astype(np.uint8)
    chars = np.hstack([digits, check[:, None]])
    legacy = _is(defect, "id_number", "legacy_15")
    chars[legacy, :15] = np.hstack([digits[legacy, :6], digits[legacy, 8:17]])
    lengths = np.where(legacy, 15, 18)
    return _missing(_text(chars, lengths), _is(defect, "id_number", "missing"))


def _uscc_column(rng: np.random.Generator, region: np.ndarray) -> pa.Array:
    rows = len(region)
    defect = _pick(rng, rows, "credit_code")
    alphabet = np.frombuffer(uscc.ALPHABET.encode(), dtype=np.uint8)
    # (authority, institution type): companies mostly, then public bodies and co-operatives.
    pairs = np.array([(ord("9"), ord("1")), (ord("9"), ord("2")), (ord("1"), ord("1")),
                      (ord("5"), ord("1")), (ord("N"), ord("2"))], dtype=np.uint8)  # fmt: skip
    chosen = pairs[rng.choice(len(pairs), rows, p=[0.8, 0.08, 0.05, 0.05, 0.02])]
    body = _ascii(rng.integers(0, 10**8, rows), 8)
    org_total = (body.astype(np.int64) - 48) @ np.array(uscc.ORG_WEIGHTS, dtype=np.int64)
    org_index = (11 - org_total % 11) % 11
    org_wrong = _is(defect, "credit_code", "org_check_char")
    org_index = np.where(org_wrong, (org_index + rng.integers(1, 11, rows)) % 11, org_index)
    org_check = np.frombuffer(uscc.ORG_CHECK_CHARS.encode(), dtype=np.uint8)[org_index]
    chars = np.hstack([chosen, _ascii(region, 6), body, org_check[:, None]])
    value = np.zeros(256, dtype=np.int64)
    value[alphabet] = np.arange(len(alphabet))
    total = value[chars] @ np.array(uscc.WEIGHTS, dtype=np.int64)
    index = (31 - total % 31) % 31
    wrong = _is(defect, "credit_code", "check_char")
    index = np.where(wrong, (index + rng.integers(1, 31, rows)) % 31, index)
    chars = np.hstack([chars, alphabet[index][:, None]])
    lengths = np.where(_is(defect, "credit_code", "too_short"), 17, 18)
    return _missing(_text(chars, lengths), _is(defect, "credit_code", "missing"))


def _phone_column(rng: np.random.Generator, rows: int) -> pa.Array:
    defect = _pick(rng, rows, "phone")
    prefixes = np.array([int(p) for p in MOBILE_PREFIXES], dtype=np.int64)
    prefix = prefixes[rng.integers(0, len(prefixes), rows)]
    prefix = np.where(_is(defect, "phone", "unallocated_segment"), 140, prefix)
    mobile = _ascii(prefix * 10**8 + rng.integers(0, 10**8, rows), 11)
    mobile[_is(defect, "phone", "letters"), 3:6] = np.frombuffer(b"abc", dtype=np.uint8)
    local = rng.integers(2, 9, rows) * 10**7 + rng.integers(0, 10**7, rows)
    area = np.broadcast_to(np.frombuffer(b"0591-", dtype=np.uint8), (rows, 5))
    fixed_line = _is(defect, "phone", "fixed_line")
    chars = np.where(
        fixed_line[:, None],
        np.hstack([area, _ascii(local, 8)]),
        np.hstack([mobile, np.zeros((rows, 2), dtype=np.uint8)]),
    )
    lengths = np.where(fixed_line, 13, np.where(_is(defect, "phone", "too_short"), 10, 11))
    return _missing(_text(chars, lengths), _is(defect, "phone", "missing"))


def generate_batch(
    rng: np.random.Generator, start: int, rows: int, pool: np.ndarray, names: pa.Array
) -> pa.RecordBatch:
    """``rows`` records numbered from ``start`` (even), with ``DEFECTS`` at their rates."""
    person_id = np.arange(start, start + rows, dtype=np.int64)
    pairs = np.flatnonzero(rng.random(rows // 2) < DUPLICATE_PAIRS) * 2
    person_id[pairs + 1] = person_id[pairs]
    male = rng.random(rows) < 0.5
    first, last = np.datetime64("1930-01-01"), np.datetime64("2024-12-31")
    born = first + rng.integers(0, (last - first).astype(np.int64), rows).astype("timedelta64[D]")
    region = pool[rng.integers(0, len(pool), rows)]

    defect = _pick(rng, rows, "name")
    name = names.take(pa.array(rng.integers(0, len(names), rows)))
    bad = pa.array(BAD_NAMES).take(pa.array(rng.integers(0, len(BAD_NAMES), rows)))
    name = pc.if_else(pa.array(_is(defect, "name", "bad")), bad, name)
    name = _missing(name, _is(defect, "name", "missing"))

    defect = _pick(rng, rows, "gender")
    spelled = np.where(male, 0, 1)
    spelled = np.where(_is(defect, "gender", "other_gender"), 1 - spelled, spelled)
    spelled = np.where(_is(defect, "gender", "code_spelling"), spelled + 2, spelled)
    spelled = np.where(_is(defect, "gender", "unstated"), 4, spelled)
    gender = pa.array(GENDERS).take(pa.array(spelled))

    defect = _pick(rng, rows, "birth_date")
    shift = rng.integers(1, 31, rows) * np.where(rng.random(rows) < 0.5, -1, 1)
    stated = born + np.where(_is(defect, "birth_date", "shifted"), shift, 0)
    birth_date = _missing(pa.array(stated, pa.date32()), _is(defect, "birth_date", "missing"))

    defect = _pick(rng, rows, "district_code")
    other = pool[rng.integers(0, len(pool), rows)]
    district = np.where(_is(defect, "district_code", "other_district"), other, region)
    district = np.where(_is(defect, "district_code", "unknown"), 359_999, district)
    district_code = _missing(_text(_ascii(district, 6)), _is(defect, "district_code", "missing"))

    defect = _pick(rng, rows, "amount")
    amount = np.round(rng.lognormal(7.5, 1.0, rows).clip(0, 90_000), 2)
    amount = np.where(_is(defect, "amount", "negative"), -amount, amount)
    amount = np.where(_is(defect, "amount", "too_large"), amount + 100_001, amount)
    amounts = _missing(pa.array(amount), _is(defect, "amount", "missing"))

    defect = _pick(rng, rows, "status")  # none: 正常; cancelled: 注销; moved: 迁出
    spelled = np.where(_is(defect, "status", "unlisted"), 3 + rng.integers(0, 2, rows), defect + 1)
    status = pa.array([*STATUSES, "作废", "unknown"]).take(pa.array(spelled))

    defect = _pick(rng, rows, "registered_on")
    first, last = np.datetime64("1990-01-01"), np.datetime64("2025-06-30")
    span = (last - first).astype(np.int64)
    registered = first + rng.integers(0, span, rows).astype("timedelta64[D]")
    registered = np.where(
        _is(defect, "registered_on", "too_early"), np.datetime64("1900-01-01"), registered
    )
    registered = np.where(
        _is(defect, "registered_on", "too_late"), np.datetime64("2099-01-01"), registered
    )
    return pa.RecordBatch.from_arrays(
        [
            pa.array(person_id),
            _ric_column(rng, region, born, male),
            name,
            gender,
            birth_date,
            _phone_column(rng, rows),
            _uscc_column(rng, region),
            district_code,
            amounts,
            status,
            pa.array(registered.astype("datetime64[D]"), pa.date32()),
        ],
        names=[column for _, column, _, _ in FIELDS],
    )


def _names() -> pa.Array:
    given = [*GIVEN, *(a + b for a in GIVEN[:20] for b in GIVEN[20:])]
    return pa.array([s + g for s in SURNAMES for g in given])


def batches(rows: int, seed: int, pool: np.ndarray) -> Iterator[pa.RecordBatch]:
    """The generated rows, ``BATCH_ROWS`` at a time (each batch with its own seed)."""
    names = _names()
    for start in range(0, rows, BATCH_ROWS):
        rng = np.random.default_rng([seed, start])
        yield generate_batch(rng, start, min(BATCH_ROWS, rows - start), pool, names)


# --- the platform ------------------------------------------------------------------------------


def prepare(data_dir: Path, rows: int, seed: int) -> Platform:
    """A platform with the resource declared and ``rows`` generated rows as its one version."""
    platform = Platform.open(Settings(data_dir=data_dir), upgrade=True)
    spec = ResourceSpec(
        code=RESOURCE,
        name="基准测试人员补贴信息",
        department_code="BENCH",
        fields=[
            FieldSpec(
                name=name,
                english_name=column,
                data_type=data_type,
                is_key=column == "person_id",
                rules=rules,
            )
            for name, column, data_type, rules in FIELDS
        ],
        share_type=ShareType.UNCONDITIONAL,
        share_methods=[ShareMethod.API],
        open_type=OpenType.UNCONDITIONAL,
    )
    with platform.db.session_scope() as session:
        identity.create_department(
            session,
            data=DepartmentCreate(code="BENCH", name="基准测试局", region_code="350100"),
            actor=SYSTEM,
            ledger=platform.ledger,
        )
    with platform.db.session_scope() as session:
        catalog.create_resource(
            session,
            spec=spec,
            ctx=catalog.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="BENCH"),
        )
        schema = arrow_schema(catalog.current_fields(session, RESOURCE))
    started = time.perf_counter()
    pool = region_pool()
    table = Lake.from_settings(platform.settings).table(RESOURCE)
    result = table.commit(batches(rows, seed, pool), schema=schema, mode="overwrite")
    size = sum(f.stat().st_size for f in table.path.rglob("*.parquet"))
    print(
        f"generated {result.rows_written:,} rows ({len(pool)} region codes, {size / 2**20:,.0f} "
        f"MiB of Parquet) in {time.perf_counter() - started:.1f} s (not timed below)"
    )
    return platform


# --- rongshu -----------------------------------------------------------------------------------


@dataclass
class Measured:
    """One tool's figures: rows checked per second, from ``seconds`` over ``rows``."""

    label: str
    rules: int
    rows: int
    seconds: list[float]
    cpu_seconds: list[float] | None = None  # the process's CPU time (all its threads)

    @property
    def best(self) -> float:
        return self.rows / min(self.seconds)

    @property
    def median(self) -> float:
        return self.rows / statistics.median(self.seconds)


#: The rule sets run besides all of them, to compare like with like: (label, which rules).
SUBSETS: list[tuple[str, Callable[[RulePublic], bool]]] = [
    ("rongshu, the 8 shared rules", lambda r: (r.field, r.kind.value) in SHARED_RULES),
    (
        "rongshu, the ID rule alone",
        lambda r: r.kind is RuleKind.STANDARD and r.field == "id_number",
    ),
]


def enable_only(platform: Platform, keep: Callable[[RulePublic], bool]) -> None:
    """Enable the resource's rules ``keep`` selects and disable the others (as a steward can)."""
    with platform.db.session_scope() as session:
        rules.seed_rules(session, resource_code=RESOURCE)
        for rule in rules.list_rules(session, resource_code=RESOURCE):
            if rule.enabled != keep(rule):
                rules.update_rule(
                    session,
                    rule_id=rule.id,
                    data=RuleUpdate(enabled=keep(rule)),
                    actor=SYSTEM,
                    ledger=platform.ledger,
                )


def measure_rongshu(
    platform: Platform, label: str, rows: int, repeat: int
) -> tuple[Measured, RunPublic]:
    """``run_quality`` on the version ``repeat`` times: wall seconds of each call."""
    walls, cpu, own = [], [], []
    record: RunPublic | None = None
    print(f"{label}:")
    for attempt in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        record = run_quality(platform, RESOURCE, triggered_by="bench")
        walls.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        if record.status.value != "succeeded" or record.rows != rows:
            raise SystemExit(f"run {record.id} did not check {rows:,} rows: {record}")
        own.append(record.seconds or 0.0)
        print(
            f"  run {attempt + 1}: {walls[-1]:.2f} s wall ({rows / walls[-1]:,.0f} rows/s), "
            f"{cpu[-1]:.2f} s CPU; the run itself {own[-1]:.2f} s, after-run hooks "
            f"{walls[-1] - own[-1]:.2f} s"
        )
    assert record is not None  # noqa: S101 - repeat >= 1
    return Measured(label, len(record.results), rows, walls, cpu), record


def _same_rule(rule_id: int, rule: RulePublic) -> bool:
    return rule.id == rule_id


def per_rule(platform: Platform, rows: int) -> None:
    """Each rule alone, one run each: where the time of the whole run goes."""
    with platform.db.session_scope() as session:
        listed = rules.list_rules(session, resource_code=RESOURCE)
    print("each rule alone (one run each, hooks included):")
    for rule in listed:
        enable_only(platform, partial(_same_rule, rule.id))
        started = time.perf_counter()
        run_quality(platform, RESOURCE, triggered_by="bench")
        seconds = time.perf_counter() - started
        print(
            f"  {rule.kind.value:<15} {rule.field or '':<14} {seconds:>7.2f} s "
            f"{rows / seconds:>12,.0f} rows/s"
        )


def sample_rows(platform: Platform, size: int) -> pa.Table:
    """The version's rows numbered below ``size`` (its first ``size`` rows), in key order."""
    lake = Lake.from_settings(platform.settings)
    with lake.work_engine() as engine:
        engine.register("_sample", lake.table(RESOURCE))
        param = engine.dialect.param
        sql = f"SELECT * FROM _sample WHERE person_id < {param('n')} ORDER BY person_id"  # noqa: S608
        return engine.query(sql, {"n": size})


def sample_failures(platform: Platform, run_id: int, sample: pa.Table) -> pa.Table:
    """rongshu's failing (row, rule) pairs of the run among the sample's rows."""
    lake = Lake.from_settings(platform.settings)
    keys = pc.unique(sample.column("person_id").combine_chunks())
    with lake.work_engine() as engine:
        engine.register("_failures", lake.table(failures.failures_table_name(RESOURCE)))
        engine.register_arrow(
            "_keys", pa.table({"row_key": failures.row_keys(["person_id"], [keys])})
        )
        param = engine.dialect.param
        sql = (
            "SELECT f.rule_id, f.row_key, f.reason FROM _failures AS f "  # noqa: S608
            f"JOIN _keys AS k ON k.row_key = f.row_key WHERE f.run_id = {param('run')}"
        )
        return engine.query(sql, {"run": run_id})


# --- the peers ---------------------------------------------------------------------------------


def best_of(repeat: int, work: Callable[[], Any]) -> tuple[list[float], Any]:
    seconds, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def peer_stdnum(ids: list[str | None], repeat: int) -> tuple[Measured, list[bool]] | None:
    """``stdnum.cn.ric.is_valid`` per value; missing values pass (``not_null``'s business)."""
    try:
        from stdnum.cn.ric import is_valid
    except ImportError:
        return None

    def loop() -> list[bool]:
        return [is_valid(value) if value else True for value in ids]

    seconds, verdicts = best_of(repeat, loop)
    return Measured("python-stdnum per row (ric only)", 1, len(ids), seconds), verdicts


def peer_pandera(frame: Any, repeat: int) -> tuple[Measured, Counter[tuple[str, str]]] | None:
    try:
        import pandera.pandas as pdr
    except ImportError:
        return None
    schema = pdr.DataFrameSchema(
        {
            "person_id": pdr.Column(int, unique=True),
            "id_number": pdr.Column(str, nullable=False),
            "name": pdr.Column(str, pdr.Check.str_matches(NAME_PATTERN), nullable=False),
            "phone": pdr.Column(str, pdr.Check.str_matches(PHONE_PATTERN), nullable=True),
            "amount": pdr.Column(float, pdr.Check.in_range(*AMOUNT_RANGE), nullable=True),
            "status": pdr.Column(str, pdr.Check.isin(STATUSES), nullable=True),
            "registered_on": pdr.Column(
                checks=pdr.Check.in_range(*REGISTERED_RANGE), nullable=True
            ),
        }
    )

    def validate() -> Any:
        try:
            schema.validate(frame, lazy=True)
        except pdr.errors.SchemaErrors as errors:
            return errors.failure_cases
        return None

    seconds, cases = best_of(repeat, validate)
    counts: Counter[tuple[str, str]] = Counter()
    if cases is not None:
        for column, check in zip(cases["column"], cases["check"], strict=True):
            kind = "not_null" if check == "not_nullable" else _SHARED_KIND[column]
            counts[(column, kind)] += 1
    return Measured("pandera (8 rules, lazy)", 8, len(frame), seconds), counts


def peer_great_expectations(
    frame: Any, repeat: int
) -> tuple[Measured, Counter[tuple[str, str]]] | None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
    except ImportError:
        return None
    gxe: Any = import_module("great_expectations.expectations")  # its names are not typed
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("bench").add_dataframe_asset("sample")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame}
    )
    expectations = {
        ("person_id", "unique"): gxe.ExpectColumnValuesToBeUnique(column="person_id"),
        ("id_number", "not_null"): gxe.ExpectColumnValuesToNotBeNull(column="id_number"),
        ("name", "not_null"): gxe.ExpectColumnValuesToNotBeNull(column="name"),
        ("name", "regex"): gxe.ExpectColumnValuesToMatchRegex(column="name", regex=NAME_PATTERN),
        ("phone", "standard"): gxe.ExpectColumnValuesToMatchRegex(
            column="phone", regex=PHONE_PATTERN
        ),
        ("amount", "range"): gxe.ExpectColumnValuesToBeBetween(
            column="amount", min_value=AMOUNT_RANGE[0], max_value=AMOUNT_RANGE[1]
        ),
        ("status", "enum"): gxe.ExpectColumnValuesToBeInSet(
            column="status", value_set=list(STATUSES)
        ),
        ("registered_on", "range"): gxe.ExpectColumnValuesToBeBetween(
            column="registered_on",
            min_value=REGISTERED_RANGE[0],
            max_value=REGISTERED_RANGE[1],
        ),
    }
    suite = gx.ExpectationSuite(name="bench")
    for expectation in expectations.values():
        suite.add_expectation(expectation)
    suite = context.suites.add(suite)
    seconds, report = best_of(repeat, lambda: batch.validate(suite, result_format="BASIC"))
    counts: Counter[tuple[str, str]] = Counter()
    for (column, kind), result in zip(expectations, report.results, strict=True):
        if result.exception_info.get("raised_exception"):
            raise SystemExit(f"Great Expectations failed on {column}: {result.exception_info}")
        counts[(column, kind)] = int(result.result.get("unexpected_count") or 0)
    return Measured("Great Expectations (8 rules)", 8, len(frame), seconds), counts


_SHARED_KIND = {column: kind for column, kind in SHARED_RULES if kind != "not_null"}


# --- the answers -------------------------------------------------------------------------------


def rongshu_counts(record: RunPublic, found: pa.Table) -> Counter[tuple[str, str]]:
    """rongshu's failing rows in the sample per shared rule."""
    rules = {r.rule_id: (r.field or "", r.kind.value) for r in record.results}
    counts: Counter[tuple[str, str]] = Counter()
    for rule_id in found.column("rule_id").to_pylist():
        if rules[rule_id] in SHARED_RULES:
            counts[rules[rule_id]] += 1
    return counts


def check_shared(label: str, ours: Counter[tuple[str, str]], theirs: Counter[Any]) -> None:
    differ = [
        f"{column} {kind}: rongshu {ours[(column, kind)]:,}, {label} {theirs[(column, kind)]:,}"
        for column, kind in SHARED_RULES
        if ours[(column, kind)] != theirs[(column, kind)]
    ]
    if differ:
        raise SystemExit(f"rongshu and {label} disagree on the sample: " + "; ".join(differ))
    print(f"  {label}: the same failing rows as rongshu for all {len(SHARED_RULES)} shared rules")


def check_ric(
    record: RunPublic, found: pa.Table, sample: pa.Table, verdicts: list[bool]
) -> dict[str, int]:
    """rongshu's ``ric`` failures against stdnum's invalid numbers, by key; the differences
    must all be ``DELIBERATE`` ones. Returns the counts to print."""
    rule = next(
        r.rule_id for r in record.results if r.kind.value == "standard" and r.field == "id_number"
    )
    keys = failures.row_keys(["person_id"], [sample.column("person_id").combine_chunks()])
    theirs = {key for key, ok in zip(keys.to_pylist(), verdicts, strict=True) if not ok}
    ours: dict[str, set[str]] = {}
    for rule_id, key, reason in zip(*found.to_pydict().values(), strict=True):
        if rule_id == rule:
            ours.setdefault(key, set()).add(reason)
    missed = theirs - set(ours)
    extra = Counter(reason for key in set(ours) - theirs for reason in ours[key])
    unexplained = {reason: n for reason, n in extra.items() if reason not in DELIBERATE}
    if missed or unexplained:
        raise SystemExit(
            f"rongshu's ric and stdnum disagree beyond the deliberate differences: "
            f"{len(missed):,} numbers only stdnum rejects (e.g. {sorted(missed)[:3]}), "
            f"rongshu-only reasons {unexplained}"
        )
    return {"both": len(theirs & set(ours)), **extra}


# --- report ------------------------------------------------------------------------------------


def report(ours: list[Measured], record: RunPublic, peers: list[Measured]) -> None:
    print(f"\nfailing rows per rule ({record.rows:,} rows, the run of all rules):")
    for result in record.results:
        print(f"  {result.kind.value:<15} {result.field or '':<14} {result.failing:>11,}")
    print(f"  rows failing any rule: {record.failing_rows:,}\n")
    header = f"{'':<36} {'rules':>5} {'rows':>12} {'seconds':>13} {'rows/s':>12}"
    print(header)
    print("-" * len(header))
    for measured in ours:
        seconds = f"{min(measured.seconds):.2f}-{max(measured.seconds):.2f}"
        cpu = statistics.median(measured.cpu_seconds or [0.0])
        print(
            f"{measured.label:<36} {measured.rules:>5} {measured.rows:>12,} {seconds:>13} "
            f"{measured.median:>12,.0f}  median of {len(measured.seconds)} "
            f"(best {measured.best:,.0f}; {cpu:.1f} s CPU)"
        )
    for peer in peers:
        print(
            f"{peer.label:<36} {peer.rules:>5} {peer.rows:>12,} {min(peer.seconds):>13.2f} "
            f"{peer.best:>12,.0f}  best of {len(peer.seconds)}"
        )
    if not peers:
        return
    fastest = max(peers, key=lambda p: p.best)
    print(
        f"\n{ours[0].label} / the fastest peer ({fastest.label}): "
        f"{ours[0].median / fastest.best:,.2f}x"
    )
    alike = {measured.rules: measured for measured in ours[1:]}
    for peer in peers:
        if peer.rules in alike:
            same = alike[peer.rules]
            print(f"{same.label} / {peer.label}: {same.median / peer.best:,.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=25_000_000, help="rows to generate and check")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("/var/tmp"),  # noqa: S108 - a fresh directory is made inside it
        help="where the temporary platform is made (and removed)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of rongshu and of each peer")
    parser.add_argument("--sample", type=int, default=200_000, help="rows the peers check")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--all-rules-only", action="store_true", help="skip the runs of the 8 and the 1 rules"
    )
    parser.add_argument("--per-rule", action="store_true", help="also time each rule alone")
    args = parser.parse_args()
    sample_size = min(args.sample, args.rows) // 2 * 2  # whole pairs of rows (duplicated keys)
    print(facts())
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="rongshu-bench-quality-") as scratch:
        platform = prepare(Path(scratch) / "platform", args.rows, args.seed)
        try:
            ours = [measure_rongshu(platform, "rongshu, all rules", args.rows, args.repeat)]
            record = ours[0][1]
            sample = sample_rows(platform, sample_size)
            found = sample_failures(platform, record.id, sample)
            for label, keep in [] if args.all_rules_only else SUBSETS:
                enable_only(platform, keep)
                ours.append(measure_rongshu(platform, label, args.rows, args.repeat))
            if args.per_rule:
                per_rule(platform, args.rows)
        finally:
            platform.close()
    peers = check_peers(record, found, sample, args.repeat)
    report([measured for measured, _ in ours], record, peers)


def check_peers(
    record: RunPublic, found: pa.Table, sample: pa.Table, repeat: int
) -> list[Measured]:
    """Each installed peer on the sample, its answers checked against rongshu's."""
    print(f"peers: the first {sample.num_rows:,} rows, best of {repeat}")
    peers: list[Measured] = []
    stdnum = peer_stdnum(sample.column("id_number").to_pylist(), repeat)
    if stdnum is None:
        print("  python-stdnum is not installed: left out")
    else:
        peers.append(stdnum[0])
        agreed = check_ric(record, found, sample, stdnum[1])
        explained = ", ".join(f"{n:,} {reason}" for reason, n in agreed.items() if reason != "both")
        print(
            f"  python-stdnum: {agreed['both']:,} ID numbers both reject; rongshu alone rejects "
            f"{explained or 'none'} (deliberate differences)"
        )
    started = time.perf_counter()
    frame = sample.to_pandas()
    print(f"  (the sample as a pandas DataFrame: {time.perf_counter() - started:.2f} s, not timed)")
    for label, peer in (("pandera", peer_pandera), ("Great Expectations", peer_great_expectations)):
        measured = peer(frame, repeat)
        if measured is None:
            print(f"  {label} is not installed: left out")
            continue
        peers.append(measured[0])
        check_shared(label, rongshu_counts(record, found), measured[1])
    return peers


if __name__ == "__main__":
    main()
