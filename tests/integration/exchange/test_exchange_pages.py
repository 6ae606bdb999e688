"""The exchange console: a developer applies through the form, the owner's approver decides in
the inbox (deadline marks, a reason to refuse), the grant appears and can be revoked, usage is
charted against the daily indicator; every page in English too."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.core.db import utcnow
from rongshu.core.identity.roles import Role
from rongshu.core.platform import Platform
from rongshu.core.workdays import BEIJING
from rongshu.exchange.models import ExchangeApplication
from rongshu.exchange.schemas import ServiceKind

from ..conftest import MakeUser, sign_in
from .conftest import CONSUMER, OWNER, MakeShared, Shared

# The metadata database is incidental to pages (the services' tests cover both engines).
pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)

CONSOLE = "/console/exchange"


def _form(csrf: dict[str, str], **values: object) -> dict[str, object]:
    return {"csrf_token": csrf["X-CSRF-Token"], **values}


def _apply(
    client: TestClient, csrf: dict[str, str], shared: Shared, **overrides: object
) -> httpx.Response:
    """Post the application form for the verification service, filled in except ``overrides``."""
    until = (utcnow().astimezone(BEIJING) + timedelta(days=90)).date().isoformat()
    values: dict[str, object] = {
        "app_id": str(shared.app_id),
        "columns": ["name", "birth_date"],
        "purpose": "低保资格核验",
        "legal_basis": "《社会救助暂行办法》第十一条",
        "scenario": "窗口办理时核验申请人身份",
        "expected_daily_calls": "500",
        "valid_until": until,
        "masking_profile": "standard",
        **overrides,
    }
    return client.post(
        f"{CONSOLE}/services/{shared.code}.verify/applications",
        data=_form(csrf, **values),
        follow_redirects=False,
    )


def _number(response_location: str) -> str:
    found = re.search(r"/applications/([^?]+)", response_location)
    assert found, response_location
    return found.group(1)


def test_a_developer_applies_and_the_owners_approver_grants_it(
    platform: Platform, client: TestClient, make_user: MakeUser, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    developer = make_user("mz_dev", Role.DEVELOPER, department=CONSUMER)
    approver = make_user("ga_approver", Role.APPROVER, department=OWNER)

    csrf = sign_in(platform, client, developer)
    catalog = client.get(CONSOLE, params={"kind": "verify"})
    assert catalog.status_code == 200
    assert f'data-code="{shared.code}.verify"' in catalog.text
    assert f'data-code="{shared.code}.batch"' not in catalog.text  # filtered by kind
    assert "有条件共享" in catalog.text
    page = client.get(f"{CONSOLE}/services/{shared.code}.verify")
    assert 'data-testid="apply-form"' in page.text
    assert "X-API-Key: $RONGSHU_API_KEY" in page.text and "/api/v1/docs" in page.text
    assert shared.api_key not in page.text

    submitted = _apply(client, csrf, shared)
    assert submitted.status_code == 303
    number = _number(submitted.headers["location"])
    shown = client.get(submitted.headers["location"])
    assert number in shown.text and 'data-state="pending"' in shown.text
    assert 'data-testid="decision-form"' not in shown.text  # the applicant does not decide
    mine = client.get(f"{CONSOLE}/applications", params={"box": "mine"})
    assert f'data-number="{number}"' in mine.text

    # Past its deadline, the application is marked red in the approver's inbox.
    with platform.db.session_scope() as session:
        row = session.scalar(
            select(ExchangeApplication).where(ExchangeApplication.number == number)
        )
        assert row is not None
        row.deadline = utcnow() - timedelta(hours=1)
    csrf = sign_in(platform, client, approver)
    inbox = client.get(f"{CONSOLE}/applications")  # an approver lands on the inbox
    assert f'data-number="{number}"' in inbox.text
    assert 'data-due="overdue"' in inbox.text and "row-overdue" in inbox.text

    url = f"{CONSOLE}/applications/{number}"
    refused = client.post(f"{url}/decision", data=_form(csrf, action="refuse", reason=""))
    assert refused.status_code == 422
    assert "拒绝或要求补充材料时须说明理由" in refused.text
    assert 'data-state="pending"' in refused.text

    approved = client.post(
        f"{url}/decision", data=_form(csrf, action="approve", reason="符合条件", daily_quota="800")
    )
    assert approved.status_code == 200  # after the redirect
    assert 'data-state="approved"' in approved.text and 'data-testid="grant-link"' in approved.text
    assert re.search(r'data-testid="response-hours">\d+\.\d 小时', approved.text)

    grants = client.get(f"{CONSOLE}/grants")
    row_html = re.search(r'<tr id="grant-\d+".*?</tr>', grants.text, re.S)
    assert row_html and f"{shared.code}.verify" in row_html.group(0)
    assert number in row_html.group(0) and "800" in row_html.group(0)
    assert 'data-testid="revoke-form"' in row_html.group(0)  # the owner's approver may revoke

    sign_in(platform, client, developer)
    theirs = client.get(f"{CONSOLE}/grants")
    assert f"{shared.code}.verify" in theirs.text
    assert 'data-testid="revoke-form"' not in theirs.text


def test_the_form_explains_what_is_wrong_and_keeps_what_was_typed(
    platform: Platform, client: TestClient, make_user: MakeUser, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    csrf = sign_in(platform, client, make_user("mz_dev", Role.DEVELOPER, department=CONSUMER))
    empty = _apply(client, csrf, shared, columns=[], purpose="", scenario="说明已填写")
    assert empty.status_code == 422
    assert "请至少选择一个信息项" in empty.text and "请填写用途" in empty.text
    assert "说明已填写" in empty.text and "Traceback" not in empty.text

    # The service's own refusal, beside its input: a batch grant must carry the key fields.
    batch = client.post(
        f"{CONSOLE}/services/{shared.code}.batch/applications",
        data=_form(
            csrf,
            app_id=str(shared.app_id),
            columns=["name"],
            purpose="统计分析",
            legal_basis="《统计法》",
            expected_daily_calls="1",
            valid_until=(utcnow() + timedelta(days=30)).date().isoformat(),
            masking_profile="strict",
        ),
    )
    assert batch.status_code == 422 and "批量交换和订阅须包含全部关键信息项" in batch.text


def test_asking_for_more_and_the_reply(
    platform: Platform, client: TestClient, make_user: MakeUser, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    developer = make_user("mz_dev", Role.DEVELOPER, department=CONSUMER)
    csrf = sign_in(platform, client, developer)
    number = _number(_apply(client, csrf, shared).headers["location"])
    url = f"{CONSOLE}/applications/{number}"

    csrf = sign_in(platform, client, make_user("ga_approver", Role.APPROVER, department=OWNER))
    asked = client.post(f"{url}/decision", data=_form(csrf, action="ask", reason="请附上文件"))
    assert 'data-state="more_info"' in asked.text and 'data-testid="reply-form"' not in asked.text

    csrf = sign_in(platform, client, developer)
    page = client.get(url)
    assert 'data-testid="reply-form"' in page.text and "请附上文件" in page.text
    short = client.post(f"{url}/reply", data=_form(csrf, note="x"))
    assert short.status_code == 422 and "请填写补充说明" in short.text
    replied = client.post(f"{url}/reply", data=_form(csrf, note="已附批复文件"))
    assert 'data-state="pending"' in replied.text
    assert re.findall(r'data-action="(\w+)"', replied.text) == [
        "submit",
        "ask",
        "reply",
    ]


def test_revoking_a_grant_needs_a_reason(
    platform: Platform, client: TestClient, make_user: MakeUser, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    grant_id = shared.grant(ServiceKind.VERIFY, ["name"])
    csrf = sign_in(platform, client, make_user("ga_approver", Role.APPROVER, department=OWNER))
    url = f"{CONSOLE}/grants/{grant_id}/revoke"

    bare = client.post(url, data=_form(csrf, reason="", show="active"))
    assert bare.status_code == 422 and "请填写理由" in bare.text
    assert f'data-grant="{grant_id}" data-active="true"' in bare.text

    revoked = client.post(url, data=_form(csrf, reason="用途已结束", show="active"))
    assert revoked.status_code == 200 and "授权已撤销" in revoked.text
    assert f'data-grant="{grant_id}"' not in revoked.text  # no longer in force
    everything = client.get(f"{CONSOLE}/grants", params={"show": "all"})
    assert f'data-grant="{grant_id}" data-active="false"' in everything.text
    assert "用途已结束" in everything.text


def test_usage_is_charted_against_the_daily_indicator(
    platform: Platform, client: TestClient, make_user: MakeUser, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    shared.grant(ServiceKind.VERIFY, ["name"])
    person = shared.rows[0]
    for claimed in (person["name"], "不是本人", person["name"]):
        answer = client.post(
            f"/api/v1/exchange/services/{shared.code}.verify/verify",
            headers={"X-API-Key": shared.api_key},
            json={"key": {"id_number": person["id_number"]}, "claims": {"name": claimed}},
        )
        assert answer.status_code == 200, answer.text
    client.app.state.gateway.usage.flush()  # type: ignore[attr-defined]

    sign_in(platform, client, make_user("bureau_dev", Role.DEVELOPER, department="DSJ"))
    page = client.get(f"{CONSOLE}/usage")
    assert page.status_code == 200
    assert 'data-testid="usage-chart"' in page.text and "vendor/echarts.min.js" in page.text
    row = re.search(r'data-testid="usage-row" data-service="([^"]+)".*?</tr>', page.text, re.S)
    assert row and row.group(1) == f"{shared.code}.verify"
    assert 'data-testid="usage-calls">3<' in row.group(0)
    assert re.search(r'data-testid="exchange-calls-today"[^>]*>3<', page.text)

    chart = client.get(f"{CONSOLE}/usage/chart", params={"days": 7}).json()
    assert len(chart["days"]) == 7 and chart["calls"][-1] == 3
    assert chart["series"] == [{"name": "核验", "data": [0, 0, 0, 0, 0, 0, 3]}]

    home = client.get("/console")
    assert 'hx-get="/console/exchange/indicator"' in home.text
    tile = client.get(f"{CONSOLE}/indicator")
    assert re.search(r'data-testid="exchange-calls-today"[^>]*>3<', tile.text)
    assert "800,000" in tile.text  # settings.exchange_daily_target


def test_every_page_answers_in_english(
    platform: Platform, client: TestClient, make_user: MakeUser, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    csrf = sign_in(platform, client, make_user("mz_dev", Role.DEVELOPER, department=CONSUMER))
    number = _number(_apply(client, csrf, shared).headers["location"])
    client.cookies.set("rongshu_lang", "en")
    expected = {
        CONSOLE: "Service catalog",
        f"{CONSOLE}/services/{shared.code}.verify": "Apply for this service",
        f"{CONSOLE}/applications?box=mine": "Our applications",
        f"{CONSOLE}/applications/{number}": "Application " + number,
        f"{CONSOLE}/grants": "In force",
        f"{CONSOLE}/usage": "Queries and verifications today",
    }
    for url, text in expected.items():
        page = client.get(url)
        assert page.status_code == 200, url
        assert '<html lang="en">' in page.text and text in page.text, url
        assert not re.search(r"\bexchange\.[a-z_]+\.", page.text), url  # no raw message key
