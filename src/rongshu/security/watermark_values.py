"""Values as the watermark reads them: a cell's canonical text whatever CSV or Excel made of it
(``"0012"``, ``12.0`` from Excel or a re-typed date name the same value), the grid a number sits
on, and the small Arrow-to-numpy helpers that marking and tracing share.

Canonical forms give rows their identity when a table is marked (``rongshu.security.watermark``)
and align a leaked file's rows with the original's (``rongshu.security.watermark_trace``).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rongshu.core.errors import ValidationFailed

__all__ = [
    "MAX_FLOAT_SCALE",
    "SEPARATOR",
    "Codes",
    "Digests",
    "Floats",
    "Mask",
    "all_blank",
    "as_counts",
    "as_floats",
    "as_mask",
    "canonical",
    "canonical_text",
    "comparable",
    "decimal_units",
    "decoded",
    "float_scale",
    "holds_scale",
    "identifies",
    "is_decimal",
    "is_number",
    "is_text",
    "parse_numbers",
    "plain_text",
    "scale_of",
    "unique_rows",
    "value_type",
]

# As numpy: a flag per row, numbers as float64, a code per cell (+1 or -1 for a mark's
# direction), a 16-byte identity digest per row.
Mask = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Codes = npt.NDArray[np.int8]
Digests = npt.NDArray[np.uint8]

#: Separator of a row's key values in its identity (ASCII unit separator).
SEPARATOR: Final = "\x1f"
#: The most decimals a float column's scale may have.
MAX_FLOAT_SCALE: Final = 6
_NUMBER: Final = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_DATE: Final = r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})"
_TIME: Final = r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"


# --- canonical forms: the same value whatever CSV or Excel made of it -------------------------


def canonical(values: pa.ChunkedArray | pa.Array, scale: int) -> pa.Array:
    """A typed column as canonical text ("" for null), for row identities and alignment."""
    values = decoded(values)
    kind = values.type
    if is_text(kind):
        text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_date(kind):
        text = values.cast(pa.string())
    elif pa.types.is_floating(kind) or is_decimal(kind):
        text = _grid_text(as_floats(values), scale)
    elif pa.types.is_timestamp(kind):
        text = pc.strftime(values, format="%Y-%m-%d %H:%M:%S")
    else:
        raise ValidationFailed(
            f"a column of type {kind} cannot identify rows",
            details=[{"field": "key_columns", "value": str(kind)}],
        )
    return pc.fill_null(text, "")


def canonical_text(text: pa.ChunkedArray, kind: pa.DataType, scale: int) -> pa.Array:
    """Leaked text in the canonical form of an original column of type ``kind``."""
    seen = pc.utf8_trim_whitespace(plain_text(text))
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_integer(kind):
        digits = pc.match_substring_regex(seen, r"^[+-]?\d{1,18}$")
        exact = pc.if_else(digits, seen, pa.scalar(None, pa.string())).cast(pa.int64())
        out = pc.coalesce(exact.cast(pa.string()), _grid_text(parse_numbers(seen), 0))
    elif pa.types.is_floating(kind) or is_decimal(kind):
        out = _grid_text(parse_numbers(seen), scale)
    elif pa.types.is_boolean(kind):
        out = pc.utf8_lower(seen)
    elif pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        out = _date_text(seen, with_time=pa.types.is_timestamp(kind))
    else:
        out = seen
    return pc.fill_null(out, "")


def _grid_text(numbers: Floats, scale: int) -> pa.Array:
    """Numbers as their integer count of units at ``scale`` ("12.50" and 12.5 give "1250")."""
    finite = np.isfinite(numbers)
    with np.errstate(invalid="ignore", over="ignore"):
        units = np.rint(np.where(finite, numbers, 0.0) * 10.0**scale)
    fits = finite & (np.abs(units) < 2.0**62)
    return pa.array(np.where(fits, units, 0).astype(np.int64), mask=~fits).cast(pa.string())


def _date_text(seen: pa.Array, *, with_time: bool) -> pa.Array:
    parts = pc.extract_regex(seen, _DATE + (_TIME if with_time else ""))
    pieces = [parts.field("y")] + [pc.utf8_lpad(parts.field(name), 2, "0") for name in ("m", "d")]
    day = pc.binary_join_element_wise(*pieces, "-")
    if not with_time:
        return day
    clock = [
        pc.utf8_lpad(pc.if_else(pc.equal(parts.field(n), ""), "0", parts.field(n)), 2, "0")
        for n in ("H", "M", "S")
    ]
    return pc.binary_join_element_wise(day, pc.binary_join_element_wise(*clock, ":"), " ")


def parse_numbers(text: pa.Array) -> Floats:
    """Text as float64, NaN where it is not a plain number (thousands separators allowed)."""
    bare = pc.replace_substring(pc.utf8_trim_whitespace(text), ",", "")
    numeric = pc.match_substring_regex(bare, _NUMBER)
    return as_floats(pc.if_else(numeric, bare, pa.scalar(None, pa.string())).cast(pa.float64()))


# --- the grid of a number column --------------------------------------------------------------


def scale_of(values: pa.ChunkedArray) -> int:
    """A column's scale: a decimal's, the fewest decimals that hold a float column, else 0."""
    kind = values.type
    if is_decimal(kind):
        return int(kind.scale)
    if pa.types.is_floating(kind):
        numbers = as_floats(values.combine_chunks())
        return float_scale(numbers[np.isfinite(numbers)], kind)[0]
    return 0


def holds_scale(finite: Floats, kind: pa.DataType, scale: int) -> bool:
    """Whether ``scale`` decimals hold every value.

    The slack is a few units in the last place of the column's own type: a float32 123.4 is
    123.40000153 as a float64, and still has one decimal.
    """
    eps = np.finfo(kind.to_pandas_dtype()).eps
    shifted = finite * 10.0**scale
    slack = 1e-9 + 4 * eps * np.abs(shifted)
    return bool(np.all(np.abs(shifted - np.rint(shifted)) <= slack))


def float_scale(finite: Floats, kind: pa.DataType) -> tuple[int, bool]:
    """The fewest decimals (up to 6) that hold every value, and whether any number does."""
    for scale in range(MAX_FLOAT_SCALE + 1):
        if holds_scale(finite, kind, scale):
            return scale, True
    return MAX_FLOAT_SCALE, False


def decimal_units(values: pa.Array) -> npt.NDArray[np.int64] | None:
    """A decimal column's unscaled integers, or None when one does not fit 64 bits."""
    wide = values.cast(pa.decimal128(38, values.type.scale))
    if len(wide) == 0:
        return np.zeros(0, dtype=np.int64)
    start = 2 * wide.offset
    words = np.frombuffer(wide.buffers()[1], dtype="<i8")[start : start + 2 * len(wide)]
    low, high = words[0::2], words[1::2]
    fits = (high == (low >> 63)) | ~as_mask(wide.is_valid())
    return np.where(as_mask(wide.is_valid()), low, 0) if fits.all() else None


# --- small Arrow helpers ----------------------------------------------------------------------


def is_decimal(kind: pa.DataType) -> bool:
    """Whether ``kind`` is a decimal the watermark handles (up to 38 digits)."""
    return bool(pa.types.is_decimal(kind)) and (
        not pa.types.is_decimal256(kind) or kind.precision <= 38
    )


def is_text(kind: pa.DataType) -> bool:
    """Whether ``kind`` holds text."""
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def comparable(values: pa.ChunkedArray) -> bool:
    """Whether a column can align rows (it has a canonical text form)."""
    return identifies(value_type(values.type))


def identifies(kind: pa.DataType) -> bool:
    """Whether values of ``kind`` have a canonical text form (may be key columns)."""
    return bool(
        is_text(kind)
        or is_number(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_date(kind)
        or pa.types.is_timestamp(kind)
    )


def is_number(kind: pa.DataType) -> bool:
    """Whether ``kind`` holds numbers (integers, floats, decimals)."""
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or is_decimal(kind))


def value_type(kind: pa.DataType) -> pa.DataType:
    """A dictionary column's value type; any other type as it is."""
    return kind.value_type if pa.types.is_dictionary(kind) else kind


def decoded(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One array of plain values (chunks combined, a dictionary decoded)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values


def as_floats(values: pa.Array) -> Floats:
    """Any numeric column as float64, NaN where null."""
    cast = pc.cast(values, pa.float64(), safe=False)
    return np.asarray(pc.fill_null(cast, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)


def plain_text(text: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Any column as plain text (chunks combined, a dictionary decoded)."""
    return decoded(text).cast(pa.string())


def as_mask(mask: Any) -> Mask:
    """A boolean Arrow array as numpy, null counting as False."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def as_counts(values: pa.Array) -> npt.NDArray[np.int64]:
    """Integers as numpy, null counting as 0."""
    return np.asarray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def unique_rows(identities: pa.Array) -> Mask:
    """Rows whose identity no other row shares."""
    counts = pc.value_counts(identities)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return np.ones(len(identities), dtype=bool)
    return ~as_mask(pc.is_in(identities, value_set=repeated))


def all_blank(parts: list[pa.Array]) -> Mask:
    """Rows where every one of ``parts`` (canonical texts) is empty."""
    blank = np.ones(len(parts[0]), dtype=bool)
    for part in parts:
        blank &= as_mask(pc.equal(part, ""))
    return blank
