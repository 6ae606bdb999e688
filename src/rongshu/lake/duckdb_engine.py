"""The embedded lake engine: DuckDB reading a version's Parquet files with its built-in reader.

Everything DuckDB-specific lives here. DuckDB never installs or loads an extension on its own
(``autoinstall_known_extensions`` and ``autoload_known_extensions`` are off): Parquet, JSON and
ICU are built into the Python package, and the lake needs nothing else, so it runs offline.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from rongshu.catalog.schemas import FieldType
from rongshu.core.errors import ConfigurationError
from rongshu.lake.dialect import SqlDialect
from rongshu.lake.encryption import OPEN_FUNCTION, plain_schema, sealed_columns
from rongshu.lake.engine import Params
from rongshu.lake.errors import LakeQueryError, LakeStorageError

if TYPE_CHECKING:
    from rongshu.lake.tables import LakeTable

_TYPE_NAMES = {
    FieldType.STRING: "VARCHAR",
    FieldType.INTEGER: "BIGINT",
    FieldType.DECIMAL: "DOUBLE",
    FieldType.DATE: "DATE",
    FieldType.DATETIME: "TIMESTAMPTZ",
    FieldType.BOOLEAN: "BOOLEAN",
    FieldType.BINARY: "BLOB",
}
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The one table of a database file written by ``save_table``.
_SAVED_TABLE = "saved"


class DuckDBDialect(SqlDialect):
    """DuckDB's spelling: ``$name`` parameters, RE2 regexes, TRY_CAST."""

    name = "duckdb"

    def param(self, name: str) -> str:
        if not _PARAM_NAME.fullmatch(name):
            raise ValueError(f"parameter names are identifiers, not {name!r}")
        return f"${name}"

    def type_name(self, data_type: FieldType) -> str:
        return _TYPE_NAMES[FieldType(data_type)]

    def regex_match(self, expr: str, pattern: str) -> str:
        return f"regexp_matches({expr}, {self.string_literal(pattern)})"

    def regex_extract(self, expr: str, pattern: str, group: int) -> str:
        return f"regexp_extract({expr}, {self.string_literal(pattern)}, {int(group)})"

    def length(self, expr: str) -> str:
        return f"length({expr})"

    def safe_cast(self, expr: str, data_type: FieldType) -> str:
        return f"TRY_CAST({expr} AS {self.type_name(data_type)})"


def duckdb_type(data_type: pa.DataType) -> str:
    """DuckDB's SQL type for an Arrow type that lake tables hold."""
    simple = {
        pa.string(): "VARCHAR",
        pa.large_string(): "VARCHAR",
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.uint8(): "UTINYINT",
        pa.uint16(): "USMALLINT",
        pa.uint32(): "UINTEGER",
        pa.uint64(): "UBIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
        pa.binary(): "BLOB",
        pa.large_binary(): "BLOB",
    }
    if data_type in simple:
        return simple[data_type]
    if pa.types.is_timestamp(data_type):
        return "TIMESTAMPTZ" if data_type.tz is not None else "TIMESTAMP"
    if pa.types.is_decimal(data_type):
        return f"DECIMAL({data_type.precision}, {data_type.scale})"
    raise LakeQueryError(f"the DuckDB engine cannot read lake columns of type {data_type}")


