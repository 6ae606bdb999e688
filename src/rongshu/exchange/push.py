"""Pushing subscriptions' deliveries (订阅推送) to the consumers' endpoints.

Each page of a delivery is POSTed as JSON (a ``DeliveryPage``), signed with the platform's SM2
key (``X-Rongshu-Signature``, hex of raw ``r || s`` over the body). A subscription's deliveries
go strictly in version order, and a worker leases a subscription while it sends, so workers
running at once never send one twice. A failed push is tried again after
``exchange_push_retry_delay`` seconds, doubling each time, up to ``exchange_push_retries`` times;
then the delivery is ``failed`` and the subscription shows the error until a new version arrives
or someone asks to ``retry`` (``rongshu.exchange.subscriptions``). A retried delivery is sent
again from its first page: consumers apply pages idempotently by delivery id and page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyarrow as pa
from sqlalchemy import or_, select, update

from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import app_actor
from rongshu.core.platform import Platform
from rongshu.exchange.changes import CHANGE, PAGE_ROWS, VersionGone, change_columns, changed_rows
from rongshu.exchange.grants import ActiveGrant, snapshot
from rongshu.exchange.models import ExchangeDelivery, ExchangeSubscription
from rongshu.exchange.schemas import DeliveryPage, DeliveryState, SubscriptionStatus
from rongshu.exchange.subscriptions import (
    grant_in_force,
    json_rows,
    outstanding_deliveries,
    page_count,
)
from rongshu.ingest.uploads import host_allowed

log = logging.getLogger("rongshu.exchange.push")

#: How long a push worker holds a subscription it is sending (another worker skips it).
PUSH_LEASE = timedelta(minutes=10)
PUSH_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


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
        outstanding = outstanding_deliveries(session, row.id)
        pending = outstanding and outstanding[0].state == DeliveryState.PENDING.value
        if row.endpoint is None or not pending:
            row.next_attempt_at = None
            return None
        if not grant_in_force(row.grant, now):
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
            yield json_rows(table.slice(0, size))
            sent = True
            rest = table.slice(size)
            held, count = rest.to_batches(), rest.num_rows
    if count or not sent:
        yield [row for batch in held for row in json_rows(batch)]


def _send(platform: Platform, client: httpx.Client, push: _Push) -> None:
    """POST every page of the delivery; ``_PushFailed`` on the first page not taken."""
    host = urlsplit(push.endpoint).hostname or ""
    allowed = platform.settings.ingest_allowed_hosts
    if allowed and not host_allowed(host, allowed):
        raise _PushFailed(f"{host} is no longer among the hosts the platform may reach")
    pages = page_count(push.rows)
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
                columns=[CHANGE, *change_columns(push.grant)],
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
