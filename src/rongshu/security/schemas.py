"""In/out shapes of data security: scans, field classifications, the masking policy matrix."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from rongshu.catalog.schemas import Grade, LabelledEnum
from rongshu.security.entities import EntityType
from rongshu.security.masking import MaskOperator


class ClassificationStatus(LabelledEnum):
    SUGGESTED = "suggested", "待确认"
    ACCEPTED = "accepted", "已确认"
    OVERRIDDEN = "overridden", "已修改"
    CHANGED = "changed", "扫描结果有变"


class MaskingProfile(LabelledEnum):
    """A grant's masking profile: which column of the policy matrix applies to its reads."""

    CLEAR = "clear", "明文"
    STANDARD = "standard", "标准脱敏"
    ANALYTICS = "analytics", "统计分析"
    STRICT = "strict", "严格"


class FieldClassificationPublic(BaseModel):
    resource_code: str
    column: str
    field_label: str
    entity: EntityType | None = Field(description="What the latest scan found, if anything.")
    confidence: float
    support: float
    evidence: list[str]
    suggested_grade: Grade
    suggested_personal: bool
    suggested_sensitive: bool
    basis: str
    status: ClassificationStatus
    decided_entity: EntityType | None = None
    decided_grade: Grade | None = None
    decided_personal: bool | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""
    scan_id: int

    @property
    def effective_entity(self) -> EntityType | None:
        """The steward's decision once made, the scan's suggestion until then."""
        return self.entity if self.decided_by is None else self.decided_entity

    @property
    def effective_grade(self) -> Grade:
        return self.decided_grade or self.suggested_grade


class ScanPublic(BaseModel):
    id: int
    resource_code: str
    version: int
    rows_scanned: int
    rows_in_version: int
    full: bool
    suggested_grade: Grade = Field(description="就高从严 over the fields, scale included.")
    seconds: float
    scanned_by: str
    scanned_at: datetime
    fields: list[FieldClassificationPublic]


class ScanRequest(BaseModel):
    full: bool = Field(False, description="Read every row instead of an evenly spread sample.")
    sample_rows: int = Field(100_000, ge=1_000, le=10_000_000)


class Decision(BaseModel):
    """A steward's decision on one field: accept the suggestion, or override it."""

    accept: bool = Field(True, description="Accept the scan's suggestion as it is.")
    entity: EntityType | None = Field(None, description="Override: the entity type it holds.")
    grade: Grade | None = Field(None, description="Override: the grade.")
    is_personal: bool | None = Field(None, description="Override: personal information.")
    reason: str = Field("", max_length=500, description="Required when overriding.")


class MaskingRulePublic(BaseModel):
    profile: MaskingProfile
    target: str = Field(description="An entity type, or grade:<grade> for fields without one.")
    operator: MaskOperator
    params: dict[str, Any]
    updated_by: str
    updated_at: datetime


class MaskingRuleIn(BaseModel):
    operator: MaskOperator
    params: dict[str, Any] = Field(default_factory=dict)


class MaskingMatrix(BaseModel):
    data: list[MaskingRulePublic]
