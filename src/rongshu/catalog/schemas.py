"""The vocabulary of the data-resource catalog (政务数据资源目录) and its in/out shapes.

Enumerations follow the national cataloguing guide (政务信息资源目录编制指南) and GB/T 43697-2024
for grades. Every enumeration has a Chinese label, since bureaus' Excel sheets use those.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class LabelledEnum(StrEnum):
    """An enumeration whose members carry the Chinese label bureaus write in their sheets."""

    label: str

    def __new__(cls, value: str, label: str = "") -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def parse(cls, text: str) -> LabelledEnum:
        """Accept the code (``conditional``) or the Chinese label (``有条件共享``)."""
        cleaned = text.strip()
        for member in cls:
            if cleaned in (member.value, member.label):
                return member
        choices = "、".join(f"{m.label} ({m.value})" for m in cls)
        raise ValueError(f"'{cleaned}' is not one of {choices}")


class CatalogType(LabelledEnum):
    BASIC = "basic", "基础"
    THEMATIC = "thematic", "主题"
    DEPARTMENTAL = "departmental", "部门"


class ShareType(LabelledEnum):
    UNCONDITIONAL = "unconditional", "无条件共享"
    CONDITIONAL = "conditional", "有条件共享"
    NONE = "none", "不予共享"


class OpenType(LabelledEnum):
    UNCONDITIONAL = "unconditional", "无条件开放"
    CONDITIONAL = "conditional", "有条件开放"
    NONE = "none", "不予开放"


class ShareMethod(LabelledEnum):
    API = "api", "接口"
    BATCH = "batch", "批量交换"
    FILE = "file", "文件"


class UpdateCycle(LabelledEnum):
    REALTIME = "realtime", "实时"
    DAILY = "daily", "每日"
    WEEKLY = "weekly", "每周"
    MONTHLY = "monthly", "每月"
    QUARTERLY = "quarterly", "每季度"
    YEARLY = "yearly", "每年"
    IRREGULAR = "irregular", "不定期"


class Grade(LabelledEnum):
    """GB/T 43697-2024: core, important, and general data in four levels (4 most sensitive)."""

    GENERAL_1 = "general_1", "一般数据1级"
    GENERAL_2 = "general_2", "一般数据2级"
    GENERAL_3 = "general_3", "一般数据3级"
    GENERAL_4 = "general_4", "一般数据4级"
    IMPORTANT = "important", "重要数据"
    CORE = "core", "核心数据"

    @property
    def rank(self) -> int:
        """Higher is more sensitive; a resource's grade is the highest of its fields (就高从严)."""
        return list(Grade).index(self) + 1


class FieldType(LabelledEnum):
    STRING = "string", "字符型"
    INTEGER = "integer", "整数型"
    DECIMAL = "decimal", "数值型"
    DATE = "date", "日期型"
    DATETIME = "datetime", "日期时间型"
    BOOLEAN = "boolean", "布尔型"
    BINARY = "binary", "二进制"


class ResourceStatus(LabelledEnum):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待审核"
    RETURNED = "returned", "已退回"
    PUBLISHED = "published", "已发布"
    RETIRED = "retired", "已停用"


class FieldSpec(BaseModel):
    """One information item (信息项) of a resource."""

    model_config = ConfigDict(use_enum_values=False)

    name: str = Field(min_length=1, max_length=100, description="Chinese name, e.g. 公民身份号码.")
    english_name: str = Field("", max_length=100, description="Column name, e.g. id_number.")
    data_type: FieldType | None = Field(description="Every field has a type.")
    length: int | None = Field(None, ge=1, le=1_000_000)
    description: str = ""
    is_key: bool = False
    is_personal: bool = Field(False, description="Personal information (个人信息).")
    grade: Grade = Grade.GENERAL_1
    rules: list[str] = Field(
        default_factory=list, description="Quality rule names, e.g. not_null, ric, uscc."
    )


class ResourceSpec(BaseModel):
    """Everything a steward declares about a resource; what create, update and import take."""

    code: str = Field(min_length=1, max_length=64, description="Resource code, unique.")
    name: str = Field(min_length=1, max_length=200)
    catalog_type: CatalogType = CatalogType.DEPARTMENTAL
    classification_code: str = Field(
        "", max_length=64, description="类-项-目-细目, e.g. 02-01-03-01."
    )
    department_code: str
    summary: str = ""
    format: str = Field("table", max_length=32, description="table, file, api, stream ...")
    fields: list[FieldSpec] = Field(default_factory=list)
    share_type: ShareType
    share_condition: str = ""
    share_methods: list[ShareMethod] = Field(default_factory=list)
    open_type: OpenType
    open_condition: str = ""
    legal_basis: str = Field("", description="Law or regulation behind 不予共享 / 不予开放.")
    update_cycle: UpdateCycle = UpdateCycle.IRREGULAR
    publish_date: date | None = None
    related: list[str] = Field(default_factory=list, description="Codes of related resources.")
    grade: Grade | None = Field(
        None, description="Declared grade; never below the most sensitive field (就高从严)."
    )

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return value.strip()

    @field_validator("classification_code")
    @classmethod
    def _classification(cls, value: str) -> str:
        value = value.strip()
        if value and not all(part.isdigit() for part in value.split("-")):
            raise ValueError("write 类-项-目-细目 as digits joined by '-', e.g. 02-01-03")
        return value


class FieldPublic(FieldSpec):
    position: int


class ResourcePublic(ResourceSpec):
    """A resource as the catalog shows it."""

    id: int
    department_name: str
    status: ResourceStatus
    effective_grade: Grade = Field(description="The grade in force: declared or field-derived.")
    version: int = Field(description="The latest published catalog version, 0 if never.")
    updated_at: datetime
    fields: list[FieldPublic] = Field(default_factory=list)  # type: ignore[assignment]


class ResourceList(BaseModel):
    data: list[ResourcePublic]
    count: int


class FieldChange(BaseModel):
    """One difference between two catalog versions."""

    kind: str = Field(description="added, removed, changed (a field) or resource (an attribute)")
    field: str = Field(description="The information item's name, or the resource attribute.")
    before: Any = None
    after: Any = None


class ResourceEventPublic(BaseModel):
    at: datetime
    actor: str
    action: str
    status_from: str
    status_to: str
    reason: str
    version: int
    changes: list[FieldChange]


class ReviewDecision(BaseModel):
    approve: bool
    reason: str = Field("", description="Required when returning a submission.")


class ReasonIn(BaseModel):
    reason: str = Field("", description="Why (recorded in the history).")
