"""In/out shapes of data sharing and exchange (共享交换): services, applications, grants, calls,
subscriptions and their deliveries."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from rongshu.catalog.schemas import LabelledEnum, ShareType
from rongshu.security.schemas import MaskingProfile

#: Lake column names as the catalog declares them; anything else in a request is refused.
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


class ServiceKind(LabelledEnum):
    """What a published service does with a resource."""

    QUERY = "query", "查询"
    VERIFY = "verify", "核验"
    BATCH = "batch", "批量交换"
    SUBSCRIPTION = "subscription", "订阅"
    OPEN_DATA = "open_data", "开放数据"


#: The kinds a resource's stewards publish for sharing between departments; ``OPEN_DATA`` is
#: published by the open-data portal for a conditional dataset (its datastore and downloads).
SHARING_KINDS: tuple[ServiceKind, ...] = (
    ServiceKind.QUERY,
    ServiceKind.VERIFY,
    ServiceKind.BATCH,
    ServiceKind.SUBSCRIPTION,
)


class ServiceStatus(LabelledEnum):
    PUBLISHED = "published", "已发布"
    WITHDRAWN = "withdrawn", "已下线"


class ApplicationState(LabelledEnum):
    """An application's place in the approval workflow.

    ``pending`` → ``approved`` (a grant is made) | ``refused`` (with a reason) | ``more_info``
    (the approver asks; the applicant answers and it is ``pending`` again, with a new deadline).
    Unconditional resources skip ``pending``: the application is approved on arrival.
    """

    PENDING = "pending", "待审批"
    MORE_INFO = "more_info", "待补充材料"
    APPROVED = "approved", "已批准"
    REFUSED = "refused", "已拒绝"


class ApprovalAction(LabelledEnum):
    APPROVE = "approve", "批准"
    REFUSE = "refuse", "拒绝"
    ASK = "ask", "要求补充"


class FilterOperator(LabelledEnum):
    """The operators a grant's row filter may use; values are always bound parameters."""

    EQ = "eq", "="
    NE = "ne", "≠"
    IN = "in", "属于"
    LT = "lt", "<"
    LE = "le", "≤"
    GT = "gt", ">"
    GE = "ge", "≥"
    PREFIX = "prefix", "开头为"


class Condition(BaseModel):
    """One condition of a row filter: ``column op value``."""

    column: str = Field(description="A lake column of the resource.")
    op: FilterOperator = FilterOperator.EQ
    value: str | int | float | list[str | int | float] = Field(
        description="The value (a list for 'in'); compared as the column's type."
    )

    @field_validator("column")
    @classmethod
    def _column(cls, value: str) -> str:
        if not COLUMN_NAME.match(value):
            raise ValueError("a column name has letters, digits and '_' only")
        return value


class ServicePublic(BaseModel):
    id: int
    code: str = Field(description="Service code: <resource code>.<kind>, e.g. GA-0001.verify.")
    resource_code: str
    resource_name: str
    department_code: str
    kind: ServiceKind
    share_type: ShareType
    title: str
    description: str
    key_columns: list[str] = Field(description="Fields a query or verification looks up by.")
    columns: list[str] = Field(description="Fields a grant may include.")
    status: ServiceStatus
    published_at: datetime
    openapi_path: str = Field(description="The call's path in the OpenAPI description.")


class PublishRequest(BaseModel):
    """How a resource's query and verification services look rows up."""

    lookup: list[str] | None = Field(
        None,
        max_length=5,
        description="Fields consumers look rows up by (default: the catalog's key fields).",
    )


class ServiceList(BaseModel):
    data: list[ServicePublic]
    count: int


class ApplicationCreate(BaseModel):
    """A developer's application for a service (共享申请)."""

    service: str = Field(description="Service code, e.g. GA-0001.verify.")
    app_id: int = Field(
        ge=1, le=2**31 - 1, description="The consuming app that will call the service."
    )
    columns: list[str] = Field(min_length=1, description="The fields wanted.")
    purpose: str = Field(min_length=2, max_length=500, description="What the data is used for.")
    legal_basis: str = Field(min_length=2, max_length=500, description="Law or document.")
    scenario: str = Field("", max_length=1000, description="The business scenario (应用场景).")
    expected_daily_calls: int = Field(1000, ge=1, le=100_000_000)
    valid_until: datetime = Field(description="When the grant should end.")
    row_filter: list[Condition] = Field(default_factory=list, max_length=20)
    masking_profile: MaskingProfile = MaskingProfile.STANDARD

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str]) -> list[str]:
        for column in value:
            if not COLUMN_NAME.match(column):
                raise ValueError(f"{column!r} is not a column name")
        return list(dict.fromkeys(value))


class ApplicationReply(BaseModel):
    """The applicant's answer to a request for more information."""

    note: str = Field(min_length=2, max_length=2000)


class ApprovalDecision(BaseModel):
    """The owner department approver's decision."""

    action: ApprovalAction
    reason: str = Field("", max_length=2000, description="Required to refuse or to ask.")
    daily_quota: int | None = Field(None, ge=1, le=100_000_000)
    masking_profile: MaskingProfile | None = Field(
        None, description="Override the requested profile (approvers may only tighten it)."
    )


