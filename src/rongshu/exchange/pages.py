"""Console pages of data sharing and exchange (共享交换).

- The **service catalog** ``/console/exchange`` and one **service**: its fields, how to call it,
  and (for developers) the application form.
- **Applications** ``/console/exchange/applications``: the approvers' inbox with deadline marks,
  the department's own, all it may see; one application with its history, the decision form for
  the owner's approvers and the reply form for the applying department.
- **Grants** with revocation, and the **usage** dashboard against the plan's daily indicator
  (whose tile the console home loads from ``/console/exchange/indicator``).

Every step goes through the exchange services, as the JSON twins under ``/api/v1/exchange`` do;
pages work without scripts (only the chart and the home tile need them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.core.db import utcnow
from rongshu.core.errors import NotFound, PermissionDenied, RongshuError
from rongshu.core.i18n import translate
from rongshu.core.identity import service as identity
from rongshu.core.identity.models import App, Department
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.core.workdays import BEIJING
from rongshu.exchange import applications, grants, services, usage
from rongshu.exchange.applications import PROFILE_STRICTNESS
from rongshu.exchange.messages import register_exchange_messages
from rongshu.exchange.schemas import (
    ApplicationCreate,
    ApplicationPublic,
    ApplicationReply,
    ApplicationState,
    ApprovalDecision,
    RevokeRequest,
    ServiceKind,
    ServicePublic,
    UsageReport,
)
from rongshu.security.schemas import MaskingProfile
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf
from rongshu.web.pages import ConsoleUser, ConsoleUserDep, render_console
from rongshu.web.templating import page_language, register_nav, register_templates

router = APIRouter(include_in_schema=False)
CONSOLE = "/console/exchange"
API = "/api/v1/exchange"
BOXES = ("inbox", "mine", "all")
USAGE_DAYS = (1, 7, 30)
#: What the application form proposes as the grant's end (the service allows up to three years).
PROPOSED_VALIDITY = timedelta(days=365)
_APPLY_INPUTS = (
    "app_id",
    "purpose",
    "legal_basis",
    "scenario",
    "expected_daily_calls",
    "valid_until",
    "masking_profile",
)

R = TypeVar("R")

register_exchange_messages()
register_templates(Path(__file__).parent / "templates")
register_nav("nav.exchange", CONSOLE, permission=Permission.VIEW_CONSOLE, order=50)


def service_url(code: str) -> str:
    return f"{CONSOLE}/services/{quote(code, safe='')}"


def application_url(number: str) -> str:
    return f"{CONSOLE}/applications/{quote(number, safe='')}"


def _text(value: object) -> str:
    """A posted input's text, trimmed ("" for none, or for a file)."""
    return value.strip() if isinstance(value, str) else ""


