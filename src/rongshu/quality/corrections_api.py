"""JSON API of corrections (纠错) and data-subject objections (数据主体查询核实).

``/quality/corrections``: stewards and approvers list and read their department's tickets,
stewards acknowledge, fix and dispute them, the bureau decides disputes and lists escalations
(``rongshu.quality.corrections``). ``/quality/objections``: citizens, without a console
account, prove who they are by a one-time code, read their own rows, dispute a field and follow
the ticket; the session token goes in the ``X-Objection-Token`` header
(``rongshu.quality.objections``). Stewards switch subject access of their resources there too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, status
from fastapi.concurrency import run_in_threadpool

from rongshu.core.platform import Platform
from rongshu.ingest import access
from rongshu.quality import corrections, objections
from rongshu.quality.correction_schemas import (
    ChallengeSent,
    DecisionIn,
    EscalationReport,
    ObjectionDispute,
    ObjectionSession,
    ObjectionStart,
    ObjectionTicket,
    ObjectionVerify,
    SubjectAccessIn,
    SubjectAccessPublic,
    SubjectRecordList,
    TicketAction,
    TicketKind,
    TicketList,
    TicketPublic,
    TicketState,
    TransitionIn,
)
from rongshu.web.deps import ActorDep, PlatformDep, SessionDep

router = APIRouter(prefix="/quality", tags=["quality corrections"])

Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=200)]
Token = Annotated[str, Header(alias="X-Objection-Token", min_length=8, max_length=200)]


# -- corrections ---------------------------------------------------------------------------


@router.get("/corrections", response_model=TicketList, summary="Correction tickets, newest first")
def list_tickets(
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    department: str | None = Query(None, description="Department code (the bureau)."),
    resource: str | None = Query(None, description="Resource code."),
    state: TicketState | None = Query(None),
    kind: TicketKind | None = Query(None),
    overdue: bool = Query(False, description="Only tickets past their deadline."),
    escalated: bool = Query(False, description="Only escalated tickets still to act on."),
    offset: Offset = 0,
    limit: Limit = 50,
) -> TicketList:
    data, count = corrections.list_tickets(
        session,
        actor=actor,
        ledger=platform.ledger,
        bureau=platform.settings.bureau_department,
        department=department,
        resource_code=resource,
        state=state,
        kind=kind,
        overdue=overdue,
        escalated=escalated,
        offset=offset,
        limit=limit,
    )
    return TicketList(data=data, count=count)


@router.get("/corrections/{number}", response_model=TicketPublic, summary="One ticket and history")
def show_ticket(
    number: str, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> TicketPublic:
    return corrections.get_ticket(
        session,
        number=number,
        actor=actor,
        ledger=platform.ledger,
        bureau=platform.settings.bureau_department,
    )


@router.post(
    "/corrections/{number}/transitions",
    response_model=TicketPublic,
    summary="Acknowledge, fix (the data was reloaded) or dispute a ticket (its stewards)",
)
def transition(
    number: str, data: TransitionIn, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> TicketPublic:
    return corrections.transition(
        session,
        number=number,
        action=data.action,
        note=data.note,
        actor=actor,
        ledger=platform.ledger,
        settings=platform.settings,
    )


@router.post(
    "/corrections/{number}/decision",
    response_model=TicketPublic,
    summary="Decide a disputed ticket: uphold (dismiss it) or reject (reopen it) (the bureau)",
)
def decide(
    number: str, data: DecisionIn, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> TicketPublic:
    return corrections.transition(
        session,
        number=number,
        action=TicketAction.UPHOLD if data.uphold else TicketAction.REJECT,
        note=data.note,
        actor=actor,
        ledger=platform.ledger,
        settings=platform.settings,
    )


@router.post(
    "/corrections/escalate",
    response_model=EscalationReport,
    summary="Escalate overdue tickets now (what the daily quality.escalate job does; platform)",
)
def escalate(session: SessionDep, actor: ActorDep, platform: PlatformDep) -> EscalationReport:
    access.require(
        access.operates(actor),
        actor,
        platform.ledger,
        action="quality.ticket.escalate",
        object_="quality.corrections",
        message="only platform admins escalate by hand; the daily job does it otherwise",
    )
    return EscalationReport(escalated=corrections.escalate_overdue(session, ledger=platform.ledger))


# -- objections ----------------------------------------------------------------------------


@router.put(
    "/objections/resources/{code}",
    response_model=SubjectAccessPublic,
    summary="Let a resource's data subjects see and dispute their rows (its stewards)",
)
def set_subject_access(
    code: str, data: SubjectAccessIn, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> SubjectAccessPublic:
    return objections.set_subject_access(
        session, resource_code=code, data=data, actor=actor, platform=platform
    )


@router.post(
    "/objections/start",
    response_model=ChallengeSent,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a one-time code to the phone on record for an ID number and name",
)
async def start(data: ObjectionStart, platform: PlatformDep) -> ChallengeSent:
    return await run_in_threadpool(
        objections.start, platform, id_number=data.id_number, name=data.name
    )


@router.post(
    "/objections/verify",
    response_model=ObjectionSession,
    summary="Exchange the code for a short session token",
)
def verify(data: ObjectionVerify, platform: PlatformDep) -> ObjectionSession:
    return objections.verify(platform, challenge_id=data.challenge_id, code=data.code)


def _subject(platform: Platform, token: str) -> objections.Subject:
    return objections.subject_of(platform, token)


@router.get(
    "/objections/records",
    response_model=SubjectRecordList,
    summary="The rows held about the caller in resources that allow it",
)
async def records(platform: PlatformDep, token: Token) -> SubjectRecordList:
    subject = _subject(platform, token)
    return await run_in_threadpool(objections.records, platform, subject)


@router.post(
    "/objections/disputes",
    response_model=ObjectionTicket,
    status_code=status.HTTP_201_CREATED,
    summary="Dispute one field of one of the caller's rows: a correction ticket",
)
async def dispute(data: ObjectionDispute, platform: PlatformDep, token: Token) -> ObjectionTicket:
    subject = _subject(platform, token)
    return await run_in_threadpool(objections.dispute, platform, subject, data)


@router.get(
    "/objections/tickets/{number}",
    response_model=ObjectionTicket,
    summary="The state of one of the caller's objections",
)
def objection_ticket(number: str, platform: PlatformDep, token: Token) -> ObjectionTicket:
    return objections.ticket_status(platform, _subject(platform, token), number)
