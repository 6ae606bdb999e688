"""Applications for shared data (共享申请) and their approval within a working-day deadline.

States::

    (unconditional resource) ──────────────────────────→ approved (a grant at once, recorded)
    (conditional resource) → pending ─approve─→ approved (a grant)
                               │ └────refuse──→ refused (a reason is required)
                               └─ask──→ more_info ─applicant replies─→ pending (a new deadline)

The owner department's approvers decide within ``settings.exchange_approval_days`` working days
(Chinese holiday calendar). A pending application past its deadline is escalated to the
big-data bureau (``escalate_overdue``, a periodic job), whose approvers may then decide it.
Every step is an ``exchange_application_event`` row and an audit entry.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import OpenType, ShareType
from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity.models import App
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import get_app, require
from rongshu.core.settings import Settings
from rongshu.core.workdays import BEIJING, add_working_days, deadline
from rongshu.exchange import grants
from rongshu.exchange.filters import RowFilter
from rongshu.exchange.models import ExchangeApplication, ExchangeApplicationEvent
from rongshu.exchange.schemas import (
    ApplicationCreate,
    ApplicationEventPublic,
    ApplicationList,
    ApplicationPublic,
    ApplicationReply,
    ApplicationState,
    ApprovalAction,
    ApprovalDecision,
    Condition,
    ServiceKind,
    ServiceStatus,
)
from rongshu.exchange.services import get_service_row
from rongshu.lake.tables import Lake
from rongshu.security.schemas import MaskingProfile

State = ApplicationState
#: How far ahead a grant may run (a longer need is a new application).
MAX_VALIDITY = timedelta(days=3 * 366)
#: Profiles from most to least revealing; an approver may only move an application right.
PROFILE_STRICTNESS = (
    MaskingProfile.CLEAR,
    MaskingProfile.STANDARD,
    MaskingProfile.ANALYTICS,
    MaskingProfile.STRICT,
)


def _event(
    application: ExchangeApplication, actor: Actor, action: str, before: str, note: str = ""
) -> None:
    application.events.append(
        ExchangeApplicationEvent(
            actor=actor.name,
            action=action,
            state_from=before,
            state_to=application.state,
            note=note,
        )
    )


def _check_filter(settings: Settings, resource_code: str, conditions: list[Condition]) -> None:
    """Refuse a row filter naming unknown columns or values of the wrong type (422)."""
    if not conditions:
        return
    table = Lake.from_settings(settings).table(resource_code)
    if table.version() is None:
        raise ValidationFailed(
            f"resource {resource_code} has no data yet, so a row filter cannot be checked",
            details=[{"field": "row_filter", "reason": "no_data"}],
        )
    RowFilter(conditions, table.schema())


def apply(
    session: Session,
    *,
    data: ApplicationCreate,
    actor: Actor,
    ledger: AuditLedger,
    settings: Settings,
) -> ApplicationPublic:
    """A developer applies for a service for one of their department's apps."""
    service = get_service_row(session, data.service)
    open_data = service.kind == ServiceKind.OPEN_DATA.value
    # Departments' developers apply for sharing services; the public for open-data ones.
    permission = Permission.USE_OPEN_DATA if open_data else Permission.USE_SERVICES
    require(actor, permission, ledger, object_=f"service:{data.service}")
    if service.status != ServiceStatus.PUBLISHED.value:
        raise Conflict(f"service {service.code} is withdrawn")
    resource = catalog.published_resource(session, service.resource_code)
    if resource is None:
        raise Conflict(f"resource {service.resource_code} is not in the published catalog")
    if open_data:
        unconditional = resource.open_type is OpenType.UNCONDITIONAL
        if resource.open_type is OpenType.NONE:
            raise Conflict(f"resource {service.resource_code} is not opened")
    else:
        unconditional = resource.share_type is ShareType.UNCONDITIONAL
        if resource.share_type is ShareType.NONE:
            raise Conflict(f"resource {service.resource_code} is not shared")
    app = get_app(session, data.app_id)
    if actor.kind != "system" and app.department.code != actor.department:
        ledger.append(actor.audit("exchange.apply", f"app:{app.id}", outcome="denied"))
        raise PermissionDenied("apply for your own department's apps only")
    grants.check_columns(service, data.columns)
    if ServiceKind(service.kind) in (ServiceKind.BATCH, ServiceKind.SUBSCRIPTION):
        # Batch files are watermarked on the keys; subscriptions tell updates apart by them.
        missing = [k for k in service.key_columns if k not in data.columns]
        if missing:
            raise ValidationFailed(
                f"a {service.kind} grant must include the key fields: " + ", ".join(missing),
                details=[{"field": "columns", "reason": "key_missing", "columns": missing}],
            )
    now = utcnow()
    valid_until = data.valid_until
    if valid_until.tzinfo is None:
        valid_until = valid_until.replace(tzinfo=BEIJING)
    if not now < valid_until <= now + MAX_VALIDITY:
        raise ValidationFailed(
            "valid_until must be in the future and at most three years away",
            details=[{"field": "valid_until", "reason": "out_of_range"}],
        )
    _check_filter(settings, service.resource_code, data.row_filter)
    application = ExchangeApplication(
        number=f"pending-{secrets.token_hex(8)}",
        service=service,
        app=app,
        applicant=actor.name,
        consumer_department=app.department.code,
        owner_department=resource.department_code,
        columns=data.columns,
        purpose=data.purpose,
        legal_basis=data.legal_basis,
        scenario=data.scenario,
        expected_daily_calls=data.expected_daily_calls,
        valid_until=valid_until,
        row_filter=[c.model_dump(mode="json") for c in data.row_filter],
        masking_profile=data.masking_profile.value,
        state=State.PENDING.value,
        created_at=now,
    )
    session.add(application)
    session.flush()
    application.number = f"SQ{now.astimezone(BEIJING):%Y%m%d}{application.id:06d}"
    _event(application, actor, "submit", "")
    audit_on_commit(
        session,
        ledger,
        actor.audit(
            "exchange.application.submit",
            f"application:{application.number}:{service.code}",
            purpose=data.purpose,
        ),
    )
    if unconditional:
        note = "无条件开放，自动批准" if open_data else "无条件共享，自动批准"
        _approve(session, application, actor, ledger, settings, note=note)
    else:
        application.deadline = deadline(now, settings.exchange_approval_days)
    session.flush()
    return application_public(application)


