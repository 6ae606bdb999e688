"""Tables of the audit ledger (留痕): chained entries, the chain head, signed checkpoints."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rongshu.core.db import Base


class AuditEntry(Base):
    """One append-only entry; ``hash`` = SM3 over the entry's canonical form and ``prev_hash``."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_ts", "ts"),
        Index("ix_audit_entry_actor_ts", "actor", "ts"),
        Index("ix_audit_entry_action_ts", "action", "ts"),
        Index("ix_audit_entry_department_ts", "department", "ts"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger, comment="UTC microseconds since the Unix epoch")
    actor: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(32))
    app: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    object: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(32))
    row_count: Mapped[int] = mapped_column(BigInteger)
    request_id: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row naming the chain's last sequence and hash; writers lock it per batch."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """An SM2 signature over the chain up to ``seq`` (its entry hash), by the platform key."""

    __tablename__ = "audit_checkpoint"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_hash: Mapped[str] = mapped_column(String(64))
    signed_ts: Mapped[int] = mapped_column(BigInteger)
    key_fingerprint: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(128))
