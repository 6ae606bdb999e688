"""GB 11643 citizen identity numbers (公民身份号码), 18-digit and the 15-digit legacy form.

An 18-character number is a six-digit GB/T 2260 region code, the birth date ``YYYYMMDD``, a
three-digit sequence (odd for men, even for women) and an ISO 7064 MOD 11-2 check character
(``0``-``9`` or ``X``). The legacy form (issued until 1999) has the birth date as ``YYMMDD`` in
the 1900s, no check character, and is converted by inserting ``19`` and appending one.

The region code must have been in force when the number was issued: in the birth year, or in
1984 for people born earlier (numbers were first issued in 1984, so they carry a code in force
then). Years before or after the region table's are treated as its first or last year.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rongshu.catalog.schemas import FieldType
from rongshu.core.kernels import kernel
from rongshu.lake.dialect import SqlDialect
from rongshu.standards import vectors
from rongshu.standards.base import (
    OK,
    Verdict,
    failed,
    first_failure,
    real_date,
    real_date_sql,
)
from rongshu.standards.regions import (
    FLAG_NOT_IN_FORCE,
    FLAG_UNKNOWN,
    RegionLookup,
    RegionTable,
    issue_flag,
)

CHECK_CHARS = "10X98765432"  # indexed by the weighted sum mod 11
#: Weights of the 17 digits: 2^(17-i) mod 11 for i = 0..16.
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
#: Born before this, a number is implausible (no one alive was).
EARLIEST_BIRTH_YEAR = 1900

_SHAPE_18 = re.compile(r"[0-9]{17}[0-9X]")
_SHAPE_15 = re.compile(r"[0-9]{15}")
_SQL_SHAPE_18 = "^[0-9]{17}[0-9X]$"
_SQL_SHAPE_15 = "^[0-9]{15}$"
_SQL_LOWERCASE_X = "^[0-9]{17}x$"


def check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def valid_check_char(value: str) -> bool:
    """Whether an 18-character number is 17 digits and their right check character."""
    return _SHAPE_18.fullmatch(value) is not None and value[17] == check_char(value[:17])


def today() -> date:
    """Today's date in UTC, as the SQL forms' ``CURRENT_DATE`` on the lake engine."""
    return datetime.now(UTC).date()


def ric15_to_18(value: str) -> str:
    """The 18-digit number of a 15-digit legacy number (``19`` inserted, check appended)."""
    if not _SHAPE_15.fullmatch(value):
        raise ValueError(f"not a 15-digit legacy ID number: {value!r}")
    first17 = value[:6] + "19" + value[6:]
    return first17 + check_char(first17)


def _parts(value: str) -> tuple[str, str, str, str] | None:
    """(region, YYYYMMDD, sequence, form) of a number of either shape; None otherwise."""
    if _SHAPE_18.fullmatch(value):
        return value[:6], value[6:14], value[14:17], "18"
    if _SHAPE_15.fullmatch(value):
        return value[:6], "19" + value[6:12], value[12:15], "15"
    return None


def ric_birth_date(value: str | None) -> date | None:
    """The birth date in an 18- or 15-digit number; None if absent, malformed or no real date."""
    parts = _parts(value or "")
    if parts is None:
        return None
    born = parts[1]
    year, month, day = int(born[:4]), int(born[4:6]), int(born[6:])
    if year < 1 or not real_date(year, month, day):
        return None
    return date(year, month, day)


def ric_gender(value: str | None) -> Literal["男", "女"] | None:
    """男 for an odd sequence number, 女 for an even one; None when the shape is wrong."""
    parts = _parts(value or "")
    if parts is None:
        return None
    return "男" if int(parts[2][-1]) % 2 else "女"


def ric_region(value: str | None) -> str | None:
    """The six-digit region code a well-shaped number starts with."""
    parts = _parts(value or "")
    return None if parts is None else parts[0]


def _shaped_sql(expr: str, dialect: SqlDialect) -> tuple[str, str]:
    """SQL conditions: the 18-character shape, the 15-digit shape."""
    return dialect.regex_match(expr, _SQL_SHAPE_18), dialect.regex_match(expr, _SQL_SHAPE_15)


def _born_sql(expr: str, dialect: SqlDialect) -> str:
    """SQL: the YYYYMMDD text of a number of either shape (the caller checked the shape)."""
    long = dialect.substring(expr, 7, 8)
    short = f"'19' || {dialect.substring(expr, 7, 6)}"
    return f"(CASE WHEN {dialect.length(expr)} = 18 THEN {long} ELSE {short} END)"


def ric_birth_date_sql(expr: str, dialect: SqlDialect) -> str:
    """SQL form of ``ric_birth_date``: a DATE, or NULL."""
    shape18, shape15 = _shaped_sql(expr, dialect)
    born = _born_sql(expr, dialect)
    text = (
        f"{dialect.substring(born, 1, 4)} || '-' || {dialect.substring(born, 5, 2)}"
        f" || '-' || {dialect.substring(born, 7, 2)}"
    )
    year, month, day = (
        dialect.safe_cast(dialect.substring(born, start, size), FieldType.INTEGER)
        for start, size in ((1, 4), (5, 2), (7, 2))
    )
    return (
        f"(CASE WHEN ({shape18} OR {shape15}) AND {year} >= 1 AND {real_date_sql(year, month, day)}"
        f" THEN {dialect.safe_cast(text, FieldType.DATE)} END)"
    )


def ric_gender_sql(expr: str, dialect: SqlDialect) -> str:
    """SQL form of ``ric_gender``: '男', '女' or NULL."""
    shape18, shape15 = _shaped_sql(expr, dialect)
    digit = (
        f"(CASE WHEN {dialect.length(expr)} = 18 THEN {dialect.substring(expr, 17, 1)}"
        f" ELSE {dialect.substring(expr, 15, 1)} END)"
    )
    return (
        f"(CASE WHEN {shape18} OR {shape15} THEN"
        f" (CASE WHEN {digit} IN ('1', '3', '5', '7', '9') THEN '男' ELSE '女' END) END)"
    )


def ric_region_sql(expr: str, dialect: SqlDialect) -> str:
    """SQL form of ``ric_region``: the six-digit code, or NULL."""
    shape18, shape15 = _shaped_sql(expr, dialect)
    return f"(CASE WHEN {shape18} OR {shape15} THEN {dialect.substring(expr, 1, 6)} END)"


def check_char_sql(expr: str, dialect: SqlDialect) -> str:
    """SQL: the check character of a number whose first 17 characters are digits.

    The weighted digit sum is taken mod 11 without cutting the number into 17 digits: with
    ``n`` the 17 digits as one integer and ``n % 10^k`` its last ``k`` digits, digit ``k``
    (from the right) is ``(n % 10^(k+1) - n % 10^k) / 10^k``, and ``10^k`` is ``(-1)^k`` mod
    11; regrouping the sum by ``n % 10^k`` gives integer coefficients (Abel summation). Two
    dozen integer operations instead of 17 substrings and casts: about 2.5 times faster.
    """
    digits = dialect.regex_match(expr, "^[0-9]{17}")
    # Only 17 digits: a cast also reads "1e18", whose products would overflow.
    number = (
        f"(CASE WHEN {digits} THEN"
        f" {dialect.safe_cast(dialect.substring(expr, 1, 17), FieldType.INTEGER)} END)"
    )
    # c[k]: the weight of the digit at 10^k, times (-1)^k, mod 11.
    c = {16 - i: (WEIGHTS[i] * (-1) ** (16 - i)) % 11 for i in range(17)}
    terms = [f"{c[16]} * {number}"]
    terms += [f"{(c[k - 1] - c[k]) % 11} * ({number} % {10**k})" for k in range(1, 17)]
    total = "(" + " + ".join(terms) + ")"
    return f"substring('{CHECK_CHARS}', CAST({total} % 11 AS INTEGER) + 1, 1)"


class RicStandard(RegionLookup):
    """GB 11643 18-character citizen identity numbers."""

    name = "ric"
    label = "公民身份号码（GB 11643）"
    reasons: Mapping[str, tuple[str, str]] = {
        "ric.length": ("公民身份号码应为18位", "an ID number has 18 characters"),
        "ric.legacy_15": (
            "15位旧号码，应升级为18位",
            "a 15-digit legacy number; the 18-character form is required",
        ),
        "ric.format": (
            "前17位应为数字，末位应为数字或大写X",
            "17 digits then a digit or a capital X",
        ),
        "ric.lowercase_x": ("校验码X应为大写", "the check character X must be a capital"),
        "ric.check_digit": ("校验码错误", "wrong check character (ISO 7064 MOD 11-2)"),
        "ric.birth_date": ("出生日期不是真实日期", "the birth date is no real date"),
        "ric.birth_future": ("出生日期晚于今天", "the birth date is in the future"),
        "ric.birth_implausible": (
            f"出生日期早于{EARLIEST_BIRTH_YEAR}年",
            f"born before {EARLIEST_BIRTH_YEAR}",
        ),
        "ric.region": (
            "地址码不是GB/T 2260中的县级行政区划代码",
            "the region code is no county-level GB/T 2260 code",
        ),
        "ric.region_period": (
            "地址码在出生年份（1984年前出生的为1984年）未生效或已撤销",
            "the region code was not in force in the birth year (1984 for earlier births)",
        ),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        if len(value) != 18:
            return failed("ric.legacy_15" if _SHAPE_15.fullmatch(value) else "ric.length")
        if not _SHAPE_18.fullmatch(value):
            lowercase = _SHAPE_18.fullmatch(value[:17] + "X") and value[17] == "x"
            return failed("ric.lowercase_x" if lowercase else "ric.format")
        if value[17] != check_char(value[:17]):
            return failed("ric.check_digit")
        return _birth_and_region(value[:6], value[6:14], "ric", self.table)

    def check_array(self, values: pa.Array) -> pa.Array:
        """``check`` over a column at once (``rongshu.standards.vectors``)."""
        return ric_reasons_array(values, self.table)

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        shape18, shape15 = _shaped_sql(expr, dialect)
        shape = [
            (f"{dialect.length(expr)} <> 18 AND {shape15}", "ric.legacy_15"),
            (f"{dialect.length(expr)} <> 18", "ric.length"),
            (dialect.regex_match(expr, _SQL_LOWERCASE_X), "ric.lowercase_x"),
            (f"NOT {shape18}", "ric.format"),
        ]
        right_check = f"{dialect.substring(expr, 18, 1)} = {check_char_sql(expr, dialect)}"
        region = dialect.substring(expr, 1, 6)
        born = dialect.substring(expr, 7, 4)
        passed = first_failure(
            expr,
            shape + _birth_sql(dialect.substring(expr, 7, 8), "ric", dialect),
            _region_sql(region, born, "ric", self.table, dialect),
        )
        wrong = first_failure(expr, shape, "'ric.check_digit'")
        # The check character is tested first, for every row (malformed ones give NULL): an
        # engine shares the repeated casts of a first condition, not of later ones (DuckDB
        # runs five times faster so). The branches then put the reasons back in order.
        return f"(CASE WHEN coalesce({right_check}, FALSE) THEN {passed} ELSE {wrong} END)"


class Ric15Standard(RegionLookup):
    """GB 11643 legacy 15-digit citizen identity numbers (birth date ``YYMMDD`` in the 1900s)."""

    name = "ric15"
    label = "15位公民身份号码（旧版，GB 11643）"
    reasons: Mapping[str, tuple[str, str]] = {
        "ric15.format": ("15位旧号码应为15位数字", "a legacy number is 15 digits"),
        "ric15.birth_date": ("出生日期不是真实日期", "the birth date is no real date"),
        "ric15.region": (
            "地址码不是GB/T 2260中的县级行政区划代码",
            "the region code is no county-level GB/T 2260 code",
        ),
        "ric15.region_period": (
            "地址码在出生年份（1984年前出生的为1984年）未生效或已撤销",
            "the region code was not in force in the birth year (1984 for earlier births)",
        ),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        if not _SHAPE_15.fullmatch(value):
            return failed("ric15.format")
        return _birth_and_region(value[:6], "19" + value[6:12], "ric15", self.table)

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        _, shape15 = _shaped_sql(expr, dialect)
        born = f"'19' || {dialect.substring(expr, 7, 6)}"
        checks = [(f"NOT {shape15}", "ric15.format")]
        checks += _birth_sql(born, "ric15", dialect)
        region = dialect.substring(expr, 1, 6)
        year = f"'19' || {dialect.substring(expr, 7, 2)}"
        return first_failure(expr, checks, _region_sql(region, year, "ric15", self.table, dialect))


def _birth_and_region(region: str, born: str, prefix: str, table: RegionTable) -> Verdict:
    """Checks shared by both forms, on the region code and the ``YYYYMMDD`` birth date."""
    year, month, day = int(born[:4]), int(born[4:6]), int(born[6:])
    if not real_date(year, month, day):
        return failed(f"{prefix}.birth_date")
    if prefix == "ric":
        now = today()
        if (year, month, day) > (now.year, now.month, now.day):
            return failed("ric.birth_future")
        if year < EARLIEST_BIRTH_YEAR:
            return failed("ric.birth_implausible")
    flag = table.issue_flag(region, year)
    if flag == "u":
        return failed(f"{prefix}.region")
    return OK if flag == "1" else failed(f"{prefix}.region_period")


def _birth_sql(born: str, prefix: str, dialect: SqlDialect) -> list[tuple[str, str]]:
    """SQL checks on the ``YYYYMMDD`` text ``born`` (digits, as the shape checks made sure)."""
    year, month, day, whole = (
        dialect.safe_cast(dialect.substring(born, start, size), FieldType.INTEGER)
        for start, size in ((1, 4), (5, 2), (7, 2), (1, 8))
    )
    checks = [(f"NOT {real_date_sql(year, month, day)}", f"{prefix}.birth_date")]
    if prefix == "ric":
        now = (
            "(EXTRACT(YEAR FROM CURRENT_DATE) * 10000 + EXTRACT(MONTH FROM CURRENT_DATE) * 100"
            " + EXTRACT(DAY FROM CURRENT_DATE))"
        )
        checks += [
            (f"{whole} > {now}", "ric.birth_future"),
            (f"{year} < {EARLIEST_BIRTH_YEAR}", "ric.birth_implausible"),
        ]
    return checks


def _region_sql(
    region: str, year_text: str, prefix: str, table: RegionTable, dialect: SqlDialect
) -> str:
    """SQL for the region checks, run on rows whose birth year passed the other checks."""
    year = dialect.safe_cast(year_text, FieldType.INTEGER)
    return table.issue_reason_sql(region, year, f"{prefix}.region", f"{prefix}.region_period")


# -- column at a time (rongshu.standards.vectors) -----------------------------------------------

_RIC_REASONS = (None, *RicStandard.reasons)  # index 0: ok
_RIC_CODE = {reason: index for index, reason in enumerate(_RIC_REASONS) if reason}
_LENGTH, _LEGACY_15, _FORMAT, _LOWERCASE_X, _CHECK_DIGIT = (
    _RIC_CODE[f"ric.{name}"]
    for name in ("length", "legacy_15", "format", "lowercase_x", "check_digit")
)
_BIRTH_DATE, _BIRTH_FUTURE, _BIRTH_IMPLAUSIBLE, _REGION, _REGION_PERIOD = (
    _RIC_CODE[f"ric.{name}"]
    for name in ("birth_date", "birth_future", "birth_implausible", "region", "region_period")
)
_CHECK_BYTES = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)
_WEIGHT_ARRAY = np.array(WEIGHTS, dtype=np.int64)
_X, _LOWER_X = ord("X"), ord("x")
#: ``_parts_kernel``'s gender codes: none (not a well-shaped number), male, female.
_GENDERS = (None, "男", "女")
#: Birth dates (days since 1970), whether there is one, and gender codes, of each row.
_Parts = tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_], npt.NDArray[np.int8]]


def ric_reasons_array(values: pa.Array, table: RegionTable) -> pa.Array:
    """``RicStandard.check`` over a column at once: NULL where ok, else the reason code."""
    years = (table.first_year, table.last_year, vectors.today_number())
    codes = _reasons_kernel(*vectors.text_buffers(values), *table.arrays(), *years)
    return vectors.reasons(codes, _RIC_REASONS)


@kernel
def _reasons_kernel(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    valid: npt.NDArray[np.bool_],
    index: npt.NDArray[np.int32],
    flags: npt.NDArray[np.uint8],
    first_year: int,
    last_year: int,
    today: int,
) -> npt.NDArray[np.int8]:
    """Reason indexes of each value, in the order ``RicStandard.check`` tests them."""
    codes = np.zeros(len(valid), dtype=np.int8)
    for row in range(len(valid)):
        start, end = offsets[row], offsets[row + 1]
        size = end - start
        if not valid[row] or size == 0:  # None and "" are ok
            continue
        if vectors.char_count(data, start, end) != 18:
            fifteen = size == 15 and vectors.digits_value(data, start, 15) >= 0
            codes[row] = _LEGACY_15 if fifteen else _LENGTH
            continue
        if size != 18:  # 18 characters, not all ASCII
            codes[row] = _FORMAT
            continue
        total = 0
        first17 = True
        for at in range(17):
            digit = np.int64(data[start + at]) - 48
            if digit < 0 or digit > 9:
                first17 = False
                break
            total += digit * _WEIGHT_ARRAY[at]
        last = data[start + 17]
        if not (first17 and (48 <= last <= 57 or last == _X)):
            codes[row] = _LOWERCASE_X if first17 and last == _LOWER_X else _FORMAT
            continue
        if last != _CHECK_BYTES[total % 11]:
            codes[row] = _CHECK_DIGIT
            continue
        year = vectors.digits_value(data, start + 6, 4)
        month = vectors.digits_value(data, start + 10, 2)
        day = vectors.digits_value(data, start + 12, 2)
        if not vectors.is_real_date(year, month, day):
            codes[row] = _BIRTH_DATE
        elif year * 10000 + month * 100 + day > today:
            codes[row] = _BIRTH_FUTURE
        elif year < EARLIEST_BIRTH_YEAR:
            codes[row] = _BIRTH_IMPLAUSIBLE
        else:
            region = vectors.digits_value(data, start, 6)
            flag = issue_flag(index, flags, first_year, last_year, region, year)
            if flag == FLAG_UNKNOWN:
                codes[row] = _REGION
            elif flag == FLAG_NOT_IN_FORCE:
                codes[row] = _REGION_PERIOD
    return codes


@kernel
def _parts_kernel(
    offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_]
) -> _Parts:
    """The birth date (days since 1970, and whether there is one) and gender code of each
    well-shaped number of either length (the 15-digit form's year read with ``19`` before it),
    whatever its check character."""
    rows = len(valid)
    days = np.zeros(rows, dtype=np.int32)
    born = np.zeros(rows, dtype=np.bool_)
    genders = np.zeros(rows, dtype=np.int8)
    for row in range(rows):
        start, end = offsets[row], offsets[row + 1]
        size = end - start
        if not valid[row]:
            continue
        if size == 18:
            last = data[start + 17]
            if vectors.digits_value(data, start, 17) < 0 or not (48 <= last <= 57 or last == _X):
                continue
            year = vectors.digits_value(data, start + 6, 4)
            date_at, sequence = start + 10, data[start + 16]
        elif size == 15:
            if vectors.digits_value(data, start, 15) < 0:
                continue
            year = 1900 + vectors.digits_value(data, start + 6, 2)
            date_at, sequence = start + 8, data[start + 14]
        else:
            continue
        genders[row] = 1 if (sequence - 48) % 2 == 1 else 2
        month = vectors.digits_value(data, date_at, 2)
        day = vectors.digits_value(data, date_at + 2, 2)
        if year >= 1 and vectors.is_real_date(year, month, day):
            days[row] = vectors.civil_days(year, month, day)
            born[row] = True
    return days, born, genders


def _id_parts(values: pa.Array) -> _Parts:
    return _parts_kernel(*vectors.text_buffers(values))


def ric_birth_date_array(values: pa.Array) -> pa.Array:
    """``ric_birth_date`` over a column at once, as ``date32`` (NULL where it gives None)."""
    days, born, _ = _id_parts(values)
    return pa.array(days, pa.date32(), mask=~born)


def ric_gender_array(values: pa.Array) -> pa.Array:
    """``ric_gender`` over a column at once: 男, 女 or NULL."""
    _, _, genders = _id_parts(values)
    return vectors.reasons(genders, _GENDERS)


def ric_region_array(values: pa.Array) -> pa.Array:
    """``ric_region`` over a column at once: the first six digits of each well-shaped number,
    NULL for the rest."""
    values = vectors.plain_text(values)
    _, _, genders = _id_parts(values)  # a well-shaped number has a gender
    return pc.if_else(
        pa.array(genders != 0), pc.utf8_slice_codeunits(values, 0, 6), pa.scalar(None, pa.string())
    )
