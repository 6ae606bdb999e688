"""In/out shapes of aggregation: sources, load modes, schedules, load records, volumes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator

from rongshu.catalog.schemas import UpdateCycle
from rongshu.core.jobs.registry import parse_cron


class LoadMode(StrEnum):
    """How a load turns into a new version of the resource's lake table."""

    SNAPSHOT = "snapshot"  # the source is the whole table: replace it
    APPEND = "append"  # events: add what was read
    INCREMENTAL = "incremental"  # read only rows past the watermark, then append
    UPSERT = "upsert"  # merge by key: changed rows replace old ones, new keys are added


class LoadStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process died mid-load; the lake kept the previous version


#: Options of each connector kind that may carry credentials; stored SM4-GCM encrypted only.
SECRET_OPTIONS: dict[str, tuple[str, ...]] = {
    "sql": ("url",),
    "http": ("headers", "params"),
}

#: When a source runs by default, from its resource's update cycle (Beijing time, cron form).
DEFAULT_SCHEDULES: dict[UpdateCycle, str | None] = {
    UpdateCycle.REALTIME: "*/5 * * * *",
    UpdateCycle.DAILY: "0 2 * * *",
    UpdateCycle.WEEKLY: "0 3 * * 1",
    UpdateCycle.MONTHLY: "0 4 1 * *",
    UpdateCycle.QUARTERLY: "0 4 1 1,4,7,10 *",
    UpdateCycle.YEARLY: "0 4 1 1 *",
    UpdateCycle.IRREGULAR: None,
}


class SourceCreate(BaseModel):
    """A source a steward attaches to a resource."""

    resource_code: str
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w.-]+$")
    kind: str = Field(description="csv, excel, json, parquet, sql or http")
    options: dict[str, Any] = Field(default_factory=dict)
    mapping: dict[str, Any] = Field(
        default_factory=dict,
        description="Source column → catalog field mapping (saved per source).",
    )
    mode: LoadMode = LoadMode.SNAPSHOT
    watermark_column: str | None = None
    key_fields: list[str] = Field(default_factory=list)
    schedule: str | None = Field(None, description="Cron override; default from the update cycle.")

    @field_validator("watermark_column")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value:
            parse_cron(value)  # ValueError names the problem; pydantic reports it on the field
        return value or None


class SourcePublic(BaseModel):
    """A source as the console shows it: credentials never leave the server."""

    id: int
    resource_code: str
    department_code: str
    name: str
    kind: str
    options: dict[str, Any]
    secret_options: list[str] = Field(description="Names of options stored encrypted (not shown).")
    mapping: dict[str, Any]
    mode: LoadMode
    watermark_column: str | None
    last_watermark: str | None
    key_fields: list[str]
    schedule: str | None
    enabled: bool
    created_by: str
    created_at: datetime


class LoadPublic(BaseModel):
    id: int
    source_id: int
    resource_code: str
    department_code: str
    status: LoadStatus
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    rows_read: int
    rows_written: int
    rows_rejected: int
    cells_repaired: int = 0
    bytes_read: int
    fingerprint: str
    version: int | None
    error: str
    triggered_by: str
    attempt: int


class VolumeRow(BaseModel):
    """Rows aggregated by one department on one day (政务数据汇聚量)."""

    day: date
    department_code: str
    loads: int
    rows_written: int
    rows_rejected: int
    bytes_read: int


class FailingSource(BaseModel):
    """A source whose latest load failed: what its steward is alerted to in the console."""

    source: SourcePublic
    load: LoadPublic


class SourceList(BaseModel):
    data: list[SourcePublic]
    count: int


class LoadList(BaseModel):
    data: list[LoadPublic]
    count: int = Field(description="Loads matching the filters in all (the page holds fewer).")


class LoadRequested(BaseModel):
    """A "run now": the queued job, or the finished load when no job queue runs."""

    job_id: str | None = None
    load: LoadPublic | None = None


class UploadPublic(BaseModel):
    """A file a steward uploaded, as stored: give ``path`` as the option of a file source."""

    path: str
    filename: str
    size: int
    kind: str = Field(description="The connector kind that reads it (csv, excel, json, parquet).")
