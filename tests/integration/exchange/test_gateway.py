"""Service calls through the gateway: who may call, what they see, and the trace each call
leaves. Every refusal has the standard error shape and an audit entry."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, update

from rongshu.core.audit.models import AuditEntry
from rongshu.core.db import utcnow
from rongshu.core.identity import service as identity
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.exchange import grants, signing
from rongshu.exchange.lookup import CallLookup
from rongshu.exchange.models import ExchangeGrant
from rongshu.exchange.schemas import Condition, ServiceKind
from rongshu.security.schemas import MaskingProfile

from .conftest import CODE, MakeShared, Shared

#: The key and grant lookups run on both engines in the refusal, revocation and signing tests;
#: the rest is the same code whichever database holds the grants.
sqlite_only = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
VERIFY = f"/api/v1/exchange/services/{CODE}.verify/verify"
QUERY = f"/api/v1/exchange/services/{CODE}.query/query"


def _audit(platform: Platform, action: str) -> list[AuditEntry]:
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        rows = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            )
        )
        session.expunge_all()
    return rows


def _verify_body(shared: Shared, row: int = 0, **claims: str) -> dict[str, object]:
    person = shared.rows[row]
    return {
        "key": {"id_number": person["id_number"]},
        "claims": claims or {"name": person["name"]},
        "purpose": "窗口核验",
    }


def test_a_call_without_a_grant_is_refused_with_403_in_the_standard_shape_and_audited(
    platform: Platform, client: TestClient, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    response = client.post(
        VERIFY,
        json=_verify_body(shared),
        headers={"X-API-Key": shared.api_key, "X-Request-ID": "no-grant-1"},
    )
    assert response.status_code == 403
    body = response.json()
    assert body["ok"] is False and body["error"] == "permission_denied"
    assert body["request_id"] == "no-grant-1" and "grant" in body["message"]
    [entry] = _audit(platform, "exchange.verify")
    assert (entry.outcome, entry.app, entry.object, entry.request_id) == (
        "denied",
        "核验应用",
        f"service:{CODE}.verify",
        "no-grant-1",
    )


@sqlite_only
def test_missing_unknown_and_revoked_keys_get_401(
    platform: Platform, client: TestClient, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    shared.grant(ServiceKind.VERIFY)
    assert client.post(VERIFY, json=_verify_body(shared)).status_code == 401
    wrong = shared.api_key[:-4] + "AAAA"
    assert (
        client.post(VERIFY, json=_verify_body(shared), headers={"X-API-Key": wrong}).status_code
        == 401
    )
    assert (
        client.post(
            VERIFY, json=_verify_body(shared), headers={"X-API-Key": "nonsense"}
        ).status_code
        == 401
    )
    ok = client.post(VERIFY, json=_verify_body(shared), headers={"X-API-Key": shared.api_key})
    assert ok.status_code == 200, ok.text
    with platform.db.session_scope() as session:
        identity.revoke_api_key(session, key_id=shared.key_id, actor=SYSTEM, ledger=platform.ledger)
    revoked = client.post(VERIFY, json=_verify_body(shared), headers={"X-API-Key": shared.api_key})
    assert revoked.status_code == 401 and revoked.json()["error"] == "not_authenticated"


@sqlite_only
def test_verification_answers_match_or_not_and_never_carry_data(
    platform: Platform, client: TestClient, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=50)
    shared.grant(ServiceKind.VERIFY, ["id_number", "name", "birth_date", "phone"])
    headers = {"X-API-Key": shared.api_key}
    person = shared.rows[7]
    right = client.post(
        VERIFY,
        json=_verify_body(shared, 7, name=person["name"], birth_date=str(person["birth_date"])),
        headers=headers,
    )
    assert right.status_code == 200, right.text
    answer = right.json()
    assert set(answer) == {"request_id", "service", "version", "found", "match", "fields"}
    assert answer["found"] and answer["match"]
    assert answer["fields"] == {"name": "match", "birth_date": "match"}
    assert right.headers["x-request-id"] == answer["request_id"]

    wrong = client.post(
        VERIFY, json=_verify_body(shared, 7, name="张冒名", phone=person["phone"]), headers=headers
    ).json()
    assert (wrong["found"], wrong["match"]) == (True, False)
    assert wrong["fields"] == {"name": "mismatch", "phone": "match"}
    # Nothing of the record is in the answer: not its name, phone, address or birth date.
    text = json.dumps(wrong, ensure_ascii=False)
    for value in (person["name"], person["address"], str(person["birth_date"])):
        assert value not in text
    missing = client.post(
        VERIFY,
        json={"key": {"id_number": "350102199001011234"}, "claims": {"name": "王伟"}},
        headers=headers,
    ).json()
    assert (missing["found"], missing["match"], missing["fields"]) == (False, False, {})
    ungranted = client.post(VERIFY, json=_verify_body(shared, 7, address="x"), headers=headers)
    assert ungranted.status_code == 422 and "address" in ungranted.json()["message"]


@sqlite_only
def test_query_returns_only_granted_fields_and_masked_fields_never_appear_in_clear(
    platform: Platform, client: TestClient, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=30)
    shared.grant(ServiceKind.QUERY, ["id_number", "name", "phone", "district"])
    person = shared.rows[3]
    response = client.post(
        QUERY,
        json={"key": {"id_number": person["id_number"]}},
        headers={"X-API-Key": shared.api_key},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["columns"] == ["id_number", "name", "phone", "district"]
    [row] = answer["rows"]
    assert set(row) == {"id_number", "name", "phone", "district"}
    assert row["district"] == person["district"]
    assert row["phone"] == person["phone"][:3] + "****" + person["phone"][-4:]
    assert row["name"] == person["name"][0] + "*"
    text = response.text
    for clear in (person["phone"], person["name"], person["id_number"], person["address"]):
        assert clear not in text
    [entry] = _audit(platform, "exchange.query")
    assert (entry.outcome, entry.row_count) == ("ok", 1)
    assert entry.purpose.startswith("测试用途")


def test_a_revoked_or_expired_grant_stops_working_at_once(
    platform: Platform, client: TestClient, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    grant_id = shared.grant(ServiceKind.VERIFY)
    headers = {"X-API-Key": shared.api_key}
    assert client.post(VERIFY, json=_verify_body(shared), headers=headers).status_code == 200
    with platform.db.session_scope() as session:
        grants.revoke_grant(
            session,
            grant_id=grant_id,
            reason="用途已结束",
            actor=SYSTEM,
            ledger=platform.ledger,
            bureau="DSJ",
        )
    assert client.post(VERIFY, json=_verify_body(shared), headers=headers).status_code == 403

    second = shared.grant(ServiceKind.VERIFY)
    assert client.post(VERIFY, json=_verify_body(shared), headers=headers).status_code == 200
    with platform.db.session_scope() as session:
        session.execute(
            update(ExchangeGrant)
            .where(ExchangeGrant.id == second)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert client.post(VERIFY, json=_verify_body(shared), headers=headers).status_code == 403


def test_signed_requests_are_accepted_once_and_replays_or_stale_ones_refused(
    platform: Platform, client: TestClient, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    shared.grant(ServiceKind.VERIFY)
    body = json.dumps(_verify_body(shared), ensure_ascii=False).encode()
    headers = signing.signed_headers(shared.api_key, "POST", VERIFY, body)
    headers["Content-Type"] = "application/json"
    first = client.post(VERIFY, content=body, headers=headers)
    assert first.status_code == 200, first.text
    replay = client.post(VERIFY, content=body, headers=headers)
    assert replay.status_code == 401 and "replayed" in replay.json()["message"]

    stale = signing.signed_headers(shared.api_key, "POST", VERIFY, body, now=time.time() - 3600)
    stale["Content-Type"] = "application/json"
    refused = client.post(VERIFY, content=body, headers=stale)
    assert refused.status_code == 401 and "stale" in refused.json()["message"]

    tampered = signing.signed_headers(shared.api_key, "POST", VERIFY, body)
    tampered["Content-Type"] = "application/json"
    other = body.replace(b"\xe7\xaa\x97", b"\xe6\x9f\x9c")  # 窗 → 柜 in the purpose
    assert other != body
    assert client.post(VERIFY, content=other, headers=tampered).status_code == 401
    outcomes = [e.outcome for e in _audit(platform, "exchange.verify")]
    assert outcomes == ["ok", "replayed", "stale", "bad_signature"]


@sqlite_only
def test_quotas_refuse_with_429_and_the_refusal_is_audited(
    platform: Platform, client: TestClient, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    shared.grant(ServiceKind.VERIFY, daily_quota=2)
    headers = {"X-API-Key": shared.api_key}
    codes = [
        client.post(VERIFY, json=_verify_body(shared), headers=headers).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    refused = client.post(VERIFY, json=_verify_body(shared), headers=headers).json()
    assert refused["error"] == "too_many_requests" and "daily quota" in refused["message"]
    outcomes = [e.outcome for e in _audit(platform, "exchange.verify")]
    assert outcomes == ["ok", "ok", "denied", "denied"]


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_injection_attempts_in_keys_and_filters_are_values_not_sql(
    platform: Platform, client: TestClient, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=20)
    district = shared.rows[0]["district"]
    shared.grant(
        ServiceKind.QUERY,
        ["id_number", "district"],
        profile=MaskingProfile.CLEAR,
        conditions=[Condition(column="district", value=f"{district}' OR '1'='1")],
    )
    headers = {"X-API-Key": shared.api_key}
    person = shared.rows[0]
    # The filter's value is compared as a value: no district is called that, so nothing shows.
    found = client.post(QUERY, json={"key": {"id_number": person["id_number"]}}, headers=headers)
    assert found.status_code == 200 and found.json()["rows"] == []
    for attempt in ("' OR '1'='1", "x'); DROP TABLE exchange_grant; --"):
        answer = client.post(QUERY, json={"key": {"id_number": attempt}}, headers=headers)
        assert answer.status_code == 200 and answer.json()["count"] == 0
    with platform.db.session_scope() as session:
        assert session.scalar(select(ExchangeGrant.id).limit(1)) is not None
    wrong_key = client.post(QUERY, json={"key": {"name": "王伟"}}, headers=headers)
    assert wrong_key.status_code == 422


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_a_batch_export_streams_the_granted_rows_masked_and_is_audited(
    platform: Platform, client: TestClient, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=40)
    district = shared.rows[0]["district"]
    shared.grant(
        ServiceKind.BATCH,
        ["id_number", "name", "phone", "district"],
        conditions=[Condition(column="district", value=district)],
    )
    response = client.get(
        f"/api/v1/exchange/services/{CODE}.batch/batch?format=csv&purpose=年度核对",
        headers={"X-API-Key": shared.api_key},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-rongshu-watermark"] == "none"  # no amount column to mark
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].replace('"', "") == "id_number,name,phone,district"
    wanted = [r for r in shared.rows if r["district"] == district]
    assert len(lines) - 1 == len(wanted)
    for person in wanted:  # keys as pseudonyms, names and phones partly masked
        for clear in (person["id_number"], person["phone"], person["name"]):
            assert clear not in response.text
    [entry] = _audit(platform, "exchange.batch")
    assert (entry.outcome, entry.row_count) == ("ok", len(wanted))
    assert "年度核对" in entry.purpose


def test_closing_the_lookups_gives_back_each_threads_connection_and_a_later_call_opens_one(
    platform: Platform, make_shared: MakeShared
) -> None:
    make_shared(rows=20)
    engine = create_engine(platform.db.engine.url)  # its own pool: no other user's connections
    try:
        lookup = CallLookup(engine)
        pool = engine.pool
        with ThreadPoolExecutor(2) as threads:
            barrier = threading.Barrier(2)

            def look() -> int | None:
                barrier.wait()  # both threads at once: one connection each
                return lookup.service_id(f"{CODE}.verify")

            found = list(threads.map(lambda _: look(), range(2)))
        assert found[0] is not None and found == [found[0]] * 2
        assert pool.checkedout() == 2  # type: ignore[attr-defined]
        lookup.close()
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        assert lookup.service_id(f"{CODE}.verify") == found[0]  # a new connection after the close
        lookup.close()
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        engine.dispose()
