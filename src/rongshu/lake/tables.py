"""Versioned lake tables: one Delta Lake table per catalog resource, written by ``deltalake``.

Each load commits one new version atomically: data files are written first, then one entry in
``_delta_log/`` makes them a version (it appears whole or not at all, by an atomic rename). A
load that fails or is killed leaves only files that no version references; readers never see
them, and the next writer or ``vacuum`` deletes them. Spark reads the same directories natively.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, PostCommitHookProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, SchemaMismatchError, TableNotFoundError

from rongshu.core.errors import (
    ConfigurationError,
    Conflict,
    NotFound,
    RongshuError,
    ValidationFailed,
)
from rongshu.core.keys import LocalKeyDirectory
from rongshu.lake.encryption import (
    FieldCipher,
    columns_to_seal,
    open_batch,
    plain_schema,
    seal_batch,
    sealed_columns,
    sealed_schema,
)
from rongshu.lake.engine import LakeEngine
from rongshu.lake.schema import check_compatible, check_schema, conform_batch, normalise_type
from rongshu.lake.storage import (
    STAGING_DIR,
    data_files,
    remove_files,
    storage_error,
    write_lock,
)

if TYPE_CHECKING:
    from rongshu.core.settings import Settings

WriteMode = Literal["overwrite", "append", "merge"]
#: Under the lake root: scratch space of engines (not a table: ``tables()`` skips ``_`` names).
SCRATCH_DIR = "_scratch"
WRITE_MODES: tuple[str, ...] = get_args(WriteMode)

#: Engine factory for the lake's own merges: given a scratch directory to spill into.
EngineFactory = Callable[[Path], LakeEngine]

_META = "rongshu."  # prefix of the lake's keys in a Delta commit's commitInfo
# Readers of the plain Parquet files (DuckDB's read_parquet) would be wrong on these features.
_UNREADABLE_FEATURES = {"deletionVectors", "columnMapping"}
_LOG_FILE = re.compile(r"^(\d{20})\.(json|checkpoint\..*parquet|crc)$")


@dataclass(frozen=True)
class VersionInfo:
    """One committed version: when, how, how many rows, and the caller's commit metadata."""

    version: int
    committed_at: dt.datetime
    operation: str  # "overwrite", "append", "merge"; Delta's operation for foreign commits
    rows_added: int | None
    rows_removed: int | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CommitResult:
    """What a commit created."""

    version: int
    mode: str
    rows_written: int  # rows of the input that the version holds (merge: after de-duplication)
    rows_removed: int  # rows of the previous version replaced (overwrite: all; merge: updated)
    files: int  # data files added
    bytes: int  # bytes of the data files added


@dataclass(frozen=True)
class TableScan:
    """The Parquet files that make up one version, for engines to read."""

    version: int
    schema: pa.Schema
    files: tuple[Path, ...]
    rows: int
    bytes: int


def directory_name(name: str) -> str:
    """A safe directory name for a table name; names that had to change get a hash suffix.

    Two different names never share a directory, whatever characters they contain.
    """
    if not name or not name.strip():
        raise ValidationFailed("a lake table needs a name")
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_-")[:64]
    if safe == name:
        return safe
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return f"{safe or 'table'}-{digest}"


