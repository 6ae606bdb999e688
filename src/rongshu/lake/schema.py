"""Arrow schemas of lake tables: from catalog fields, and checks that loads fit them."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pyarrow as pa

from rongshu.catalog.schemas import FieldSpec, FieldType
from rongshu.core.errors import Conflict, ValidationFailed

#: Arrow type of each catalog field type; every engine (DuckDB, Spark) reads these from Parquet.
FIELD_ARROW_TYPES: dict[FieldType, pa.DataType] = {
    FieldType.STRING: pa.string(),
    FieldType.INTEGER: pa.int64(),
    FieldType.DECIMAL: pa.float64(),
    FieldType.DATE: pa.date32(),
    FieldType.DATETIME: pa.timestamp("us", tz="UTC"),
    FieldType.BOOLEAN: pa.bool_(),
    FieldType.BINARY: pa.binary(),
}

# Delta Lake without column mapping refuses these characters in column names; "." would be read
# as a nested field by SQL engines, and a leading "_" is how we mark the lake's own columns.
_COLUMN = re.compile(r"[^\s,;{}()=\"`.][^\s,;{}()=\"`.]{0,127}")


def arrow_schema(fields: Sequence[FieldSpec]) -> pa.Schema:
    """The lake table schema of a resource: one nullable column per field, named by english_name."""
    problems: list[dict[str, str]] = []
    columns: list[pa.Field] = []
    seen: set[str] = set()
    for field in fields:
        column = field.english_name.strip()
        if not column:
            problems.append({"field": field.name, "problem": "has no english_name (column name)"})
            continue
        if field.data_type is None:
            problems.append({"field": field.name, "problem": "has no data type"})
            continue
        problem = column_problem(column)
        if problem:
            problems.append({"field": field.name, "problem": problem})
            continue
        if column.lower() in seen:
            problems.append({"field": field.name, "problem": f"column {column!r} appears twice"})
            continue
        seen.add(column.lower())
        columns.append(pa.field(column, FIELD_ARROW_TYPES[FieldType(field.data_type)]))
    if problems:
        listed = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise ValidationFailed(f"the fields cannot make a lake table: {listed}", details=problems)
    if not columns:
        raise ValidationFailed("a lake table needs at least one field")
    return pa.schema(columns)


def key_columns(fields: Sequence[FieldSpec]) -> list[str]:
    """Column names of the key fields (is_key), in field order: the key of merge loads."""
    return [field.english_name.strip() for field in fields if field.is_key]


def column_problem(name: str) -> str | None:
    """Why ``name`` cannot be a lake column, or None when it can."""
    if name.startswith("_"):
        return f"column {name!r} starts with '_', which the lake keeps for itself"
    if not _COLUMN.fullmatch(name):
        return (
            f"column {name!r} is empty, longer than 128 characters, or has a space or one of "
            ', ; { } ( ) = " ` .'
        )
    return None


def check_schema(schema: pa.Schema) -> None:
    """Refuse a schema whose column names the lake or its engines cannot hold."""
    problems = [p for p in (column_problem(n) for n in schema.names) if p]
    lowered = [n.lower() for n in schema.names]
    twice = sorted({n for n in lowered if lowered.count(n) > 1})
    problems += [f"column {n!r} appears twice" for n in twice]
    if problems:
        raise ValidationFailed("; ".join(problems), details=[{"problem": p} for p in problems])


def same_type(a: pa.DataType, b: pa.DataType) -> bool:
    """Equal for the lake: string and large_string (and friends) are one type on disk."""
    return bool(normalise_type(a) == normalise_type(b))


def normalise_type(data_type: pa.DataType) -> pa.DataType:
    """The type as the lake stores it (what reading a version gives back)."""
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return pa.string()
    if pa.types.is_large_binary(data_type) or pa.types.is_binary_view(data_type):
        return pa.binary()
    if pa.types.is_timestamp(data_type) and data_type.tz is not None:
        return pa.timestamp("us", tz="UTC")
    return data_type


def check_compatible(table: str, current: pa.Schema, incoming: pa.Schema) -> bool:
    """Whether an append or merge of ``incoming`` fits ``current``; True when it adds columns.

    Columns may be added (earlier versions read them as null); a column may not disappear or
    change type, because earlier rows could not be read as the new type. A full snapshot
    (overwrite) replaces the schema instead.
    """
    incoming_types = {f.name: f.type for f in incoming}
    problems = []
    for field in current:
        if field.name not in incoming_types:
            problems.append(f"column {field.name!r} is missing from the load")
        elif not same_type(field.type, incoming_types[field.name]):
            problems.append(
                f"column {field.name!r} is {normalise_type(field.type)} in the table "
                f"but {normalise_type(incoming_types[field.name])} in the load"
            )
    if problems:
        raise Conflict(
            f"the load does not fit lake table {table!r}: {'; '.join(problems)} "
            "(a full snapshot load replaces the schema)",
            details=[{"problem": p} for p in problems],
        )
    return len(incoming) > len(current)


def conform_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns, order and types, or ValidationFailed."""
    if batch.schema.equals(schema, check_metadata=False):
        return batch
    names = set(batch.schema.names)
    if names != set(schema.names):
        missing = sorted(set(schema.names) - names)
        extra = sorted(names - set(schema.names))
        raise ValidationFailed(
            f"a batch does not have the table's columns (missing {missing}, unexpected {extra})"
        )
    arrays = []
    for field in schema:
        column = batch.column(field.name)
        if column.type != field.type:
            try:
                column = column.cast(field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValidationFailed(
                    f"column {field.name!r} is {column.type} and cannot become {field.type}: {exc}"
                ) from exc
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