def _approve(
    session: Session,
    application: ExchangeApplication,
    actor: Actor,
    ledger: AuditLedger,
    settings: Settings,
    *,
    note: str = "",
    daily_quota: int | None = None,
    profile: MaskingProfile | None = None,
) -> None:
    before = application.state
    grant = grants.create_grant(
        session,
        app=application.app,
        service=application.service,
        columns=application.columns,
        conditions=[Condition.model_validate(c) for c in application.row_filter],
        purpose=application.purpose,
        profile=profile or MaskingProfile(application.masking_profile),
        daily_quota=daily_quota or application.expected_daily_calls,
        rate_per_second=settings.exchange_rate_per_second,
        expires_at=application.valid_until,
        actor=actor,
        ledger=ledger,
        application=application,
    )
    application.state = State.APPROVED.value
    application.grant_id = grant.id
    application.decided_at, application.decided_by = utcnow(), actor.name
    application.decision_reason = note
    if profile is not None:
        application.masking_profile = profile.value
    _event(application, actor, "approve", before, note)


def may_decide(actor: Actor, *, owner_department: str, escalated: bool, bureau: str) -> bool:
    """The owner department's approvers decide; the bureau's too, once it is escalated."""
    if actor.kind == "system":
        return True
    if not actor.can(Permission.APPROVE_APPLICATIONS):
        return False
    if actor.department == owner_department:
        return True
    return actor.department == bureau and escalated


