"""The rows a subscription's delivery carries: what changed between two lake versions of a
resource, as one grant sees them, in one statement of the lake engine.

Rows are compared on the service's key fields: a new key is an ``insert``, a key gone a
``delete``, a granted field that differs (NULL-aware) an ``update``. Without key fields a changed
row is the old row deleted and the new one inserted (the whole row compared). Only the granted
fields of rows that pass the grant's row filter are compared, and the grant's masking profile is
applied inside the same SQL, so nothing the grant does not show leaves the engine. A sequence
number in key order makes pages of a delivery ranges of one ordering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from rongshu.catalog.schemas import Grade
from rongshu.core.errors import Conflict
from rongshu.core.platform import Platform
from rongshu.exchange.grants import ActiveGrant
from rongshu.lake.engine import LakeEngine
from rongshu.lake.tables import Lake, LakeTable
from rongshu.security.masking import Mask, MaskOperator
from rongshu.security.service import (
    ColumnMask,
    column_masks,
    distinct_keys,
    key_provider,
    masked_select,
    register_mask_functions,
)

#: Rows per page of a delivery, pushed as one request or fetched as one answer.
PAGE_ROWS = 5000
#: The column saying what happened to a row: ``insert``, ``update`` or ``delete``.
CHANGE = "_change"

_OLD, _NEW, _CHANGES = "subscription_old", "subscription_new", "subscription_changes"
_SEQ, _PRESENT = "_seq", "_rongshu_present"
_UNMASKED = Mask(MaskOperator.CLEAR)
Quote = Callable[[str], str]


class VersionGone(Conflict):
    """The version a delivery starts from is no longer kept by the lake's retention."""


def change_columns(grant: ActiveGrant) -> list[str]:
    """The fields a changed row carries after ``_change``: the key fields, then the granted."""
    return list(dict.fromkeys([*grant.key_columns, *grant.columns]))


def _side(
    engine: LakeEngine, grant: ActiveGrant, alias: str, schema: pa.Schema, *, empty: bool
) -> tuple[str, list[Any]]:
    """The granted columns of one version's rows that pass the grant's row filter (a column
    the version does not have yet reads as NULL)."""
    quote = engine.dialect.quote
    names = set(schema.names)
    wanted = change_columns(grant)
    columns = ", ".join(quote(c) if c in names else f"NULL AS {quote(c)}" for c in wanted)
    where, params = ("FALSE", []) if empty else grant.row_filter(schema).sql(quote)
    sql = f"SELECT {columns}, TRUE AS {quote(_PRESENT)} FROM {quote(alias)} WHERE {where}"  # noqa: S608
    return sql, params


def _keyed_changes(q: Quote, columns: list[str], keys: list[str]) -> str:
    """Rows matched on the key: new keys inserted, gone keys deleted, a granted field that
    differs (NULL-aware) updated."""
    others = [c for c in columns if c not in keys]
    key_of = [f"COALESCE(n.{q(k)}, o.{q(k)})" for k in keys]
    selected = [f"{e} AS {q(k)}" for e, k in zip(key_of, keys, strict=True)]
    selected += [f"n.{q(c)} AS {q(c)}" for c in others]
    joined = " AND ".join(f"n.{q(k)} IS NOT DISTINCT FROM o.{q(k)}" for k in keys)
    differs = " OR ".join(f"n.{q(c)} IS DISTINCT FROM o.{q(c)}" for c in others) or "FALSE"
    new, old = f"n.{q(_PRESENT)}", f"o.{q(_PRESENT)}"
    change = (
        f"CASE WHEN {old} IS NULL THEN 'insert' WHEN {new} IS NULL THEN 'delete' ELSE 'update' END"
    )
    return (
        f"SELECT {change} AS {q(CHANGE)}, {', '.join(selected)}, "  # noqa: S608
        f"ROW_NUMBER() OVER (ORDER BY {', '.join(key_of)}) AS {q(_SEQ)} "
        f"FROM {q('new_rows')} n FULL OUTER JOIN {q('old_rows')} o ON {joined} "
        f"WHERE {old} IS NULL OR {new} IS NULL OR {differs}"
    )


