"""Conditional open data: a public account applies, the owner department's approver decides in
the exchange workflow, and the account's API key then passes the exchange gateway."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.core.audit.models import AuditEntry
from rongshu.core.errors import Conflict
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.exchange import applications
from rongshu.exchange.schemas import (
    ApplicationState,
    ApprovalAction,
    ApprovalDecision,
    ServiceKind,
)
from rongshu.opendata import accounts, conditional, releases
from rongshu.opendata.models import OpenAccount
from rongshu.opendata.schemas import ConditionalApply

from ..conftest import MakeUser
from .conftest import AIR, CONDITION, FIRMS, Portal
from .test_accounts import register, session_csrf

SERVICE = f"{FIRMS}.open_data"
PURPOSE = "研究福州市企业空间分布"


@pytest.fixture
def firms(portal: Portal) -> str:
    """The conditional enterprise registry opened and released; its dataset name."""
    portal.firms()
    name = portal.open(FIRMS)
    releases.release(portal.platform, name, actor=SYSTEM)
    return name


def apply(client: TestClient, name: str, **fields: str) -> httpx.Response:
    data = {
        "purpose": PURPOSE,
        "scenario": "高校科研项目",
        "expected_daily_calls": "200",
        "valid_days": "180",
        "csrf_token": session_csrf(client),
        **fields,
    }
    return client.post(f"/datasets/{name}/apply", data=data, follow_redirects=False)


def decide(
    platform: Platform, approver: str, number: str, decision: ApprovalDecision
) -> ApplicationState:
    with platform.db.session_scope() as session:
        actor = identity.user_actor(identity.get_user(session, approver))
        return applications.decide(
            session,
            number=number,
            decision=decision,
            actor=actor,
            ledger=platform.ledger,
            settings=platform.settings,
        ).state


def only_number(platform: Platform) -> str:
    with platform.db.session_scope() as session:
        found = applications.list_applications(session, actor=SYSTEM, bureau="DSJ")
    assert found.count == 1
    return found.data[0].number


def test_apply_approve_and_call_with_the_key(
    client: TestClient, platform: Platform, firms: str, make_user: MakeUser
) -> None:
    register(client, platform, "13900139000", name="李研究员")
    form = client.get(f"/datasets/{firms}/apply")
    assert form.status_code == 200
    assert CONDITION in form.text and 'name="purpose"' in form.text

    sent = apply(client, firms)
    assert sent.status_code == 303, sent.text
    number = only_number(platform)
    with platform.db.session_scope() as session:
        pending = applications.get_application(session, number=number, actor=SYSTEM, bureau="DSJ")
    assert pending.state is ApplicationState.PENDING and pending.deadline is not None
    assert (pending.owner_department, pending.consumer_department) == ("SC", "PUBLIC")
    assert pending.kind is ServiceKind.OPEN_DATA
    assert CONDITION in pending.legal_basis and pending.purpose == PURPOSE
    assert "legal_rep" not in pending.columns

    home = client.get("/account")
    row = re.search(rf'data-number="{number}" data-state="(\w+)"', home.text)
    assert row and row.group(1) == "pending"
    assert "待审批" in home.text
    # No key before an approval.
    early = client.post("/account/key", data={"csrf_token": session_csrf(client)})
    assert early.status_code == 409 and "申请获批后才能获取密钥" in early.text
    # Applying again while it is being decided is refused.
    twice = apply(client, firms)
    assert twice.status_code == 409 and number in twice.text

    # The owner department's approver sees it in the exchange inbox and approves it there.
    make_user("sc_approver", Role.APPROVER, department="SC")
    with platform.db.session_scope() as session:
        actor = identity.user_actor(identity.get_user(session, "sc_approver"))
        inbox = applications.list_applications(session, actor=actor, bureau="DSJ", box="inbox")
    assert [a.number for a in inbox.data] == [number]
    approve = ApprovalDecision(action=ApprovalAction.APPROVE, daily_quota=500)
    assert decide(platform, "sc_approver", number, approve) is ApplicationState.APPROVED

    home = client.get("/account")
    assert re.search(rf'data-number="{number}" data-state="approved"', home.text)
    assert 'data-testid="granted-quota">500<' in home.text

    issued = client.post("/account/key", data={"csrf_token": session_csrf(client)})
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    key = re.search(r'data-testid="issued-key-value">(rsk_[^<]+)<', issued.text)
    assert key, "the new key is shown once"
    assert f"datastore_search?resource_id={firms}&amp;limit=5" in issued.text
    assert key.group(1) not in client.get("/account").text  # shown once only

    # The portal's datastore API (CKAN's, raw key in Authorization) answers with the key only;
    # the exchange gateway checks the grant, counts the quota and audits the call.
    search = f"/api/3/action/datastore_search?resource_id={firms}&limit=5"
    assert client.get(search).status_code == 403
    answered = client.get(search, headers={"Authorization": key.group(1)})
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["success"] is True and len(body["result"]["records"]) == 5
    assert "legal_rep" not in body["result"]["records"][0]
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "exchange.open_data")
        ).all()
    assert [(e.department, e.object, e.row_count) for e in audited] == [
        ("PUBLIC", f"service:{SERVICE}", 5)
    ]

    # A member's key sees the member's own application and grant, and no other member's.
    with TestClient(client.app) as other:
        register(other, platform, "13900139001", name="王某")
        assert apply(other, firms).status_code == 303
    mine = client.get("/api/v1/exchange/applications", headers={"X-API-Key": key.group(1)})
    assert [a["number"] for a in mine.json()["data"]] == [number]
    held = client.get("/api/v1/exchange/grants", headers={"X-API-Key": key.group(1)})
    assert [(g["service"], g["app_name"]) for g in held.json()["data"]] == [
        (SERVICE, "李研究员 的应用")
    ]

    # A new key stops the old one; revoking stops the new one.
    again = client.post("/account/key", data={"csrf_token": session_csrf(client)})
    second = re.search(r'data-testid="issued-key-value">(rsk_[^<]+)<', again.text)
    assert second and second.group(1) != key.group(1)
    old = client.get(search, headers={"Authorization": key.group(1)})
    assert old.status_code == 403  # CKAN answers every refusal as an authorization error
    assert "revoked API key" in old.json()["error"]["message"]
    assert client.get(search, headers={"Authorization": second.group(1)}).status_code == 200
    revoked = client.post(
        "/account/key/revoke", data={"csrf_token": session_csrf(client)}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert "密钥已停用" in client.get(revoked.headers["location"]).text
    gone = client.get(search, headers={"Authorization": second.group(1)})
    assert gone.status_code == 403 and "revoked API key" in gone.json()["error"]["message"]


def test_a_refusal_shows_its_reason(
    client: TestClient, platform: Platform, firms: str, make_user: MakeUser
) -> None:
    register(client, platform, "someone@example.org", name="王同学")
    assert apply(client, firms).status_code == 303
    number = only_number(platform)
    make_user("sc_approver", Role.APPROVER, department="SC")
    refuse = ApprovalDecision(action=ApprovalAction.REFUSE, reason="用途描述不清，请补充研究方案")
    assert decide(platform, "sc_approver", number, refuse) is ApplicationState.REFUSED
    home = client.get("/account")
    assert re.search(rf'data-number="{number}" data-state="refused"', home.text)
    assert "已拒绝" in home.text and "用途描述不清，请补充研究方案" in home.text
    assert 'data-testid="key-needs-grant"' in home.text

    # Another member sees nothing of it, on the portal or through the exchange.
    other = TestClient(client.app)
    register(other, platform, "13500135000", name="赵某")
    assert number not in other.get("/account").text
    with platform.db.session_scope() as session:
        account = session.scalars(
            select(OpenAccount).where(OpenAccount.contact == "13500135000")
        ).one()
        user = identity.get_user(session, accounts.account_public(session, account).username)
        seen = applications.list_applications(
            session, actor=identity.user_actor(user), bureau="DSJ"
        )
    assert seen.count == 0


def test_more_information_is_answered_from_the_account_page(
    client: TestClient, platform: Platform, firms: str, make_user: MakeUser
) -> None:
    register(client, platform, "13700137000")
    apply(client, firms)
    number = only_number(platform)
    make_user("sc_approver", Role.APPROVER, department="SC")
    ask = ApprovalDecision(action=ApprovalAction.ASK, reason="请说明研究单位")
    assert decide(platform, "sc_approver", number, ask) is ApplicationState.MORE_INFO
    home = client.get("/account")
    assert "待补充材料" in home.text and 'data-testid="reply-form"' in home.text
    answered = client.post(
        f"/account/applications/{number}/reply",
        data={"note": "福州大学经济学院", "csrf_token": session_csrf(client)},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    with platform.db.session_scope() as session:
        again = applications.get_application(session, number=number, actor=SYSTEM, bureau="DSJ")
    assert again.state is ApplicationState.PENDING and again.deadline is not None


def test_applying_needs_a_signed_in_account_and_a_conditional_dataset(
    client: TestClient, platform: Platform, portal: Portal, firms: str
) -> None:
    first = client.get(f"/datasets/{firms}/apply", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == f"/account/login?next=/datasets/{firms}/apply"

    portal.air()
    air = portal.open(AIR)
    register(client, platform, "13600136000")
    # A dataset open to everyone needs no application: back to its page.
    assert (
        client.get(f"/datasets/{air}/apply", follow_redirects=False).headers["location"]
        == f"/datasets/{air}"
    )
    assert apply(client, air).status_code == 303
    with platform.db.session_scope() as session, pytest.raises(Conflict) as refused:
        account = session.scalars(select(OpenAccount)).one()
        conditional.apply(
            platform,
            session,
            account=account,
            name=air,
            data=ConditionalApply(purpose=PURPOSE),
            actor=SYSTEM,
        )
    assert "open to everyone" in str(refused.value)

    # Without the session's CSRF token the application is refused.
    forged = client.post(f"/datasets/{firms}/apply", data={"purpose": PURPOSE})
    assert forged.status_code == 403
    invalid = apply(client, firms, purpose="x", valid_days="5000")
    assert invalid.status_code == 422
    assert "请说明用途" in invalid.text
    with platform.db.session_scope() as session:
        assert applications.list_applications(session, actor=SYSTEM, bureau="DSJ").count == 0
