"""The datastore: rows of a release, filtered, searched, sorted and paged, as CKAN's
``datastore_search`` answers them; the portal's preview reads through it too.

Each release keeps its rows a second time for the datastore, beside its Parquet file, in the
lake engine's own storage (``store_path``, written by ``build_store`` when the release is made):
its scans skip ranges by their statistics and fetch single rows without decoding whole Parquet
row groups, so a filtered page sorted by another column is one query (on 10 million rows,
Parquet needed two, and took twice as long). ``_id`` is the 1-based row number, CKAN's row id,
and the default order, stored as a column.

Each process keeps one lake engine (``Datastore``) with a view per release it has been asked
about. A request becomes one ``SELECT`` with bound parameters: column names are checked against
the release's fields and quoted, values are never put into SQL text. The total comes from a
second ``COUNT(*)`` with the same predicate, skipped when ``include_total`` is false.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from rongshu.core.errors import ValidationFailed
from rongshu.core.settings import Settings
from rongshu.exchange.filters import RowFilter
from rongshu.exchange.schemas import Condition
from rongshu.lake.engine import LakeEngine
from rongshu.lake.tables import Lake

#: CKAN's default and largest page (``ckan.datastore.search.rows_max``).
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 32_000
MAX_FILTER_VALUES: Final = 100
MAX_Q_CHARS: Final = 200
ROW_ID: Final = "_id"
_STORE_SUFFIX: Final = ".store"


def ckan_type(data_type: pa.DataType) -> str:
    """The datastore type CKAN clients expect for an Arrow type."""
    if pa.types.is_integer(data_type):
        return "int"
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "numeric"
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_boolean(data_type):
        return "bool"
    return "text"


def json_value(value: object) -> object:
    """A cell as JSON: dates and times in ISO 8601, decimals as numbers."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


@dataclass(frozen=True)
class Page:
    """One page of rows: the fields (``_id`` first), the records, and the total if counted."""

    fields: list[dict[str, str]]
    records: list[dict[str, Any]]
    total: int | None
    limit: int
    offset: int


def _problem(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {reason}", details=[{"field": field, "reason": reason}])


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _names(value: str | Sequence[str]) -> list[str]:
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [p.strip() for p in parts if p.strip()]


def store_path(parquet: Path) -> Path:
    """Where the datastore keeps the rows of the release file ``parquet``."""
    return parquet.with_suffix(_STORE_SUFFIX)


def build_store(engine: LakeEngine, parquet: Path) -> int:
    """The datastore's copy of the rows of ``parquet``, ``_id`` first, written under a
    temporary name and renamed into place (readers never see half a file); the rows copied."""
    target = store_path(parquet)
    scratch = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}")
    scratch.unlink(missing_ok=True)
    alias = f"_release_{scratch.name.replace('.', '_').replace('-', '_')}"
    engine.register_parquet(alias, parquet, row_id=ROW_ID)
    try:
        rows = engine.save_table(scratch, f"SELECT * FROM {engine.dialect.quote(alias)}")  # noqa: S608
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    return rows


