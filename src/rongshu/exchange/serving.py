"""Serving query (查询) and verification (核验) calls from the serving index.

Each resource with a query or verification service gets a serving index file per lake version
(``rongshu.exchange.serving_index``: keyed digests and stored values, in SQLite), built after
each load, by a job, or on the first call that needs it. A process keeps one ``ServingStore``
per data directory: it opens the current file of each resource, builds it if missing, and looks
for a newer lake version at most once a second. ``query`` returns the rows of a key the grant
lets through, masked per its profile; ``verify`` answers match / no match per claimed field by
comparing digests, never holding a clear value.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select

from rongshu.core.crypto import LocalCryptoProvider
from rongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rongshu.core.keys import KeyProvider, KeyPurpose
from rongshu.core.platform import Platform
from rongshu.exchange.grants import ActiveGrant
from rongshu.exchange.models import ExchangeService
from rongshu.exchange.schemas import FieldVerdict, ServiceKind
from rongshu.exchange.serving_index import ServingIndex, index_path, write_index
from rongshu.lake.tables import Lake, LakeTable
from rongshu.security.masking import ENCRYPTED_PREFIX, MaskKeys, mask_value
from rongshu.security.schemas import MaskingProfile
from rongshu.security.service import ColumnMask, column_masks, key_provider

__all__ = [
    "ServingStore",
    "build",
    "query",
    "serving_store",
    "verify",
]

#: How often a store looks for a newer lake version of a resource it serves.
CHECK_SECONDS: Final = 1.0
#: How long a store reuses a resource's masks: the security admin may change the matrix.
MASK_SECONDS: Final = 5.0
_CRYPTO: Final = LocalCryptoProvider()


# -- building ------------------------------------------------------------------------------------


def build(platform: Platform, code: str, version: int | None = None) -> Path:
    """The serving index file of ``code``'s lake version (the latest by default), built now
    unless it exists for the service's current key columns; also for a background job."""
    table = Lake.from_settings(platform.settings).table(code)
    if version is None:
        version = table.version()
        if version is None:
            raise NotFound(_no_data(code))
    key_columns = _service_key_columns(platform, code)
    target = index_path(platform.settings, code, version)
    write_index(target, table, version, key_columns, key_provider(platform))
    return target


def _no_data(code: str) -> str:
    return f"resource {code} has no data in the lake yet: load it before querying or verifying"


def _service_key_columns(platform: Platform, code: str) -> tuple[str, ...]:
    """The key columns of the resource's query and verification services (grants use them)."""
    with platform.db.session_scope() as session:
        found = session.scalars(
            select(ExchangeService.key_columns)
            .where(
                ExchangeService.resource_code == code,
                ExchangeService.kind.in_([ServiceKind.QUERY.value, ServiceKind.VERIFY.value]),
            )
            .order_by(ExchangeService.id)
        ).first()
    if not found:
        raise NotFound(
            f"resource {code} has no query or verification service (they need key fields)"
        )
    return tuple(found)


# -- the store: one per process and data directory -----------------------------------------------


@dataclass
class _Served:
    """The index a store serves for a resource, and when it last looked for a newer one."""

    index: ServingIndex
    log_mtime: int | None
    checked: float


class ServingStore:
    """The serving indexes of one data directory: opens the current one of each resource,
    builds it if missing, and looks for a newer lake version at most once a second (a ``stat``
    of the Delta log; the lake's version is read only when the log changed)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.keys = key_provider(platform)
        self._lake = Lake.from_settings(platform.settings)
        self._served: dict[str, _Served] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._masks: dict[tuple[str, MaskingProfile, tuple[str, ...]], tuple[float, _Masks]] = {}

    def index(self, code: str) -> ServingIndex:
        """The index of ``code``'s current lake version; NotFound when it has no data."""
        served = self._served.get(code)
        if served is not None and time.monotonic() - served.checked < CHECK_SECONDS:
            return served.index
        with self._locks.setdefault(code, threading.Lock()):
            served = self._served.get(code)
            if served is not None and time.monotonic() - served.checked < CHECK_SECONDS:
                return served.index
            return self._refresh(code, served)

    def rebuild(self, code: str) -> ServingIndex:
        """The index of ``code``'s current version made again if its key columns are no longer
        the services' (a re-published service), and served from now on."""
        with self._locks.setdefault(code, threading.Lock()):
            return self._refresh(code, None, rebuild=True)

    def _refresh(self, code: str, served: _Served | None, *, rebuild: bool = False) -> ServingIndex:
        table = self._lake.table(code)
        log_mtime = _log_mtime(table)
        if served is not None and log_mtime == served.log_mtime:
            served.checked = time.monotonic()
            return served.index
        version = table.version()
        if version is None:
            raise NotFound(_no_data(code))
        if served is not None and served.index.version == version:
            served.log_mtime, served.checked = log_mtime, time.monotonic()
            return served.index
        path = index_path(self.platform.settings, code, version)
        if rebuild or not path.exists():
            path = build(self.platform, code, version)
        index = ServingIndex(path, self.keys)
        self._served[code] = _Served(index, log_mtime, time.monotonic())
        return index

    def fresh(self, code: str) -> bool:
        """Whether ``index(code)`` answers from memory now (no lake check, no build due)."""
        served = self._served.get(code)
        return served is not None and time.monotonic() - served.checked < CHECK_SECONDS

    def masks(self, code: str, profile: MaskingProfile, columns: Sequence[str]) -> _Masks:
        """The masks of ``columns`` under ``profile``, reused for ``MASK_SECONDS`` at most."""
        cache_key = (code, profile, tuple(columns))
        cached = self._masks.get(cache_key)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        with self.platform.db.session_scope() as session:
            found = column_masks(session, code, profile, list(columns))
        masks = _Masks(tuple(found), _mask_keys(self.keys))
        self._masks[cache_key] = (time.monotonic() + MASK_SECONDS, masks)
        return masks


