"""Where the header of a departments' sheet is: title rows above it, a grouped header row over it.

Departments' CSV and Excel files often start with a title (``榕城市教育局 学籍信息 2024年``) in one
cell, then a row of column groups (``学生基本信息`` merged over five columns) over the row of
labels. The labels name the columns; a group is kept as a prefix only where labels repeat
(``男方_姓名``, ``女方_姓名``), so names stay short and still unique.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rongshu.core.errors import ValidationFailed
from rongshu.ingest.connectors.base import unique_names

#: Cell ranges merged in a sheet: (first row, first column, last row, last column), 0-based.
MergedRange = tuple[int, int, int, int]
Row = Sequence[str | None]

#: Rows looked at when detecting the header.
HEADER_SCAN_ROWS = 30

_NUMBERISH = re.compile(r"^[\s\d０-９.,，:：/\-+%¥$年月日时分秒()（）eE]*$")


@dataclass(frozen=True)
class HeaderLayout:
    """Column names, and the index of the first data row among the rows scanned."""

    names: list[str]
    data_start: int


def _cells(row: Row) -> list[str]:
    return [(cell or "").strip() for cell in row]


def _filled(row: Row) -> int:
    return sum(1 for cell in _cells(row) if cell)


def _width(rows: Sequence[Row]) -> int:
    widest = 0
    for row in rows:
        cells = _cells(row)
        while cells and not cells[-1]:
            cells.pop()
        widest = max(widest, len(cells))
    return widest


def _pad(row: Row, width: int) -> list[str]:
    cells = _cells(row)[:width]
    return cells + [""] * (width - len(cells))


def detect_header(
    rows: Sequence[Row],
    *,
    merged: Sequence[MergedRange] = (),
    header_row: int | None = None,
    skip_rows: int | None = None,
) -> HeaderLayout:
    """The header layout of ``rows`` (the first rows of a sheet or file).

    ``header_row`` (1-based) names the label row outright, 0 meaning there is none; ``skip_rows``
    says how many rows come before the label row. Otherwise title rows are skipped and a group row
    over the labels is detected (from merged cells in Excel, from its gaps in CSV).
    """
    width = _width(rows)
    if header_row is not None and skip_rows is not None and header_row != skip_rows + 1:
        raise ValidationFailed(
            "give header_row or skip_rows, not both (header_row is skip_rows + 1)",
            details=[{"field": "header_row", "reason": "conflicts with skip_rows"}],
        )
    if header_row == 0:
        start = skip_rows or 0
        return HeaderLayout([f"column_{i}" for i in range(1, width + 1)], start)
    if header_row is not None or skip_rows is not None:
        index = header_row - 1 if header_row is not None else (skip_rows or 0)
        if index >= len(rows):
            raise ValidationFailed(
                f"the header row {index + 1} is past the end of the data ({len(rows)} rows)",
                details=[{"field": "header_row", "value": index + 1}],
            )
        return HeaderLayout(unique_names(_cells(rows[index])), index + 1)
    if width == 0:
        return HeaderLayout([], len(rows))
    index = _skip_titles(rows, width, merged)
    if index >= len(rows):
        return HeaderLayout([f"column_{i}" for i in range(1, width + 1)], len(rows))
    if index + 1 < len(rows) and _is_group_row(rows, index, width, merged):
        # The label row's own length counts: a CSV parser expects that many fields.
        label_width = max(len(rows[index]), len(rows[index + 1]))
        names = _grouped_names(rows[index], rows[index + 1], index, label_width, merged)
        return HeaderLayout(names, index + 2)
    return HeaderLayout(unique_names(_cells(rows[index])), index + 1)


def _skip_titles(rows: Sequence[Row], width: int, merged: Sequence[MergedRange]) -> int:
    index = 0
    if width < 2:
        while index < len(rows) and _filled(rows[index]) == 0:
            index += 1
        return index
    while index < len(rows):
        filled = _filled(rows[index])
        spans_row = any(r0 <= index <= r1 and c1 - c0 + 1 >= width for r0, c0, r1, c1 in merged)
        if filled == 0 or filled == 1 or (spans_row and filled <= 1):
            index += 1
            continue
        break
    return index


def _horizontal_merges(index: int, merged: Sequence[MergedRange]) -> list[MergedRange]:
    return [m for m in merged if m[0] == index and m[3] > m[1]]


def _is_group_row(
    rows: Sequence[Row], index: int, width: int, merged: Sequence[MergedRange]
) -> bool:
    group, labels = _pad(rows[index], width), _pad(rows[index + 1], width)
    if merged:
        return bool(_horizontal_merges(index, merged))
    # No merge information (CSV): a group row leaves gaps after its groups, and the row below
    # is a full row of labels, none of them looking like a number or a date.
    # (A label merged down over both rows shows in the group row with a gap below it.)
    has_span = any(group[c] and not group[c + 1] for c in range(width - 1))
    covered = all(label or group[c] for c, label in enumerate(labels))
    spanned_labels = [label for c, label in enumerate(labels) if label and not group[c]]
    labels_text = not any(_NUMBERISH.match(cell) for cell in labels if cell)
    distinct = not set(filter(None, group)) & set(labels)
    return has_span and covered and bool(spanned_labels) and labels_text and distinct


def _grouped_names(
    group_row: Row, label_row: Row, index: int, width: int, merged: Sequence[MergedRange]
) -> list[str]:
    group_cells = _pad(group_row, width)
    label_cells = _pad(label_row, width)
    groups = [""] * width
    if merged:
        for column, value in enumerate(group_cells):
            groups[column] = value
        for _r0, c0, _r1, c1 in _horizontal_merges(index, merged):
            for column in range(c0, min(c1, width - 1) + 1):
                groups[column] = group_cells[c0]
    else:
        current = ""
        for column, value in enumerate(group_cells):
            current = value or current
            groups[column] = current
    # A cell merged down over both rows holds its label in the group row.
    labels = [label or groups[c] for c, label in enumerate(label_cells)]
    counts = Counter(label for label in labels if label)
    names = []
    for column, label in enumerate(labels):
        group = groups[column]
        if counts[label] > 1 and group and group != label:
            names.append(f"{group}_{label}")
        else:
            names.append(label)
    return unique_names(names)
