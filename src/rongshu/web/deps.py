"""FastAPI dependencies: the platform, a metadata session, and who is calling.

Callers authenticate either with an app's API key (``X-API-Key: rsk_...`` or
``Authorization: ApiKey rsk_...``) or with the console session cookie. Unsafe methods under a
cookie session must carry the session's CSRF token (``X-CSRF-Token`` header or ``csrf_token``
form field).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from rongshu.core.errors import NotAuthenticated, PermissionDenied
from rongshu.core.identity import service as identity
from rongshu.core.identity.models import User
from rongshu.core.identity.schemas import Actor, SecurityPolicy
from rongshu.core.jobs import JobQueue
from rongshu.core.platform import Platform
from rongshu.exchange.gateway import CallRequest

SESSION_COOKIE = "rongshu_session"
LOGIN_CSRF_COOKIE = "rongshu_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_queue(request: Request) -> JobQueue | None:
    """The job queue requested background work goes to; ``None``: run it in the request."""
    queue: JobQueue | None = request.app.state.queue
    return queue


QueueDep = Annotated[JobQueue | None, Depends(get_queue)]


def get_session(platform: PlatformDep) -> Iterator[Session]:
    """A metadata session for one request: committed when the route succeeds."""
    with platform.db.session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


def security_policy(platform: Platform, session: Session) -> SecurityPolicy:
    """The effective login/session policy (security admin's values over settings)."""
    return identity.effective_security_policy(session, platform.settings)


def session_user(request: Request, platform: Platform, session: Session) -> User | None:
    """The user signed in through the session cookie, or None. Remembers the CSRF token."""
    token = request.cookies.get(SESSION_COOKIE, "")
    found = identity.resolve_session(session, token=token, secret=platform.secret)
    if found is None:
        return None
    request.state.csrf_token = found.csrf_token
    user = session.get(User, found.user_id)
    if user is None or not user.is_active:
        return None
    return user


def _api_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key is not None:
        return key.strip()
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() not in ("apikey", "bearer") or not value.strip():
            raise NotAuthenticated("unsupported Authorization header: use 'ApiKey rsk_...'")
        return value.strip()
    return None


async def current_actor(request: Request, platform: PlatformDep, session: SessionDep) -> Actor:
    """The app or user behind this request; 401 in the standard shape when there is none."""
    rid = request_id(request)
    key = _api_key(request)
    if key is not None:
        app = identity.authenticate_api_key(session, api_key=key, secret=platform.secret)
        return identity.app_actor(app, request_id=rid)
    user = session_user(request, platform, session)
    if user is None:
        raise NotAuthenticated("sign in, or send an API key in the X-API-Key header")
    if request.method not in SAFE_METHODS:
        await check_csrf(request)
    return identity.user_actor(user, request_id=rid)


async def check_csrf(request: Request) -> None:
    """Refuse a cookie-authenticated unsafe request without the session's CSRF token."""
    expected = getattr(request.state, "csrf_token", "")
    presented = request.headers.get("x-csrf-token")
    if presented is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        presented = value if isinstance(value, str) else None
    if not expected or not presented or not hmac.compare_digest(expected, presented):
        raise PermissionDenied("missing or wrong CSRF token; reload the page and try again")


ActorDep = Annotated[Actor, Depends(current_actor)]


@dataclass(frozen=True)
class FormToken:
    """The CSRF token of forms shown before sign-in, when there is no session to hold one
    (double submit): the same random value in a strict cookie scoped to ``path`` and in the
    form's ``csrf_token`` field."""

    cookie: str
    path: str

    def value(self, request: Request) -> str:
        """The token the page's forms carry: the one the browser has, or a new one."""
        return request.cookies.get(self.cookie) or secrets.token_urlsafe(32)

    def set(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(
            self.cookie,
            token,
            httponly=True,
            samesite="strict",
            secure=request.app.state.platform.settings.secure_cookies,
            path=self.path,
        )

    def matches(self, request: Request, presented: str) -> bool:
        expected = request.cookies.get(self.cookie, "")
        return bool(expected) and bool(presented) and hmac.compare_digest(expected, presented)

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path=self.path)


def call_request(request: Request, body: bytes) -> CallRequest:
    """What the exchange gateway checks a service call on: with the path and query exactly as
    sent, as the client signed them."""
    raw_path = request.scope.get("raw_path")  # the URL is parsed only for a server without it
    path = (raw_path or request.url.path.encode()).decode("ascii", "replace")
    query = request.scope.get("query_string", b"").decode("ascii", "replace")
    return CallRequest(request_id(request), request.headers, request.method, path, query, body)


def public_base_url(request: Request, platform: Platform) -> str:
    """The site's public address: ``RONGSHU_PUBLIC_URL``, or the one the request came to."""
    return (platform.settings.public_url or str(request.base_url)).rstrip("/")