def _utc(schema: pa.Schema) -> pa.Schema:
    """``schema`` with zoned timestamps labelled "UTC", as the lake stores them (not Etc/UTC)."""
    fields = [
        f.with_type(pa.timestamp(f.type.unit, tz="UTC"))
        if pa.types.is_timestamp(f.type) and f.type.tz is not None
        else f
        for f in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


@dataclass(frozen=True)
class _Registration:
    table: str
    version: int


def connect(
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: Path | None = None,
    extension_directory: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that never downloads or auto-loads extensions."""
    config: dict[str, Any] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    if extension_directory is not None:
        config["extension_directory"] = str(extension_directory)
    connection = duckdb.connect(":memory:", config=config)
    # Timestamps come back in UTC, as the lake stores them (ICU is built in, not loaded).
    connection.execute("SET TimeZone = 'UTC'")
    return connection


class DuckDBEngine:
    """A ``LakeEngine`` on embedded DuckDB; memory limit, threads and spill directory settable."""

    dialect: SqlDialect = DuckDBDialect()

    def __init__(
        self,
        *,
        memory_limit: str | None = "2GB",
        threads: int | None = None,
        temp_directory: Path | None = None,
        extension_directory: Path | None = None,
    ) -> None:
        self._connection = connect(
            memory_limit=memory_limit,
            threads=threads,
            temp_directory=temp_directory,
            extension_directory=extension_directory,
        )
        self._registered: dict[str, _Registration] = {}
        self._streams: dict[str, pa.RecordBatchReader] = {}
        self._names = itertools.count()  # attached databases' names

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def register(
        self,
        alias: str,
        table: LakeTable,
        version: int | None = None,
        *,
        as_stored: bool = False,
    ) -> None:
        """A view named ``alias`` over the Parquet files of the version, typed as the table;
        encrypted columns opened with the lake's field key (``as_stored``: left as tokens)."""
        scan = table.scan(version)
        sealed = {} if as_stored else sealed_columns(scan.schema)
        if sealed:
            if table.lake.cipher is None:
                raise ConfigurationError(
                    f"lake table {table.name!r} has encrypted columns and no field key"
                )
            self.register_function(OPEN_FUNCTION, table.lake.cipher.open)
        quote = self.dialect.quote
        if scan.files:
            paths = ", ".join(self.dialect.string_literal(str(path)) for path in scan.files)
            source = f"read_parquet([{paths}], union_by_name = true)"
            present = {
                row[0]
                for row in self._run(f"DESCRIBE SELECT * FROM {source}", (), alias).fetchall()  # noqa: S608
            }
        else:
            source, present = "(SELECT 1 AS _nothing WHERE FALSE)", set()
        plain = plain_schema(scan.schema) if sealed else scan.schema

        def column(field: pa.Field) -> str:
            stored = quote(field.name) if field.name in present else "NULL"
            if field.name in sealed:
                stored = f"{OPEN_FUNCTION}({stored})"
            return f"CAST({stored} AS {duckdb_type(field.type)}) AS {quote(field.name)}"

        columns = ", ".join(column(f) for f in plain)
        self._run(f"CREATE OR REPLACE VIEW {quote(alias)} AS SELECT {columns} FROM {source}", ())  # noqa: S608
        self._registered[alias] = _Registration(table.name, scan.version)

    def register_parquet(self, alias: str, path: Path, *, row_id: str | None = None) -> None:
        """A view named ``alias`` over one Parquet file, with its 1-based row number as
        ``row_id``."""
        quote = self.dialect.quote
        source = self.dialect.string_literal(str(path))
        if row_id is None:
            select = f"SELECT * FROM read_parquet({source})"  # noqa: S608
        else:
            select = (
                f"SELECT file_row_number + 1 AS {quote(row_id)}, "  # noqa: S608
                f"* EXCLUDE (file_row_number) "
                f"FROM read_parquet({source}, file_row_number = true)"
            )
        self._run(f"CREATE OR REPLACE VIEW {quote(alias)} AS {select}", (), alias)

    def save_table(self, path: Path, sql: str, params: Params = ()) -> int:
        """The result of ``sql`` as the one table of a new DuckDB database file at ``path``
        (written in the order of the result, checkpointed, closed)."""
        if path.exists():
            raise LakeStorageError(f"{path} exists already: saved tables are written once")
        quote = self.dialect.quote
        database = f"_saving_{next(self._names)}"
        self._run(f"ATTACH {self.dialect.string_literal(str(path))} AS {quote(database)}", ())
        try:
            target = f"{quote(database)}.{_SAVED_TABLE}"
            self._run(f"CREATE TABLE {target} AS {sql}", params)
            rows = self._run(f"SELECT count(*) FROM {target}", ()).fetchone()  # noqa: S608
            self._run(f"CHECKPOINT {quote(database)}", ())
        finally:
            self._run(f"DETACH {quote(database)}", ())
        return int(rows[0]) if rows else 0

    def register_saved(self, alias: str, path: Path) -> None:
        """A view named ``alias`` over the table of a database file ``save_table`` wrote,
        attached read only (other processes may attach it too)."""
        quote = self.dialect.quote
        database = f"_saved_{next(self._names)}"
        source = self.dialect.string_literal(str(path))
        self._run(f"ATTACH {source} AS {quote(database)} (READ_ONLY)", (), alias)
        select = f"SELECT * FROM {quote(database)}.{_SAVED_TABLE}"  # noqa: S608
        self._run(f"CREATE OR REPLACE VIEW {quote(alias)} AS {select}", (), alias)

    def register_arrow(self, alias: str, table: pa.Table) -> None:
        """A table named ``alias`` holding a copy of the Arrow table."""
        scratch = f"_arrow_{alias}"
        self._connection.register(scratch, table)
        try:
            quote = self.dialect.quote
            copy = f"CREATE OR REPLACE TABLE {quote(alias)} AS SELECT * FROM {quote(scratch)}"  # noqa: S608
            self._run(copy, (), alias)
        finally:
            self._connection.unregister(scratch)

    def register_stream(self, alias: str, batches: pa.RecordBatchReader) -> None:
        """The stream as a table DuckDB scans as it reads, batch by batch, in one pass; it is
        registered on the cursor of the next query (Python objects are a cursor's own)."""
        self._streams[alias] = batches

    def register_function(
        self,
        name: str,
        function: Callable[..., pa.Array],
        *,
        arguments: int = 1,
        volatile: bool = False,
    ) -> None:
        """A vectorised Arrow UDF: DuckDB hands it chunks of rows (2,048 at a time)."""
        with contextlib.suppress(duckdb.InvalidInputException):
            self._connection.remove_function(name)
        self._connection.create_function(  # type: ignore[call-overload]
            name,
            function,
            ["VARCHAR"] * arguments,
            "VARCHAR",
            type="arrow",
            null_handling="special",
            side_effects=volatile,
        )

    def query(self, sql: str, params: Params = ()) -> pa.Table:
        """The whole result of ``sql`` as an Arrow table."""
        cursor = self._connection.cursor()
        try:
            result: pa.Table = self._relation(cursor, sql, params).to_arrow_table()
            return result.cast(_utc(result.schema))
        except duckdb.Error as exc:
            raise self._error(exc, sql) from exc
        finally:
            cursor.close()

    def query_batches(
        self, sql: str, params: Params = (), batch_size: int = 65536
    ) -> Iterator[pa.RecordBatch]:
        """Stream the result of ``sql``; a cursor of its own, so other queries may run meanwhile."""
        cursor = self._connection.cursor()
        try:
            try:
                relation = self._relation(cursor, sql, params)
                reader: pa.RecordBatchReader = relation.to_arrow_reader(batch_size)
            except duckdb.Error as exc:
                raise self._error(exc, sql) from exc
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (duckdb.Error, pa.ArrowException) as exc:
                    raise self._error(exc, sql) from exc
                if batch.num_rows:
                    yield batch.cast(_utc(batch.schema))
        finally:
            cursor.close()

    def _relation(
        self, cursor: duckdb.DuckDBPyConnection, sql: str, params: Params
    ) -> duckdb.DuckDBPyRelation:
        for alias, stream in self._streams.items():
            cursor.register(alias, stream)
            # A stream's size is unknown to the planner, which would then build its joins' hash
            # tables on it (the whole stream in memory); the tables joined to it are smaller.
            # And a stream takes no filters: pushed down, a filter would only stop at the scan
            # with the expressions of the projections it passed copied into it, computed twice.
            cursor.execute("SET disabled_optimizers = 'build_side_probe_side,filter_pushdown'")
        self._streams.clear()  # read once
        relation = cursor.sql(sql, params=params or None)
        if relation is None:  # a statement that returns nothing
            raise LakeQueryError(f"the statement returned no rows to read\nSQL: {sql}")
        return relation

    def count(self, alias: str) -> int:
        """Rows of a registered alias."""
        if alias not in self._registered:
            raise LakeQueryError(f"no lake table is registered as {alias!r}")
        table = self.query(f"SELECT count(*) AS n FROM {self.dialect.quote(alias)}")  # noqa: S608
        return int(table.column("n")[0].as_py())

    def close(self) -> None:
        self._connection.close()

    def _run(
        self,
        sql: str,
        params: Params,
        alias: str | None = None,
        *,
        cursor: duckdb.DuckDBPyConnection | None = None,
    ) -> duckdb.DuckDBPyConnection:
        target = cursor or self._connection
        try:
            if params:
                return target.execute(sql, params)
            return target.execute(sql)
        except duckdb.Error as exc:
            raise self._error(exc, sql, alias) from exc

    def _error(
        self, exc: BaseException, sql: str, alias: str | None = None
    ) -> LakeQueryError | LakeStorageError:
        tables = [f"{a} = {r.table} @ version {r.version}" for a, r in self._registered.items()]
        if alias is not None:
            tables.append(f"{alias} (being registered)")
        named = "; ".join(tables) or "none registered"
        message = f"DuckDB could not run a query on lake tables ({named}): {exc}\nSQL: {sql}"
        if isinstance(exc, duckdb.IOException):
            return LakeStorageError(message)
        return LakeQueryError(message)


def scratch_engine(scratch: Path, memory_limit: str = "1GB") -> DuckDBEngine:
    """The engine the lake uses for its own merges: spills to ``scratch`` past ``memory_limit``."""
    scratch.mkdir(parents=True, exist_ok=True)
    return DuckDBEngine(
        memory_limit=memory_limit,
        temp_directory=Path(tempfile.mkdtemp(prefix="duckdb-", dir=scratch)),
    )
