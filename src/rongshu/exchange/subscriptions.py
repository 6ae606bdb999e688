"""Subscriptions (订阅): each new lake version's changed rows, delivered to the consumer.

A subscription belongs to a grant of a ``subscription`` service. It starts at the lake version
current when it is made (the consumer takes a batch export for the initial state), or before
the first version (``from_start``: everything arrives as inserts). Each new version gives the
subscription a **delivery**: the rows inserted, updated or deleted between the version it has
and the new one, compared on the service's key fields (the whole row without keys), with only
the granted fields, the grant's row filter and masking profile applied inside the lake engine.

Deliveries of one subscription go out strictly in version order. While a consumer is down,
versions do not pile up one delivery each: a delivery that has not been sent (or fetched) yet is
stretched to the newest version, so at most one attempted delivery and one waiting one exist.
A version that changes nothing the grant shows is recorded as delivered without a call.

- **Pull** (no endpoint): ``pending_deliveries``, ``fetch_delivery`` (pages of rows), then
  ``acknowledge`` advances the subscription's delivered version.
- **Push** (an endpoint): ``push_due`` POSTs each page as JSON, signed with the platform's SM2
  key (``X-Rongshu-Signature``, hex of raw ``r || s`` over the body). A failed push is tried
  again after ``exchange_push_retry_delay`` seconds, doubling each time, up to
  ``exchange_push_retries`` times; then the delivery is ``failed`` and the subscription shows
  the error until a new version arrives or someone asks to ``retry``. A retried delivery is
  sent again from its first page: consumers apply pages idempotently by delivery id and page.

A delivery whose starting version the lake's retention has dropped cannot be made: it fails at
once, and the consumer subscribes again (a failed subscription starts afresh) after a batch
export.

Every delivery and fetch is written to the audit ledger with the app and the grant's purpose.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyarrow as pa
from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from rongshu.catalog.schemas import Grade, LabelledEnum
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import app_actor
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.exchange.grants import ActiveGrant, snapshot
from rongshu.exchange.models import ExchangeDelivery, ExchangeGrant, ExchangeSubscription
from rongshu.exchange.schemas import ServiceKind, ServiceStatus
from rongshu.ingest.uploads import host_allowed
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

log = logging.getLogger("rongshu.exchange.subscriptions")

#: Rows per page of a delivery, pushed as one request or fetched as one answer.
PAGE_ROWS = 5000
#: The column saying what happened to a row: ``insert``, ``update`` or ``delete``.
CHANGE = "_change"
#: How long a push worker holds a subscription it is sending (another worker skips it).
PUSH_LEASE = timedelta(minutes=10)
PUSH_TIMEOUT = httpx.Timeout(10.0, connect=3.0)

_OLD, _NEW, _CHANGES = "subscription_old", "subscription_new", "subscription_changes"
_SEQ, _PRESENT = "_seq", "_rongshu_present"
_UNMASKED = Mask(MaskOperator.CLEAR)
Quote = Callable[[str], str]


class SubscriptionStatus(LabelledEnum):
    ACTIVE = "active", "正常"
    FAILED = "failed", "推送失败"
    ENDED = "ended", "授权已终止"


class DeliveryState(LabelledEnum):
    PENDING = "pending", "待投递"
    DELIVERED = "delivered", "已投递"
    FAILED = "failed", "投递失败"
    DROPPED = "dropped", "已放弃"  # the consumer subscribed again and starts afresh


#: States of deliveries still to reach the consumer.
_OUTSTANDING = (DeliveryState.PENDING.value, DeliveryState.FAILED.value)


class SubscriptionCreate(BaseModel):
    grant_id: int = Field(ge=1, le=2**31 - 1)
    endpoint: str | None = Field(
        None, max_length=500, description="http(s) URL to push to; empty: the consumer pulls."
    )
    from_start: bool = Field(
        False, description="Deliver every row of the first version too (default: from now on)."
    )


class SubscriptionPublic(BaseModel):
    id: int
    grant_id: int
    service: str
    app_id: int
    mode: str = Field(description="push (to the endpoint) or pull (the consumer fetches).")
    endpoint: str | None
    delivered_version: int | None = Field(description="The lake version the consumer has.")
    status: SubscriptionStatus
    failures: int = Field(description="Failed pushes in a row.")
    next_attempt_at: datetime | None
    last_error: str
    pending: int = Field(description="Deliveries not delivered yet.")
    created_at: datetime
    updated_at: datetime


class SubscriptionList(BaseModel):
    data: list[SubscriptionPublic]
    count: int


class DeliveryPublic(BaseModel):
    id: int
    subscription_id: int
    from_version: int | None
    to_version: int
    rows: int
    pages: int
    state: DeliveryState
    attempts: int
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    data: list[DeliveryPublic]
    count: int


class DeliveryPage(BaseModel):
    """One page of a delivery: what a push sends as its body and a fetch returns."""

    subscription: int
    delivery: int
    service: str
    from_version: int | None
    to_version: int
    page: int
    pages: int
    columns: list[str]
    rows: list[dict[str, Any]]


class VersionGone(Conflict):
    """The version a delivery starts from is no longer kept by the lake's retention."""


