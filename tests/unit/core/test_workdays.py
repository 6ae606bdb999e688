"""Working days by the State Council's schedule, with adjusted weekends and estimated years."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rongshu.core import workdays
from rongshu.core.workdays import add_working_days, deadline, is_working_day, working_days_between


def test_holidays_and_adjusted_weekends_of_2026() -> None:
    assert not is_working_day(date(2026, 10, 1))  # 国庆节
    assert not is_working_day(date(2026, 2, 17))  # 春节 (lunar, only the schedule knows it)
    assert is_working_day(date(2026, 10, 9))  # an ordinary Friday
    # 调休: the State Council's 2026 schedule makes these weekend days working days.
    for adjusted in (date(2026, 1, 4), date(2026, 2, 14), date(2026, 9, 20), date(2026, 10, 10)):
        assert adjusted.weekday() >= 5 and is_working_day(adjusted)
    assert not is_working_day(date(2026, 11, 22))  # an ordinary Sunday


def test_counting_skips_the_golden_week() -> None:
    # Opened on Wednesday 30 September 2026: 1–7 October off (plus the adjusted days around it).
    due = add_working_days(date(2026, 9, 30), 1)
    assert due > date(2026, 10, 7) and is_working_day(due)
    assert working_days_between(date(2026, 9, 30), due) == 1
    assert working_days_between(due, date(2026, 9, 30)) == -1
    assert add_working_days(date(2026, 11, 20), 0) == date(2026, 11, 20)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 11, 20), -1)


def test_deadline_is_the_end_of_the_working_day_in_beijing() -> None:
    friday_evening = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 23:30 Friday in Beijing
    # Three working days: Monday, Tuesday, Wednesday 25 November; due at 24:00 Beijing time.
    assert deadline(friday_evening, 3) == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def test_years_without_an_official_schedule_are_estimated() -> None:
    year = 2004
    while workdays.covered(year + 1):
        year += 1
    future = year + 1  # the first year the installed package does not know
    assert not workdays.covered(future)
    assert not is_working_day(date(future, 10, 2))
    assert not is_working_day(date(future, 1, 1))
    monday = next(date(future, 3, d) for d in range(1, 8) if date(future, 3, d).weekday() == 0)
    assert is_working_day(monday)
