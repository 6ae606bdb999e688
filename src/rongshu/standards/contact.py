"""Contact details: mobile and fixed-line phone numbers, postcodes, e-mail addresses.

Each check is a regular expression in the common subset of Python's ``re`` and RE2 (explicit
``[0-9]`` classes, no ``\\d``, ``\\s`` or look-arounds), so the Python form and the SQL form read
it the same way.

- Mobile numbers: 11 digits in a segment allocated to a carrier (13x, 145-149, 150-153,
  155-159, 162, 165-167, 170-178, 18x, 190-193, 195-199).
- Fixed lines: an optional area code (``0`` + 2 or 3 digits, bare, with ``-`` or a space, or in
  brackets), a subscriber number of 7 or 8 digits not starting with 0 or 1, an optional
  extension (``-123`` or ``转123``). Cities with three-digit area codes and the provincial
  capitals have eight-digit numbers: seven digits after their area code fail.
- Service numbers 400 and 800 (``400-123-4567``).
- Postcodes: six digits; the first two name a postal zone (01-86).
- E-mail: a dot-separated local part of letters, digits and ``_%+-``, ``@``, a domain of
  dot-separated labels ending in a letter-only top-level label; at most 254 characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from rongshu.core.kernels import inlined, kernel
from rongshu.lake.dialect import SqlDialect
from rongshu.standards import vectors
from rongshu.standards.base import OK, Join, Verdict, failed, first_failure

MOBILE_SEGMENTS = r"1(?:3[0-9]|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8[0-9]|9[0-35-9])[0-9]{8}"
MOBILE_SHAPE = r"1[0-9]{10}"
#: Area codes whose subscriber numbers have eight digits: three-digit codes, the capitals.
EIGHT_DIGIT_AREAS = (
    "010|02[0-9]|0311|0351|0371|0411|0431|0451|0471|0531|0551|0571|0591|0731|0755|0771|0791"
    "|0851|0871|0891|0898|0931|0951|0971|0991"
)
_AREA = r"0(?:10|2[0-9]|[3-9][0-9]{2})"
_EXTENSION = r"(?:(?:-|转)[0-9]{1,6})?"
FIXED_LINE = rf"(?:\({_AREA}\)|{_AREA}[- ]?)?[2-9][0-9]{{6,7}}{_EXTENSION}"
SHORT_FIXED_LINE = (
    rf"(?:\((?:{EIGHT_DIGIT_AREAS})\)|(?:{EIGHT_DIGIT_AREAS})[- ]?)[2-9][0-9]{{6}}{_EXTENSION}"
)
SERVICE = r"[48]00-?[0-9]{3}-?[0-9]{4}"
POSTCODE = r"(?:0[1-8]|[1-7][0-9]|8[0-6])[0-9]{4}"
EMAIL = (
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
EMAIL_MAX_LENGTH = 254


class _Pattern:
    """One pattern in both forms: a compiled Python regex and the anchored SQL pattern."""

    def __init__(self, pattern: str) -> None:
        self.python = re.compile(pattern)
        self.sql_pattern = f"^(?:{pattern})$"

    def matches(self, value: str) -> bool:
        return self.python.fullmatch(value) is not None

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        return dialect.regex_match(expr, self.sql_pattern)


_MOBILE = _Pattern(MOBILE_SEGMENTS)
_MOBILE_SHAPE = _Pattern(MOBILE_SHAPE)
_ANY_PHONE = _Pattern(f"{MOBILE_SHAPE}|{FIXED_LINE}|{SERVICE}")
_SHORT_FIXED = _Pattern(SHORT_FIXED_LINE)
_POSTCODE = _Pattern(POSTCODE)
_EMAIL = _Pattern(EMAIL)


class _NoLookups:
    def lookups(self) -> Mapping[str, pa.Table]:
        return {}

    def joins(self, expr: str, dialect: SqlDialect) -> list[Join]:
        return []


class MobileStandard(_NoLookups):
    """Mainland mobile numbers."""

    name = "mobile"
    label = "手机号码"
    reasons: Mapping[str, tuple[str, str]] = {
        "mobile.format": ("手机号码应为以1开头的11位数字", "11 digits starting with 1"),
        "mobile.segment": ("号段未分配给任何运营商", "no carrier has this number segment"),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        if not _MOBILE_SHAPE.matches(value):
            return failed("mobile.format")
        return OK if _MOBILE.matches(value) else failed("mobile.segment")

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        return first_failure(
            expr,
            [
                (f"NOT {_MOBILE_SHAPE.sql(expr, dialect)}", "mobile.format"),
                (f"NOT {_MOBILE.sql(expr, dialect)}", "mobile.segment"),
            ],
        )


class PhoneStandard(_NoLookups):
    """Any telephone number: mobile, fixed line (with or without area code), 400/800."""

    name = "phone"
    label = "电话号码（手机或固定电话）"
    reasons: Mapping[str, tuple[str, str]] = {
        "phone.format": (
            "不是手机号码、固定电话或400/800号码",
            "neither a mobile, a fixed-line nor a 400/800 number",
        ),
        "phone.mobile_segment": ("手机号段未分配给任何运营商", "no carrier has this segment"),
        "phone.local_digits": (
            "该区号的本地号码应为8位",
            "numbers behind this area code have eight digits",
        ),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        if not _ANY_PHONE.matches(value):
            return failed("phone.format")
        if _MOBILE_SHAPE.matches(value) and not _MOBILE.matches(value):
            return failed("phone.mobile_segment")
        return failed("phone.local_digits") if _SHORT_FIXED.matches(value) else OK

    def check_array(self, values: pa.Array) -> pa.Array:
        """``check`` over a column at once (``rongshu.standards.vectors``): the patterns read
        by hand, byte by byte, in a kernel."""
        return vectors.reasons(_phone_kernel(*vectors.text_buffers(values)), _PHONE_REASONS)

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        return first_failure(
            expr,
            [
                (f"NOT {_ANY_PHONE.sql(expr, dialect)}", "phone.format"),
                (
                    f"{_MOBILE_SHAPE.sql(expr, dialect)} AND NOT {_MOBILE.sql(expr, dialect)}",
                    "phone.mobile_segment",
                ),
                (_SHORT_FIXED.sql(expr, dialect), "phone.local_digits"),
            ],
        )


class PostcodeStandard(_NoLookups):
    """Postcodes (邮政编码)."""

    name = "postcode"
    label = "邮政编码"
    reasons: Mapping[str, tuple[str, str]] = {
        "postcode.format": (
            "邮政编码应为6位数字，前两位为01-86",
            "six digits, the first two 01-86",
        ),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        return OK if _POSTCODE.matches(value) else failed("postcode.format")

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        return first_failure(expr, [(f"NOT {_POSTCODE.sql(expr, dialect)}", "postcode.format")])


class EmailStandard(_NoLookups):
    """E-mail addresses (the common shape; no quoted local parts or IP literals)."""

    name = "email"
    label = "电子邮箱"
    reasons: Mapping[str, tuple[str, str]] = {
        "email.format": ("电子邮箱格式错误", "not an e-mail address"),
        "email.length": (
            f"电子邮箱超过{EMAIL_MAX_LENGTH}个字符",
            f"longer than {EMAIL_MAX_LENGTH} characters",
        ),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        if len(value) > EMAIL_MAX_LENGTH:
            return failed("email.length")
        return OK if _EMAIL.matches(value) else failed("email.format")

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        return first_failure(
            expr,
            [
                (f"{dialect.length(expr)} > {EMAIL_MAX_LENGTH}", "email.length"),
                (f"NOT {_EMAIL.sql(expr, dialect)}", "email.format"),
            ],
        )


# -- the phone patterns in a kernel (rongshu.standards.vectors) ---------------------------------
#
# Each pattern reads one way only: an area code is told by its first two digits (010, 02x, or
# 0 and three digits), a subscriber number is the whole run of digits after it (7 or 8 of
# them, so the run decides), and an extension starts with ``-`` or ``转``. So a byte-by-byte
# reading gives the regular expressions' verdicts (the property tests compare them).

_PHONE_REASONS = (None, *PhoneStandard.reasons)  # index 0: ok
_FORMAT, _MOBILE_SEGMENT, _LOCAL_DIGITS = (
    _PHONE_REASONS.index(f"phone.{name}") for name in ("format", "mobile_segment", "local_digits")
)
_ZERO, _ONE, _TWO, _THREE, _FOUR, _EIGHT, _NINE = (ord(d) for d in "0123489")
_OPEN, _CLOSE, _DASH, _SPACE = ord("("), ord(")"), ord("-"), ord(" ")
_ZHUAN = np.frombuffer("转".encode(), dtype=np.uint8)  # an extension's mark, as its UTF-8 bytes
#: Which area codes (as numbers: 010 is 10, 0591 is 591) have eight-digit subscriber numbers.
_EIGHT_DIGITS = np.zeros(10_000, dtype=np.bool_)
for _code in [f"0{n:02d}" for n in range(100)] + [f"0{n:03d}" for n in range(1000)]:
    if re.fullmatch(f"(?:{EIGHT_DIGIT_AREAS})", _code) and re.fullmatch(_AREA, _code):
        _EIGHT_DIGITS[int(_code)] = True
#: Which second and third digits of an 11-digit number starting with 1 are a carrier's segment.
_SEGMENTS = np.zeros((10, 10), dtype=np.bool_)
for _segment in range(100):
    _SEGMENTS[_segment // 10, _segment % 10] = bool(
        re.fullmatch(MOBILE_SEGMENTS, f"1{_segment:02d}00000000")
    )


@inlined
def _is_digit(byte: int) -> bool:
    return _ZERO <= byte <= _NINE


@inlined
def _digit_run(data: vectors.Bytes, start: int, end: int) -> int:
    """How many digits follow one another from ``start``."""
    at = start
    while at < end and _is_digit(data[at]):
        at += 1
    return at - start


@inlined
def _area_length(data: vectors.Bytes, start: int, end: int) -> int:
    """The length of the area code at ``start`` (010, 02x or 0 and three digits); 0: none."""
    if start + 3 > end or data[start] != _ZERO:
        return 0
    second = data[start + 1]
    if second == _ONE:
        return 3 if data[start + 2] == _ZERO else 0
    if second == _TWO:
        return 3 if _is_digit(data[start + 2]) else 0
    if _THREE <= second <= _NINE and start + 4 <= end and _digit_run(data, start + 2, end) >= 2:
        return 4
    return 0


@inlined
def _fixed_line(data: vectors.Bytes, start: int, end: int, short: bool) -> bool:
    """Whether ``data[start:end]`` is ``FIXED_LINE``; with ``short``, ``SHORT_FIXED_LINE``."""
    at = start
    area = -1
    if data[at] == _OPEN:
        length = _area_length(data, at + 1, end)
        if length == 0 or at + 1 + length >= end or data[at + 1 + length] != _CLOSE:
            return False
        area = vectors.digits_value(data, at + 1, length)
        at += length + 2
    elif data[at] == _ZERO:
        length = _area_length(data, at, end)
        if length == 0:
            return False
        area = vectors.digits_value(data, at, length)
        at += length
        if at < end and (data[at] == _DASH or data[at] == _SPACE):
            at += 1
    if short and (area < 0 or not _EIGHT_DIGITS[area]):
        return False
    if at >= end or not _TWO <= data[at] <= _NINE:
        return False
    run = _digit_run(data, at, end)
    if run != 7 and (short or run != 8):
        return False
    at += run
    if at == end:
        return True
    if data[at] == _DASH:
        at += 1
    elif (
        at + 3 <= end
        and data[at] == _ZHUAN[0]
        and data[at + 1] == _ZHUAN[1]
        and data[at + 2] == _ZHUAN[2]
    ):
        at += 3
    else:
        return False
    return 1 <= end - at <= 6 and _digit_run(data, at, end) == end - at


@inlined
def _service(data: vectors.Bytes, start: int, end: int) -> bool:
    """Whether ``data[start:end]`` is ``SERVICE`` (400 and 800 numbers)."""
    if end - start < 10 or not (data[start] == _FOUR or data[start] == _EIGHT):
        return False
    if data[start + 1] != _ZERO or data[start + 2] != _ZERO:
        return False
    at = start + 3
    for group in (3, 4):
        if at < end and data[at] == _DASH:
            at += 1
        if at + group > end or _digit_run(data, at, at + group) != group:
            return False
        at += group
    return at == end


@kernel
def _phone_kernel(
    offsets: vectors.Ints, data: vectors.Bytes, valid: vectors.Mask
) -> npt.NDArray[np.int8]:
    """Reason indexes of each value, in the order ``PhoneStandard.check`` tests them."""
    codes = np.zeros(len(valid), dtype=np.int8)
    for row in range(len(valid)):
        start, end = offsets[row], offsets[row + 1]
        if not valid[row] or start == end:  # None and "" are ok
            continue
        size = end - start
        mobile = size == 11 and data[start] == _ONE and _digit_run(data, start, end) == size
        if not (mobile or _fixed_line(data, start, end, False) or _service(data, start, end)):
            codes[row] = _FORMAT
        elif mobile and not _SEGMENTS[data[start + 1] - _ZERO, data[start + 2] - _ZERO]:
            codes[row] = _MOBILE_SEGMENT
        elif _fixed_line(data, start, end, True):
            codes[row] = _LOCAL_DIGITS
    return codes
