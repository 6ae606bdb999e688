"""Applications for shared data: granted at once when unconditional, otherwise decided by the
owner department's approver within working days, escalated when overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.catalog.schemas import ShareType
from rongshu.core.audit.models import AuditEntry
from rongshu.core.db import utcnow
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.core.workdays import deadline
from rongshu.exchange import applications
from rongshu.exchange.schemas import ApplicationState, ServiceKind

from ..conftest import MakeUser, sign_in
from .conftest import CODE, CONSUMER, OWNER, MakeShared

#: The workflow's database code runs on both engines in the first test; the rest is logic.
sqlite_only = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)


def _form(shared_app_id: int, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "service": f"{CODE}.verify",
        "app_id": shared_app_id,
        "columns": ["id_number", "name"],
        "purpose": "社保资格认证",
        "legal_basis": "《社会保险法》",
        "scenario": "窗口办理时核验身份",
        "expected_daily_calls": 5000,
        "valid_until": (utcnow() + timedelta(days=90)).isoformat(),
    }
    form.update(changes)
    return form


@pytest.fixture
def people(make_user: MakeUser) -> dict[str, str]:
    return {
        "developer": make_user("mz-dev", Role.DEVELOPER, department=CONSUMER),
        "approver": make_user("ga-approver", Role.APPROVER, department=OWNER),
        "stranger": make_user("jy-approver", Role.APPROVER, department="JY"),
        "bureau": make_user("dsj-approver", Role.APPROVER, department="DSJ"),
    }


def test_a_conditional_application_waits_for_the_owner_and_approval_makes_a_grant(
    platform: Platform, client: TestClient, make_shared: MakeShared, people: dict[str, str]
) -> None:
    shared = make_shared(rows=20)
    headers = sign_in(platform, client, people["developer"])
    made = client.post("/api/v1/exchange/applications", json=_form(shared.app_id), headers=headers)
    assert made.status_code == 201, made.text
    application = made.json()
    assert application["state"] == "pending"
    assert application["owner_department"] == OWNER
    expected = deadline(utcnow(), platform.settings.exchange_approval_days)
    assert datetime.fromisoformat(application["deadline"]) == expected
    assert application["grant_id"] is None

    # Someone from a third department may not decide, and is recorded trying.
    client.cookies.clear()
    headers = sign_in(platform, client, people["stranger"])
    refused = client.post(
        f"/api/v1/exchange/applications/{application['number']}/decision",
        json={"action": "approve"},
        headers=headers,
    )
    assert refused.status_code == 403
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        denied = session.scalars(
            select(AuditEntry.actor).where(
                AuditEntry.action == "exchange.application.decide", AuditEntry.outcome == "denied"
            )
        ).all()
    assert denied == [people["stranger"]]

    client.cookies.clear()
    headers = sign_in(platform, client, people["approver"])
    inbox = client.get("/api/v1/exchange/applications?box=inbox").json()
    assert [a["number"] for a in inbox["data"]] == [application["number"]]
    approved = client.post(
        f"/api/v1/exchange/applications/{application['number']}/decision",
        json={"action": "approve", "reason": "同意", "daily_quota": 100},
        headers=headers,
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["state"] == "approved" and body["grant_id"] is not None
    assert body["response_hours"] is not None
    grants = client.get("/api/v1/exchange/grants").json()["data"]
    assert [(g["id"], g["daily_quota"], g["columns"]) for g in grants] == [
        (body["grant_id"], 100, ["id_number", "name"])
    ]
    # A decided application cannot be decided again.
    again = client.post(
        f"/api/v1/exchange/applications/{application['number']}/decision",
        json={"action": "refuse", "reason": "改主意"},
        headers=headers,
    )
    assert again.status_code == 409


@sqlite_only
def test_refusing_or_asking_needs_a_reason_and_a_reply_restarts_the_clock(
    platform: Platform, client: TestClient, make_shared: MakeShared, people: dict[str, str]
) -> None:
    shared = make_shared(rows=20)
    headers = sign_in(platform, client, people["developer"])
    number = client.post(
        "/api/v1/exchange/applications", json=_form(shared.app_id), headers=headers
    ).json()["number"]
    client.cookies.clear()
    approver = sign_in(platform, client, people["approver"])
    url = f"/api/v1/exchange/applications/{number}/decision"
    bare = client.post(url, json={"action": "refuse"}, headers=approver)
    assert bare.status_code == 422
    assert bare.json()["details"] == [{"field": "reason", "reason": "required"}]
    asked = client.post(
        url, json={"action": "ask", "reason": "请补充法律依据原文"}, headers=approver
    )
    assert asked.json()["state"] == "more_info" and asked.json()["deadline"] is None

    client.cookies.clear()
    developer = sign_in(platform, client, people["developer"])
    replied = client.post(
        f"/api/v1/exchange/applications/{number}/reply",
        json={"note": "已上传《社会保险法》第七十四条原文"},
        headers=developer,
    )
    assert replied.json()["state"] == "pending" and replied.json()["deadline"] is not None

    client.cookies.clear()
    approver = sign_in(platform, client, people["approver"])
    refused = client.post(
        url, json={"action": "refuse", "reason": "超出最小必要范围"}, headers=approver
    )
    assert refused.json()["state"] == "refused"
    history = client.get(f"/api/v1/exchange/applications/{number}").json()["events"]
    assert [e["action"] for e in history] == ["submit", "ask", "reply", "refuse"]
    assert history[-1]["note"] == "超出最小必要范围"


@sqlite_only
def test_an_unconditional_resource_is_granted_at_once_and_recorded(
    platform: Platform, client: TestClient, make_shared: MakeShared, people: dict[str, str]
) -> None:
    shared = make_shared(rows=20, share_type=ShareType.UNCONDITIONAL)
    headers = sign_in(platform, client, people["developer"])
    made = client.post(
        "/api/v1/exchange/applications",
        json=_form(shared.app_id, service=f"{CODE}.query"),
        headers=headers,
    ).json()
    assert made["state"] == "approved" and made["grant_id"] is not None
    assert made["decision_reason"] == "无条件共享，自动批准"
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"exchange.application.submit", "exchange.grant.create"} <= actions


@sqlite_only
def test_bad_applications_get_clear_errors(
    platform: Platform, client: TestClient, make_shared: MakeShared, people: dict[str, str]
) -> None:
    shared = make_shared(rows=20)
    headers = sign_in(platform, client, people["developer"])
    url = "/api/v1/exchange/applications"
    unknown = client.post(url, json=_form(shared.app_id, columns=["salary"]), headers=headers)
    assert unknown.status_code == 422 and "salary" in unknown.json()["message"]
    past = client.post(
        url, json=_form(shared.app_id, valid_until="2020-01-01T00:00:00+08:00"), headers=headers
    )
    assert past.status_code == 422
    injected = client.post(
        url,
        json=_form(
            shared.app_id,
            row_filter=[{"column": "district; DROP TABLE exchange_grant", "value": "1"}],
        ),
        headers=headers,
    )
    assert injected.status_code == 422
    no_column = client.post(
        url,
        json=_form(shared.app_id, row_filter=[{"column": "salary", "value": "1"}]),
        headers=headers,
    )
    assert no_column.status_code == 422 and "salary" in no_column.json()["message"]
    batch_without_key = client.post(
        url,
        json=_form(shared.app_id, service=f"{CODE}.batch", columns=["name"]),
        headers=headers,
    )
    assert batch_without_key.status_code == 422
    assert batch_without_key.json()["details"][0]["reason"] == "key_missing"


@sqlite_only
def test_overdue_applications_escalate_to_the_bureau_which_may_then_decide(
    platform: Platform, client: TestClient, make_shared: MakeShared, people: dict[str, str]
) -> None:
    shared = make_shared(rows=20)
    headers = sign_in(platform, client, people["developer"])
    number = client.post(
        "/api/v1/exchange/applications", json=_form(shared.app_id), headers=headers
    ).json()["number"]
    with platform.db.session_scope() as session:
        assert applications.escalate_overdue(session, ledger=platform.ledger, actor=SYSTEM) == []
        later = utcnow() + timedelta(days=30)
        assert applications.escalate_overdue(
            session, ledger=platform.ledger, actor=SYSTEM, now=later
        ) == [number]
    client.cookies.clear()
    bureau = sign_in(platform, client, people["bureau"])
    inbox = client.get("/api/v1/exchange/applications?box=inbox").json()["data"]
    assert [(a["number"], a["escalated_at"] is not None) for a in inbox] == [(number, True)]
    decided = client.post(
        f"/api/v1/exchange/applications/{number}/decision",
        json={"action": "approve", "reason": "督办后批准"},
        headers=bureau,
    )
    assert decided.json()["state"] == ApplicationState.APPROVED.value
    assert decided.json()["kind"] == ServiceKind.VERIFY.value


@sqlite_only
def test_an_approver_may_tighten_masking_but_never_loosen_it(
    platform: Platform, client: TestClient, make_shared: MakeShared, people: dict[str, str]
) -> None:
    shared = make_shared(rows=20)
    headers = sign_in(platform, client, people["developer"])
    number = client.post(
        "/api/v1/exchange/applications",
        json=_form(shared.app_id, masking_profile="standard"),
        headers=headers,
    ).json()["number"]
    client.cookies.clear()
    approver = sign_in(platform, client, people["approver"])
    url = f"/api/v1/exchange/applications/{number}/decision"
    looser = client.post(
        url, json={"action": "approve", "masking_profile": "clear"}, headers=approver
    )
    assert looser.status_code == 422
    tighter = client.post(
        url, json={"action": "approve", "masking_profile": "strict"}, headers=approver
    )
    assert tighter.json()["masking_profile"] == "strict"
