"""Dates and date-times from source cells, vectorised.

Recognisers are tried in turn on the cells still unread: common fixed-width shapes straight from
the UTF-8 bytes (``2020-01-02``, ``20200102``, ``2020-01-02 03:04:05``: the fast path), year-first
text (``2020/1/2``, ``2020.1.2``, ``2020年1月2日``, each with an optional time and UTC offset),
compact ``20200102030405``, Excel serial numbers, then epoch seconds and milliseconds. A cell a
recogniser claims but that is no real date (``2020-02-30``) fails rather than rolling over.
Wall-clock times without an offset are in the mapping's time zone (Asia/Shanghai by default)
and stored as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rongshu.catalog.schemas import FieldType
from rongshu.standards.vectors import days_from_civil, days_in_month, utf8_bytes

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

#: Excel's day zero for serials after its phantom 1900-02-29 (serial 61 is 1900-03-01).
EXCEL_EPOCH_DAYS = -25569  # 1899-12-30 as days since 1970-01-01
EXCEL_SERIAL_MAX = 60000  # 2064-04-08
#: Serials of this size cannot be mistaken for anything else (5 digits, from 1927-05-18).
EXCEL_SERIAL_UNAMBIGUOUS = 10000

_US_PER_DAY = 86_400_000_000
_FIRST_DAY = -719162  # 0001-01-01 as days since 1970-01-01
_FALSE = pa.scalar(False, pa.bool_())
# Typed scalars: pyarrow looks for dateutil on every untyped Python value it converts.
_EMPTY = pa.scalar("", pa.string())
#: Fixed-width shapes read from the bytes: Y M D h m s are digits, " " is a space or "T".
LAYOUTS = ("YYYY-MM-DD", "YYYYMMDD", "YYYY-MM-DD hh:mm:ss", "YYYY-MM-DD hh:mm", "YYYY/MM/DD")
#: The shapes Arrow's parser reads as the byte reader does (same digits, same refusals), and
#: the type it reads them to.
ISO_LAYOUTS = (
    ("YYYY-MM-DD", pa.date32()),
    ("YYYY-MM-DD hh:mm:ss", pa.timestamp("us")),
    ("YYYY-MM-DD hh:mm", pa.timestamp("us")),
)
_TIME = (
    r"(?P<H>\d{1,2})[:时](?P<M>\d{1,2})(?:[:分](?P<S>\d{1,2})(?:\.(?P<f>\d{1,9}))?)?[分秒]?"
    r"\s*(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?"
)
#: ISO 8601 as text: a date, optionally with a time, fraction and zone (the standard form).
_ISO_TEXT = (
    r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
#: Year first with separators, optionally followed by a time: 2020-1-2, 2020年1月2日 3时4分 ...
_SEPARATED = (
    r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})"
    r"(?:日?|(?:日\s*|日?T|日?\s+)" + _TIME + r")$"
)
#: 20200102, 20200102030405, 20200102T030405
_COMPACT = r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:[T ]?(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2}))?$"
DEFAULT_PATTERNS = (_SEPARATED, _COMPACT)
_SERIAL = r"^\d{1,5}(?:\.\d+)?$"
_EPOCH_MS = r"^\d{12,13}$"
_EPOCH_S = r"^\d{9,10}$"

_DIRECTIVES = {
    "Y": r"(?P<y>\d{4})",
    "y": r"(?P<yy>\d{2})",
    "m": r"(?P<m>\d{%s})",
    "d": r"(?P<d>\d{%s})",
    "H": r"(?P<H>\d{%s})",
    "M": r"(?P<M>\d{%s})",
    "S": r"(?P<S>\d{%s})",
    "f": r"(?P<f>\d{1,9})",
    "z": r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?)",
}


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """How one column's dates are read."""

    timezone: str = "Asia/Shanghai"
    #: True: integers 1-60000 in a date column are Excel serials; False: never; None: decide.
    excel_serial: bool | None = None
    #: Regular expressions with named groups (from ``format_pattern``), replacing the defaults.
    date_patterns: tuple[str, ...] | None = None


