"""Compiling rules: what cannot run on a version is skipped with the reason, never guessed."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from rongshu.lake.duckdb_engine import DuckDBDialect
from rongshu.quality.compiler import Reference, RuleSpec, compile_run
from rongshu.quality.schemas import RuleKind

SCHEMA = pa.schema(
    [("id", pa.string()), ("n", pa.int64()), ("blob", pa.binary()), ("day", pa.date32())]
)


def compiled(*rules: tuple[RuleKind, str | None, dict[str, Any]], keys: list[str] | None = None,
             references: dict[int, Reference | None] | None = None) -> Any:  # fmt: skip
    specs = [RuleSpec(i, kind, column, params) for i, (kind, column, params) in enumerate(rules)]
    return compile_run(
        specs, source="src", schema=SCHEMA, keys=keys if keys is not None else ["id"],
        dialect=DuckDBDialect(), references=references or {},
    )  # fmt: skip


def test_rules_that_do_not_fit_the_version_are_skipped_with_why() -> None:
    query = compiled(
        (RuleKind.NOT_NULL, "gone", {}),
        (RuleKind.REGEX, "blob", {"pattern": "x"}),
        (RuleKind.RANGE, "n", {"min": "2020-01-01"}),
        (RuleKind.RANGE, "day", {"min": 1}),
        (RuleKind.REFERENTIAL, "id", {"resource": "R", "column": "c"}),
        (RuleKind.REFERENTIAL, "id", {"resource": "R", "column": "c"}),
        (RuleKind.TIMELINESS, None, {}),
        (RuleKind.STANDARD, "day", {"standard": "date"}),
        references={5: Reference("_ref5", pa.schema([("other", pa.string())]))},
    )
    assert query.sql is None and query.checks == []
    assert query.skipped == {
        0: "the version has no column 'gone'",
        1: "column 'blob' holds binary data, not text",
        2: "column 'n' (int64) cannot be compared with dates",
        3: "column 'day' (date32[day]) cannot be compared with numbers",
        4: "R.c has no lake version to look values up in",
        5: "R.c is not a column of the latest version",
        7: "column 'day' holds typed dates (date32[day]), not text to check",
    }  # the timeliness rule is answered outside the query


def test_one_query_keyed_by_the_key_columns_or_by_position() -> None:
    keyed = compiled((RuleKind.NOT_NULL, "n", {}), (RuleKind.UNIQUE, "id", {}))
    assert keyed.key_names == ["id"] and [c.id for c in keyed.checks] == [0, 1]
    assert keyed.sql is not None and ";" not in keyed.sql
    assert 'GROUP BY "id" HAVING count(*) > 1' in keyed.sql
    assert 'AS "_row"' not in keyed.sql
    unkeyed = compiled((RuleKind.NOT_NULL, "n", {}), keys=["missing_key"])
    assert unkeyed.key_names == ["_row"] and 'row_number() OVER () AS "_row"' in str(unkeyed.sql)


def test_regexes_must_match_the_whole_value() -> None:
    query = compiled((RuleKind.REGEX, "id", {"pattern": "[0-9]+"}),
                     (RuleKind.REGEX, "n", {"pattern": "^[0-9]+$"}))  # fmt: skip
    assert "'^(?:[0-9]+)$'" in str(query.sql) and "'^[0-9]+$'" in str(query.sql)
