"""Subscriptions: each new version's changed rows (only those, masked, filtered) reach the
consumer, pulled and acknowledged or pushed to its endpoint, surviving a consumer that is down."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from rongshu.core.audit.models import AuditEntry
from rongshu.core.db import utcnow
from rongshu.core.errors import Conflict, PermissionDenied, ValidationFailed
from rongshu.core.identity import service as identity
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.core.jobs import REGISTRY, JobContext
from rongshu.core.platform import Platform
from rongshu.exchange import hooks, jobs
from rongshu.exchange import subscriptions as subs
from rongshu.exchange.models import ExchangeDelivery
from rongshu.exchange.push import push_due
from rongshu.exchange.schemas import (
    Condition,
    DeliveryPublic,
    DeliveryState,
    ServiceKind,
    SubscriptionPublic,
    SubscriptionStatus,
)
from rongshu.ingest.schemas import LoadPublic
from rongshu.security.schemas import MaskingProfile

from ..conftest import Write
from .conftest import MakeShared, Shared, make_app, people

SQLITE_ONLY = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
PHONE = re.compile(r"^1\d{10}$")


def app_of(platform: Platform, app_id: int) -> Actor:
    with platform.db.session_scope() as session:
        return identity.app_actor(identity.get_app(session, app_id))


def subscribe(
    shared: Shared, endpoint: str | None = None, *, app_id: int | None = None, **grant: Any
) -> int:
    """Grant an app (the fixture's) the subscription service and subscribe it as that app."""
    app_id = app_id or shared.app_id
    grant_id = shared.grant(ServiceKind.SUBSCRIPTION, app_id=app_id, **grant)
    with shared.platform.db.session_scope() as session:
        made = subs.subscribe(
            session,
            shared.platform,
            grant_id=grant_id,
            endpoint=endpoint,
            actor=app_of(shared.platform, app_id),
        )
    return made.id


def next_version(shared: Shared, write: Write, step: int) -> set[str]:
    """Version ``step``: the first three rows deleted, the phones of the next three changed,
    three new people added; returns the ids of the nine changed rows."""
    rows = [dict(r) for r in shared.rows[3:]]
    for row in rows[:3]:
        row["phone"] = "139" + row["phone"][3:]
    added = people(100 + 3 * step)[-3:]
    write(shared.code, rows + added)
    changed = {r["id_number"] for r in shared.rows[:6]} | {r["id_number"] for r in added}
    shared.rows = rows + added
    return changed


def outstanding(platform: Platform, subscription_id: int) -> list[DeliveryPublic]:
    with platform.db.session_scope() as session:
        return subs.pending_deliveries(
            session, platform, subscription_id=subscription_id, actor=SYSTEM
        ).data


def state(platform: Platform, subscription_id: int) -> SubscriptionPublic:
    with platform.db.session_scope() as session:
        return subs.get_subscription(
            session, platform, subscription_id=subscription_id, actor=SYSTEM
        )


def audited(platform: Platform, action: str) -> list[AuditEntry]:
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        found = session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        session.expunge_all()
        return list(found)


@SQLITE_ONLY
def test_only_changed_rows_are_delivered_exactly_and_masked(
    platform: Platform, make_shared: MakeShared, write: Write
) -> None:
    shared = make_shared(rows=30)
    clear = subscribe(shared, profile=MaskingProfile.CLEAR)
    other_id, _, _ = make_app(platform, name="分析应用")
    standard = subscribe(shared, app_id=other_id)
    before = shared.rows
    changed = next_version(shared, write, 1)

    assert subs.plan_deliveries(platform, resource_code=shared.code) == 2
    [delivery] = outstanding(platform, clear)
    assert (delivery.from_version, delivery.to_version, delivery.rows) == (0, 1, 9)
    page = subs.fetch_delivery(
        platform, delivery_id=delivery.id, actor=app_of(platform, shared.app_id)
    )
    assert page.columns[0] == "_change" and len(page.rows) == 9
    by_change: dict[str, dict[str, dict[str, Any]]] = {}
    for row in page.rows:
        by_change.setdefault(row["_change"], {})[row["id_number"]] = row
    assert set(by_change["delete"]) == {r["id_number"] for r in before[:3]}
    assert all(r["phone"] is None and r["name"] is None for r in by_change["delete"].values())
    assert {k: r["phone"] for k, r in by_change["update"].items()} == {
        r["id_number"]: r["phone"] for r in shared.rows[:3]
    }
    assert set(by_change["insert"]) == {r["id_number"] for r in shared.rows[-3:]}
    assert set().union(*by_change.values()) == changed  # unchanged rows are absent

    [masked] = outstanding(platform, standard)
    seen = subs.fetch_delivery(
        platform, delivery_id=masked.id, actor=app_of(platform, other_id)
    ).rows
    assert sorted(r["_change"] for r in seen) == sorted(r["_change"] for r in page.rows)
    values = [str(v) for row in seen for v in row.values() if v is not None]
    assert not [v for v in values if PHONE.match(v)], "no phone number in clear"
    assert not set(values) & changed, "no ID number in clear"

    fetched = audited(platform, "exchange.subscription.fetch")
    assert {(e.app, e.purpose, e.row_count) for e in fetched} == {
        ("核验应用", "测试用途", 9),
        ("分析应用", "测试用途", 9),
    }


@SQLITE_ONLY
def test_the_row_filter_holds_and_a_row_leaving_it_is_deleted(
    platform: Platform, make_shared: MakeShared, write: Write
) -> None:
    shared = make_shared(rows=24)
    district = "350102"
    subscription = subscribe(
        shared,
        profile=MaskingProfile.CLEAR,
        conditions=[Condition(column="district", value=district)],
    )
    rows = [dict(r) for r in shared.rows]
    moving = next(r for r in rows if r["district"] == district)
    moving["district"] = "350103"
    for row in rows:
        row["address"] = row["address"] + "（新）"  # every row changes; few are shown
    write(shared.code, rows)
    subs.plan_deliveries(platform)

    [delivery] = outstanding(platform, subscription)
    got = subs.fetch_delivery(platform, delivery_id=delivery.id, actor=SYSTEM).rows
    inside = [r for r in rows if r["district"] == district]
    assert {r["id_number"] for r in got if r["_change"] == "update"} == {
        r["id_number"] for r in inside
    }
    assert all(r["district"] == district for r in got if r["_change"] == "update")
    assert [r["id_number"] for r in got if r["_change"] == "delete"] == [moving["id_number"]]
    assert delivery.rows == len(inside) + 1


def test_pull_in_order_acknowledge_advances_and_waiting_versions_merge(
    platform: Platform, make_shared: MakeShared, write: Write
) -> None:
    shared = make_shared(rows=20)
    subscription = subscribe(shared, profile=MaskingProfile.CLEAR)
    app = app_of(platform, shared.app_id)
    assert state(platform, subscription).delivered_version == 0

    next_version(shared, write, 1)
    next_version(shared, write, 2)  # two versions before the consumer looks: one delivery
    subs.plan_deliveries(platform)
    [merged] = outstanding(platform, subscription)
    assert (merged.from_version, merged.to_version) == (0, 2)
    page = subs.fetch_delivery(platform, delivery_id=merged.id, actor=app)
    assert len(page.rows) == merged.rows == 15  # 6 deleted, 3 updated twice, 6 added

    next_version(shared, write, 3)  # after a fetch the range is fixed: a second delivery
    subs.plan_deliveries(platform)
    first, second = outstanding(platform, subscription)
    assert (first.id, second.from_version, second.to_version) == (merged.id, 2, 3)
    with pytest.raises(Conflict, match="first"):
        subs.fetch_delivery(platform, delivery_id=second.id, actor=app)
    with pytest.raises(Conflict, match="first"):
        subs.acknowledge(platform, delivery_id=second.id, actor=app)

    stranger_id, _, _ = make_app(platform, department="ZJ", name="别的应用")
    with pytest.raises(PermissionDenied):
        subs.fetch_delivery(platform, delivery_id=first.id, actor=app_of(platform, stranger_id))

    assert subs.acknowledge(platform, delivery_id=first.id, actor=app).delivered_version == 2
    assert subs.acknowledge(platform, delivery_id=second.id, actor=app).delivered_version == 3
    after = state(platform, subscription)
    assert (after.pending, after.status) == (0, SubscriptionStatus.ACTIVE)
    acks = audited(platform, "exchange.subscription.acknowledge")
    assert [e.row_count for e in acks] == [15, 9] and all(e.app == "核验应用" for e in acks)


class _Consumer(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def consumer(port: int) -> Iterator[list[tuple[dict[str, str], bytes]]]:
    """A consumer's endpoint on 127.0.0.1:``port``; yields what it received."""
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Consumer", (_Consumer,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_push_survives_a_consumer_that_is_down_then_arrives_once_in_order_signed(
    platform: Platform, make_shared: MakeShared, write: Write
) -> None:
    shared = make_shared(rows=20)
    port = free_port()  # nothing listens there yet: the consumer is down
    subscription = subscribe(
        shared, f"http://127.0.0.1:{port}/rongshu", profile=MaskingProfile.CLEAR
    )
    delay = platform.settings.exchange_push_retry_delay
    next_version(shared, write, 1)
    subs.plan_deliveries(platform)
    start = utcnow()

    assert push_due(platform, now=start) == 0
    down = state(platform, subscription)
    assert down.failures == 1 and "ConnectError" in down.last_error
    assert down.next_attempt_at == start + timedelta(seconds=delay)
    assert push_due(platform, now=start + timedelta(seconds=delay / 2)) == 0  # not yet due
    assert state(platform, subscription).failures == 1
    retried = start + timedelta(seconds=delay)
    assert push_due(platform, now=retried) == 0
    assert state(platform, subscription).next_attempt_at == retried + timedelta(seconds=2 * delay)

    next_version(shared, write, 2)  # versions keep coming while the consumer is down
    subs.plan_deliveries(platform)
    next_version(shared, write, 3)
    subs.plan_deliveries(platform)
    waiting = outstanding(platform, subscription)
    assert [(d.from_version, d.to_version, d.attempts) for d in waiting] == [
        (0, 1, 2),
        (1, 3, 0),
    ]

    with consumer(port) as received:
        assert push_due(platform, now=retried + timedelta(seconds=2 * delay)) == 2
        assert push_due(platform, now=retried + timedelta(seconds=9 * delay)) == 0
    bodies = [json.loads(body) for _, body in received]
    assert [(b["from_version"], b["to_version"]) for b in bodies] == [(0, 1), (1, 3)]
    assert [len(b["rows"]) for b in bodies] == [w.rows for w in waiting]
    public = platform.signing_key.public_key()
    for headers, body in received:
        assert headers["X-Rongshu-Delivery"] == str(json.loads(body)["delivery"])
        assert public.verify(body, bytes.fromhex(headers["X-Rongshu-Signature"]))
    assert not public.verify(
        received[0][1] + b" ", bytes.fromhex(received[0][0]["X-Rongshu-Signature"])
    )

    up = state(platform, subscription)
    assert (up.delivered_version, up.failures, up.last_error, up.pending) == (3, 0, "", 0)
    with platform.db.session_scope() as session:
        attempts = session.scalars(
            select(ExchangeDelivery.attempts).order_by(ExchangeDelivery.id)
        ).all()
    assert attempts == [3, 1]
    delivered = audited(platform, "exchange.subscription.deliver")
    assert [e.row_count for e in delivered] == [w.rows for w in waiting]
    assert {(e.actor, e.purpose) for e in delivered} == {(f"app:{shared.app_id}", "测试用途")}


@SQLITE_ONLY
def test_push_gives_up_after_the_retry_limit_and_a_new_version_or_retry_rearms_it(
    platform: Platform, make_shared: MakeShared, write: Write
) -> None:
    shared = make_shared(rows=12)
    platform.settings.exchange_push_retries = 2
    subscription = subscribe(shared, "https://consumer.example.gov.cn/hook")
    next_version(shared, write, 1)
    subs.plan_deliveries(platform)
    refusing = httpx.Client(
        transport=httpx.MockTransport(lambda _: httpx.Response(503, text="维护中"))
    )
    taking = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    now = utcnow()
    for _ in range(3):
        assert push_due(platform, now=now, client=refusing) == 0
        now += timedelta(days=1)
    failed = state(platform, subscription)
    assert failed.status is SubscriptionStatus.FAILED
    assert failed.last_error == "page 1/1: HTTP 503 维护中" and failed.next_attempt_at is None
    [delivery] = outstanding(platform, subscription)
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 3)
    assert push_due(platform, now=now, client=taking) == 0  # given up: nothing is sent

    with platform.db.session_scope() as session:
        again = subs.retry(session, platform, subscription_id=subscription, actor=SYSTEM)
    assert again.status is SubscriptionStatus.ACTIVE
    assert push_due(platform, now=now, client=refusing) == 0
    for _ in range(2):
        now += timedelta(days=1)
        push_due(platform, now=now, client=refusing)
    assert state(platform, subscription).status is SubscriptionStatus.FAILED

    next_version(shared, write, 2)  # a new version tries the consumer again
    subs.plan_deliveries(platform)
    assert state(platform, subscription).status is SubscriptionStatus.ACTIVE
    assert push_due(platform, now=now, client=taking) == 2
    assert state(platform, subscription).delivered_version == 2


