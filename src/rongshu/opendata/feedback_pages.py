"""Pages of the public's feedback: data requests (数据需求, ``/requests``) and the showcase of
applications (应用成果, ``/showcase``), each with its JSON twin; and the console pages where a
department's data stewards answer the requests addressed to it
(``/console/opendata/requests``) and the bureau approves or refuses showcase entries
(``/console/opendata/showcase``).

Everything goes through ``rongshu.opendata.feedback``; forms are plain POSTs with the session's
CSRF token, answered by a redirect (or the page again with the problems beside the inputs).
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from rongshu.core.errors import Conflict, PermissionDenied, ValidationFailed
from rongshu.core.i18n import translate
from rongshu.core.identity import service as identity
from rongshu.core.identity.models import User
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import PUBLIC_DEPARTMENT
from rongshu.core.platform import Platform
from rongshu.opendata import feedback, service
from rongshu.opendata.pages import problems_of, render_portal, sign_in_url
from rongshu.opendata.schemas import (
    DataRequestCreate,
    RequestState,
    ShowcaseCreate,
    ShowcaseState,
)
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf, request_id, session_user
from rongshu.web.pages import ConsoleUser, ConsoleUserDep, render_console
from rongshu.web.templating import page_language, register_nav

router = APIRouter(include_in_schema=False)
REQUESTS: Final = "/requests"
SHOWCASE: Final = "/showcase"
CONSOLE: Final = "/console/opendata"
PAGE_SIZE: Final = 20
MAX_PAGE: Final = 500

register_nav("opendata.nav.requests", REQUESTS, permission=None, order=6)
register_nav("opendata.nav.showcase", SHOWCASE, permission=None, order=7)
register_nav(
    "opendata.nav.feedback", CONSOLE + "/requests", permission=Permission.VIEW_CONSOLE, order=55
)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return min(int(raw), MAX_PAGE) if raw.isdigit() and int(raw) > 0 else 1


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _departments(session: Session) -> dict[str, str]:
    """Departments a request may be addressed to (every one but the public's own)."""
    names = service.department_names(session)
    names.pop(PUBLIC_DEPARTMENT, None)
    return names


def _actor(request: Request, user: User) -> Actor:
    return identity.user_actor(user, request_id=request_id(request))


# -- data requests (public) ---------------------------------------------------------------------


def _request_filters(request: Request, names: dict[str, str]) -> tuple[str, RequestState | None]:
    department = request.query_params.get("department", "").strip()
    state_value = request.query_params.get("state", "").strip()
    state = RequestState(state_value) if state_value in {s.value for s in RequestState} else None
    return (department if department in names else ""), state


def _requests_page(
    request: Request,
    platform: Platform,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    posted: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    user = session_user(request, platform, session)
    names = _departments(session)
    department, state = _request_filters(request, names)
    page = _page_number(request)
    found, total = feedback.list_requests(
        session,
        department=department or None,
        state=state,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )

    def page_url(number: int) -> str:
        query = {"department": department, "state": state.value if state else ""}
        query = {k: v for k, v in query.items() if v}
        if number > 1:
            query["page"] = str(number)
        return REQUESTS + (f"?{urlencode(query)}" if query else "")

    context = {
        "requests": found,
        "total": total,
        "page": page,
        "pages": _pages(total),
        "page_url": page_url,
        "departments": names,
        "department": department,
        "state": state.value if state else "",
        "states": [s.value for s in RequestState],
        "signed_in": user is not None,
        "sign_in_next": REQUESTS + "#new-request",
        "errors": errors or {},
        "posted": posted or {},
    }
    return render_portal(request, user, "opendata/requests.html", context, status_code=status_code)


@router.get(REQUESTS)
def requests_page(request: Request, platform: PlatformDep, session: SessionDep) -> HTMLResponse:
    return _requests_page(request, platform, session)


@router.get(REQUESTS + ".json")
def requests_json(request: Request, session: SessionDep) -> JSONResponse:
    names = _departments(session)
    department, state = _request_filters(request, names)
    page = _page_number(request)
    found, total = feedback.list_requests(
        session,
        department=department or None,
        state=state,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return JSONResponse(
        {
            "ok": True,
            "count": total,
            "page": page,
            "page_size": PAGE_SIZE,
            "requests": [r.model_dump(mode="json") for r in found],
        }
    )


@router.post(REQUESTS)
async def create_request(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    user = session_user(request, platform, session)
    if user is None:
        return RedirectResponse(sign_in_url(REQUESTS + "#new-request"), status_code=303)
    await check_csrf(request)
    form = await request.form()
    posted = {n: _text(form, n) for n in ("title", "description", "department_code")}
    lang = page_language(request)
    try:
        made = feedback.create_request(
            session,
            data=DataRequestCreate.model_validate(posted),
            actor=_actor(request, user),
            requester=user.display_name,
            ledger=platform.ledger,
        )
    except (ValidationError, ValidationFailed) as exc:
        session.rollback()
        return _requests_page(
            request, platform, session,
            errors=problems_of(lang, exc), posted=posted, status_code=422,
        )  # fmt: skip
    return RedirectResponse(f"{REQUESTS}?done=requested#request-{made.id}", status_code=303)


# -- the showcase (public) ----------------------------------------------------------------------


def _showcase_page(
    request: Request,
    platform: Platform,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    posted: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    user = session_user(request, platform, session)
    page = _page_number(request)
    shown, total = feedback.list_showcase(session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    mine = (
        feedback.list_showcase(session, state=None, submitter_id=user.id, limit=50)[0]
        if user is not None
        else []
    )
    titles = {d.name: d.title for d in service.list_datasets(session)}
    context = {
        "entries": shown,
        "total": total,
        "page": page,
        "pages": _pages(total),
        "page_url": lambda n: SHOWCASE + (f"?page={n}" if n > 1 else ""),
        "mine": [m for m in mine if m.state is not ShowcaseState.APPROVED],
        "titles": titles,
        "signed_in": user is not None,
        "sign_in_next": SHOWCASE + "#new-showcase",
        "errors": errors or {},
        "posted": posted or {},
    }
    return render_portal(request, user, "opendata/showcase.html", context, status_code=status_code)


@router.get(SHOWCASE)
def showcase_page(request: Request, platform: PlatformDep, session: SessionDep) -> HTMLResponse:
    return _showcase_page(request, platform, session)


@router.get(SHOWCASE + ".json")
def showcase_json(request: Request, session: SessionDep) -> JSONResponse:
    page = _page_number(request)
    shown, total = feedback.list_showcase(session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return JSONResponse(
        {
            "ok": True,
            "count": total,
            "page": page,
            "page_size": PAGE_SIZE,
            "showcase": [s.model_dump(mode="json") for s in shown],
        }
    )


@router.post(SHOWCASE)
async def submit_showcase(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    user = session_user(request, platform, session)
    if user is None:
        return RedirectResponse(sign_in_url(SHOWCASE + "#new-showcase"), status_code=303)
    await check_csrf(request)
    form = await request.form()
    chosen = [v.strip() for v in form.getlist("datasets") if isinstance(v, str) and v.strip()]
    posted: dict[str, Any] = {n: _text(form, n) for n in ("title", "description", "url")}
    posted["datasets"] = chosen
    lang = page_language(request)
    try:
        feedback.submit_showcase(
            session,
            data=ShowcaseCreate.model_validate(posted),
            actor=_actor(request, user),
            submitter=user.display_name,
            ledger=platform.ledger,
        )
    except (ValidationError, ValidationFailed) as exc:
        session.rollback()
        return _showcase_page(
            request, platform, session,
            errors=problems_of(lang, exc), posted=posted, status_code=422,
        )  # fmt: skip
    return RedirectResponse(f"{SHOWCASE}?done=submitted#my-showcase", status_code=303)


# -- the console: answering requests, deciding the showcase -------------------------------------


def _console_page(
    request: Request,
    who: ConsoleUser,
    platform: Platform,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    done = request.query_params.get("done", "")
    lang = page_language(request)
    key = f"opendata.done.{done}"
    message = translate(lang, key) if done else ""
    bureau = platform.settings.bureau_department
    response = render_console(
        request,
        who,
        template,
        {
            "done": "" if message == key else message,
            "may_decide_showcase": feedback.may_decide_showcase(who.actor, bureau),
            "steward": who.actor.can(Permission.STEWARD_DATA),
            **context,
        },
    )
    response.status_code = status_code
    return response


def _console_requests(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    *,
    errors: dict[int, str] | None = None,
    posted: dict[int, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    show = request.query_params.get("show", "open")
    state = RequestState.OPEN if show == "open" else None
    bureau = platform.settings.bureau_department
    # Each department sees what is addressed to it; the bureau oversees them all.
    everyone = who.actor.department == bureau
    found, total = feedback.list_requests(
        session,
        department=None if everyone else who.actor.department,
        state=state,
        limit=feedback.MAX_PAGE,
    )
    context = {
        "section": "requests",
        "show": "open" if state else "all",
        "requests": found,
        "total": total,
        "may_answer": {r.id: feedback.may_answer(who.actor, r.department_code) for r in found},
        "errors": errors or {},
        "posted": posted or {},
    }
    return _console_page(
        request, who, platform, "opendata/console_requests.html", context, status_code=status_code
    )


@router.get(CONSOLE + "/requests")
def console_requests(
    request: Request, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> HTMLResponse:
    return _console_requests(request, who, session, platform)


@router.post(CONSOLE + "/requests/{request_id}/answer")
async def answer_request(
    request: Request,
    request_id: int,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    await check_csrf(request)
    form = await request.form()
    answer = _text(form, "answer")
    try:
        feedback.answer_request(
            session, request_id=request_id, answer=answer, actor=who.actor, ledger=platform.ledger
        )
    except ValidationFailed as exc:
        session.rollback()
        problem = problems_of(page_language(request), exc)
        return _console_requests(
            request, who, session, platform,
            errors={request_id: next(iter(problem.values()))},
            posted={request_id: answer}, status_code=422,
        )  # fmt: skip
    return RedirectResponse(f"{CONSOLE}/requests?done=answered", status_code=303)


def _console_showcase(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    *,
    errors: dict[int, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    if not feedback.may_decide_showcase(who.actor, platform.settings.bureau_department):
        raise PermissionDenied("only the big-data bureau decides what the showcase shows")
    show = request.query_params.get("show", "pending")
    state = {
        "pending": ShowcaseState.PENDING,
        "approved": ShowcaseState.APPROVED,
        "refused": ShowcaseState.REFUSED,
    }.get(show, ShowcaseState.PENDING)
    entries, total = feedback.list_showcase(session, state=state, limit=feedback.MAX_PAGE)
    titles = {d.name: d.title for d in service.list_datasets(session)}
    context = {
        "section": "showcase",
        "show": state.value,
        "entries": entries,
        "total": total,
        "titles": titles,
        "errors": errors or {},
    }
    return _console_page(
        request, who, platform, "opendata/console_showcase.html", context, status_code=status_code
    )


@router.get(CONSOLE + "/showcase")
def console_showcase(
    request: Request, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> HTMLResponse:
    return _console_showcase(request, who, session, platform)


@router.post(CONSOLE + "/showcase/{showcase_id}/decision")
async def decide_showcase(
    request: Request,
    showcase_id: int,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    await check_csrf(request)
    form = await request.form()
    action = _text(form, "action")
    if action not in ("approve", "refuse"):
        raise ValidationFailed(
            "choose approve or refuse", details=[{"field": "action", "reason": "unknown"}]
        )
    try:
        feedback.decide_showcase(
            session,
            showcase_id=showcase_id,
            approve=action == "approve",
            reason=_text(form, "reason"),
            actor=who.actor,
            bureau=platform.settings.bureau_department,
            ledger=platform.ledger,
        )
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        lang = page_language(request)
        message = (
            next(iter(problems_of(lang, exc).values()))
            if isinstance(exc, ValidationFailed)
            else exc.message
        )
        return _console_showcase(
            request, who, session, platform, errors={showcase_id: message}, status_code=422
        )
    done = "approved" if action == "approve" else "refused"
    return RedirectResponse(f"{CONSOLE}/showcase?done={done}", status_code=303)
