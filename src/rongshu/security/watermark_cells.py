"""A watermark's cells: which cells of a markable column may carry a mark, which of them a
recipient's key chooses and which way each moves, and the marked values.

A marked number moves by one unit of its column's grid, a marked text gains one invisible
character after its first (``rongshu.security.watermark`` says why both are harmless). The
choices are a keyed pseudo-random function of (row, column): SM4 under a key derived from the
recipient's, over each row's SM3 identity digest XOR a tweak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from rongshu.core.crypto import hmac_sm3, sm3
from rongshu.core.errors import ValidationFailed
from rongshu.security.watermark_values import (
    MAX_FLOAT_SCALE,
    Codes,
    Digests,
    Floats,
    Mask,
    as_floats,
    as_mask,
    decimal_units,
    decoded,
    holds_scale,
    is_decimal,
    is_text,
)

__all__ = [
    "MARK_CHARS",
    "MARK_DOWN",
    "MARK_UP",
    "ColumnChange",
    "FloatGrid",
    "MarkableCells",
    "MarkableColumn",
    "derive_key",
    "directions",
    "eligible_counts",
    "fixed_scale",
    "mark_column",
    "markable_cells",
    "min_units",
    "selected_rows",
]

_SCHEME: Final = b"rongshu/watermark/v1"
_ROW_TWEAK: Final = sm3(_SCHEME + b"/row")[:16]
#: The invisible characters that mark a text cell, one for each direction.
MARK_UP: Final = "\u2060"  # WORD JOINER
MARK_DOWN: Final = "\u200b"  # ZERO WIDTH SPACE
#: Either mark character, as a regular expression.
MARK_CHARS: Final = "[\u200b\u2060]"


@dataclass(frozen=True)
class ColumnChange:
    """How much the watermark changed one column."""

    name: str
    kind: str  # "number" or "text"
    unit: float | None  # the step of a marked number; None for text (one invisible character)
    cells_marked: int
    max_absolute_change: float | None
    max_relative_change: float | None
    sum_change: float | None  # the column total's net shift


@dataclass(frozen=True)
class MarkableColumn:
    """A markable column as the whole table fixes it: text or number, and a number's grid."""

    name: str
    text: bool
    scale: int  # a marked number moves by 10 ** -scale
    exact: bool  # the values sit on the unit grid, so marked ones are written back on it
    usable: bool  # False when a decimal value somewhere is beyond 64 bits: nothing is marked


@dataclass(frozen=True)
class MarkableCells:
    """One markable column of some rows (a batch, or the whole table): the cells a mark may
    go into."""

    name: str
    text: bool
    scale: int
    exact: bool
    values: Floats  # as float64, NaN where null (numbers only)
    original: pa.Array
    eligible: Mask


# --- which cells may carry a mark -------------------------------------------------------------


def min_units(max_relative_change: float) -> float:
    """The fewest units a number must hold for a one-unit move to stay within the limit."""
    return max(2.0, 1.0 / max_relative_change)


class FloatGrid:
    """A float column's scale, found over batches: the fewest decimals (up to 6) that hold every
    value of every batch. Each batch strikes the scales it does not fit, so the answer is the
    one a single look at the whole column gives."""

    def __init__(self, kind: pa.DataType) -> None:
        self._kind = kind
        self._candidates = list(range(MAX_FLOAT_SCALE + 1))
        self._settled = False
        self.scale, self.exact = MAX_FLOAT_SCALE, False

    def add(self, values: pa.Array) -> None:
        """Strike the scales that do not hold every value of ``values`` (one batch)."""
        numbers = as_floats(decoded(values))
        finite = numbers[np.isfinite(numbers)]
        self._candidates = [s for s in self._candidates if holds_scale(finite, self._kind, s)]

    def open_scales(self) -> list[int]:
        """The scales the column may still turn out to have (the largest when none holds)."""
        if self._settled:
            return [self.scale]
        return sorted({*self._candidates, MAX_FLOAT_SCALE})

    def settle(self) -> None:
        """Fix the scale once every batch is in: the fewest decimals left, else the most."""
        if self._candidates:
            self.scale, self.exact = self._candidates[0], True
        self._settled = True


def fixed_scale(kind: pa.DataType) -> int:
    """The scale of a type whose values sit on one grid: a decimal's, else 0."""
    return int(kind.scale) if is_decimal(kind) else 0


def eligible_counts(
    values: pa.Array, keyed: Mask, scales: Sequence[int], floor: float
) -> list[int]:
    """How many of ``values`` may carry a mark on the grid of each of ``scales``."""
    original = decoded(values)
    if is_text(original.type):
        return [int((keyed & _fillable(original.cast(pa.string()))).sum())]
    numbers = as_floats(original)
    return [int((keyed & _fits_a_mark(original, numbers, s, floor)).sum()) for s in scales]


def markable_cells(
    column: MarkableColumn, values: pa.Array | pa.ChunkedArray, keyed: Mask, floor: float
) -> MarkableCells:
    """The cells of ``values`` (rows of ``column``) a mark may go into."""
    original = decoded(values)
    if column.text:
        text = original.cast(pa.string())
        return MarkableCells(column.name, True, 0, True, np.empty(0), text, keyed & _fillable(text))
    numbers = as_floats(original)
    eligible = keyed & _fits_a_mark(original, numbers, column.scale, floor) & column.usable
    return MarkableCells(
        column.name, False, column.scale, column.exact, numbers, original, eligible
    )


def _fillable(text: pa.Array) -> Mask:
    """Text with something in it and no mark character already."""
    clean = pc.invert(pc.match_substring_regex(text, MARK_CHARS))
    filled = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)
    return as_mask(pc.and_(clean, filled))


