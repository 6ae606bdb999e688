"""Corrections (纠错): problem data sent back to the department that owns it, fixed, verified.

After each succeeded run (``rongshu.quality.service.AFTER_RUN``) the failing rows of every rule
whose severity is in ``settings.quality_ticket_severities`` are grouped into one ticket per
(resource, rule) for the resource's department, due ``settings.quality_correction_days``
working days later (``rongshu.core.workdays``). A rule that still fails while its ticket is
being worked on updates that ticket; it never opens a second one.

States::

    open → acknowledged → fixed ──(next run: none of its rows fail)──→ closed (verified)
      │         │           └────(next run: some still fail)───────→ open
      └─────────┴→ disputed ──(bureau upholds)──→ closed (dismissed)
                           └──(bureau rejects)──→ open (a new deadline)

A run also closes an open or acknowledged ticket none of whose rows fail any more. The rows a
ticket covers are the failing rows of its rule in the ticket's run, compared in the lake engine
(``failures.rule_keys``), so nothing is copied out of the lake but a sample of keys. Stewards
of the owner department act on its tickets; the bureau's approvers
(``settings.bureau_department``) and the platform decide disputes. Every step is a
``quality_ticket_event`` row and an audit entry.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import newest_page, utcnow
from rongshu.core.errors import Conflict, NotFound, ValidationFailed
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.core.workdays import BEIJING, deadline
from rongshu.ingest import access
from rongshu.lake.tables import Lake
from rongshu.quality.correction_schemas import (
    ACTIVE_STATES,
    BUREAU_ACTIONS,
    DEPARTMENT_STATES,
    STEWARD_ACTIONS,
    Resolution,
    TicketAction,
    TicketEvent,
    TicketKind,
    TicketPublic,
    TicketState,
)
from rongshu.quality.failures import RuleKeys, rule_keys
from rongshu.quality.models import QualityTicket, QualityTicketEvent
from rongshu.quality.schemas import RuleResult, RunPublic, Severity
from rongshu.quality.service import AFTER_RUN

log = logging.getLogger("rongshu.quality.corrections")

#: Keys of failing rows a ticket shows (the rest are in the run's failures table).
SAMPLE_KEYS = 20

#: action → (states it may start from, state it leads to) for the steps people ask for.
MOVES: dict[TicketAction, tuple[frozenset[TicketState], TicketState]] = {
    TicketAction.ACKNOWLEDGE: (frozenset({TicketState.OPEN}), TicketState.ACKNOWLEDGED),
    TicketAction.FIX: (DEPARTMENT_STATES, TicketState.FIXED),
    TicketAction.DISPUTE: (DEPARTMENT_STATES, TicketState.DISPUTED),
    TicketAction.UPHOLD: (frozenset({TicketState.DISPUTED}), TicketState.CLOSED),
    TicketAction.REJECT: (frozenset({TicketState.DISPUTED}), TicketState.OPEN),
}
#: Steps that must say why: a dispute, and the bureau's decision on it.
REASONED_ACTIONS = frozenset({TicketAction.DISPUTE, TicketAction.UPHOLD, TicketAction.REJECT})


# -- who may do what -----------------------------------------------------------------------


def decides(actor: Actor, bureau: str) -> bool:
    """Whether ``actor`` decides disputes and sees every ticket: the bureau's approvers and
    whoever operates the platform."""
    return access.operates(actor) or (
        actor.department == bureau and actor.can(Permission.APPROVE_APPLICATIONS)
    )


def sees(actor: Actor, department: str, bureau: str) -> bool:
    """Whether ``actor`` sees ``department``'s tickets: its stewards and approvers, the bureau."""
    return decides(actor, bureau) or access.reads_rows(actor, department)


# -- opening, updating and verifying tickets after each run ---------------------------------


def new_number(now: datetime) -> str:
    """A ticket number: JC, the day opened (in Beijing), six random hex digits (not guessable)."""
    return f"JC{now.astimezone(BEIJING):%Y%m%d}{secrets.token_hex(3).upper()}"


