"""Console pages of sharing applications and grants (共享申请与授权).

- **Applications** ``/console/exchange/applications``: the approvers' inbox with deadline marks,
  the department's own, all it may see; one application with its history, the decision form for
  the owner's approvers and the reply form for the applying department.
- **Grants** with revocation.

The service catalog, where applications are made, and usage are in ``rongshu.exchange.pages``,
whose page shell these pages share. Every step goes through the exchange services, as the JSON
twins under ``/api/v1/exchange`` do; the pages work without scripts.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rongshu.core.db import utcnow
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.exchange import applications, grants, services
from rongshu.exchange.applications import PROFILE_STRICTNESS
from rongshu.exchange.pages import (
    API,
    CONSOLE,
    application_url,
    attempt,
    exchange_page,
    posted_text,
)
from rongshu.exchange.schemas import (
    ApplicationPublic,
    ApplicationReply,
    ApplicationState,
    ApprovalDecision,
    RevokeRequest,
)
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf
from rongshu.web.pages import ConsoleUser, ConsoleUserDep
from rongshu.web.templating import page_language

router = APIRouter(include_in_schema=False)
BOXES = ("inbox", "mine", "all")


# -- applications ------------------------------------------------------------------------------


def deadline_mark(application: ApplicationPublic) -> str:
    """``overdue`` (red), ``soon`` (yellow: due within a working day) or ``""``."""
    if application.overdue:
        return "overdue"
    return "soon" if application.due_soon else ""


def may_decide(actor: Actor, application: ApplicationPublic, bureau: str) -> bool:
    """Whether the decision form shows: ``applications.decide``'s rule (the owner department's
    approvers; the bureau's once the application is escalated), for a pending application."""
    return application.state is ApplicationState.PENDING and applications.may_decide(
        actor,
        owner_department=application.owner_department,
        escalated=application.escalated_at is not None,
        bureau=bureau,
    )


@router.get(CONSOLE + "/applications")
def applications_page(
    request: Request,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    box: str = "",
) -> HTMLResponse:
    """The approvers' inbox (what their department must decide), the department's own, all."""
    approver = who.actor.can(Permission.APPROVE_APPLICATIONS)
    if box not in BOXES:
        box = "inbox" if approver else "mine"
    found = applications.list_applications(
        session, actor=who.actor, bureau=platform.settings.bureau_department, box=box
    )
    hours = [a.response_hours for a in found.data if a.response_hours is not None]
    return exchange_page(
        request,
        who,
        "exchange/applications.html",
        {
            "section": "applications",
            "box": box,
            "approver": approver,
            "applications": found.data,
            "decided": len(hours),
            "mean_hours": round(sum(hours) / len(hours), 1) if hours else None,
            "deadline_mark": deadline_mark,
            "names": identity.department_names(session),
            "json_url": f"{API}/applications?box={box}",
        },
    )


