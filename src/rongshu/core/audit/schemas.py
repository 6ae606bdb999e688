"""In/out shapes of the audit trail."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AuditEntryPublic(BaseModel):
    seq: int
    time: datetime = Field(description="When it happened (UTC).")
    actor: str
    department: str
    app: str
    action: str
    object: str
    purpose: str = Field(description="Purpose or legal basis given by the caller.")
    outcome: str = Field(description="ok, denied, failed, locked, error ...")
    row_count: int
    request_id: str
    prev_hash: str
    hash: str


class AuditEntryList(BaseModel):
    data: list[AuditEntryPublic]
    count: int


class AuditFilter(BaseModel):
    """Filters of the auditor's search; naive times are Beijing time."""

    actor: str | None = None
    department: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def describe(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.model_dump(exclude_none=True).items())


class ChainProblemPublic(BaseModel):
    seq: int
    kind: str = Field(
        description="edited, missing, broken_link, checkpoint_mismatch, forged_checkpoint"
    )
    message: str


class VerifyReportPublic(BaseModel):
    ok: bool
    entries: int
    checkpoints: int
    last_seq: int
    unsigned_tail: int = Field(description="Entries after the last signed checkpoint.")
    key_fingerprint: str
    seconds: float
    problem: ChainProblemPublic | None