def open_ticket(
    session: Session,
    *,
    kind: TicketKind,
    resource_code: str,
    department_code: str,
    severity: Severity,
    failing: int,
    sample_keys: Sequence[str],
    settings: Settings,
    ledger: AuditLedger,
    actor: Actor = SYSTEM,
    rule_id: int | None = None,
    rule_kind: str = "",
    field: str | None = None,
    run_id: int | None = None,
    note: str = "",
    subject_hash: str = "",
    value_hash: str = "",
    now: datetime | None = None,
) -> QualityTicket:
    """Open a ticket for ``department_code``, due in the configured working days."""
    now = now or utcnow()
    ticket = QualityTicket(
        number=new_number(now),
        kind=kind.value,
        resource_code=resource_code,
        department_code=department_code,
        rule_id=rule_id,
        rule_kind=rule_kind,
        field=field,
        severity=severity.value,
        state=TicketState.OPEN.value,
        resolution=Resolution.NONE.value,
        failing=failing,
        sample_keys=list(sample_keys)[:SAMPLE_KEYS],
        run_id=run_id,
        note=note,
        subject_hash=subject_hash,
        value_hash=value_hash,
        opened_by=actor.name[:64],
        opened_at=now,
        deadline=deadline(now, settings.quality_correction_days),
        updated_at=now,
    )
    session.add(ticket)
    _record(session, ledger, ticket, actor, TicketAction.OPEN, None, note, now)
    return ticket


def after_run(platform: Platform, run: RunPublic, *, now: datetime | None = None) -> None:
    """Open, update, verify or reopen the rule tickets of ``run``'s resource (a hook)."""
    severities = set(platform.settings.quality_ticket_severities)
    with platform.db.session_scope() as session:
        active = {
            t.rule_id: t
            for t in session.scalars(
                select(QualityTicket).where(
                    QualityTicket.resource_code == run.resource_code,
                    QualityTicket.kind == TicketKind.RULE.value,
                    QualityTicket.state.in_([s.value for s in ACTIVE_STATES]),
                )
            )
        }
        considered: list[tuple[RuleResult, QualityTicket | None]] = []
        for result in run.results:
            ticket = active.get(result.rule_id)
            if ticket is None and (result.severity.value not in severities or not result.failing):
                continue
            if ticket is not None and ticket.state == TicketState.DISPUTED.value:
                continue  # the bureau decides; a run changes nothing meanwhile
            considered.append((result, ticket))
        found = _rule_keys(platform, run, considered)
        for result, ticket in considered:
            keys = found.get(result.rule_id, _NO_KEYS)
            if result.field is None:  # a resource-level rule: failing or not, no rows
                keys = RuleKeys(1 if result.failing else 0, [], None)
            if ticket is None:
                _open_for(session, platform, run, result, keys.sample, now)
                continue
            remaining = keys.count if keys.still_failing is None else keys.still_failing
            if not remaining:
                _verify(session, platform.ledger, ticket, run, now)
                if keys.count and result.severity.value in severities:
                    _open_for(session, platform, run, result, keys.sample, now)
            elif ticket.state == TicketState.FIXED.value:
                _reopen(session, platform.ledger, ticket, run, keys.sample, remaining, now)
            else:
                _refresh(session, platform.ledger, ticket, run, result, keys.sample, now)


_NO_KEYS = RuleKeys(0, [], 0)


_Considered = Sequence[tuple[RuleResult, QualityTicket | None]]


def _rule_keys(platform: Platform, run: RunPublic, considered: _Considered) -> dict[int, RuleKeys]:
    """The failing row keys each considered field rule has in ``run``, and how many of them
    failed in its ticket's run (the rows a ticket covers, see the module's docstring)."""
    earlier = {
        result.rule_id: None if ticket is None else ticket.run_id
        for result, ticket in considered
        if result.field is not None
    }
    if not earlier:
        return {}
    lake = Lake.from_settings(platform.settings)
    with lake.work_engine() as engine:
        return rule_keys(lake, engine, run.resource_code, run.id, earlier, SAMPLE_KEYS)


