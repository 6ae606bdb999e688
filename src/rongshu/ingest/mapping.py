"""Field mapping (字段映射): from a source's columns to a catalog resource's fields.

A ``FieldMapping`` is saved per source (it is plain JSON through pydantic). A ``Mapper`` applies
it to Arrow record batches as they stream from a connector: each batch comes back as the rows
that fit the resource's lake table (``MappedBatch.good``, typed per the catalog fields) and one
rejected record per failing cell (``MappedBatch.rejected``), with the reason in Chinese and
English and the whole source row, so that no row is ever dropped silently: every input row is
either in ``good`` or named by ``row_number`` in ``rejected``.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from rongshu.catalog.schemas import FieldSpec, FieldType
from rongshu.core.errors import ValidationFailed
from rongshu.ingest.matching import match_columns
from rongshu.ingest.normalise import DEFAULT_STEPS, unknown_steps
from rongshu.ingest.parsing import (
    ARROW_TYPES,
    REASONS,
    Mask,
    Parsed,
    ParseOptions,
    format_pattern,
    parse,
)
from rongshu.ingest.rejects import REJECTED_SCHEMA, REQUIRED_REASON, FlaggedCells
from rongshu.lake.schema import arrow_schema

__all__ = [
    "REJECTED_SCHEMA",
    "REQUIRED_REASON",
    "ColumnMapping",
    "FieldMapping",
    "MappedBatch",
    "Mapper",
    "target_schema",
]


class ColumnMapping(BaseModel):
    """Where one catalog field's values come from and how they are cleaned."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(
        None, description="Source column; None leaves the field empty (null)."
    )
    target: str = Field(min_length=1, description="The catalog field's english_name.")
    normalise: list[str] = Field(
        default_factory=list,
        description="Extra normalisation steps by name, e.g. no_spaces, upper, null_markers.",
    )
    skip: list[str] = Field(
        default_factory=list,
        description="Default steps not to apply to this text field (numbers and dates always "
        "get them: they are part of reading the value).",
    )
    date_formats: list[str] | None = Field(
        None,
        description="strptime-style formats tried in turn instead of the built-in date readers, "
        "e.g. ['%d/%m/%Y'].",
    )
    excel_serial: bool | None = Field(
        None,
        description="Numbers 1-60000 in a date field are Excel serial numbers: true, false, or "
        "None to decide: numeric cells and five-digit numbers (1927-2064) always, smaller "
        "numbers only when most of the column's numbers are five-digit serials.",
    )
    required: bool | None = Field(
        None,
        description="Reject rows where the field is empty; None: required when the field is a "
        "key. A not_null rule keeps the row and lets the quality run flag the gap.",
    )


class FieldMapping(BaseModel):
    """A source's columns mapped to a resource's fields, saved with the source."""

    model_config = ConfigDict(extra="forbid")

    columns: list[ColumnMapping] = Field(default_factory=list)
    ignored: list[str] = Field(
        default_factory=list, description="Source columns known and deliberately not loaded."
    )
    defaults: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STEPS),
        description="Normalisation every column gets: half-width, trimming, empty to null.",
    )
    timezone: str = Field(
        "Asia/Shanghai", description="Time zone of date-times written without a UTC offset."
    )

    @classmethod
    def suggest(cls, source_columns: Sequence[str], fields: Sequence[FieldSpec]) -> FieldMapping:
        """A first mapping from the columns' names; see ``unmatched_fields`` and ``ignored``.

        Matches a column to a field by english name, Chinese name, the same names ignoring
        case, spaces, underscores, full-width forms and a unit in brackets, common synonyms
        and pinyin initials, and the last part of a flattened merged header.
        """
        matched = match_columns(source_columns, fields)
        columns = [
            ColumnMapping(source=matched.get(field.english_name), target=field.english_name)
            for field in fields
            if field.english_name
        ]
        used = set(matched.values())
        return cls(columns=columns, ignored=[name for name in source_columns if name not in used])

    @property
    def unmatched_fields(self) -> list[str]:
        """Fields no source column feeds."""
        return [column.target for column in self.columns if column.source is None]


def target_schema(fields: Sequence[FieldSpec]) -> pa.Schema:
    """The Arrow schema of a resource's lake table (``rongshu.lake.schema.arrow_schema``)."""
    return arrow_schema(fields)


class MappedBatch(NamedTuple):
    """One source batch mapped: rows for the lake, rejected cells with reasons, and the cells
    of kept rows that were repaired on the way in (full-width digits, dates in other forms)."""

    good: pa.RecordBatch
    rejected: pa.RecordBatch
    repaired: pa.RecordBatch


@dataclass(frozen=True, slots=True)
class _Plan:
    target: str
    source: str | None
    data_type: FieldType
    steps: tuple[str, ...]
    options: ParseOptions
    required: bool


