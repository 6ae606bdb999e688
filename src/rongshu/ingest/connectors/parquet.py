"""Parquet files, read batch by batch with their own column types (the mapping casts them).

A watermark filter is pushed down to the reader, so row groups wholly before the watermark are
skipped by their statistics.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from rongshu.core.errors import ValidationFailed
from rongshu.ingest.connectors.base import (
    DEFAULT_BATCH_ROWS,
    SourceUnreadable,
    WatermarkFilter,
    as_text_table,
    check_batch_rows,
    filter_after,
    parse_options,
    register_connector,
    split_batch,
    watermark_scalar,
)
from rongshu.ingest.connectors.files import FileOptions, check_files, file_fingerprint, total_size


class ParquetOptions(FileOptions):
    """Options of a Parquet source."""

    columns: list[str] | None = None


@register_connector
class ParquetConnector:
    """Parquet files with the same schema."""

    kind: ClassVar[str] = "parquet"

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = parse_options(ParquetOptions, options, self.kind)
        self._paths = check_files(self.options.paths)
        self._rows_read = 0
        self._total: tuple[int, int] | None = None  # (rows, bytes)

    def _dataset(self) -> ds.Dataset:
        try:
            dataset = ds.dataset([str(p) for p in self._paths], format="parquet")
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceUnreadable(
                f"not a readable Parquet file: {exc}",
                details=[{"field": "path", "reason": str(exc)}],
            ) from None
        wanted = self.options.columns
        if wanted:
            missing = [name for name in wanted if name not in dataset.schema.names]
            if missing:
                raise ValidationFailed(
                    f"columns not in the Parquet file: {', '.join(missing)}",
                    details=[{"field": "columns", "value": missing}],
                )
        return dataset

    def fingerprint(self) -> str:
        """Size, mtime and the first and last MiB of each file."""
        return file_fingerprint(self._paths)

    def columns(self) -> list[str]:
        """The file's column names (or the chosen ones)."""
        return list(self.options.columns or self._dataset().schema.names)

    def preview(self, rows: int = 20) -> pa.Table:
        """The first ``rows`` rows, as strings."""
        table = self._dataset().head(rows, columns=self.options.columns)
        return as_text_table(_decoded(table))

    def batches(
        self, *, batch_rows: int = DEFAULT_BATCH_ROWS, watermark: WatermarkFilter | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Every row, in the file's column types (dictionary columns decoded)."""
        check_batch_rows(batch_rows)
        dataset = self._dataset()
        self._rows_read = 0
        self._total = (
            sum(pq.ParquetFile(str(p)).metadata.num_rows for p in self._paths),
            total_size(self._paths),
        )
        expression, after_read = _pushdown(dataset.schema, watermark)
        try:
            for batch in dataset.to_batches(
                columns=self.options.columns, filter=expression, batch_size=batch_rows
            ):
                self._rows_read += batch.num_rows
                batch = _decoded(batch)
                if after_read is not None:
                    batch = filter_after(batch, after_read)
                yield from split_batch(batch, batch_rows)
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceUnreadable(
                f"cannot read the Parquet data: {exc}",
                details=[{"field": "path", "reason": str(exc)}],
            ) from None

    @property
    def bytes_read(self) -> int:
        """Bytes read so far, estimated from the share of rows read."""
        if self._total is None or not self._total[0]:
            return 0
        rows, size = self._total
        return min(size, int(size * self._rows_read / rows))


def _pushdown(
    schema: pa.Schema, watermark: WatermarkFilter | None
) -> tuple[ds.Expression | None, WatermarkFilter | None]:
    """The filter expression for the reader, and the watermark to apply after reading.

    A watermark with its own reader is applied after reading as well: the expression compares
    the file's values, the reader compares them as the mapping reads the field.
    """
    if watermark is None:
        return None, None
    index = schema.get_field_index(watermark.column)
    if index < 0:
        raise ValidationFailed(
            f"watermark column {watermark.column!r} is not a column of the source",
            details=[{"field": "watermark_column", "value": watermark.column}],
        )
    kind = schema.field(index).type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return None, watermark
    try:
        value = watermark_scalar(watermark.after, kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None, watermark
    return ds.field(watermark.column) > value, watermark if watermark.read is not None else None


def _decoded(data: Any) -> Any:
    """``data`` (a table or batch) with dictionary-encoded columns as plain columns."""
    if not any(pa.types.is_dictionary(field.type) for field in data.schema):
        return data
    columns = [
        column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column
        for column in data.columns
    ]
    return type(data).from_arrays(columns, names=data.schema.names)
