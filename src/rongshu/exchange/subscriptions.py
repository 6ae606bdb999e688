"""Subscriptions (订阅): each new lake version's changed rows, delivered to the consumer.

A subscription belongs to a grant of a ``subscription`` service. It starts at the lake version
current when it is made (the consumer takes a batch export for the initial state), or before
the first version (``from_start``: everything arrives as inserts). Each new version gives the
subscription a **delivery**: the rows inserted, updated or deleted between the version it has
and the new one, compared on the service's key fields (the whole row without keys), with only
the granted fields, the grant's row filter and masking profile applied inside the lake engine
(``rongshu.exchange.changes``).

Deliveries of one subscription go out strictly in version order. While a consumer is down,
versions do not pile up one delivery each: a delivery that has not been sent (or fetched) yet is
stretched to the newest version, so at most one attempted delivery and one waiting one exist.
A version that changes nothing the grant shows is recorded as delivered without a call.

- **Pull** (no endpoint): ``pending_deliveries``, ``fetch_delivery`` (pages of rows), then
  ``acknowledge`` advances the subscription's delivered version.
- **Push** (an endpoint): ``rongshu.exchange.push.push_due`` POSTs each page as JSON, signed
  with the platform's SM2 key (``X-Rongshu-Signature``, hex of raw ``r || s`` over the body).
  A failed push is tried again after ``exchange_push_retry_delay`` seconds, doubling each time,
  up to ``exchange_push_retries`` times; then the delivery is ``failed`` and the subscription
  shows the error until a new version arrives or someone asks to ``retry``. A retried delivery
  is sent again from its first page: consumers apply pages idempotently by delivery id and page.

A delivery whose starting version the lake's retention has dropped cannot be made: it fails at
once, and the consumer subscribes again (a failed subscription starts afresh) after a batch
export.

Every delivery and fetch is written to the audit ledger with the app and the grant's purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
from pydantic_core import to_jsonable_python
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.exchange.changes import (
    CHANGE,
    PAGE_ROWS,
    VersionGone,
    change_columns,
    changed_rows,
    count_changes,
)
from rongshu.exchange.grants import ActiveGrant, snapshot
from rongshu.exchange.models import ExchangeDelivery, ExchangeGrant, ExchangeSubscription
from rongshu.exchange.schemas import (
    DeliveryList,
    DeliveryPage,
    DeliveryPublic,
    DeliveryState,
    ServiceKind,
    ServiceStatus,
    SubscriptionList,
    SubscriptionPublic,
    SubscriptionStatus,
)
from rongshu.ingest.uploads import host_allowed
from rongshu.lake.tables import Lake

#: States of deliveries still to reach the consumer.
_OUTSTANDING = (DeliveryState.PENDING.value, DeliveryState.FAILED.value)


# -- subscribing --------------------------------------------------------------------------------


def grant_in_force(grant: ExchangeGrant, now: datetime) -> bool:
    """Whether a subscription's grant still lets anything be delivered."""
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
    if not grant_in_force(grant, utcnow()):
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


# -- deliveries -----------------------------------------------------------------------------------


def json_rows(batch: pa.RecordBatch | pa.Table) -> list[dict[str, Any]]:
    """Rows as a delivery page holds them (dates ISO, binary values base64)."""
    rows: list[dict[str, Any]] = to_jsonable_python(batch.to_pylist(), bytes_mode="base64")
    return rows


def page_count(rows: int) -> int:
    """The pages of a delivery of ``rows`` rows (an empty delivery is one empty page)."""
    return max(1, math.ceil(rows / PAGE_ROWS))


def delivery_public(row: ExchangeDelivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=row.id,
        subscription_id=row.subscription_id,
        from_version=row.from_version,
        to_version=row.to_version,
        rows=row.rows,
        pages=page_count(row.rows),
        state=DeliveryState(row.state),
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def outstanding_deliveries(session: Session, subscription_id: int) -> list[ExchangeDelivery]:
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
            if not grant_in_force(grant, now):
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
        earlier = [d for d in outstanding_deliveries(session, row.id) if d.id != step.stretch]
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
    data = [delivery_public(d) for d in outstanding_deliveries(session, row.id)]
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
        if not grant_in_force(row.grant, utcnow()):
            raise PermissionDenied(f"the grant of subscription {row.id} is revoked or expired")
        if delivery.state == DeliveryState.DELIVERED.value:
            raise Conflict(f"delivery {delivery_id} is already acknowledged")
        first = outstanding_deliveries(session, row.id)[0]
        if first.id != delivery.id:
            raise Conflict(f"acknowledge delivery {first.id} first: deliveries go in version order")
        pages = page_count(delivery.rows)
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
    rows = [r for batch in batches for r in json_rows(batch)]
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
        columns=[CHANGE, *change_columns(grant)],
        rows=rows,
    )


def acknowledge(platform: Platform, *, delivery_id: int, actor: Actor) -> SubscriptionPublic:
    """The consumer has a delivery: the subscription's delivered version advances, and the
    next delivery (versions that arrived meanwhile) is made at once."""
    with platform.db.session_scope() as session:
        row, delivery = _pulled(session, platform, delivery_id, actor)
        outstanding = outstanding_deliveries(session, row.id)
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
