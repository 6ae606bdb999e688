"""Reading typed values from source cells: numbers, booleans, dates and date-times."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pytest

from rongshu.catalog.schemas import FieldType
from rongshu.ingest import dates
from rongshu.ingest.parsing import ParseOptions, format_pattern, parse


def read(values: list[Any], data_type: FieldType, **options: Any) -> list[Any]:
    """Parsed values, with the string "FAIL" where the cell could not be read."""
    array = (
        pa.array(values) if any(v is not None for v in values) else pa.array(values, pa.string())
    )
    parsed = parse(array, data_type, options=ParseOptions(**options))
    assert len(parsed.values) == len(values)
    return [
        "FAIL" if failed else value
        for value, failed in zip(parsed.values.to_pylist(), parsed.failed.tolist(), strict=True)
    ]


D = date(2020, 1, 2)


@pytest.mark.parametrize(
    "text",
    [
        "2020-01-02",
        "2020-1-2",
        "2020/1/2",
        "2020/01/02",
        "2020.1.2",
        "2020年1月2日",
        "2020年01月02日",
        "20200102",
        "２０２０－０１－０２",
        " 2020-01-02 ",
        "2020-01-02 08:30:00",
        "2020-01-02T08:30:00",
        "2020年1月2日 8时30分",
    ],
)
def test_every_date_format_departments_use_reads_as_the_same_date(text: str) -> None:
    assert read([text], FieldType.DATE) == [D]


@pytest.mark.parametrize(
    "text",
    ["2020-02-30", "2021-02-29", "2020-13-01", "2020年13月1日", "2020-00-10", "2020-04-31",
     "0000-01-01", "2020-01-02 24:00:00", "12345678", "2020", "yesterday", "2020-01"],
)  # fmt: skip
def test_impossible_or_unreadable_dates_fail_instead_of_rolling_over(text: str) -> None:
    assert read([text], FieldType.DATE) == ["FAIL"]


def test_leap_days_are_real_dates() -> None:
    assert read(["2020-02-29", "2000-02-29", "1900-02-29"], FieldType.DATE) == [
        date(2020, 2, 29),
        date(2000, 2, 29),
        "FAIL",
    ]


def test_empty_cells_are_null_not_failed() -> None:
    assert read(["", "   ", "\u3000", None], FieldType.DATE) == [None, None, None, None]
    assert read(["", None], FieldType.INTEGER) == [None, None]


def test_excel_serial_numbers_as_numbers_are_dates() -> None:
    assert read([43832, 43832.0, 43832.75], FieldType.DATE) == [D, D, D]
    # Excel counts a 1900-02-29 that never was: serial 60 is refused, 59 and 61 are its
    # neighbours, and the first serials count from 1900-01-01.
    assert read([1, 59, 60, 61, 60000], FieldType.DATE) == [
        date(1900, 1, 1),
        date(1900, 2, 28),
        "FAIL",
        date(1900, 3, 1),
        date(2064, 4, 8),
    ]


def test_five_digit_serials_among_dates_are_read_small_numbers_are_not() -> None:
    # An Excel column where a few cells lost their date format: 43832 cannot be anything else,
    # but "2020" among real dates is more likely a year than the serial of 1905-07-12.
    cells = ["2019-05-01", "43832", "2020", "2019-06-01", "2019-07-01"]
    assert read(cells, FieldType.DATE) == [
        date(2019, 5, 1),
        D,
        "FAIL",
        date(2019, 6, 1),
        date(2019, 7, 1),
    ]


def test_small_serials_are_read_when_the_column_is_mostly_serials_or_when_configured() -> None:
    assert read(["2", "43832", "43833"], FieldType.DATE) == [
        date(1900, 1, 2),
        D,
        date(2020, 1, 3),
    ]
    assert read(["2", "3", "43832"], FieldType.DATE) == ["FAIL", "FAIL", D]
    assert read(["2020-01-01", "2"], FieldType.DATE, excel_serial=True) == [
        date(2020, 1, 1),
        date(1900, 1, 2),
    ]
    assert read(["43832"], FieldType.DATE, excel_serial=False) == ["FAIL"]
    assert read([43832], FieldType.DATE, excel_serial=False) == ["FAIL"]


def test_out_of_range_serials_fail() -> None:
    assert read([60001, 0], FieldType.DATE) == ["FAIL", "FAIL"]


def test_date_times_are_stored_in_utc_from_shanghai_wall_clock_or_stated_offsets() -> None:
    cells = [
        "2020-01-02 08:30:00",
        "2020-01-02T08:30:00",
        "2020/1/2 8:30",
        "2020年1月2日 8时30分0秒",
        "20200102083000",
        "2020-01-02T00:30:00Z",
        "2020-01-02T08:30:00+08:00",
        "2020-01-02T06:00:00+0530",
    ]
    assert read(cells, FieldType.DATETIME) == [datetime(2020, 1, 2, 0, 30, tzinfo=UTC)] * 8


def test_date_time_fractions_and_date_only_cells() -> None:
    assert read(["2020-01-02 08:30:00.123456", "2020-01-02"], FieldType.DATETIME) == [
        datetime(2020, 1, 2, 0, 30, 0, 123456, tzinfo=UTC),
        datetime(2020, 1, 1, 16, 0, tzinfo=UTC),
    ]


def test_epoch_milliseconds_and_seconds_are_utc_instants() -> None:
    moment = datetime(2024, 12, 31, 15, 0, tzinfo=UTC)
    assert read([1735657200000], FieldType.DATETIME) == [moment]
    assert read(["1735657200000", "1735657200"], FieldType.DATETIME) == [moment, moment]
    # The parking API's epoch ms as a date: the day it is in Shanghai.
    assert read([1735657200000], FieldType.DATE) == [date(2024, 12, 31)]


def test_excel_serial_with_a_time_fraction() -> None:
    assert read([43832.5], FieldType.DATETIME) == [datetime(2020, 1, 2, 4, 0, tzinfo=UTC)]


def test_the_time_zone_is_configurable() -> None:
    assert read(["2020-01-02 08:30:00"], FieldType.DATETIME, timezone="UTC") == [
        datetime(2020, 1, 2, 8, 30, tzinfo=UTC)
    ]


@pytest.mark.parametrize(
    "text", ["2020-01-02 25:00:00", "2020-01-02 08:61", "2020-01-02T08:00+15:00"]
)
def test_impossible_times_fail(text: str) -> None:
    assert read([text], FieldType.DATETIME) == ["FAIL"]


ISO_CELLS = [
    "2020-01-02", "0001-01-02", "9999-12-31", "2020-02-29", "1900-02-28", "0000-01-01",
    "2020-01-02 03:04:05", "2020-01-02T23:59:59", "2020-01-02 24:00:00", "2020-01-02 23:59:60",
    "0000-06-01 00:00:00", "2020-01-02 03:04", "2020-01-02T00:00", "2020-01-02 00:60",
    "2020-1-02 03:04", "2020-01-02 3:04:05", "2020-01-02x03:04:05", "2020-01-0２",
]  # fmt: skip


@pytest.mark.parametrize("data_type", [FieldType.DATE, FieldType.DATETIME])
@pytest.mark.parametrize("cell", ISO_CELLS)
def test_iso_cells_read_by_arrow_exactly_as_by_the_byte_reader(
    cell: str, data_type: FieldType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Alone, an ISO cell goes to Arrow's parser; beside an impossible date of the same shape
    # (which makes Arrow refuse the batch) it is read cell by cell. Both read as the byte reader.
    alone = read([cell], data_type)
    impossible = "2021-02-29 00:00:00"[: len(cell)]
    beside = read([cell, impossible], data_type)
    monkeypatch.setattr(dates, "_read_iso", lambda *args: None)
    assert alone == beside[:1] == read([cell], data_type)
    assert beside[1] == "FAIL"


def test_iso_cells_never_reach_the_byte_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    def byte_reader(*args: object) -> None:
        raise AssertionError("ISO cells went to the byte reader")

    monkeypatch.setattr(dates, "_read_layouts", byte_reader)
    cells = ["2020-01-02", None, "2020-01-02 08:30:00", "2020-01-02T08:30"]
    assert read(cells, FieldType.DATETIME) == [
        datetime(2020, 1, 1, 16, 0, tzinfo=UTC),
        None,
        datetime(2020, 1, 2, 0, 30, tzinfo=UTC),
        datetime(2020, 1, 2, 0, 30, tzinfo=UTC),
    ]


def test_an_impossible_date_among_iso_dates_fails_alone() -> None:
    cells = ["2020-01-02", "2020-02-30", "2020-01-02", "2020年1月2日", "2020/01/02"]
    assert read(cells * 3, FieldType.DATE) == [D, "FAIL", D, D, D] * 3


def test_typed_temporal_sources() -> None:
    naive = pa.array([datetime(2020, 1, 2, 8, 30)], pa.timestamp("s"))
    assert parse(naive, FieldType.DATETIME).values.to_pylist() == [
        datetime(2020, 1, 2, 0, 30, tzinfo=UTC)
    ]
    aware = pa.array([datetime(2020, 1, 1, 23, 0, tzinfo=UTC)], pa.timestamp("ms", tz="UTC"))
    assert parse(aware, FieldType.DATE).values.to_pylist() == [D]  # 07:00 on the 2nd in Shanghai
    assert parse(pa.array([D]), FieldType.DATE).values.to_pylist() == [D]


def test_custom_date_formats_replace_the_built_in_readers() -> None:
    patterns = (format_pattern("%d/%m/%Y"), format_pattern("%d.%m.%y"))
    assert read(["02/01/2020", "31/02/2020", "2.1.20", "2020-01-02"], FieldType.DATE,
                date_patterns=patterns) == [D, "FAIL", D, "FAIL"]  # fmt: skip


@pytest.mark.parametrize("bad", ["%Y-%m", "%Y-%m-%d %p", "%Y-%m-%d-%d"])
def test_unsupported_date_formats_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="date format"):
        format_pattern(bad)


def test_integers() -> None:
    cells = ["12", "+5", "-3", "1,234", "１２３", "12.0", "1.5", "1,23", "0x10", "abc", "12 3",
             "9223372036854775807", "9223372036854775808"]  # fmt: skip
    assert read(cells, FieldType.INTEGER) == [
        12, 5, -3, 1234, 123, 12, "FAIL", "FAIL", "FAIL", "FAIL", "FAIL",
        9223372036854775807, "FAIL",
    ]  # fmt: skip


def test_hex_integers_are_refused_even_where_the_rest_of_the_column_is_plain() -> None:
    assert read(["12", "0x10", "0X1F", "7"], FieldType.INTEGER) == [12, "FAIL", "FAIL", 7]


def test_integers_from_numeric_columns() -> None:
    assert read([1.0, 2.5, None], FieldType.INTEGER) == [1, "FAIL", None]
    assert parse(pa.array([7], pa.uint8()), FieldType.INTEGER).values.to_pylist() == [7]


def test_decimals() -> None:
    cells = ["1,234.5", "1e3", ".5", "-0.25", "１２.５", "12.", "nan", "inf", "1e999", "1..2",
             "1,23.4", "¥12"]  # fmt: skip
    assert read(cells, FieldType.DECIMAL) == [
        1234.5, 1000.0, 0.5, -0.25, 12.5, 12.0, "FAIL", "FAIL", "FAIL", "FAIL", "FAIL", "FAIL",
    ]  # fmt: skip
    assert read([float("nan"), 1.5], FieldType.DECIMAL) == ["FAIL", 1.5]


def test_booleans() -> None:
    cells = ["是", "否", "Y", "n", "TRUE", "false", "1", "0", "√", "×", "也许"]
    assert read(cells, FieldType.BOOLEAN) == [
        True, False, True, False, True, False, True, False, True, False, "FAIL",
    ]  # fmt: skip
    assert read([1, 0, 2], FieldType.BOOLEAN) == [True, False, "FAIL"]


def test_numbers_into_text_fields_keep_codes_whole() -> None:
    # A region code a spreadsheet turned into 350104.0 is still 350104.
    assert read([350104.0, 2.5], FieldType.STRING) == ["350104", "2.5"]
    assert read([350104], FieldType.STRING) == ["350104"]


def test_an_all_null_column_of_null_type() -> None:
    parsed = parse(pa.nulls(3), FieldType.DATE)
    assert parsed.values.type == pa.date32()
    assert parsed.values.null_count == 3
    assert not parsed.failed.any()