@SQLITE_ONLY
def test_subscribing_checks_the_caller_grant_and_endpoint(
    platform: Platform, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=5)
    grant_id = shared.grant(ServiceKind.SUBSCRIPTION)
    verify_grant = shared.grant(ServiceKind.VERIFY)
    app = app_of(platform, shared.app_id)
    stranger_id, _, _ = make_app(platform, department="ZJ", name="别的应用")

    def attempt(grant: int, endpoint: str | None, actor: Actor) -> SubscriptionPublic:
        with platform.db.session_scope() as session:
            return subs.subscribe(session, platform, grant_id=grant, endpoint=endpoint, actor=actor)

    with pytest.raises(PermissionDenied):
        attempt(grant_id, None, app_of(platform, stranger_id))
    with pytest.raises(ValidationFailed, match="not a subscription"):
        attempt(verify_grant, None, app)
    with pytest.raises(ValidationFailed, match="http"):
        attempt(grant_id, "ftp://consumer.example/x", app)
    with pytest.raises(ValidationFailed, match="password"):
        attempt(grant_id, "https://user:secret@consumer.example/x", app)
    platform.settings.ingest_allowed_hosts = ["*.gov.cn"]
    with pytest.raises(ValidationFailed, match="not among the hosts"):
        attempt(grant_id, "https://consumer.example.com/x", app)
    made = attempt(grant_id, "https://mz.fuzhou.gov.cn/hook", app)
    assert (made.mode, made.delivered_version, made.status) == ("push", 0, "active")
    with pytest.raises(Conflict, match="already"):
        attempt(grant_id, None, app)


@SQLITE_ONLY
def test_a_load_and_the_minute_job_plan_deliveries(
    platform: Platform, make_shared: MakeShared, write: Write
) -> None:
    shared = make_shared(rows=8)
    subscription = subscribe(shared)
    next_version(shared, write, 1)
    load = LoadPublic.model_construct(resource_code=shared.code, version=1)
    hooks.deliver_after_load(platform, load)
    assert [(d.from_version, d.to_version) for d in outstanding(platform, subscription)] == [(0, 1)]

    next_version(shared, write, 2)  # written by a load the job queue ran: no hook
    ctx = JobContext(settings=platform.settings, resources={"platform": platform})
    assert REGISTRY.get("exchange.push_subscriptions").is_periodic
    assert jobs.push_subscriptions(ctx) == {"planned": 1, "delivered": 0}  # pulled, not pushed
    assert [(d.from_version, d.to_version) for d in outstanding(platform, subscription)] == [(0, 2)]
