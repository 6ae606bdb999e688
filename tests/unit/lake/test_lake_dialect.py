"""The DuckDB dialect's rendering of the engine-neutral SQL pieces."""

from __future__ import annotations

import datetime as dt

import pytest

from rongshu.catalog.schemas import FieldType
from rongshu.lake.duckdb_engine import DuckDBDialect

d = DuckDBDialect()


def test_identifiers_are_quoted_and_escaped() -> None:
    assert d.quote("name") == '"name"'
    assert d.quote('a"b') == '"a""b"'


def test_literals() -> None:
    assert d.literal(None) == "NULL"
    assert d.literal(True) == "TRUE"
    assert d.literal(42) == "42"
    assert d.literal(1.5) == "1.5"
    assert d.literal("it's 福州") == "'it''s 福州'"
    assert d.literal(dt.date(2020, 1, 2)) == "DATE '2020-01-02'"
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert d.literal(dt.datetime(2020, 1, 2, 8, tzinfo=shanghai)) == (
        "TIMESTAMPTZ '2020-01-02 00:00:00'"
    )
    with pytest.raises(ValueError):
        d.literal(float("nan"))
    with pytest.raises(TypeError):
        d.literal(object())


def test_parameters_are_named_identifiers() -> None:
    assert d.param("born") == "$born"
    with pytest.raises(ValueError):
        d.param("x; DROP TABLE t")


def test_types_casts_regexes_and_lengths() -> None:
    assert [d.type_name(t) for t in FieldType] == [
        "VARCHAR",
        "BIGINT",
        "DOUBLE",
        "DATE",
        "TIMESTAMPTZ",
        "BOOLEAN",
        "BLOB",
    ]
    assert d.safe_cast('"age"', FieldType.INTEGER) == 'TRY_CAST("age" AS BIGINT)'
    assert d.cast('"age"', FieldType.DECIMAL) == 'CAST("age" AS DOUBLE)'
    assert d.regex_match('"id"', r"^\d{17}[\dX]$") == "regexp_matches(\"id\", '^\\d{17}[\\dX]$')"
    assert d.length('"name"') == 'length("name")'
    assert d.substring('"id"', 1, 6) == 'substring("id", 1, 6)'
