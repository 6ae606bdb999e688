"""A grant's row filter: which rows of a resource a consumer may see.

The filter is data (column, operator, value), never SQL text: columns must be the resource's,
operators come from a fixed list and values are bound parameters, so nothing a consumer or an
approver types can change the statement. The same filter is evaluated two ways with the same
verdicts: as a SQL predicate inside the lake engine (batch exports, subscriptions) and on the
few rows a query or verification looks up (``matches``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from rongshu.core.errors import ValidationFailed
from rongshu.exchange.schemas import Condition, FilterOperator

Op = FilterOperator
_SQL: Mapping[FilterOperator, str] = {
    Op.EQ: "=",
    Op.NE: "<>",
    Op.LT: "<",
    Op.LE: "<=",
    Op.GT: ">",
    Op.GE: ">=",
}
_MAX_IN = 1000


@dataclass(frozen=True)
class _Bound:
    """A condition whose value is converted to its column's type."""

    column: str
    op: FilterOperator
    values: tuple[Any, ...]


def _convert(value: Any, arrow_type: pa.DataType, column: str) -> Any:
    """``value`` as a Python value of ``arrow_type``; a clear error when it is not one."""
    try:
        if pa.types.is_integer(arrow_type):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
            return float(value)
        if pa.types.is_boolean(arrow_type):
            text = str(value).lower()
            if text not in ("true", "false", "1", "0"):
                raise ValueError
            return text in ("true", "1")
        if pa.types.is_date(arrow_type):
            return date.fromisoformat(str(value))
        if pa.types.is_timestamp(arrow_type):
            return datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise ValidationFailed(
            f"row filter: {value!r} is not a valid value for {column} ({arrow_type})",
            details=[{"field": "row_filter", "reason": "bad_value", "column": column}],
        ) from None
    return str(value)


class RowFilter:
    """Conditions that must all hold (AND) for a row to be shared."""

    def __init__(self, conditions: Sequence[Condition], schema: pa.Schema) -> None:
        names = set(schema.names)
        bound = []
        for condition in conditions:
            if condition.column not in names:
                raise ValidationFailed(
                    f"row filter: the resource has no column {condition.column!r}",
                    details=[{"field": "row_filter", "reason": "unknown_column"}],
                )
            raw = condition.value if isinstance(condition.value, list) else [condition.value]
            if condition.op is not Op.IN and len(raw) != 1:
                raise ValidationFailed(
                    f"row filter: {condition.op.value} takes one value",
                    details=[{"field": "row_filter", "reason": "one_value"}],
                )
            if not raw or len(raw) > _MAX_IN:
                raise ValidationFailed(
                    f"row filter: 'in' takes 1 to {_MAX_IN} values",
                    details=[{"field": "row_filter", "reason": "value_count"}],
                )
            arrow_type = schema.field(condition.column).type
            if condition.op is Op.PREFIX:
                values: tuple[Any, ...] = (str(raw[0]),)
            else:
                values = tuple(_convert(v, arrow_type, condition.column) for v in raw)
            bound.append(_Bound(condition.column, condition.op, values))
        self._conditions = tuple(bound)
        self.conditions = tuple(conditions)

    def __bool__(self) -> bool:
        return bool(self._conditions)

    @property
    def columns(self) -> list[str]:
        """The columns the filter reads."""
        return list(dict.fromkeys(c.column for c in self._conditions))

    def sql(self, quote: Callable[[str], str]) -> tuple[str, list[Any]]:
        """The predicate with ``?`` placeholders, and its parameters (``TRUE`` with none)."""
        if not self._conditions:
            return "TRUE", []
        parts: list[str] = []
        params: list[Any] = []
        for c in self._conditions:
            column = quote(c.column)
            if c.op is Op.IN:
                parts.append(f"{column} IN ({', '.join('?' * len(c.values))})")
                params.extend(c.values)
            elif c.op is Op.PREFIX:
                parts.append(f"starts_with(CAST({column} AS VARCHAR), ?)")
                params.append(c.values[0])
            else:
                parts.append(f"{column} {_SQL[c.op]} ?")
                params.append(c.values[0])
        return " AND ".join(f"({p})" for p in parts), params

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` (column → value as the lake holds it) passes; SQL's verdict: a
        condition on a missing value (NULL) never holds."""
        for c in self._conditions:
            value = row.get(c.column)
            if value is None:
                return False
            if c.op is Op.IN:
                if value not in c.values:
                    return False
            elif c.op is Op.PREFIX:
                if not _text(value).startswith(c.values[0]):
                    return False
            elif not _compare(value, c.op, c.values[0]):
                return False
        return True


def _text(value: Any) -> str:
    """A value as DuckDB's ``CAST(... AS VARCHAR)`` writes it (for the prefix operator)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _compare(value: Any, op: FilterOperator, bound: Any) -> bool:
    if op is Op.EQ:
        return bool(value == bound)
    if op is Op.NE:
        return bool(value != bound)
    if op is Op.LT:
        return bool(value < bound)
    if op is Op.LE:
        return bool(value <= bound)
    if op is Op.GT:
        return bool(value > bound)
    return bool(value >= bound)
