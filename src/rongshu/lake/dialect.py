"""The few SQL pieces that differ between lake engines, rendered per engine.

Callers build SQL from plain ANSI (SELECT, WHERE, GROUP BY, JOIN, CASE, window functions) and ask
the engine's dialect for anything else, so that the same code runs on DuckDB or Spark. Each engine
package has one subclass (``DuckDBDialect`` in ``duckdb_engine``); nothing outside it names an
engine.
"""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod

from rongshu.catalog.schemas import FieldType


class SqlDialect(ABC):
    """How one engine spells identifiers, literals, parameters, regexes, lengths and casts."""

    #: Engine name, for messages: "duckdb", "spark".
    name: str

    def quote(self, identifier: str) -> str:
        """A quoted identifier (ANSI double quotes unless the engine says otherwise)."""
        return '"' + identifier.replace('"', '""') + '"'

    def literal(self, value: object) -> str:
        """A SQL literal for a Python value (None, bool, int, float, str, date, datetime)."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"no SQL literal for {value!r}")
            return repr(value)
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return f"{self.type_name(FieldType.DATETIME)} '{value.isoformat(sep=' ')}'"
        if isinstance(value, dt.date):
            return f"DATE '{value.isoformat()}'"
        if isinstance(value, str):
            return self.string_literal(value)
        raise TypeError(f"no SQL literal for {type(value).__name__}")

    def string_literal(self, value: str) -> str:
        """A string literal; ANSI doubles single quotes."""
        return "'" + value.replace("'", "''") + "'"

    @abstractmethod
    def param(self, name: str) -> str:
        """The placeholder of a named parameter passed in ``query(sql, {name: value})``."""

    @abstractmethod
    def type_name(self, data_type: FieldType) -> str:
        """The engine's SQL type for a catalog field type."""

    @abstractmethod
    def regex_match(self, expr: str, pattern: str) -> str:
        """True where ``expr`` contains a match of the regex ``pattern`` (anchor with ^ and $).

        Keep patterns to the common subset of RE2 and Java regexes (classes, groups, counts).
        """

    @abstractmethod
    def length(self, expr: str) -> str:
        """Length of a string in characters (not bytes): 公民 is 2."""

    def substring(self, expr: str, start: int | str, length: int | str) -> str:
        """Characters ``start`` (1-based) to ``start + length - 1`` of a string.

        ``start`` and ``length`` are numbers, or SQL integer expressions given as text.
        """
        first = int(start) if isinstance(start, int) else start
        count = int(length) if isinstance(length, int) else length
        return f"substring({expr}, {first}, {count})"

    @abstractmethod
    def regex_extract(self, expr: str, pattern: str, group: int) -> str:
        """The text of capture ``group`` (1-based) of the first match of ``pattern``.

        NULL where ``expr`` is NULL; an empty string where there is no match (as the
        engines' own functions have it). Patterns as for ``regex_match``.
        """

    @abstractmethod
    def safe_cast(self, expr: str, data_type: FieldType) -> str:
        """``expr`` as ``data_type``, or NULL where it does not convert (never an error)."""

    def cast(self, expr: str, data_type: FieldType) -> str:
        """``expr`` as ``data_type``; the query fails where a value does not convert."""
        return f"CAST({expr} AS {self.type_name(data_type)})"