def _unkeyed_changes(q: Quote, columns: list[str]) -> str:
    """Without key fields a changed row is the old row deleted and the new one inserted."""
    listed = ", ".join(q(c) for c in columns)
    new, old = f"SELECT {listed} FROM {q('new_rows')}", f"SELECT {listed} FROM {q('old_rows')}"  # noqa: S608
    return (
        f"SELECT {q(CHANGE)}, {listed}, "  # noqa: S608
        f"ROW_NUMBER() OVER (ORDER BY {q(CHANGE)}, {listed}) AS {q(_SEQ)} FROM ("
        f"SELECT 'insert' AS {q(CHANGE)}, {listed} FROM ({new} EXCEPT ALL {old}) AS added "
        f"UNION ALL "
        f"SELECT 'delete' AS {q(CHANGE)}, {listed} FROM ({old} EXCEPT ALL {new}) AS removed"
        f") AS diff"
    )


def _changes_cte(
    engine: LakeEngine, grant: ActiveGrant, old: pa.Schema | None, new: pa.Schema
) -> tuple[str, list[Any]]:
    """``WITH ..., subscription_changes AS (...) ``: the change, the columns and a sequence
    number in key order (pages are ranges of it); and the statement's parameters."""
    q = engine.dialect.quote
    old_sql, old_params = (
        _side(engine, grant, _OLD, old, empty=False)
        if old is not None
        else _side(engine, grant, _NEW, new, empty=True)
    )
    new_sql, new_params = _side(engine, grant, _NEW, new, empty=False)
    columns = change_columns(grant)
    keys = list(grant.key_columns)
    changes = _keyed_changes(q, columns, keys) if keys else _unkeyed_changes(q, columns)
    sql = (
        f"WITH {q('old_rows')} AS ({old_sql}), {q('new_rows')} AS ({new_sql}), "
        f"{q(_CHANGES)} AS ({changes}) "
    )
    return sql, [*old_params, *new_params]


def _register(
    engine: LakeEngine, table: LakeTable, from_version: int | None, to_version: int
) -> pa.Schema | None:
    """Register both versions; the old one's schema (None before the first version)."""
    engine.register(_NEW, table, to_version)
    if from_version is None:
        return None
    kept = table.versions()
    if not kept or kept[0].version > from_version:
        raise VersionGone(
            f"version {from_version} of {table.name} is no longer kept (lake retention): take a "
            "batch export for the current state and subscribe again"
        )
    engine.register(_OLD, table, from_version)
    return table.schema(from_version)


def count_changes(
    platform: Platform, grant: ActiveGrant, from_version: int | None, to_version: int
) -> int:
    """How many rows changed between two versions, as the grant sees them."""
    lake = Lake.from_settings(platform.settings)
    table = lake.table(grant.resource_code)
    with lake.work_engine() as engine:
        old = _register(engine, table, from_version, to_version)
        cte, params = _changes_cte(engine, grant, old, table.schema(to_version))
        count = f"{cte}SELECT count(*) AS n FROM {engine.dialect.quote(_CHANGES)}"  # noqa: S608
        result = engine.query(count, params)
    return int(result.column(0)[0].as_py())


def changed_rows(
    platform: Platform,
    grant: ActiveGrant,
    from_version: int | None,
    to_version: int,
    *,
    first_row: int = 0,
    limit: int | None = None,
    batch_size: int = PAGE_ROWS,
) -> Iterator[pa.RecordBatch]:
    """Rows inserted, updated or deleted between two versions, in key order: a ``_change``
    column, the key fields and the granted fields (a deleted row carries its key only), the
    grant's row filter and masking applied inside the lake engine's SQL. ``first_row`` and
    ``limit`` read a range (a page) of that order."""
    lake = Lake.from_settings(platform.settings)
    table = lake.table(grant.resource_code)
    with platform.db.session_scope() as session:
        masks = column_masks(session, grant.resource_code, grant.profile, change_columns(grant))
    masks = distinct_keys(masks, grant.key_columns)
    change_mask = ColumnMask(CHANGE, _UNMASKED, None, Grade.GENERAL_1)
    with lake.work_engine() as engine:
        old = _register(engine, table, from_version, to_version)
        new = table.schema(to_version)
        cte, params = _changes_cte(engine, grant, old, new)
        register_mask_functions(engine, key_provider(platform))
        seq = engine.dialect.quote(_SEQ)
        select_sql = masked_select(engine, _CHANGES, [change_mask, *masks], new)
        upto = f" AND {seq} <= ?" if limit is not None else ""
        sql = f"{cte}{select_sql} WHERE {seq} > ?{upto} ORDER BY {seq}"
        bounds = [first_row] if limit is None else [first_row, first_row + limit]
        yield from engine.query_batches(sql, [*params, *bounds], batch_size)
