"""Pages of corrections (纠错) and data-subject objections (数据主体查询核实).

- The **workbench** ``/console/quality/corrections``: a department's stewards and approvers (the
  bureau: every department's) list tickets, open one to see its rule, failing rows and history,
  and take the steps the services allow them: acknowledge, mark fixed, dispute with a reason;
  the bureau upholds or rejects a dispute.
- The **objection pages** ``/objection`` (public, no console account): a citizen gives their ID
  number and name, enters the code sent to the phone on record, sees what is held about them
  and disputes a field; the dispute is a ticket whose progress they follow.

Every step goes through ``rongshu.quality.corrections`` and ``rongshu.quality.objections``, as
the JSON twins under ``/api/v1/quality`` do. Pages work without scripts.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from rongshu.core import workdays
from rongshu.core.db import utcnow
from rongshu.core.errors import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RongshuError,
    TooManyRequests,
    ValidationFailed,
)
from rongshu.core.i18n import translate
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.ingest import access
from rongshu.quality import corrections, objections
from rongshu.quality.correction_messages import register_correction_messages
from rongshu.quality.correction_schemas import (
    BUREAU_ACTIONS,
    DEPARTMENT_STATES,
    STEWARD_ACTIONS,
    ObjectionDispute,
    ObjectionStart,
    TicketAction,
    TicketKind,
    TicketPublic,
    TicketState,
)
from rongshu.quality.forms import member_of, text_of
from rongshu.quality.pages import find_rule, quality_page
from rongshu.quality.schemas import RulePublic
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf
from rongshu.web.pages import ConsoleUser, ConsoleUserDep
from rongshu.web.templating import page_language, render

router = APIRouter(include_in_schema=False)
CONSOLE = "/console/quality/corrections"
PORTAL = "/objection"
API = "/api/v1/quality/corrections"
PAGE_SIZE = 50
#: The citizen's session token (as ``objections.verify`` issues it), their pending code request,
#: and the token their forms carry (double submit: the portal has no console session).
SESSION_COOKIE = "rongshu_objection"
CHALLENGE_COOKIE = "rongshu_objection_challenge"
FORM_COOKIE = "rongshu_objection_form"

register_correction_messages()  # the templates are registered by ``rongshu.quality.pages``


# -- the workbench -------------------------------------------------------------------------


def ticket_url(number: str) -> str:
    return f"{CONSOLE}/{quote(number)}"


def due_mark(ticket: TicketPublic, now: datetime) -> str:
    """``overdue``, ``soon`` (due by the end of the next working day) or ``""``: the marks a
    deadline gets while the department has to act."""
    if ticket.state not in DEPARTMENT_STATES:
        return ""
    if ticket.overdue:
        return "overdue"
    return "soon" if ticket.deadline <= workdays.deadline(now, 1) else ""


def actions_for(actor: Actor, ticket: TicketPublic, bureau: str) -> list[TicketAction]:
    """The steps ``actor`` may take on ``ticket`` now, by the corrections service's rules."""
    allowed: set[TicketAction] = set()
    if access.stewards(actor, ticket.department_code):
        allowed |= STEWARD_ACTIONS
    if corrections.decides(actor, bureau):
        allowed |= BUREAU_ACTIONS
    # The service's own table of which state each step starts from.
    moves = corrections.MOVES
    return [a for a, (starts, _) in moves.items() if a in allowed and ticket.state in starts]


def _problem(lang: str, exc: RongshuError) -> str:
    """A refusal in the page's language where the service names the problem, else its text."""
    for detail in exc.details:
        key = f"corrections.problem.{detail.get('field')}.{detail.get('reason')}"
        text = translate(lang, key)
        if text != key:
            return text
    return exc.message


