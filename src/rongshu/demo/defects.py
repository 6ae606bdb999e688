"""Defects injected into the source tables at known rates, and the ground truth that lists them.

Each (table, column, kind) is a Bernoulli process over the table's rows with the kind's rate;
hits are found by geometric skips, so the cost follows the number of defects, not of cells. A
cell gets at most one defect. Every defect is written to ``defects.csv`` with its original value,
so a quality check can be scored against it.
"""

from __future__ import annotations

import csv
import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Final, TextIO

from rongshu.demo.identifiers import RIC_CHECK_CHARS, USCC_ALPHABET, with_region
from rongshu.demo.regions import OUT_OF_PERIOD_CODES, region_valid_for_birth_year
from rongshu.demo.schema import Column, DefectKind, SourceFormat, TableSpec

K = DefectKind

#: Probability that an eligible cell gets the defect (eligible: the column lists the kind).
RATES: Final[dict[DefectKind, float]] = {
    K.BAD_ID_CHECK_DIGIT: 0.005,
    K.ID_REGION_INVALID: 0.002,
    K.BAD_CREDIT_CODE_CHECK: 0.005,
    K.ID_BIRTHDATE_MISMATCH: 0.004,
    K.ID_GENDER_MISMATCH: 0.003,
    K.MIXED_DATE_FORMAT: 0.03,
    K.FULLWIDTH_DIGITS: 0.01,
    K.INVALID_PHONE: 0.005,
    K.MISSING_VALUE: 0.02,
    K.OUT_OF_RANGE: 0.003,
}

DESCRIPTIONS: Final[dict[DefectKind, str]] = {
    K.BAD_ID_CHECK_DIGIT: "身份证号校验码错误 (ID number with a wrong GB 11643 check digit)",
    K.ID_REGION_INVALID: "身份证号地址码在出生年份无效 (region code not in force when issued)",
    K.BAD_CREDIT_CODE_CHECK: "统一社会信用代码校验码错误 (credit code, wrong check character)",
    K.ID_BIRTHDATE_MISMATCH: "出生日期与身份证号不一致 (birth date column disagrees with the ID)",
    K.ID_GENDER_MISMATCH: "性别与身份证号不一致 (gender column disagrees with the ID)",
    K.MIXED_DATE_FORMAT: "日期格式不统一 (2020年1月2日, 20200102, 2020/1/2, Excel serial)",
    K.FULLWIDTH_DIGITS: "全角数字 (full-width digits)",
    K.INVALID_PHONE: "电话号码格式错误 (phone number of the wrong shape)",
    K.MISSING_VALUE: "缺失值 (value left empty)",
    K.OUT_OF_RANGE: "数值超出合理范围 (number outside the column's plausible range)",
}

_SKIP = object()
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_EXCEL_EPOCH = date(1899, 12, 30)


@dataclass(frozen=True, slots=True)
class DefectRecord:
    """One injected defect, as listed in ``defects.csv``."""

    table: str
    row_key: str
    column: str
    kind: DefectKind
    original: str
    injected: str