# -- subscribing --------------------------------------------------------------------------------


def _grant_in_force(grant: ExchangeGrant, now: datetime) -> bool:
    return (
        grant.revoked_at is None
        and grant.expires_at > now
        and grant.service.status == ServiceStatus.PUBLISHED.value
    )


def _check_caller(actor: Actor, grant: ExchangeGrant, platform: Platform, object_: str) -> None:
    """Only the grant's app (or the platform itself) handles its subscription."""
    if actor.kind == "system" or (actor.kind == "app" and actor.app_id == grant.app_id):
        return
    platform.ledger.append(actor.audit("exchange.subscription", object_, outcome="denied"))
    raise PermissionDenied("only the app holding the grant handles its subscription")


def check_endpoint(endpoint: str, settings: Settings) -> str:
    """``endpoint`` if it is an http(s) URL the platform may reach, else a clear 422."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "a subscription endpoint is an http:// or https:// URL",
            details=[{"field": "endpoint", "reason": "not an http(s) URL"}],
        )
    if parts.username or parts.password:
        raise ValidationFailed(
            "put no user or password in the endpoint: consumers check the platform's signature",
            details=[{"field": "endpoint", "reason": "credentials in the URL"}],
        )
    allowed = settings.ingest_allowed_hosts
    if allowed and not host_allowed(parts.hostname, allowed):
        raise ValidationFailed(
            f"{parts.hostname} is not among the hosts the platform may reach "
            "(RONGSHU_INGEST_ALLOWED_HOSTS); ask the platform admin to add it",
            details=[{"field": "endpoint", "reason": "host not allowed"}],
        )
    return parts.geturl()


def subscribe(
    session: Session,
    platform: Platform,
    *,
    grant_id: int,
    endpoint: str | None,
    actor: Actor,
    from_start: bool = False,
) -> SubscriptionPublic:
    """Subscribe a grant's app to its resource's changes, from the current lake version: the
    consumer takes the initial state as a batch export. ``from_start``: from before the first
    version, so the first delivery holds every row as an insert. Subscribing again after a
    subscription failed starts it afresh (new endpoint, new starting point)."""
    grant = session.get(ExchangeGrant, grant_id)
    if grant is None:
        raise NotFound(f"no grant {grant_id}")
    _check_caller(actor, grant, platform, f"grant:{grant_id}")
    if ServiceKind(grant.service.kind) is not ServiceKind.SUBSCRIPTION:
        raise ValidationFailed(
            f"grant {grant_id} is for the {grant.service.kind} service, not a subscription",
            details=[{"field": "grant_id", "reason": "not a subscription grant"}],
        )
    if not _grant_in_force(grant, utcnow()):
        raise Conflict(f"grant {grant_id} is revoked or expired")
    target = check_endpoint(endpoint, platform.settings) if endpoint else None
    subscription = session.scalar(
        select(ExchangeSubscription).where(ExchangeSubscription.grant_id == grant_id)
    )
    if subscription is None:
        subscription = ExchangeSubscription(grant_id=grant_id)
        session.add(subscription)
    elif subscription.status == SubscriptionStatus.ACTIVE.value:
        raise Conflict(f"grant {grant_id} already has a subscription ({subscription.id})")
    else:
        # A failed subscription starts afresh: what it still owed is dropped.
        session.execute(
            update(ExchangeDelivery)
            .where(
                ExchangeDelivery.subscription_id == subscription.id,
                ExchangeDelivery.state.in_(_OUTSTANDING),
            )
            .values(state=DeliveryState.DROPPED.value)
        )
    lake = Lake.from_settings(platform.settings)
    subscription.endpoint = target
    subscription.delivered_version = (
        None if from_start else lake.table(grant.service.resource_code).version()
    )
    subscription.status, subscription.failures = SubscriptionStatus.ACTIVE.value, 0
    subscription.next_attempt_at, subscription.last_error = None, ""
    subscription.updated_at = utcnow()
    session.flush()
    audit_on_commit(
        session,
        platform.ledger,
        actor.audit(
            "exchange.subscription.create",
            f"subscription:{subscription.id}:{grant.service.code}",
            purpose=grant.purpose,
        ),
    )
    return subscription_public(session, subscription)


def subscription_public(session: Session, row: ExchangeSubscription) -> SubscriptionPublic:
    waiting = session.scalar(
        select(func.count(ExchangeDelivery.id)).where(
            ExchangeDelivery.subscription_id == row.id,
            ExchangeDelivery.state.in_(_OUTSTANDING),
        )
    )
    return SubscriptionPublic(
        id=row.id,
        grant_id=row.grant_id,
        service=row.grant.service.code,
        app_id=row.grant.app_id,
        mode="push" if row.endpoint else "pull",
        endpoint=row.endpoint,
        delivered_version=row.delivered_version,
        status=SubscriptionStatus(row.status),
        failures=row.failures,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        pending=waiting or 0,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _subscription(
    session: Session, platform: Platform, subscription_id: int, actor: Actor
) -> ExchangeSubscription:
    row = session.get(ExchangeSubscription, subscription_id)
    if row is None:
        raise NotFound(f"no subscription {subscription_id}")
    _check_caller(actor, row.grant, platform, f"subscription:{subscription_id}")
    return row


def get_subscription(
    session: Session, platform: Platform, *, subscription_id: int, actor: Actor
) -> SubscriptionPublic:
    return subscription_public(session, _subscription(session, platform, subscription_id, actor))


def list_subscriptions(session: Session, *, actor: Actor) -> SubscriptionList:
    """The caller app's subscriptions (every one for the platform itself)."""
    query = select(ExchangeSubscription).order_by(ExchangeSubscription.id)
    if actor.kind != "system":
        query = query.join(ExchangeGrant).where(ExchangeGrant.app_id == actor.app_id)
    data = [subscription_public(session, row) for row in session.scalars(query)]
    return SubscriptionList(data=data, count=len(data))