def format_pattern(date_format: str) -> str:
    """A strptime-style format (``%d/%m/%Y``) as a regular expression for the date reader.

    Supports ``%Y %y %m %d %H %M %S %f %z %%``; anything else raises ``ValueError``. A number
    directly followed by another directive must be zero-padded (``%Y%m%d``); one followed by a
    separator may have one or two digits.
    """
    parts: list[str] = []
    seen: set[str] = set()
    index = 0
    while index < len(date_format):
        char = date_format[index]
        if char != "%":
            parts.append(r"\s+" if char.isspace() else re.escape(char))
            index += 1
            continue
        directive = date_format[index + 1 : index + 2]
        index += 2
        if directive == "%":
            parts.append("%")
            continue
        if directive not in _DIRECTIVES:
            raise ValueError(f"unsupported directive %{directive} in date format {date_format!r}")
        if directive in seen:
            raise ValueError(f"%{directive} appears twice in date format {date_format!r}")
        seen.add(directive)
        pattern = _DIRECTIVES[directive]
        if "%s" in pattern:
            packed = date_format[index : index + 1] == "%"
            pattern = pattern % ("2" if packed else "1,2")
        parts.append(pattern)
    if not ({"Y", "y"} & seen and {"m", "d"} <= seen):
        raise ValueError(f"date format {date_format!r} needs a year, %m and %d")
    return "^" + "".join(parts) + "$"


def read_dates(
    text: pa.Array, data_type: FieldType, options: ParseOptions, *, serial_allowed: bool | None
) -> tuple[pa.Array, Mask, Mask]:
    """Text cells as date32 or UTC timestamps, which present cells could not be read, and which
    were read but not written in ISO 8601 (``2020年1月2日``, ``20200102``, a serial; with no
    ``date_formats`` declared: a declared format is the source's own, not a slip).

    ``serial_allowed``: True reads every number 1-60000 as an Excel serial, False none, None
    decides from the column (see ``ColumnMapping.excel_serial``).
    """
    return _text_temporal(text, data_type, options, serial_allowed=serial_allowed)


def convert_dates(
    source: pa.Array, data_type: FieldType, options: ParseOptions
) -> tuple[pa.Array, Mask]:
    """Date or timestamp cells (typed by the source) as the field's date or UTC timestamp."""
    return _parse_temporal(source, data_type, options)


def _parse_temporal(
    source: pa.Array, data_type: FieldType, options: ParseOptions
) -> tuple[pa.Array, Mask]:
    """Date, naive timestamp (wall clock) or zoned timestamp cells to the field's type."""
    kind = source.type
    none = np.zeros(len(source), dtype=bool)
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        instants = source.cast(pa.timestamp("us", tz="UTC"))
        if data_type is FieldType.DATETIME:
            return instants, none
        local = pc.local_timestamp(instants.cast(pa.timestamp("us", tz=options.timezone)))
        return local.cast(pa.date32()), none
    wall = source.cast(pa.timestamp("us"))  # a date, or a wall-clock timestamp
    if data_type is FieldType.DATE:
        return wall.cast(pa.date32()), none
    utc = _local_to_utc(_ints(wall.cast(pa.int64())), options)
    return pa.array(utc, pa.timestamp("us", tz="UTC"), mask=~_present(source)), none


def _present(values: pa.Array) -> Mask:
    return np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _mask(values: pa.Array) -> Mask:
    return np.asarray(values.fill_null(_FALSE).to_numpy(zero_copy_only=False), dtype=bool)


def _matches(text: pa.Array, pattern: str) -> Mask:
    return _mask(pc.match_substring_regex(text, pattern=pattern))


def _ints(values: pa.Array) -> Ints:
    return np.asarray(values.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)


# -- reading text, recogniser by recogniser -------------------------------------------------


class _Reading:
    """What the recognisers found so far, one slot per row of the column."""

    def __init__(self, count: int) -> None:
        self.wall = np.zeros(count, dtype=np.int64)  # local wall-clock µs since 1970-01-01
        self.instant = np.zeros(count, dtype=np.int64)  # UTC µs since 1970-01-01
        self.is_wall = np.zeros(count, dtype=bool)
        self.is_instant = np.zeros(count, dtype=bool)
        self.failed = np.zeros(count, dtype=bool)


