"""Data-subject objections: proving who one is by a one-time code, seeing one's own rows only,
and disputing a field, which becomes a correction ticket verified by the next run."""

from __future__ import annotations

import csv
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rongshu.core.db import utcnow
from rongshu.core.errors import NotAuthenticated, NotFound, PermissionDenied, TooManyRequests
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.ingest.runner import run_load
from rongshu.quality import corrections, objections, service
from rongshu.quality.correction_schemas import (
    ObjectionDispute,
    Resolution,
    SubjectAccessIn,
    TicketAction,
    TicketKind,
    TicketState,
)
from rongshu.quality.failures import row_key

from .conftest import REGISTRY, registry_city

ACCESS = SubjectAccessIn(id_field="id_number", name_field="name", phone_field="phone")


@dataclass
class Captured:
    """An SMS sender that keeps what it was asked to send."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))

    def code(self) -> str:
        found = re.search(r"\d{6}", self.sent[-1][1])
        assert found
        return found.group(0)


@dataclass(frozen=True)
class Person:
    person_id: str
    id_number: str
    name: str
    phone: str


def steward(department: str) -> Actor:
    return Actor(kind="user", name=f"{department.lower()}-steward", department=department,
                 roles=frozenset({Role.DATA_STEWARD}))  # fmt: skip


@pytest.fixture
def city(platform: Platform, tmp_path: Path) -> Path:
    """The demo city's household registry loaded, its data subjects allowed to see it."""
    out = tmp_path / "city"
    registry_city(platform, out, rows=200, seed=11)
    run_load(platform, resource_code=REGISTRY, source_name="registry")
    with platform.db.session_scope() as session:
        with pytest.raises(PermissionDenied):
            objections.set_subject_access(
                session, resource_code=REGISTRY, data=ACCESS, actor=steward("RS"),
                platform=platform,
            )  # fmt: skip
    with platform.db.session_scope() as session:
        objections.set_subject_access(
            session, resource_code=REGISTRY, data=ACCESS, actor=steward("GA"), platform=platform
        )
    return out


def clean_people(city: Path) -> list[Person]:
    """Registry rows without any injected defect, each with a distinct ID number."""
    with (city / "ground_truth" / "defects.csv").open(encoding="utf-8") as stream:
        damaged = {
            r["row_key"] for r in csv.DictReader(stream) if r["table"] == "household_registry"
        }
    with sqlite3.connect(city / "sources" / "sources.db") as db:
        rows = db.execute(
            "SELECT person_id, id_number, name, phone FROM ga_household_registry"
        ).fetchall()
    counts: dict[str, int] = {}
    for _, number, _, _ in rows:
        counts[number] = counts.get(number, 0) + 1
    return [
        Person(*row)
        for row in rows
        if row[0] not in damaged and counts[row[1]] == 1 and str(row[3]).startswith("1")
    ]


@pytest.fixture
def people(city: Path) -> list[Person]:
    return clean_people(city)


def sign_in(platform: Platform, person: Person) -> objections.Subject:
    sender = Captured()
    sent = objections.start(platform, id_number=person.id_number, name=person.name, sender=sender)
    assert sender.sent[0][0] == person.phone
    opened = objections.verify(platform, challenge_id=sent.challenge_id, code=sender.code())
    return objections.subject_of(platform, opened.token)


def test_a_person_sees_only_their_rows_and_a_dispute_becomes_a_ticket(
    platform: Platform, city: Path, people: list[Person]
) -> None:
    me, other = people[0], people[1]
    subject = sign_in(platform, me)
    [held] = objections.records(platform, subject).data
    assert held.resource_code == REGISTRY and held.fields["id_number"] == "公民身份号码"
    assert [r.values["person_id"] for r in held.rows] == [me.person_id]
    assert {r.values["id_number"] for r in held.rows} == {me.id_number}
    mine = held.rows[0].row_key
    assert mine == row_key({"person_id": me.person_id})

    theirs = row_key({"person_id": other.person_id})
    with pytest.raises(NotFound):  # another person's row is never theirs to dispute
        objections.dispute(
            platform, subject,
            ObjectionDispute(resource_code=REGISTRY, row_key=theirs, field="name", reason="错了"),
        )  # fmt: skip
    ticket = objections.dispute(
        platform,
        subject,
        ObjectionDispute(
            resource_code=REGISTRY, row_key=mine, field="household_address", reason="已搬迁"
        ),
    )
    assert ticket.state is TicketState.OPEN
    assert objections.ticket_status(platform, subject, ticket.number).number == ticket.number
    with pytest.raises(NotFound):
        objections.ticket_status(platform, sign_in(platform, other), ticket.number)

    with platform.db.session_scope() as session:
        listed, _ = corrections.list_tickets(
            session, actor=steward("GA"), ledger=platform.ledger, bureau="DSJ",
            kind=TicketKind.OBJECTION,
        )  # fmt: skip
    assert [(t.number, t.sample_keys, t.department_code) for t in listed] == [
        (ticket.number, [mine], "GA")
    ]

    def fix() -> None:
        with platform.db.session_scope() as session:
            corrections.transition(
                session,
                number=ticket.number,
                action=TicketAction.FIX,
                note="",
                actor=steward("GA"),
                ledger=platform.ledger,
                settings=platform.settings,
            )

    fix()
    service.run_quality(platform, REGISTRY)  # said fixed, but the value has not changed
    assert objections.ticket_status(platform, subject, ticket.number).state is TicketState.OPEN
    fix()
    with sqlite3.connect(city / "sources" / "sources.db") as db:
        db.execute(
            "UPDATE ga_household_registry SET household_address = '福州市鼓楼区新址 1 号' "
            "WHERE person_id = ?",
            (me.person_id,),
        )
    run_load(platform, resource_code=REGISTRY, source_name="registry")
    closed = objections.ticket_status(platform, subject, ticket.number)
    assert closed.state is TicketState.CLOSED and closed.resolution is Resolution.VERIFIED


