"""Public accounts' pages on the portal: register, sign in, my account, apply, API key.

- ``/account/register``: two steps (a code to the e-mail address or phone, then name and
  password); ``/account/login`` and ``/account/logout`` use the console's session cookie and
  CSRF handling, but admit public accounts only (staff sign in on the console);
- ``/account``: the member's applications (state, deadline, decision note; a reply when the
  approver asks for more) and the API key (issued once an application is approved, shown
  once, revocable and re-issuable);
- ``/datasets/{name}/apply``: the application form of a conditional dataset.

Forms shown before sign-in carry a double-submit token (a cookie on ``/account`` and a form
field); signed-in forms carry the session's CSRF token. The pages work without scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from rongshu.catalog.schemas import OpenType
from rongshu.core.errors import (
    AccountLocked,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RongshuError,
)
from rongshu.core.i18n import translate
from rongshu.core.identity import service as identity
from rongshu.core.identity.models import User
from rongshu.core.identity.schemas import Actor, IssuedApiKey
from rongshu.core.platform import Platform
from rongshu.opendata import account_messages as _messages  # noqa: F401  (registers messages)
from rongshu.opendata import accounts, conditional
from rongshu.opendata.models import OpenAccount
from rongshu.opendata.pages import invalid_inputs
from rongshu.opendata.publishing import dataset_row
from rongshu.opendata.schemas import ConditionalApply, RegistrationFinish
from rongshu.web.deps import (
    FormToken,
    PlatformDep,
    SessionDep,
    check_csrf,
    public_base_url,
    request_id,
    security_policy,
    session_user,
)
from rongshu.web.pages import close_session, here, open_session, safe_next
from rongshu.web.templating import page_language, register_templates, render

router = APIRouter(include_in_schema=False)
register_templates(Path(__file__).parent / "templates")

ACCOUNT = "/account"
#: The double-submit token of the forms shown before sign-in (register, sign in).
FORM_COOKIE = "rongshu_account_csrf"
FORM_TOKEN = FormToken(FORM_COOKIE, ACCOUNT)
R = TypeVar("R")


@dataclass(frozen=True)
class Member:
    """A signed-in public account: the user, their portal account and the actor they are."""

    user: User
    account: OpenAccount
    actor: Actor

    @property
    def view(self) -> dict[str, str]:
        return {
            "display_name": self.user.display_name,
            "username": self.user.username,
            "contact": accounts.mask_contact(self.account.contact),
        }


def _member(request: Request, platform: Platform, session: Session) -> Member | None:
    """The public account signed in, or None; staff signed in on the console are refused."""
    user = session_user(request, platform, session)
    if user is None:
        return None
    account = accounts.account_of(session, user.id)
    if account is None:
        raise PermissionDenied(
            "these pages are for public accounts registered on the portal; "
            "staff work in the console"
        )
    return Member(user, account, accounts.member_actor(user, request_id=request_id(request)))


async def _posting_member(request: Request, platform: Platform, session: Session) -> Member | None:
    """The member who posted a form (its CSRF token checked), or None: nobody signed in."""
    member = _member(request, platform, session)
    if member is not None:
        await check_csrf(request)
    return member


def _safe_next(value: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    return safe_next(value, default=ACCOUNT)


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{ACCOUNT}/login?next={quote(here(request))}", status_code=303)


def _page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    member: Member | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """An account page with the member bar and the message of the step just ``done``."""
    done = request.query_params.get("done", "")
    key = f"opendata.account.done.{done}"
    message = translate(page_language(request), key) if done else ""
    full = {
        "member": member.view if member else None,
        "done": "" if message == key else message,
        **context,
    }
    return render(
        request,
        template,
        full,
        status_code=status_code,
        actor=member.actor if member else None,
    )


# -- problems shown beside a form ------------------------------------------------------------


def _invalid(lang: str, exc: ValidationError) -> dict[str, str]:
    return invalid_inputs(lang, exc, "opendata.account.invalid")


def _problem(lang: str, exc: RongshuError, **params: object) -> dict[str, str]:
    for detail in exc.details:
        name = str(detail.get("field", ""))
        key = f"opendata.account.problem.{name}.{detail.get('reason')}"
        text = translate(lang, key, **{**params, **detail})
        if text != key or name:
            return {name: text if text != key else exc.message}
    return {"": exc.message}


def _attempt(
    lang: str, step: Callable[[], R], **params: object
) -> tuple[R | None, dict[str, str], int]:
    """Run one posted step: its result, or the problems to show beside the form and the
    status to answer with. Not-found and not-allowed go to the error page."""
    try:
        return step(), {}, 200
    except ValidationError as exc:
        return None, _invalid(lang, exc), 422
    except (PermissionDenied, NotFound):
        raise
    except RongshuError as exc:
        return None, _problem(lang, exc, **params), exc.status


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


# -- forms before sign-in --------------------------------------------------------------------


def _form_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A form shown before sign-in, with its double-submit token."""
    token = FORM_TOKEN.value(request)
    response = _page(request, template, {**context, "csrf_token": token}, status_code=status_code)
    FORM_TOKEN.set(request, response, token)
    return response


