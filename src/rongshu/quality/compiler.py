"""Every enabled rule of a resource compiled into ONE SQL query over a lake version.

Each row-level rule becomes a reason expression (``CASE ... THEN 'reason code' END``, NULL
where the row passes); a ``unique`` rule a LEFT JOIN to its column's duplicated values, a
``referential`` rule a LEFT JOIN to the distinct values of the other table's column, a
``standard`` rule the standard's own SQL and LEFT JOINs to its lookup tables (registered
first; rules looking up the same value share a join). Rows failing no rule are dropped inside
the query, and each failing (row, rule) comes out as one row:
``_i`` (the rule's index), ``_first`` (the index of the row's first failing rule, so failing
rows are counted once), the key columns (``_k0``...), ``value`` and ``reason``. The SQL is ANSI
plus what the engine's dialect offers, so another engine can run it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from rongshu.catalog.schemas import FieldType
from rongshu.lake.dialect import SqlDialect
from rongshu.quality.schemas import (
    RESOURCE_KINDS,
    CustomSqlParams,
    EnumParams,
    IdFieldParams,
    LengthParams,
    RangeParams,
    RegexParams,
    RegionParams,
    RuleKind,
    StandardParams,
)
from rongshu.standards import vectors

#: Spellings of gender a field may hold, by the gender they mean (GB/T 2261.1 codes included).
GENDER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "男": ("男", "男性", "1", "M", "m", "male", "Male", "MALE"),
    "女": ("女", "女性", "2", "F", "f", "female", "Female", "FEMALE"),
}
#: A day no ID number holds, standing for a stated birth date that cannot be read.
NO_BIRTH_DATE = date(1, 1, 1)
#: Spellings that state no gender (0 未知的性别, 9 未说明的性别): nothing to compare.
GENDER_UNSTATED: tuple[str, ...] = ("0", "9", "未知", "未说明")
#: What ``stated_genders`` gives a spelling that is none of the above.
UNREADABLE_GENDER = "?"


def stated_genders(values: pa.Array) -> pa.Array:
    """The gender each cell of a text column states, read as the ``ric_gender`` rule's SQL reads
    it (spaces trimmed): 男, 女, ``UNREADABLE_GENDER``, or NULL (empty, or no gender stated).
    Column at a time: each distinct spelling is looked up once."""
    words = pc.dictionary_encode(pc.utf8_trim(vectors.plain_text(values), characters=" "))
    spelled = {s: gender for gender, spellings in GENDER_SPELLINGS.items() for s in spellings}
    stated = [
        None if word in ("", *GENDER_UNSTATED) else spelled.get(word, UNREADABLE_GENDER)
        for word in words.dictionary.to_pylist()
    ]
    return pc.take(pa.array(stated, pa.string()), words.indices)


@dataclass(frozen=True)
class RuleSpec:
    """What the compiler needs of a rule."""

    id: int
    kind: RuleKind
    field: str | None
    params: dict[str, Any]


@dataclass(frozen=True)
class Reference:
    """The registered lake table a referential rule looks values up in."""

    alias: str
    schema: pa.Schema


@dataclass(frozen=True)
class ComputedColumn:
    """A column the scan adds to each batch of the version with a vectorised function (the
    standards' column forms, ``rongshu.standards.vectors``) before the query reads it."""

    name: str
    function: Callable[[pa.Array], pa.Array]
    argument: str  # the column of the version the function reads


@dataclass
class RunQuery:
    """The compiled run: the SQL (None when no rule is checkable) and how to read its output."""

    sql: str | None
    checks: list[RuleSpec]  # output ``_i`` is the index into this list
    key_names: list[str]  # names of the key columns, for the row key; ["_row"] without keys
    lookups: dict[str, pa.Table] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)  # rule id → why it was not checked
    #: Columns the query's scan must gain, computed in Arrow: when there are any, the query
    #: scans ``stream`` (the version's ``columns`` — None: all — batch by batch, each with the
    #: computed columns added) instead of ``source``.
    computed: list[ComputedColumn] = field(default_factory=list)
    columns: list[str] | None = None
    #: Whether the stream must number its rows as ``_row`` (1, 2, ... in scan order).
    numbers_rows: bool = False


class _Skip(Exception):
    """A rule that cannot be checked on this version (a column missing, a wrong type)."""