def decide(
    session: Session,
    *,
    number: str,
    decision: ApprovalDecision,
    actor: Actor,
    ledger: AuditLedger,
    settings: Settings,
) -> ApplicationPublic:
    """Approve (a grant is made), refuse (with a reason) or ask for more information."""
    application = _application(session, number)
    if not may_decide(
        actor,
        owner_department=application.owner_department,
        escalated=application.escalated_at is not None,
        bureau=settings.bureau_department,
    ):
        ledger.append(
            actor.audit("exchange.application.decide", f"application:{number}", outcome="denied")
        )
        raise PermissionDenied("only the owner department's approvers decide this application")
    if application.state != State.PENDING.value:
        raise Conflict(
            f"application {number} is {State(application.state).label}, not awaiting a decision"
        )
    reason = decision.reason.strip()
    if decision.action is not ApprovalAction.APPROVE and not reason:
        raise ValidationFailed(
            f"to {decision.action.value} an application, say why",
            details=[{"field": "reason", "reason": "required"}],
        )
    requested = MaskingProfile(application.masking_profile)
    profile = decision.masking_profile
    if profile is not None and PROFILE_STRICTNESS.index(profile) < PROFILE_STRICTNESS.index(
        requested
    ):
        raise ValidationFailed(
            f"an approver may tighten masking, not loosen it ({requested.value} was requested)",
            details=[{"field": "masking_profile", "reason": "looser"}],
        )
    before = application.state
    if decision.action is ApprovalAction.APPROVE:
        _approve(
            session,
            application,
            actor,
            ledger,
            settings,
            note=reason,
            daily_quota=decision.daily_quota,
            profile=profile,
        )
    elif decision.action is ApprovalAction.REFUSE:
        application.state = State.REFUSED.value
        application.decided_at, application.decided_by = utcnow(), actor.name
        application.decision_reason = reason
        _event(application, actor, "refuse", before, reason)
    else:
        application.state = State.MORE_INFO.value
        application.deadline = None
        _event(application, actor, "ask", before, reason)
    audit_on_commit(
        session,
        ledger,
        actor.audit(
            f"exchange.application.{decision.action.value}",
            f"application:{number}",
            purpose=reason,
        ),
    )
    session.flush()
    return application_public(application)


def reply(
    session: Session,
    *,
    number: str,
    answer: ApplicationReply,
    actor: Actor,
    ledger: AuditLedger,
    settings: Settings,
) -> ApplicationPublic:
    """The applicant's department answers a request for more information: pending again."""
    application = _application(session, number)
    if actor.kind != "system" and actor.department != application.consumer_department:
        raise PermissionDenied("only the applying department answers for its application")
    if application.state != State.MORE_INFO.value:
        raise Conflict(f"application {number} is not waiting for more information")
    before = application.state
    application.state = State.PENDING.value
    application.deadline = deadline(utcnow(), settings.exchange_approval_days)
    application.escalated_at = None
    _event(application, actor, "reply", before, answer.note)
    audit_on_commit(
        session, ledger, actor.audit("exchange.application.reply", f"application:{number}")
    )
    session.flush()
    return application_public(application)


def escalate_overdue(
    session: Session, *, ledger: AuditLedger, actor: Actor, now: datetime | None = None
) -> list[str]:
    """Escalate every pending application past its deadline to the bureau; returns numbers."""
    now = now or utcnow()
    overdue = list(
        session.scalars(
            select(ExchangeApplication).where(
                ExchangeApplication.state == State.PENDING.value,
                ExchangeApplication.deadline < now,
                ExchangeApplication.escalated_at.is_(None),
            )
        )
    )
    for application in overdue:
        application.escalated_at = now
        note = f"逾期未审批，已提请大数据局督办 (due {application.deadline:%Y-%m-%d %H:%M} UTC)"
        _event(application, actor, "escalate", application.state, note)
        audit_on_commit(
            session,
            ledger,
            actor.audit("exchange.application.escalate", f"application:{application.number}"),
        )
    session.flush()
    return [a.number for a in overdue]