class Lake:
    """The lake: a directory of versioned tables, with the retention settings of all of them.

    ``retention_versions`` keeps that many latest versions readable; ``retention_days`` keeps the
    versions committed in that many days. A version is dropped by ``vacuum`` only when every
    setting given allows it; with neither, every version is kept. The latest is always kept.
    """

    def __init__(
        self,
        root: Path,
        *,
        retention_versions: int | None = None,
        retention_days: int | None = None,
        merge_in_memory_rows: int = 1_000_000,
        merge_memory_limit: str = "1GB",
        target_file_size: int | None = None,
        lock_timeout: float = 0.0,
        engine_factory: EngineFactory | None = None,
        cipher: FieldCipher | None = None,
    ) -> None:
        if retention_versions is not None and retention_versions < 1:
            raise ValidationFailed("retention_versions must be at least 1 (the latest version)")
        if retention_days is not None and retention_days < 0:
            raise ValidationFailed("retention_days cannot be negative")
        self.root = Path(root)
        self.retention_versions = retention_versions
        self.retention_days = retention_days
        self.merge_in_memory_rows = merge_in_memory_rows
        self.merge_memory_limit = merge_memory_limit
        self.target_file_size = target_file_size
        self.lock_timeout = lock_timeout
        self._engine_factory = engine_factory
        #: Seals and opens encrypted columns; without it they cannot be read or written.
        self.cipher = cipher

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        """The installation's lake, under ``settings.lake_dir`` with its retention settings."""
        return cls(
            settings.lake_dir,
            retention_versions=settings.lake_retention_versions,
            retention_days=settings.lake_retention_days,
            cipher=FieldCipher(LocalKeyDirectory(settings.keys_dir / "data")),
        )

    def table(self, name: str) -> LakeTable:
        """The table of a catalog resource (by its code); it exists once a load committed."""
        return LakeTable(self, name, self.root / directory_name(name))

    def tables(self) -> list[str]:
        """Names of the tables that have at least one version."""
        if not self.root.is_dir():
            return []
        names = []
        for path in sorted(self.root.iterdir()):
            if path.name.startswith(("_", ".")) or not DeltaTable.is_deltatable(str(path)):
                continue
            metadata = DeltaTable(str(path)).metadata()
            names.append(metadata.name or path.name)
        return sorted(names)

    @contextmanager
    def work_engine(self) -> Iterator[LakeEngine]:
        """An engine for one piece of work (a run, a page of rows), spilling to a scratch
        directory under the lake's ``_scratch`` that is removed afterwards."""
        root = self.root / SCRATCH_DIR
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root) as scratch:
            engine = self.engine(Path(scratch))
            try:
                yield engine
            finally:
                engine.close()

    def engine(self, scratch: Path) -> LakeEngine:
        """An engine for the lake's own work, spilling to ``scratch``."""
        if self._engine_factory is not None:
            return self._engine_factory(scratch)
        from rongshu.lake.duckdb_engine import scratch_engine

        return scratch_engine(scratch, self.merge_memory_limit)


class BatchSource:
    """The caller's batches, conformed to the schema and counted; remembers the caller's error.

    deltalake pulls batches through the Arrow C stream interface and reports a failure of the
    producer as its own generic error; the original exception is kept here to re-raise it.
    """

    def __init__(
        self,
        batches: Iterable[pa.RecordBatch],
        schema: pa.Schema,
        *,
        sealing: tuple[pa.Schema, FieldCipher] | None = None,
    ) -> None:
        self._batches = batches
        self._plain = schema
        #: What is written: ``schema``, or with ``sealing`` its sealed form (encrypted columns).
        self.schema = schema if sealing is None else sealing[0]
        self._cipher = None if sealing is None else sealing[1]
        self.rows = 0
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self._batches:
                conformed = conform_batch(batch, self._plain)
                if conformed.num_rows:
                    self.rows += conformed.num_rows
                    if self._cipher is not None:
                        conformed = seal_batch(conformed, self.schema, self._cipher)
                    yield conformed
        except BaseException as exc:
            self.error = exc
            raise

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, iter(self))