def retry(
    session: Session, platform: Platform, *, subscription_id: int, actor: Actor
) -> SubscriptionPublic:
    """Send a failed subscription's deliveries again (the consumer says it is back)."""
    row = _subscription(session, platform, subscription_id, actor)
    _rearm(session, row)
    audit_on_commit(
        session,
        platform.ledger,
        actor.audit("exchange.subscription.retry", f"subscription:{row.id}"),
    )
    session.flush()
    return subscription_public(session, row)


def _rearm(session: Session, row: ExchangeSubscription) -> None:
    session.execute(
        update(ExchangeDelivery)
        .where(
            ExchangeDelivery.subscription_id == row.id,
            ExchangeDelivery.state == DeliveryState.FAILED.value,
        )
        .values(state=DeliveryState.PENDING.value)
    )
    if row.status == SubscriptionStatus.FAILED.value:
        row.status = SubscriptionStatus.ACTIVE.value
    row.failures, row.next_attempt_at, row.updated_at = 0, None, utcnow()


# -- the changed rows, in one statement of the lake engine --------------------------------------


def _columns(grant: ActiveGrant) -> list[str]:
    return list(dict.fromkeys([*grant.key_columns, *grant.columns]))


def _side(
    engine: LakeEngine, grant: ActiveGrant, alias: str, schema: pa.Schema, *, empty: bool
) -> tuple[str, list[Any]]:
    """The granted columns of one version's rows that pass the grant's row filter (a column
    the version does not have yet reads as NULL)."""
    quote = engine.dialect.quote
    names = set(schema.names)
    columns = ", ".join(quote(c) if c in names else f"NULL AS {quote(c)}" for c in _columns(grant))
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
    columns = _columns(grant)
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
        masks = column_masks(session, grant.resource_code, grant.profile, _columns(grant))
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