def _fits_a_mark(original: pa.Array, numbers: Floats, scale: int, floor: float) -> Mask:
    """Numbers that a one-unit move at ``scale`` changes by at most 1/``floor`` of themselves,
    and keeps within the type's precision."""
    present = np.isfinite(numbers)
    size, ceiling = _sizes(original, numbers, present, scale)
    return present & (size >= floor) & (size <= ceiling)


def _sizes(
    values: pa.Array, numbers: Floats, present: Mask, scale: int
) -> tuple[npt.NDArray[Any], float]:
    """Each value's size in units of ``scale``, and the largest size a one-unit move keeps
    within the type's precision."""
    kind = values.type
    if is_decimal(kind):
        units = decimal_units(values)
        if units is None:  # beyond 64 bits: too rare to be worth a mark
            return np.zeros(len(numbers)), -1.0
        return np.abs(units), 10 ** min(kind.precision, 18) - 2
    size = np.abs(np.where(present, numbers, 0.0))
    if pa.types.is_integer(kind):
        return size, min(2.0**50, float(np.iinfo(kind.to_pandas_dtype()).max) - 1)
    return size * 10.0**scale, 2.0 ** (np.finfo(kind.to_pandas_dtype()).nmant - 2)


# --- the keyed choices ------------------------------------------------------------------------


def derive_key(key: bytes) -> bytes:
    """The recipient's SM4 key, derived from its watermark key."""
    if len(key) < 16:
        raise ValidationFailed("a recipient key must be at least 16 bytes")
    return hmac_sm3(key, _SCHEME)[:16]


def _prf(derived: bytes, digests: Digests, tweak: bytes) -> npt.NDArray[np.uint64]:
    """SM4 under the recipient's derived key of each digest XOR a tweak, as 64-bit numbers.

    ECB is right here: each block is an independent PRF input, nothing is being encrypted.
    """
    blocks = np.bitwise_xor(digests, np.frombuffer(tweak, dtype=np.uint8))
    encryptor = Cipher(algorithms.SM4(derived), modes.ECB()).encryptor()  # noqa: S305
    output = encryptor.update(blocks.tobytes()) + encryptor.finalize()
    return np.frombuffer(output, dtype="<u8")[0::2]


def selected_rows(derived: bytes, digests: Digests, rate: float) -> Mask:
    """Which rows the recipient's key marks: a share ``rate`` of them."""
    if rate >= 1.0:
        return np.ones(len(digests), dtype=bool)
    return _prf(derived, digests, _ROW_TWEAK) < np.uint64(int(rate * 2.0**64))


def directions(derived: bytes, digests: Digests, column: str) -> Codes:
    """Per row, the way the recipient's key moves its cell of ``column``: +1 or -1."""
    tweak = sm3(_SCHEME + b"/column/" + column.encode("utf-8"))[:16]
    bits = _prf(derived, digests, tweak) & np.uint64(1)
    return np.where(bits == 1, 1, -1).astype(np.int8)


# --- marking ----------------------------------------------------------------------------------


def mark_column(
    column: MarkableCells, kind: pa.DataType, marked: Mask, signs: Codes
) -> tuple[pa.Array, ColumnChange]:
    """``column``'s cells with the ``marked`` ones moved one unit (or given a mark
    character) in the direction of ``signs``, and what that changed."""
    count = int(marked.sum())
    if column.text:
        chars = pc.if_else(pa.array(signs > 0), MARK_UP, MARK_DOWN)
        head = pc.utf8_slice_codeunits(column.original, 0, 1)
        tail = pc.utf8_slice_codeunits(column.original, 1)
        joined = pc.binary_join_element_wise(head, chars, tail, "")
        new = pc.if_else(pa.array(marked), joined, column.original)
        change = ColumnChange(column.name, "text", None, count, None, None, None)
        return new.cast(kind), change
    steps = np.where(marked, signs, 0).astype(np.int64)
    nulls = as_mask(column.original.is_null())
    if is_decimal(kind):
        new = _shift_decimal(column.original, steps)
    elif pa.types.is_integer(kind):
        whole = np.where(nulls, 0, column.values).astype(np.int64) + steps
        new = pa.array(whole, mask=nulls).cast(kind)
    else:
        grid = 10.0**column.scale
        if column.exact:
            shifted = (np.rint(column.values * grid) + steps) / grid
        else:
            shifted = column.values + steps / grid
        new = pa.array(np.where(marked, shifted, column.values), mask=nulls).cast(kind)
    # Measured on the column's grid, in units, so float noise does not blur the figures.
    before = column.values[marked]
    moved = (as_floats(new)[marked] - before) * 10.0**column.scale
    if column.exact:
        moved = np.rint(moved)
    size = np.abs(moved) / 10.0**column.scale
    change = ColumnChange(
        column.name,
        "number",
        10.0**-column.scale,
        count,
        float(size.max()) if count else 0.0,
        float((size / np.abs(before)).max()) if count else 0.0,
        float(moved.sum() / 10.0**column.scale),
    )
    return new, change


def _shift_decimal(values: pa.Array, steps: npt.NDArray[np.int64]) -> pa.Array:
    """``values`` moved by ``steps`` units of their scale, exactly (no trip through floats)."""
    kind = values.type
    wide_kind = pa.decimal128(38, kind.scale)
    units = decimal_units(values)
    if units is None:  # markable_cells made no cell of such a column eligible
        return values
    moved = units + steps
    words = np.empty(2 * len(moved), dtype="<i8")
    words[0::2], words[1::2] = moved, moved >> 63
    shifted = pa.Array.from_buffers(wide_kind, len(moved), [None, pa.py_buffer(words)])
    return pc.if_else(values.is_valid(), shifted, pa.scalar(None, wide_kind)).cast(kind)