def _signed_in(response: Response, platform: Platform, session: Session, user: User) -> Response:
    """``response``, with a new session for ``user`` and without the form token."""
    open_session(response, platform, session, user)
    FORM_TOKEN.clear(response)
    return response


# -- register --------------------------------------------------------------------------------


def _register_page(
    request: Request,
    platform: Platform,
    session: Session,
    *,
    step: str,
    posted: dict[str, str],
    errors: dict[str, str] | None = None,
    sent: accounts.CodeSent | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    policy = security_policy(platform, session)
    return _form_page(
        request,
        "opendata/account/register.html",
        {
            "step": step,
            "posted": posted,
            "errors": errors or {},
            "sent": sent,
            "minutes": int(accounts.CODE_LIFETIME.total_seconds() // 60),
            "password_min": policy.password_min_length,
            "next": _safe_next(posted.get("next")),
        },
        status_code=status_code,
    )


@router.get(ACCOUNT + "/register")
def register_form(
    request: Request, platform: PlatformDep, session: SessionDep, next: str | None = None
) -> Response:
    """Step one: the contact to prove."""
    if session_user(request, platform, session) is not None:
        return RedirectResponse(ACCOUNT, status_code=303)
    return _register_page(
        request, platform, session, step="contact", posted={"next": _safe_next(next)}
    )


@router.post(ACCOUNT + "/register/code")
async def send_code(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    """Send a one-time code, then step two: the code, a display name and a password."""
    form = await request.form()
    posted = {n: _text(form.get(n)) for n in ("contact", "next")}
    lang = page_language(request)
    if not FORM_TOKEN.matches(request, _text(form.get("csrf_token"))):
        return _register_page(
            request, platform, session, step="contact", posted=posted,
            errors={"": translate(lang, "opendata.account.login.expired")}, status_code=403,
        )  # fmt: skip
    sent, problems, status = _attempt(
        lang,
        lambda: accounts.send_code(
            platform, session, contact=posted["contact"], request_id=request_id(request)
        ),
    )
    if sent is None:
        return _register_page(
            request, platform, session, step="contact", posted=posted, errors=problems,
            status_code=status,
        )  # fmt: skip
    posted["contact"] = sent.contact
    return _register_page(request, platform, session, step="finish", posted=posted, sent=sent)


@router.post(ACCOUNT + "/register")
async def register(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    """Finish: check the code, make the account, sign in."""
    form = await request.form()
    names = ("contact", "code", "display_name", "password", "password_confirm", "next")
    values = {n: form.get(n) for n in names}
    posted = {n: _text(v) for n, v in values.items() if n not in ("password", "password_confirm")}
    password = values["password"] if isinstance(values["password"], str) else ""
    confirm = values["password_confirm"] if isinstance(values["password_confirm"], str) else ""
    lang = page_language(request)
    policy = security_policy(platform, session)

    def again(errors: dict[str, str], status_code: int) -> HTMLResponse:
        return _register_page(
            request, platform, session, step="finish", posted=posted, errors=errors,
            status_code=status_code,
        )  # fmt: skip

    if not FORM_TOKEN.matches(request, _text(form.get("csrf_token"))):
        return again({"": translate(lang, "opendata.account.login.expired")}, 403)
    if password != confirm:
        return again(
            {"password_confirm": translate(lang, "opendata.account.problem.password.mismatch")},
            422,
        )
    try:
        data = RegistrationFinish(
            contact=posted["contact"],
            code=posted["code"],
            display_name=posted["display_name"],
            password=password,
        )
    except ValidationError as exc:
        return again(_invalid(lang, exc), 422)
    try:
        account = accounts.register(platform, session, data=data, request_id=request_id(request))
    except (PermissionDenied, NotFound):
        raise
    except RongshuError as exc:
        if any(d.get("field") == "code" for d in exc.details):
            session.commit()  # keep the wrong try counted
        else:
            session.rollback()
        return again(_problem(lang, exc, min=policy.password_min_length), exc.status)
    user = identity.get_user(session, accounts.account_public(session, account).username)
    next_url = _safe_next(posted.get("next"))
    done = "&" if "?" in next_url else "?"
    redirect = RedirectResponse(f"{next_url}{done}done=registered", status_code=303)
    return _signed_in(redirect, platform, session, user)


# -- sign in and out -------------------------------------------------------------------------


def _login_page(
    request: Request,
    *,
    next_url: str,
    login: str = "",
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return _form_page(
        request,
        "opendata/account/login.html",
        {"next": next_url, "login": login, "error": error},
        status_code=status_code,
    )


@router.get(ACCOUNT + "/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, next_url=_safe_next(next))


@router.post(ACCOUNT + "/login")
async def login(request: Request, platform: PlatformDep) -> Response:
    """Check the password (with the platform's lockout); public accounts only."""
    form = await request.form()
    login_text, next_url = _text(form.get("login")), _safe_next(_text(form.get("next")))
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    lang = page_language(request)
    if not FORM_TOKEN.matches(request, _text(form.get("csrf_token"))):
        error = translate(lang, "opendata.account.login.expired")
        return _login_page(
            request, next_url=next_url, login=login_text, error=error, status_code=403
        )
    with platform.db.session_scope() as session:
        username = accounts.username_for_login(session, login_text)
        try:
            user = identity.authenticate(
                session,
                username=username,
                password=password,
                policy=security_policy(platform, session),
                ledger=platform.ledger,
                request_id=request_id(request),
            )
        except AccountLocked:
            session.commit()  # keep the failure count even though sign-in failed
            error, status = translate(lang, "opendata.account.login.locked"), 423
        except NotAuthenticated:
            session.commit()
            error, status = translate(lang, "opendata.account.login.failed"), 401
        else:
            if accounts.account_of(session, user.id) is None:
                error, status = translate(lang, "opendata.account.login.not_member"), 403
            else:
                redirect = RedirectResponse(next_url, status_code=303)
                return _signed_in(redirect, platform, session, user)
    return _login_page(
        request, next_url=next_url, login=login_text, error=error, status_code=status
    )


@router.post(ACCOUNT + "/logout")
async def logout(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    rid = request_id(request)
    return await close_session(
        request,
        platform,
        session,
        actor=lambda user: accounts.member_actor(user, request_id=rid),
        then="/",
    )


# -- my account ------------------------------------------------------------------------------


def _account_page(
    request: Request,
    platform: Platform,
    session: Session,
    member: Member,
    *,
    issued: IssuedApiKey | None = None,
    errors: dict[str, str] | None = None,
    replies: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    granted = conditional.granted_datasets(platform, session, member.account)
    response = _page(
        request,
        "opendata/account/home.html",
        {
            "account": accounts.account_public(session, member.account),
            "applications": conditional.my_applications(session, member.account),
            "granted": granted,
            "keys": conditional.keys(session, member.account),
            "issued": issued,
            "example_dataset": granted[0].name if granted else "",
            "base_url": public_base_url(request, platform),
            "errors": errors or {},
            "replies": replies or {},
        },
        member=member,
        status_code=status_code,
    )
    if issued is not None:
        response.headers["Cache-Control"] = "no-store"  # the key is shown this once
    return response


@router.get(ACCOUNT)
def account_home(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    """The member's applications and API key."""
    member = _member(request, platform, session)
    if member is None:
        return _to_login(request)
    return _account_page(request, platform, session, member)


@router.post(ACCOUNT + "/key")
async def issue_key(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    """Issue a key (replacing a live one) and show it this once."""
    member = await _posting_member(request, platform, session)
    if member is None:
        return _to_login(request)
    lang = page_language(request)
    issued, problems, status = _attempt(
        lang,
        lambda: conditional.issue_key(
            platform, session, account=member.account, actor=member.actor
        ),
    )
    if issued is None:
        session.rollback()
        return _account_page(
            request, platform, session, member, errors=problems, status_code=status
        )
    return _account_page(request, platform, session, member, issued=issued)


@router.post(ACCOUNT + "/key/revoke")
async def revoke_key(request: Request, platform: PlatformDep, session: SessionDep) -> Response:
    """Stop the member's key at once."""
    member = await _posting_member(request, platform, session)
    if member is None:
        return _to_login(request)
    conditional.revoke_keys(platform, session, account=member.account, actor=member.actor)
    return RedirectResponse(f"{ACCOUNT}?done=key_revoked", status_code=303)


@router.post(ACCOUNT + "/applications/{number}/reply")
async def reply(
    request: Request, number: str, platform: PlatformDep, session: SessionDep
) -> Response:
    """Answer the approver's request for more information."""
    member = await _posting_member(request, platform, session)
    if member is None:
        return _to_login(request)
    form = await request.form()
    note = _text(form.get("note"))
    lang = page_language(request)
    replied, problems, status = _attempt(
        lang,
        lambda: conditional.reply(
            platform,
            session,
            account=member.account,
            number=number,
            note=conditional.check_note(note),
            actor=member.actor,
        ),
    )
    if replied is None:
        session.rollback()
        return _account_page(
            request, platform, session, member,
            errors={number: " ".join(problems.values())}, replies={number: note},
            status_code=status,
        )  # fmt: skip
    return RedirectResponse(f"{ACCOUNT}?done=replied#application-{number}", status_code=303)


# -- apply for a conditional dataset ---------------------------------------------------------


def _apply_page(
    request: Request,
    session: Session,
    member: Member,
    name: str,
    *,
    posted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    dataset = conditional.conditional_dataset(session, name)
    names = identity.department_names(session)
    return _page(
        request,
        "opendata/account/apply.html",
        {
            "dataset": dataset,
            "owner": names.get(dataset.owner_department, dataset.owner_department),
            "condition": conditional.open_condition(session, dataset.resource_code),
            "posted": posted or {"expected_daily_calls": "100", "valid_days": "365"},
            "errors": errors or {},
        },
        member=member,
        status_code=status_code,
    )


def _to_dataset(name: str) -> RedirectResponse:
    return RedirectResponse(f"/datasets/{quote(name, safe='')}", status_code=303)


def _needs_application(session: Session, name: str) -> bool:
    """Whether dataset ``name`` is conditional (404 for no such active dataset); a dataset
    open to everyone sends the visitor back to its page, where it is downloaded."""
    return dataset_row(session, name, active_only=True).access == OpenType.CONDITIONAL.value


@router.get("/datasets/{name}/apply")
def apply_form(request: Request, name: str, platform: PlatformDep, session: SessionDep) -> Response:
    """The application form of a conditional dataset (sign in first)."""
    member = _member(request, platform, session)
    if member is None:
        return _to_login(request)
    if not _needs_application(session, name):
        return _to_dataset(name)
    return _apply_page(request, session, member, name)


@router.post("/datasets/{name}/apply")
async def apply(
    request: Request, name: str, platform: PlatformDep, session: SessionDep
) -> Response:
    """Submit the application: an exchange application to the owner department."""
    member = await _posting_member(request, platform, session)
    if member is None:
        return _to_login(request)
    if not _needs_application(session, name):
        return _to_dataset(name)
    form = await request.form()
    fields = ("purpose", "scenario", "expected_daily_calls", "valid_days")
    posted = {n: _text(form.get(n)) for n in fields}
    lang = page_language(request)
    made, problems, status = _attempt(
        lang,
        lambda: conditional.apply(
            platform,
            session,
            account=member.account,
            name=name,
            data=ConditionalApply.model_validate(
                {k: v for k, v in posted.items() if v or k in ("purpose",)}
            ),
            actor=member.actor,
        ),
    )
    if made is None:
        session.rollback()
        return _apply_page(
            request, session, member, name, posted=posted, errors=problems, status_code=status
        )
    anchor = quote(made.number, safe="")
    return RedirectResponse(f"{ACCOUNT}?done=applied#application-{anchor}", status_code=303)
