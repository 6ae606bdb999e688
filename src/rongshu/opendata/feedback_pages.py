"""Pages of the public's feedback: data requests (数据需求, ``/requests``) and the showcase of
applications (应用成果, ``/showcase``), each with its JSON twin; and the console pages where a
department's data stewards answer the requests addressed to it
(``/console/opendata/requests``) and the bureau approves or refuses showcase entries
(``/console/opendata/showcase``).

Everything goes through ``rongshu.opendata.feedback``; forms are plain POSTs with the session's
CSRF token, answered by a redirect (or the page again with the problems beside the inputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any, Final, NamedTuple, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
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
    DataRequestPublic,
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
E = TypeVar("E", bound=Enum)

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


def _offset(page: int) -> int:
    return (page - 1) * PAGE_SIZE


def _state(request: Request, param: str, states: type[E]) -> E | None:
    """The state the query parameter ``param`` names, or None when it names none."""
    value = request.query_params.get(param, "").strip()
    return next((s for s in states if s.value == value), None)


def _json_page(key: str, items: Sequence[BaseModel], *, total: int, page: int) -> JSONResponse:
    """One page of a list as the JSON twins answer it."""
    return JSONResponse(
        {
            "ok": True,
            "count": total,
            "page": page,
            "page_size": PAGE_SIZE,
            key: [item.model_dump(mode="json") for item in items],
        }
    )


async def _signed_in_form(
    request: Request, platform: Platform, session: Session, *, back: str
) -> tuple[User, FormData] | RedirectResponse:
    """The signed-in person and their posted form (CSRF checked), or a redirect to sign in
    that comes back to ``back``."""
    user = session_user(request, platform, session)
    if user is None:
        return RedirectResponse(sign_in_url(back), status_code=303)
    await check_csrf(request)
    return user, await request.form()


async def _console_form(request: Request) -> FormData:
    await check_csrf(request)
    return await request.form()


def _dataset_titles(session: Session) -> dict[str, str]:
    return {d.name: d.title for d in service.list_datasets(session)}


def _departments(session: Session) -> dict[str, str]:
    """Departments a request may be addressed to (every one but the public's own)."""
    names = identity.department_names(session)
    names.pop(PUBLIC_DEPARTMENT, None)
    return names


def _actor(request: Request, user: User) -> Actor:
    return identity.user_actor(user, request_id=request_id(request))


# -- data requests (public) ---------------------------------------------------------------------


class _RequestList(NamedTuple):
    """One page of the public list of data requests, as the query string chose it."""

    departments: dict[str, str]
    department: str
    state: RequestState | None
    page: int
    requests: list[DataRequestPublic]
    total: int


def _request_list(request: Request, session: Session) -> _RequestList:
    names = _departments(session)
    department = request.query_params.get("department", "").strip()
    department = department if department in names else ""
    state = _state(request, "state", RequestState)
    page = _page_number(request)
    found, total = feedback.list_requests(
        session,
        department=department or None,
        state=state,
        limit=PAGE_SIZE,
        offset=_offset(page),
    )
    return _RequestList(names, department, state, page, found, total)


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
    listed = _request_list(request, session)
    state = listed.state.value if listed.state else ""

    def page_url(number: int) -> str:
        query = {k: v for k, v in {"department": listed.department, "state": state}.items() if v}
        if number > 1:
            query["page"] = str(number)
        return REQUESTS + (f"?{urlencode(query)}" if query else "")

    context = {
        "requests": listed.requests,
        "total": listed.total,
        "page": listed.page,
        "pages": _pages(listed.total),
        "page_url": page_url,
        "departments": listed.departments,
        "department": listed.department,
        "state": state,
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
    listed = _request_list(request, session)
    return _json_page("requests", listed.requests, total=listed.total, page=listed.page)


@router.post(REQUESTS)
async def create_request(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    signed_in = await _signed_in_form(request, platform, session, back=REQUESTS + "#new-request")
    if isinstance(signed_in, Response):
        return signed_in
    user, form = signed_in
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
    shown, total = feedback.list_showcase(session, limit=PAGE_SIZE, offset=_offset(page))
    mine = (
        feedback.list_showcase(session, state=None, submitter_id=user.id, limit=50)[0]
        if user is not None
        else []
    )
    titles = _dataset_titles(session)
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
    shown, total = feedback.list_showcase(session, limit=PAGE_SIZE, offset=_offset(page))
    return _json_page("showcase", shown, total=total, page=page)


@router.post(SHOWCASE)
async def submit_showcase(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    signed_in = await _signed_in_form(request, platform, session, back=SHOWCASE + "#new-showcase")
    if isinstance(signed_in, Response):
        return signed_in
    user, form = signed_in
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


def _first_problem(request: Request, exc: ValidationFailed) -> str:
    """The refusal as one line beside the form of the item it concerns."""
    return next(iter(problems_of(page_language(request), exc).values()))


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
    form = await _console_form(request)
    answer = _text(form, "answer")
    try:
        feedback.answer_request(
            session, request_id=request_id, answer=answer, actor=who.actor, ledger=platform.ledger
        )
    except ValidationFailed as exc:
        session.rollback()
        return _console_requests(
            request, who, session, platform,
            errors={request_id: _first_problem(request, exc)},
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
    state = _state(request, "show", ShowcaseState) or ShowcaseState.PENDING
    entries, total = feedback.list_showcase(session, state=state, limit=feedback.MAX_PAGE)
    titles = _dataset_titles(session)
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
    form = await _console_form(request)
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
        message = _first_problem(request, exc) if isinstance(exc, ValidationFailed) else exc.message
        return _console_showcase(
            request, who, session, platform, errors={showcase_id: message}, status_code=422
        )
    done = "approved" if action == "approve" else "refused"
    return RedirectResponse(f"{CONSOLE}/showcase?done={done}", status_code=303)
