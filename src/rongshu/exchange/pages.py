"""Console pages of data sharing and exchange (共享交换), and the page shell they all share.

- The **service catalog** ``/console/exchange`` and one **service**: its fields, how to call it,
  and (for developers) the application form.
- The **usage** dashboard against the plan's daily indicator (whose tile the console home loads
  from ``/console/exchange/indicator``).

Applications and grants have their pages in ``rongshu.exchange.application_pages``. Every step
goes through the exchange services, as the JSON twins under ``/api/v1/exchange`` do; pages work
without scripts (only the chart and the home tile need them).
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
from rongshu.core.settings import Settings
from rongshu.core.workdays import BEIJING
from rongshu.exchange import applications, services, usage
from rongshu.exchange.messages import register_exchange_messages
from rongshu.exchange.schemas import ApplicationCreate, ServiceKind, ServicePublic, UsageReport
from rongshu.security.schemas import MaskingProfile
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf
from rongshu.web.pages import ConsoleUser, ConsoleUserDep, render_console
from rongshu.web.templating import page_language, register_nav, register_templates

router = APIRouter(include_in_schema=False)
CONSOLE = "/console/exchange"
API = "/api/v1/exchange"
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


def posted_text(value: object) -> str:
    """A posted input's text, trimmed ("" for none, or for a file)."""
    return value.strip() if isinstance(value, str) else ""


def exchange_page(
    request: Request,
    who: ConsoleUser,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """An exchange console page, with the message of the step just ``done`` (a query
    parameter) and the URL helpers every exchange template uses."""
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


def attempt(session: Session, lang: str, step: Callable[[], R]) -> tuple[R | None, dict[str, str]]:
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
    return exchange_page(
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
            "names": identity.department_names(session),
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
    return exchange_page(
        request,
        who,
        "exchange/service.html",
        {
            "section": "catalog",
            "service": service,
            "fields": fields,
            "names": identity.department_names(session),
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
    values: dict[str, Any] = {name: posted_text(posted.get(name)) for name in _APPLY_INPUTS}
    values["columns"] = [c for c in posted.getlist("columns") if isinstance(c, str)]
    data = {**values, "service": code, "valid_until": _end_of_day(values["valid_until"])}
    made, errors = attempt(
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
    return exchange_page(
        request,
        who,
        "exchange/usage.html",
        {
            "section": "usage",
            "report": report,
            "scope": _usage_scope(who.actor, platform.settings),
            "days": days,
            "choices": USAGE_DAYS,
            "names": identity.department_names(session),
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
    return exchange_page(request, who, "exchange/_indicator.html", figures)
