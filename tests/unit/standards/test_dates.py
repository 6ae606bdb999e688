"""The date standard recognises the shapes the ingest reads, and reads them to the same day."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from rongshu.catalog.schemas import FieldType
from rongshu.ingest.dates import ParseOptions, read_dates
from rongshu.standards import get_standard
from rongshu.standards.dates import read_date_text

DATE = get_standard("date")
VALUES = [
    "2020-01-02",
    "2020/1/2",
    "2020.01.02",
    "2020年1月2日",
    "2020年1月2",
    "20200102",
    "2020-1/2",
    "2021-02-29",
    "2020-13-01",
    "20200230",
    "0000-01-01",
    "02/01/2020",
    "2020-01-02 12:00",
    "二〇二〇年一月二日",
]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2020-01-02", None),
        ("2020/1/2", "date.nonstandard"),
        ("2020年1月2日", "date.nonstandard"),
        ("20200102", "date.nonstandard"),
        ("2021-02-29", "date.invalid"),
        ("2020-13-01", "date.invalid"),
        ("02/01/2020", "date.format"),
        ("2020-01-02 12:00", "date.format"),
    ],
)
def test_reasons(value: str, reason: str | None) -> None:
    assert DATE.check(value).reason == reason


def test_what_the_standard_reads_the_ingest_reads_to_the_same_day() -> None:
    days, failed, _ = read_dates(
        pa.array(VALUES, pa.string()),
        FieldType.DATE,
        ParseOptions(excel_serial=False),
        serial_allowed=False,
    )
    read = days.to_pylist()
    for value, day, ingest_failed in zip(VALUES, read, np.asarray(failed), strict=True):
        reason = DATE.check(value).reason
        if reason in (None, "date.nonstandard"):
            parts = read_date_text(value)
            assert parts is not None and day == date(*parts), value
        elif reason == "date.invalid":
            assert ingest_failed, value
