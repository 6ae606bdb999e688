"""GB/T 2260 administrative-division codes with the years each was in force, and the ``region``
standard.

The table ships with the package (``data/gbt2260.csv.gz``, built by ``rongshu standards
update-regions`` from packaged snapshots, see ``region_sources``). Each code has one or more
periods (a code can be retired and later re-used, or renamed); checks use the years a code was
in force under any name. In SQL the table is the lookup ``std_gbt2260``: one row per code with
a string of ``1``/``0`` flags, one per year from the first year of the table to the last, which
the SQL forms read through a ``LEFT JOIN`` on the checked code (``region_join``).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from rongshu.core.errors import ValidationFailed
from rongshu.core.kernels import inlined, kernel
from rongshu.lake.dialect import SqlDialect
from rongshu.standards import vectors
from rongshu.standards.base import OK, Join, Verdict, failed, first_failure
from rongshu.standards.region_sources import RegionPeriod

TABLE_PATH = Path(__file__).parent / "data" / "gbt2260.csv.gz"
#: The name the SQL forms give the lookup table; columns are prefixed so that they never
#: clash with a column of the checked table joined to it.
LOOKUP = "std_gbt2260"
CODE_COLUMN = "_std_code"
YEARS_COLUMN = "_std_valid_years"
#: ID numbers were first issued in 1984: people born earlier carry a code in force then.
FIRST_ISSUE_YEAR = 1984
#: The flags as bytes, in the column forms' kernels (``RegionTable.arrays``).
FLAG_IN_FORCE, FLAG_NOT_IN_FORCE, FLAG_UNKNOWN = ord("1"), ord("0"), ord("u")
_SIX_DIGITS = "[0-9]{6}"


class RegionTable:
    """Every code of the table with its periods, and the years it was in force."""

    def __init__(
        self,
        first_year: int,
        last_year: int,
        periods: tuple[RegionPeriod, ...],
        sources: tuple[str, ...] = (),
        snapshot_years: tuple[int, ...] = (),
    ) -> None:
        self.first_year = first_year
        self.last_year = last_year
        self.periods = periods
        self.sources = sources
        self.snapshot_years = snapshot_years
        span = last_year - first_year + 1
        flags: dict[str, list[str]] = {}
        for period in periods:
            row = flags.setdefault(period.code, ["0"] * span)
            start = first_year if period.valid_from is None else max(period.valid_from, first_year)
            end = last_year if period.valid_to is None else min(period.valid_to, last_year)
            for year in range(start, end + 1):
                row[year - first_year] = "1"
        self._flags = {code: "".join(row) for code, row in flags.items()}
        self._arrays: tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]] | None = None

    def valid_years(self, code: str) -> str | None:
        """The code's ``1``/``0`` flags from ``first_year`` to ``last_year``; None if unknown."""
        return self._flags.get(code)

    def year_index(self, year: int) -> int:
        """1-based position of ``year`` in the flags; years outside the table are clamped."""
        return min(max(year, self.first_year), self.last_year) - self.first_year + 1

    def valid_in(self, code: str, year: int) -> bool:
        """Whether the code was in force in ``year`` (clamped to the table's years)."""
        flags = self.valid_years(code)
        return flags is not None and flags[self.year_index(year) - 1] == "1"

    def names(self, code: str) -> list[RegionPeriod]:
        """The code's periods, oldest first."""
        return [p for p in self.periods if p.code == code]

    def issue_flag(self, code: str, birth_year: int) -> str:
        """Whether an ID number of someone born in ``birth_year`` can carry ``code``.

        '1': the code was in force in the year the number was issued (the birth year, or
        1984 for earlier births; years past the table's count as its last); '0': it was not;
        'u': the code is unknown, or a province's (no number carries one).
        """
        flags = self._flags.get(code)
        if flags is None or code[2:] == "0000":
            return "u"
        return flags[self.year_index(max(birth_year, FIRST_ISSUE_YEAR)) - 1]

    def lookup(self) -> pa.Table:
        """The SQL lookup: code and flags per year of the table, one row per code."""
        codes = sorted(self._flags)
        return pa.table(
            {
                CODE_COLUMN: pa.array(codes, pa.string()),
                YEARS_COLUMN: pa.array([self._flags[c] for c in codes], pa.string()),
            }
        )

    def arrays(self) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
        """The table for kernels: each six-digit number's row in the flags (-1: not a code),
        and the ``(codes, years)`` matrix of flag bytes."""
        if self._arrays is None:
            codes = sorted(self._flags)
            flags = np.frombuffer("".join(self._flags[c] for c in codes).encode(), np.uint8)
            index = np.full(1_000_000, -1, dtype=np.int32)
            index[np.array([int(c) for c in codes], dtype=np.int64)] = np.arange(len(codes))
            self._arrays = (index, flags.reshape(len(codes), -1))
        return self._arrays

    def year_flag_sql(self, code: str, index: str) -> str:
        """SQL: the flag ('1' or '0') of the code at the 1-based year ``index``, 'u' if unknown.

        ``code`` and ``index`` are SQL expressions; ``index`` must be within the table's years.
        The query must join ``region_join(code)``.
        """
        years = f"{region_join(code).alias}.{YEARS_COLUMN}"
        return f"coalesce(substring({years}, {index}, 1), 'u')"

    def issue_reason_sql(self, code: str, birth_year: str, unknown: str, out_of_period: str) -> str:
        """SQL: NULL where ``issue_flag`` is '1', else the reason ``unknown`` ('u') or
        ``out_of_period`` ('0'). ``code`` and ``birth_year`` are SQL expressions; the query
        must join ``region_join(code)``. The flag, a substring of the joined years, is written
        once: it becomes the reason by ``replace`` rather than by a ``CASE`` on it.
        """
        year = f"least(greatest({birth_year}, {FIRST_ISSUE_YEAR}), {self.last_year})"
        flag = self.year_flag_sql(code, f"{year} - {self.first_year - 1}")
        reason = f"replace(replace(nullif({flag}, '1'), '0', '{out_of_period}'), 'u', '{unknown}')"
        province = f"substring({code}, 3, 4) = '0000'"
        return f"(CASE WHEN {province} THEN '{unknown}' ELSE {reason} END)"


