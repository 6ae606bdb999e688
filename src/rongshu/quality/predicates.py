"""Custom SQL rules: a boolean expression over one resource's columns, and nothing else.

A predicate is pasted into the run's one query, so it is checked twice before it is stored:
first by reading it (one expression: no ``;``, no comments, no statement or query keywords, no
``FROM`` except in ``IS DISTINCT FROM`` and ``EXTRACT``/``SUBSTRING``/``TRIM``, and every bare
name a column of the resource, a type name or an expression keyword), then by the lake engine,
which must bind it against a table with the resource's columns and type it as a boolean.
"""

from __future__ import annotations

import re
from typing import Final

import pyarrow as pa

from rongshu.core.errors import ValidationFailed
from rongshu.lake.engine import LakeEngine
from rongshu.lake.errors import LakeQueryError

#: Words that start or join statements and queries, or reach outside the row.
FORBIDDEN: Final = frozenset(
    """
    select with union intersect except values table lateral join into over window qualify
    insert update delete merge upsert replace truncate create drop alter rename comment grant
    revoke attach detach copy export import install load pragma call execute exec prepare
    deallocate set reset vacuum analyze checkpoint describe show summarize explain use begin
    commit rollback abort transaction
    """.split()
)
#: Functions that read settings or variables, or expand to many columns.
FORBIDDEN_FUNCTIONS: Final = frozenset(
    {"columns", "current_setting", "getvariable", "set_variable", "unnest"}
)
#: Keywords an expression may use.
EXPRESSION_WORDS: Final = frozenset(
    """
    and or not null true false is in between like ilike similar to escape case when then else
    end cast try_cast as distinct interval any all some collate
    """.split()
)
#: Type names (after AS in a cast, or before a typed literal such as DATE '2020-01-01').
TYPE_WORDS: Final = frozenset(
    """
    varchar char character text string integer int bigint smallint tinyint hugeint double float
    real decimal numeric date time timestamp timestamptz boolean bool precision with without
    zone year month day hour minute second
    """.split()
)
#: Functions whose arguments may say FROM: EXTRACT(YEAR FROM d), SUBSTRING(s FROM 1 FOR 2).
FROM_FUNCTIONS: Final = frozenset({"extract", "substring", "trim", "overlay"})

_STRING = re.compile(r"'(?:[^']|'')*'")
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+|\S")


def check_predicate(predicate: str, columns: list[str]) -> None:
    """Refuse (``ValidationFailed``) what is not one expression over ``columns``."""
    problems = _problems(predicate, columns)
    if problems:
        raise ValidationFailed(
            f"the custom SQL rule is refused: {'; '.join(problems)}",
            details=[{"field": "params.predicate", "reason": p} for p in problems],
        )


def _problems(predicate: str, columns: list[str]) -> list[str]:
    if ";" in predicate:
        return ["it may not contain ';' (one expression, not statements)"]
    if "--" in predicate or "/*" in predicate:
        return ["it may not contain comments"]
    if predicate.count("'") % 2:
        return ["a string literal is not closed"]
    text = _STRING.sub("''", predicate)
    known = {c.lower() for c in columns}
    problems: list[str] = []
    for quoted in _QUOTED.findall(text):
        name = quoted.replace('""', '"')
        if name.lower() not in known:
            problems.append(f'"{name}" is not a column of the resource')
    text = _QUOTED.sub(" _quoted_column ", text)
    known.add("_quoted_column")
    tokens = _TOKEN.findall(text)
    calls: list[str | None] = []  # the function each open parenthesis belongs to
    for index, part in enumerate(tokens):
        word = part.lower()
        previous = tokens[index - 1].lower() if index else ""
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if part == "(":
            calls.append(previous if _is_word(previous) else None)
        elif part == ")":
            if not calls:
                return ["its parentheses do not match"]
            calls.pop()
        elif not _is_word(part):
            continue
        elif word == "from":
            if previous != "distinct" and (not calls or calls[-1] not in FROM_FUNCTIONS):
                problems.append(
                    "FROM may only appear in IS DISTINCT FROM and EXTRACT(... FROM ...)"
                )
        elif word in FORBIDDEN:
            problems.append(f"{part.upper()} is not allowed (one expression over the row only)")
        elif following == "(":
            if word in FORBIDDEN_FUNCTIONS or word.startswith(("read_", "pragma_", "duckdb_")):
                problems.append(f"the function {part} is not allowed")
        elif following == ".":
            problems.append(f"{part}.… refers to another table; name the resource's columns only")
        elif word not in known | EXPRESSION_WORDS | TYPE_WORDS:
            problems.append(f"{part} is not a column of the resource")
    if calls:
        problems.append("its parentheses do not match")
    return list(dict.fromkeys(problems))


def _is_word(token: str) -> bool:
    return bool(token) and (token[0].isalpha() or token[0] == "_")


def bind_predicate(engine: LakeEngine, predicate: str, schema: pa.Schema, alias: str) -> None:
    """Refuse a predicate the engine cannot type as a boolean over a table of ``schema``."""
    engine.register_arrow(alias, schema.empty_table())
    sql = f"SELECT ({predicate}) AS holds FROM {engine.dialect.quote(alias)} LIMIT 0"  # noqa: S608
    try:
        result = engine.query(sql)
    except LakeQueryError as exc:
        message = str(exc).split("\nSQL:", 1)[0]
        raise ValidationFailed(
            f"the custom SQL rule does not run on the resource's columns: {message}",
            details=[{"field": "params.predicate", "reason": message}],
        ) from None
    if not pa.types.is_boolean(result.schema.field("holds").type):
        raise ValidationFailed(
            "the custom SQL rule must be true or false for each row, "
            f"not {result.schema.field('holds').type}",
            details=[{"field": "params.predicate", "reason": "not a boolean expression"}],
        )
