"""JSON records (from files and APIs) as Arrow batches of string columns.

Nested objects are flattened into dotted names (``location.lat``); arrays and other nested values
are kept as JSON text. Columns appear in the order their keys are first seen; a key first seen
late in a source is added as a new column from then on (earlier batches simply lack it), so no
value is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa

from rongshu.ingest.connectors.base import SourceUnreadable

#: Records looked at to list a JSON source's columns.
COLUMN_SAMPLE = 1000


def find_path(document: Any, path: str | None, *, where: str) -> Any:
    """The value at a dotted ``path`` (``data`` or ``result.items``) in a parsed document."""
    if not path:
        return document
    value = document
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            keys = (
                ", ".join(map(str, value)) if isinstance(value, Mapping) else type(value).__name__
            )
            raise SourceUnreadable(
                f"{where}: no {part!r} at {path!r} (found: {keys})",
                details=[{"field": "records_path", "value": path}],
            )
    return value


def records_at(document: Any, path: str | None, *, where: str) -> list[Any]:
    """The list of records at ``path``; the first top-level list when no path is given."""
    if not path and isinstance(document, Mapping):
        for value in document.values():
            if isinstance(value, list):
                return value
        raise SourceUnreadable(
            f"{where}: the document holds no list of records; set records_path",
            details=[{"field": "records_path", "reason": "no list found"}],
        )
    found = find_path(document, path, where=where)
    if found is None:
        return []
    if not isinstance(found, list):
        raise SourceUnreadable(
            f"{where}: {path!r} is a {type(found).__name__}, not a list of records",
            details=[{"field": "records_path", "value": path}],
        )
    return found


def flatten(record: Any, prefix: str = "") -> dict[str, Any]:
    """A record as one level of dotted keys; a non-object record becomes ``{"value": ...}``."""
    if not isinstance(record, Mapping):
        return {prefix or "value": record}
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def cell_text(value: Any) -> str | None:
    """A JSON value as text: numbers as written, booleans as true/false, nesting as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class RecordBatcher:
    """Collects records and hands them out as batches with every column seen so far."""

    def __init__(self, columns: Iterable[str] = ()) -> None:
        self.columns: list[str] = list(columns)
        self._known = set(self.columns)
        self._rows: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, record: Any) -> None:
        """Queue one record."""
        flat = flatten(record)
        for key in flat:
            if key not in self._known:
                self._known.add(key)
                self.columns.append(key)
        self._rows.append(flat)

    def flush(self) -> pa.RecordBatch:
        """The queued records as a batch of string columns; the queue empties."""
        rows, self._rows = self._rows, []
        arrays = [
            pa.array([cell_text(row.get(name)) for row in rows], pa.string())
            for name in self.columns
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=text_schema(self.columns))


def text_schema(names: list[str]) -> pa.Schema:
    """A schema of string columns."""
    return pa.schema([pa.field(name, pa.string()) for name in names])


def batched(
    records: Iterable[Any], batch_rows: int, columns: Iterable[str] = ()
) -> Iterator[pa.RecordBatch]:
    """``records`` as batches of at most ``batch_rows`` rows."""
    batcher = RecordBatcher(columns)
    for record in records:
        batcher.add(record)
        if len(batcher) >= batch_rows:
            yield batcher.flush()
    if len(batcher):
        yield batcher.flush()


def sample_columns(records: Iterable[Any], limit: int = COLUMN_SAMPLE) -> list[str]:
    """Column names from the first ``limit`` records."""
    batcher = RecordBatcher()
    for count, record in enumerate(records, start=1):
        for key in flatten(record):
            if key not in batcher._known:
                batcher._known.add(key)
                batcher.columns.append(key)
        if count >= limit:
            break
    return batcher.columns
