"""Profiling a lake version and suggesting rules from what it holds.

A profile reads the version once: per column the rows, nulls, distinct values (exact, counted by
the lake engine in one query), and — from an evenly spread sample of at most ``sample_rows``
rows — the most frequent values and *shapes*: each digit written ``9``, each Latin letter ``A``
(``a`` in lower case), each Chinese character ``汉``, other characters as they are, so a column of
ID numbers shows ``999999999999999999`` and ``99999999999999999A``.

Suggestions turn a profile into rules a steward may accept: a national standard that at least
``STANDARD_SUPPORT`` of the sampled values pass (a column 99 % valid ID numbers gets ``ric``),
``not_null`` for a column without nulls, ``unique`` for one whose values are all distinct, and an
enumeration for a column with a handful of values. Nothing is applied until the steward accepts.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from rongshu.catalog.schemas import FieldType
from rongshu.core.errors import NotFound
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.lake.engine import LakeEngine
from rongshu.lake.tables import Lake, LakeTable
from rongshu.quality import rules
from rongshu.quality.schemas import RuleCreate, RuleIn, RuleKind, RulePublic
from rongshu.quality.seeding import fingerprint
from rongshu.standards import STANDARDS

#: Share of sampled non-null values a standard must accept to be suggested.
STANDARD_SUPPORT = 0.99
#: Most distinct values a column may have for an enumeration to be suggested.
ENUM_MAX_VALUES = 12
#: Fewest non-null rows before "all distinct" or "few values" say anything.
MIN_ROWS_FOR_SHAPE_RULES = 20
#: Standards worth suggesting from values alone ("date" would match any typed date column).
SUGGESTED_STANDARDS = (
    "ric",
    "uscc",
    "region",
    "mobile",
    "phone",
    "postcode",
    "email",
    "plate",
    "bank_card",
)
_SHAPES = ((r"[0-9]", "9"), (r"[A-Z]", "A"), (r"[a-z]", "a"), (r"[\x{4e00}-\x{9fff}]", "汉"))
_PROFILE_ALIAS = "profiled"


class ValueCount(BaseModel):
    value: str
    count: int


class ColumnProfile(BaseModel):
    """What one column holds."""

    name: str
    data_type: str
    rows: int
    nulls: int
    null_rate: float
    distinct: int
    top_values: list[ValueCount]
    shapes: list[ValueCount]
    sample_rows: int
    #: Every value, when the column has at most ``ENUM_MAX_VALUES`` of them.
    enum_values: list[str] | None = None
    #: Share of non-null values each national standard accepts (text columns; shares ≥ 0.5).
    standards: dict[str, float] = {}


class TableProfile(BaseModel):
    """A profile of one version of a resource's lake table."""

    table: str
    version: int
    rows: int
    sample_rows: int
    columns: list[ColumnProfile]


class RuleSuggestion(BaseModel):
    """A rule the profile suggests for a field: the steward accepts it or not."""

    rule: RuleIn
    support: float  # share of the values that pass it
    reason: str


