"""Public accounts: registration with a one-time code by phone or e-mail, its refusals, and
signing in on the portal without getting into the console."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.core.audit.models import AuditEntry
from rongshu.core.db import utcnow
from rongshu.core.identity import service as identity
from rongshu.core.identity.models import App
from rongshu.core.identity.roles import Role
from rongshu.core.platform import Platform
from rongshu.opendata import accounts
from rongshu.opendata.models import OpenAccount, OpenCode

from ..conftest import PASSWORD, MakeUser

PHONE = "13800138000"
EMAIL = "Zhang.San@Example.com"


def form_token(client: TestClient, path: str = "/account/register") -> str:
    """The double-submit token of a form shown before sign-in."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def outbox_code(platform: Platform, contact: str) -> str:
    """The last code the simulated senders wrote for ``contact``."""
    outbox = platform.settings.data_dir / "outbox"
    lines = []
    for name in ("sms.log", "mail.log"):
        path = outbox / name
        if path.exists():
            lines += path.read_text(encoding="utf-8").splitlines()
    mine = [line.split("\t") for line in lines if line.split("\t")[1] == contact]
    assert mine, f"no message to {contact} in the outbox"
    return re.findall(r"\d{6}", mine[-1][2])[0]


def request_code(client: TestClient, contact: str) -> httpx.Response:
    token = form_token(client)
    return client.post("/account/register/code", data={"contact": contact, "csrf_token": token})


def finish(
    client: TestClient,
    contact: str,
    code: str,
    *,
    name: str = "张三",
    password: str = PASSWORD,
    next_url: str = "",
) -> httpx.Response:
    token = form_token(client)
    data = {
        "contact": contact,
        "code": code,
        "display_name": name,
        "password": password,
        "password_confirm": password,
        "csrf_token": token,
    }
    if next_url:
        data["next"] = next_url
    return client.post("/account/register", data=data, follow_redirects=False)


def register(client: TestClient, platform: Platform, contact: str, name: str = "张三") -> str:
    """Register through the pages (signed in afterwards); returns the stored contact."""
    sent = request_code(client, contact)
    assert sent.status_code == 200, sent.text
    stored, _kind = accounts.normalise_contact(contact)
    done = finish(client, stored, outbox_code(platform, stored), name=name)
    assert done.status_code == 303, done.text
    return stored


def session_csrf(client: TestClient) -> str:
    """The session's CSRF token, as the signed-in account page carries it."""
    page = client.get("/account")
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert found, "the account page carries the session's CSRF token"
    return found.group(1)


def test_register_by_phone_makes_a_public_user_with_an_app(
    client: TestClient, platform: Platform
) -> None:
    sent = request_code(client, "138 0013 8000")
    assert sent.status_code == 200
    assert "验证码已发送至 138****8000" in sent.text
    code = outbox_code(platform, PHONE)
    with platform.db.session_scope() as session:
        stored = session.scalars(select(OpenCode).where(OpenCode.contact == PHONE)).one()
        assert code not in stored.code_hash and len(stored.code_hash) == 64

    done = finish(client, PHONE, code, name="张三")
    assert done.status_code == 303
    assert done.headers["location"] == "/account?done=registered"
    home = client.get(done.headers["location"])
    assert "注册成功" in home.text
    assert "已登录：张三" in home.text
    assert "138****8000" in home.text and PHONE not in home.text

    with platform.db.session_scope() as session:
        account = session.scalars(select(OpenAccount)).one()
        assert (account.contact, account.contact_kind) == (PHONE, "phone")
        user = identity.get_user(session, accounts.account_public(session, account).username)
        assert user.username.startswith("p_") and PHONE not in user.username
        assert identity.user_roles(user) == {Role.PUBLIC_USER}
        assert user.department is None
        app = session.get(App, account.app_id)
        assert app is not None
        assert (app.department.code, app.name) == ("PUBLIC", "张三 的应用")
        assert app.department.name == "社会公众"
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"opendata.account.code_sent", "opendata.account.register"} <= actions

    # The public role has no console access.
    assert client.get("/console", headers={"accept": "text/html"}).status_code == 403


