"""The page shell through the in-process client: sign-in, lockout, console, audit page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from rongshu.core.identity.roles import Role
from rongshu.core.platform import Platform

from ..conftest import PASSWORD, MakeUser, login


def post_login(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )


def test_console_redirects_to_login_and_back(client: TestClient, make_user: MakeUser) -> None:
    make_user("admin", Role.PLATFORM_ADMIN)
    response = client.get("/console/audit?actor=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/audit%3Factor%3Dx"
    login(client, "admin")
    home = client.get("/console")
    assert 'data-testid="count-users"' in home.text


def test_five_wrong_passwords_lock_the_account_in_the_browser(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("clerk", Role.DATA_STEWARD)
    statuses = [post_login(client, "clerk", "wrong-password").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    locked = post_login(client, "clerk", PASSWORD)
    assert locked.status_code == 423
    assert 'data-testid="login-error"' in locked.text


def test_login_without_the_form_token_is_refused(client: TestClient, make_user: MakeUser) -> None:
    make_user("admin", Role.PLATFORM_ADMIN)
    response = client.post(
        "/console/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "rongshu_session" not in response.cookies


def test_session_cookie_is_http_only(client: TestClient, make_user: MakeUser) -> None:
    make_user("admin", Role.PLATFORM_ADMIN)
    response = post_login(client, "admin", PASSWORD)
    cookie = response.headers["set-cookie"]
    assert "rongshu_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_audit_page_is_for_the_auditor_only(
    platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    make_user("admin", Role.PLATFORM_ADMIN)
    make_user("aud", Role.AUDITOR)
    login(client, "admin")
    refused = client.get("/console/audit", headers={"Accept": "text/html"})
    assert refused.status_code == 403 and "<html" in refused.text
    assert "/console/audit" not in client.get("/console").text  # no nav entry either
    client.cookies.clear()
    csrf = login(client, "aud")
    page = client.get("/console/audit", params={"action": "login", "since": "", "until": ""})
    assert page.status_code == 200 and "admin" in page.text
    verified = client.post("/console/audit/verify", data={"csrf_token": csrf})
    assert verified.status_code == 200 and "<html" in verified.text  # full page without htmx
    fragment = client.post(
        "/console/audit/verify", headers={"HX-Request": "true", "X-CSRF-Token": csrf}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text


def test_preferences_are_remembered_and_next_stays_on_site(client: TestClient) -> None:
    response = client.get("/prefs?lang=en&text=large&next=/console/login", follow_redirects=False)
    assert response.headers["location"] == "/console/login"
    page = client.get("/")
    assert '<html lang="en"' in page.text and "large-text" in page.text
    evil = client.get("/prefs?lang=en&next=//evil.example", follow_redirects=False)
    assert evil.headers["location"] == "/console"


def test_pages_answer_404_as_a_page_for_browsers(client: TestClient) -> None:
    response = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "<html" in response.text
    assert response.headers["x-request-id"] in response.text


def test_pages_are_chinese_by_default_whatever_the_browser_says(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="zh-CN"' in page.text
