"""Custom SQL rules are read before they are stored: one expression over the row, nothing else."""

from __future__ import annotations

import pytest

from rongshu.core.errors import ValidationFailed
from rongshu.quality.predicates import check_predicate

COLUMNS = ["age", "gender", "visit_date", "Amount"]


@pytest.mark.parametrize(
    "predicate",
    [
        "age >= 18",
        "age BETWEEN 0 AND 120 OR age IS NULL",
        "gender IN ('男', '女') AND length(gender) = 1",
        '"age" > 1 AND "Amount" < 10',
        "CAST(age AS VARCHAR) LIKE '1%'",
        "visit_date >= DATE '2020-01-01'",
        "age IS DISTINCT FROM 3",
        "extract(year FROM visit_date) > 2000",
        "CASE WHEN gender = '女' THEN age >= 20 ELSE age >= 22 END",
        "gender <> 'select from drop'",  # keywords inside a string are text
        "amount * 1.5e2 > 0",  # names are read case-insensitively, numbers are numbers
    ],
)
def test_expressions_over_the_columns_are_accepted(predicate: str) -> None:
    check_predicate(predicate, COLUMNS)


@pytest.mark.parametrize(
    ("predicate", "problem"),
    [
        ("age > 1; DELETE FROM x", "';'"),
        ("age > 1 -- comment", "comments"),
        ("age > /* x */ 1", "comments"),
        ("gender = 'open", "not closed"),
        ("age IN (SELECT age FROM other)", "SELECT is not allowed"),
        ("(FROM other) IS NULL", "FROM may only appear"),
        ("age IN (VALUES (1))", "VALUES is not allowed"),
        ("count(*) OVER () > 1", "OVER is not allowed"),
        ("read_csv('/etc/passwd') IS NULL", "read_csv is not allowed"),
        ("current_setting('temp_directory') = ''", "current_setting is not allowed"),
        ("other.age > 1", "refers to another table"),
        ("salary > 1", "salary is not a column"),
        ('"salary" > 1', '"salary" is not a column'),
        ("(age > 1", "parentheses"),
        ("age > 1)", "parentheses"),
    ],
)
def test_anything_else_is_refused_with_the_reason(predicate: str, problem: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_predicate(predicate, COLUMNS)
    assert problem in refused.value.message
    assert refused.value.details[0]["field"] == "params.predicate"