def _text_temporal(
    text: pa.Array, data_type: FieldType, options: ParseOptions, *, serial_allowed: bool | None
) -> tuple[pa.Array, Mask, Mask]:
    count = len(text)
    reading = _Reading(count)
    present = _present(text)
    left = present.copy()
    other_form = np.zeros(count, dtype=bool)
    if options.date_patterns is None:
        _read_iso(text, reading, left)
        if left.any():
            other_form = left.copy()
            where = np.flatnonzero(other_form)
            other_form[where[_matches(text.take(pa.array(where)), _ISO_TEXT)]] = False
            _read_layouts(text, reading, left)
        patterns: tuple[str, ...] = DEFAULT_PATTERNS
    else:
        patterns = options.date_patterns
    for pattern in patterns:
        if left.any():
            _read_pattern(text, pattern, reading, left)
    if left.any() and serial_allowed is not False:
        _read_serials(text, reading, left, always=serial_allowed is True)
    if left.any():
        _read_epochs(text, reading, left)
    reading.failed |= left
    return (*_finish(reading, data_type, options), other_form & ~reading.failed)


def _subset(text: pa.Array, rows: Mask) -> tuple[npt.NDArray[np.intp], pa.Array]:
    where = np.flatnonzero(rows)
    return where, text.take(pa.array(where))


def _read_iso(text: pa.Array, reading: _Reading, left: Mask) -> None:
    """ISO dates and date-times (``ISO_LAYOUTS``) by Arrow's own parser, some 15 times faster
    than the byte reader below. Arrow refuses a whole batch for one impossible date: then dates
    are read cell by cell (``_checked_dates``), and date-times are left to the byte reader."""
    offsets, data = utf8_bytes(text)
    lengths = offsets[1:] - offsets[:-1]
    for layout, arrow_type in ISO_LAYOUTS:
        rows = left & (lengths == len(layout))
        if not rows.any():
            continue
        where = np.flatnonzero(rows)
        starts = offsets[where]
        shaped = np.ones(len(where), dtype=bool)
        for position, char in enumerate(layout):
            if char in "-:":
                shaped &= data[starts + position] == ord(char)
            elif char == " ":
                cell = data[starts + position]
                shaped &= (cell == 0x20) | (cell == 0x54)  # space or T
        where = where[shaped]
        if where.size == 0:
            continue
        cells = text if where.size == len(text) else text.take(pa.array(where, pa.int64()))
        try:
            parsed = cells.cast(arrow_type)
        except pa.ArrowInvalid:
            if arrow_type != pa.date32():
                continue
            days, ok = _checked_dates(cells, offsets[where], data)
            wall = days * _US_PER_DAY
        else:
            if arrow_type == pa.date32():
                wall = _ints(parsed.cast(pa.int32())) * _US_PER_DAY
            else:
                wall = _ints(parsed.cast(pa.int64()))
            ok = np.ones(len(where), dtype=bool)
        ok &= wall >= _FIRST_DAY * _US_PER_DAY  # Arrow reads year 0, which is no date
        where, wall = where[ok], wall[ok]
        left[where] = False
        reading.wall[where] = wall
        reading.is_wall[where] = True


def _checked_dates(cells: pa.Array, starts: Ints, data: npt.NDArray[np.uint8]) -> tuple[Ints, Mask]:
    """Days since 1970 of ``YYYY-MM-DD`` cells, and which are real dates, cell by cell.

    ``strptime`` reads each cell but rolls impossible dates over (2020-02-30 becomes March 1st):
    a cell counts only where all eight digits are digits and the month and day read back as
    written.
    """
    positions = (0, 1, 2, 3, 5, 6, 8, 9)
    digits = np.stack([data[starts + p] for p in positions]).astype(np.int64) - 0x30
    ok = ((digits >= 0) & (digits <= 9)).all(axis=0)
    stamps = pc.strptime(cells, format="%Y-%m-%d", unit="s", error_is_null=True)
    ok &= _present(stamps)
    ok &= _ints(pc.month(stamps)) == digits[4] * 10 + digits[5]
    ok &= _ints(pc.day(stamps)) == digits[6] * 10 + digits[7]
    return np.floor_divide(_ints(stamps.cast(pa.int64())), 86_400), ok


