"""In/out shapes of data quality (治理): rule kinds and their parameters, runs, scorecards."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from rongshu.catalog.schemas import LabelledEnum


class RuleKind(StrEnum):
    """What a rule checks; ``docs/quality.md`` describes each one and its reason codes."""

    NOT_NULL = "not_null"
    UNIQUE = "unique"
    ENUM = "enum"
    RANGE = "range"
    LENGTH = "length"
    REGEX = "regex"
    STANDARD = "standard"
    RIC_BIRTH_DATE = "ric_birth_date"
    RIC_GENDER = "ric_gender"
    RIC_REGION = "ric_region"
    REFERENTIAL = "referential"
    TIMELINESS = "timeliness"
    CUSTOM_SQL = "custom_sql"


class Severity(LabelledEnum):
    ERROR = "error", "错误"
    WARNING = "warning", "警告"
    INFO = "info", "提示"


class Dimension(LabelledEnum):
    """The quality dimensions of GB/T 36344-2018 (uniqueness kept apart from accuracy)."""

    COMPLETENESS = "completeness", "完整性"
    VALIDITY = "validity", "规范性"
    ACCURACY = "accuracy", "准确性"
    CONSISTENCY = "consistency", "一致性"
    UNIQUENESS = "uniqueness", "唯一性"
    TIMELINESS = "timeliness", "时效性"
    ACCESSIBILITY = "accessibility", "可访问性"


class RuleOrigin(StrEnum):
    CATALOG = "catalog"  # seeded from the catalog fields' rules lists; sync keeps them in step
    STEWARD = "steward"  # added through the service (console, API)


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# -- parameters of each kind --------------------------------------------------------------


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoParams(_Params):
    """not_null and unique take no parameters."""


class EnumParams(_Params):
    values: list[str] = Field(min_length=1, description="Allowed values (a code table), as text.")

    @field_validator("values", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [
                str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                for v in value
            ]
        return value


class RangeParams(_Params):
    min: float | date | None = Field(None, description="Smallest allowed value (number or date).")
    max: float | date | None = Field(None, description="Largest allowed value (number or date).")

    @model_validator(mode="after")
    def _bounds(self) -> RangeParams:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if self.min is not None and self.max is not None:
            if isinstance(self.min, date) != isinstance(self.max, date):
                raise ValueError("min and max must both be numbers or both be dates")
            if self.min > self.max:  # type: ignore[operator]
                raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    @property
    def is_date(self) -> bool:
        return isinstance(self.min, date) or isinstance(self.max, date)


class LengthParams(_Params):
    min: int | None = Field(None, ge=0, description="Fewest characters.")
    max: int | None = Field(None, ge=1, description="Most characters.")

    @model_validator(mode="after")
    def _bounds(self) -> LengthParams:
        if self.min is None and self.max is None:
            raise ValueError("a length rule needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class RegexParams(_Params):
    pattern: str = Field(
        min_length=1,
        max_length=500,
        description="A regex the whole value must match (anchored with ^ and $ if not already).",
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


class StandardParams(_Params):
    standard: str = Field(description="A name in rongshu.standards.STANDARDS: ric, uscc, ...")


class IdFieldParams(_Params):
    id_field: str = Field(min_length=1, description="The field holding the ID number.")


class RegionParams(IdFieldParams):
    level: Literal[2, 4, 6] = Field(
        6, description="Digits that must agree: 2 province, 4 city, 6 county (default)."
    )


class ReferentialParams(_Params):
    resource: str = Field(min_length=1, description="Code of the resource referred to.")
    column: str = Field(min_length=1, description="Its column the value must appear in.")


class TimelinessParams(_Params):
    max_age_hours: float | None = Field(
        None, gt=0, description="Hours since the last load; default from the update cycle."
    )


class CustomSqlParams(_Params):
    predicate: str = Field(
        min_length=1,
        max_length=2000,
        description="A boolean SQL expression over the resource's columns that must hold.",
    )


PARAMS: dict[RuleKind, type[_Params]] = {
    RuleKind.NOT_NULL: NoParams,
    RuleKind.UNIQUE: NoParams,
    RuleKind.ENUM: EnumParams,
    RuleKind.RANGE: RangeParams,
    RuleKind.LENGTH: LengthParams,
    RuleKind.REGEX: RegexParams,
    RuleKind.STANDARD: StandardParams,
    RuleKind.RIC_BIRTH_DATE: IdFieldParams,
    RuleKind.RIC_GENDER: IdFieldParams,
    RuleKind.RIC_REGION: RegionParams,
    RuleKind.REFERENTIAL: ReferentialParams,
    RuleKind.TIMELINESS: TimelinessParams,
    RuleKind.CUSTOM_SQL: CustomSqlParams,
}

#: The dimension each kind counts towards unless the rule says otherwise.
DEFAULT_DIMENSIONS: dict[RuleKind, Dimension] = {
    RuleKind.NOT_NULL: Dimension.COMPLETENESS,
    RuleKind.UNIQUE: Dimension.UNIQUENESS,
    RuleKind.ENUM: Dimension.VALIDITY,
    RuleKind.RANGE: Dimension.ACCURACY,
    RuleKind.LENGTH: Dimension.VALIDITY,
    RuleKind.REGEX: Dimension.VALIDITY,
    RuleKind.STANDARD: Dimension.VALIDITY,
    RuleKind.RIC_BIRTH_DATE: Dimension.CONSISTENCY,
    RuleKind.RIC_GENDER: Dimension.CONSISTENCY,
    RuleKind.RIC_REGION: Dimension.CONSISTENCY,
    RuleKind.REFERENTIAL: Dimension.CONSISTENCY,
    RuleKind.TIMELINESS: Dimension.TIMELINESS,
    RuleKind.CUSTOM_SQL: Dimension.VALIDITY,
}

#: Kinds that check the resource as a whole, not a field of each row.
RESOURCE_KINDS = frozenset({RuleKind.TIMELINESS})
#: Kinds whose field is optional (a custom predicate may name several columns).
FIELD_OPTIONAL_KINDS = frozenset({RuleKind.CUSTOM_SQL})


def parse_params(kind: RuleKind, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a ``kind`` rule, checked and in their stored (JSON) form."""
    model = PARAMS[kind].model_validate(params)
    return model.model_dump(mode="json", exclude_none=True)


