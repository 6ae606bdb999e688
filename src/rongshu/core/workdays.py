"""Working days in China: weekends and statutory holidays off, adjusted weekends (调休) on.

Deadlines of the platform's workflows (correction tickets, applications for shared data) count
working days, as the plans' time limits do. The calendar is the State Council's, as packaged by
``chinese-calendar``; each year's schedule is published late in the year before, so for a year
the installed package does not cover yet, days are counted as weekdays minus the fixed-date
statutory holidays (元旦 1 Jan, 劳动节 1 May, 国庆节 1–3 Oct) and ``covered(year)`` is false —
update the package when the new schedule is out.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger("rongshu.workdays")

BEIJING = ZoneInfo("Asia/Shanghai")
#: Statutory holidays with a fixed solar date (the lunar ones move and cannot be estimated).
_FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)})


@cache
def covered(year: int) -> bool:
    """Whether the installed calendar has the official schedule of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        log.warning("no official holiday schedule for %d installed; estimating it", year)
        return False
    return True


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day (an adjusted Saturday or Sunday is one)."""
    if covered(day.year):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    while days:
        day += timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def deadline(opened: datetime, working_days: int) -> datetime:
    """The end (24:00 Beijing time) of the ``working_days``-th working day after ``opened``,
    in UTC: a ticket opened on Friday with 3 working days is due at the end of Wednesday."""
    local = opened.astimezone(BEIJING).date()
    due = add_working_days(local, working_days) + timedelta(days=1)
    return datetime.combine(due, time(0), tzinfo=BEIJING).astimezone(UTC)


def working_days_between(first: date, last: date) -> int:
    """Working days after ``first`` up to and including ``last`` (negative if ``last`` is
    earlier)."""
    if last < first:
        return -working_days_between(last, first)
    return sum(is_working_day(first + timedelta(days=n)) for n in range(1, (last - first).days + 1))