def _read_layouts(text: pa.Array, reading: _Reading, left: Mask) -> None:
    """The common fixed-width shapes straight from the bytes, much faster than a regex."""
    offsets, data = utf8_bytes(text)
    lengths = np.diff(offsets)
    for layout in LAYOUTS:
        rows = left & (lengths == len(layout))
        if not rows.any():
            continue
        where = np.flatnonzero(rows)
        cells = data[offsets[where][:, None] + np.arange(len(layout))]
        shaped = np.ones(len(where), dtype=bool)
        for position, char in enumerate(layout):
            column = cells[:, position]
            if char in "YMDhms":
                shaped &= (column >= 0x30) & (column <= 0x39)
            elif char == " ":
                shaped &= (column == 0x20) | (column == 0x54)  # space or T
            else:
                shaped &= column == ord(char)
        digits = cells.astype(np.int64) - 0x30
        year, month, day, hour, minute, second = (_digits(digits, layout, c) for c in "YMDhms")
        micros = np.zeros(len(where), dtype=np.int64)
        valid, wall = _compose(year, month, day, hour, minute, second, micros)
        left[where[shaped]] = False
        reading.failed[where[shaped & ~valid]] = True
        good = where[shaped & valid]
        reading.wall[good] = wall[shaped & valid]
        reading.is_wall[good] = True


def _digits(digits: Ints, layout: str, letter: str) -> Ints:
    value = np.zeros(len(digits), dtype=np.int64)
    for position, char in enumerate(layout):
        if char == letter:
            value = value * 10 + digits[:, position]
    return value


def _compose(
    year: Ints, month: Ints, day: Ints, hour: Ints, minute: Ints, second: Ints, micros: Ints
) -> tuple[Mask, Ints]:
    """Which parts make a real date and time, and their wall-clock µs since 1970-01-01."""
    valid = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    valid &= day <= days_in_month(year, np.clip(month, 1, 12))
    valid &= (hour <= 23) & (minute <= 59) & (second <= 59)
    days = days_from_civil(year, np.clip(month, 1, 12), np.clip(day, 1, 31))
    wall = days * _US_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1_000_000 + micros
    return valid, wall


def _read_pattern(text: pa.Array, pattern: str, reading: _Reading, left: Mask) -> None:
    where, values = _subset(text, left)
    parts = pc.extract_regex(values, pattern=pattern)
    claimed = _present(parts)
    if not claimed.any():
        return
    rows = where[claimed]
    parts = parts.filter(pa.array(claimed))
    valid, wall, offset = _wall_clock(parts)
    left[rows] = False
    reading.failed[rows[~valid]] = True
    plain = valid
    if offset is not None:
        shift, has_offset = offset
        zoned = valid & has_offset
        reading.instant[rows[zoned]] = wall[zoned] - shift[zoned]
        reading.is_instant[rows[zoned]] = True
        plain = valid & ~has_offset
    reading.wall[rows[plain]] = wall[plain]
    reading.is_wall[rows[plain]] = True