def _application(session: Session, number: str) -> ExchangeApplication:
    found = session.scalar(select(ExchangeApplication).where(ExchangeApplication.number == number))
    if found is None:
        raise NotFound(f"no application {number}")
    return found


def _may_see(actor: Actor, application: ExchangeApplication, bureau: str) -> bool:
    parties = (application.consumer_department, application.owner_department)
    return grants.may_see(actor, app_id=application.app_id, parties=parties, bureau=bureau)


def get_application(
    session: Session, *, number: str, actor: Actor, bureau: str
) -> ApplicationPublic:
    application = _application(session, number)
    if not _may_see(actor, application, bureau):
        raise NotFound(f"no application {number}")
    return application_public(application, with_events=True)


def list_applications(
    session: Session,
    *,
    actor: Actor,
    bureau: str,
    box: str = "all",
    state: ApplicationState | None = None,
    limit: int = 200,
) -> ApplicationList:
    """``inbox``: what the actor's department must decide (the bureau's: escalated ones);
    ``mine``: what the actor's department applied for; ``all``: everything the actor may see."""
    query = select(ExchangeApplication).order_by(ExchangeApplication.id.desc())
    if state is not None:
        query = query.where(ExchangeApplication.state == state.value)
    if box == "inbox":
        query = query.where(ExchangeApplication.state == State.PENDING.value)
        if actor.department == bureau:
            query = query.where(
                (ExchangeApplication.owner_department == bureau)
                | ExchangeApplication.escalated_at.is_not(None)
            )
        elif actor.kind != "system":
            query = query.where(ExchangeApplication.owner_department == actor.department)
        query = query.order_by(None).order_by(ExchangeApplication.deadline)
    elif box == "mine" and actor.kind != "system":
        query = query.where(ExchangeApplication.consumer_department == actor.department)
    rows = [a for a in session.scalars(query.limit(limit)) if _may_see(actor, a, bureau)]
    return ApplicationList(data=[application_public(a) for a in rows], count=len(rows))


def application_public(
    application: ExchangeApplication, *, with_events: bool = False
) -> ApplicationPublic:
    now = utcnow()
    pending = application.state == State.PENDING.value
    due = application.deadline
    overdue = bool(pending and due is not None and due < now)
    due_soon = False
    if pending and due is not None and not overdue:
        # Yellow: the deadline falls before the end of the next working day.
        tomorrow = add_working_days(now.astimezone(BEIJING).date(), 1)
        due_soon = due.astimezone(BEIJING).date() <= tomorrow + timedelta(days=1)
    hours = None
    if application.decided_at is not None:
        hours = round((application.decided_at - application.created_at).total_seconds() / 3600, 2)
    app: App = application.app
    return ApplicationPublic(
        id=application.id,
        number=application.number,
        service=application.service.code,
        resource_code=application.service.resource_code,
        kind=ServiceKind(application.service.kind),
        app_id=app.id,
        app_name=app.name,
        consumer_department=application.consumer_department,
        owner_department=application.owner_department,
        applicant=application.applicant,
        columns=list(application.columns),
        purpose=application.purpose,
        legal_basis=application.legal_basis,
        scenario=application.scenario,
        expected_daily_calls=application.expected_daily_calls,
        valid_until=application.valid_until,
        row_filter=[Condition.model_validate(c) for c in application.row_filter],
        masking_profile=MaskingProfile(application.masking_profile),
        state=State(application.state),
        deadline=due,
        overdue=overdue,
        due_soon=due_soon,
        escalated_at=application.escalated_at,
        created_at=application.created_at,
        decided_at=application.decided_at,
        decided_by=application.decided_by,
        decision_reason=application.decision_reason,
        response_hours=hours,
        grant_id=application.grant_id,
        events=[
            ApplicationEventPublic(
                at=e.at,
                actor=e.actor,
                action=e.action,
                state_from=e.state_from,
                state_to=e.state_to,
                note=e.note,
            )
            for e in application.events
        ]
        if with_events
        else [],
    )
