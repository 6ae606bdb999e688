"""Tables of the open-data portal (公共数据开放): datasets and their releases, public accounts
and their one-time codes, ratings and comments, data requests and the showcase of applications."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rongshu.core.db import Base, UTCDateTime, utcnow


class OpenDataset(Base):
    """A catalog resource published on the portal (开放数据集): what the public reads about it.

    ``name`` is the dataset's CKAN name (lower-case resource code); the counters are kept here
    so a page view or download is one ``UPDATE``.
    """

    __tablename__ = "opendata_dataset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    resource_code: Mapped[str] = mapped_column(String(64), unique=True)
    owner_department: Mapped[str] = mapped_column(String(32), index=True)
    access: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    theme: Mapped[str] = mapped_column(String(32))
    licence: Mapped[str] = mapped_column(String(32))
    temporal_start: Mapped[date | None] = mapped_column(Date)
    temporal_end: Mapped[date | None] = mapped_column(Date)
    spatial: Mapped[str] = mapped_column(String(100), default="")
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    quasi_identifiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    k_anonymity: Mapped[int] = mapped_column(Integer, default=5)
    masking_profile: Mapped[str] = mapped_column(String(16))
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    published_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)

    releases: Mapped[list[OpenRelease]] = relationship(
        back_populates="dataset", order_by="OpenRelease.lake_version"
    )


class OpenRelease(Base):
    """The data of one lake version as the public gets it: masked, without personal fields,
    rare quasi-identifier combinations suppressed; files under ``<data dir>/opendata/``."""

    __tablename__ = "opendata_release"
    __table_args__ = (UniqueConstraint("dataset_id", "lake_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("opendata_dataset.id", ondelete="CASCADE"), index=True
    )
    lake_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    suppressed_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    dropped_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    files: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    dataset: Mapped[OpenDataset] = relationship(back_populates="releases")


class OpenAccount(Base):
    """A member of the public registered on the portal: a platform user with the public role,
    the contact they proved with a one-time code, and the app their API key belongs to."""

    __tablename__ = "opendata_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), unique=True
    )
    contact: Mapped[str] = mapped_column(String(200), unique=True)
    contact_kind: Mapped[str] = mapped_column(String(8))
    app_id: Mapped[int] = mapped_column(ForeignKey("app.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OpenCode(Base):
    """A one-time code sent to a contact (e-mail or phone); only its keyed digest is kept."""

    __tablename__ = "opendata_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact: Mapped[str] = mapped_column(String(200), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OpenComment(Base):
    """A rating (1–5) and/or comment on a dataset by a signed-in member of the public."""

    __tablename__ = "opendata_comment"
    __table_args__ = (Index("ix_opendata_comment_dataset_created", "dataset_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("opendata_dataset.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(100))
    rating: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OpenDataRequest(Base):
    """A public data request (数据需求): what someone wants opened, and the department's answer."""

    __tablename__ = "opendata_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    department_code: Mapped[str] = mapped_column(String(32), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requester: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OpenShowcase(Base):
    """An application built on open data (应用成果), shown once the bureau approves it."""

    __tablename__ = "opendata_showcase"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(500))
    datasets: Mapped[list[str]] = mapped_column(JSON, default=list)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    submitter: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