def _read_serials(text: pa.Array, reading: _Reading, left: Mask, *, always: bool) -> None:
    candidates = left & _matches(text, _SERIAL)
    if not candidates.any():
        return
    where, values = _subset(text, candidates)
    serials = np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False))
    in_range = (serials >= 1) & (serials < EXCEL_SERIAL_MAX + 1)
    plain = in_range & (serials >= EXCEL_SERIAL_UNAMBIGUOUS)
    # Small numbers are serials only where most of the column's numbers plainly are.
    if always or 2 * int(plain.sum()) > int(in_range.sum()):
        accepted = in_range
    else:
        accepted = plain
    phantom = np.floor(serials) == 60  # Excel's 1900-02-29, a day that never was
    left[where[accepted]] = False
    reading.failed[where[accepted & phantom]] = True
    ok = accepted & ~phantom
    # Serials before the phantom day count from 1899-12-31, the rest from 1899-12-30.
    days = serials[ok] + np.where(serials[ok] < 60, EXCEL_EPOCH_DAYS + 1, EXCEL_EPOCH_DAYS)
    millis = np.rint(days * (_US_PER_DAY // 1000)).astype(np.int64)
    reading.wall[where[ok]] = millis * 1000
    reading.is_wall[where[ok]] = True


def _read_epochs(text: pa.Array, reading: _Reading, left: Mask) -> None:
    for pattern, scale in ((_EPOCH_MS, 1000), (_EPOCH_S, 1_000_000)):
        rows = left & _matches(text, pattern)
        if not rows.any():
            continue
        where, values = _subset(text, rows)
        reading.instant[where] = _ints(values.cast(pa.int64())) * scale
        reading.is_instant[where] = True
        left[where] = False


def _group(parts: pa.StructArray, name: str, default: int) -> Ints:
    names = {parts.type.field(i).name for i in range(parts.type.num_fields)}
    if name not in names:
        return np.full(len(parts), default, dtype=np.int64)
    column = parts.field(name)
    blank = pc.equal(column, _EMPTY)
    return _ints(pc.if_else(blank, pa.scalar(None, pa.string()), column).cast(pa.int64()))


def _has_group(parts: pa.StructArray, name: str) -> bool:
    return any(parts.type.field(i).name == name for i in range(parts.type.num_fields))


def _wall_clock(parts: pa.StructArray) -> tuple[Mask, Ints, tuple[Ints, Mask] | None]:
    """Validity, wall-clock µs and (offset µs, has offset) of extracted date-time parts."""
    if _has_group(parts, "yy"):
        short = _group(parts, "yy", 0)
        year = np.where(short < 69, 2000 + short, 1900 + short)
    else:
        year = _group(parts, "y", 0)
    month, day = _group(parts, "m", 0), _group(parts, "d", 0)
    hour, minute, second = _group(parts, "H", 0), _group(parts, "M", 0), _group(parts, "S", 0)
    micros = np.zeros(len(parts), dtype=np.int64)
    if _has_group(parts, "f"):
        fraction = parts.field("f")
        padded = pc.utf8_rpad(pc.utf8_slice_codeunits(fraction, 0, 6), width=6, padding="0")
        micros = _ints(padded.cast(pa.int64()))
    valid, wall = _compose(year, month, day, hour, minute, second, micros)
    if not _has_group(parts, "z"):
        return valid, wall, None
    zone = pc.replace_substring(parts.field("z"), pattern=":", replacement="")
    has_offset = _mask(pc.not_equal(zone, _EMPTY))
    utc = _mask(pc.equal(zone, pa.scalar("Z", pa.string())))
    numeric = pc.if_else(pa.array(has_offset & ~utc), zone, pa.scalar("+0000", pa.string()))
    hours = _ints(pc.utf8_slice_codeunits(numeric, 1, 3).cast(pa.int64()))
    tail = pc.utf8_slice_codeunits(numeric, 3, 5)
    minutes = _ints(
        pc.if_else(pc.equal(tail, _EMPTY), pa.scalar("0", pa.string()), tail).cast(pa.int64())
    )
    sign = np.where(_mask(pc.starts_with(numeric, "-")), -1, 1)
    valid &= (hours <= 14) & (minutes <= 59)
    offset = sign * (hours * 60 + minutes) * 60_000_000
    return valid, wall, (offset, has_offset)


def _local_to_utc(wall: Ints, options: ParseOptions) -> Ints:
    if options.timezone == "UTC" or wall.size == 0:
        return wall
    naive = pa.array(wall, pa.timestamp("us"))
    aware = pc.assume_timezone(
        naive, timezone=options.timezone, ambiguous="earliest", nonexistent="earliest"
    )
    return _ints(aware.cast(pa.int64()))


def _utc_to_local(instant: Ints, options: ParseOptions) -> Ints:
    if options.timezone == "UTC" or instant.size == 0:
        return instant
    aware = pa.array(instant, pa.timestamp("us", tz=options.timezone))
    return _ints(pc.local_timestamp(aware).cast(pa.int64()))


def _finish(
    reading: _Reading, data_type: FieldType, options: ParseOptions
) -> tuple[pa.Array, Mask]:
    ok = reading.is_wall | reading.is_instant
    if data_type is FieldType.DATE:
        wall = reading.wall
        if reading.is_instant.any():
            rows = np.flatnonzero(reading.is_instant)
            wall = wall.copy()
            wall[rows] = _utc_to_local(reading.instant[rows], options)
        days = np.floor_divide(wall, _US_PER_DAY)
        bounded = (days >= _FIRST_DAY) & (days <= 2932896)  # years 1-9999
        reading.failed |= ok & ~bounded
        ok &= bounded
        values = pa.array(np.where(ok, days, 0).astype(np.int32), pa.date32(), mask=~ok)
        return values, reading.failed
    instant = reading.instant
    if reading.is_wall.any():
        rows = np.flatnonzero(reading.is_wall)
        instant = instant.copy()
        instant[rows] = _local_to_utc(reading.wall[rows], options)
    values = pa.array(instant, pa.timestamp("us", tz="UTC"), mask=~ok)
    return values, reading.failed