def _application_page(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    number: str,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    posted: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    bureau = platform.settings.bureau_department
    application = applications.get_application(
        session, number=number, actor=who.actor, bureau=bureau
    )
    requested = PROFILE_STRICTNESS.index(application.masking_profile)
    return exchange_page(
        request,
        who,
        "exchange/application.html",
        {
            "section": "applications",
            "application": application,
            "mark": deadline_mark(application),
            "decides": may_decide(who.actor, application, bureau),
            "replies": application.state is ApplicationState.MORE_INFO
            and who.actor.department == application.consumer_department,
            "tighter": PROFILE_STRICTNESS[requested:],
            "errors": errors or {},
            "posted": posted or {},
            "names": identity.department_names(session),
            "json_url": f"{API}/applications/{quote(number, safe='')}",
        },
        status_code=status_code,
    )


@router.get(CONSOLE + "/applications/{number}")
def application_page(
    request: Request, number: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> HTMLResponse:
    """One application: what was asked, its deadline, history, and the viewer's steps."""
    return _application_page(request, who, session, platform, number)


@router.post(CONSOLE + "/applications/{number}/decision")
async def decide(
    request: Request, number: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """Approve, refuse (with a reason) or ask for more information."""
    await check_csrf(request)
    posted = await request.form()
    values = {n: posted_text(posted.get(n)) for n in ("action", "reason", "daily_quota", "profile")}
    decision = {
        "action": values["action"],
        "reason": values["reason"],
        "daily_quota": values["daily_quota"] or None,
        "masking_profile": values["profile"] or None,
    }
    decided, problems = attempt(
        session,
        page_language(request),
        lambda: applications.decide(
            session,
            number=number,
            decision=ApprovalDecision.model_validate(decision),
            actor=who.actor,
            ledger=platform.ledger,
            settings=platform.settings,
        ),
    )
    if decided is not None:
        done = f"?done={values['action']}"
        return RedirectResponse(application_url(number) + done, status_code=303)
    return _application_page(
        request, who, session, platform, number,
        errors={"decision": problems}, posted=values, status_code=422,
    )  # fmt: skip


@router.post(CONSOLE + "/applications/{number}/reply")
async def reply(
    request: Request, number: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """The applying department answers a request for more information."""
    await check_csrf(request)
    posted = await request.form()
    note = posted_text(posted.get("note"))
    replied, problems = attempt(
        session,
        page_language(request),
        lambda: applications.reply(
            session,
            number=number,
            answer=ApplicationReply(note=note),
            actor=who.actor,
            ledger=platform.ledger,
            settings=platform.settings,
        ),
    )
    if replied is not None:
        return RedirectResponse(f"{application_url(number)}?done=replied", status_code=303)
    return _application_page(
        request, who, session, platform, number,
        errors={"reply": problems}, posted={"note": note}, status_code=422,
    )  # fmt: skip


# -- grants ------------------------------------------------------------------------------------


def _grants_page(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    *,
    show: str,
    errors: dict[int, str] | None = None,
    reasons: dict[int, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    bureau = platform.settings.bureau_department
    show = "all" if show == "all" else "active"
    found = grants.list_grants(
        session, actor=who.actor, bureau=bureau, active_only=show == "active"
    )
    owners = {
        s.code: s.department_code for s in services.list_services(session, include_withdrawn=True)
    }
    revocable = {
        g.id
        for g in found.data
        if g.active
        and grants.may_revoke(who.actor, owner_department=owners.get(g.service, ""), bureau=bureau)
    }
    return exchange_page(
        request,
        who,
        "exchange/grants.html",
        {
            "section": "grants",
            "show": show,
            "grants": found.data,
            "owners": owners,
            "revocable": revocable,
            "now": utcnow(),
            "errors": errors or {},
            "reasons": reasons or {},
            "names": identity.department_names(session),
            "json_url": f"{API}/grants" + ("?active=true" if show == "active" else ""),
        },
        status_code=status_code,
    )


@router.get(CONSOLE + "/grants")
def grants_page(
    request: Request,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    show: str = "active",
) -> HTMLResponse:
    """The grants the viewer sees: those in force, or all (revoked and expired too)."""
    return _grants_page(request, who, session, platform, show=show)


@router.post(CONSOLE + "/grants/{grant_id}/revoke")
async def revoke(
    request: Request,
    grant_id: int,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    """Stop a grant at once; the reason is recorded with it and in the audit ledger."""
    await check_csrf(request)
    posted = await request.form()
    reason, show = posted_text(posted.get("reason")), posted_text(posted.get("show"))
    revoked, problems = attempt(
        session,
        page_language(request),
        lambda: grants.revoke_grant(
            session,
            grant_id=grant_id,
            reason=RevokeRequest(reason=reason).reason,
            actor=who.actor,
            ledger=platform.ledger,
            bureau=platform.settings.bureau_department,
        ),
    )
    if revoked is not None:
        return RedirectResponse(f"{CONSOLE}/grants?show={show or 'active'}&done=revoked", 303)
    return _grants_page(
        request, who, session, platform, show=show,
        errors={grant_id: " ".join(problems.values())}, reasons={grant_id: reason},
        status_code=422,
    )  # fmt: skip