def region_join(code: str) -> Join:
    """The join finding the flags of the SQL expression ``code`` in ``std_gbt2260``.

    The alias is derived from ``code``, so every check of one code shares one join. (A
    correlated scalar subquery would need no join, but DuckDB runs one by de-duplicating every
    checked value first, many times slower than this hash join.)
    """
    alias = "_std_region_" + hashlib.sha256(code.encode()).hexdigest()[:12]
    return Join(alias, LOOKUP, f"{alias}.{CODE_COLUMN} = {code}")


def read_region_table(path: Path) -> RegionTable:
    """A table file as written by ``region_sources.write_table``."""
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"{path} is no GB/T 2260 table: {exc}") from exc
    header: dict[str, list[str]] = {}
    body = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            header.setdefault(key.strip(), []).append(value.strip())
        else:
            body.append(line)
    try:
        first_year = int(header["first_year"][0])
        last_year = int(header["last_year"][0])
        periods = tuple(
            RegionPeriod(
                row["code"],
                int(row["valid_from"]) if row["valid_from"] else None,
                int(row["valid_to"]) if row["valid_to"] else None,
                row["name"],
            )
            for row in csv.DictReader(io.StringIO("\n".join(body)))
        )
        snapshot_years = tuple(int(y) for y in header["snapshot_years"][0].split())
    except (KeyError, ValueError, IndexError) as exc:
        raise ValidationFailed(f"{path} is no GB/T 2260 table: {exc}") from exc
    return RegionTable(
        first_year, last_year, periods, tuple(header.get("source", [])), snapshot_years
    )