def compile_run(
    rules: Sequence[RuleSpec],
    *,
    source: str,
    schema: pa.Schema,
    keys: Sequence[str],
    dialect: SqlDialect,
    references: Mapping[int, Reference | None],
    stream: str | None = None,
) -> RunQuery:
    """The one query checking every row-level rule in ``rules`` on the table ``source``.

    With ``stream``, the name the caller will give the version's batches with computed columns
    added (``RunQuery.computed``), the costliest standards read those columns; without, every
    rule is plain SQL.
    """
    compiler = _Compiler(source, schema, keys, dialect, references, stream)
    for rule in rules:
        if rule.kind in RESOURCE_KINDS:
            continue
        try:
            compiler.add(rule)
        except _Skip as skip:
            compiler.skipped[rule.id] = str(skip)
    return compiler.build()


class _Compiler:
    def __init__(
        self,
        source: str,
        schema: pa.Schema,
        keys: Sequence[str],
        dialect: SqlDialect,
        references: Mapping[int, Reference | None],
        stream: str | None = None,
    ) -> None:
        self.source = source
        self.stream = stream
        self.schema = schema
        self.dialect = dialect
        self.references = references
        self.q = dialect.quote
        present = [k for k in keys if k in schema.names]
        self.keys = present if present and len(present) == len(keys) else []
        self.checks: list[RuleSpec] = []
        self.reasons: list[str] = []
        self.values: list[str] = []
        self.duplicates: dict[str, str] = {}  # column → alias of its duplicated values
        self.joins: list[str] = []
        self.lookups: dict[str, pa.Table] = {}
        self.skipped: dict[int, str] = {}
        self.computed: dict[tuple[str, str], ComputedColumn] = {}  # (function, column) → it
        self.used: set[str] | None = set(self.keys)  # columns the rules read; None: all

    # -- columns ---------------------------------------------------------------------------

    def column(self, name: str | None) -> str:
        if name is None or name not in self.schema.names:
            raise _Skip(f"the version has no column {name!r}")
        if self.used is not None:
            self.used.add(name)
        return f"{self.q('_base')}.{self.q(name)}"

    def computed_column(
        self, function: Callable[[pa.Array], pa.Array], label: str, name: str
    ) -> str | None:
        """The column ``function`` computes from the text column ``name`` (once, however many
        rules read it), or None where the SQL form must serve: no stream, or no text column."""
        self.column(name)
        data_type = self.type_of(name)
        if self.stream is None or not (
            pa.types.is_string(data_type) or pa.types.is_large_string(data_type)
        ):
            return None
        key = (label, name)
        if key not in self.computed:
            self.computed[key] = ComputedColumn(f"__c{len(self.computed)}", function, name)
        return f"{self.q('_base')}.{self.q(self.computed[key].name)}"

    def type_of(self, name: str) -> pa.DataType:
        return self.schema.field(name).type

    def text(self, name: str) -> str:
        """The column as text (VARCHAR): what standards, patterns and code tables read."""
        column, data_type = self.column(name), self.type_of(name)
        if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
            return column
        if pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type):
            raise _Skip(f"column {name!r} holds binary data, not text")
        return self.dialect.cast(column, FieldType.STRING)

    # -- rules -----------------------------------------------------------------------------

    def add(self, rule: RuleSpec) -> None:
        reason = getattr(self, f"_{rule.kind.value}")(rule)
        value = self.text(rule.field) if rule.field is not None else "NULL"
        self.checks.append(rule)
        self.reasons.append(reason)
        self.values.append(value)

    def _not_null(self, rule: RuleSpec) -> str:
        column = self.column(rule.field)
        data_type = self.type_of(str(rule.field))
        missing = f"{column} IS NULL"
        if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
            missing += f" OR TRIM({column}) = ''"
        return f"CASE WHEN {missing} THEN 'not_null.missing' END"

    def _unique(self, rule: RuleSpec) -> str:
        column = self.column(rule.field)
        name = str(rule.field)
        if name not in self.duplicates:
            # The duplicated values only (a GROUP BY over one column), joined back: unlike a
            # window count, it never holds every row's columns in memory.
            alias = self.q(f"_d{len(self.duplicates)}")
            self.duplicates[name] = alias
            values = (
                f"SELECT {self.q(name)} AS {self.q('_dup')} FROM {self.q(self.source)} "  # noqa: S608
                f"GROUP BY {self.q(name)} HAVING count(*) > 1"
            )
            self.joins.append(
                f"LEFT JOIN ({values}) AS {alias} ON {alias}.{self.q('_dup')} = {column}"
            )
        duplicated = f"{self.duplicates[name]}.{self.q('_dup')}"
        return f"CASE WHEN {duplicated} IS NOT NULL THEN 'unique.duplicate' END"

    def _enum(self, rule: RuleSpec) -> str:
        text = self.text(str(rule.field))
        values = EnumParams.model_validate(rule.params).values
        listed = ", ".join(self.dialect.string_literal(v) for v in values)
        return (
            f"CASE WHEN {text} IS NOT NULL AND {text} NOT IN ({listed}) THEN 'enum.not_listed' END"
        )

    def _range(self, rule: RuleSpec) -> str:
        params = RangeParams.model_validate(rule.params)
        name = str(rule.field)
        column, data_type = self.column(name), self.type_of(name)
        if params.is_date:
            if pa.types.is_date(data_type):
                value = column
            elif pa.types.is_timestamp(data_type):
                value = self.dialect.cast(column, FieldType.DATE)
            elif pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
                value = self.dialect.safe_cast(column, FieldType.DATE)
            else:
                raise _Skip(f"column {name!r} ({data_type}) cannot be compared with dates")
        elif pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
            value = column
        elif pa.types.is_decimal(data_type):
            value = self.dialect.cast(column, FieldType.DECIMAL)
        elif pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
            value = self.dialect.safe_cast(column, FieldType.DECIMAL)
        else:
            raise _Skip(f"column {name!r} ({data_type}) cannot be compared with numbers")
        whens = [
            f"WHEN {column} IS NULL THEN NULL",
            f"WHEN {value} IS NULL THEN 'range.unreadable'",
        ]
        if params.min is not None:
            whens.append(
                f"WHEN {value} < {self.dialect.literal(params.min)} THEN 'range.below_min'"
            )
        if params.max is not None:
            whens.append(
                f"WHEN {value} > {self.dialect.literal(params.max)} THEN 'range.above_max'"
            )
        return f"CASE {' '.join(whens)} END"

    def _length(self, rule: RuleSpec) -> str:
        params = LengthParams.model_validate(rule.params)
        text = self.text(str(rule.field))
        length = self.dialect.length(text)
        whens = []
        if params.min is not None:
            whens.append(f"WHEN {length} < {params.min} THEN 'length.too_short'")
        if params.max is not None:
            whens.append(f"WHEN {length} > {params.max} THEN 'length.too_long'")
        return f"CASE WHEN {text} IS NULL THEN NULL {' '.join(whens)} END"

    def _regex(self, rule: RuleSpec) -> str:
        pattern = RegexParams.model_validate(rule.params).pattern
        if not (pattern.startswith("^") and pattern.endswith("$")):
            pattern = f"^(?:{pattern})$"
        text = self.text(str(rule.field))
        matches = self.dialect.regex_match(text, pattern)
        return f"CASE WHEN {text} IS NOT NULL AND NOT {matches} THEN 'regex.no_match' END"

    def _standard(self, rule: RuleSpec) -> str:
        from rongshu.standards import get_standard

        standard = get_standard(StandardParams.model_validate(rule.params).standard)
        name = str(rule.field)
        data_type = self.type_of(name) if name in self.schema.names else None
        if data_type is not None and (
            pa.types.is_date(data_type) or pa.types.is_timestamp(data_type)
        ):
            # Standards check text; the load already read every value of this column as a date.
            raise _Skip(f"column {name!r} holds typed dates ({data_type}), not text to check")
        text = self.text(name)
        check_array = getattr(standard, "check_array", None)
        computed = check_array and self.computed_column(check_array, standard.name, name)
        if computed:
            return computed
        self.lookups.update(standard.lookups())
        for join in standard.joins(text, self.dialect):
            if join.sql() not in self.joins:
                self.joins.append(join.sql())
        return standard.sql(text, self.dialect)

    def _ric_birth_date(self, rule: RuleSpec) -> str:
        from rongshu.standards import ric

        id_field = IdFieldParams.model_validate(rule.params).id_field
        id_number = self.text(id_field)
        born = self.computed_column(
            ric.ric_birth_date_array, "ric_birth_date", id_field
        ) or self.dialect.safe_cast(ric.ric_birth_date_sql(id_number, self.dialect), FieldType.DATE)
        name = str(rule.field)
        column, data_type = self.column(name), self.type_of(name)
        if pa.types.is_date(data_type):
            stated = column
        elif pa.types.is_timestamp(data_type):
            stated = self.dialect.cast(column, FieldType.DATE)
        else:
            stated = self.dialect.safe_cast(self.text(name), FieldType.DATE)
        # The ID's date is written once (it is the costly part); an unreadable stated date
        # compares as a day no ID holds, and an ID without a date compares as unknown (NULL).
        never = self.dialect.literal(NO_BIRTH_DATE)
        return (
            f"CASE WHEN {column} IS NOT NULL AND COALESCE({stated}, {never}) <> {born} "
            "THEN 'ric_birth_date.mismatch' END"
        )

    def _ric_gender(self, rule: RuleSpec) -> str:
        from rongshu.standards import ric

        id_field = IdFieldParams.model_validate(rule.params).id_field
        id_number = self.text(id_field)
        derived = self.computed_column(
            ric.ric_gender_array, "ric_gender", id_field
        ) or ric.ric_gender_sql(id_number, self.dialect)
        stated_gender = self.computed_column(stated_genders, "stated_gender", str(rule.field))
        if stated_gender:
            return (
                f"CASE WHEN {stated_gender} = '{UNREADABLE_GENDER}' THEN "
                f"(CASE WHEN {derived} IS NOT NULL THEN 'ric_gender.unreadable' END) "
                f"WHEN {stated_gender} <> {derived} THEN 'ric_gender.mismatch' END"
            )
        stated = f"TRIM({self.text(str(rule.field))})"
        literal = self.dialect.string_literal
        spelled = " ".join(
            f"WHEN {stated} IN ({', '.join(literal(s) for s in spellings)}) THEN {literal(gender)}"
            for gender, spellings in GENDER_SPELLINGS.items()
        )
        unstated = ", ".join(literal(s) for s in GENDER_UNSTATED)
        normalised = f"(CASE {spelled} END)"
        # Each branch reads the ID's gender once; a row takes one branch.
        return (
            f"CASE WHEN {stated} IS NULL OR {stated} = '' OR {stated} IN ({unstated}) THEN NULL "
            f"WHEN {normalised} IS NULL THEN "
            f"(CASE WHEN {derived} IS NOT NULL THEN 'ric_gender.unreadable' END) "
            f"WHEN {normalised} <> {derived} THEN 'ric_gender.mismatch' END"
        )

    def _ric_region(self, rule: RuleSpec) -> str:
        from rongshu.standards import ric

        params = RegionParams.model_validate(rule.params)
        id_number = self.text(params.id_field)
        derived = self.computed_column(
            ric.ric_region_array, "ric_region", params.id_field
        ) or ric.ric_region_sql(id_number, self.dialect)
        stated = f"TRIM({self.text(str(rule.field))})"
        prefix = self.dialect.substring
        return (
            f"CASE WHEN {stated} <> '' AND {prefix(stated, 1, params.level)} "
            f"<> {prefix(derived, 1, params.level)} THEN 'ric_region.mismatch' END"
        )

    def _referential(self, rule: RuleSpec) -> str:
        reference = self.references.get(rule.id)
        target = f"{rule.params.get('resource')}.{rule.params.get('column')}"
        if reference is None:
            raise _Skip(f"{target} has no lake version to look values up in")
        other = str(rule.params["column"])
        if other not in reference.schema.names:
            raise _Skip(f"{target} is not a column of the latest version")
        name = str(rule.field)
        column = self.column(name)
        joined = self.q(f"_j{len(self.joins)}")
        looked_up = self.q(other)
        if self.type_of(name) != reference.schema.field(other).type:
            column = self.text(name)
            looked_up = self.dialect.cast(looked_up, FieldType.STRING)
        distinct = f"SELECT DISTINCT {looked_up} AS {self.q('_ref')} FROM {self.q(reference.alias)}"  # noqa: S608
        self.joins.append(
            f"LEFT JOIN ({distinct}) AS {joined} ON {joined}.{self.q('_ref')} = {column}"
        )
        return (
            f"CASE WHEN {column} IS NOT NULL AND {joined}.{self.q('_ref')} IS NULL "
            "THEN 'referential.missing' END"
        )

    def _custom_sql(self, rule: RuleSpec) -> str:
        predicate = CustomSqlParams.model_validate(rule.params).predicate
        self.used = None  # the predicate may read any column
        return f"CASE WHEN NOT ({predicate}) THEN 'custom_sql.false' END"

    # -- the query -------------------------------------------------------------------------

    def build(self) -> RunQuery:
        key_names = self.keys or ["_row"]
        if not self.checks:
            return RunQuery(None, [], key_names, self.lookups, self.skipped)
        q = self.q
        base = q("_base")
        indexes = range(len(self.checks))
        reasons = ", ".join(f"{reason} AS {q(f'_r{i}')}" for i, reason in enumerate(self.reasons))
        outputs = ", ".join(
            [f"{base}.{q(name)} AS {q(f'_k{i}')}" for i, name in enumerate(key_names)]
            + [f"{value} AS {q(f'_v{i}')}" for i, value in enumerate(self.values)]
            + [q(f"_r{i}") for i in indexes]
        )
        any_failing = " OR ".join(f"{q(f'_r{i}')} IS NOT NULL" for i in indexes)
        first = ", ".join(f"CASE WHEN {q(f'_r{i}')} IS NOT NULL THEN {i} END" for i in indexes)
        first = f"COALESCE({first}, -1)" if len(indexes) > 1 else "0"
        rule = f"{q('_rules')}.{q('_i')}"

        def pick(prefix: str, alias: str) -> str:
            """The column ``<prefix><i>`` of the rule ``i`` in hand, as text."""
            whens = " ".join(f"WHEN {i} THEN {q(prefix + str(i))}" for i in indexes)
            return (
                f"{self.dialect.cast(f'CASE {rule} {whens} END', FieldType.STRING)} AS {q(alias)}"
            )

        rules = f"(VALUES {', '.join(f'({i})' for i in indexes)}) AS {q('_rules')}({q('_i')})"
        unpivoted = ", ".join(
            [f"{rule} AS {q('_i')}", q("_first")]
            + [q(f"_k{i}") for i in range(len(key_names))]
            + [pick("_v", "value"), pick("_r", "reason")]
        )
        # Nested queries, each read once: (1) every row with its reasons, (2) the rows failing
        # any, (3) their keys and values, (4) one row per failing (row, rule). Values are taken
        # only from failing rows. Each reason must be computed once, not again in (2)'s filter:
        # scanning the table, a row_number() over (1) is a barrier the engine cannot push the
        # filter below. A stream needs none (the engine pushes no filter into one, see
        # LakeEngine.register_stream), and a window would hold the whole stream in memory; it
        # numbers its rows itself.
        joins = " ".join(self.joins)
        scanned = self.stream if self.computed and self.stream else self.source
        streamed = scanned != self.source
        numbered = "" if self.keys or streamed else f", row_number() OVER () AS {q('_row')}"
        barrier = "" if streamed else f", row_number() OVER () AS {q('_seq')}"
        sql = f"SELECT *{numbered} FROM {q(scanned)}"  # noqa: S608
        sql = f"SELECT {base}.*, {reasons}{barrier} FROM ({sql}) AS {base} {joins}"  # noqa: S608
        sql = f"SELECT * FROM ({sql}) AS {base} WHERE {any_failing}"  # noqa: S608
        sql = f"SELECT {outputs}, {first} AS {q('_first')} FROM ({sql}) AS {base}"  # noqa: S608
        sql = f"SELECT {unpivoted} FROM ({sql}) AS {q('_failing')} CROSS JOIN {rules}"  # noqa: S608
        sql = f"SELECT * FROM ({sql}) AS {q('_long')} WHERE {q('reason')} IS NOT NULL"  # noqa: S608
        computed = list(self.computed.values())
        columns = None if self.used is None else [n for n in self.schema.names if n in self.used]
        return RunQuery(
            sql,
            list(self.checks),
            key_names,
            self.lookups,
            self.skipped,
            computed,
            columns,
            numbers_rows=streamed and not self.keys,
        )