def profile_table(
    table: LakeTable,
    engine: LakeEngine,
    *,
    version: int | None = None,
    sample_rows: int = 100_000,
    top: int = 5,
) -> TableProfile:
    """Profile ``table`` at ``version`` (the latest by default)."""
    version = table.version() if version is None else version
    if version is None:
        raise ValueError(f"lake table {table.name} has no version to profile")
    schema = table.schema(version)
    engine.register(_PROFILE_ALIAS, table, version)
    counts = _counts(engine, schema)
    rows = int(counts[0])
    texts = [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    support = _standard_support(engine, texts)
    sample = table.spread_sample(version, sample_rows)
    columns = []
    for index, field in enumerate(schema):
        values = sample.column(field.name)
        nulls, distinct = rows - int(counts[1 + 2 * index]), int(counts[2 + 2 * index])
        columns.append(
            ColumnProfile(
                name=field.name,
                data_type=str(field.type),
                rows=rows,
                nulls=nulls,
                null_rate=nulls / rows if rows else 0.0,
                distinct=distinct,
                top_values=_top(pc.cast(values, pa.string()), top),
                shapes=_top(shapes(values), top),
                sample_rows=sample.num_rows,
                enum_values=_values(engine, field.name) if distinct <= ENUM_MAX_VALUES else None,
                standards=support.get(field.name, {}),
            )
        )
    return TableProfile(
        table=table.name, version=version, rows=rows, sample_rows=sample.num_rows, columns=columns
    )


def _counts(engine: LakeEngine, schema: pa.Schema) -> list[int]:
    """Rows, then per column its non-null and distinct counts, in one query."""
    quote = engine.dialect.quote
    parts = ["COUNT(*)"]
    for field in schema:
        column = quote(field.name)
        parts += [f"COUNT({column})", f"COUNT(DISTINCT {column})"]
    # Identifiers are quoted by the dialect; values never enter the SQL.
    result = engine.query(f"SELECT {', '.join(parts)} FROM {quote(_PROFILE_ALIAS)}")  # noqa: S608
    return [int(result.column(i)[0].as_py() or 0) for i in range(result.num_columns)]


def _standard_support(engine: LakeEngine, columns: list[str]) -> dict[str, dict[str, float]]:
    """For each text column, the share of its non-null values each standard accepts (one query
    over the whole version; the standards' own SQL and lookup joins, so the verdicts are the
    runs' verdicts)."""
    if not columns:
        return {}
    dialect, quote = engine.dialect, engine.dialect.quote
    for name in SUGGESTED_STANDARDS:
        for alias, lookup in STANDARDS[name].lookups().items():
            engine.register_arrow(alias, lookup)
    parts, keys, joins = [], [], []
    for column in columns:
        expr = f"{quote(_PROFILE_ALIAS)}.{quote(column)}"
        parts.append(f"COUNT(NULLIF({expr}, ''))")
        keys.append((column, ""))
        for name in SUGGESTED_STANDARDS:
            joins += [
                join.sql()
                for join in STANDARDS[name].joins(expr, dialect)
                if join.sql() not in joins
            ]
            verdict = STANDARDS[name].sql(expr, dialect)
            parts.append(
                f"SUM(CASE WHEN NULLIF({expr}, '') IS NOT NULL AND ({verdict}) IS NULL "
                "THEN 1 ELSE 0 END)"
            )
            keys.append((column, name))
    # Identifiers are quoted by the dialect; values never enter the SQL.
    result = engine.query(
        f"SELECT {', '.join(parts)} FROM {quote(_PROFILE_ALIAS)} {' '.join(joins)}"  # noqa: S608
    )
    found: dict[str, dict[str, float]] = {}
    present = 0
    for index, (column, name) in enumerate(keys):
        value = int(result.column(index)[0].as_py() or 0)
        if not name:
            present = value
            found[column] = {}
        elif present and value / present >= 0.5:
            found[column][name] = value / present
    return found


def _values(engine: LakeEngine, column: str) -> list[str]:
    quote, text = engine.dialect.quote, engine.dialect.type_name(FieldType.STRING)
    result = engine.query(
        f"SELECT DISTINCT CAST({quote(column)} AS {text}) AS v "  # noqa: S608
        f"FROM {quote(_PROFILE_ALIAS)} WHERE {quote(column)} IS NOT NULL"
    )
    return sorted(str(v) for v in result.column(0).to_pylist())


def shapes(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Each value's shape: digits ``9``, Latin letters ``A``/``a``, Chinese characters ``汉``."""
    shaped = pc.cast(values, pa.string())
    for pattern, replacement in _SHAPES:
        shaped = pc.replace_substring_regex(shaped, pattern=pattern, replacement=replacement)
    return shaped


def _top(values: pa.ChunkedArray | pa.Array, top: int) -> list[ValueCount]:
    counted = pc.value_counts(pc.drop_null(values))
    if not len(counted):
        return []
    order = pc.sort_indices(counted.field("counts"), sort_keys=[("", "descending")])
    best = counted.take(order[:top])
    return [
        ValueCount(value=str(v), count=int(c))
        for v, c in zip(
            best.field("values").to_pylist(), best.field("counts").to_pylist(), strict=True
        )
    ]


def suggest_rules(profile: TableProfile) -> list[RuleSuggestion]:
    """Rules the profile supports, for the steward to accept or not."""
    suggestions: list[RuleSuggestion] = []
    for column in profile.columns:
        present = column.rows - column.nulls
        if column.rows and column.nulls == 0:
            suggestions.append(
                RuleSuggestion(
                    rule=RuleIn(field=column.name, kind=RuleKind.NOT_NULL),
                    support=1.0,
                    reason=f"no empty value in {column.rows:,} rows",
                )
            )
        if present >= MIN_ROWS_FOR_SHAPE_RULES and column.distinct == present:
            suggestions.append(
                RuleSuggestion(
                    rule=RuleIn(field=column.name, kind=RuleKind.UNIQUE),
                    support=1.0,
                    reason=f"all {present:,} values are different",
                )
            )
        elif present >= MIN_ROWS_FOR_SHAPE_RULES and column.enum_values is not None:
            suggestions.append(
                RuleSuggestion(
                    rule=RuleIn(
                        field=column.name, kind=RuleKind.ENUM, params={"values": column.enum_values}
                    ),
                    support=1.0,
                    reason=f"only {column.distinct} different values in {present:,} rows",
                )
            )
        passing = {n: share for n, share in column.standards.items() if share >= STANDARD_SUPPORT}
        if passing:
            name = max(passing, key=lambda n: (passing[n], -SUGGESTED_STANDARDS.index(n)))
            suggestions.append(
                RuleSuggestion(
                    rule=RuleIn(
                        field=column.name, kind=RuleKind.STANDARD, params={"standard": name}
                    ),
                    support=passing[name],
                    reason=f"{passing[name]:.2%} of the values are valid {STANDARDS[name].label}",
                )
            )
    return suggestions


def profile_resource(
    platform: Platform, resource_code: str, *, version: int | None = None
) -> tuple[TableProfile, list[RuleSuggestion]]:
    """Profile a resource's lake table (the latest version by default) and suggest rules,
    leaving out the rules the resource already has."""
    lake = Lake.from_settings(platform.settings)
    table = lake.table(resource_code)
    if table.version() is None:
        raise NotFound(f"{resource_code} has no data in the lake yet: load it first")
    with lake.work_engine() as engine:
        profile = profile_table(table, engine, version=version)
    with platform.db.session_scope() as session:
        have = {
            fingerprint(r.field, r.kind, r.params)
            for r in rules.list_rules(session, resource_code=resource_code)
        }
    suggestions = [
        s
        for s in suggest_rules(profile)
        if fingerprint(s.rule.field, s.rule.kind, s.rule.params) not in have
    ]
    return profile, suggestions


def accept_suggestions(
    platform: Platform,
    resource_code: str,
    suggestions: list[RuleSuggestion],
    *,
    actor: Actor,
) -> list[RulePublic]:
    """Add the suggested rules (a steward of the resource's department accepts them)."""
    added = []
    with platform.db.session_scope() as session:
        for suggestion in suggestions:
            data = RuleCreate(resource_code=resource_code, **suggestion.rule.model_dump())
            added.append(
                rules.add_rule(
                    session,
                    data=data,
                    actor=actor,
                    ledger=platform.ledger,
                    settings=platform.settings,
                )
            )
    return added