def _open_for(
    session: Session,
    platform: Platform,
    run: RunPublic,
    result: RuleResult,
    sample: list[str],
    now: datetime | None,
) -> None:
    open_ticket(
        session,
        kind=TicketKind.RULE,
        resource_code=run.resource_code,
        department_code=run.department_code,
        severity=result.severity,
        failing=result.failing,
        sample_keys=sample,
        settings=platform.settings,
        ledger=platform.ledger,
        rule_id=result.rule_id,
        rule_kind=result.kind.value,
        field=result.field,
        run_id=run.id,
        note=f"质量检查 {run.id} 发现 {result.failing} 行不符合规则 "
        f"(run {run.id}: {result.failing} rows fail)",
        now=now,
    )


def _verify(
    session: Session,
    ledger: AuditLedger,
    ticket: QualityTicket,
    run: RunPublic,
    now: datetime | None,
) -> None:
    note = f"质量检查 {run.id} 核验：问题数据已全部整改 (run {run.id}: none of its rows fail)"
    close_verified(session, ledger, ticket, note, now)


def close_verified(
    session: Session, ledger: AuditLedger, ticket: QualityTicket, note: str, now: datetime | None
) -> None:
    """Close a ticket whose problem a run found gone."""
    _move(session, ledger, ticket, SYSTEM, TicketAction.VERIFY, TicketState.CLOSED, note, now)
    ticket.resolution = Resolution.VERIFIED.value
    ticket.closed_at = ticket.updated_at


def reopen(
    session: Session, ledger: AuditLedger, ticket: QualityTicket, note: str, now: datetime | None
) -> None:
    """Send a ticket said to be fixed back to its department: a run found the problem still."""
    _move(session, ledger, ticket, SYSTEM, TicketAction.REOPEN, TicketState.OPEN, note, now)
    ticket.note = note


def _reopen(
    session: Session,
    ledger: AuditLedger,
    ticket: QualityTicket,
    run: RunPublic,
    sample: list[str],
    remaining: int,
    now: datetime | None,
) -> None:
    note = (
        f"质量检查 {run.id} 核验未通过：仍有 {remaining} 行不符合规则 "
        f"(run {run.id}: {remaining} of the ticket's rows still fail)"
    )
    reopen(session, ledger, ticket, note, now)
    ticket.failing, ticket.run_id = remaining, run.id
    ticket.sample_keys = sample


def _refresh(
    session: Session,
    ledger: AuditLedger,
    ticket: QualityTicket,
    run: RunPublic,
    result: RuleResult,
    sample: list[str],
    now: datetime | None,
) -> None:
    """The same problem found again: the ticket now covers this run's failing rows."""
    note = (
        f"质量检查 {run.id}：{result.failing} 行不符合规则 "
        f"(run {run.id}: {result.failing} rows fail)"
    )
    state = TicketState(ticket.state)
    _move(session, ledger, ticket, SYSTEM, TicketAction.UPDATE, state, note, now)
    ticket.failing, ticket.run_id = result.failing, run.id
    ticket.sample_keys = sample


# -- steps people take ---------------------------------------------------------------------