class Mapper:
    """Applies a ``FieldMapping`` to record batches, vectorised over columns."""

    def __init__(
        self,
        mapping: FieldMapping,
        fields: Sequence[FieldSpec],
        *,
        source_columns: Sequence[str] | None = None,
    ) -> None:
        """Check the mapping against the fields (and the source's columns when given).

        Raises ``ValidationFailed`` listing every unknown target field, unknown step, bad date
        format, unknown time zone, required field without a source column and, with
        ``source_columns``, every source column the source does not have.
        """
        self.schema = target_schema(fields)
        self._plans, problems = _plans(mapping, fields)
        if source_columns is not None:
            missing = sorted({p.source for p in self._plans if p.source} - set(source_columns))
            problems += [
                {"field": name, "message": "is not a column of the source"} for name in missing
            ]
        if problems:
            names = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
            raise ValidationFailed(f"the field mapping has problems: {names}", details=problems)
        self._checked: pa.Schema | None = None

    def map(self, batch: pa.RecordBatch, *, first_row: int) -> MappedBatch:
        """Map one batch; ``first_row`` is the 1-based source row number of its first row."""
        self._check_columns(batch.schema)
        count = batch.num_rows
        rejected_any = np.zeros(count, dtype=bool)
        arrays: list[pa.Array] = []
        rejected = FlaggedCells(batch, first_row)
        repairs: list[tuple[int, str, pa.Array, Mask, str]] = []
        for position, plan in enumerate(self._plans):
            if plan.source is None:
                arrays.append(pa.nulls(count, ARROW_TYPES[plan.data_type]))
                continue
            source = batch.column(plan.source)
            parsed = parse(source, plan.data_type, steps=plan.steps, options=plan.options)
            arrays.append(parsed.values)
            repairs += [(position, plan.target, source, rows, why) for rows, why in parsed.repairs]
            bad = parsed.failed
            if plan.required:
                present = parsed.values.is_valid().to_numpy(zero_copy_only=False)
                bad = bad | ~np.asarray(present, dtype=bool)
            if not bad.any():
                continue
            rejected_any |= bad
            rows = np.flatnonzero(bad)
            rejected.add(
                position=position,
                column=plan.target,
                source=source,
                rows=rows,
                unreadable=parsed.failed[rows],
                reason=REASONS[plan.data_type],
            )
        repaired = FlaggedCells(batch, first_row)
        for position, target, source, cells, reason in repairs:
            kept = np.flatnonzero(cells & ~rejected_any)
            if kept.size:
                repaired.add(
                    position=position,
                    column=target,
                    source=source,
                    rows=kept,
                    unreadable=np.ones(kept.size, dtype=bool),
                    reason=reason,
                )
        good = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        if rejected_any.any():
            good = good.filter(pa.array(~rejected_any))
        return MappedBatch(good, rejected.build(), repaired.build())

    def reader(self, target: str) -> Callable[[pa.Array], Parsed]:
        """How ``map`` reads field ``target`` from its source column (for watermark filters)."""
        plan = next((p for p in self._plans if p.target == target), None)
        if plan is None:
            raise ValidationFailed(
                f"{target} is not a field of the resource",
                details=[{"field": target, "message": "is not a field of the resource"}],
            )
        return partial(parse, data_type=plan.data_type, steps=plan.steps, options=plan.options)

    def _check_columns(self, schema: pa.Schema) -> None:
        if self._checked is not None and schema.equals(self._checked):
            return
        names = schema.names
        wanted = {plan.source for plan in self._plans if plan.source}
        missing = sorted(wanted - set(names))
        doubled = sorted({name for name in wanted if names.count(name) > 1})
        problems = [{"field": n, "message": "is not a column of the source"} for n in missing]
        problems += [{"field": n, "message": "appears twice in the source"} for n in doubled]
        if problems:
            listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
            raise ValidationFailed(
                f"the source does not fit the mapping: {listed}", details=problems
            )
        self._checked = schema


def _type(field: FieldSpec) -> FieldType:
    if field.data_type is None:  # target_schema has refused it already
        raise ValidationFailed(f"field {field.english_name} has no data type")
    return field.data_type


def _plans(
    mapping: FieldMapping, fields: Sequence[FieldSpec]
) -> tuple[list[_Plan], list[dict[str, Any]]]:
    problems: list[dict[str, Any]] = []
    by_name = {field.english_name: field for field in fields}
    columns: dict[str, ColumnMapping] = {}
    for column in mapping.columns:
        if column.target not in by_name:
            problems.append({"field": column.target, "message": "is not a field of the resource"})
        elif column.target in columns:
            problems.append({"field": column.target, "message": "is mapped twice"})
        else:
            columns[column.target] = column
    for name in unknown_steps(mapping.defaults):
        problems.append({"field": "defaults", "message": f"unknown normalisation step {name}"})
    try:
        zoneinfo.ZoneInfo(mapping.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append({"field": "timezone", "message": f"unknown time zone {mapping.timezone}"})
    plans: list[_Plan] = []
    for field in fields:
        column = columns.get(field.english_name, ColumnMapping(target=field.english_name))
        for name in unknown_steps([*column.normalise, *column.skip]):
            problems.append(
                {"field": field.english_name, "message": f"unknown normalisation step {name}"}
            )
        patterns: list[str] = []
        for date_format in column.date_formats or []:
            try:
                patterns.append(format_pattern(date_format))
            except ValueError as error:
                problems.append({"field": field.english_name, "message": str(error)})
        required = column.required
        if required is None:
            required = field.is_key
        if required and column.source is None:
            problems.append(
                {"field": field.english_name, "message": "is required but has no source column"}
            )
        steps = tuple(s for s in mapping.defaults if s not in column.skip) + tuple(column.normalise)
        options = ParseOptions(
            timezone=mapping.timezone,
            excel_serial=column.excel_serial,
            date_patterns=tuple(patterns) if column.date_formats is not None else None,
        )
        plans.append(
            _Plan(field.english_name, column.source, _type(field), steps, options, required)
        )
    return plans, problems
