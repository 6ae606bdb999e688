"""In/out shapes of corrections (纠错) and data-subject objections (数据主体查询核实)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from rongshu.catalog.schemas import LabelledEnum
from rongshu.quality.schemas import Severity


class TicketKind(LabelledEnum):
    RULE = "rule", "规则发现"
    OBJECTION = "objection", "数据主体异议"


class TicketState(LabelledEnum):
    OPEN = "open", "待处理"
    ACKNOWLEDGED = "acknowledged", "已确认"
    FIXED = "fixed", "已整改待核验"
    DISPUTED = "disputed", "申诉中"
    CLOSED = "closed", "已关闭"


#: States in which a ticket is still someone's work (not closed).
ACTIVE_STATES: frozenset[TicketState] = frozenset(set(TicketState) - {TicketState.CLOSED})
#: States in which the owner department is the one to act (what can become overdue).
DEPARTMENT_STATES: frozenset[TicketState] = frozenset({TicketState.OPEN, TicketState.ACKNOWLEDGED})


class Resolution(LabelledEnum):
    NONE = "", ""
    VERIFIED = "verified", "核验通过"
    DISMISSED = "dismissed", "申诉成立，撤销"


class TicketAction(LabelledEnum):
    """What moves a ticket; the steward's and the bureau's are the ones people ask for."""

    OPEN = "open", "开单"
    UPDATE = "update", "更新问题数据"
    ACKNOWLEDGE = "acknowledge", "确认"
    FIX = "fix", "已整改"
    DISPUTE = "dispute", "申诉"
    UPHOLD = "uphold", "申诉成立"
    REJECT = "reject", "驳回申诉"
    VERIFY = "verify", "核验通过"
    REOPEN = "reopen", "核验未通过，重新打开"
    ESCALATE = "escalate", "逾期督办"


#: The actions people ask for, and who may: the owner department's stewards, or the bureau.
STEWARD_ACTIONS: frozenset[TicketAction] = frozenset(
    {TicketAction.ACKNOWLEDGE, TicketAction.FIX, TicketAction.DISPUTE}
)
BUREAU_ACTIONS: frozenset[TicketAction] = frozenset({TicketAction.UPHOLD, TicketAction.REJECT})


class TicketEvent(BaseModel):
    at: datetime
    actor: str
    action: TicketAction
    from_state: TicketState | None
    to_state: TicketState
    note: str


class TicketPublic(BaseModel):
    number: str = Field(description="The ticket's number, e.g. JC20261130A1B2C3.")
    kind: TicketKind
    resource_code: str
    department_code: str
    rule_id: int | None
    rule_kind: str = Field(description="Kind of the rule that found the rows ('' for objections).")
    field: str | None
    severity: Severity
    state: TicketState
    resolution: Resolution
    failing: int = Field(description="Rows the ticket covers that fail (1 for an objection).")
    sample_keys: list[str] = Field(description="Keys (JSON) of a few of those rows.")
    run_id: int | None = Field(description="The run whose failing rows the ticket covers.")
    note: str
    opened_by: str
    opened_at: datetime
    deadline: datetime
    overdue: bool = Field(description="Past its deadline while the department has to act.")
    escalated_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    events: list[TicketEvent] = Field(default_factory=list)


class TicketList(BaseModel):
    data: list[TicketPublic]
    count: int = Field(description="Tickets matching the filters in all (the page holds fewer).")


class TransitionIn(BaseModel):
    """A steward's step: acknowledge, fix (the data was reloaded) or dispute (with a reason)."""

    action: TicketAction
    note: str = Field("", max_length=2000, description="Why; required to dispute.")


class DecisionIn(BaseModel):
    """The bureau's decision on a disputed ticket."""

    uphold: bool = Field(description="True: the dispute stands, the ticket is dismissed.")
    note: str = Field("", max_length=2000, description="Why (required; kept in the history).")


class EscalationReport(BaseModel):
    escalated: list[str] = Field(description="Numbers of the tickets escalated now.")


# -- objections ----------------------------------------------------------------------------


class SubjectAccessIn(BaseModel):
    """Let the data subjects of a resource see and dispute their own rows (its stewards)."""

    id_field: str = Field(min_length=1, max_length=100, description="Column of ID numbers.")
    name_field: str = Field(min_length=1, max_length=100, description="Column of names.")
    phone_field: str = Field(min_length=1, max_length=100, description="Column of phones.")
    enabled: bool = True


class SubjectAccessPublic(SubjectAccessIn):
    resource_code: str
    updated_by: str
    updated_at: datetime


class ObjectionStart(BaseModel):
    id_number: str = Field(min_length=15, max_length=18, description="公民身份号码.")
    name: str = Field(min_length=1, max_length=50, description="姓名.")


class ChallengeSent(BaseModel):
    """The same answer whether or not the person was found, so nobody learns who is held."""

    challenge_id: str
    expires_at: datetime
    message: str = "如信息匹配，验证码已发送至登记的手机号 (a code was sent if the details match)"


class ObjectionVerify(BaseModel):
    challenge_id: str = Field(min_length=1, max_length=48)
    code: str = Field(min_length=1, max_length=12)


class ObjectionSession(BaseModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'.")
    expires_at: datetime


class SubjectRow(BaseModel):
    """One row held about the subject: its key and every field's value, as text."""

    row_key: str
    values: dict[str, Any]


class SubjectRecords(BaseModel):
    resource_code: str
    resource_name: str
    department_code: str
    fields: dict[str, str] = Field(description="Column → Chinese name of the field.")
    rows: list[SubjectRow]


class SubjectRecordList(BaseModel):
    data: list[SubjectRecords]


class ObjectionDispute(BaseModel):
    resource_code: str = Field(min_length=1, max_length=64)
    row_key: str = Field(min_length=2, max_length=2000, description="As in the records.")
    field: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=2, max_length=2000, description="What is wrong, and why.")


class ObjectionTicket(BaseModel):
    """What a data subject sees of their objection's ticket."""

    number: str
    resource_code: str
    field: str | None
    state: TicketState
    resolution: Resolution
    opened_at: datetime
    deadline: datetime
    closed_at: datetime | None
    events: list[TicketEvent]