def transition(
    session: Session,
    *,
    number: str,
    action: TicketAction,
    note: str,
    actor: Actor,
    ledger: AuditLedger,
    settings: Settings,
    now: datetime | None = None,
) -> TicketPublic:
    """A steward's step (acknowledge, fix, dispute) or the bureau's decision (uphold, reject)."""
    if action not in STEWARD_ACTIONS | BUREAU_ACTIONS:
        raise ValidationFailed(
            f"{action.value} is not a step anyone asks for; use one of "
            + ", ".join(sorted(a.value for a in STEWARD_ACTIONS | BUREAU_ACTIONS)),
            details=[{"field": "action", "reason": "not_allowed"}],
        )
    ticket = _ticket(session, number)
    target = f"ticket:{ticket.number}"
    if action in STEWARD_ACTIONS:
        allowed = access.stewards(actor, ticket.department_code)
        message = f"only data stewards of {ticket.department_code} act on its tickets"
    else:
        allowed = decides(actor, settings.bureau_department)
        message = f"only approvers of {settings.bureau_department} decide disputes"
    access.require(
        allowed,
        actor,
        ledger,
        action=f"quality.ticket.{action.value}",
        object_=target,
        message=message,
    )
    if action in REASONED_ACTIONS and len(note.strip()) < 2:
        raise ValidationFailed(
            "a dispute needs the reason the data is right"
            if action is TicketAction.DISPUTE
            else "the bureau's decision on a dispute needs its reason",
            details=[{"field": "note", "reason": "required"}],
        )
    starts, to_state = MOVES[action]
    if TicketState(ticket.state) not in starts:
        raise Conflict(
            f"ticket {ticket.number} is {ticket.state}; {action.value} needs it "
            + " or ".join(sorted(s.value for s in starts))
        )
    _move(session, ledger, ticket, actor, action, to_state, note.strip(), now)
    if action is TicketAction.UPHOLD:
        ticket.resolution, ticket.closed_at = Resolution.DISMISSED.value, ticket.updated_at
    elif action is TicketAction.REJECT:  # the department's time starts again
        ticket.deadline = deadline(ticket.updated_at, settings.quality_correction_days)
    session.flush()
    return ticket_public(ticket, now=now)


def _move(
    session: Session,
    ledger: AuditLedger,
    ticket: QualityTicket,
    actor: Actor,
    action: TicketAction,
    to_state: TicketState,
    note: str,
    now: datetime | None,
) -> None:
    now = now or utcnow()
    from_state = TicketState(ticket.state)
    ticket.state, ticket.updated_at = to_state.value, now
    _record(session, ledger, ticket, actor, action, from_state, note, now)


def _record(
    session: Session,
    ledger: AuditLedger,
    ticket: QualityTicket,
    actor: Actor,
    action: TicketAction,
    from_state: TicketState | None,
    note: str,
    now: datetime,
) -> None:
    ticket.events.append(
        QualityTicketEvent(
            at=now,
            actor=actor.name[:64],
            action=action.value,
            from_state=from_state.value if from_state else "",
            to_state=ticket.state,
            note=note,
        )
    )
    audit_on_commit(
        session,
        ledger,
        actor.audit(f"quality.ticket.{action.value}", f"ticket:{ticket.number}"),
    )


# -- escalation ----------------------------------------------------------------------------


def escalate_overdue(
    session: Session, *, ledger: AuditLedger, now: datetime | None = None
) -> list[str]:
    """Mark every ticket past its deadline, still the department's to act on, escalated
    (once); returns their numbers."""
    now = now or utcnow()
    overdue = session.scalars(
        select(QualityTicket)
        .where(
            QualityTicket.state.in_([s.value for s in DEPARTMENT_STATES]),
            QualityTicket.deadline < now,
            QualityTicket.escalated_at.is_(None),
        )
        .order_by(QualityTicket.id)
    ).all()
    for ticket in overdue:
        ticket.escalated_at = now
        note = f"逾期未整改，已提请督办 (overdue since {ticket.deadline.isoformat()})"
        _move(
            session,
            ledger,
            ticket,
            SYSTEM,
            TicketAction.ESCALATE,
            TicketState(ticket.state),
            note,
            now,
        )
    session.flush()
    return [t.number for t in overdue]


# -- reading tickets -----------------------------------------------------------------------


def _ticket(session: Session, number: str) -> QualityTicket:
    ticket = session.scalar(select(QualityTicket).where(QualityTicket.number == number))
    if ticket is None:
        raise NotFound(f"no correction ticket {number}")
    return ticket


