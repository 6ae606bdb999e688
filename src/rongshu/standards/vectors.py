"""The costliest standards a third way: compiled kernels over a column's bytes.

The ID number and credit-code checks are a weighted sum over 17 characters plus a date and a
table lookup: in SQL that is dozens of string functions a row, the bulk of a quality run. Here
a kernel (``rongshu.core.kernels``) walks the column's Arrow offsets and UTF-8 bytes once and
writes each row's verdict, tens of nanoseconds a row without the GIL. A quality run adds these
columns to the scan before the lake engine's query reads them; any other use runs the SQL
forms. Verdicts are the same as ``check`` and ``sql`` give (the property tests run all three
over every kind of input). This module holds what the standards' kernels share.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rongshu.core.kernels import inlined

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Bytes = npt.NDArray[np.uint8]
#: Whole numbers: arrays of them in NumPy code, single ones inside a kernel.
Whole = TypeVar("Whole", int, Ints)

_DIGIT_0 = ord("0")
_NOT_DIGITS = -1


def plain_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``values`` as one ``string`` array (not chunked, large, view or dictionary-encoded)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if values.type != pa.string():
        values = values.cast(pa.string())
    return values


def utf8_bytes(values: pa.Array) -> tuple[Ints, Bytes]:
    """Offsets (one more than rows) into the UTF-8 bytes of a ``string`` array, without copying.

    Null cells usually have no bytes, but Arrow allows any: callers treat them as unknown.
    """
    offsets_buffer, data_buffer = values.buffers()[1], values.buffers()[2]
    if offsets_buffer is None or len(values) == 0:
        return np.zeros(len(values) + 1, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int32, count=len(values) + 1, offset=4 * values.offset
    ).astype(np.int64)
    if data_buffer is None:
        return offsets, np.zeros(0, dtype=np.uint8)
    return offsets, np.frombuffer(data_buffer, dtype=np.uint8)


def valid_cells(values: pa.Array) -> Mask:
    """Which cells hold a value (not null), from the validity bitmap."""
    if values.null_count == 0:
        return np.ones(len(values), dtype=bool)
    if values.null_count == len(values) or values.buffers()[0] is None:
        return np.zeros(len(values), dtype=bool)
    bits = np.frombuffer(values.buffers()[0], dtype=np.uint8)
    unpacked = np.unpackbits(bits, bitorder="little")
    cells: Mask = unpacked[values.offset : values.offset + len(values)].astype(bool)
    return cells


def text_buffers(values: pa.Array | pa.ChunkedArray) -> tuple[Ints, Bytes, Mask]:
    """What a kernel reads of a text column: its offsets, UTF-8 bytes and valid cells."""
    text = plain_text(values)
    offsets, data = utf8_bytes(text)
    return offsets, data, valid_cells(text)


def today_number() -> int:
    """Today (UTC, as the SQL forms' ``CURRENT_DATE``) as the integer ``YYYYMMDD``."""
    now = datetime.now(UTC).date()
    return now.year * 10000 + now.month * 100 + now.day


def reasons(codes: npt.NDArray[np.int8], names: Sequence[str | None]) -> pa.Array:
    """The reason text of each row from its index into ``names`` (index 0: ok, NULL)."""
    return pc.take(pa.array(list(names), pa.string()), pa.array(codes))


# -- kernel parts, pasted into each standard's kernel -------------------------------------------


@inlined
def char_count(data: Bytes, start: int, end: int) -> int:
    """Characters of the UTF-8 bytes ``data[start:end]`` (every byte but continuation bytes)."""
    count = 0
    for at in range(start, end):
        if data[at] & 0xC0 != 0x80:
            count += 1
    return count


@inlined
def digits_value(data: Bytes, start: int, count: int) -> int:
    """The number the ``count`` ASCII digits at ``start`` spell; ``_NOT_DIGITS`` if any byte is
    no digit."""
    value = 0
    for at in range(start, start + count):
        digit = int(data[at]) - _DIGIT_0
        if digit < 0 or digit > 9:
            return _NOT_DIGITS
        value = value * 10 + digit
    return value


_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def days_in_month(year: Whole, month: Whole) -> Whole:
    """Days in (year, month 1-12) of the proleptic Gregorian calendar: of arrays of them, or
    of single numbers in a kernel (``month_days``)."""
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days: Whole = _MONTH_DAYS[month - 1] + ((month == 2) & leap)
    return days


def days_from_civil(year: Whole, month: Whole, day: Whole) -> Whole:
    """Days since 1970-01-01 of dates (H. Hinnant's algorithm): of arrays of them, or of
    single numbers in a kernel (``civil_days``)."""
    year = year - (month <= 2)
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days: Whole = era * 146097 + day_of_era - 719468
    return days


month_days = inlined(days_in_month)
civil_days = inlined(days_from_civil)


@inlined
def is_real_date(year: int, month: int, day: int) -> bool:
    """Whether (year, month, day) names a day of the proleptic Gregorian calendar."""
    return 1 <= month <= 12 and 1 <= day <= month_days(year, month)
