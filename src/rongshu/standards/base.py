"""What every national standard offers: a pure check and an SQL expression with equal verdicts.

A standard lists its checks in order; the first that fails names the reason. ``Checks`` keeps
the two forms side by side, one line per check, so that the Python predicate and the SQL
condition of a reason are written next to each other and cannot drift apart unnoticed (the
property tests in ``tests/integration/standards`` run both over every kind of bad input).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pyarrow as pa

from rongshu.lake.dialect import SqlDialect

DIGITS = "0123456789"


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one value: ok, or not ok with a reason code."""

    ok: bool
    reason: str | None = None  # a reason code when not ok, e.g. "ric.check_digit"


OK = Verdict(True)


@dataclass(frozen=True)
class Join:
    """A lookup a standard's SQL reads through a join: ``LEFT JOIN table AS alias ON on``.

    The SQL expression refers to the lookup's columns as ``alias.column``; the caller adds the
    join to the query the expression is part of (``sql()`` renders it, plain ANSI). The alias
    is derived from what is looked up, so two rules looking up the same value share one join,
    and the lookup holds each key once, so the join never adds rows.
    """

    alias: str
    table: str  # a name ``lookups()`` returns
    on: str

    def sql(self) -> str:
        """The join clause."""
        return f"LEFT JOIN {self.table} AS {self.alias} ON {self.on}"


@runtime_checkable
class Standard(Protocol):
    """A national standard a value can be checked against, in Python and in SQL."""

    name: str
    label: str
    reasons: Mapping[str, tuple[str, str]]

    def check(self, value: str | None) -> Verdict:
        """The verdict on one value; None and "" are ok (absence is ``not_null``'s business)."""
        ...

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        """An SQL expression over the VARCHAR ``expr``: NULL where ok, else the reason code.

        It may read lookups through the joins ``joins(expr, dialect)`` names.
        """
        ...

    def lookups(self) -> Mapping[str, pa.Table]:
        """Small tables the SQL refers to by name; the caller registers them first."""
        ...

    def joins(self, expr: str, dialect: SqlDialect) -> list[Join]:
        """The joins to those tables ``sql(expr, dialect)`` reads; the caller adds them to the
        query (after registering the tables), once each. [] when the SQL reads no lookup."""
        ...


def failed(reason: str) -> Verdict:
    """A failing verdict."""
    return Verdict(False, reason)


def first_failure(expr: str, checks: list[tuple[str, str]], otherwise: str = "NULL") -> str:
    """``CASE`` that yields the reason of the first failing condition, else ``otherwise``.

    ``checks`` holds (SQL condition that is TRUE when the check fails, reason code); a later
    condition may assume that the earlier ones were FALSE (the shape is already right, say).
    ``otherwise`` is an SQL expression for the rows that pass them all (NULL: ok).
    """
    whens = " ".join(f"WHEN {condition} THEN '{reason}'" for condition, reason in checks)
    return f"(CASE WHEN {expr} IS NULL OR {expr} = '' THEN NULL {whens} ELSE {otherwise} END)"


def weighted_sum(
    expr: str, dialect: SqlDialect, weights: tuple[int, ...], value: Callable[[str], str]
) -> str:
    """SQL for the sum of ``value(character i) * weights[i]`` over the first characters."""
    terms = [
        f"{value(dialect.substring(expr, position, 1))} * {weight}"
        for position, weight in enumerate(weights, start=1)
    ]
    return "(" + " + ".join(terms) + ")"


def digit_value(char: str) -> str:
    """SQL for the number a digit character stands for (the caller knows it is a digit)."""
    return f"(position({char} IN '{DIGITS}') - 1)"


def alphabet_value(char: str, alphabet: str) -> str:
    """SQL for the index of a character in ``alphabet`` (-1 when absent)."""
    return f"(position({char} IN '{alphabet}') - 1)"


def is_ascii_digits(value: str) -> bool:
    """Whether every character is 0-9 (``str.isdigit`` also takes ０-９ and other scripts)."""
    return bool(value) and all("0" <= char <= "9" for char in value)


def leap_year_sql(year: str) -> str:
    """SQL: TRUE where the integer ``year`` is a Gregorian leap year."""
    return f"(({year}) % 4 = 0 AND (({year}) % 100 <> 0 OR ({year}) % 400 = 0))"


def days_in_month_sql(year: str, month: str) -> str:
    """SQL: days in ``month`` (1-12) of ``year``, both integer expressions."""
    return (
        f"(CASE WHEN ({month}) = 2 THEN (CASE WHEN {leap_year_sql(year)} THEN 29 ELSE 28 END)"
        f" WHEN ({month}) IN (4, 6, 9, 11) THEN 30 ELSE 31 END)"
    )


def is_leap_year(year: int) -> bool:
    """Gregorian leap year (year 0 counts as one, as the SQL form agrees)."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    """Days in ``month`` (1-12) of ``year`` in the proleptic Gregorian calendar."""
    if month == 2:
        return 29 if is_leap_year(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def real_date(year: int, month: int, day: int) -> bool:
    """Whether year, month and day name a day of the calendar (any year 0-9999)."""
    return 1 <= month <= 12 and 1 <= day <= days_in_month(year, month)


def real_date_sql(year: str, month: str, day: str) -> str:
    """SQL: TRUE where the integer expressions name a day of the calendar."""
    return (
        f"(({month}) BETWEEN 1 AND 12 AND ({day}) >= 1"
        f" AND ({day}) <= {days_in_month_sql(year, month)})"
    )
