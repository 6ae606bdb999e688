"""The interface every lake engine implements (DuckDB embedded now, Spark for scale later).

Callers register lake tables (at a version) under aliases and run SQL written with the engine's
``dialect``; they never import an engine's own library. ``DuckDBEngine`` in ``duckdb_engine`` is
the default; a Spark engine is one more module that implements this protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

import pyarrow as pa

from rongshu.lake.dialect import SqlDialect

if TYPE_CHECKING:
    from rongshu.lake.tables import LakeTable

#: Positional parameters for ``?`` placeholders, or named ones for ``dialect.param(name)``.
Params: TypeAlias = Sequence[object] | Mapping[str, object]


@runtime_checkable
class LakeEngine(Protocol):
    """Reads lake tables and runs SQL over them; errors are ``rongshu.lake.errors`` errors."""

    dialect: SqlDialect

    def register(
        self,
        alias: str,
        table: LakeTable,
        version: int | None = None,
        *,
        as_stored: bool = False,
    ) -> None:
        """Make ``table`` (its latest version, or ``version``) queryable as ``alias``, its
        encrypted columns opened (``as_stored``: as the stored tokens, for rewriting them)."""
        ...

    def register_parquet(self, alias: str, path: Path, *, row_id: str | None = None) -> None:
        """Make a Parquet file outside the lake's tables (an open-data release) queryable as
        ``alias``, read in place; ``row_id`` adds the 1-based row number under that name."""
        ...

    def save_table(self, path: Path, sql: str, params: Params = ()) -> int:
        """Write the result of ``sql`` to a new file at ``path`` in the engine's own storage
        (for data queried often: its scans skip ranges by their statistics and fetch single
        rows without decoding whole row groups); the rows written. ``path`` must not exist."""
        ...

    def register_saved(self, alias: str, path: Path) -> None:
        """Make a table written by ``save_table`` queryable as ``alias``, read only, its rows
        in the order they were written."""
        ...

    def register_arrow(self, alias: str, table: pa.Table) -> None:
        """Make an in-memory Arrow table (a small lookup: a code table, region list) queryable
        as ``alias``; it is copied, so later changes to ``table`` do not show."""
        ...

    def register_stream(self, alias: str, batches: pa.RecordBatchReader) -> None:
        """Make a stream of batches queryable as ``alias`` for one query that reads it once (a
        scan whose batches gain columns computed in Arrow on the way, say)."""
        ...

    def register_function(
        self,
        name: str,
        function: Callable[..., pa.Array],
        *,
        arguments: int = 1,
        volatile: bool = False,
    ) -> None:
        """Make ``function`` callable in SQL as ``name(text, ...)``: it takes ``arguments``
        Arrow string arrays (a chunk of rows at a time, NULLs included) and returns a string
        array of the same length. ``volatile`` for functions whose result differs between calls
        (random nonces), so the engine never reuses a result."""
        ...

    def query(self, sql: str, params: Params = ()) -> pa.Table:
        """Run ``sql`` and return the whole result (for small results)."""
        ...

    def query_batches(
        self, sql: str, params: Params = (), batch_size: int = 65536
    ) -> Iterator[pa.RecordBatch]:
        """Run ``sql`` and stream the result in batches of at most ``batch_size`` rows."""
        ...

    def count(self, alias: str) -> int:
        """Rows of a registered alias."""
        ...

    def close(self) -> None:
        """Free the engine's resources; the engine is unusable afterwards."""
        ...