def _console_page(
    request: Request,
    who: ConsoleUser,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    return quality_page(
        request,
        who,
        template,
        {
            "now": utcnow(),
            "due_mark": due_mark,
            "ticket_url": ticket_url,
            "done": request.query_params.get("done", ""),
            **context,
        },
        status_code=status_code,
    )


@router.get(CONSOLE)
def tickets_page(
    request: Request,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    page: int = Query(1, ge=1, le=10_000),
    state: str = "",
    kind: str = "",
    department: str = "",
    resource: str = "",
    due: str = "",
) -> HTMLResponse:
    """The tickets the viewer sees, filtered, newest first."""
    bureau = platform.settings.bureau_department
    due = due if due in ("overdue", "escalated") else ""
    chosen_state, chosen_kind = member_of(TicketState, state), member_of(TicketKind, kind)
    department, resource = department.strip(), resource.strip()
    tickets, total = corrections.list_tickets(
        session,
        actor=who.actor,
        ledger=platform.ledger,
        bureau=bureau,
        department=department or None,
        resource_code=resource or None,
        state=chosen_state,
        kind=chosen_kind,
        overdue=due == "overdue",
        escalated=due == "escalated",
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    filters = {
        "state": chosen_state.value if chosen_state else "",
        "kind": chosen_kind.value if chosen_kind else "",
        "department": department,
        "resource": resource,
    }
    filters = {k: v for k, v in filters.items() if v}
    query = {**filters, **({"due": due} if due else {})}
    api_query = {**filters, **({due: "true"} if due else {})}  # the API's overdue / escalated
    return _console_page(
        request,
        who,
        "quality/corrections.html",
        {
            "tickets": tickets,
            "total": total,
            "filters": query,
            "states": list(TicketState),
            "kinds": list(TicketKind),
            "sees_all": corrections.decides(who.actor, bureau),
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "page_link": lambda n: f"{CONSOLE}?" + urlencode({**query, "page": n}),
            "json_url": f"{API}?" + urlencode(api_query),
            "section": due or "all",
        },
    )


def _rule_of(session: Session, ticket: TicketPublic) -> RulePublic | None:
    if ticket.rule_id is None:
        return None
    return find_rule(session, ticket.resource_code, ticket.rule_id)


def _ticket_page(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    number: str,
    *,
    errors: dict[str, str] | None = None,
    notes: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    bureau = platform.settings.bureau_department
    ticket = corrections.get_ticket(
        session, number=number, actor=who.actor, ledger=platform.ledger, bureau=bureau
    )
    return _console_page(
        request,
        who,
        "quality/corrections_ticket.html",
        {
            "ticket": ticket,
            "rule": _rule_of(session, ticket),
            "actions": actions_for(who.actor, ticket, bureau),
            "errors": errors or {},
            "notes": notes or {},
            "sample_limit": corrections.SAMPLE_KEYS,
            "section": "all",
        },
        status_code=status_code,
    )


@router.get(CONSOLE + "/{number}")
def ticket_page(
    request: Request, number: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> HTMLResponse:
    return _ticket_page(request, who, session, platform, number)


@router.post(CONSOLE + "/{number}")
async def take_step(
    request: Request, number: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """Acknowledge, mark fixed or dispute (stewards); uphold or reject a dispute (the bureau)."""
    await check_csrf(request)
    posted = await request.form()
    action = member_of(TicketAction, text_of(posted.get("action")))
    if action is None:
        raise ValidationFailed(
            "no such step", details=[{"field": "action", "reason": "not_allowed"}]
        )
    note = text_of(posted.get("note"))
    form = "decide" if action in BUREAU_ACTIONS else action.value
    lang = page_language(request)
    # The bureau's decision is written down with its reason, whichever way it goes (anyone
    # else is refused by the service, reason or not).
    decides = corrections.decides(who.actor, platform.settings.bureau_department)
    if action in BUREAU_ACTIONS and decides and not note:
        problem = translate(lang, "corrections.problem.note.required")
        return _ticket_page(
            request, who, session, platform, number,
            errors={form: problem}, notes={form: note}, status_code=422,
        )  # fmt: skip
    try:
        corrections.transition(
            session,
            number=number,
            action=action,
            note=note,
            actor=who.actor,
            ledger=platform.ledger,
            settings=platform.settings,
        )
    except (PermissionDenied, NotFound):
        raise
    except RongshuError as exc:
        session.rollback()
        return _ticket_page(
            request, who, session, platform, number,
            errors={form: _problem(lang, exc)}, notes={form: note}, status_code=exc.status,
        )  # fmt: skip
    return RedirectResponse(f"{ticket_url(number)}?done={action.value}", status_code=303)


# -- the citizen's objection ---------------------------------------------------------------


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PORTAL,
        httponly=True,
        samesite="strict",
        secure=request.app.state.platform.settings.secure_cookies,
    )


def _portal_page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """An objection page; its forms carry the token in the ``FORM_COOKIE`` it (re)sets."""
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        template,
        {
            "csrf_token": token,
            "code_minutes": objections.CODE_MINUTES,
            "session_minutes": objections.SESSION_MINUTES,
            **context,
        },
        status_code=status_code,
    )
    _set_cookie(request, response, FORM_COOKIE, token, max_age=None)
    return response


async def _posted(request: Request) -> FormData:
    """The posted form, if it carries the token of the page it came from."""
    posted = await request.form()
    expected, presented = request.cookies.get(FORM_COOKIE, ""), posted.get("csrf_token")
    if not (expected and isinstance(presented, str) and hmac.compare_digest(expected, presented)):
        raise PermissionDenied("the form has expired; reload the page and try again")
    return posted


def _subject(request: Request, platform: Platform) -> objections.Subject | None:
    """The person whose session cookie this is, while it lasts."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return None
    try:
        return objections.subject_of(platform, token)
    except NotAuthenticated:
        return None


def _back_to_start(notice: str) -> RedirectResponse:
    return RedirectResponse(f"{PORTAL}?notice={notice}", status_code=303)


_NOTICES = {
    "expired": "objection.session.expired",
    "lapsed": "objection.code.missing",
    "ended": "objection.session.ended",
}


def _start_page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    alert: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    notice = _NOTICES.get(request.query_params.get("notice", ""), "")
    return _portal_page(
        request,
        "quality/objection.html",
        {
            "step": 1,
            "values": values or {},
            "errors": errors or {},
            "alert": alert,
            "notice": notice,
            "codes_per_hour": objections.CODES_PER_HOUR,
            "signed_in": _subject(request, request.app.state.platform) is not None,
        },
        status_code=status_code,
    )


@router.get(PORTAL)
def objection_page(request: Request) -> HTMLResponse:
    """Step 1: the ID number and name."""
    return _start_page(request)


def _invalid(lang: str, exc: ValidationError, problems: Mapping[str, str]) -> dict[str, str]:
    """The inputs ``exc`` finds wrong, each with its problem in words (``problems`` gives the
    message key of each input's)."""
    wrong = {str(error["loc"][0]) for error in exc.errors()}
    return {name: translate(lang, key) for name, key in problems.items() if name in wrong}


_START_PROBLEMS = {
    "id_number": "objection.start.id_number_invalid",
    "name": "objection.start.name_invalid",
}


@router.post(PORTAL + "/start")
async def objection_start(request: Request, platform: PlatformDep) -> Response:
    """Send a code to the phone on record (if the details match); then step 2."""
    posted = await _posted(request)
    lang = page_language(request)
    values = {name: text_of(posted.get(name)) for name in _START_PROBLEMS}
    try:
        data = ObjectionStart.model_validate(values)
    except ValidationError as exc:
        errors = _invalid(lang, exc, _START_PROBLEMS)
        return _start_page(request, values=values, errors=errors, status_code=422)
    try:
        sent = await run_in_threadpool(
            objections.start, platform, id_number=data.id_number, name=data.name
        )
    except ValidationFailed:
        errors = {"id_number": translate(lang, _START_PROBLEMS["id_number"])}
        return _start_page(request, values=values, errors=errors, status_code=422)
    except TooManyRequests:
        alert = translate(lang, "objection.start.too_many")
        return _start_page(request, values=values, alert=alert, status_code=429)
    response = RedirectResponse(PORTAL + "/code", status_code=303)
    _set_cookie(
        request, response, CHALLENGE_COOKIE, sent.challenge_id, objections.CODE_MINUTES * 60
    )
    return response


def _code_page(request: Request, *, error: str = "", status_code: int = 200) -> HTMLResponse:
    context = {"step": 2, "error": error, "attempts": objections.MAX_ATTEMPTS}
    return _portal_page(request, "quality/objection_code.html", context, status_code=status_code)


@router.get(PORTAL + "/code")
def objection_code_page(request: Request) -> Response:
    """Step 2: the code from the text message."""
    if not request.cookies.get(CHALLENGE_COOKIE):
        return _back_to_start("lapsed")
    return _code_page(request)


def _code_problem(lang: str, exc: NotAuthenticated) -> str:
    """The service's refusal of a code (its reason and the tries left) in the citizen's words."""
    detail = next((d for d in exc.details if d.get("field") == "code"), {})
    reason = detail.get("reason")
    key = f"objection.code.{reason}" if reason else "objection.code.missing"
    return translate(lang, key, left=str(detail.get("tries_left", "")))


@router.post(PORTAL + "/verify")
async def objection_verify(request: Request, platform: PlatformDep) -> Response:
    """Exchange the code for the session cookie; then step 3."""
    posted = await _posted(request)
    challenge = request.cookies.get(CHALLENGE_COOKIE, "")
    if not challenge:
        return _back_to_start("lapsed")
    try:
        opened = objections.verify(
            platform, challenge_id=challenge, code=text_of(posted.get("code"))[:12]
        )
    except NotAuthenticated as exc:
        return _code_page(
            request, error=_code_problem(page_language(request), exc), status_code=422
        )
    response = RedirectResponse(PORTAL + "/records", status_code=303)
    response.delete_cookie(CHALLENGE_COOKIE, path=PORTAL)
    _set_cookie(request, response, SESSION_COOKIE, opened.token, objections.SESSION_MINUTES * 60)
    return response


def form_key(resource_code: str, row_key: str) -> str:
    """Which dispute form (one per record) a problem belongs to."""
    return f"{resource_code}\t{row_key}"


async def _records_page(
    request: Request,
    platform: Platform,
    subject: objections.Subject,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    posted: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    held = await run_in_threadpool(objections.records, platform, subject)
    errors = errors or {}
    shown = {form_key(h.resource_code, r.row_key) for h in held.data for r in h.rows}
    context = {
        "step": 3,
        "held": held.data,
        "errors": errors,
        # problems of a form not on the page (a record gone meanwhile, or never theirs)
        "stray": [
            text for key, found in errors.items() if key not in shown for text in found.values()
        ],
        "posted": posted or {},
        "form_key": form_key,
    }
    return _portal_page(request, "quality/objection_records.html", context, status_code=status_code)


@router.get(PORTAL + "/records")
async def objection_records(request: Request, platform: PlatformDep) -> Response:
    """Step 3: what is held about the person, with a dispute form for each record."""
    subject = _subject(request, platform)
    if subject is None:
        return _back_to_start("expired")
    return await _records_page(request, platform, subject)


_DISPUTE_PROBLEMS = {
    "field": "objection.dispute.field_invalid",
    "reason": "objection.dispute.reason_invalid",
}


@router.post(PORTAL + "/disputes")
async def objection_dispute(request: Request, platform: PlatformDep) -> Response:
    """Dispute one field of one record: a correction ticket for its owner."""
    posted = await _posted(request)
    subject = _subject(request, platform)
    if subject is None:
        return _back_to_start("expired")
    lang = page_language(request)
    values = {n: text_of(posted.get(n)) for n in ("resource_code", "row_key", "field", "reason")}
    which = form_key(values["resource_code"], values["row_key"])
    problems: dict[str, str] = {}
    try:
        data = ObjectionDispute.model_validate(values)
        ticket = await run_in_threadpool(objections.dispute, platform, subject, data)
    except ValidationError as exc:
        problems = _invalid(lang, exc, _DISPUTE_PROBLEMS)
        problems = problems or {"": translate(lang, "objection.dispute.not_found")}
    except ValidationFailed:
        problems = {"field": translate(lang, _DISPUTE_PROBLEMS["field"])}
    except NotFound:
        problems = {"": translate(lang, "objection.dispute.not_found")}
    if problems:
        return await _records_page(
            request, platform, subject,
            errors={which: problems}, posted=values, status_code=422,
        )  # fmt: skip
    return RedirectResponse(f"{PORTAL}/tickets/{quote(ticket.number)}?done=created", 303)


@router.get(PORTAL + "/tickets/{number}")
def objection_ticket(request: Request, number: str, platform: PlatformDep) -> Response:
    """The state of one of the person's objections."""
    subject = _subject(request, platform)
    if subject is None:
        return _back_to_start("expired")
    ticket = objections.ticket_status(platform, subject, number)
    created = request.query_params.get("done") == "created"
    context = {"step": 3, "ticket": ticket, "created": created}
    return _portal_page(request, "quality/objection_ticket.html", context)


@router.post(PORTAL + "/end")
async def objection_end(request: Request) -> Response:
    """Forget the session on this browser (a shared computer)."""
    await _posted(request)
    response = _back_to_start("ended")
    response.delete_cookie(SESSION_COOKIE, path=PORTAL)
    return response
