"""The serving index file: one small SQLite file per resource and lake version, which query
(查询) and verification (核验) calls answer from, fast.

The lake (Delta/Parquet read through DuckDB) is built for scans; one point lookup there costs
milliseconds. So for each resource's current lake version a small SQLite file is built once,
``<data dir>/serving/<resource>/v<version>.sqlite``, holding per lake row:

- ``k``: the keyed digest of the row's normalised key (the service's key columns joined by
  U+001F), indexed; the index holds no clear key;
- ``v<i>``: column ``i`` as the platform may return it; columns the lake seals stay sealed
  (``sm4gcm:v<N>:...`` tokens under the field key) and are opened only when a query returns them;
- ``h<i>``: the keyed digest of column ``i``'s normalised clear value, so verification compares
  digests and never needs a clear value.

Digests are the first 128 bits of HMAC-SM3 under a verification key derived from the pseudonym
key (never that key itself), computed over whole Arrow arrays at build time by the numba kernel
of ``rongshu.core.crypto_arrays`` and per call for the consumer's few strings. Both go through
one normalisation rule, in an Arrow form (``normalise_array``) and a text form
(``normalise_text``).

Files are written under a temporary name and renamed into place, so readers see a whole file or
none; a lock file makes concurrent builders (threads or processes) wait for each other, and the
second finds the first one's file. Once a newer file is in place, all but the previous one are
removed. Readers open files read-only and immutable, one connection per thread.

Which file to build and serve, and the calls, are ``rongshu.exchange.serving``'s.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from rongshu.catalog.schemas import FieldType
from rongshu.core.crypto import LocalCryptoProvider, hmac_sm3
from rongshu.core.errors import Conflict, ValidationFailed
from rongshu.core.keys import KeyProvider, KeyPurpose
from rongshu.core.settings import Settings
from rongshu.lake.encryption import FieldCipher, sealed_columns
from rongshu.lake.schema import FIELD_ARROW_TYPES
from rongshu.lake.tables import LakeTable, directory_name

if TYPE_CHECKING:
    from rongshu.core.crypto_arrays import HmacSm3Pseudonymiser

__all__ = [
    "DIGEST_BYTES",
    "KEY_SEPARATOR",
    "ServingIndex",
    "index_path",
    "normalise_array",
    "normalise_text",
    "verification_key",
    "write_index",
]

#: Separator of the key columns' values in the key digest (ASCII unit separator).
KEY_SEPARATOR: Final = "\x1f"
#: Digest bytes kept: 128 bits of HMAC-SM3 (RFC 2104 allows truncation to half the output).
DIGEST_BYTES: Final = 16
_VERIFICATION_LABEL: Final = b"rongshu-serving"
_BUILD_ROWS: Final = 65536
_LOCK_FILE: Final = ".build.lock"
_ASCII_UPPER: Final = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}
_CRYPTO: Final = LocalCryptoProvider()


# -- normalisation: one rule, two forms -----------------------------------------------------------


def normalise_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each value as verification compares it: its canonical text (dates ``yyyy-mm-dd``,
    numbers as Arrow writes them), NFKC (full-width → half-width), whitespace stripped, ASCII
    letters upper-cased (an ID number's ``x`` → ``X``); NULL and empty text become NULL.

    ``normalise_text`` is the same rule for one consumer-given string; a unit test holds
    them equal. Only ASCII letters change case: full Unicode case mapping differs between
    Arrow and Python (``ß``), and full-width letters are ASCII after NFKC."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
        return pa.nulls(len(array), pa.string())
    text = array if pa.types.is_string(array.type) else pc.cast(array, pa.string())
    text = pc.ascii_upper(pc.utf8_trim_whitespace(pc.utf8_normalize(text, "NFKC")))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def normalise_text(text: str, arrow_type: pa.DataType = pa.string()) -> str | None:
    """A consumer's value for a column of ``arrow_type`` as ``normalise_array`` writes that
    column's values; None when it is empty or is no value of that type (it matches nothing)."""
    clean = _normalised(text)
    if clean is None or pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return clean
    canonical = _canonical(clean, arrow_type)
    return None if canonical is None else _normalised(canonical)


def _normalised(text: str) -> str | None:
    text = unicodedata.normalize("NFKC", text).strip()
    text = text.upper() if text.isascii() else text.translate(_ASCII_UPPER)
    return text or None


