"""Tables of data quality (治理): the rules of each resource, and every run with its results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rongshu.core.db import Base, UTCDateTime, utcnow


class QualityRule(Base):
    """A rule (规则) of a resource: a check of one field (or of the whole resource).

    ``fingerprint`` identifies what the rule checks (field, kind and parameters), so the same
    check is never added twice and syncing from the catalog can tell which rules it made.
    ``origin`` is ``catalog`` for rules seeded from the catalog fields, ``steward`` otherwise.
    """

    __tablename__ = "quality_rule"
    __table_args__ = (UniqueConstraint("resource_code", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    field: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    severity: Mapped[str] = mapped_column(String(16))
    dimension: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(default=True)
    origin: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class QualityRun(Base):
    """One check of one lake version of a resource against its enabled rules, in one pass.

    ``scores`` holds the score of each GB/T 36344 dimension that had rules, ``score`` the
    overall weighted score (``rongshu.quality.scoring``); both are empty until the run succeeds.
    """

    __tablename__ = "quality_run"
    __table_args__ = (
        Index("ix_quality_run_resource_version", "resource_code", "version"),
        Index("ix_quality_run_department_finished", "department_code", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64))
    department_code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    triggered_by: Mapped[str] = mapped_column(String(64))
    failing_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    score: Mapped[float | None] = mapped_column(Float)
    scores: Mapped[dict[str, float]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[list[QualityResult]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        order_by="QualityResult.id",
        lazy="selectin",
    )


class QualityResult(Base):
    """What one rule found in one run: rows checked and rows failing.

    The rule's kind, field, severity and dimension are copied, so a run reads the same after
    its rules are changed or removed.
    """

    __tablename__ = "quality_result"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("quality_run.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    severity: Mapped[str] = mapped_column(String(16))
    dimension: Mapped[str] = mapped_column(String(16))
    checked: Mapped[int] = mapped_column(BigInteger, default=0)
    failing: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    run: Mapped[QualityRun] = relationship(back_populates="results")


# -- corrections (纠错) and data-subject objections (数据主体查询核实) ---------------------------
# Appended by the corrections area (rongshu.quality.corrections, rongshu.quality.objections).


class QualityTicket(Base):
    """A correction ticket (纠错工单): problem data sent back to the department that owns it.

    ``kind`` is ``rule`` for the failing rows of one rule found by a run (``run_id`` is the run
    whose failing rows the ticket covers; ``failing`` counts them, ``sample_keys`` names a few),
    or ``objection`` for one field of one row a data subject disputed (``subject_hash`` is the
    HMAC-SM3 of their ID number, ``value_hash`` of the value they disputed). ``number`` is what
    people quote; it is random, so knowing one ticket's number tells nothing of another's.
    """

    __tablename__ = "quality_ticket"
    __table_args__ = (
        Index("ix_quality_ticket_resource_rule", "resource_code", "rule_id", "state"),
        Index("ix_quality_ticket_department_state", "department_code", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    resource_code: Mapped[str] = mapped_column(String(64))
    department_code: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[int | None] = mapped_column(Integer)
    rule_kind: Mapped[str] = mapped_column(String(32), default="")
    field: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    resolution: Mapped[str] = mapped_column(String(16), default="")
    failing: Mapped[int] = mapped_column(BigInteger, default=0)
    sample_keys: Mapped[list[str]] = mapped_column(JSON)
    run_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    subject_hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    value_hash: Mapped[str] = mapped_column(String(64), default="")
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    events: Mapped[list[QualityTicketEvent]] = relationship(
        back_populates="ticket",
        cascade="all, delete-orphan",
        order_by="QualityTicketEvent.id",
        lazy="selectin",
    )


class QualityTicketEvent(Base):
    """One step in a ticket's history: who moved it from which state to which, and why."""

    __tablename__ = "quality_ticket_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("quality_ticket.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str] = mapped_column(String(16), default="")
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    ticket: Mapped[QualityTicket] = relationship(back_populates="events")


class QualitySubjectAccess(Base):
    """A resource whose data subjects may see and dispute their own rows (set by its stewards).

    The rows of a person are those whose ``id_field`` holds their ID number; ``name_field``
    must hold the name they give, and ``phone_field`` the phone the one-time code goes to.
    """

    __tablename__ = "quality_subject_access"

    resource_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    id_field: Mapped[str] = mapped_column(String(100))
    name_field: Mapped[str] = mapped_column(String(100))
    phone_field: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class QualityObjectionChallenge(Base):
    """A one-time code sent to a data subject's phone, and the session its right answer opens.

    Nothing here reads back as the person's ID number or the code: ``subject_hash``,
    ``code_hash`` and ``token_hash`` are HMAC-SM3 under the installation secret, and
    ``subject_sealed`` is the ID number under SM4-GCM, opened only to find the person's rows.
    """

    __tablename__ = "quality_objection_challenge"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    subject_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    code_hash: Mapped[str] = mapped_column(String(64))
    sent: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
