"""The page shell: public portal home, preferences, console sign-in and console home."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rongshu.core.errors import AccountLocked, NotAuthenticated
from rongshu.core.i18n import SUPPORTED_LANGUAGES, translate
from rongshu.core.identity import service as identity
from rongshu.core.identity.models import User
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.opendata import service as opendata_service
from rongshu.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    FormToken,
    PlatformDep,
    SessionDep,
    check_csrf,
    request_id,
    security_policy,
    session_user,
)
from rongshu.web.system import console_counts, ingest_panels
from rongshu.web.templating import LANG_COOKIE, TEXT_COOKIE, page_language, render

router = APIRouter(include_in_schema=False)
ONE_YEAR = 365 * 24 * 3600
#: The sign-in form's token (there is no session yet to hold one).
LOGIN_FORM = FormToken(LOGIN_CSRF_COOKIE, "/console/login")


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def safe_next(value: str | None, default: str = "/console") -> str:
    """Only same-site paths are followed after login or a preference change."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def here(request: Request) -> str:
    """This page's path and query, to come back to after signing in."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def open_session(response: Response, platform: Platform, session: Session, user: User) -> None:
    """Sign ``user`` in: a new session, whose cookie goes out with ``response``."""
    token, _csrf = identity.start_session(
        session, user=user, secret=platform.secret, policy=security_policy(platform, session)
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=platform.settings.secure_cookies,
    )


async def close_session(
    request: Request,
    platform: Platform,
    session: Session,
    *,
    actor: Callable[[User], Actor],
    then: str,
) -> Response:
    """Sign out whoever is signed in (audited as ``actor(user)``) and go to ``then``."""
    user = session_user(request, platform, session)
    if user is not None:
        await check_csrf(request)
        identity.end_session(
            session, token=request.cookies.get(SESSION_COOKIE, ""), secret=platform.secret
        )
        platform.ledger.append(actor(user).audit("logout", f"user:{user.username}"))
    response = RedirectResponse(then, status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


class ConsoleUser:
    """The signed-in user and the actor they act as, for console pages."""

    def __init__(self, user: User, actor: Actor) -> None:
        self.user = user
        self.actor = actor

    @property
    def view(self) -> dict[str, object]:
        return {
            "username": self.user.username,
            "display_name": self.user.display_name,
            "roles": sorted(self.actor.roles),
            "department_code": self.actor.department,
        }


def console_user(request: Request, platform: PlatformDep, session: SessionDep) -> ConsoleUser:
    """Console pages need a signed-in user with console access."""
    user = session_user(request, platform, session)
    if user is None:
        raise LoginRequired(here(request))
    actor = identity.user_actor(user, request_id=request_id(request))
    identity.require(actor, Permission.VIEW_CONSOLE, platform.ledger, object_=request.url.path)
    return ConsoleUser(user, actor)


ConsoleUserDep = Annotated[ConsoleUser, Depends(console_user)]


def render_console(
    request: Request, who: ConsoleUser, template: str, context: dict[str, object]
) -> HTMLResponse:
    return render(request, template, context, actor=who.actor, user=who.view)


#: Datasets the portal's home shows.
FEATURED_DATASETS = 6


@router.get("/")
def portal_home(request: Request, session: SessionDep) -> HTMLResponse:
    """The portal's home: figures, the featured open datasets, and the ways in."""
    counts = identity.identity_counts(session)
    opened = opendata_service.portal_counts(session)
    # The search index holds every active dataset already (rebuilt when one changes).
    datasets = request.app.state.dataset_search.index().datasets
    featured = sorted(datasets, key=lambda d: (not d.featured, -d.views, d.title))
    stats = {
        "departments": counts["departments"],
        "datasets": opened["datasets"],
        "open_apis": sum(1 for d in datasets if d.latest is not None),
        "downloads": opened["downloads"],
        "calls": opened["calls"],
    }
    return render(
        request,
        "portal/home.html",
        {"stats": stats, "featured": featured[:FEATURED_DATASETS]},
    )


@router.get("/prefs")
def preferences(
    request: Request, lang: str | None = None, text: str | None = None, next: str | None = None
) -> Response:
    """Set the language or text-size cookie and go back to the page the user was on."""
    response = RedirectResponse(safe_next(next) if next else "/", status_code=303)
    secure = request.app.state.platform.settings.secure_cookies
    if lang in SUPPORTED_LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=ONE_YEAR, samesite="lax", secure=secure)
    if text in ("large", "normal"):
        response.set_cookie(TEXT_COOKIE, text, max_age=ONE_YEAR, samesite="lax", secure=secure)
    return response


def _login_page(
    request: Request,
    *,
    next_url: str,
    error: str | None = None,
    status_code: int = 200,
    username: str = "",
) -> HTMLResponse:
    token = LOGIN_FORM.value(request)
    response = render(
        request,
        "console/login.html",
        {"next": next_url, "error": error, "csrf_token": token, "username": username},
        status_code=status_code,
    )
    LOGIN_FORM.set(request, response, token)
    return response


@router.get("/console/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, next_url=safe_next(next))


@router.post("/console/login")
def login(
    request: Request,
    platform: PlatformDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/console",
) -> Response:
    """Check the password (with lockout) and open a session with a fresh cookie."""
    next_url = safe_next(next)
    lang = page_language(request)
    if not LOGIN_FORM.matches(request, csrf_token):
        return _login_page(
            request, next_url=next_url, error=translate(lang, "login.expired"), status_code=403
        )
    with platform.db.session_scope() as session:
        try:
            user = _authenticate(platform, session, request, username, password)
        except AccountLocked as exc:
            error, status = translate(lang, "login.locked") + f" ({exc.message})", 423
        except NotAuthenticated:
            error, status = translate(lang, "login.failed"), 401
        else:
            response = RedirectResponse(next_url, status_code=303)
            open_session(response, platform, session, user)
            LOGIN_FORM.clear(response)
            return response
    return _login_page(
        request, next_url=next_url, error=error, status_code=status, username=username
    )


def _authenticate(
    platform: Platform, session: Session, request: Request, username: str, password: str
) -> User:
    try:
        return identity.authenticate(
            session,
            username=username.strip(),
            password=password,
            policy=security_policy(platform, session),
            ledger=platform.ledger,
            request_id=request_id(request),
        )
    except (AccountLocked, NotAuthenticated):
        session.commit()  # keep the failure count even though sign-in failed
        raise


@router.post("/console/logout")
async def logout(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    return await close_session(
        request, platform, session, actor=identity.user_actor, then="/console/login"
    )


@router.get("/console")
def console_home(request: Request, who: ConsoleUserDep, session: SessionDep) -> HTMLResponse:
    context = {"counts": console_counts(session), **ingest_panels(session, who.actor)}
    return render_console(request, who, "console/home.html", context)


@router.get("/console/counts")
def console_counts_partial(
    request: Request, who: ConsoleUserDep, session: SessionDep
) -> HTMLResponse:
    """The htmx fragment the console home polls."""
    return render_console(request, who, "console/_counts.html", {"counts": console_counts(session)})


def login_redirect(next_url: str) -> RedirectResponse:
    return RedirectResponse(f"/console/login?next={quote(next_url)}", status_code=303)