class ApplicationEventPublic(BaseModel):
    at: datetime
    actor: str
    action: str
    state_from: str
    state_to: str
    note: str


class ApplicationPublic(BaseModel):
    id: int
    number: str
    service: str
    resource_code: str
    kind: ServiceKind
    app_id: int
    app_name: str
    consumer_department: str
    owner_department: str
    applicant: str
    columns: list[str]
    purpose: str
    legal_basis: str
    scenario: str
    expected_daily_calls: int
    valid_until: datetime
    row_filter: list[Condition]
    masking_profile: MaskingProfile
    state: ApplicationState
    deadline: datetime | None
    overdue: bool
    due_soon: bool = Field(description="Due within one working day (shown yellow).")
    escalated_at: datetime | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str
    response_hours: float | None = Field(description="Hours from application to decision.")
    grant_id: int | None
    events: list[ApplicationEventPublic] = Field(default_factory=list)


class ApplicationList(BaseModel):
    data: list[ApplicationPublic]
    count: int


class GrantPublic(BaseModel):
    id: int
    app_id: int
    app_name: str
    consumer_department: str
    service: str
    resource_code: str
    kind: ServiceKind
    columns: list[str]
    row_filter: list[Condition]
    purpose: str
    masking_profile: MaskingProfile
    daily_quota: int
    rate_per_second: int
    expires_at: datetime
    application_number: str | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str
    active: bool


class GrantList(BaseModel):
    data: list[GrantPublic]
    count: int


class RevokeRequest(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


class QueryRequest(BaseModel):
    """Look rows up by the service's key fields."""

    key: dict[str, str] = Field(description="A value for every key field of the service.")
    purpose: str = Field("", max_length=200, description="Why this call (recorded).")


class QueryResponse(BaseModel):
    request_id: str
    service: str
    version: int = Field(description="The lake version answered from.")
    columns: list[str]
    rows: list[dict[str, Any]]
    count: int


class VerifyRequest(BaseModel):
    """Does this key hold these values? Only match / no match per field is answered."""

    key: dict[str, str] = Field(description="A value for every key field of the service.")
    claims: dict[str, str] = Field(min_length=1, description="Field → claimed value.")
    purpose: str = Field("", max_length=200, description="Why this call (recorded).")


class FieldVerdict(LabelledEnum):
    MATCH = "match", "一致"
    MISMATCH = "mismatch", "不一致"
    EMPTY = "empty", "库中为空"


class VerifyResponse(BaseModel):
    request_id: str
    service: str
    version: int
    found: bool = Field(description="Whether a record with this key exists.")
    match: bool = Field(description="Found, and every claimed field matches.")
    fields: dict[str, FieldVerdict] = Field(description="Per claimed field (empty if not found).")


class UsageRow(BaseModel):
    day: str
    service: str
    kind: ServiceKind
    app_id: int
    app_name: str
    consumer_department: str
    calls: int
    errors: int
    denied: int
    rows: int
    p50_ms: float | None
    p99_ms: float | None


class UsageReport(BaseModel):
    data: list[UsageRow]
    count: int
    calls_today: int = Field(description="Queries and verifications today (Beijing day).")
    daily_target: int = Field(description="The plan's daily indicator (settings).")


class SubscriptionStatus(LabelledEnum):
    ACTIVE = "active", "正常"
    FAILED = "failed", "推送失败"
    ENDED = "ended", "授权已终止"


class DeliveryState(LabelledEnum):
    PENDING = "pending", "待投递"
    DELIVERED = "delivered", "已投递"
    FAILED = "failed", "投递失败"
    DROPPED = "dropped", "已放弃"  # the consumer subscribed again and starts afresh


class SubscriptionCreate(BaseModel):
    grant_id: int = Field(ge=1, le=2**31 - 1)
    endpoint: str | None = Field(
        None, max_length=500, description="http(s) URL to push to; empty: the consumer pulls."
    )
    from_start: bool = Field(
        False, description="Deliver every row of the first version too (default: from now on)."
    )


class SubscriptionPublic(BaseModel):
    id: int
    grant_id: int
    service: str
    app_id: int
    mode: str = Field(description="push (to the endpoint) or pull (the consumer fetches).")
    endpoint: str | None
    delivered_version: int | None = Field(description="The lake version the consumer has.")
    status: SubscriptionStatus
    failures: int = Field(description="Failed pushes in a row.")
    next_attempt_at: datetime | None
    last_error: str
    pending: int = Field(description="Deliveries not delivered yet.")
    created_at: datetime
    updated_at: datetime


class SubscriptionList(BaseModel):
    data: list[SubscriptionPublic]
    count: int


class DeliveryPublic(BaseModel):
    id: int
    subscription_id: int
    from_version: int | None
    to_version: int
    rows: int
    pages: int
    state: DeliveryState
    attempts: int
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    data: list[DeliveryPublic]
    count: int


class DeliveryPage(BaseModel):
    """One page of a delivery: what a push sends as its body and a fetch returns."""

    subscription: int
    delivery: int
    service: str
    from_version: int | None
    to_version: int
    page: int
    pages: int
    columns: list[str]
    rows: list[dict[str, Any]]
