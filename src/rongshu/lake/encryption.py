"""Field encryption at rest: core and important columns stored as SM4-GCM tokens in the lake.

A sealed column is stored as text tokens ``sm4gcm:v<key version>:<hex of nonce, ciphertext and
tag>``; its Arrow field carries ``rongshu.encrypted`` = the catalog type of the plain values
(``date``, ``string`` ...), so every reader knows to open it. ``LakeTable.batches`` and the
engines' views open sealed columns with the installation's field key (any version still kept),
so quality runs, scans and masked reads see plain values; the Parquet files, copies of the lake
directory and readers without the key see only tokens. Keys are never in the lake.

Which columns are sealed is fixed when a version replaces the whole table (``overwrite``);
appends and merges keep the sealing of the version they add to, so one table never mixes plain
and sealed values in a column. Key columns are never sealed: merges match on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from rongshu.catalog.schemas import FieldType
from rongshu.core.errors import ConfigurationError, ValidationFailed
from rongshu.core.keys import KeyProvider, KeyPurpose
from rongshu.lake.schema import FIELD_ARROW_TYPES

#: Field metadata of a sealed column: the catalog type of its plain values.
ENCRYPTED = "rongshu.encrypted"
PREFIX = "sm4gcm"
#: The SQL function engines open sealed columns with (registered by the engine).
OPEN_FUNCTION = "rongshu_open_field"


def sealed_columns(schema: pa.Schema) -> dict[str, FieldType]:
    """The sealed columns of a stored schema and the type of their plain values."""
    found = {}
    for field in schema:
        kind = (field.metadata or {}).get(ENCRYPTED.encode())
        if kind is not None:
            found[field.name] = FieldType(kind.decode())
    return found


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """The schema readers see: sealed columns with their plain types."""
    sealed = sealed_columns(schema)
    if not sealed:
        return schema
    return pa.schema(
        [
            pa.field(f.name, FIELD_ARROW_TYPES[sealed[f.name]]) if f.name in sealed else f
            for f in schema
        ],
        metadata=schema.metadata,
    )


def sealed_schema(schema: pa.Schema, columns: Iterable[str]) -> pa.Schema:
    """``schema`` with ``columns`` stored as sealed text."""
    chosen = set(columns)
    unknown = chosen - set(schema.names)
    if unknown:
        raise ValidationFailed(f"cannot encrypt columns the table does not have: {sorted(unknown)}")
    fields = []
    for field in schema:
        if field.name in chosen:
            kind = next((k for k, t in FIELD_ARROW_TYPES.items() if t.equals(field.type)), None)
            if kind is None or kind is FieldType.BINARY:
                raise ValidationFailed(f"column {field.name} ({field.type}) cannot be encrypted")
            field = pa.field(field.name, pa.string(), metadata={ENCRYPTED: kind.value})
        fields.append(field)
    return pa.schema(fields, metadata=schema.metadata)


@dataclass(frozen=True)
class FieldCipher:
    """Seals and opens column values with the ``field`` key of a key provider (the numba
    kernels are imported on first use, so reading plain tables never loads them)."""

    keys: KeyProvider

    def seal(self, values: pa.Array) -> pa.Array:
        """Plain values (any type) as tokens under the current key; NULL stays NULL."""
        from rongshu.core.crypto_arrays import hex_strings, sm4_gcm_encrypt_array

        version, key = self.keys.current(KeyPurpose.FIELD)
        text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
        return hex_strings(sm4_gcm_encrypt_array(key, text), f"{PREFIX}:v{version}:")

    def open(self, tokens: pa.Array) -> pa.Array:
        """Tokens (of any key version still kept) as plain text; NULL stays NULL."""
        from rongshu.core.crypto_arrays import hex_bytes, sm4_gcm_decrypt_array

        if isinstance(tokens, pa.ChunkedArray):
            tokens = tokens.combine_chunks()
        tokens = tokens.cast(pa.string())
        if not len(tokens):
            return pa.array([], pa.string())
        parts = pc.split_pattern(tokens, ":", max_splits=2)
        if pc.all(pc.equal(pc.list_element(parts, 0), PREFIX)).as_py() is False:
            raise ValidationFailed(
                "an encrypted column holds values that are not sm4gcm tokens",
                details=[{"field": "token", "reason": "malformed"}],
            )
        versions = pc.list_element(parts, 1)
        bodies = hex_bytes(pc.list_element(parts, 2))
        opened = pa.nulls(len(tokens), pa.string())
        for version in pc.unique(pc.drop_null(versions)).to_pylist():
            chosen = pc.fill_null(pc.equal(versions, version), False)
            key = self.keys.get(KeyPurpose.FIELD, _version_number(str(version)))
            plain = sm4_gcm_decrypt_array(key, pc.filter(bodies, chosen))
            opened = pc.replace_with_mask(opened, chosen, plain)
        return opened


def seal_batch(batch: pa.RecordBatch, schema: pa.Schema, cipher: FieldCipher) -> pa.RecordBatch:
    """A plain batch (in ``schema``'s column order) as ``schema`` (sealed) stores it."""
    sealed = sealed_columns(schema)
    columns = [
        cipher.seal(batch.column(i)) if name in sealed else batch.column(i)
        for i, name in enumerate(schema.names)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def open_batch(batch: pa.RecordBatch, cipher: FieldCipher | None) -> pa.RecordBatch:
    """A stored batch as readers see it: sealed columns opened and typed."""
    sealed = sealed_columns(batch.schema)
    if not sealed:
        return batch
    if cipher is None:
        raise ConfigurationError(
            f"columns {sorted(sealed)} are encrypted and this lake has no field key"
        )
    schema = plain_schema(batch.schema)
    columns = [
        pc.cast(cipher.open(batch.column(i)), schema.field(i).type)
        if name in sealed
        else batch.column(i)
        for i, name in enumerate(batch.schema.names)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _version_number(text: str) -> int:
    if not (text.startswith("v") and text[1:].isdigit()):
        raise ValidationFailed(
            "an encrypted value is not an sm4gcm:v<N>:<hex> token",
            details=[{"field": "token", "reason": "malformed"}],
        )
    return int(text[1:])


def columns_to_seal(
    requested: Sequence[str], previous: pa.Schema | None, mode: str, key: Sequence[str]
) -> list[str]:
    """Which columns a commit seals: the requested ones when it replaces the table, else the
    ones the table already seals; never a key column."""
    if previous is not None and mode != "overwrite":
        return list(sealed_columns(previous))
    return [c for c in requested if c not in set(key)]