class Datastore:
    """Searches releases' Parquet files with one lake engine per process."""

    def __init__(self, settings: Settings) -> None:
        self._lake = Lake.from_settings(settings)
        self._lock = threading.Lock()
        self._engine: LakeEngine | None = None
        self._views: dict[Path, tuple[str, pa.Schema]] = {}

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
            self._views.clear()

    def _view(self, path: Path) -> tuple[LakeEngine, str, pa.Schema]:
        with self._lock:
            if self._engine is None:
                scratch = self._lake.root / "_scratch" / "datastore"
                scratch.mkdir(parents=True, exist_ok=True)
                self._engine = self._lake.engine(scratch)
            found = self._views.get(path)
            if found is None:
                if not store_path(path).exists():  # released before the datastore kept a copy
                    build_store(self._engine, path)
                alias = f"release_{len(self._views)}"
                self._engine.register_saved(alias, store_path(path))
                schema = self._engine.query(f'SELECT * FROM "{alias}" LIMIT 0').schema  # noqa: S608
                found = self._views[path] = (alias, schema)
            return self._engine, found[0], found[1]

    def search(
        self,
        path: Path,
        *,
        filters: Mapping[str, Any] | None = None,
        q: str | Mapping[str, str] | None = None,
        fields: str | Sequence[str] | None = None,
        sort: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        include_total: bool = True,
        granted: Sequence[str] | None = None,
        conditions: Sequence[Condition] = (),
    ) -> Page:
        """Rows of the release file at ``path`` (see the module's docstring).

        For a caller holding a grant, ``granted`` are the fields it covers and ``conditions``
        its row filter: other fields are not there for that caller (not in the page, nor to
        filter, search or sort by), and other rows neither (nor in the total).
        """
        engine, alias, stored = self._view(path)
        quote = engine.dialect.quote
        schema = stored
        if granted is not None:
            schema = pa.schema([f for f in stored if f.name == ROW_ID or f.name in granted])
        columns = schema.names
        if not 0 <= limit <= MAX_LIMIT:
            raise _problem("limit", f"must be between 0 and {MAX_LIMIT}")
        if offset < 0:
            raise _problem("offset", "cannot be negative")
        chosen = _names(fields) if fields else list(columns)
        unknown = [c for c in chosen if c not in columns]
        if unknown:
            raise _problem("fields", f"unknown field(s) {', '.join(unknown)}")
        clauses, params = self._predicate(schema, filters or {}, q, quote)
        if conditions:
            scope, scoped = RowFilter(conditions, stored).sql(quote)
            clauses, params = [f"({scope})", *clauses], [*scoped, *params]
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        order = self._order(sort, columns, quote)
        select = ", ".join(quote(c) for c in chosen)
        page = f"LIMIT {int(limit)} OFFSET {int(offset)}"
        if limit:
            sql = f"SELECT {select} FROM {quote(alias)}{where}{order} {page}"  # noqa: S608
            rows = engine.query(sql, params)
        else:
            rows = schema.empty_table().select(chosen)
        total = None
        if include_total:
            counted = engine.query(f"SELECT COUNT(*) FROM {quote(alias)}{where}", params)  # noqa: S608
            total = int(counted.column(0)[0].as_py())
        types = {f.name: f.type for f in schema}
        return Page(
            fields=[{"id": c, "type": ckan_type(types[c])} for c in chosen],
            records=[{k: json_value(v) for k, v in record.items()} for record in rows.to_pylist()],
            total=total,
            limit=limit,
            offset=offset,
        )

    @staticmethod
    def _predicate(
        schema: pa.Schema,
        filters: Mapping[str, Any],
        q: str | Mapping[str, str] | None,
        quote: Callable[[str], str],
    ) -> tuple[list[str], list[object]]:
        """The request's conditions (ANDed) and their parameters."""
        types = {f.name: f.type for f in schema}
        clauses: list[str] = []
        params: list[object] = []
        for column, wanted in filters.items():
            if column not in types:
                raise _problem("filters", f"unknown field {column}")
            values = list(wanted) if isinstance(wanted, list | tuple) else [wanted]
            if not values or len(values) > MAX_FILTER_VALUES:
                raise _problem("filters", f"give 1 to {MAX_FILTER_VALUES} values for {column}")
            if any(isinstance(v, dict | list) for v in values):
                raise _problem("filters", f"values for {column} must be plain values")
            # Text columns compare as they are (the engine can skip row groups by their
            # statistics); others as text, so "2026-10-01" and 42 match as users write them.
            marks = ", ".join("?" for _ in values)
            text = pa.types.is_string(types[column]) or pa.types.is_large_string(types[column])
            target = quote(column) if text else f"CAST({quote(column)} AS VARCHAR)"
            clauses.append(f"{target} IN ({marks})")
            params.extend("" if v is None else str(v) for v in values)
        searched: dict[str, str] = {}
        if isinstance(q, Mapping):
            searched = {str(k): str(v) for k, v in q.items()}
        elif q:
            searched = {"": str(q)}
        for column, text in searched.items():
            if len(text) > MAX_Q_CHARS:
                raise _problem("q", f"longer than {MAX_Q_CHARS} characters")
            if column and column not in types:
                raise _problem("q", f"unknown field {column}")
            targets = [column] if column else [c for c in types if c != ROW_ID]
            for word in text.split():
                pattern = "%" + _escape_like(word) + "%"
                ors = [f"CAST({quote(c)} AS VARCHAR) ILIKE ? ESCAPE '\\'" for c in targets]
                clauses.append("(" + " OR ".join(ors) + ")")
                params.extend([pattern] * len(ors))
        return clauses, params

    @staticmethod
    def _order(sort: str | None, columns: Sequence[str], quote: Callable[[str], str]) -> str:
        """`` ORDER BY …`` for ``sort``, ``_id`` breaking ties; nothing without a sort: the
        lake engine returns the rows in the order they were written (``_id`` order) by itself,
        and sorting on ``_id`` would make every page read all the matching rows."""
        if not sort:
            return ""
        parts = []
        for item in sort.split(","):
            words = item.split()
            if not words:
                continue
            column = words[0].strip('"')
            direction = words[1].lower() if len(words) > 1 else "asc"
            if column not in columns or direction not in ("asc", "desc") or len(words) > 2:
                raise _problem("sort", f"cannot sort by {item.strip()!r}")
            parts.append(f"{quote(column)} {direction.upper()}")
        parts.append(quote(ROW_ID))  # a stable order for paging
        return " ORDER BY " + ", ".join(parts)
