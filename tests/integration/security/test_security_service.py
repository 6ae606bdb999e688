"""Scans, stewards' decisions recorded in the catalog, the masking matrix, and masked reads."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import FieldType, Grade
from rongshu.core.audit.models import AuditEntry
from rongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.core.platform import Platform
from rongshu.demo.identifiers import make_ric, mobile_phone
from rongshu.demo.names import given_name, surname
from rongshu.security import service
from rongshu.security.entities import EntityType
from rongshu.security.masking import Mask, MaskOperator
from rongshu.security.schemas import ClassificationStatus, Decision, MaskingProfile

from ..conftest import Declare, MakeUser, Write, field, sign_in

CODE = "350100-GA-9001"
STEWARD = Actor(
    kind="user", name="ga-steward", department="GA", roles=frozenset({Role.DATA_STEWARD})
)


@pytest.fixture
def people(platform: Platform, declare: Declare, write: Write) -> str:
    declare(
        CODE,
        [
            field("person_id", key=True),
            field("name"),
            field("id_number"),
            field("phone"),
            field("birth_date", FieldType.DATE),
            field("status"),
        ],
    )
    rng = random.Random(3)
    rows = []
    for index in range(400):
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
        rows.append(
            {
                "person_id": f"P{index:05d}",
                "name": surname(rng) + given_name(rng, index % 2 == 0, born.year),
                "id_number": make_ric("350102", born, index),
                "phone": mobile_phone(rng),
                "birth_date": born,
                "status": rng.choice(["正常", "注销"]),
            }
        )
    write(CODE, rows)
    return CODE


def test_a_scan_names_each_column_and_suggests_grades(platform: Platform, people: str) -> None:
    scan = service.scan_resource(platform, people, actor=STEWARD)
    found = {item.column: item for item in scan.fields}
    assert found["id_number"].entity is EntityType.RESIDENT_ID
    assert found["name"].entity is EntityType.PERSON_NAME
    assert found["phone"].entity is EntityType.PHONE
    assert found["birth_date"].entity is EntityType.BIRTH_DATE  # equals the ID's birth date
    assert found["status"].entity is None and found["person_id"].entity is None
    assert found["id_number"].suggested_grade is Grade.GENERAL_4
    assert found["id_number"].suggested_sensitive and found["name"].suggested_personal
    assert scan.suggested_grade is Grade.GENERAL_4  # 就高从严
    assert all(item.status is ClassificationStatus.SUGGESTED for item in scan.fields)
    assert scan.rows_scanned == scan.rows_in_version == 400


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_integer_keys_are_not_phone_numbers_unless_named_so(
    platform: Platform, declare: Declare, write: Write
) -> None:
    """Sequential 7- and 8-digit keys look like local fixed-line numbers; a column of mobile
    numbers stored as integers is still found when its name says phone."""
    declare(
        "350100-JT-9001",
        [field("record_id", FieldType.INTEGER, key=True), field("phone", FieldType.INTEGER)],
    )
    rng = random.Random(5)
    rows = [
        {"record_id": 2_000_000 + index * 997, "phone": int(mobile_phone(rng))}
        for index in range(400)
    ]
    write("350100-JT-9001", rows)
    scan = service.scan_resource(platform, "350100-JT-9001", actor=SYSTEM)
    found = {item.column: item.entity for item in scan.fields}
    assert found == {"record_id": None, "phone": EntityType.PHONE}


def test_only_stewards_of_the_department_scan(platform: Platform, people: str) -> None:
    other = Actor(kind="user", name="x", department="RS", roles=frozenset({Role.DATA_STEWARD}))
    with pytest.raises(NotFound):  # a draft of another department is not even visible
        service.scan_resource(platform, people, actor=other)
    approver = Actor(kind="user", name="y", department="GA", roles=frozenset({Role.APPROVER}))
    with pytest.raises(PermissionDenied):
        service.scan_resource(platform, people, actor=approver)
    with pytest.raises(NotFound):
        service.scan_resource(platform, "350100-GA-0000", actor=STEWARD)


def test_accepting_a_suggestion_records_the_grade_in_the_catalog_under_the_steward(
    platform: Platform, people: str
) -> None:
    service.scan_resource(platform, people, actor=STEWARD)
    decided = service.decide(platform, people, "id_number", Decision(), actor=STEWARD)
    assert decided.status is ClassificationStatus.ACCEPTED
    assert decided.decided_by == "ga-steward" and decided.decided_grade is Grade.GENERAL_4
    with platform.db.session_scope() as session:
        resource = catalog.get_resource(session, code=people, actor=SYSTEM)
        item = next(f for f in resource.fields if f.english_name == "id_number")
        assert item.grade is Grade.GENERAL_4 and item.is_personal
        events = catalog.history(session, code=people, actor=SYSTEM)
        decisions = [e for e in events if "id_number" in e.reason]
        assert [e.actor for e in decisions] == ["ga-steward"]


def test_an_override_needs_a_reason_and_wins_over_later_scans(
    platform: Platform, people: str
) -> None:
    service.scan_resource(platform, people, actor=STEWARD)
    override = Decision(accept=False, entity=None, grade=Grade.GENERAL_2, is_personal=False)
    with pytest.raises(ValidationFailed):
        service.decide(platform, people, "phone", override, actor=STEWARD)
    override.reason = "单位总机，非个人号码"
    decided = service.decide(platform, people, "phone", override, actor=STEWARD)
    assert decided.status is ClassificationStatus.OVERRIDDEN and decided.effective_entity is None
    rescan = service.scan_resource(platform, people, actor=STEWARD)
    phone = next(item for item in rescan.fields if item.column == "phone")
    assert phone.status is ClassificationStatus.CHANGED  # the scan still says phone
    assert phone.decided_grade is Grade.GENERAL_2 and phone.entity is EntityType.PHONE


def test_only_the_security_admin_edits_the_matrix(platform: Platform) -> None:
    admin = Actor(kind="user", name="sec", roles=frozenset({Role.SECURITY_ADMIN}))
    with platform.db.session_scope() as session:
        with pytest.raises(PermissionDenied):
            service.set_masking_rule(
                platform,
                session,
                MaskingProfile.STANDARD,
                "phone",
                Mask(MaskOperator.REDACT),
                actor=STEWARD,
            )
        with pytest.raises(ValidationFailed):
            service.set_masking_rule(
                platform,
                session,
                MaskingProfile.STANDARD,
                "shoe_size",
                Mask(MaskOperator.NULL),
                actor=admin,
            )
        rule = service.set_masking_rule(
            platform,
            session,
            MaskingProfile.STANDARD,
            "phone",
            Mask(MaskOperator.REDACT),
            actor=admin,
        )
        assert rule.updated_by == "sec" and rule.operator is MaskOperator.REDACT
    platform.ledger.flush()  # refusals are appended in the background (group commit)
    with platform.db.session_scope() as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
        assert any(entry.actor == "ga-steward" for entry in denied)


def test_masked_reads_never_show_clear_values(platform: Platform, people: str) -> None:
    service.scan_resource(platform, people, actor=STEWARD)
    clear = pa.Table.from_batches(
        list(service.masked_batches(platform, people, MaskingProfile.CLEAR))
    )
    shown = pa.Table.from_batches(
        list(service.masked_batches(platform, people, MaskingProfile.STANDARD))
    )
    assert shown.num_rows == clear.num_rows == 400
    ids, names = clear.column("id_number").to_pylist(), clear.column("name").to_pylist()
    for before, after in zip(ids, shown.column("id_number").to_pylist(), strict=True):
        assert after == before[:4] + "*" * 10 + before[-4:]
    assert set(names).isdisjoint(shown.column("name").to_pylist())
    assert shown.column("birth_date").to_pylist()[0] == str(clear.column("birth_date")[0])[:4]
    assert shown.column("status").to_pylist() == clear.column("status").to_pylist()
    analytics = pa.Table.from_batches(
        list(service.masked_batches(platform, people, MaskingProfile.ANALYTICS))
    )
    tokens = analytics.column("id_number").to_pylist()
    assert len(set(tokens)) == 400 and not set(tokens) & set(ids)


def test_the_api_shows_scans_and_previews_to_the_right_roles(
    platform: Platform, people: str, client: TestClient, make_user: MakeUser
) -> None:
    make_user("ga-steward", Role.DATA_STEWARD, department="GA")
    make_user("sec-admin", Role.SECURITY_ADMIN)
    steward = sign_in(platform, client, "ga-steward")
    scanned = client.post(f"/api/v1/security/resources/{people}/scans", json={}, headers=steward)
    assert scanned.status_code == 201, scanned.text
    decided = client.post(
        f"/api/v1/security/resources/{people}/fields/name/decision",
        json={"accept": True},
        headers=steward,
    )
    assert decided.json()["decided_by"] == "ga-steward"
    assert (
        client.get(f"/api/v1/security/resources/{people}/preview", headers=steward).status_code
        == 403
    )
    admin = sign_in(platform, client, "sec-admin")
    preview = client.get(
        f"/api/v1/security/resources/{people}/preview?profile=standard&rows=3", headers=admin
    )
    assert preview.status_code == 200, preview.text
    assert len(preview.json()["rows"]) == 3
    assert preview.json()["rows"][0]["phone"][3:7] == "****"
    put = client.put(
        "/api/v1/security/masking-rules/standard/phone",
        json={"operator": "partial", "params": {"keep_start": 99}},
        headers=admin,
    )
    assert put.status_code == 422
    assert put.json()["details"][0]["field"] == "keep_start"
