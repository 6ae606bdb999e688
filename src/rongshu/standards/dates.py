"""Dates written as text, in the shapes departments use; the standard one is ``YYYY-MM-DD``.

Dates the ingest reads into typed columns need no check; this standard is for text fields
(and for profiling a source before mapping). It recognises the date-only shapes that the
ingest's reader (``rongshu.ingest.dates``) takes by default: year first with ``-``, ``/``,
``.`` or 年/月(/日) between one- or two-digit month and day (2020-1-2, 2020/01/02,
2020年1月2日), and ``YYYYMMDD``. A value in one of them that names a real day is either the
standard ``YYYY-MM-DD`` (GB/T 7408, ok) or another shape (``date.nonstandard``); an impossible
day (2021-02-29) is ``date.invalid``; anything else is ``date.format``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pyarrow as pa

from rongshu.catalog.schemas import FieldType
from rongshu.lake.dialect import SqlDialect
from rongshu.standards.base import (
    OK,
    Join,
    Verdict,
    failed,
    first_failure,
    real_date,
    real_date_sql,
)

STANDARD = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
SEPARATED = r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?"
COMPACT = r"([0-9]{4})([0-9]{2})([0-9]{2})"
_STANDARD = re.compile(STANDARD)
_SEPARATED = re.compile(SEPARATED)
_COMPACT = re.compile(COMPACT)


def read_date_text(value: str) -> tuple[int, int, int] | None:
    """(year, month, day) as written in a recognised shape, real or not; None otherwise."""
    match = _SEPARATED.fullmatch(value) or _COMPACT.fullmatch(value)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    return year, month, day


class DateStandard:
    """Text dates: real days, written ``YYYY-MM-DD``."""

    name = "date"
    label = "日期（GB/T 7408，YYYY-MM-DD）"
    reasons: Mapping[str, tuple[str, str]] = {
        "date.format": ("不是可识别的日期", "not a date in any recognised shape"),
        "date.invalid": ("日期不存在（如2月30日）", "no such day (February 30th, say)"),
        "date.nonstandard": (
            "日期应写作YYYY-MM-DD",
            "a real date, but not written YYYY-MM-DD",
        ),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        parts = read_date_text(value)
        if parts is None:
            return failed("date.format")
        year, month, day = parts
        if year < 1 or not real_date(year, month, day):
            return failed("date.invalid")
        return OK if _STANDARD.fullmatch(value) else failed("date.nonstandard")

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        separated = dialect.regex_match(expr, f"^{SEPARATED}$")
        compact = dialect.regex_match(expr, f"^{COMPACT}$")

        def part(group: int) -> str:
            pattern = f"^(?:{SEPARATED}|{COMPACT})$"
            # Group n of the separated shape, or of the compact one (three groups later).
            text = (
                f"(CASE WHEN {separated} THEN {dialect.regex_extract(expr, pattern, group)}"
                f" ELSE {dialect.regex_extract(expr, pattern, group + 3)} END)"
            )
            return dialect.safe_cast(text, FieldType.INTEGER)

        year, month, day = part(1), part(2), part(3)
        return first_failure(
            expr,
            [
                (f"NOT ({separated} OR {compact})", "date.format"),
                (f"{year} < 1 OR NOT {real_date_sql(year, month, day)}", "date.invalid"),
                (f"NOT {dialect.regex_match(expr, f'^{STANDARD}$')}", "date.nonstandard"),
            ],
        )

    def lookups(self) -> Mapping[str, pa.Table]:
        return {}

    def joins(self, expr: str, dialect: SqlDialect) -> list[Join]:
        return []