def _page(
    request: Request,
    who: ConsoleUser,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    done = request.query_params.get("done", "")
    key = f"exchange.done.{done}"
    message = translate(page_language(request), key) if done else ""
    response = render_console(
        request,
        who,
        template,
        {
            "done": "" if message == key else message,
            "service_url": service_url,
            "application_url": application_url,
            **context,
        },
    )
    response.status_code = status_code
    return response


def _department_names(session: Session) -> dict[str, str]:
    return {d.code: d.name for d in identity.list_departments(session)}


def _invalid(lang: str, exc: ValidationError) -> dict[str, str]:
    """The inputs a schema refused, each with its problem in the page's language."""
    found: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        key = f"exchange.invalid.{name}"
        text = translate(lang, key)
        found.setdefault(name, text if text != key else str(error["msg"]))
    return found


def _problem(lang: str, exc: RongshuError) -> dict[str, str]:
    """A service's refusal beside the input it names, in the page's language where known."""
    for detail in exc.details:
        name = str(detail.get("field", ""))
        key = f"exchange.problem.{name}.{detail.get('reason')}"
        text = translate(lang, key)
        if text != key or name:
            return {name: text if text != key else exc.message}
    return {"": exc.message}


def _attempt(session: Session, lang: str, step: Callable[[], R]) -> tuple[R | None, dict[str, str]]:
    """Run one posted step (its input read into a schema, then the service): the result, or
    the problems to show beside the form. Not-found and not-allowed go to the error page."""
    try:
        return step(), {}
    except ValidationError as exc:
        return None, _invalid(lang, exc)
    except (PermissionDenied, NotFound):
        raise
    except RongshuError as exc:
        session.rollback()
        return None, _problem(lang, exc)


# -- the service catalog and one service -------------------------------------------------------


@router.get(CONSOLE)
def catalog_page(
    request: Request,
    who: ConsoleUserDep,
    session: SessionDep,
    q: str = "",
    kind: str = "",
    department: str = "",
) -> HTMLResponse:
    """The published services, found by words, kind and owner department."""
    chosen = ServiceKind(kind) if kind in {k.value for k in ServiceKind} else None
    department = department.strip()
    found = services.list_services(session, kind=chosen, department=department or None)
    words = q.strip().lower()
    if words:
        found = [s for s in found if words in _searchable(s)]
    filters = {"kind": chosen.value if chosen else "", "department": department}
    filters = {k: v for k, v in filters.items() if v}
    return _page(
        request,
        who,
        "exchange/catalog.html",
        {
            "section": "catalog",
            "services": found,
            "q": q.strip(),
            "filters": filters,
            "kinds": list(ServiceKind),
            "departments": identity.list_departments(session),
            "names": _department_names(session),
            "json_url": f"{API}/services" + (f"?{urlencode(filters)}" if filters else ""),
        },
    )


def _searchable(service: ServicePublic) -> str:
    parts = (service.code, service.title, service.resource_name, *service.columns)
    return " ".join(parts).lower()


def _department_apps(session: Session, department: str | None) -> list[App]:
    """The apps a developer may apply for: their department's (``applications.apply`` refuses
    any other). Identity offers no such list to non-admins, hence this query."""
    if not department:
        return []
    query = select(App).join(Department).where(Department.code == department).order_by(App.name)
    return list(session.scalars(query))


def call_example(base_url: str, service: ServicePublic) -> str:
    """A curl command calling ``service``; the key comes from the caller's environment, so no
    secret is ever shown. Empty for a subscription (managed, not called per record)."""
    url = base_url.rstrip("/") + service.openapi_path
    key_header = '-H "X-API-Key: $RONGSHU_API_KEY"'
    if service.kind is ServiceKind.SUBSCRIPTION:
        return ""
    if service.kind is ServiceKind.BATCH:
        return (
            f'curl -G "{url}" \\\n  {key_header} \\\n'
            '  --data-urlencode "format=csv" --data-urlencode "purpose=<purpose>" \\\n'
            f"  -o {service.resource_code}.csv"
        )
    body: dict[str, Any] = {"key": {k: f"<{k}>" for k in service.key_columns}}
    if service.kind is ServiceKind.VERIFY:
        claimed = [c for c in service.columns if c not in service.key_columns][:2]
        body["claims"] = {c: f"<{c}>" for c in claimed}
    body["purpose"] = "<purpose>"
    payload = json.dumps(body, ensure_ascii=False)
    return (
        f'curl -X POST "{url}" \\\n  {key_header} \\\n'
        f"  -H \"Content-Type: application/json\" \\\n  -d '{payload}'"
    )


def _blank_application(service: ServicePublic) -> dict[str, Any]:
    until = (utcnow().astimezone(BEIJING) + PROPOSED_VALIDITY).date()
    # Batch and subscription grants must carry the keys (the service refuses them otherwise).
    keys = service.kind in (ServiceKind.BATCH, ServiceKind.SUBSCRIPTION)
    return {
        "columns": list(service.key_columns) if keys else [],
        "expected_daily_calls": "1000",
        "valid_until": until.isoformat(),
        "masking_profile": MaskingProfile.STANDARD.value,
    }


@router.get(CONSOLE + "/services/{code}")
def service_page(
    request: Request, code: str, who: ConsoleUserDep, session: SessionDep
) -> HTMLResponse:
    """One service: its fields, how to call it, and the application form for developers."""
    return _service_page(request, who, session, code)


def _service_page(
    request: Request,
    who: ConsoleUser,
    session: Session,
    code: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    service = services.get_service(session, code)
    resource = catalog.published_resource(session, service.resource_code)
    fields = {f.english_name or f.name: f for f in resource.fields} if resource else {}
    developer = who.actor.can(Permission.USE_SERVICES)
    return _page(
        request,
        who,
        "exchange/service.html",
        {
            "section": "catalog",
            "service": service,
            "fields": fields,
            "names": _department_names(session),
            "curl": call_example(str(request.base_url), service),
            "developer": developer,
            "apps": _department_apps(session, who.actor.department) if developer else [],
            "profiles": list(MaskingProfile),
            "values": values or _blank_application(service),
            "errors": errors or {},
            "json_url": f"{API}/services/{quote(code, safe='')}",
        },
        status_code=status_code,
    )


def _end_of_day(text: str) -> datetime | str:
    """A date input's day as its last second in Beijing; other text goes on to be refused."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text
    return datetime.combine(day, time(23, 59, 59), tzinfo=BEIJING)


@router.post(CONSOLE + "/services/{code}/applications")
async def apply(
    request: Request, code: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """Submit the application form; its page next, or the form again with the problems."""
    await check_csrf(request)
    posted = await request.form()
    values: dict[str, Any] = {name: _text(posted.get(name)) for name in _APPLY_INPUTS}
    values["columns"] = [c for c in posted.getlist("columns") if isinstance(c, str)]
    data = {**values, "service": code, "valid_until": _end_of_day(values["valid_until"])}
    made, errors = _attempt(
        session,
        page_language(request),
        lambda: applications.apply(
            session,
            data=ApplicationCreate.model_validate(data),
            actor=who.actor,
            ledger=platform.ledger,
            settings=platform.settings,
        ),
    )
    if made is not None:
        return RedirectResponse(f"{application_url(made.number)}?done=submitted", 303)
    return _service_page(request, who, session, code, values=values, errors=errors, status_code=422)


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
    return _page(
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
            "names": _department_names(session),
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
    return _page(
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
            "names": _department_names(session),
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
    values = {n: _text(posted.get(n)) for n in ("action", "reason", "daily_quota", "profile")}
    decision = {
        "action": values["action"],
        "reason": values["reason"],
        "daily_quota": values["daily_quota"] or None,
        "masking_profile": values["profile"] or None,
    }
    decided, problems = _attempt(
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
    note = _text(posted.get("note"))
    replied, problems = _attempt(
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
    return _page(
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
            "names": _department_names(session),
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
    reason, show = _text(posted.get("reason")), _text(posted.get("show"))
    revoked, problems = _attempt(
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


# -- usage and the daily indicator ---------------------------------------------------------------


def _usage_scope(actor: Actor, settings: Settings) -> str | None:
    """Whose apps' calls the viewer sees (as the JSON twin): the bureau's staff every app's
    (None), everyone else their own department's apps'."""
    return None if actor.department == settings.bureau_department else actor.department


def _usage(session: Session, actor: Actor, settings: Settings, days: int) -> UsageReport:
    return usage.usage_report(
        session,
        days=days,
        department=_usage_scope(actor, settings),
        daily_target=settings.exchange_daily_target,
    )


def indicator(calls_today: int, daily_target: int) -> dict[str, Any]:
    """Today's queries and verifications against the plan's daily indicator."""
    share = calls_today / daily_target if daily_target else None
    return {"calls_today": calls_today, "daily_target": daily_target, "share": share}


@router.get(CONSOLE + "/usage")
def usage_page(
    request: Request,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    days: int = Query(7, ge=1, le=366),
) -> HTMLResponse:
    """Calls, errors, refusals, rows and latency per service, app and day; the chart of calls
    per day by kind of service; today's total against the daily indicator."""
    report = _usage(session, who.actor, platform.settings, days)
    return _page(
        request,
        who,
        "exchange/usage.html",
        {
            "section": "usage",
            "report": report,
            "scope": _usage_scope(who.actor, platform.settings),
            "days": days,
            "choices": USAGE_DAYS,
            "names": _department_names(session),
            "slowest_ms": usage.BUCKETS_MS[-1],
            "chart_url": f"{CONSOLE}/usage/chart?days={days}",
            "json_url": f"{API}/usage?days={days}",
            **indicator(report.calls_today, report.daily_target),
        },
    )


@router.get(CONSOLE + "/usage/chart")
def usage_chart(
    request: Request,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    days: int = Query(7, ge=1, le=366),
) -> JSONResponse:
    """The usage chart's figures: calls per Beijing day in total (``calls``) and per kind of
    service (``series``, for stacking), every day of the window present."""
    report = _usage(session, who.actor, platform.settings, days)
    today = utcnow().astimezone(BEIJING).date()
    axis = [(today - timedelta(days=n)).isoformat() for n in reversed(range(days))]
    per_kind = {kind: dict.fromkeys(axis, 0) for kind in ServiceKind}
    for row in report.data:
        if row.day in per_kind[row.kind]:
            per_kind[row.kind][row.day] += row.calls
    lang = page_language(request)
    series = [
        {"name": translate(lang, f"exchange.kind.{kind.value}"), "data": list(counts.values())}
        for kind, counts in per_kind.items()
        if any(counts.values())
    ]
    totals = [sum(counts[day] for counts in per_kind.values()) for day in axis]
    return JSONResponse({"days": axis, "calls": totals, "series": series})


@router.get(CONSOLE + "/indicator")
def indicator_tile(
    request: Request, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> HTMLResponse:
    """The console home's tile (an htmx fragment)."""
    figures = indicator(usage.calls_today(session), platform.settings.exchange_daily_target)
    return _page(request, who, "exchange/_indicator.html", figures)
