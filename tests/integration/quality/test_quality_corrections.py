"""Correction tickets: opened by runs, worked by stewards, verified by the next run, disputed,
decided by the bureau, and escalated when overdue."""

from __future__ import annotations

import csv
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.catalog.schemas import FieldType
from rongshu.core.audit.models import AuditEntry
from rongshu.core.errors import Conflict, PermissionDenied, ValidationFailed
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.core.platform import Platform
from rongshu.ingest.runner import run_load
from rongshu.quality import corrections, rules, service
from rongshu.quality.correction_schemas import (
    Resolution,
    TicketAction,
    TicketKind,
    TicketPublic,
    TicketState,
)
from rongshu.quality.failures import row_key
from rongshu.quality.schemas import RuleUpdate, Severity

from ..conftest import Declare, MakeUser, Write, field, sign_in
from .conftest import REGISTRY, registry_city

BEIJING = ZoneInfo("Asia/Shanghai")
S = FieldType.STRING
PEOPLE = "T-PEOPLE"


def steward(department: str = "GA") -> Actor:
    return Actor(kind="user", name=f"{department.lower()}-steward", department=department,
                 roles=frozenset({Role.DATA_STEWARD}))  # fmt: skip


def approver(department: str) -> Actor:
    return Actor(kind="user", name=f"{department.lower()}-approver", department=department,
                 roles=frozenset({Role.APPROVER}))  # fmt: skip


def tickets(platform: Platform, **filters: Any) -> list[TicketPublic]:
    with platform.db.session_scope() as session:
        data, _ = corrections.list_tickets(
            session, actor=SYSTEM, ledger=platform.ledger, bureau="DSJ", **filters
        )
    return data


def ticket(platform: Platform, number: str) -> TicketPublic:
    with platform.db.session_scope() as session:
        return corrections.get_ticket(
            session, number=number, actor=SYSTEM, ledger=platform.ledger, bureau="DSJ"
        )


def step(
    platform: Platform, number: str, action: TicketAction, actor: Actor, note: str = ""
) -> TicketPublic:
    with platform.db.session_scope() as session:
        return corrections.transition(
            session,
            number=number,
            action=action,
            note=note,
            actor=actor,
            ledger=platform.ledger,
            settings=platform.settings,
        )


# -- through a real load and run of the demo city ------------------------------------------


@pytest.fixture
def city(platform: Platform, tmp_path: Path) -> Path:
    out = tmp_path / "city"
    registry_city(platform, out, rows=300, seed=7)
    return out


def id_number_defects(city: Path) -> dict[str, str]:
    """person_id → the original ID number, for every registry row whose ID was damaged."""
    with (city / "ground_truth" / "defects.csv").open(encoding="utf-8") as stream:
        return {
            row["row_key"]: row["original"]
            for row in csv.DictReader(stream)
            if row["table"] == "household_registry" and row["column"] == "id_number"
        }


def test_a_ticket_flows_from_open_to_closed_after_a_corrected_reload(
    platform: Platform, city: Path
) -> None:
    run_load(platform, resource_code=REGISTRY, source_name="registry")
    with platform.db.session_scope() as session:
        run = service.latest_run(session, REGISTRY)
    assert run is not None
    ric = next(r for r in run.results if r.params.get("standard") == "ric")
    [opened] = [t for t in tickets(platform, resource_code=REGISTRY) if t.rule_id == ric.rule_id]
    damaged = id_number_defects(city)
    assert opened.state is TicketState.OPEN and opened.kind is TicketKind.RULE
    assert (opened.department_code, opened.field, opened.run_id) == ("GA", "id_number", run.id)
    assert opened.failing == ric.failing == len(damaged)
    assert set(opened.sample_keys) <= {row_key({"person_id": k}) for k in damaged}
    # Only error rules open tickets by default; every ticket is for one of them.
    errors = {r.rule_id for r in run.results if r.severity is Severity.ERROR and r.failing}
    assert {t.rule_id for t in tickets(platform, resource_code=REGISTRY)} == errors

    with pytest.raises(PermissionDenied):
        step(platform, opened.number, TicketAction.ACKNOWLEDGE, steward("RS"))
    step(platform, opened.number, TicketAction.ACKNOWLEDGE, steward())
    step(platform, opened.number, TicketAction.FIX, steward(), "已在户籍系统更正")

    with sqlite3.connect(city / "sources" / "sources.db") as db:
        db.executemany(
            "UPDATE ga_household_registry SET id_number = ? WHERE person_id = ?",
            [(original, person) for person, original in damaged.items()],
        )
    run_load(platform, resource_code=REGISTRY, source_name="registry")

    closed = ticket(platform, opened.number)
    assert closed.state is TicketState.CLOSED and closed.resolution is Resolution.VERIFIED
    assert [e.action for e in closed.events] == [
        TicketAction.OPEN, TicketAction.ACKNOWLEDGE, TicketAction.FIX, TicketAction.VERIFY
    ]  # fmt: skip
    assert [e.actor for e in closed.events] == ["system", "ga-steward", "ga-steward", "system"]
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        audited = set(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.object == f"ticket:{opened.number}")
            )
        )
    assert audited == {f"quality.ticket.{a}" for a in ("open", "acknowledge", "fix", "verify")}


