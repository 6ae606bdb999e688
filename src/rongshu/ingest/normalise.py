"""Text normalisation that departments' exports need, vectorised over Arrow string arrays.

Each step is a function from a string array to a string array of the same length. Steps are
named, so a saved field mapping can list them; ``apply_steps`` runs them in a fixed order
(``STEP_ORDER``) whatever order they were listed in, so that, for instance, an ideographic space
is made half-width before trimming removes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rongshu.standards.vectors import plain_text, utf8_bytes, valid_cells

#: Values the ``null_markers`` step turns into null (after trimming, compared case-insensitively).
NULL_MARKERS = ("null", "none", "nil", "n/a", "na", "nan", "-", "--", "—", "——", "/", "无", "空")

_INVISIBLE = "[\u200b\u200c\u200d\u2060\ufeff\u00ad]"
_NULL_TEXT = pa.scalar(None, pa.string())

Bytes = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]


def halfwidth(values: pa.Array) -> pa.Array:
    """Full-width ASCII forms (U+FF01-U+FF5E) to ASCII, ideographic space (U+3000) to space.

    Works on the UTF-8 bytes with numpy rather than character by character: a full-width form
    is always the three bytes ``EF BC 81-BF`` or ``EF BD 80-9E`` and becomes one byte, so the
    data buffer shrinks and the offsets move left by two per replaced character before them.
    A column without any such character costs one scan of its bytes and is returned as is.
    """
    values = plain_text(values)
    if len(values) == 0:
        return values
    if values.offset:
        values = pa.concat_arrays([values])  # a fresh array whose buffers start at row 0
    offsets_buffer, data_buffer = values.buffers()[1], values.buffers()[2]
    if offsets_buffer is None or data_buffer is None:
        return values
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=len(values) + 1)
    start, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buffer, dtype=np.uint8)[start:end]
    if data.size < 3 or not ((data == 0xEF).any() or (data == 0xE3).any()):
        return values
    lead = np.flatnonzero((data[:-2] == 0xEF) | (data[:-2] == 0xE3))
    if lead.size == 0:
        return values
    second, third = data[lead + 1], data[lead + 2].astype(np.int16)
    ideographic_space = (data[lead] == 0xE3) & (second == 0x80) & (third == 0x80)
    low_forms = (data[lead] == 0xEF) & (second == 0xBC) & (third >= 0x81)  # U+FF01-U+FF3F
    high_forms = (data[lead] == 0xEF) & (second == 0xBD) & (third <= 0x9E)  # U+FF40-U+FF5E
    hit = ideographic_space | low_forms | high_forms
    if not hit.any():
        return values
    replacement = np.where(
        ideographic_space, 0x20, np.where(low_forms, third - 0x60, third - 0x20)
    ).astype(np.uint8)[hit]
    positions = lead[hit]
    out = data.copy()
    out[positions] = replacement
    removed = np.sort(np.concatenate([positions + 1, positions + 2]))
    keep = np.ones(data.size, dtype=bool)
    keep[removed] = False
    shifted = (offsets - start).astype(np.int64)
    new_offsets = (shifted - np.searchsorted(removed, shifted, side="left")).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(),
        len(values),
        [values.buffers()[0], pa.py_buffer(new_offsets), pa.py_buffer(out[keep])],
        null_count=values.null_count,
    )


def fullwidth_rows(values: pa.Array) -> Mask | None:
    """Which cells hold a full-width ASCII form (U+FF01-U+FF5E), or None when none does.

    A column without the forms' lead byte costs one scan of its bytes, as in ``halfwidth``.
    """
    values = plain_text(values)
    _, data = utf8_bytes(values)
    if data.size < 3 or not (data == 0xEF).any():
        return None
    rows = np.asarray(
        pc.match_substring_regex(values, "[\uff01-\uff5e]")
        .fill_null(False)
        .to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    return rows if rows.any() else None


def trim(values: pa.Array) -> pa.Array:
    """Leading and trailing whitespace removed (Unicode whitespace, ideographic space included).

    A column whose cells neither start nor end with a byte that can begin whitespace is
    returned as is, after a look at two bytes a cell instead of a pass over the text.
    """
    values = plain_text(values)
    if not _edge_space(values):
        return values
    return pc.utf8_trim_whitespace(values)


def _edge_space(values: pa.Array) -> bool:
    """Whether some cell may start or end with whitespace (never False when one does).

    Looks at the first byte, the last byte and the lead byte of the last character of every
    cell; for empty or short cells those bytes belong to a neighbour, which can only make the
    answer a needless yes.
    """
    offsets, data = utf8_bytes(values)
    if data.size == 0 or offsets[-1] == offsets[0]:
        return False
    starts, ends = offsets[:-1], offsets[1:]
    if _space_lead(data.take(starts, mode="clip")).any():
        return True
    if (data.take(ends - 1, mode="clip") <= 0x20).any():
        return True
    # The lead byte of a last character of two (U+0085, U+00A0) or three bytes.
    if (data.take(ends - 2, mode="clip") == 0xC2).any():
        return True
    lead = data.take(ends - 3, mode="clip")
    return bool(((lead >= 0xE1) & (lead <= 0xE3)).any())


def _space_lead(first: Bytes) -> Mask:
    """Bytes that can start a character Arrow's trim removes: ASCII controls and space, and the
    lead bytes of U+0085 and U+00A0 (C2), U+1680 (E1), U+2000-U+205F (E2) and U+3000 (E3)."""
    mask: Mask = (first <= 0x20) | (first == 0xC2) | ((first >= 0xE1) & (first <= 0xE3))
    return mask


def empty_to_null(values: pa.Array) -> pa.Array:
    """Empty strings become null."""
    values = plain_text(values)
    offsets, _ = utf8_bytes(values)
    empty = (offsets[1:] == offsets[:-1]) & valid_cells(values)
    if not empty.any():
        return values
    return pc.if_else(pa.array(empty, pa.bool_()), _NULL_TEXT, values)


def no_spaces(values: pa.Array) -> pa.Array:
    """Every whitespace character removed, also inside (ID and phone numbers typed in groups)."""
    return pc.replace_substring_regex(values, pattern=r"\s+", replacement="")


def invisible(values: pa.Array) -> pa.Array:
    """Zero-width characters, soft hyphens and stray byte-order marks removed."""
    return pc.replace_substring_regex(values, pattern=_INVISIBLE, replacement="")


def upper(values: pa.Array) -> pa.Array:
    """Upper case (e.g. the check character ``x`` of an ID number)."""
    return pc.utf8_upper(values)


def lower(values: pa.Array) -> pa.Array:
    """Lower case."""
    return pc.utf8_lower(values)


def null_markers(values: pa.Array) -> pa.Array:
    """Placeholders for "no value" (``NULL``, ``N/A``, ``-``, ``无`` ...) become null."""
    marker = pc.is_in(pc.utf8_lower(values), value_set=pa.array(NULL_MARKERS, pa.string()))
    if not pc.any(marker).as_py():
        return values
    return pc.if_else(marker, _NULL_TEXT, values)


#: Every step by name, in the order ``apply_steps`` runs them.
STEPS: dict[str, Callable[[pa.Array], pa.Array]] = {
    "invisible": invisible,
    "halfwidth": halfwidth,
    "trim": trim,
    "no_spaces": no_spaces,
    "upper": upper,
    "lower": lower,
    "null_markers": null_markers,
    "empty_to_null": empty_to_null,
}
STEP_ORDER = tuple(STEPS)
#: What every column gets unless its mapping skips a step.
DEFAULT_STEPS = ("halfwidth", "trim", "empty_to_null")


def unknown_steps(names: Iterable[str]) -> list[str]:
    """The names in ``names`` that are not steps."""
    return [name for name in names if name not in STEPS]


def apply_steps(values: pa.Array, names: Iterable[str]) -> pa.Array:
    """Run the named steps over ``values`` in ``STEP_ORDER``."""
    wanted = set(names)
    result = plain_text(values)
    for name in STEP_ORDER:
        if name in wanted:
            result = STEPS[name](result)
    return result