@inlined
def issue_flag(
    index: npt.NDArray[np.int32],
    flags: npt.NDArray[np.uint8],
    first_year: int,
    last_year: int,
    region: int,
    birth_year: int,
) -> int:
    """``RegionTable.issue_flag`` in a kernel, of a six-digit number (``RegionTable.arrays``
    and its years) and a birth year: a ``FLAG_...`` byte."""
    at = index[region]
    if at < 0 or region % 10000 == 0:  # a province's code is on no number
        return FLAG_UNKNOWN
    year = min(max(max(birth_year, FIRST_ISSUE_YEAR), first_year), last_year)
    flag: int = flags[at, year - first_year]
    return flag


@cache
def region_table() -> RegionTable:
    """The table that ships with the package."""
    return read_region_table(TABLE_PATH)


_SHAPE = re.compile(_SIX_DIGITS)


class RegionLookup:
    """What the standards that look region codes up in the GB/T 2260 table share: the table
    (the packaged one unless a test gives another), its lookup, and the join on the code."""

    #: Where the six-digit region code starts in a value (1-based); ``None``: it is the value.
    region_start: int | None = 1

    def __init__(self, table: RegionTable | None = None) -> None:
        self._table = table

    @property
    def table(self) -> RegionTable:
        return self._table or region_table()

    def lookups(self) -> Mapping[str, pa.Table]:
        return {LOOKUP: self.table.lookup()}

    def joins(self, expr: str, dialect: SqlDialect) -> list[Join]:
        code = expr if self.region_start is None else dialect.substring(expr, self.region_start, 6)
        return [region_join(code)]


class RegionStandard(RegionLookup):
    """GB/T 2260 region codes: six digits, a code of the table, still in force."""

    name = "region"
    region_start = None
    label = "行政区划代码（GB/T 2260）"
    reasons: Mapping[str, tuple[str, str]] = {
        "region.format": ("行政区划代码应为6位数字", "a region code is six digits"),
        "region.unknown": (
            "不是GB/T 2260中的行政区划代码",
            "not a GB/T 2260 region code",
        ),
        "region.retired": (
            "行政区划代码已撤销，不再有效",
            "the region code has been retired",
        ),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        if not _SHAPE.fullmatch(value):
            return failed("region.format")
        flags = self.table.valid_years(value)
        if flags is None:
            return failed("region.unknown")
        return OK if flags[-1] == "1" else failed("region.retired")

    def check_array(self, values: pa.Array) -> pa.Array:
        """``check`` over a column at once (``rongshu.standards.vectors``)."""
        codes = _region_kernel(*vectors.text_buffers(values), *self.table.arrays())
        return vectors.reasons(codes, _REGION_REASONS)

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        table = self.table
        last = table.last_year - table.first_year + 1
        flag = table.year_flag_sql(expr, str(last))
        otherwise = (
            f"(CASE {flag} WHEN 'u' THEN 'region.unknown' WHEN '0' THEN 'region.retired' END)"
        )
        return first_failure(
            expr,
            [(f"NOT {dialect.regex_match(expr, '^' + _SIX_DIGITS + '$')}", "region.format")],
            otherwise,
        )


_REGION_REASONS = (None, *RegionStandard.reasons)  # index 0: ok
_FORMAT, _UNKNOWN, _RETIRED = (
    _REGION_REASONS.index(f"region.{name}") for name in ("format", "unknown", "retired")
)


@kernel
def _region_kernel(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    valid: npt.NDArray[np.bool_],
    index: npt.NDArray[np.int32],
    flags: npt.NDArray[np.uint8],
) -> npt.NDArray[np.int8]:
    """Reason indexes of each value, in the order ``RegionStandard.check`` tests them."""
    codes = np.zeros(len(valid), dtype=np.int8)
    last = flags.shape[1] - 1
    for row in range(len(valid)):
        start, end = offsets[row], offsets[row + 1]
        if not valid[row] or start == end:  # None and "" are ok
            continue
        code = vectors.digits_value(data, start, 6) if end - start == 6 else -1
        if code < 0:
            codes[row] = _FORMAT
        elif index[code] < 0:
            codes[row] = _UNKNOWN
        elif flags[index[code], last] != FLAG_IN_FORCE:
            codes[row] = _RETIRED
    return codes