def as_text(value: object) -> str:
    """A cell value as the ground truth writes it."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class DefectLog:
    """Streams the ``defects.csv`` rows to a text stream and counts defects and eligible cells."""

    HEADER = ("table", "row_key", "column", "kind", "original", "injected")

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(self.HEADER)
        self.counts: Counter[tuple[str, DefectKind]] = Counter()
        self.cells: Counter[tuple[str, DefectKind]] = Counter()

    def record(self, record: DefectRecord) -> None:
        """Write one defect."""
        self._writer.writerow(
            (
                record.table,
                record.row_key,
                record.column,
                record.kind.value,
                record.original,
                record.injected,
            )
        )
        self.counts[(record.table, record.kind)] += 1


class _Process:
    __slots__ = ("column", "index", "kind", "log_keep", "next_hit")

    def __init__(self, index: int, column: Column, kind: DefectKind, rng: random.Random) -> None:
        self.index = index
        self.column = column
        self.kind = kind
        self.log_keep = math.log1p(-RATES[kind])
        self.next_hit = self.gap(rng)

    def gap(self, rng: random.Random) -> int:
        """Rows to skip before the next hit (geometric distribution)."""
        return int(math.log(1.0 - rng.random()) / self.log_keep)


class DefectInjector:
    """Injects the defects a table's columns allow into its rows, chunk by chunk."""

    def __init__(self, spec: TableSpec, rng: random.Random, log: DefectLog) -> None:
        self._spec = spec
        self._rng = rng
        self._log = log
        self._key = spec.index(spec.key_column)
        self._excel = spec.source is SourceFormat.XLSX
        self._processes = [
            _Process(index, column, kind, rng)
            for index, column in enumerate(spec.columns)
            for kind in column.defects
        ]
        self._seen = 0

    def inject(self, rows: list[list[object]]) -> None:
        """Change cells of ``rows`` in place and log each change."""
        start, end = self._seen, self._seen + len(rows)
        taken: set[tuple[int, int]] = set()
        rng = self._rng
        table = self._spec.key
        for process in self._processes:
            # Only filled cells can be hit: empty ones are not defects (e.g. no employer).
            values = list(map(itemgetter(process.index), rows))
            filled = len(values) - values.count(None) - values.count("")
            self._log.cells[(table, process.kind)] += filled
            while process.next_hit < end:
                row_index = process.next_hit - start
                process.next_hit += 1 + process.gap(rng)
                cell = (row_index, process.index)
                row = rows[row_index]
                original = row[process.index]
                if cell in taken or original is None or original == "":
                    continue
                injected = self._mutate(process, original)
                if injected is _SKIP or injected == original:
                    continue
                row[process.index] = injected
                taken.add(cell)
                self._log.record(
                    DefectRecord(
                        table,
                        as_text(row[self._key]),
                        process.column.name,
                        process.kind,
                        as_text(original),
                        as_text(injected),
                    )
                )
        self._seen = end

    def _mutate(self, process: _Process, value: object) -> object:
        rng = self._rng
        kind = process.kind
        if kind is K.MISSING_VALUE:
            return None
        if kind is K.BAD_ID_CHECK_DIGIT and isinstance(value, str) and len(value) == 18:
            return value[:17] + rng.choice(RIC_CHECK_CHARS.replace(value[17], ""))
        if kind is K.BAD_CREDIT_CODE_CHECK and isinstance(value, str) and len(value) == 18:
            return value[:17] + rng.choice(USCC_ALPHABET.replace(value[17], ""))
        if kind is K.ID_REGION_INVALID and isinstance(value, str) and len(value) == 18:
            year = int(value[6:10])
            codes = [
                code
                for code in OUT_OF_PERIOD_CODES
                if code != value[:6] and not region_valid_for_birth_year(code, year)
            ]
            return with_region(value, rng.choice(codes)) if codes else _SKIP
        if kind is K.ID_BIRTHDATE_MISMATCH and isinstance(value, date):
            return _shifted_date(rng, value)
        if kind is K.ID_GENDER_MISMATCH and value in ("男", "女"):
            return "女" if value == "男" else "男"
        if kind is K.MIXED_DATE_FORMAT and isinstance(value, date):
            return _reformatted_date(rng, value, excel=self._excel)
        if kind is K.FULLWIDTH_DIGITS and isinstance(value, str):
            return value.translate(_FULLWIDTH)
        if kind is K.INVALID_PHONE and isinstance(value, str):
            return _broken_phone(rng, value)
        if kind is K.OUT_OF_RANGE and isinstance(value, int | float):
            return _out_of_range(rng, process.column, value)
        return _SKIP


def _shifted_date(rng: random.Random, value: date) -> object:
    candidates: list[date] = []
    for years, months, days in ((0, 0, 1), (0, 0, -1), (0, 1, 0), (0, -1, 0), (1, 0, 0),
                                (-1, 0, 0), (10, 0, 0), (-10, 0, 0)):  # fmt: skip
        month_index = value.year * 12 + value.month - 1 + months + years * 12
        try:
            shifted = date(month_index // 12, month_index % 12 + 1, value.day)
            candidates.append(date.fromordinal(shifted.toordinal() + days))
        except ValueError:
            continue
    if value.day <= 12 and value.day != value.month:
        candidates.append(date(value.year, value.day, value.month))  # month and day swapped
    return rng.choice(candidates) if candidates else _SKIP


def _reformatted_date(rng: random.Random, value: date, *, excel: bool) -> object:
    choice = int(rng.random() * (4 if excel else 3))
    if choice == 0:
        return f"{value.year}年{value.month}月{value.day}日"
    if choice == 1:
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"
    if choice == 2:
        return f"{value.year}/{value.month}/{value.day}"
    return (value - _EXCEL_EPOCH).days  # an Excel serial number in a cell without date format


def _broken_phone(rng: random.Random, value: str) -> object:
    if value.startswith("0591-"):
        number = value[5:]
        drop = int(rng.random() * len(number))
        return "0591-" + number[:drop] + number[drop + 1 :]
    if len(value) != 11 or not value.isdigit():
        return _SKIP
    choice = int(rng.random() * 3)
    if choice == 0:  # a digit lost
        drop = 3 + int(rng.random() * 8)
        return value[:drop] + value[drop + 1 :]
    if choice == 1:  # a digit too many
        return value + str(int(rng.random() * 10))
    return "1" + rng.choice("012") + value[2:]  # no carrier has 10x, 11x or 12x


def _out_of_range(rng: random.Random, column: Column, value: float) -> object:
    low, high = column.valid_range or (0.0, float(abs(value)) or 1.0)
    if rng.random() < 0.5:
        result = low - abs(value) - 1 - rng.random() * 10
    else:
        result = high * rng.uniform(1.5, 10)
    return int(result) if column.type == "integer" else round(result, 1)