def get_ticket(
    session: Session,
    *,
    number: str,
    actor: Actor,
    ledger: AuditLedger,
    bureau: str,
    now: datetime | None = None,
) -> TicketPublic:
    """One ticket with its history, for those who see its department's tickets."""
    ticket = _ticket(session, number)
    access.require(
        sees(actor, ticket.department_code, bureau),
        actor,
        ledger,
        action="quality.ticket.read",
        object_=f"ticket:{number}",
        message=f"only stewards and approvers of {ticket.department_code} and the bureau see "
        "its tickets",
    )
    return ticket_public(ticket, now=now)


def list_tickets(
    session: Session,
    *,
    actor: Actor,
    ledger: AuditLedger,
    bureau: str,
    department: str | None = None,
    resource_code: str | None = None,
    state: TicketState | None = None,
    kind: TicketKind | None = None,
    overdue: bool = False,
    escalated: bool = False,
    now: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[TicketPublic], int]:
    """Tickets the caller sees, matching the filters, newest first, and how many in all.

    The bureau (and the platform) sees every department's; anyone else their own department's.
    ``overdue``: past the deadline while the department has to act; ``escalated``: escalated
    and still the department's to act on (the bureau's list).
    """
    now = now or utcnow()
    if not decides(actor, bureau):
        access.require(
            bool(actor.department)
            and sees(actor, actor.department, bureau)
            and department in (None, actor.department),
            actor,
            ledger,
            action="quality.ticket.list",
            object_=f"department:{department or actor.department}",
            message="only stewards and approvers see their department's tickets",
        )
        department = actor.department
    conditions = []
    if department:
        conditions.append(QualityTicket.department_code == department)
    if resource_code:
        conditions.append(QualityTicket.resource_code == resource_code)
    if state is not None:
        conditions.append(QualityTicket.state == state.value)
    if kind is not None:
        conditions.append(QualityTicket.kind == kind.value)
    if overdue or escalated:
        conditions.append(QualityTicket.state.in_([s.value for s in DEPARTMENT_STATES]))
    if overdue:
        conditions.append(QualityTicket.deadline < now)
    if escalated:
        conditions.append(QualityTicket.escalated_at.is_not(None))
    rows, count = newest_page(session, QualityTicket, conditions, offset=offset, limit=limit)
    return [ticket_public(t, now=now, events=False) for t in rows], count


def escalated_tickets(
    session: Session, *, actor: Actor, ledger: AuditLedger, bureau: str
) -> list[TicketPublic]:
    """The bureau's list: escalated tickets the departments still have to act on."""
    data, _ = list_tickets(
        session, actor=actor, ledger=ledger, bureau=bureau, escalated=True, limit=1000
    )
    return data


def ticket_public(
    ticket: QualityTicket, *, now: datetime | None = None, events: bool = True
) -> TicketPublic:
    now = now or utcnow()
    return TicketPublic(
        number=ticket.number,
        kind=TicketKind(ticket.kind),
        resource_code=ticket.resource_code,
        department_code=ticket.department_code,
        rule_id=ticket.rule_id,
        rule_kind=ticket.rule_kind,
        field=ticket.field,
        severity=Severity(ticket.severity),
        state=TicketState(ticket.state),
        resolution=Resolution(ticket.resolution),
        failing=ticket.failing,
        sample_keys=list(ticket.sample_keys),
        run_id=ticket.run_id,
        note=ticket.note,
        opened_by=ticket.opened_by,
        opened_at=ticket.opened_at,
        deadline=ticket.deadline,
        overdue=TicketState(ticket.state) in DEPARTMENT_STATES and ticket.deadline < now,
        escalated_at=ticket.escalated_at,
        closed_at=ticket.closed_at,
        updated_at=ticket.updated_at,
        events=[event_public(e) for e in ticket.events] if events else [],
    )


def event_public(row: QualityTicketEvent) -> TicketEvent:
    return TicketEvent(
        at=row.at,
        actor=row.actor,
        action=TicketAction(row.action),
        from_state=TicketState(row.from_state) if row.from_state else None,
        to_state=TicketState(row.to_state),
        note=row.note,
    )


if after_run not in AFTER_RUN:
    AFTER_RUN.append(after_run)