@dataclass(frozen=True)
class _Masks:
    columns: tuple[ColumnMask, ...]
    keys: MaskKeys


def _mask_keys(keys: KeyProvider) -> MaskKeys:
    """The keyed operators' keys, as ``register_mask_functions`` gives them to the engine."""
    _, pseudonym = keys.current(KeyPurpose.PSEUDONYM)
    version, key = keys.current(KeyPurpose.MASKING)

    def encrypt(text: str) -> str:
        token = _CRYPTO.sm4_gcm_encrypt(key, text.encode())
        return f"{ENCRYPTED_PREFIX}:v{version}:{token.hex()}"

    return MaskKeys(pseudonym=pseudonym, encrypt=encrypt)


def _log_mtime(table: LakeTable) -> int | None:
    try:
        return (table.path / "_delta_log").stat().st_mtime_ns
    except FileNotFoundError:
        return None


_STORES: dict[Path, ServingStore] = {}
# By the platform object too: resolving the data directory costs system calls on every call.
_BY_PLATFORM: dict[int, tuple[weakref.ref[Platform], ServingStore]] = {}
_STORES_LOCK = threading.Lock()


def serving_store(platform: Platform) -> ServingStore:
    """This process's store for ``platform``'s data directory."""
    known = _BY_PLATFORM.get(id(platform))
    if known is not None and known[0]() is platform:
        return known[1]
    root = platform.settings.data_dir.resolve()
    with _STORES_LOCK:
        store = _STORES.get(root)
        if store is None:
            store = _STORES[root] = ServingStore(platform)
        store.platform = platform  # a platform opened again replaces the closed one
        _BY_PLATFORM[id(platform)] = (weakref.ref(platform), store)
    return store


# -- calls ---------------------------------------------------------------------------------------


def query(
    platform: Platform, grant: ActiveGrant, key: Mapping[str, str]
) -> tuple[int, list[dict[str, Any]]]:
    """(lake version, rows) for ``key``: the rows passing the grant's row filter, the granted
    columns only, each masked per the grant's profile; values are JSON-able (dates ISO)."""
    _check_kind(grant, ServiceKind.QUERY)
    store = serving_store(platform)
    index = _index(store, grant, key)
    row_filter = grant.row_filter(index.schema)
    present = [c for c in grant.columns if c in index.columns]
    wanted = list(dict.fromkeys([*present, *row_filter.columns]))
    rows = [row for row in index.rows(key, wanted) if row_filter.matches(row)]
    if not rows:
        return index.version, []
    masks = store.masks(grant.resource_code, grant.profile, grant.columns)
    return index.version, [
        {
            m.column: _json(mask_value(row.get(m.column), m.mask, masks.keys, entity=m.entity))
            for m in masks.columns
        }
        for row in rows
    ]


def verify(
    platform: Platform, grant: ActiveGrant, key: Mapping[str, str], claims: Mapping[str, str]
) -> tuple[int, bool, dict[str, FieldVerdict]]:
    """(lake version, found, verdict per claimed field); the answer never holds data.

    A key none of whose rows pass the grant's row filter is not found. With several rows for
    a key, a field matches if any of them holds the claimed value; it is ``empty`` when none
    holds a value. Claims are compared normalised (``serving_index.normalise_text``):
    full-width, case of ASCII letters and surrounding whitespace do not matter, and dates
    compare as dates."""
    _check_kind(grant, ServiceKind.VERIFY)
    refused = [c for c in claims if c not in grant.columns]
    if refused:
        raise ValidationFailed(
            f"the grant does not cover the claimed field(s) {', '.join(refused)}",
            details=[{"field": "claims", "reason": "not_granted", "columns": refused}],
        )
    index = _index(serving_store(platform), grant, key)
    row_filter = grant.row_filter(index.schema)
    claimed = [c for c in claims if c in index.columns]
    found = [
        digests
        for values, digests in index.lookup(key, values=row_filter.columns, digests=claimed)
        if row_filter.matches(values)
    ]
    if not found:
        return index.version, False, {}
    verdicts = {}
    for column, claim in claims.items():
        held = {d[column] for d in found if d.get(column) is not None}
        if not held:
            verdicts[column] = FieldVerdict.EMPTY
        elif index.claim_digest(column, claim) in held:
            verdicts[column] = FieldVerdict.MATCH
        else:
            verdicts[column] = FieldVerdict.MISMATCH
    return index.version, True, verdicts


def _check_kind(grant: ActiveGrant, kind: ServiceKind) -> None:
    if grant.kind is not kind:
        raise PermissionDenied(f"grant {grant.id} is for the {grant.kind.value} service")


def _index(store: ServingStore, grant: ActiveGrant, key: Mapping[str, str]) -> ServingIndex:
    """The resource's index, once the key is checked against the grant's key columns."""
    missing = [c for c in grant.key_columns if c not in key]
    unknown = [c for c in key if c not in grant.key_columns]
    if missing or unknown:
        raise ValidationFailed(
            f"the key must give exactly {', '.join(grant.key_columns)}",
            details=[
                {"field": "key", "reason": "key_fields", "missing": missing, "unknown": unknown}
            ],
        )
    index = store.index(grant.resource_code)
    if index.key_columns != grant.key_columns:
        index = store.rebuild(grant.resource_code)
        if index.key_columns != grant.key_columns:
            raise Conflict(
                f"the key fields of {grant.service_code} changed; publish its services again"
            )
    return index


def _json(value: Any) -> Any:
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value