# -- on a small resource, checked directly -------------------------------------------------


@pytest.fixture
def people(declare: Declare) -> str:
    return declare(PEOPLE, [field("person_id", key=True), field("name", S, "not_null")])


def rows(*missing: str) -> list[dict[str, Any]]:
    """Five people, those in ``missing`` without a name."""
    return [
        {"person_id": p, "name": None if p in missing else "张三"}
        for p in ("P1", "P2", "P3", "P4", "P5")
    ]


def only_ticket(platform: Platform) -> TicketPublic:
    [found] = tickets(platform, resource_code=PEOPLE)
    return ticket(platform, found.number)


def test_a_rerun_updates_the_open_ticket_and_a_still_failing_reload_reopens_it(
    platform: Platform, people: str, write: Write
) -> None:
    write(people, rows("P2", "P4"))
    service.run_quality(platform, people)
    first = only_ticket(platform)
    keys = [row_key({"person_id": p}) for p in ("P2", "P4")]
    assert (first.failing, first.sample_keys) == (2, keys)

    service.run_quality(platform, people)  # the same problem: no second ticket
    again = only_ticket(platform)
    assert again.number == first.number and again.state is TicketState.OPEN
    assert again.events[-1].action is TicketAction.UPDATE

    step(platform, first.number, TicketAction.FIX, steward())
    write(people, rows("P4"))
    service.run_quality(platform, people)
    reopened = only_ticket(platform)
    assert reopened.state is TicketState.OPEN and reopened.failing == 1
    assert (
        reopened.sample_keys == [keys[1]] and "1 of the ticket's rows still fail" in reopened.note
    )

    step(platform, first.number, TicketAction.FIX, steward())
    write(people, rows())
    service.run_quality(platform, people)
    assert only_ticket(platform).resolution is Resolution.VERIFIED


def test_new_failures_after_a_verified_ticket_open_a_new_one(
    platform: Platform, people: str, write: Write
) -> None:
    write(people, rows("P1"))
    service.run_quality(platform, people)
    [first] = tickets(platform, resource_code=PEOPLE)
    write(people, rows("P3"))  # P1 fixed, P3 broken since
    service.run_quality(platform, people)
    now_open = tickets(platform, resource_code=PEOPLE, state=TicketState.OPEN)
    assert ticket(platform, first.number).resolution is Resolution.VERIFIED
    assert [t.sample_keys for t in now_open] == [[row_key({"person_id": "P3"})]]


def test_warnings_open_tickets_only_when_configured(
    platform: Platform, declare: Declare, write: Write
) -> None:
    code = declare(PEOPLE, [field("person_id", key=True), field("name", S, "not_null")])
    with platform.db.session_scope() as session:
        rules.seed_rules(session, resource_code=code)
        [rule] = [r for r in rules.list_rules(session, resource_code=code) if r.field == "name"]
        rules.update_rule(
            session,
            rule_id=rule.id,
            data=RuleUpdate(severity=Severity.WARNING),
            actor=SYSTEM,
            ledger=platform.ledger,
        )
    write(code, rows("P1"))
    service.run_quality(platform, code)
    assert tickets(platform, resource_code=code) == []
    platform.settings.quality_ticket_severities = ["error", "warning"]
    service.run_quality(platform, code)
    assert [t.severity for t in tickets(platform, resource_code=code)] == [Severity.WARNING]


@pytest.mark.parametrize("uphold", [True, False])
def test_a_dispute_is_decided_by_the_bureau(
    platform: Platform, people: str, write: Write, uphold: bool
) -> None:
    write(people, rows("P1"))
    service.run_quality(platform, people)
    number = only_ticket(platform).number
    with pytest.raises(ValidationFailed, match="reason"):
        step(platform, number, TicketAction.DISPUTE, steward())
    step(platform, number, TicketAction.DISPUTE, steward(), "该人员姓名依法不予登记")
    with pytest.raises(Conflict):
        step(platform, number, TicketAction.FIX, steward())
    service.run_quality(platform, people)  # a run leaves a disputed ticket to the bureau
    assert only_ticket(platform).state is TicketState.DISPUTED
    for outsider in (approver("GA"), steward("DSJ")):
        with pytest.raises(PermissionDenied):
            step(platform, number, TicketAction.UPHOLD, outsider)

    action = TicketAction.UPHOLD if uphold else TicketAction.REJECT
    with pytest.raises(ValidationFailed, match="reason"):  # a decision says why, too
        step(platform, number, action, approver("DSJ"))
    reason = "理由成立" if uphold else "登记信息以户籍原始档案为准，应予更正"
    decided = step(platform, number, action, approver("DSJ"), reason)
    if uphold:
        assert decided.state is TicketState.CLOSED
        assert decided.resolution is Resolution.DISMISSED and decided.closed_at is not None
    else:
        assert decided.state is TicketState.OPEN and decided.resolution is Resolution.NONE
        assert decided.deadline > only_ticket(platform).opened_at
    assert decided.events[-1].actor == "dsj-approver"