def test_register_by_email_then_sign_out_and_in_with_the_address(
    client: TestClient, platform: Platform
) -> None:
    stored = register(client, platform, EMAIL, name="Zhang San")
    assert stored == "zhang.san@example.com"
    assert (platform.settings.data_dir / "outbox" / "mail.log").exists()
    csrf = session_csrf(client)
    out = client.post("/account/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 303

    token = form_token(client, "/account/login")
    wrong = client.post(
        "/account/login",
        data={"login": EMAIL, "password": "not-the-password", "csrf_token": token},
    )
    assert wrong.status_code == 401 and "账号或密码不正确" in wrong.text
    signed = client.post(
        "/account/login",
        data={"login": "ZHANG.SAN@example.com", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/account"
    home = client.get("/account")
    assert "已登录：Zhang San" in home.text and "zh***@example.com" in home.text


def test_wrong_codes_are_counted_and_the_code_dies_after_five(
    client: TestClient, platform: Platform
) -> None:
    request_code(client, PHONE)
    code = outbox_code(platform, PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    first = finish(client, PHONE, wrong)
    assert first.status_code == 422
    assert "验证码不正确，还可尝试 4 次" in first.text
    for _ in range(4):
        last = finish(client, PHONE, wrong)
    assert "验证码错误次数过多" in last.text
    right = finish(client, PHONE, code)
    assert right.status_code == 422 and "验证码错误次数过多" in right.text
    with platform.db.session_scope() as session:
        assert session.scalars(select(OpenAccount)).first() is None


def test_an_expired_code_is_refused(client: TestClient, platform: Platform) -> None:
    request_code(client, PHONE)
    code = outbox_code(platform, PHONE)
    with platform.db.session_scope() as session:
        row = session.scalars(select(OpenCode)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    refused = finish(client, PHONE, code)
    assert refused.status_code == 422
    assert "验证码已过期，请重新获取" in refused.text


def test_a_code_is_used_once(client: TestClient, platform: Platform) -> None:
    register(client, platform, PHONE)
    with platform.db.session_scope() as session:
        assert session.scalars(select(OpenCode)).one().used_at is not None
        account = session.scalars(select(OpenAccount)).one()
        session.delete(account)  # as if the account were gone: the code must still be dead
    again = finish(TestClient(client.app), PHONE, outbox_code(platform, PHONE))
    assert again.status_code == 422 and "没有待验证的验证码" in again.text


def test_codes_are_not_resent_within_a_minute(client: TestClient, platform: Platform) -> None:
    assert request_code(client, PHONE).status_code == 200
    again = request_code(client, PHONE)
    assert again.status_code == 429
    assert "秒后再试" in again.text
    with platform.db.session_scope() as session:
        row = session.scalars(select(OpenCode)).one()
        row.created_at -= accounts.RESEND_INTERVAL
    assert request_code(client, PHONE).status_code == 200
    # Only the newest code works.
    assert finish(client, PHONE, outbox_code(platform, PHONE)).status_code == 303


def test_a_registered_contact_is_refused(client: TestClient, platform: Platform) -> None:
    register(client, platform, PHONE)
    other = TestClient(client.app)
    refused = request_code(other, "+86 138-0013-8000")
    assert refused.status_code == 409
    assert "已注册" in refused.text


def test_bad_contacts_and_weak_passwords_are_refused_without_using_the_code(
    client: TestClient, platform: Platform
) -> None:
    for bad in ("12345678901", "not-an-address@", "1380013800"):
        refused = request_code(client, bad)
        assert refused.status_code == 422
        assert "请输入有效的邮箱" in refused.text
    request_code(client, PHONE)
    code = outbox_code(platform, PHONE)
    weak = finish(client, PHONE, code, password="short")
    assert weak.status_code == 422 and "密码至少需要 10 个字符" in weak.text
    assert finish(client, PHONE, code).status_code == 303


def test_staff_cannot_use_the_public_sign_in(
    client: TestClient, platform: Platform, make_user: MakeUser
) -> None:
    make_user("steward1", Role.DATA_STEWARD, department="SC")
    token = form_token(client, "/account/login")
    refused = client.post(
        "/account/login", data={"login": "steward1", "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 403 and "工作人员请从工作台登录" in refused.text


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_forms_before_sign_in_need_their_token(client: TestClient) -> None:
    refused = client.post("/account/register/code", data={"contact": PHONE, "csrf_token": "x"})
    assert refused.status_code == 403 and "页面已过期" in refused.text