def test_a_wrong_name_or_unknown_id_sends_nothing_and_no_code_opens_it(
    platform: Platform, people: list[Person]
) -> None:
    sender = Captured()
    sent = objections.start(platform, id_number=people[0].id_number, name="某某某", sender=sender)
    assert sender.sent == [] and sent.challenge_id
    for code in ("000000", "123456"):
        with pytest.raises(NotAuthenticated, match="wrong code"):
            objections.verify(platform, challenge_id=sent.challenge_id, code=code)


def test_wrong_codes_use_up_the_attempts(platform: Platform, people: list[Person]) -> None:
    sender = Captured()
    sent = objections.start(
        platform, id_number=people[0].id_number, name=people[0].name, sender=sender
    )
    right = sender.code()
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for left in range(objections.MAX_ATTEMPTS - 1, -1, -1):
        with pytest.raises(NotAuthenticated, match=f"{left} tries left"):
            objections.verify(platform, challenge_id=sent.challenge_id, code=wrong)
    with pytest.raises(NotAuthenticated, match="too many"):
        objections.verify(platform, challenge_id=sent.challenge_id, code=right)


def test_a_code_expires_and_opens_one_session_only(
    platform: Platform, people: list[Person]
) -> None:
    sender, now = Captured(), utcnow()
    person = people[0]
    late = objections.start(
        platform, id_number=person.id_number, name=person.name, sender=sender, now=now
    )
    with pytest.raises(NotAuthenticated, match="expired"):
        objections.verify(
            platform, challenge_id=late.challenge_id, code=sender.code(),
            now=now + timedelta(minutes=objections.CODE_MINUTES, seconds=1),
        )  # fmt: skip
    sent = objections.start(platform, id_number=person.id_number, name=person.name, sender=sender)
    opened = objections.verify(platform, challenge_id=sent.challenge_id, code=sender.code())
    with pytest.raises(NotAuthenticated, match="expired or was used"):
        objections.verify(platform, challenge_id=sent.challenge_id, code=sender.code())
    after = opened.expires_at + timedelta(seconds=1)
    with pytest.raises(NotAuthenticated, match="session has expired"):
        objections.subject_of(platform, opened.token, now=after)


def test_codes_are_rate_limited_per_id_number(platform: Platform, people: list[Person]) -> None:
    now, person = utcnow(), people[0]
    for _ in range(objections.CODES_PER_HOUR):
        objections.start(platform, id_number=person.id_number, name=person.name, now=now)
    with pytest.raises(TooManyRequests):
        objections.start(platform, id_number=person.id_number, name="别人", now=now)
    objections.start(  # another person is not held up
        platform, id_number=people[1].id_number, name=people[1].name, now=now
    )
    objections.start(  # nor the same an hour later
        platform, id_number=person.id_number, name=person.name, now=now + timedelta(hours=1)
    )
    outbox = (platform.settings.data_dir / "outbox" / "sms.log").read_text(encoding="utf-8")
    assert outbox.count(person.phone) == objections.CODES_PER_HOUR + 1


def test_the_objection_api_from_code_to_ticket(
    platform: Platform, people: list[Person], client: TestClient
) -> None:
    me = people[0]
    api = "/api/v1/quality/objections"
    started = client.post(f"{api}/start", json={"id_number": me.id_number, "name": me.name})
    assert started.status_code == 202
    outbox = (platform.settings.data_dir / "outbox" / "sms.log").read_text(encoding="utf-8")
    code = re.findall(r"\d{6}", outbox.splitlines()[-1].split("\t")[2])[0]
    challenge = started.json()["challenge_id"]
    wrong = client.post(f"{api}/verify", json={"challenge_id": challenge, "code": "x"})
    assert wrong.status_code == 401
    token = client.post(f"{api}/verify", json={"challenge_id": challenge, "code": code})
    headers = {"X-Objection-Token": token.json()["token"]}
    assert client.get(f"{api}/records").status_code == 422  # no token
    [held] = client.get(f"{api}/records", headers=headers).json()["data"]
    mine = held["rows"][0]["row_key"]
    disputed = client.post(
        f"{api}/disputes",
        json={"resource_code": REGISTRY, "row_key": mine, "field": "name", "reason": "错别字"},
        headers=headers,
    )
    assert disputed.status_code == 201
    number = disputed.json()["number"]
    status = client.get(f"{api}/tickets/{number}", headers=headers).json()
    assert status["state"] == "open" and status["events"][0]["action"] == "open"