# -- deadlines and escalation --------------------------------------------------------------


def open_at(platform: Platform, when: datetime) -> str:
    with platform.db.session_scope() as session:
        opened = corrections.open_ticket(
            session,
            kind=TicketKind.RULE,
            resource_code=PEOPLE,
            department_code="GA",
            severity=Severity.ERROR,
            failing=1,
            sample_keys=[],
            settings=platform.settings,
            ledger=platform.ledger,
            now=when,
        )
        session.flush()
        return opened.number


def test_the_deadline_counts_working_days_over_a_holiday(platform: Platform) -> None:
    # 30 Sep 2025: National Day and Mid-Autumn run 1–8 Oct; Saturday 11 Oct is worked.
    number = open_at(platform, datetime(2025, 9, 30, 10, tzinfo=BEIJING))
    due = ticket(platform, number).deadline
    # 9, 10, 11 (adjusted Saturday), 13, 14 Oct: due at the end of Tuesday 14 Oct.
    assert due == datetime(2025, 10, 15, tzinfo=BEIJING)


def test_an_overdue_ticket_is_escalated_once(platform: Platform) -> None:
    number = open_at(platform, datetime(2025, 9, 30, 10, tzinfo=BEIJING))
    late = open_at(platform, datetime(2025, 10, 13, 10, tzinfo=BEIJING))
    due = ticket(platform, number).deadline

    def escalate(now: datetime) -> list[str]:
        with platform.db.session_scope() as session:
            return corrections.escalate_overdue(session, ledger=platform.ledger, now=now)

    assert escalate(due - timedelta(seconds=1)) == []
    assert escalate(due + timedelta(seconds=1)) == [number]
    assert escalate(due + timedelta(days=3)) == []  # once
    escalated = ticket(platform, number)
    assert escalated.escalated_at is not None and escalated.state is TicketState.OPEN
    assert [e.action for e in escalated.events] == [TicketAction.OPEN, TicketAction.ESCALATE]
    with platform.db.session_scope() as session:
        listed = corrections.escalated_tickets(
            session, actor=approver("DSJ"), ledger=platform.ledger, bureau="DSJ"
        )
        developer = Actor(kind="user", name="dev", department="GA",
                          roles=frozenset({Role.DEVELOPER}))  # fmt: skip
        with pytest.raises(PermissionDenied):
            corrections.escalated_tickets(
                session, actor=developer, ledger=platform.ledger, bureau="DSJ"
            )
    assert [t.number for t in listed] == [number]
    assert late not in {t.number for t in tickets(platform, overdue=True, now=due)}


def test_the_corrections_api(
    platform: Platform,
    people: str,
    write: Write,
    client: TestClient,
    make_user: MakeUser,
) -> None:
    write(people, rows("P1"))
    service.run_quality(platform, people)
    number = only_ticket(platform).number
    api = "/api/v1/quality/corrections"
    make_user("ga", Role.DATA_STEWARD, department="GA")
    make_user("boss", Role.APPROVER, department="DSJ")
    headers = sign_in(platform, client, "ga")
    listed = client.get(api, params={"state": "open"}).json()
    assert [t["number"] for t in listed["data"]] == [number] and listed["count"] == 1
    moved = client.post(
        f"{api}/{number}/transitions", json={"action": "dispute", "note": "数据无误"},
        headers=headers,
    )  # fmt: skip
    assert moved.json()["state"] == "disputed"
    denied = client.post(f"{api}/{number}/decision", json={"uphold": True}, headers=headers)
    assert denied.status_code == 403
    headers = sign_in(platform, client, "boss")
    unexplained = client.post(f"{api}/{number}/decision", json={"uphold": False}, headers=headers)
    assert unexplained.status_code == 422  # a decision needs its reason
    decided = client.post(
        f"{api}/{number}/decision", json={"uphold": False, "note": "以档案为准"}, headers=headers
    )
    assert decided.json()["state"] == "open"
    shown = client.get(f"{api}/{number}").json()
    assert [e["action"] for e in shown["events"]] == ["open", "dispute", "reject"]