class LakeTable:
    """One resource's table: its versions, their files and rows, and atomic commits."""

    def __init__(self, lake: Lake, name: str, path: Path) -> None:
        self.lake = lake
        self.name = name
        self.path = path

    def __repr__(self) -> str:
        return f"LakeTable({self.name!r}, {str(self.path)!r})"

    # -- reading -------------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether a load has committed a version."""
        return self.path.is_dir() and DeltaTable.is_deltatable(str(self.path))

    def version(self) -> int | None:
        """The latest committed version, None before the first load."""
        if not self.exists():
            return None
        return self.delta().version()

    def schema(self, version: int | None = None) -> pa.Schema:
        """The columns of a version (the latest by default), as readers see them (encrypted
        columns with their plain types)."""
        return plain_schema(self.stored_schema(version))

    def stored_schema(self, version: int | None = None) -> pa.Schema:
        """The columns of a version as the files store them (encrypted columns as tokens)."""
        return pa.schema(self.delta(version).schema().to_arrow())

    def versions(self) -> list[VersionInfo]:
        """The versions still kept, oldest first."""
        if not self.exists():
            return []
        return sorted(
            (_version_info(entry) for entry in self.delta().history()), key=lambda v: v.version
        )

    def scan(self, version: int | None = None) -> TableScan:
        """The data files of a version, its schema, rows and bytes."""
        table = self.delta(version)
        features = set(table.protocol().reader_features or ())
        if features & _UNREADABLE_FEATURES:
            raise ConfigurationError(
                f"lake table {self.name!r} uses Delta features {sorted(features)} that its "
                "engines cannot read from plain Parquet; rewrite it with a full snapshot load"
            )
        files = tuple(Path(uri.removeprefix("file://")) for uri in table.file_uris())
        actions = pa.table(table.get_add_actions(flatten=False))
        rows = 0
        paths, records = actions.column("path").to_pylist(), actions.column("num_records")
        for path, count in zip(paths, records.to_pylist(), strict=True):
            rows += count if count is not None else pq.read_metadata(self.path / path).num_rows
        size = int(pc.sum(actions.column("size_bytes")).as_py() or 0)
        schema = pa.schema(table.schema().to_arrow())
        return TableScan(table.version(), schema, files, rows, size)

    def count(self, version: int | None = None) -> int:
        """Rows of a version, from the file statistics (no data read)."""
        return self.scan(version).rows

    def batches(
        self,
        version: int | None = None,
        *,
        columns: Sequence[str] | None = None,
        batch_size: int = 65536,
    ) -> Iterator[pa.RecordBatch]:
        """Stream the rows of a version (files written before a column was added read null);
        encrypted columns are opened with the lake's field key.

        The version's files are looked up now, not at the first batch, so the stream can feed
        a commit to the same table (Delta's writer pulls it where no lookup may run)."""
        scan = self.scan(version)
        if not scan.files:
            return iter(())
        return self._read_files(scan, columns, batch_size)

    def _read_files(
        self, scan: TableScan, columns: Sequence[str] | None, batch_size: int
    ) -> Iterator[pa.RecordBatch]:
        dataset = pads.dataset([str(f) for f in scan.files], schema=scan.schema, format="parquet")
        sealed = bool(sealed_columns(scan.schema))
        try:
            for batch in dataset.to_batches(
                columns=list(columns) if columns is not None else None, batch_size=batch_size
            ):
                yield open_batch(batch, self.lake.cipher) if sealed else batch
        except OSError as exc:
            raise storage_error(exc, table=self.name, path=self.path, action="reading") from exc

    def read(self, version: int | None = None, *, columns: Sequence[str] | None = None) -> pa.Table:
        """All rows of a version as one Arrow table (for small tables, tests and previews)."""
        schema = self.schema(version)
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        return pa.Table.from_batches(list(self.batches(version, columns=columns)), schema=schema)

    def spread_sample(self, version: int, limit: int) -> pa.Table:
        """At most ``limit`` rows of a version, every ``step``-th one, so the sample spreads
        over the whole version (loads append, so the first rows alone would be the oldest)."""
        rows = self.count(version)
        step = max(1, -(-rows // limit)) if rows else 1
        taken: list[pa.RecordBatch] = []
        seen = 0
        for batch in self.batches(version):
            first = (-seen) % step
            if first < batch.num_rows:
                taken.append(batch.take(pa.array(range(first, batch.num_rows, step), pa.int64())))
            seen += batch.num_rows
        schema = self.schema(version)
        return pa.Table.from_batches(taken, schema=schema) if taken else schema.empty_table()

    def delta(self, version: int | None = None) -> DeltaTable:
        """The deltalake handle of a version; NotFound when the table or version is not kept."""
        if not self.exists():
            raise NotFound(f"lake table {self.name!r} has no versions yet")
        try:
            return DeltaTable(str(self.path), version=version)
        except (TableNotFoundError, OSError) as exc:
            if version is None:
                raise storage_error(exc, table=self.name, path=self.path, action="reading") from exc
            kept = [v.version for v in self.versions()]
            raise NotFound(
                f"lake table {self.name!r} has no version {version} (kept: {kept[0]}–{kept[-1]})"
                if kept
                else f"lake table {self.name!r} is empty"
            ) from exc
        except Exception as exc:  # deltalake's DeltaError: a version past the latest, a bad log
            if version is not None and "version" in str(exc).lower():
                raise NotFound(f"lake table {self.name!r} has no version {version}") from exc
            raise storage_error(exc, table=self.name, path=self.path, action="reading") from exc

    # -- writing -------------------------------------------------------------------------------

    def commit(
        self,
        batches: Iterable[pa.RecordBatch],
        *,
        schema: pa.Schema,
        mode: WriteMode,
        key: Sequence[str] = (),
        metadata: Mapping[str, str] | None = None,
        encrypt: Sequence[str] = (),
    ) -> CommitResult:
        """Write ``batches`` as ONE new version, or nothing if anything fails.

        ``overwrite`` makes the input the whole table (and its schema); ``append`` adds the rows;
        ``merge`` upserts by ``key``: input rows whose key exists replace those rows, new keys
        are inserted, and among input rows with the same key the last one wins, so running the
        same input twice changes nothing. Batches are streamed, never all held in memory.
        ``metadata`` (load id, source fingerprint, ...) is stored with the version. ``encrypt``
        names the columns to store sealed (SM4-GCM, ``rongshu.lake.encryption``) when this
        version replaces the table; appends and merges keep the table's sealing.
        """
        if mode not in WRITE_MODES:
            raise ValidationFailed(f"unknown write mode {mode!r}; use one of {list(WRITE_MODES)}")
        check_schema(schema)
        schema = pa.schema([pa.field(f.name, normalise_type(f.type)) for f in schema])
        key = list(key)
        if mode == "merge":
            missing = [k for k in key if k not in schema.names]
            if not key or missing:
                raise ValidationFailed(
                    f"a merge into {self.name!r} needs key columns of the table "
                    f"(given {key}, not columns: {missing})"
                )
        commit_id = uuid.uuid4().hex
        to_seal = columns_to_seal(
            encrypt, self.stored_schema() if self.exists() else None, mode, key
        )
        sealing = None
        if to_seal:
            if self.lake.cipher is None:
                raise ConfigurationError(f"lake table {self.name!r}: no field key to encrypt with")
            sealing = (sealed_schema(schema, to_seal), self.lake.cipher)
        source = BatchSource(batches, schema, sealing=sealing)
        properties = self._properties(commit_id, mode, metadata)
        with write_lock(self.path, table=self.name, timeout=self.lake.lock_timeout):
            before = data_files(self.path)
            previous = self.delta() if self.exists() else None
            previous_files = _file_sizes(previous)
            try:
                if mode == "merge":
                    from rongshu.lake.merge import merge_into

                    merge_into(self, previous, source, key, properties)
                else:
                    self._write(previous, source, mode, properties)
            except BaseException as exc:
                committed = self._find_commit(commit_id)
                self._discard_new_files(before)
                if committed is None:
                    failure = self._failure(exc, source)
                    if failure is exc or failure is source.error:
                        raise failure  # noqa: B904 - the caller's own error, as they raised it
                    raise failure from exc
            info = self._find_commit(commit_id)
            if info is None:  # pragma: no cover - deltalake returned without committing
                raise RongshuError(f"lake table {self.name!r}: the commit left no version")
            added = _file_sizes(self.delta(info.version))
            new = {p: s for p, s in added.items() if p not in previous_files}
            return CommitResult(
                version=info.version,
                mode=mode,
                rows_written=info.rows_added or 0,
                rows_removed=info.rows_removed or 0,
                files=len(new),
                bytes=sum(new.values()),
            )

    def _write(
        self,
        previous: DeltaTable | None,
        source: BatchSource,
        mode: str,
        properties: Callable[[int | None, int | None], CommitProperties],
    ) -> None:
        schema_mode: Literal["merge", "overwrite"] | None = None
        rows_removed: int | None = 0
        if previous is not None:
            current = pa.schema(previous.schema().to_arrow())
            if mode == "append":
                if check_compatible(self.name, current, source.schema):
                    schema_mode = "merge"
            else:
                rows_removed = self.count(previous.version())
                changed = not current.equals(source.schema, check_metadata=False)
                if changed or sealed_columns(current) != sealed_columns(source.schema):
                    schema_mode = "overwrite"
        write_deltalake(
            str(self.path),
            source.reader(),
            mode="append" if mode == "append" else "overwrite",
            schema_mode=schema_mode,
            name=self.name if previous is None else None,
            target_file_size=self.lake.target_file_size,
            commit_properties=properties(None, rows_removed),
            post_commithook_properties=HOOKS,
        )

    def _properties(
        self, commit_id: str, mode: str, metadata: Mapping[str, str] | None
    ) -> Callable[[int | None, int | None], CommitProperties]:
        """Commit properties naming the commit, the mode's row counts and the caller's metadata."""
        caller = {str(k): str(v) for k, v in (metadata or {}).items()}

        def build(rows_added: int | None, rows_removed: int | None) -> CommitProperties:
            custom = {
                f"{_META}commit_id": commit_id,
                f"{_META}mode": mode,
                f"{_META}metadata": json.dumps(caller, ensure_ascii=False, sort_keys=True),
            }
            if rows_added is not None:
                custom[f"{_META}rows_added"] = str(rows_added)
            if rows_removed is not None:
                custom[f"{_META}rows_removed"] = str(rows_removed)
            return CommitProperties(custom_metadata=custom)

        return build

    def _find_commit(self, commit_id: str) -> VersionInfo | None:
        if not self.exists():
            return None
        try:
            history = self.delta().history(limit=20)
        except Exception:  # noqa: BLE001 - a failed write may leave no readable table at all
            return None
        for entry in history:
            if entry.get(f"{_META}commit_id") == commit_id:
                return _version_info(entry)
        return None

    def _discard_new_files(self, before: set[Path]) -> None:
        """Delete files this failed write created that no version references (lock held)."""
        try:
            referenced = set(_file_sizes(self.delta())) if self.exists() else set()
            remove_files({p for p in data_files(self.path) - before if p not in referenced})
        except Exception:  # noqa: BLE001, S110 - the write's own error is the one to report
            pass

    def _failure(self, exc: BaseException, source: BatchSource) -> BaseException:
        """The error to raise for a failed commit: the caller's own, or one naming the table."""
        if source.error is not None:
            return source.error
        if isinstance(exc, RongshuError) or not isinstance(exc, Exception):
            return exc
        if isinstance(exc, CommitFailedError):
            return Conflict(f"lake table {self.name!r} was changed by another writer: {exc}")
        if isinstance(exc, SchemaMismatchError):
            return ValidationFailed(f"the load does not fit lake table {self.name!r}: {exc}")
        return storage_error(exc, table=self.name, path=self.path, action="the commit")

    # -- retention -----------------------------------------------------------------------------

    def vacuum(self) -> int:
        """Apply retention: drop versions it no longer keeps, delete files no kept version reads.

        Also deletes what failed or killed loads left behind. Returns the data files deleted.
        """
        if not self.exists():
            return 0
        with write_lock(self.path, table=self.name, timeout=self.lake.lock_timeout):
            try:
                return self._vacuum()
            except OSError as exc:
                raise storage_error(exc, table=self.name, path=self.path, action="vacuum") from exc

    def _vacuum(self) -> int:
        kept = self.versions()
        floor = self._retention_floor(kept)
        latest = kept[-1].version
        if floor > kept[0].version:
            self.delta(floor).create_checkpoint()
            for entry in (self.path / "_delta_log").iterdir():
                match = _LOG_FILE.match(entry.name)
                if match and int(match.group(1)) < floor:
                    entry.unlink()
        referenced: set[Path] = set()
        for version in range(floor, latest + 1):
            referenced |= set(_file_sizes(self.delta(version)))
        removed = remove_files(data_files(self.path) - referenced)
        shutil.rmtree(self.path / STAGING_DIR, ignore_errors=True)
        return removed

    def _retention_floor(self, kept: list[VersionInfo]) -> int:
        """The oldest version retention keeps; every later one is kept too."""
        keep_count, keep_days = self.lake.retention_versions, self.lake.retention_days
        if keep_count is None and keep_days is None:
            return kept[0].version
        latest = kept[-1].version
        now = dt.datetime.now(dt.UTC)
        cutoff = now - dt.timedelta(days=keep_days) if keep_days is not None else None
        floor = latest
        for info in reversed(kept[:-1]):
            by_count = keep_count is not None and info.version > latest - keep_count
            by_age = cutoff is not None and info.committed_at >= cutoff
            if not (by_count or by_age):
                break
            floor = info.version
        return floor


HOOKS = PostCommitHookProperties(create_checkpoint=True, cleanup_expired_logs=False)
"""Checkpoints as deltalake makes them, but old log entries go only by the lake's retention."""


def _file_sizes(table: DeltaTable | None) -> dict[Path, int]:
    """Absolute path → size of each data file of a version."""
    if table is None:
        return {}
    actions = pa.table(table.get_add_actions(flatten=False))
    root = Path(table.table_uri.removeprefix("file://"))
    return {
        root / path: int(size)
        for path, size in zip(
            actions.column("path").to_pylist(),
            actions.column("size_bytes").to_pylist(),
            strict=True,
        )
    }


def _version_info(entry: Mapping[str, Any]) -> VersionInfo:
    """A VersionInfo from one commitInfo of deltalake's history."""
    metrics = entry.get("operationMetrics") or {}
    operation = str(entry.get("operation", "")).upper()
    mode = str((entry.get("operationParameters") or {}).get("mode", "")).lower()
    if operation == "MERGE":
        kind = "merge"
        added = _int(metrics.get("num_target_rows_inserted"), 0) + _int(
            metrics.get("num_target_rows_updated"), 0
        )
        removed: int | None = _int(metrics.get("num_target_rows_updated"), 0)
    elif operation in {"WRITE", "CREATE TABLE"} and mode in {"append", "overwrite"}:
        kind = mode
        added = _int(metrics.get("num_added_rows"), 0)
        removed = 0 if mode == "append" else None
    else:
        kind = operation.lower() or "unknown"
        added, removed = _int(metrics.get("num_added_rows"), 0), None
    if f"{_META}rows_added" in entry:
        added = _int(entry[f"{_META}rows_added"], added)
    if f"{_META}rows_removed" in entry:
        removed = _int(entry[f"{_META}rows_removed"], 0)
    if f"{_META}mode" in entry:
        kind = str(entry[f"{_META}mode"])
    raw = entry.get(f"{_META}metadata")
    metadata = json.loads(raw) if isinstance(raw, str) else {}
    return VersionInfo(
        version=int(entry["version"]),
        committed_at=dt.datetime.fromtimestamp(int(entry["timestamp"]) / 1000, dt.UTC),
        operation=kind,
        rows_added=added,
        rows_removed=removed,
        metadata=metadata,
    )


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default
