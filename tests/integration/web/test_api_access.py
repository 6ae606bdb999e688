"""Who may do what through the API: 三员分立, API keys, CSRF, and the one error shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.core.audit.models import AuditEntry
from rongshu.core.identity.roles import Role
from rongshu.core.platform import Platform

from ..conftest import MakeUser, sign_in

ERROR_KEYS = {"ok", "status", "error", "message", "request_id", "details"}


def assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["ok"] is False
    assert (body["status"], body["error"]) == (status, code)
    assert body["request_id"] == response.headers["x-request-id"]
    return body  # type: ignore[no-any-return]


def denied_entries(platform: Platform, actor: str) -> list[AuditEntry]:
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.actor == actor, AuditEntry.outcome == "denied")
            )
        )


NEW_USER = {"username": "newbie", "display_name": "新人", "password": "long-enough-pw", "roles": []}
POLICY_CHANGE = {"login_max_failures": 3}

# (role, method, path, body): the other two officers' work that each must be refused.
SEPARATION_CASES = [
    (Role.PLATFORM_ADMIN, "GET", "/api/v1/audit/entries", None),
    (Role.PLATFORM_ADMIN, "GET", "/api/v1/audit/export", None),
    (Role.PLATFORM_ADMIN, "PUT", "/api/v1/security/policy", POLICY_CHANGE),
    (Role.SECURITY_ADMIN, "POST", "/api/v1/users", NEW_USER),
    (Role.SECURITY_ADMIN, "PUT", "/api/v1/users/someone/roles", {"roles": ["developer"]}),
    (Role.SECURITY_ADMIN, "GET", "/api/v1/audit/entries", None),
    (Role.AUDITOR, "POST", "/api/v1/users", NEW_USER),
    (Role.AUDITOR, "PUT", "/api/v1/security/policy", POLICY_CHANGE),
    (
        Role.AUDITOR,
        "POST",
        "/api/v1/departments",
        {"code": "X", "name": "X", "region_code": "350100"},
    ),
]


@pytest.mark.parametrize(("role", "method", "path", "body"), SEPARATION_CASES)
def test_separated_roles_are_refused_each_others_work(
    platform: Platform,
    client: TestClient,
    make_user: MakeUser,
    role: Role,
    method: str,
    path: str,
    body: dict | None,  # type: ignore[type-arg]
) -> None:
    username = make_user(f"u_{role.value}", role)
    headers = sign_in(platform, client, username)
    response = client.request(method, path, json=body, headers=headers)
    assert_error(response, 403, "permission_denied")
    assert len(denied_entries(platform, username)) == 1


def test_each_officer_can_do_their_own_work(
    platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    admin = make_user("admin", Role.PLATFORM_ADMIN)
    security = make_user("sec", Role.SECURITY_ADMIN)
    auditor = make_user("aud", Role.AUDITOR)
    headers = sign_in(platform, client, admin)
    assert client.post("/api/v1/users", json=NEW_USER, headers=headers).status_code == 201
    headers = sign_in(platform, client, security)
    changed = client.put("/api/v1/security/policy", json=POLICY_CHANGE, headers=headers)
    assert changed.status_code == 200 and changed.json()["login_max_failures"] == 3
    sign_in(platform, client, auditor)
    platform.ledger.flush()
    entries = client.get("/api/v1/audit/entries", params={"action": "user.create"}).json()
    assert [e["object"] for e in entries["data"] if e["actor"] == "admin"] == ["user:newbie"]
    policy = client.get("/api/v1/audit/entries", params={"actor": "sec"}).json()["data"]
    assert [e["action"] for e in policy] == ["security_policy.update"]


def test_no_user_holds_two_separated_roles(
    platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    admin = make_user("admin", Role.PLATFORM_ADMIN)
    headers = sign_in(platform, client, admin)
    body = dict(NEW_USER, roles=["security_admin", "auditor"])
    assert_error(client.post("/api/v1/users", json=body, headers=headers), 409, "conflict")
    make_user("steward", Role.DATA_STEWARD)
    response = client.put(
        "/api/v1/users/steward/roles",
        json={"roles": ["platform_admin", "auditor"]},
        headers=headers,
    )
    assert "三员分立" in assert_error(response, 409, "conflict")["message"]
    # A steward may also approve: only the three officers are exclusive.
    ok = client.put(
        "/api/v1/users/steward/roles", json={"roles": ["data_steward", "approver"]}, headers=headers
    )
    assert ok.status_code == 200 and ok.json()["roles"] == ["approver", "data_steward"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "not-a-key"},
        {"X-API-Key": "rsk_deadbeef"},
        {"X-API-Key": "rsk_0000000000000000_wrongsecret"},
        {"Authorization": "Basic dXNlcjpwdw=="},
    ],
    ids=["missing", "malformed", "no-secret", "unknown", "wrong-scheme"],
)
def test_missing_or_malformed_api_key_gets_401(client: TestClient, headers: dict[str, str]) -> None:
    assert_error(client.get("/api/v1/me", headers=headers), 401, "not_authenticated")


def test_api_key_works_until_revoked(
    platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    admin_headers = sign_in(platform, client, make_user("admin", Role.PLATFORM_ADMIN))
    created = client.post(
        "/api/v1/apps", json={"name": "社保核验", "department_code": "DSJ"}, headers=admin_headers
    )
    assert created.status_code == 201
    issued = client.post(f"/api/v1/apps/{created.json()['id']}/keys", headers=admin_headers).json()
    client.cookies.clear()
    key_headers = {"X-API-Key": issued["api_key"]}
    me = client.get("/api/v1/me", headers=key_headers).json()
    assert (me["kind"], me["app"], me["department"]) == ("app", "社保核验", "DSJ")
    admin_headers = sign_in(platform, client, "admin")
    listed = client.get("/api/v1/apps").json()
    assert listed["data"][0]["keys"][0]["key_id"] == issued["key_id"]
    assert issued["api_key"] not in str(listed)  # the secret is shown once, never listed
    client.delete(f"/api/v1/keys/{issued['key_id']}", headers=admin_headers)
    client.cookies.clear()
    body = assert_error(client.get("/api/v1/me", headers=key_headers), 401, "not_authenticated")
    assert "revoked" in body["message"]


def test_cookie_session_needs_csrf_token_for_changes(
    platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    sign_in(platform, client, make_user("admin", Role.PLATFORM_ADMIN))
    response = client.post("/api/v1/users", json=NEW_USER)
    assert "CSRF" in assert_error(response, 403, "permission_denied")["message"]
    response = client.post("/api/v1/users", json=NEW_USER, headers={"X-CSRF-Token": "forged"})
    assert_error(response, 403, "permission_denied")


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/users", "/no/such/page"])
def test_unknown_routes_get_the_404_shape(client: TestClient, path: str) -> None:
    body = assert_error(client.get(path, headers={"Accept": "application/json"}), 404, "not_found")
    assert path in body["message"]


def test_wrong_method_and_invalid_body_use_the_same_shape(
    platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    assert_error(client.patch("/api/v1/me"), 405, "method_not_allowed")
    headers = sign_in(platform, client, make_user("admin", Role.PLATFORM_ADMIN))
    body = assert_error(
        client.post(
            "/api/v1/departments",
            json={"code": "GA", "name": "公安", "region_code": "35"},
            headers=headers,
        ),
        422,
        "validation_failed",
    )
    assert body["details"][0]["field"] == "region_code"
    assert (
        client.post(
            "/api/v1/departments",
            json={"code": "GA", "name": "公安", "region_code": "350100"},
            headers=headers,
        ).status_code
        == 201
    )
    assert_error(
        client.post(
            "/api/v1/departments",
            json={"code": "ga", "name": "公安", "region_code": "350100"},
            headers=headers,
        ),
        409,
        "conflict",
    )


def test_request_id_is_kept_or_made(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert given.headers["x-request-id"] == "trace-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["x-request-id"]) == 32


def test_openapi_and_metrics(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/audit/entries" in spec["paths"]
    client.get("/healthz")
    metrics = client.get("/metrics").text
    assert 'rongshu_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics
