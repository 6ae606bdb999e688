"""Tables of aggregation (汇聚): the sources attached to catalog resources and every load."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from rongshu.core.db import Base, UTCDateTime, utcnow


class IngestSource(Base):
    """A source (数据源) of a resource: where its data comes from and how it is mapped and loaded.

    Options that may hold credentials (a database URL, HTTP headers) are kept only as SM4-GCM
    ciphertext in ``secret``; ``options`` holds the rest.
    """

    __tablename__ = "ingest_source"
    __table_args__ = (UniqueConstraint("resource_code", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    department_code: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    mode: Mapped[str] = mapped_column(String(16))
    watermark_column: Mapped[str | None] = mapped_column(String(100))
    last_watermark: Mapped[str | None] = mapped_column(String(100))
    key_fields: Mapped[list[str]] = mapped_column(JSON)
    schedule: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IngestLoad(Base):
    """One run of a source: what was read, written and rejected, and the version it created.

    ``host`` and ``pid`` name the process running it, so a load whose process died is marked
    interrupted rather than left running; ``attempt`` counts retries of a scheduled load.
    """

    __tablename__ = "ingest_load"
    __table_args__ = (
        Index("ix_ingest_load_source_started", "source_id", "started_at"),
        Index("ix_ingest_load_department_started", "department_code", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("ingest_source.id", ondelete="CASCADE"))
    resource_code: Mapped[str] = mapped_column(String(64))
    department_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Cells of kept rows repaired on the way in (full-width digits, other date forms).
    cells_repaired: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    fingerprint: Mapped[str] = mapped_column(String(128), default="")
    version: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    triggered_by: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    pid: Mapped[int | None] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
