"""The one interface every connector implements, the registry of kinds, and their errors.

A connector reads one source (a file, a database table or query, a paged API) and yields
``pyarrow.RecordBatch``es of at most ``batch_rows`` rows, so a load of any size runs in flat
memory. File connectors yield string columns (the mapping parses departments' spellings of dates
and numbers); database, Parquet and JSON connectors may yield native types (the mapping casts).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple, Protocol, TypeVar, runtime_checkable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from rongshu.catalog.schemas import FieldType
from rongshu.core.errors import NotFound, RongshuError, ValidationFailed
from rongshu.ingest.parsing import Parsed, ParseOptions, parse

#: Rows per batch unless the caller asks otherwise; batches never hold more.
DEFAULT_BATCH_ROWS = 65_536


class SourceSpec(BaseModel):
    """What is saved per source: the connector kind and its options."""

    kind: str = Field(description="csv, excel, json, parquet, sql or http")
    options: dict[str, Any] = Field(default_factory=dict)


class WatermarkFilter(NamedTuple):
    """Read only rows whose ``column`` is greater than ``after`` (incremental loads).

    ``after`` is typed: an int, float or ``Decimal``, a ``date``, a ``datetime`` (aware: a column
    of naive date-times is compared in ``after``'s own zone), or a ``str`` (compared as text).
    ``read`` reads a source column the way the load's mapping reads the watermark field
    (``Mapper.reader``), so ``2020/1/2`` and ``2020年1月2日`` compare as the dates they are;
    connectors that narrow the rows themselves (a ``WHERE`` clause, a Parquet filter) still
    apply it to what they read, so it has the last word.
    """

    column: str
    after: Any
    read: Callable[[pa.Array], Parsed] | None = None


# --- errors -------------------------------------------------------------------------------------


class SourceNotFound(NotFound):
    """The file, table, sheet or URL of a source does not exist."""

    code = "source_not_found"


class SourceUnreadable(ValidationFailed):
    """The source exists but cannot be read as configured: bad bytes, broken rows, bad JSON."""

    code = "source_unreadable"


class SourceUnavailable(RongshuError):
    """The source's host could not be reached or kept failing (timeouts, 5xx) after retries."""

    status = 502
    code = "source_unavailable"
    exit_code = 6


class SourceCredentialsRefused(RongshuError):
    """The source refused the saved credentials (wrong password, revoked API key).

    Not a 401: the caller of rongshu is authenticated; it is the department's system that said no.
    """

    status = 422
    code = "source_credentials_refused"
    exit_code = 3


# --- the interface ------------------------------------------------------------------------------


@runtime_checkable
class Connector(Protocol):
    """One source, read in bounded batches."""

    kind: ClassVar[str]

    def __init__(self, options: Mapping[str, Any]) -> None:
        """Validate options; raise ``ValidationFailed`` naming each bad option."""

    def fingerprint(self) -> str:
        """A cheap identity of the input as it is now, for load records."""
        ...

    def columns(self) -> list[str]:
        """Source column names as found (title rows skipped, grouped headers merged)."""
        ...

    def preview(self, rows: int = 20) -> pa.Table:
        """The first ``rows`` rows, every column as strings (for the mapping page)."""
        ...

    def batches(
        self, *, batch_rows: int = DEFAULT_BATCH_ROWS, watermark: WatermarkFilter | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Every row, in batches of at most ``batch_rows`` rows."""
        ...

    @property
    def bytes_read(self) -> int:
        """Bytes read from the source so far (for load records)."""
        ...


CONNECTORS: dict[str, type[Connector]] = {}

C = TypeVar("C", bound=type[Any])


def register_connector(cls: C) -> C:
    """Class decorator: make a connector available under its ``kind``."""
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"{cls.__name__} needs a class attribute 'kind'")
    existing = CONNECTORS.get(kind)
    if existing is not None and existing is not cls:
        raise ValueError(f"connector kind {kind!r} is already registered by {existing.__name__}")
    CONNECTORS[kind] = cls
    return cls


def open_connector(spec: SourceSpec) -> Connector:
    """The connector for a saved source, its options validated."""
    cls = CONNECTORS.get(spec.kind)
    if cls is None:
        known = ", ".join(sorted(CONNECTORS))
        raise ValidationFailed(
            f"unknown source kind {spec.kind!r}; known kinds: {known}",
            details=[{"field": "kind", "reason": f"one of {known}"}],
        )
    return cls(spec.options)


# --- helpers shared by connectors ---------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


class ConnectorOptions(BaseModel):
    """Base of each connector's options: unknown options are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_options(model: type[M], options: Mapping[str, Any], kind: str) -> M:
    """Options validated into ``model``; every problem named in one ``ValidationFailed``."""
    try:
        return model.model_validate(dict(options))
    except PydanticValidationError as exc:
        details = [
            {
                "field": ".".join(str(part) for part in err["loc"]) or "options",
                "reason": _option_reason(err),
            }
            for err in exc.errors(include_url=False, include_input=False)
        ]
        listed = "; ".join(f"{d['field']}: {d['reason']}" for d in details)
        raise ValidationFailed(
            f"invalid options for a {kind} source: {listed}", details=details
        ) from None


def _option_reason(err: Mapping[str, Any]) -> str:
    if err.get("type") == "extra_forbidden":
        return "unknown option"
    message = str(err.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def check_batch_rows(batch_rows: int) -> int:
    """``batch_rows`` as given, refused when not positive."""
    if batch_rows < 1:
        raise ValidationFailed(
            "batch_rows must be at least 1", details=[{"field": "batch_rows", "value": batch_rows}]
        )
    return batch_rows


def split_batch(batch: pa.RecordBatch, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """``batch`` in slices of at most ``batch_rows`` rows (zero-copy)."""
    if batch.num_rows <= batch_rows:
        if batch.num_rows:
            yield batch
        return
    for start in range(0, batch.num_rows, batch_rows):
        yield batch.slice(start, batch_rows)


def filter_after(batch: pa.RecordBatch, watermark: WatermarkFilter) -> pa.RecordBatch:
    """The rows of ``batch`` whose watermark column is greater than ``watermark.after``.

    Values are read by ``watermark.read``; without it, a text column is read with the default
    readers for ``after``'s type (numbers, dates in departments' spellings, date-times) unless
    ``after`` is text too. Rows with no value in the column are left out, as a database's
    ``WHERE col > x`` would; rows whose value cannot be read are kept, so that the mapping
    rejects them with the reason rather than the filter dropping them silently.
    """
    index = batch.schema.get_field_index(watermark.column)
    if index < 0:
        raise ValidationFailed(
            f"watermark column {watermark.column!r} is not a column of the source",
            details=[{"field": "watermark_column", "value": watermark.column}],
        )
    parsed = _watermark_values(batch.column(index), watermark)
    values, unreadable = parsed.values, parsed.failed
    later = pc.fill_null(pc.greater(values, _bound(watermark, values.type)), False)
    if unreadable.any():
        later = pc.or_(later, pa.array(unreadable))
    return batch.filter(later)


def watermark_value(text: str, data_type: FieldType | None, *, timezone: str) -> Any:
    """A watermark as sources keep it (text) back in its field's type, for ``WatermarkFilter``.

    Dates become ``date``, date-times an aware ``datetime`` in ``timezone`` (the zone the
    mapping reads naive date-times in, so a database compares it with its own local times),
    integers ``int``, decimals ``float``; other types stay text.
    """
    if data_type is None or data_type not in _TYPED_WATERMARKS:
        return text
    parsed = parse(
        pa.array([text], pa.string()), data_type, options=ParseOptions(timezone=timezone)
    )
    value = parsed.values[0].as_py()
    if value is None or parsed.failed.any():
        raise ValidationFailed(
            f"the saved watermark {text!r} is not a {data_type.value} value; did the "
            "watermark field's type change?",
            details=[{"field": "last_watermark", "value": text}],
        )
    if isinstance(value, datetime):
        return value.astimezone(zoneinfo.ZoneInfo(timezone))
    return value


_TYPED_WATERMARKS = (FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE, FieldType.DATETIME)


def _watermark_values(column: pa.Array | pa.ChunkedArray, watermark: WatermarkFilter) -> Parsed:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if watermark.read is not None:
        return watermark.read(column)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    is_text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    if is_text and not isinstance(watermark.after, str):
        return parse(column, _field_type(watermark.after))
    return Parsed(column, np.zeros(len(column), dtype=bool))


def _field_type(after: Any) -> FieldType:
    """The field type whose reader turns text into values comparable with ``after``."""
    if isinstance(after, datetime):
        return FieldType.DATETIME
    if isinstance(after, date):
        return FieldType.DATE
    if isinstance(after, int) and not isinstance(after, bool):
        return FieldType.INTEGER
    if isinstance(after, float | Decimal):
        return FieldType.DECIMAL
    raise ValidationFailed(
        f"a watermark is a number, a date, a date-time or text, not {after!r}",
        details=[{"field": "watermark", "value": repr(after)}],
    )


def _bound(watermark: WatermarkFilter, kind: pa.DataType) -> pa.Scalar:
    try:
        return watermark_scalar(watermark.after, kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValidationFailed(
            f"watermark value {watermark.after!r} does not compare with column "
            f"{watermark.column!r} of type {kind}",
            details=[{"field": "watermark", "reason": str(exc)}],
        ) from None


def watermark_scalar(after: Any, kind: pa.DataType) -> pa.Scalar:
    """``after`` as an Arrow scalar of type ``kind``; raises Arrow's error when it cannot be.

    An aware date-time against naive timestamps keeps its wall clock (in its own zone), which
    is how the mapping reads naive values when the zones are the same.
    """
    naive = pa.types.is_timestamp(kind) and kind.tz is None
    if isinstance(after, datetime) and after.tzinfo is not None and naive:
        after = after.replace(tzinfo=None)
    return pa.scalar(after).cast(kind)


def as_text_table(table: pa.Table) -> pa.Table:
    """Every column as strings (dates ISO, binary as hex), for previews."""
    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_string(kind):
            columns.append(column)
        elif pa.types.is_large_string(kind):
            columns.append(column.cast(pa.string()))
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            columns.append(
                pa.chunked_array(
                    [pa.array([None if v is None else v.hex() for v in column.to_pylist()])],
                    type=pa.string(),
                )
            )
        else:
            try:
                columns.append(column.cast(pa.string()))
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
                values = [None if v is None else str(v) for v in column.to_pylist()]
                columns.append(pa.chunked_array([pa.array(values, pa.string())], type=pa.string()))
    return pa.Table.from_arrays(columns, names=table.column_names)


def unique_names(names: list[str]) -> list[str]:
    """Column names made non-empty and unique: blanks become ``column_N``, repeats get ``_2``..."""
    seen: set[str] = set()
    out: list[str] = []
    for position, raw in enumerate(names, start=1):
        name = raw.strip() or f"column_{position}"
        candidate, n = name, 2
        while candidate in seen:
            candidate = f"{name}_{n}"
            n += 1
        seen.add(candidate)
        out.append(candidate)
    return out
