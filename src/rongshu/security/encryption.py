"""Field encryption at rest, the security side: which key versions a table's tokens use, and
re-encrypting under the current field key after a rotation (``rongshu security keys rotate
field``; the ``security.reencrypt`` job does the same in the background).

The lake seals and opens the columns (``rongshu.lake.encryption``); ingest seals the core and
important fields of each load. See docs/security.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from rongshu.core.identity.schemas import Actor
from rongshu.core.keys import KeyPurpose
from rongshu.core.platform import Platform
from rongshu.lake.encryption import PREFIX, sealed_columns
from rongshu.lake.tables import Lake
from rongshu.security.service import key_provider

_ALIAS = "sealed"


@dataclass(frozen=True)
class Reencrypted:
    """A lake table rewritten under the current field key."""

    resource_code: str
    version: int
    rows: int
    columns: list[str]


def field_key_versions(lake: Lake, code: str) -> set[int]:
    """The field key versions the tokens of ``code``'s latest version were sealed with."""
    table = lake.table(code)
    sealed = sealed_columns(table.stored_schema())
    found: set[int] = set()
    if not sealed:
        return found
    with lake.work_engine() as engine:
        engine.register(_ALIAS, table, as_stored=True)
        dialect, quote = engine.dialect, engine.dialect.quote
        for column in sealed:
            version = dialect.regex_extract(quote(column), f"^{PREFIX}:v([0-9]+):", 1)
            # Identifiers are quoted by the dialect; values never enter the SQL.
            result = engine.query(
                f"SELECT DISTINCT {version} AS v FROM {quote(_ALIAS)}"  # noqa: S608
                f" WHERE {quote(column)} IS NOT NULL"
            )
            found |= {int(v) for v in result.column(0).to_pylist() if v}
    return found


def reencrypt_fields(platform: Platform, *, actor: Actor) -> list[Reencrypted]:
    """Rewrite every lake table holding tokens of an older field key under the current one
    (after ``keys rotate field``): one new version each, read and written as one commit, so
    readers see the old version or the new one and never a mix. Older versions keep their
    tokens (readable while the old key is kept) until the lake's retention drops them."""
    lake = Lake.from_settings(platform.settings)
    current, _ = key_provider(platform).current(KeyPurpose.FIELD)
    done = []
    for code in lake.tables():
        table = lake.table(code)
        sealed = list(sealed_columns(table.stored_schema()))
        if not sealed or field_key_versions(lake, code) <= {current}:
            continue
        result = table.commit(
            table.batches(),
            schema=table.schema(),
            mode="overwrite",
            encrypt=sealed,
            metadata={"reencrypted": f"field key v{current}"},
        )
        done.append(Reencrypted(code, result.version, result.rows_written, sealed))
        platform.ledger.append(
            actor.audit(
                "security.reencrypt",
                f"resource:{code}",
                purpose=f"field key v{current}",
                row_count=result.rows_written,
            )
        )
    return done
