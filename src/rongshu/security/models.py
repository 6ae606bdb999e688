"""Tables of data security (数据安全): PII scans, each field's classification, masking rules,
watermarked exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rongshu.core.db import Base, UTCDateTime, utcnow


class SecurityScan(Base):
    """One PII scan of one lake version of a resource (sampled, or every row)."""

    __tablename__ = "security_scan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(BigInteger)
    rows_scanned: Mapped[int] = mapped_column(BigInteger)
    rows_in_version: Mapped[int] = mapped_column(BigInteger)
    full: Mapped[bool] = mapped_column(default=False)
    suggested_grade: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[float] = mapped_column(Float)
    scanned_by: Mapped[str] = mapped_column(String(64))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FieldClassification(Base):
    """What the latest scan found in one column of a resource, and the steward's decision.

    The suggestion (``entity`` ... ``suggested_grade``) is replaced by every scan; the decision
    (``decided_*``) stays until a steward changes it. ``status`` is ``suggested`` until a
    steward accepts or overrides, ``changed`` when a later scan disagrees with the decision.
    """

    __tablename__ = "security_field_classification"
    __table_args__ = (UniqueConstraint("resource_code", "column_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    column_name: Mapped[str] = mapped_column(String(100))
    field_label: Mapped[str] = mapped_column(String(100), default="")
    scan_id: Mapped[int] = mapped_column(ForeignKey("security_scan.id"))
    entity: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    support: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[Any]] = mapped_column(JSON)
    suggested_grade: Mapped[str] = mapped_column(String(16))
    suggested_personal: Mapped[bool] = mapped_column(default=False)
    suggested_sensitive: Mapped[bool] = mapped_column(default=False)
    basis: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="suggested")
    decided_entity: Mapped[str | None] = mapped_column(String(32))
    decided_grade: Mapped[str | None] = mapped_column(String(16))
    decided_personal: Mapped[bool | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str] = mapped_column(Text, default="")


class MaskingRule(Base):
    """One cell of the masking policy matrix: how a masking profile shows one kind of field.

    ``target`` is an entity type (``resident_id``) or a grade (``grade:general_4``) for fields
    with no entity type; the entity's rule wins over the grade's.
    """

    __tablename__ = "security_masking_rule"
    __table_args__ = (UniqueConstraint("profile", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(48))
    operator: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SecurityExport(Base):
    """One watermarked export of a resource to a recipient: what was read and how it was
    masked and marked, so a leaked copy can be traced back to it."""

    __tablename__ = "security_export"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(BigInteger)
    recipient: Mapped[str] = mapped_column(String(100))
    profile: Mapped[str] = mapped_column(String(32))
    columns: Mapped[list[Any]] = mapped_column(JSON)
    masks: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The exchange grant's row filter (its conditions) the export read through, if any.
    row_filter: Mapped[list[Any] | None] = mapped_column(JSON)
    key_columns: Mapped[list[Any]] = mapped_column(JSON)
    markable: Mapped[list[Any]] = mapped_column(JSON)
    rate: Mapped[float] = mapped_column(Float)
    max_relative_change: Mapped[float] = mapped_column(Float)
    key_version: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(BigInteger)
    cells_changed: Mapped[int] = mapped_column(BigInteger)
    file_format: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
