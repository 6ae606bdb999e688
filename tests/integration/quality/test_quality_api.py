"""Quality through its JSON API: stewards change their department's rules and have its data
checked; console users read runs, scorecards and the league table; refusals are audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.areas import load_jobs
from rongshu.catalog.schemas import FieldType
from rongshu.core.audit.models import AuditEntry
from rongshu.core.identity.roles import Role
from rongshu.core.jobs import create_queue
from rongshu.core.platform import Platform
from rongshu.web.app import create_app

from ..conftest import Declare, MakeUser, Write, field, sign_in

CODE = "T-API"
API = "/api/v1/quality"


@pytest.fixture
def resource(declare: Declare, write: Write) -> str:
    declare(CODE, [field("id", FieldType.STRING, "not_null", "unique", key=True),
                   field("age", FieldType.INTEGER, "range:0~120")])  # fmt: skip
    write(CODE, [{"id": "a", "age": 3}, {"id": "b", "age": 300}, {"id": "b", "age": None}])
    return CODE


def test_a_steward_checks_and_reads_the_scores(
    platform: Platform, client: TestClient, make_user: MakeUser, resource: str
) -> None:
    headers = sign_in(platform, client, make_user("ga-steward", Role.DATA_STEWARD, department="GA"))
    ran = client.post(f"{API}/resources/{resource}/runs", headers=headers)
    assert ran.status_code == 201, ran.text  # no job queue: checked in the request
    run = ran.json()["run"]
    assert (run["rows"], run["failing_rows"], run["status"]) == (3, 2, "succeeded")
    counts = {(r["kind"], r["field"]): r["failing"] for r in run["results"]}
    assert counts == {("not_null", "id"): 0, ("unique", "id"): 2, ("range", "age"): 1}

    listed = client.get(f"{API}/runs", params={"resource": resource}).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == run["id"]
    assert client.get(f"{API}/runs/{run['id']}").json()["results"] == run["results"]
    card = client.get(f"{API}/resources/{resource}/scorecard").json()
    assert card["run"]["id"] == run["id"] and [p["run_id"] for p in card["trend"]] == [run["id"]]
    department = client.get(f"{API}/departments/GA/scorecard").json()
    assert department["score"] == pytest.approx(run["score"])
    assert [r["resource_code"] for r in department["resources"]] == [resource]
    league = client.get(f"{API}/league").json()
    assert [(r["rank"], r["department_code"]) for r in league["data"]] == [(1, "GA")]
    assert client.get(f"{API}/departments/XX/scorecard").status_code == 404


def test_stewards_change_their_departments_rules_only(
    platform: Platform, client: TestClient, make_user: MakeUser, resource: str
) -> None:
    outsider = make_user("rs-steward", Role.DATA_STEWARD, department="RS")
    steward = make_user("ga-steward", Role.DATA_STEWARD, department="GA")
    body = {"field": "age", "kind": "range", "params": {"min": 1}, "severity": "info"}

    headers = sign_in(platform, client, outsider)
    refused = client.post(f"{API}/resources/{resource}/rules", json=body, headers=headers)
    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"
    assert client.post(f"{API}/resources/{resource}/runs", headers=headers).status_code == 403

    headers = sign_in(platform, client, steward)
    added = client.post(f"{API}/resources/{resource}/rules", json=body, headers=headers)
    assert added.status_code == 201, added.text
    rule = added.json()
    assert (rule["resource_code"], rule["origin"], rule["dimension"]) == (
        resource,
        "steward",
        "accuracy",
    )
    listed = client.get(f"{API}/resources/{resource}/rules").json()
    assert listed["count"] == 4  # the catalog's three came first
    patched = client.patch(f"{API}/rules/{rule['id']}", json={"enabled": False}, headers=headers)
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    synced = client.post(f"{API}/resources/{resource}/rules/sync", headers=headers).json()
    assert (synced["added"], synced["kept"]) == ([], 3)
    assert client.delete(f"{API}/rules/{rule['id']}", headers=headers).status_code == 204
    assert client.get(f"{API}/resources/{resource}/rules").json()["count"] == 3

    bad = client.post(
        f"{API}/resources/{resource}/rules",
        json={"field": "age", "kind": "range", "params": {}},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["error"] == "validation_failed"
    unknown = client.post(
        f"{API}/resources/{resource}/rules", json={"field": "salary", "kind": "not_null"},
        headers=headers,
    )  # fmt: skip
    assert unknown.status_code == 422
    assert "salary is not a field" in unknown.json()["details"][0]["reason"]
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        denied = session.scalars(
            select(AuditEntry.action).where(AuditEntry.outcome == "denied")
        ).all()
    assert {"quality.rule_change", "quality.run_request"} <= set(denied)


def test_reading_needs_a_console_user(client: TestClient, resource: str) -> None:
    response = client.get(f"{API}/league")
    assert response.status_code == 401 and response.json()["error"] == "not_authenticated"


@pytest.fixture
def queued_client(platform: Platform) -> Iterator[TestClient]:
    load_jobs()
    queue = create_queue(platform.settings, context_factory=lambda _: {"platform": platform})
    with TestClient(create_app(platform.settings, platform=platform, queue=queue)) as client:
        yield client
    queue.flush()
    queue.close()


def test_with_a_job_queue_the_check_is_queued(
    platform: Platform, queued_client: TestClient, make_user: MakeUser, resource: str
) -> None:
    headers = sign_in(
        platform, queued_client, make_user("ga-steward", Role.DATA_STEWARD, department="GA")
    )
    response = queued_client.post(f"{API}/resources/{resource}/runs", headers=headers)
    assert response.status_code == 202 and response.json()["job_id"]
    assert queued_client.get(f"{API}/runs").json()["count"] == 0  # waits for a worker