# -- rules ---------------------------------------------------------------------------------


class RuleIn(BaseModel):
    """A rule as a steward writes it for a resource (the API's body)."""

    field: str | None = Field(None, max_length=100, description="Column; none for timeliness.")
    kind: RuleKind
    params: dict[str, Any] = Field(default_factory=dict)
    severity: Severity = Severity.ERROR
    dimension: Dimension | None = Field(None, description="Default from the kind.")
    enabled: bool = True

    @field_validator("field")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _check(self) -> RuleIn:
        self.params = parse_params(self.kind, self.params)
        if self.kind in RESOURCE_KINDS and self.field is not None:
            raise ValueError(f"a {self.kind.value} rule checks the resource, not a field")
        if self.kind not in RESOURCE_KINDS | FIELD_OPTIONAL_KINDS and self.field is None:
            raise ValueError(f"a {self.kind.value} rule needs a field")
        if self.dimension is None:
            self.dimension = DEFAULT_DIMENSIONS[self.kind]
        return self


class RuleCreate(RuleIn):
    """A rule added to a resource (by a steward, or seeded from the catalog)."""

    resource_code: str = Field(min_length=1, max_length=64)


class RuleUpdate(BaseModel):
    severity: Severity | None = None
    dimension: Dimension | None = None
    enabled: bool | None = None


class RulePublic(BaseModel):
    id: int
    resource_code: str
    field: str | None
    kind: RuleKind
    params: dict[str, Any]
    severity: Severity
    dimension: Dimension
    enabled: bool
    origin: RuleOrigin
    created_by: str
    created_at: datetime
    updated_at: datetime


class RuleList(BaseModel):
    data: list[RulePublic]
    count: int


class SkippedRule(BaseModel):
    """A catalog rule name that made no rule, and why."""

    field: str
    rule: str
    reason: str


class SyncReport(BaseModel):
    """What syncing a resource's rules from its catalog fields did."""

    resource_code: str
    added: list[RulePublic]
    removed: list[RulePublic]
    kept: int
    skipped: list[SkippedRule]


# -- runs ----------------------------------------------------------------------------------


class RuleResult(BaseModel):
    """What one rule found in a run."""

    rule_id: int
    kind: RuleKind
    field: str | None
    params: dict[str, Any]
    severity: Severity
    dimension: Dimension
    checked: int = Field(description="Rows checked (1 for a resource-level rule; 0 if skipped).")
    failing: int
    note: str = Field("", description="Why the rule was skipped, or what it compared.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pass_rate(self) -> float | None:
        """Share of checked rows that passed; None when nothing was checked."""
        return None if not self.checked else 1 - self.failing / self.checked


class RunPublic(BaseModel):
    id: int
    resource_code: str
    department_code: str
    version: int
    rows: int
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    triggered_by: str
    failing_rows: int = Field(description="Rows failing at least one rule.")
    score: float | None = Field(description="Overall weighted score, 0–1 (None: no rule ran).")
    scores: dict[Dimension, float] = Field(description="Score of each dimension that had rules.")
    results: list[RuleResult]
    error: str


class RunList(BaseModel):
    data: list[RunPublic]
    count: int = Field(description="Runs matching the filters in all (the page holds fewer).")


class RunRequested(BaseModel):
    """A "check now": the queued job, or the finished run when no job queue runs."""

    job_id: str | None = None
    run: RunPublic | None = None


# -- scorecards ----------------------------------------------------------------------------


class TrendPoint(BaseModel):
    """One succeeded run of a resource, for the trend of its scores."""

    run_id: int
    version: int
    finished_at: datetime
    score: float | None
    scores: dict[Dimension, float]


class ResourceScorecard(BaseModel):
    """A resource's latest run (or a chosen version's) and the trend of its runs."""

    resource_code: str
    resource_name: str
    department_code: str
    run: RunPublic | None = Field(description="The latest succeeded run (of the version asked).")
    trend: list[TrendPoint] = Field(description="Succeeded runs, oldest first.")


class ResourceScore(BaseModel):
    """A resource's latest succeeded run, as a line of its department's scorecard."""

    resource_code: str
    resource_name: str
    run_id: int
    version: int
    rows: int
    failing_rows: int
    score: float | None
    scores: dict[Dimension, float]
    finished_at: datetime


class DepartmentScorecard(BaseModel):
    """A department's scores: the average of its resources' latest runs."""

    department_code: str
    department_name: str
    score: float | None
    scores: dict[Dimension, float]
    resources: list[ResourceScore]


class LeagueRow(BaseModel):
    rank: int
    department_code: str
    department_name: str
    resources: int = Field(description="Resources with a succeeded run.")
    rows: int
    failing_rows: int
    score: float | None
    scores: dict[Dimension, float]


class LeagueTable(BaseModel):
    data: list[LeagueRow]
    count: int


class ValueVerdict(BaseModel):
    """A value checked against a standard (``rongshu quality validate``)."""

    value: str
    ok: bool
    reason: str | None = None
    message_zh: str | None = None
    message_en: str | None = None