def _canonical(text: str, arrow_type: pa.DataType) -> str | None:
    """``text`` read as a value of ``arrow_type`` and written as Arrow casts it to text."""
    try:
        if pa.types.is_date(arrow_type):
            return date.fromisoformat(text).isoformat()
        if pa.types.is_integer(arrow_type):
            return str(int(text))
        if pa.types.is_boolean(arrow_type):
            if text not in ("TRUE", "FALSE", "1", "0"):
                return None
            return "true" if text in ("TRUE", "1") else "false"
        if pa.types.is_floating(arrow_type):
            value: Any = float(text)
        elif pa.types.is_timestamp(arrow_type):
            value = datetime.fromisoformat(text)
        else:
            return None
        return str(pa.scalar(value, arrow_type).cast(pa.string()).as_py())
    except (ValueError, OverflowError, pa.ArrowException):
        return None


# -- the index file ----------------------------------------------------------------------------


def index_path(settings: Settings, code: str, version: int) -> Path:
    """Where the serving index of ``code``'s lake version ``version`` lives."""
    return settings.data_dir / "serving" / directory_name(code) / f"v{version}.sqlite"


def verification_key(keys: KeyProvider, version: int | None = None) -> tuple[int, bytes]:
    """The digest key: derived from a pseudonym key version (the current one by default), so
    a digest in an index file is no pseudonym a masked export shows."""
    if version is None:
        version, pseudonym = keys.current(KeyPurpose.PSEUDONYM)
    else:
        pseudonym = keys.get(KeyPurpose.PSEUDONYM, version)
    return version, hmac_sm3(pseudonym, _VERIFICATION_LABEL)


@dataclass(frozen=True)
class _Column:
    """One lake column in an index: its position, type, and how a stored value is read."""

    name: str
    position: int
    type: pa.DataType
    read: Callable[[Any], Any] | None  # None: the stored value is the lake value


