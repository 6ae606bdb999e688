"""Tracing a leaked file (泄露溯源) back to the recipient whose watermark it carries.

The platform knows what it exported, so ``trace`` gets the original (unmarked) table. Leaked
rows are matched to original rows by their key values, whatever their order; when a key
column was dropped, by the values of the surviving unmarked columns, using only rows those
values make unique (a file that keeps, say, only names and amounts aligns on fewer rows, or
none). Columns are matched by name; a renamed column is not compared. For each candidate,
every cell it would have marked that survives is compared with the original: a match is a
one-unit move (or invisible character) in the candidate's direction. Whatever happened to
the file, a cell matches a key that did not mark it with probability at most 1/2, so
``P(Binomial(n, 1/2) ≥ matches)`` is an honest p-value; multiplied by the number of
candidates (Bonferroni) it is the chance that anyone is named wrongly. A recipient is named
only when that is at most ``significance`` (1e-6); otherwise the result says no one is
singled out. Parameters that differ from the embed's lose power, never honesty.

How the marks are made: ``rongshu.security.watermark``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rongshu.core.errors import ValidationFailed
from rongshu.ingest.connectors import open_connector
from rongshu.ingest.connectors.base import SourceSpec
from rongshu.security.watermark import DEFAULT_MAX_RELATIVE_CHANGE, survey
from rongshu.security.watermark_cells import (
    MARK_CHARS,
    MARK_DOWN,
    MARK_UP,
    MarkableCells,
    derive_key,
    directions,
    selected_rows,
)
from rongshu.security.watermark_values import (
    SEPARATOR,
    Codes,
    all_blank,
    as_counts,
    as_mask,
    canonical,
    canonical_text,
    comparable,
    parse_numbers,
    plain_text,
    scale_of,
    unique_rows,
)

__all__ = [
    "DEFAULT_SIGNIFICANCE",
    "Suspect",
    "TraceResult",
    "read_table_file",
    "trace",
]

DEFAULT_SIGNIFICANCE: Final = 1e-6
_OTHER: Final = 2  # an observed cell that is neither unchanged nor one unit away


@dataclass(frozen=True)
class Suspect:
    """One candidate's evidence: of the marks its key would have put in the surviving cells,
    how many the leaked file carries."""

    recipient: str
    marks_compared: int
    marks_matched: int
    log10_p_value: float  # P(this many matches by chance), kept as a log: it underflows
    confidence: float  # 1 - the p-value times the number of candidates


@dataclass(frozen=True)
class TraceResult:
    """Who most likely leaked the file; ``recipient`` is None when no one is singled out."""

    recipient: str | None
    confidence: float
    evidence_margin: float  # orders of magnitude between the best and the runner-up's p-value
    marks_compared: int
    verdict: str
    rows_leaked: int
    rows_aligned: int
    aligned_on: tuple[str, ...]
    columns_compared: tuple[str, ...]
    significance: float
    suspects: tuple[Suspect, ...]


# --- public API -------------------------------------------------------------------------------


def trace(
    leaked: pa.Table,
    original: pa.Table,
    candidates: Mapping[str, bytes],
    *,
    key_columns: Sequence[str],
    markable: Sequence[str] | None = None,
    rate: float | None = None,
    max_relative_change: float = DEFAULT_MAX_RELATIVE_CHANGE,
    significance: float = DEFAULT_SIGNIFICANCE,
) -> TraceResult:
    """The candidates ranked by how strongly ``leaked`` carries their watermark.

    ``original`` is the table as exported before marking; ``leaked`` is usually what
    ``read_table_file`` made of the file (all text). Pass the embed's settings (its report
    records them).
    """
    if not candidates:
        raise ValidationFailed("no candidate recipients to compare with")
    if leaked.num_rows == 0:
        raise ValidationFailed("the leaked table has no rows")
    if not 0 < significance < 1:
        raise ValidationFailed("significance must be between 0 and 1")
    found = survey(
        original.to_batches,
        original.schema,
        key_columns=key_columns,
        markable=markable,
        rate=rate,
        max_relative_change=max_relative_change,
    )
    all_digests, keyed = found.row_digests()
    names = [str(name).strip() for name in leaked.column_names]
    if len(set(names)) != len(names):
        raise ValidationFailed(
            "the leaked table repeats a column name", details=[{"field": "columns", "value": names}]
        )
    leaked = leaked.rename_columns(names)
    surviving = [
        found.cells(column, original.column(column.name), keyed)
        for column in found.columns
        if column.name in leaked.column_names
    ]
    if not surviving:
        watermarked = ", ".join(found.markable)
        raise ValidationFailed(
            f"the leaked file keeps none of the watermarked columns ({watermarked}); "
            "nothing to compare",
            details=[{"field": "columns", "value": leaked.column_names}],
        )
    rows, leaked_rows, aligned_on = _align(leaked, original, key_columns, found.markable)
    digests = all_digests[rows]
    observed = [
        (
            column,
            column.eligible[rows],
            _observe(column, rows, leaked.column(column.name), leaked_rows),
        )
        for column in surviving
    ]
    suspects = []
    for recipient, key in candidates.items():
        derived = derive_key(key)
        # Directions only for the rows this key chose: SM4 runs at ~80 MB/s without hardware
        # help, so computing them for every row would cost (columns x rate) times more.
        chosen = np.flatnonzero(selected_rows(derived, digests, found.rate))
        compared = matched = 0
        for column, eligible, codes in observed:
            cells = chosen[eligible[chosen]]
            expected = directions(derived, digests[cells], column.name)
            compared += len(cells)
            matched += int((codes[cells] == expected).sum())
        log10_p = _log10_binomial_tail(compared, matched)
        family = min(0.0, log10_p + math.log10(len(candidates)))
        suspects.append(Suspect(recipient, compared, matched, log10_p, 1.0 - 10.0**family))
    suspects.sort(key=lambda s: (s.log10_p_value, -s.marks_matched, s.recipient))
    return _result(
        suspects,
        rows_leaked=leaked.num_rows,
        rows_aligned=len(rows),
        aligned_on=aligned_on,
        columns_compared=tuple(column.name for column in surviving),
        significance=significance,
    )


def read_table_file(path: Path) -> pa.Table:
    """A leaked CSV (UTF-8, UTF-8 with BOM or GB18030) or Excel workbook, every column as text.

    The first non-empty row holds the column names; empty cells become nulls.
    """
    if not path.is_file():
        raise ValidationFailed(f"{path} is not a file", details=[{"field": "path"}])
    if path.stat().st_size == 0:
        raise ValidationFailed(f"{path.name} is empty", details=[{"field": "path"}])
    suffix = path.suffix.lower()
    kind = "csv" if suffix in {".csv", ".txt", ".tsv"} else "excel"
    if suffix not in {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}:
        raise ValidationFailed(
            f"{path.name}: read CSV (.csv, .txt, .tsv) or Excel (.xlsx, .xls, .ods) files only",
            details=[{"field": "path", "value": suffix}],
        )
    # The ingest connectors read it as a department's file: encoding detected, text columns.
    connector = open_connector(SourceSpec(kind=kind, options={"path": str(path)}))
    names = connector.columns()
    if len(set(names)) != len(names):
        raise ValidationFailed(
            f"{path.name} repeats a column name", details=[{"field": "columns", "value": names}]
        )
    batches = list(connector.batches())
    table = (
        pa.Table.from_batches(batches)
        if batches
        else pa.table({name: pa.array([], pa.string()) for name in names})
    )
    if table.num_rows == 0:
        raise ValidationFailed(f"{path.name} has column names but no rows")
    return table


# --- tracing ----------------------------------------------------------------------------------


def _align(
    leaked: pa.Table, original: pa.Table, key_columns: Sequence[str], markable: Sequence[str]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], tuple[str, ...]]:
    """Pairs (original row, leaked row) with the same key, or else the same unmarked values."""
    if all(name in leaked.column_names for name in key_columns):
        on = list(key_columns)
    else:
        marked = set(markable)
        on = [
            n
            for n in original.column_names
            if n in leaked.column_names and n not in marked and comparable(original.column(n))
        ]
    if not on:
        raise ValidationFailed(
            "nothing alignable: the leaked file keeps no key column and no unmarked column "
            "of the original",
            details=[{"field": "columns", "value": leaked.column_names}],
        )
    scales = {n: scale_of(original.column(n)) for n in on}
    ours = [canonical(original.column(n), scales[n]) for n in on]
    theirs = [canonical_text(leaked.column(n), original.column(n).type, scales[n]) for n in on]
    mine = pc.binary_join_element_wise(*ours, SEPARATOR)
    found = pc.binary_join_element_wise(*theirs, SEPARATOR)
    left = pa.table({"k": mine, "o": np.arange(len(mine))}).filter(
        pa.array(unique_rows(mine) & ~all_blank(ours))
    )
    right = pa.table({"k": found, "l": np.arange(len(found))}).filter(
        pa.array(unique_rows(found) & ~all_blank(theirs))
    )
    pairs = left.join(right, "k", join_type="inner")
    if pairs.num_rows == 0:
        raise ValidationFailed(
            f"nothing alignable: none of the {leaked.num_rows} leaked rows matches one row of "
            f"the original on {', '.join(on)}",
            details=[{"field": "columns", "value": on}],
        )
    rows = pairs.column("o").to_numpy().astype(np.int64)
    leaked_rows = pairs.column("l").to_numpy().astype(np.int64)
    return rows, leaked_rows, tuple(on)


def _observe(
    column: MarkableCells,
    rows: npt.NDArray[np.int64],
    text: pa.ChunkedArray,
    leaked_rows: npt.NDArray[np.int64],
) -> Codes:
    """Per aligned row: +1 or -1 for a one-unit move (or mark character), 0 for unchanged,
    ``_OTHER`` for anything else (edited, emptied, unreadable)."""
    seen = plain_text(text).take(pa.array(leaked_rows))
    if column.text:
        before = column.original.take(pa.array(rows))
        up = as_counts(pc.count_substring(seen, MARK_UP))
        down = as_counts(pc.count_substring(seen, MARK_DOWN))
        bare = pc.replace_substring_regex(seen, MARK_CHARS, "")
        same = as_mask(pc.equal(pc.utf8_trim_whitespace(bare), pc.utf8_trim_whitespace(before)))
        codes = np.full(len(rows), _OTHER, dtype=np.int8)
        codes[same & (up == 0) & (down == 0)] = 0
        codes[same & (up == 1) & (down == 0)] = 1
        codes[same & (up == 0) & (down == 1)] = -1
        return codes
    with np.errstate(invalid="ignore", over="ignore"):
        steps = (parse_numbers(seen) - column.values[rows]) * 10.0**column.scale
        whole = np.rint(steps)
        fits = np.isfinite(steps) & (np.abs(steps - whole) <= 0.25) & (np.abs(whole) <= 1)
    return np.where(fits, whole, _OTHER).astype(np.int8)


def _result(
    suspects: list[Suspect],
    *,
    rows_leaked: int,
    rows_aligned: int,
    aligned_on: tuple[str, ...],
    columns_compared: tuple[str, ...],
    significance: float,
) -> TraceResult:
    best = suspects[0]
    runner_up = suspects[1] if len(suspects) > 1 else None
    margin = runner_up.log10_p_value - best.log10_p_value if runner_up else -best.log10_p_value
    threshold = math.log10(significance) - math.log10(len(suspects))
    named = best.log10_p_value <= threshold
    evidence = f"{best.marks_matched} of {best.marks_compared} marks match"
    if named:
        verdict = f"{best.recipient}: {evidence} (p = 10^{best.log10_p_value:.1f} by chance)"
        others = [s.recipient for s in suspects[1:] if s.log10_p_value <= threshold]
        if others:
            verdict += f"; {', '.join(others)} also carry marks: copies may have been combined"
    else:
        needed = math.ceil(math.log2(len(suspects) / significance))
        verdict = (
            f"no recipient singled out: the best, {best.recipient}, has {evidence}; naming "
            f"someone among {len(suspects)} takes at least {needed} matching marks"
        )
    return TraceResult(
        recipient=best.recipient if named else None,
        confidence=best.confidence,
        evidence_margin=margin,
        marks_compared=best.marks_compared,
        verdict=verdict,
        rows_leaked=rows_leaked,
        rows_aligned=rows_aligned,
        aligned_on=aligned_on,
        columns_compared=columns_compared,
        significance=significance,
        suspects=tuple(suspects),
    )


def _log10_binomial_tail(n: int, k: int) -> float:
    """log10 P(X >= k) for X ~ Binomial(n, 1/2), exact, without underflow."""
    if k <= 0:
        return 0.0
    if 2 * k < n + 1:  # below the middle: 1 - P(X >= n - k + 1), by symmetry
        return math.log10(1.0 - 10.0 ** _log10_upper_tail(n, n - k + 1))
    return _log10_upper_tail(n, k)


def _log10_upper_tail(n: int, k: int) -> float:
    """The tail from k >= n/2, where terms fall fast: ~12 sqrt(n) of them carry it all."""
    last = min(n, k + int(12 * math.sqrt(n)) + 64)
    j = np.arange(k, last, dtype=np.float64)
    first = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
    logs = first + np.concatenate(([0.0], np.cumsum(np.log(n - j) - np.log(j + 1))))
    return float((first + math.log(np.exp(logs - first).sum())) / math.log(10))
