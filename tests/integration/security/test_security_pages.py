"""The security console: a steward scans and decides on the page; the security admin edits the
masking matrix; everyone else reads it."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from rongshu.core.identity.roles import Role
from rongshu.core.platform import Platform
from rongshu.demo.identifiers import make_ric
from rongshu.security import service

from ..conftest import Declare, MakeUser, Write, field, sign_in

# The metadata database is incidental here (SQLite and PostgreSQL are covered by
# test_security_service): one engine keeps the suite fast.
pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)

CODE = "350100-GA-9002"
PAGE = f"/console/security/resources/{CODE}"


@pytest.fixture
def ids(declare: Declare, write: Write) -> str:
    declare(CODE, [field("record_no", key=True), field("id_number")])
    rng = random.Random(1)
    write(
        CODE,
        [
            {
                "record_no": f"R{i:04d}",
                "id_number": make_ric(
                    "350102", date(1960, 1, 1) + timedelta(days=rng.randrange(15000)), i
                ),
            }
            for i in range(200)
        ],
    )
    return CODE


def test_a_steward_scans_and_accepts_on_the_page(
    platform: Platform, client: TestClient, make_user: MakeUser, ids: str
) -> None:
    csrf = sign_in(platform, client, make_user("ga_steward", Role.DATA_STEWARD, department="GA"))
    assert 'data-testid="scan-form"' in client.get(PAGE).text
    scanned = client.post(f"{PAGE}/scan", data={"csrf_token": csrf["X-CSRF-Token"]})
    assert scanned.status_code == 200 and "security-done" in scanned.text
    assert "公民身份号码" in scanned.text  # the entity's label in the fields table
    accepted = client.post(
        f"{PAGE}/fields/id_number",
        data={"csrf_token": csrf["X-CSRF-Token"], "action": "accept"},
    )
    assert accepted.status_code == 200 and "已确认" in accepted.text
    refused = client.post(
        f"{PAGE}/fields/id_number",
        data={"csrf_token": csrf["X-CSRF-Token"], "action": "override", "grade": "general_2"},
    )
    assert refused.status_code == 422 and "security-error" in refused.text  # no reason given
    index = client.get("/console/security")
    assert CODE in index.text


def test_only_the_security_admin_gets_the_matrix_editor(
    platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    csrf = sign_in(platform, client, make_user("sec_admin", Role.SECURITY_ADMIN))
    page = client.get("/console/security/masking")
    assert page.status_code == 200 and "rule-form" in page.text
    bad = client.post(
        "/console/security/masking",
        data={
            "csrf_token": csrf["X-CSRF-Token"],
            "profile": "standard",
            "target": "phone",
            "operator": "partial",
            "params": "[1]",
        },
    )
    assert bad.status_code == 422
    saved = client.post(
        "/console/security/masking",
        data={
            "csrf_token": csrf["X-CSRF-Token"],
            "profile": "standard",
            "target": "phone",
            "operator": "partial",
            "params": '{"keep_start": 3, "keep_end": 2}',
        },
    )
    assert saved.status_code == 200 and "security-done" in saved.text
    with platform.db.session_scope() as session:
        rule = next(
            r
            for r in service.list_masking_rules(session)
            if (r.profile.value, r.target) == ("standard", "phone")
        )
    assert rule.params == {"keep_start": 3, "keep_end": 2} and rule.updated_by == "sec_admin"
    client.cookies.clear()
    sign_in(platform, client, make_user("viewer", Role.DEVELOPER, department="RS"))
    read_only = client.get("/console/security/masking")
    assert "read-only" in read_only.text and "rule-form" not in read_only.text