class ServingIndex:
    """One serving index file, opened read-only; safe to share between threads."""

    def __init__(self, path: Path, keys: KeyProvider) -> None:
        self.path = path
        self._uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
        self._local = threading.local()
        self._keys = keys
        connection = self._connection()
        meta = dict(connection.execute("SELECT name, value FROM meta").fetchall())
        about = json.loads(meta["about"])
        #: The lake version the index was built from.
        self.version: int = about["version"]
        #: The lake schema (plain types, sealed columns included).
        self.schema: pa.Schema = pa.ipc.read_schema(pa.py_buffer(meta["schema"]))
        #: The key columns the digest ``k`` was made of, in order.
        self.key_columns: tuple[str, ...] = tuple(about["key_columns"])
        #: Rows of the lake version.
        self.row_count: int = about["rows"]
        sealed = {name: FieldType(kind) for name, kind in about["sealed"].items()}
        self._columns = {
            field.name: _Column(field.name, i, field.type, self._reader(field, sealed))
            for i, field in enumerate(self.schema)
        }
        #: The lake columns, in order.
        self.columns: tuple[str, ...] = tuple(self._columns)
        self._key_types = [self._columns[c].type for c in self.key_columns]
        _, key = verification_key(keys, about["digest_key_version"])
        self._mac = crypto_hmac.HMAC(key, hashes.SM3())
        self._sql: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}

    def __repr__(self) -> str:
        return f"ServingIndex({str(self.path)!r}, version={self.version})"

    def rows(
        self, key: Mapping[str, str], columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The lake rows with this key (sealed values opened), ``columns`` of them (all by
        default); a key may have several rows."""
        chosen = self.columns if columns is None else tuple(columns)
        return [values for values, _ in self.lookup(key, values=chosen)]

    def digests(
        self, key: Mapping[str, str], columns: Sequence[str] | None = None
    ) -> list[dict[str, bytes | None]]:
        """Per row with this key, each column's digest (None where the lake holds nothing)."""
        chosen = self.columns if columns is None else tuple(columns)
        return [found for _, found in self.lookup(key, digests=chosen)]

    def lookup(
        self, key: Mapping[str, str], *, values: Sequence[str] = (), digests: Sequence[str] = ()
    ) -> list[tuple[dict[str, Any], dict[str, bytes | None]]]:
        """Per row with this key: the values of ``values`` and the digests of ``digests``, in
        one read. A key value that is no value of its column's type finds nothing."""
        k = self._key_digest(key)
        if k is None:
            return []
        values, digests = tuple(values), tuple(digests)
        sql = self._sql.get((values, digests))
        if sql is None:
            unknown = [c for c in (*values, *digests) if c not in self._columns]
            if unknown:
                raise ValidationFailed(
                    f"lake version {self.version} has no column {', '.join(unknown)}",
                    details=[{"field": "columns", "reason": "unknown", "columns": unknown}],
                )
            selected = [f"v{self._columns[c].position}" for c in values]
            selected += [f"h{self._columns[c].position}" for c in digests]
            # Names come from the index's own schema, never from the caller's text.
            sql = f"SELECT {', '.join(selected) or '1'} FROM entry WHERE k = ?"  # noqa: S608
            self._sql[(values, digests)] = sql
        rows = self._connection().execute(sql, (k,)).fetchall()
        if not values:  # a verification without a row filter: the fast path
            return [({}, dict(zip(digests, row, strict=True))) for row in rows]
        readers = [(c, self._columns[c].read) for c in values]
        found = []
        for row in rows:
            opened = {
                c: (row[i] if read is None or row[i] is None else read(row[i]))
                for i, (c, read) in enumerate(readers)
            }
            found.append((opened, dict(zip(digests, row[len(values) :], strict=True))))
        return found

    def _key_digest(self, key: Mapping[str, str]) -> bytes | None:
        """The digest ``k`` of a consumer's key; 422 unless it gives exactly the key columns."""
        missing = [c for c in self.key_columns if c not in key]
        unknown = [c for c in key if c not in self.key_columns]
        if missing or unknown:
            raise ValidationFailed(
                f"the key must give {', '.join(self.key_columns)}"
                + (f" (missing {', '.join(missing)})" if missing else "")
                + (f" (not key fields: {', '.join(unknown)})" if unknown else ""),
                details=[
                    {"field": "key", "reason": "key_fields", "missing": missing, "unknown": unknown}
                ],
            )
        parts = []
        for column, arrow_type in zip(self.key_columns, self._key_types, strict=True):
            text = key[column]
            if KEY_SEPARATOR in text:
                raise ValidationFailed(
                    f"key field {column} holds a control character",
                    details=[{"field": "key", "reason": "control_character", "column": column}],
                )
            part = normalise_text(text, arrow_type)
            if part is None:
                return None
            parts.append(part)
        return self._digest(KEY_SEPARATOR.join(parts))

    def claim_digest(self, column: str, claim: str) -> bytes | None:
        """The digest a claimed value of ``column`` would have in the index (None: empty, or
        no value of the column's type, so it matches nothing)."""
        text = normalise_text(claim, self._columns[column].type)
        return None if text is None else self._digest(text)

    def _digest(self, text: str) -> bytes:
        mac = self._mac.copy()
        mac.update(text.encode())
        return mac.finalize()[:DIGEST_BYTES]

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self._uri, uri=True)
            self._local.connection = connection
        return connection

    def _reader(
        self, field: pa.Field, sealed: Mapping[str, FieldType]
    ) -> Callable[[Any], Any] | None:
        """How a stored value of ``field`` becomes the lake's value (see ``_stored``)."""
        if field.name in sealed:
            return self._opener(FIELD_ARROW_TYPES[sealed[field.name]])
        kind = field.type
        if _stored_as_is(kind):
            return None
        if pa.types.is_boolean(kind):
            return bool
        if pa.types.is_date32(kind):
            return _date_from_days
        if pa.types.is_temporal(kind):
            return lambda v: pa.scalar(v, pa.int64()).cast(kind).as_py()
        return lambda v: pa.scalar(v, pa.string()).cast(kind).as_py()

    def _opener(self, plain: pa.DataType) -> Callable[[Any], Any]:
        def open_token(token: str) -> Any:
            _, version, body = token.split(":", 2)
            key = self._keys.get(KeyPurpose.FIELD, int(version.removeprefix("v")))
            text = _CRYPTO.sm4_gcm_decrypt(key, bytes.fromhex(body)).decode()
            if pa.types.is_string(plain):
                return text
            return pa.scalar(text).cast(plain).as_py()

        return open_token


def _stored_as_is(kind: pa.DataType) -> bool:
    """Whether SQLite stores values of ``kind`` as Python gives them (text, numbers, bytes)."""
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_binary(kind)
    )


_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


def _date_from_days(days: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + days)


# -- writing -------------------------------------------------------------------------------------


def write_index(
    path: Path, table: LakeTable, version: int, key_columns: tuple[str, ...], keys: KeyProvider
) -> None:
    """Write the serving index of ``table``'s lake version ``version`` to ``path``, unless a
    file built for the same key columns is there already (another builder's, waited for)."""
    with _build_lock(path.parent):
        if path.exists() and _built_key_columns(path) == key_columns:
            return
        temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.tmp")
        try:
            _write(temporary, table, version, key_columns, keys)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        _sync_directory(path.parent)
        _prune(path.parent, version)


def _built_key_columns(path: Path) -> tuple[str, ...]:
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        (about,) = connection.execute("SELECT value FROM meta WHERE name = 'about'").fetchone()
    finally:
        connection.close()
    return tuple(json.loads(about)["key_columns"])


