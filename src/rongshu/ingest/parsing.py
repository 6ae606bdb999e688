"""Typed values from source cells, vectorised: numbers, booleans, and (through ``dates``) dates
and date-times.

``parse`` turns one source column (any Arrow type) into the Arrow type of a catalog field and
says which cells held a value that could not be read (``Parsed.failed``). Missing cells are null
and not failed; whether a field may be missing is the mapper's business.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rongshu.catalog.schemas import FieldType
from rongshu.ingest.dates import ParseOptions, convert_dates, format_pattern, read_dates
from rongshu.ingest.normalise import DEFAULT_STEPS, apply_steps, fullwidth_rows
from rongshu.lake.schema import FIELD_ARROW_TYPES
from rongshu.standards.vectors import utf8_bytes

__all__ = [
    "ARROW_TYPES",
    "DATE_FORM_REASON",
    "FULLWIDTH_REASON",
    "Mask",
    "REASONS",
    "ParseOptions",
    "Parsed",
    "format_pattern",
    "parse",
    "text_of",
]

Mask = npt.NDArray[np.bool_]

#: Arrow type of each catalog field type: the lake's (decimal kept as float64 for now).
ARROW_TYPES = FIELD_ARROW_TYPES

#: Why a cell of each type could not be read, in Chinese and English.
REASONS: dict[FieldType, str] = {
    FieldType.INTEGER: "整数无法识别 (not an integer)",
    FieldType.DECIMAL: "数值无法识别 (not a number)",
    FieldType.DATE: "日期无法识别 (unrecognised date)",
    FieldType.DATETIME: "日期时间无法识别 (unrecognised date-time)",
    FieldType.BOOLEAN: "布尔值无法识别 (not a boolean)",
    FieldType.STRING: "文本无法识别 (unreadable text)",
    FieldType.BINARY: "二进制值无法识别 (unreadable binary value)",
}

TRUE_WORDS = ("是", "真", "对", "有", "√", "y", "yes", "t", "true", "1", "on")
FALSE_WORDS = ("否", "假", "错", "无", "×", "n", "no", "f", "false", "0", "off")

_FALSE = pa.scalar(False, pa.bool_())
_INTEGER = r"^-?\d{1,19}$"
_INTEGER_LOOSE = r"^(?:\+|(-))?(\d{1,3}(?:,\d{3})+|\d+)(?:\.0*)?$"
_DECIMAL = r"^[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


#: Why a cell was read only after a repair (a 问题数据 the source should fix, though kept).
FULLWIDTH_REASON = "全角字符 (full-width characters)"
DATE_FORM_REASON = "日期格式不规范 (date not written YYYY-MM-DD)"


class Parsed(NamedTuple):
    """A column in its field's Arrow type, which cells held an unreadable value, and which
    were read only after a repair, with the reason (``repairs``: pairs of mask and reason)."""

    values: pa.Array
    failed: Mask
    repairs: tuple[tuple[Mask, str], ...] = ()


def parse(
    source: pa.Array,
    data_type: FieldType,
    *,
    steps: tuple[str, ...] = DEFAULT_STEPS,
    options: ParseOptions = ParseOptions(),  # noqa: B008 - frozen dataclass
) -> Parsed:
    """``source`` in the Arrow type of ``data_type``; ``steps`` normalise text first."""
    target = ARROW_TYPES[data_type]
    count = len(source)
    kind = source.type
    if pa.types.is_dictionary(kind):
        source = source.dictionary_decode()
        kind = source.type
    if pa.types.is_null(kind) or source.null_count == count:
        return Parsed(pa.nulls(count, target), np.zeros(count, dtype=bool))
    if data_type is FieldType.BINARY:
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            return Parsed(source.cast(pa.binary()), np.zeros(count, dtype=bool))
        return Parsed(text_of(source).cast(pa.binary()), np.zeros(count, dtype=bool))
    if data_type is FieldType.STRING:
        text = text_of(source)
        repairs = _fullwidth(text) if "halfwidth" in steps else ()
        return Parsed(apply_steps(text, steps), np.zeros(count, dtype=bool), repairs)
    if _is_text(kind):
        text = apply_steps(source, (*DEFAULT_STEPS, *steps))
        parsed = _parse_text(text, data_type, options, serial_allowed=options.excel_serial)
        return parsed._replace(repairs=_fullwidth(source) + parsed.repairs)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _parse_number(source, data_type, options)
    if pa.types.is_boolean(kind) and data_type in (FieldType.BOOLEAN, FieldType.INTEGER):
        return Parsed(source.cast(target), np.zeros(count, dtype=bool))
    temporal = pa.types.is_timestamp(kind) or pa.types.is_date(kind)
    if temporal and data_type in (FieldType.DATE, FieldType.DATETIME):
        return Parsed(*convert_dates(source, data_type, options))
    return _parse_text(text_of(source), data_type, options, serial_allowed=False)


def text_of(values: pa.Array) -> pa.Array:
    """Any column as text; whole floats without ``.0`` (a code read as 350104.0 is 350104)."""
    kind = values.type
    if pa.types.is_dictionary(kind):
        values = values.dictionary_decode()
        kind = values.type
    if pa.types.is_floating(kind):
        whole = pc.and_(pc.is_finite(values), pc.equal(pc.floor(values), values))
        in_range = pc.less(pc.abs(values), 2.0**53)
        as_int = pc.and_(whole, in_range)
        if pc.any(as_int).as_py():
            integers = pc.if_else(as_int, values, 0.0).cast(pa.int64()).cast(pa.string())
            return pc.if_else(as_int, integers, values.cast(pa.string()))
    return values.cast(pa.string())  # bytes that are not UTF-8 raise: the connector decodes


def _is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _present(values: pa.Array) -> Mask:
    return np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _mask(values: pa.Array) -> Mask:
    return np.asarray(values.fill_null(_FALSE).to_numpy(zero_copy_only=False), dtype=bool)


def _has_byte(text: pa.Array, chars: bytes) -> bool:
    """Whether any cell of a string array (null cells' bytes too) holds one of ``chars``."""
    offsets, data = utf8_bytes(text)
    cells = data[offsets[0] : offsets[-1]]
    return any(bool((cells == char).any()) for char in chars)


def _matches(text: pa.Array, pattern: str) -> Mask:
    return _mask(pc.match_substring_regex(text, pattern=pattern))


def _subset(text: pa.Array, rows: Mask) -> tuple[npt.NDArray[np.intp], pa.Array]:
    where = np.flatnonzero(rows)
    return where, text.take(pa.array(where))


def _parse_text(
    text: pa.Array, data_type: FieldType, options: ParseOptions, *, serial_allowed: bool | None
) -> Parsed:
    if data_type is FieldType.INTEGER:
        return _text_integer(text)
    if data_type is FieldType.DECIMAL:
        return _text_decimal(text)
    if data_type is FieldType.BOOLEAN:
        return _text_boolean(text)
    return _dates(read_dates(text, data_type, options, serial_allowed=serial_allowed))


def _dates(read: tuple[pa.Array, Mask, Mask]) -> Parsed:
    values, failed, other_form = read
    return Parsed(values, failed, ((other_form, DATE_FORM_REASON),) if other_form.any() else ())


def _fullwidth(text: pa.Array) -> tuple[tuple[Mask, str], ...]:
    """The cells holding full-width forms that ``halfwidth`` turns into ASCII, if any."""
    rows = fullwidth_rows(text)
    return ((rows, FULLWIDTH_REASON),) if rows is not None else ()


def _text_integer(text: pa.Array) -> Parsed:
    # Arrow's own reader is strict decimal digits, except that it also reads hex (0x10).
    if not _has_byte(text, b"xX"):
        try:
            return Parsed(text.cast(pa.int64()), np.zeros(len(text), dtype=bool))
        except pa.ArrowInvalid:
            pass
    present = _present(text)
    loose = _matches(text, _INTEGER_LOOSE)
    cleaned = pc.replace_substring(
        pc.replace_substring_regex(text, pattern=_INTEGER_LOOSE, replacement=r"\1\2"),
        pattern=",",
        replacement="",
    )
    good = loose & _matches(cleaned, _INTEGER) & _fits_int64(cleaned)
    values = pc.if_else(pa.array(good), cleaned, pa.scalar(None, pa.string())).cast(pa.int64())
    return Parsed(values, present & ~good)


def _fits_int64(digits: pa.Array) -> Mask:
    """Whether each signed digit string is within int64 (same length compares as text)."""
    negative = _mask(pc.starts_with(digits, "-"))
    magnitude = pc.utf8_ltrim(digits, characters="-")
    long = _mask(pc.equal(pc.utf8_length(magnitude), 19))
    if not long.any():
        return np.ones(len(digits), dtype=bool)
    limit = pa.array(np.where(negative, "9223372036854775808", "9223372036854775807"))
    return ~long | _mask(pc.less_equal(magnitude, limit))


def _text_decimal(text: pa.Array) -> Parsed:
    present = _present(text)
    candidates = text
    refused = np.zeros(len(text), dtype=bool)
    no_commas = not _has_byte(text, b",")
    commas = np.zeros(len(text), dtype=bool) if no_commas else _mask(pc.match_substring(text, ","))
    if commas.any():  # thousands separators: only where they are in the right places
        where, grouped = _subset(text, commas)
        ok = _matches(grouped, _DECIMAL)
        refused[where[~ok]] = True
        stripped = pc.if_else(
            pa.array(ok),
            pc.replace_substring(grouped, pattern=",", replacement=""),
            pa.scalar(None, pa.string()),
        )
        candidates = pc.replace_with_mask(text, pa.array(commas), stripped)
    try:
        values = candidates.cast(pa.float64())  # Arrow reads what _DECIMAL does, and nan/inf
        good = present & ~refused
    except pa.ArrowInvalid:
        good = _matches(text, _DECIMAL)
        cleaned = pc.replace_substring(text, pattern=",", replacement="")
        values = pc.if_else(pa.array(good), cleaned, pa.scalar(None, pa.string()))
        values = values.cast(pa.float64())
    finite = _mask(pc.is_finite(values))
    if not (finite | ~good).all():
        good &= finite
        values = pc.if_else(pa.array(good), values, pa.scalar(None, pa.float64()))
    return Parsed(values, present & ~good)


def _text_boolean(text: pa.Array) -> Parsed:
    lowered = pc.utf8_lower(text)
    true = _mask(pc.is_in(lowered, value_set=pa.array(TRUE_WORDS)))
    false = _mask(pc.is_in(lowered, value_set=pa.array(FALSE_WORDS)))
    good = true | false
    return Parsed(pa.array(true, mask=~good), _present(text) & ~good)


def _parse_number(source: pa.Array, data_type: FieldType, options: ParseOptions) -> Parsed:
    count = len(source)
    none = np.zeros(count, dtype=bool)
    if data_type is FieldType.DECIMAL:
        values = source.cast(pa.float64())
        bad = _present(values) & ~_mask(pc.is_finite(values))
        if bad.any():
            values = pc.if_else(pa.array(bad), pa.scalar(None, pa.float64()), values)
        return Parsed(values, bad)
    if data_type is FieldType.INTEGER:
        if pa.types.is_integer(source.type):
            try:
                return Parsed(source.cast(pa.int64()), none)
            except pa.ArrowInvalid:  # uint64 above the int64 range
                pass
        return _text_integer(text_of(source))
    if data_type is FieldType.BOOLEAN:
        return _text_boolean(text_of(source))
    # Dates from numbers: a numeric column holds serials or epochs, never ambiguous text.
    serial = options.excel_serial is not False
    return _dates(read_dates(text_of(source), data_type, options, serial_allowed=serial))
