"""Publishing a shareable resource's services, and what the service catalog shows."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient

from rongshu.catalog.schemas import ShareType
from rongshu.core.errors import ValidationFailed
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.exchange import services
from rongshu.exchange.schemas import SHARING_KINDS, ServiceKind, ServiceStatus

from ..conftest import MakeUser, sign_in
from .conftest import CODE, FIELDS, OWNER, MakeShared, publish_resource

pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)


def test_each_kind_is_published_with_its_lookup_and_refreshing_keeps_the_lookup(
    platform: Platform, make_shared: MakeShared
) -> None:
    make_shared(rows=5)
    with platform.db.session_scope() as session:
        found = {s.kind: s for s in services.list_services(session, resource=CODE)}
    assert set(found) == set(SHARING_KINDS)
    assert found[ServiceKind.VERIFY].key_columns == ["id_number"]
    assert found[ServiceKind.VERIFY].openapi_path.endswith(f"{CODE}.verify/verify")
    assert "公民身份号码" in found[ServiceKind.VERIFY].description

    with platform.db.session_scope() as session:
        again = services.publish_services(
            session, code=CODE, actor=SYSTEM, ledger=platform.ledger, lookup=["phone"]
        )
        by_phone = {s.kind: s.key_columns for s in again}
        assert by_phone[ServiceKind.QUERY] == ["phone"]
        assert by_phone[ServiceKind.BATCH] == ["id_number"]  # files go by the catalog's keys
        refreshed = services.publish_services(
            session, code=CODE, actor=SYSTEM, ledger=platform.ledger
        )
        assert {s.kind: s.key_columns for s in refreshed}[ServiceKind.VERIFY] == ["phone"]
        with pytest.raises(ValidationFailed, match="no field salary"):
            services.publish_services(
                session, code=CODE, actor=SYSTEM, ledger=platform.ledger, lookup=["salary"]
            )


def test_a_resource_not_shared_has_no_services(platform: Platform) -> None:
    publish_resource(platform, "GA-9002", FIELDS, share_type=ShareType.NONE)
    with platform.db.session_scope() as session, pytest.raises(ValidationFailed, match="不予共享"):
        services.publish_services(session, code="GA-9002", actor=SYSTEM, ledger=platform.ledger)


def test_only_the_owner_departments_stewards_publish(
    platform: Platform, client: TestClient, make_shared: MakeShared, make_user: MakeUser
) -> None:
    make_shared(rows=5)
    outsider = make_user("jy-steward", Role.DATA_STEWARD, department="JY")
    headers = sign_in(platform, client, outsider)
    refused = client.post(f"/api/v1/exchange/resources/{CODE}/services", headers=headers)
    assert refused.status_code == 403
    client.cookies.clear()
    owner = make_user("ga-steward", Role.DATA_STEWARD, department=OWNER)
    headers = sign_in(platform, client, owner)
    done = client.post(
        f"/api/v1/exchange/resources/{CODE}/services",
        json={"lookup": ["id_number"]},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    assert {s["status"] for s in done.json()["data"]} == {ServiceStatus.PUBLISHED.value}
    listed = client.get("/api/v1/exchange/services?kind=verify").json()
    assert [s["code"] for s in listed["data"]] == [f"{CODE}.verify"]


def test_each_service_has_an_openapi_description_naming_its_fields(
    platform: Platform, client: TestClient, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=5)
    headers = {"X-API-Key": shared.api_key}
    doc = client.get(f"/api/v1/exchange/services/{CODE}.verify/openapi.json", headers=headers)
    assert doc.status_code == 200, doc.text
    spec = doc.json()
    loaded = schemathesis.openapi.from_dict(spec)  # a valid OpenAPI 3.1 document
    assert len(list(loaded.get_all_operations())) == 1
    [(path, item)] = spec["paths"].items()
    assert path == f"/api/v1/exchange/services/{CODE}.verify/verify"
    body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["key"]["required"] == ["id_number"]
    claims = body["properties"]["claims"]["properties"]
    assert claims["name"]["title"] == "姓名" and "remark" in claims
    batch = client.get(f"/api/v1/exchange/services/{CODE}.batch/openapi.json", headers=headers)
    [(_, batch_item)] = batch.json()["paths"].items()
    assert [p["name"] for p in batch_item["get"]["parameters"]] == ["format", "purpose"]