@contextmanager
def _build_lock(directory: Path) -> Iterator[None]:
    """Hold the resource's build lock (``flock``: the kernel drops it if the builder dies)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(
    path: Path, table: LakeTable, version: int, key_columns: Sequence[str], keys: KeyProvider
) -> None:
    """Write the index of ``version`` to ``path``, one lake batch at a time."""
    schema = table.schema(version)
    missing = [c for c in key_columns if c not in schema.names]
    if missing:
        raise Conflict(
            f"lake version {version} of {table.name} has no key column {', '.join(missing)}"
        )
    # The numba kernels load here, not when a web worker imports this module.
    from rongshu.core.crypto_arrays import HmacSm3Pseudonymiser

    sealed = sealed_columns(table.stored_schema(version))
    cipher = FieldCipher(keys)
    digest_version, key = verification_key(keys)
    digest = HmacSm3Pseudonymiser(key, length=2 * DIGEST_BYTES)
    positions = [schema.get_field_index(c) for c in key_columns]
    count = len(schema)
    names = ["k", *(f"v{i}" for i in range(count)), *(f"h{i}" for i in range(count))]
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        os.chmod(path, 0o600)  # unsealed columns are in clear
        connection.execute("PRAGMA journal_mode = OFF")  # a failed build is thrown away
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("BEGIN")
        connection.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value)")
        connection.execute(f"CREATE TABLE entry ({', '.join(names)})")
        insert = f"INSERT INTO entry VALUES ({', '.join('?' * len(names))})"  # noqa: S608
        rows = 0
        for batch in table.batches(version, batch_size=_BUILD_ROWS):
            connection.executemany(insert, _entries(batch, positions, sealed, cipher, digest))
            rows += batch.num_rows
        connection.execute("CREATE INDEX entry_k ON entry (k)")
        about = {
            "resource_code": table.name,
            "version": version,
            "key_columns": list(key_columns),
            "sealed": {name: kind.value for name, kind in sealed.items()},
            "digest_key_version": digest_version,
            "rows": rows,
        }
        connection.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("about", json.dumps(about)), ("schema", schema.serialize().to_pybytes())],
        )
        connection.execute("COMMIT")
    finally:
        connection.close()
    with path.open("rb") as written:
        os.fsync(written.fileno())


def _entries(
    batch: pa.RecordBatch,
    positions: Sequence[int],
    sealed: Mapping[str, FieldType],
    cipher: FieldCipher,
    digest: HmacSm3Pseudonymiser,
) -> Iterable[tuple[Any, ...]]:
    """The batch's index rows: key digest, stored values, value digests (all vectorised)."""
    texts = [normalise_array(column) for column in batch.columns]
    key_text = pc.binary_join_element_wise(*(texts[p] for p in positions), KEY_SEPARATOR)
    values = [
        _stored(column, cipher if name in sealed else None)
        for name, column in zip(batch.schema.names, batch.columns, strict=True)
    ]
    hashes = [_digests(digest, text) for text in texts]
    return zip(_digests(digest, key_text), *values, *hashes, strict=True)


def _digests(digest: HmacSm3Pseudonymiser, texts: pa.Array) -> list[bytes | None]:
    from rongshu.core.crypto_arrays import hex_bytes

    return hex_bytes(digest(texts)).to_pylist()  # type: ignore[no-any-return]


def _stored(column: pa.Array, cipher: FieldCipher | None) -> list[Any]:
    """Values as the index stores them (``ServingIndex._reader`` reads them back): sealed
    columns as fresh tokens, booleans as 0/1, dates as days since 1970, other temporal values
    as integers of their unit, anything else unusual as text."""
    if cipher is not None:
        return cipher.seal(column).to_pylist()  # type: ignore[no-any-return]
    kind = column.type
    if pa.types.is_boolean(kind):
        column = pc.cast(column, pa.int8())
    elif pa.types.is_date32(kind):
        column = pc.cast(column, pa.int32())
    elif pa.types.is_temporal(kind):
        column = pc.cast(column, pa.int64())
    elif not _stored_as_is(kind):
        column = pc.cast(column, pa.string())
    return column.to_pylist()  # type: ignore[no-any-return]


def _sync_directory(directory: Path) -> None:
    """Make the rename durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(directory: Path, built: int) -> None:
    """Remove index files older than the one before ``built``, and temporary files that
    killed builders left (the caller holds the build lock, so no builder is at work)."""
    older = sorted(v for v in map(_file_version, directory.glob("v*.sqlite")) if v < built)
    for version in older[:-1]:
        (directory / f"v{version}.sqlite").unlink(missing_ok=True)
    for stale in directory.glob(".*.tmp"):
        stale.unlink(missing_ok=True)


def _file_version(path: Path) -> int:
    text = path.stem.removeprefix("v")
    return int(text) if text.isdigit() else -1