def _json_rows(batch: pa.RecordBatch | pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = to_jsonable_python(batch.to_pylist(), bytes_mode="base64")
    return rows


# -- deliveries -----------------------------------------------------------------------------------


def _pages(rows: int) -> int:
    return max(1, math.ceil(rows / PAGE_ROWS))


def delivery_public(row: ExchangeDelivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=row.id,
        subscription_id=row.subscription_id,
        from_version=row.from_version,
        to_version=row.to_version,
        rows=row.rows,
        pages=_pages(row.rows),
        state=DeliveryState(row.state),
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def _outstanding(session: Session, subscription_id: int) -> list[ExchangeDelivery]:
    """Deliveries not delivered yet, in the order they go out."""
    return list(
        session.scalars(
            select(ExchangeDelivery)
            .where(
                ExchangeDelivery.subscription_id == subscription_id,
                ExchangeDelivery.state.in_(_OUTSTANDING),
            )
            .order_by(ExchangeDelivery.to_version, ExchangeDelivery.id)
        )
    )


def _last_delivery(session: Session, subscription_id: int) -> ExchangeDelivery | None:
    return session.scalar(
        select(ExchangeDelivery)
        .where(
            ExchangeDelivery.subscription_id == subscription_id,
            ExchangeDelivery.state != DeliveryState.DROPPED.value,
        )
        .order_by(ExchangeDelivery.to_version.desc(), ExchangeDelivery.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class _Step:
    """What planning decided for one subscription, and the state it decided on."""

    subscription_id: int
    grant: ActiveGrant
    from_version: int | None
    to_version: int
    stretch: int | None  # the delivery to stretch to ``to_version``, else a new one
    seen: tuple[int, int, int, str] | None  # (id, to_version, attempts, state) of the last


def _seen(row: ExchangeDelivery | None) -> tuple[int, int, int, str] | None:
    return None if row is None else (row.id, row.to_version, row.attempts, row.state)


def plan_deliveries(
    platform: Platform,
    *,
    resource_code: str | None = None,
    subscription_id: int | None = None,
) -> int:
    """Give each subscription behind its resource's latest version a delivery up to it (for
    one resource, one subscription, or all); returns the deliveries made or stretched.

    Counting the changed rows runs outside any metadata transaction; the change is applied
    only if the subscription's deliveries are still as they were seen (else the next run
    plans again), so planners running at once never make two deliveries of one range.
    """
    lake = Lake.from_settings(platform.settings)
    latest: dict[str, int | None] = {}
    steps: list[_Step] = []
    now = utcnow()
    with platform.db.session_scope() as session:
        query = select(ExchangeSubscription).where(
            ExchangeSubscription.status != SubscriptionStatus.ENDED.value
        )
        if subscription_id is not None:
            query = query.where(ExchangeSubscription.id == subscription_id)
        for row in session.scalars(query):
            grant = row.grant
            if resource_code is not None and grant.service.resource_code != resource_code:
                continue
            if not _grant_in_force(grant, now):
                row.status, row.updated_at = SubscriptionStatus.ENDED.value, now
                row.last_error = "the grant is revoked or expired: nothing more is delivered"
                continue
            code = grant.service.resource_code
            if code not in latest:
                latest[code] = lake.table(code).version()
            version = latest[code]
            last = _last_delivery(session, row.id)
            covered = last.to_version if last else row.delivered_version
            if version is None or (covered is not None and version <= covered):
                continue
            unsent = last is not None and last.state == DeliveryState.PENDING.value
            stretch = last if unsent and last is not None and last.attempts == 0 else None
            start, stretch_id = (stretch.from_version, stretch.id) if stretch else (covered, None)
            steps.append(_Step(row.id, snapshot(grant), start, version, stretch_id, _seen(last)))
    made = 0
    for step in steps:
        try:
            rows = count_changes(platform, step.grant, step.from_version, step.to_version)
        except VersionGone as exc:
            _apply_step(platform, step, rows=0, error=exc.message)
            continue
        made += _apply_step(platform, step, rows=rows, error="")
    return made


def _apply_step(platform: Platform, step: _Step, *, rows: int, error: str) -> int:
    with platform.db.session_scope() as session:
        row = session.scalar(
            select(ExchangeSubscription)
            .where(ExchangeSubscription.id == step.subscription_id)
            .with_for_update(of=ExchangeSubscription)
        )
        if row is None or _seen(_last_delivery(session, row.id)) != step.seen:
            return 0
        now = utcnow()
        if row.status == SubscriptionStatus.FAILED.value:
            _rearm(session, row)  # a new version: try the consumer again
        earlier = [d for d in _outstanding(session, row.id) if d.id != step.stretch]
        delivery = session.get(ExchangeDelivery, step.stretch) if step.stretch else None
        if delivery is None:
            delivery = ExchangeDelivery(subscription_id=row.id, from_version=step.from_version)
            session.add(delivery)
        delivery.to_version, delivery.rows, delivery.last_error = step.to_version, rows, error
        delivery.state = DeliveryState.FAILED.value if error else DeliveryState.PENDING.value
        if error:
            row.status, row.last_error = SubscriptionStatus.FAILED.value, error
        elif rows == 0 and not earlier:
            # Nothing the grant shows changed: the consumer is up to date without a call.
            delivery.state, delivery.delivered_at = DeliveryState.DELIVERED.value, now
            row.delivered_version = step.to_version
        row.updated_at = now
        session.flush()
        return 1


def pending_deliveries(
    session: Session, platform: Platform, *, subscription_id: int, actor: Actor
) -> DeliveryList:
    """A pull subscription's deliveries waiting for the consumer, oldest first."""
    row = _subscription(session, platform, subscription_id, actor)
    data = [delivery_public(d) for d in _outstanding(session, row.id)]
    return DeliveryList(data=data, count=len(data))


def _pulled(
    session: Session, platform: Platform, delivery_id: int, actor: Actor
) -> tuple[ExchangeSubscription, ExchangeDelivery]:
    """A delivery of a pull subscription the caller holds, and its subscription."""
    delivery = session.get(ExchangeDelivery, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    row = session.get_one(ExchangeSubscription, delivery.subscription_id)
    _check_caller(actor, row.grant, platform, f"subscription:{row.id}")
    if row.endpoint:
        raise Conflict(f"subscription {row.id} is pushed to its endpoint, not pulled")
    if delivery.state == DeliveryState.DROPPED.value:
        raise NotFound(f"delivery {delivery_id} was dropped when the consumer subscribed again")
    return row, delivery


def fetch_delivery(
    platform: Platform, *, delivery_id: int, actor: Actor, page: int = 1
) -> DeliveryPage:
    """One page of a pending delivery, oldest delivery first (a later one waits until the
    earlier is acknowledged). Fetching fixes the delivery's range: new versions go to the next."""
    with platform.db.session_scope() as session:
        row, delivery = _pulled(session, platform, delivery_id, actor)
        if not _grant_in_force(row.grant, utcnow()):
            raise PermissionDenied(f"the grant of subscription {row.id} is revoked or expired")
        if delivery.state == DeliveryState.DELIVERED.value:
            raise Conflict(f"delivery {delivery_id} is already acknowledged")
        first = _outstanding(session, row.id)[0]
        if first.id != delivery.id:
            raise Conflict(f"acknowledge delivery {first.id} first: deliveries go in version order")
        pages = _pages(delivery.rows)
        if not 1 <= page <= pages:
            raise ValidationFailed(
                f"delivery {delivery_id} has pages 1 to {pages}",
                details=[{"field": "page", "reason": "out of range"}],
            )
        delivery.attempts += 1
        grant = snapshot(row.grant)
        from_version, to_version = delivery.from_version, delivery.to_version
    batches = changed_rows(
        platform, grant, from_version, to_version, first_row=(page - 1) * PAGE_ROWS, limit=PAGE_ROWS
    )
    rows = [r for batch in batches for r in _json_rows(batch)]
    platform.ledger.append(
        actor.audit(
            "exchange.subscription.fetch",
            f"subscription:{row.id}:delivery:{delivery_id}:page:{page}",
            purpose=grant.purpose,
            row_count=len(rows),
        )
    )
    return DeliveryPage(
        subscription=row.id,
        delivery=delivery_id,
        service=grant.service_code,
        from_version=from_version,
        to_version=to_version,
        page=page,
        pages=pages,
        columns=[CHANGE, *_columns(grant)],
        rows=rows,
    )


def acknowledge(platform: Platform, *, delivery_id: int, actor: Actor) -> SubscriptionPublic:
    """The consumer has a delivery: the subscription's delivered version advances, and the
    next delivery (versions that arrived meanwhile) is made at once."""
    with platform.db.session_scope() as session:
        row, delivery = _pulled(session, platform, delivery_id, actor)
        outstanding = _outstanding(session, row.id)
        if delivery.state == DeliveryState.DELIVERED.value:
            return subscription_public(session, row)
        if outstanding[0].id != delivery.id:
            raise Conflict(
                f"acknowledge delivery {outstanding[0].id} first: deliveries go in version order"
            )
        now = utcnow()
        delivery.state, delivery.delivered_at = DeliveryState.DELIVERED.value, now
        row.delivered_version, row.updated_at = delivery.to_version, now
        audit_on_commit(
            session,
            platform.ledger,
            actor.audit(
                "exchange.subscription.acknowledge",
                f"subscription:{row.id}:delivery:{delivery_id}",
                purpose=row.grant.purpose,
                row_count=delivery.rows,
            ),
        )
        subscription_id = row.id
    plan_deliveries(platform, subscription_id=subscription_id)
    with platform.db.session_scope() as session:
        return subscription_public(session, session.get_one(ExchangeSubscription, subscription_id))


# -- pushing ------------------------------------------------------------------------------------


class _PushFailed(Exception):
    """The consumer's endpoint did not take a page."""


@dataclass(frozen=True)
class _Push:
    subscription_id: int
    endpoint: str
    grant: ActiveGrant
    actor: Actor
    delivery_id: int
    from_version: int | None
    to_version: int
    rows: int


def _claim(platform: Platform, now: datetime) -> list[int]:
    """Push subscriptions due now with something to send, each leased to this worker."""
    with platform.db.session_scope() as session:
        due = session.scalars(
            select(ExchangeSubscription.id)
            .where(
                ExchangeSubscription.endpoint.is_not(None),
                ExchangeSubscription.status == SubscriptionStatus.ACTIVE.value,
                or_(
                    ExchangeSubscription.next_attempt_at.is_(None),
                    ExchangeSubscription.next_attempt_at <= now,
                ),
                ExchangeSubscription.id.in_(
                    select(ExchangeDelivery.subscription_id).where(
                        ExchangeDelivery.state == DeliveryState.PENDING.value
                    )
                ),
            )
            .order_by(ExchangeSubscription.id)
        ).all()
    claimed = []
    for subscription_id in due:
        with platform.db.session_scope() as session:
            taken = session.execute(
                update(ExchangeSubscription)
                .where(
                    ExchangeSubscription.id == subscription_id,
                    or_(
                        ExchangeSubscription.next_attempt_at.is_(None),
                        ExchangeSubscription.next_attempt_at <= now,
                    ),
                )
                .values(next_attempt_at=now + PUSH_LEASE)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(subscription_id)
    return claimed


def _next_push(platform: Platform, subscription_id: int, now: datetime) -> _Push | None:
    with platform.db.session_scope() as session:
        row = session.get_one(ExchangeSubscription, subscription_id)
        outstanding = _outstanding(session, row.id)
        pending = outstanding and outstanding[0].state == DeliveryState.PENDING.value
        if row.endpoint is None or not pending:
            row.next_attempt_at = None
            return None
        if not _grant_in_force(row.grant, now):
            row.status, row.next_attempt_at = SubscriptionStatus.ENDED.value, None
            row.last_error = "the grant is revoked or expired: nothing more is delivered"
            return None
        first = outstanding[0]
        actor = app_actor(row.grant.app, request_id=f"delivery-{first.id}")
        return _Push(
            row.id, row.endpoint, snapshot(row.grant), actor,
            first.id, first.from_version, first.to_version, first.rows,
        )  # fmt: skip


def _paged(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``batches`` as JSON-able pages of ``size`` rows (one empty page for none)."""
    held: list[pa.RecordBatch] = []
    count, sent = 0, False
    for batch in batches:
        held.append(batch)
        count += batch.num_rows
        while count >= size:
            table = pa.Table.from_batches(held)
            yield _json_rows(table.slice(0, size))
            sent = True
            rest = table.slice(size)
            held, count = rest.to_batches(), rest.num_rows
    if count or not sent:
        yield [row for batch in held for row in _json_rows(batch)]


def _send(platform: Platform, client: httpx.Client, push: _Push) -> None:
    """POST every page of the delivery; ``_PushFailed`` on the first page not taken."""
    host = urlsplit(push.endpoint).hostname or ""
    allowed = platform.settings.ingest_allowed_hosts
    if allowed and not host_allowed(host, allowed):
        raise _PushFailed(f"{host} is no longer among the hosts the platform may reach")
    pages = _pages(push.rows)
    batches = changed_rows(platform, push.grant, push.from_version, push.to_version)
    for number, rows in enumerate(_paged(batches, PAGE_ROWS), start=1):
        body = (
            DeliveryPage(
                subscription=push.subscription_id,
                delivery=push.delivery_id,
                service=push.grant.service_code,
                from_version=push.from_version,
                to_version=push.to_version,
                page=number,
                pages=pages,
                columns=[CHANGE, *_columns(push.grant)],
                rows=rows,
            )
            .model_dump_json()
            .encode()
        )
        headers = {
            "Content-Type": "application/json",
            "X-Rongshu-Delivery": str(push.delivery_id),
            "X-Rongshu-Signature": platform.signing_key.sign(body).hex(),
        }
        try:
            response = client.post(push.endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _PushFailed(f"page {number}/{pages}: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise _PushFailed(
                f"page {number}/{pages}: HTTP {response.status_code} {response.text[:200]}"
            )


def _record(platform: Platform, push: _Push, now: datetime, error: str, final: bool) -> None:
    """Write a push's outcome: delivered, or the next attempt with backoff, or failed."""
    settings = platform.settings
    with platform.db.session_scope() as session:
        row = session.get_one(ExchangeSubscription, push.subscription_id)
        delivery = session.get_one(ExchangeDelivery, push.delivery_id)
        delivery.attempts += 1
        row.updated_at = now
        if not error:
            delivery.state, delivery.delivered_at = DeliveryState.DELIVERED.value, now
            # The lease stays until this worker finds nothing more to send (``_next_push``).
            row.delivered_version, row.failures, row.last_error = push.to_version, 0, ""
            audit_on_commit(
                session,
                platform.ledger,
                push.actor.audit(
                    "exchange.subscription.deliver",
                    f"subscription:{row.id}:delivery:{delivery.id}",
                    purpose=push.grant.purpose,
                    row_count=push.rows,
                ),
            )
            return
        delivery.last_error = row.last_error = error[:2000]
        row.failures += 1
        if final or row.failures > settings.exchange_push_retries:
            delivery.state, row.status = DeliveryState.FAILED.value, SubscriptionStatus.FAILED.value
            row.next_attempt_at = None
        else:
            delay = settings.exchange_push_retry_delay * 2 ** (row.failures - 1)
            row.next_attempt_at = now + timedelta(seconds=delay)


def push_due(
    platform: Platform, now: datetime | None = None, client: httpx.Client | None = None
) -> int:
    """Push the due deliveries of every push subscription, each subscription's in version
    order, stopping at its first failure; returns the deliveries delivered."""
    now = now or utcnow()
    own_client = client is None
    http = client or httpx.Client(timeout=PUSH_TIMEOUT, follow_redirects=False)
    delivered = 0
    try:
        for subscription_id in _claim(platform, now):
            while (push := _next_push(platform, subscription_id, now)) is not None:
                try:
                    _send(platform, http, push)
                except VersionGone as exc:  # waiting cannot bring the version back
                    _record(platform, push, now, exc.message, final=True)
                    break
                except _PushFailed as exc:
                    log.warning("push of delivery %d failed: %s", push.delivery_id, exc)
                    _record(platform, push, now, str(exc), final=False)
                    break
                except Exception as exc:  # one subscription's trouble must not stop the others
                    log.exception("push of delivery %d failed", push.delivery_id)
                    _record(platform, push, now, f"{type(exc).__name__}: {exc}", final=False)
                    break
                _record(platform, push, now, "", final=False)
                delivered += 1
    finally:
        if own_client:
            http.close()
    return delivered
