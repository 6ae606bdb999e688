"""Tables of data sharing and exchange (共享交换): published services, applications and their
approval history, grants, subscriptions and their deliveries, signed-request nonces, usage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rongshu.core.db import Base, UTCDateTime, utcnow
from rongshu.core.identity.models import App


class ExchangeService(Base):
    """A service published for one shareable resource: query, verify, batch or subscription."""

    __tablename__ = "exchange_service"
    __table_args__ = (UniqueConstraint("resource_code", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    key_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="published")
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ExchangeApplication(Base):
    """A consuming department's application for a service (共享申请), and its decision."""

    __tablename__ = "exchange_application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("exchange_service.id"), index=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("app.id"), index=True)
    applicant: Mapped[str] = mapped_column(String(64))
    consumer_department: Mapped[str] = mapped_column(String(32), index=True)
    owner_department: Mapped[str] = mapped_column(String(32), index=True)
    columns: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text, default="")
    expected_daily_calls: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    row_filter: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    masking_profile: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    grant_id: Mapped[int | None] = mapped_column(Integer)

    service: Mapped[ExchangeService] = relationship(lazy="joined")
    app: Mapped[App] = relationship(lazy="joined")
    events: Mapped[list[ExchangeApplicationEvent]] = relationship(
        cascade="all, delete-orphan", order_by="ExchangeApplicationEvent.id"
    )


class ExchangeApplicationEvent(Base):
    """One step of an application: submitted, approved, refused, asked, answered, escalated."""

    __tablename__ = "exchange_application_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_application.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    state_from: Mapped[str] = mapped_column(String(16))
    state_to: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class ExchangeGrant(Base):
    """What one app may do with one service (授权): fields, rows, purpose, expiry, quota, mask."""

    __tablename__ = "exchange_grant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("app.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("exchange_service.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_application.id"))
    columns: Mapped[list[str]] = mapped_column(JSON)
    row_filter: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text)
    masking_profile: Mapped[str] = mapped_column(String(16))
    daily_quota: Mapped[int] = mapped_column(BigInteger)
    rate_per_second: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    service: Mapped[ExchangeService] = relationship(lazy="joined")
    app: Mapped[App] = relationship(lazy="joined")
    application: Mapped[ExchangeApplication | None] = relationship(
        foreign_keys=[application_id], lazy="joined"
    )


class ExchangeSubscription(Base):
    """A grant's subscription: each new lake version's changed rows, pulled or pushed."""

    __tablename__ = "exchange_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("exchange_grant.id"), unique=True)
    endpoint: Mapped[str | None] = mapped_column(String(500))
    delivered_version: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="active")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    grant: Mapped[ExchangeGrant] = relationship(lazy="joined")


class ExchangeDelivery(Base):
    """One batch of changed rows (one version step) for a subscription."""

    __tablename__ = "exchange_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_subscription.id", ondelete="CASCADE"), index=True
    )
    from_version: Mapped[int | None] = mapped_column(BigInteger)
    to_version: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ExchangeNonce(Base):
    """A signed request's nonce, kept until its timestamp is stale (replay protection without
    Redis; with Redis the nonces live there)."""

    __tablename__ = "exchange_nonce"
    __table_args__ = (UniqueConstraint("key_id", "nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ExchangeUsage(Base):
    """Calls of one grant's service by one app on one Beijing day, as one worker counted them
    between two flushes; reports add the rows up. ``histogram`` counts calls per latency bucket
    (``usage.BUCKETS_MS``), so p50 and p99 survive the adding up."""

    __tablename__ = "exchange_usage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("exchange_service.id"), index=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("app.id"), index=True)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    denied: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    histogram: Mapped[list[int]] = mapped_column(JSON, default=list)
    flushed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
