"""The corrections workbench and the citizen's objection pages through the in-process client:
a steward works their department's tickets, the bureau decides a dispute, and a person proves
who they are by the simulated text message, sees their record and disputes it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from rongshu.catalog.schemas import FieldType
from rongshu.core.db import utcnow
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.quality import corrections, objections, service
from rongshu.quality.correction_schemas import SubjectAccessIn, TicketKind, TicketState
from rongshu.quality.failures import row_key
from rongshu.quality.schemas import Severity
from rongshu.standards.ric import check_char

from ..conftest import Declare, MakeUser, Write, field, open_platform, sign_in

HTML = {"Accept": "text/html"}
WORKBENCH = "/console/quality/corrections"
PEOPLE, OTHER = "T-PEOPLE", "T-OTHER"
S = FieldType.STRING


def ric(first17: str) -> str:
    return first17 + check_char(first17)


def miswritten(number: str) -> str:
    """The ID number with a wrong check character."""
    return number[:17] + ("1" if number[17] == "0" else "0")


ME = {"person_id": "P1", "id_number": ric("35010219900101123"), "name": "张三",
      "phone": "13800000001"}  # fmt: skip
NAMELESS = {"person_id": "P2", "id_number": ric("35010219850505432"), "name": None,
            "phone": "13800000002"}  # fmt: skip
SOMEONE = {"person_id": "P3", "id_number": ric("35010219700707765"), "name": "李四",
           "phone": "13800000003"}  # fmt: skip


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """Pages render what the services return, and the services run on both databases in their
    own tests: the pages are checked on SQLite (the embedded default) only."""
    opened = open_platform(tmp_path / "data")
    yield opened
    opened.close()


@pytest.fixture
def tickets(platform: Platform, declare: Declare, write: Write) -> dict[str, str]:
    """One small resource of GA's and one of RS's, each with a row missing its name: one
    ticket each. Returns department → ticket number."""
    fields = [field("person_id", key=True), field("id_number"), field("name", S, "not_null"),
              field("phone")]  # fmt: skip
    opened = {}
    for code, department in ((PEOPLE, "GA"), (OTHER, "RS")):
        declare(code, fields, department=department)
        write(code, [ME, NAMELESS, SOMEONE])
        service.run_quality(platform, code)
        with platform.db.session_scope() as session:
            [ticket], _ = corrections.list_tickets(
                session, actor=steward_actor(department), ledger=platform.ledger, bureau="DSJ"
            )
        opened[department] = ticket.number
    return opened


def steward_actor(department: str) -> Actor:
    return Actor(kind="user", name=f"{department}-steward", department=department,
                 roles=frozenset({Role.DATA_STEWARD}))  # fmt: skip


def rows_of(page: str) -> list[str]:
    return re.findall(r'data-testid="ticket-row" data-number="([^"]+)"', page)


def state_of(page: str) -> str:
    found = re.search(r'data-testid="ticket-state" data-state="([^"]+)"', page)
    assert found, "the page shows the ticket's state"
    return found.group(1)


def csrf_of(platform: Platform, client: TestClient, username: str) -> str:
    """Sign ``username`` in; returns the CSRF token the workbench's forms carry."""
    return sign_in(platform, client, username)["X-CSRF-Token"]


def act(client: TestClient, csrf: str, number: str, action: str, note: str = "") -> Any:
    return client.post(
        f"{WORKBENCH}/{number}",
        data={"csrf_token": csrf, "action": action, "note": note},
        headers=HTML,
        follow_redirects=False,
    )


def test_a_steward_works_their_departments_tickets_from_open_to_fixed(
    platform: Platform, client: TestClient, make_user: MakeUser, tickets: dict[str, str]
) -> None:
    mine, theirs = tickets["GA"], tickets["RS"]
    csrf = csrf_of(platform, client, make_user("ga", Role.DATA_STEWARD, department="GA"))
    listing = client.get(WORKBENCH, headers=HTML)
    assert listing.status_code == 200 and rows_of(listing.text) == [mine]
    assert "纠错工单" in listing.text and "共 1 张工单" in listing.text
    assert rows_of(client.get(WORKBENCH, params={"state": "fixed"}, headers=HTML).text) == []
    assert client.get(f"{WORKBENCH}/{theirs}", headers=HTML).status_code == 403

    page = client.get(f"{WORKBENCH}/{mine}", headers=HTML)
    assert page.status_code == 200 and state_of(page.text) == "open"
    assert "<code>not_null</code>" in page.text and "<code>name</code>" in page.text
    assert 'data-testid="ticket-failing">1<' in page.text
    assert f"<code>{escape(row_key({'person_id': 'P2'}))}</code>" in page.text  # a sample
    assert 'data-testid="form-decide"' not in page.text  # the bureau's, not the steward's

    acknowledged = act(client, csrf, mine, "acknowledge")
    assert acknowledged.status_code == 303
    page = client.get(acknowledged.headers["location"], headers=HTML)
    assert state_of(page.text) == "acknowledged" and 'data-testid="corrections-done"' in page.text
    assert 'data-testid="form-acknowledge"' not in page.text  # done once
    assert act(client, csrf, mine, "fix", "已在户籍系统更正").status_code == 303
    page = client.get(f"{WORKBENCH}/{mine}", headers=HTML)
    assert state_of(page.text) == "fixed" and "已在户籍系统更正" in page.text
    assert re.findall(r'data-testid="ticket-event" data-action="(\w+)"', page.text) == [
        "open", "acknowledge", "fix"
    ]  # fmt: skip
    # A step the state no longer allows is refused beside its form; nothing changes.
    again = act(client, csrf, mine, "acknowledge")
    assert again.status_code == 409 and 'data-testid="form-error"' in again.text
    assert act(client, "wrong", mine, "dispute", "理由").status_code == 403  # CSRF

    client.cookies.set("rongshu_lang", "en")
    english = client.get(f"{WORKBENCH}/{mine}", headers=HTML)
    assert "Correction ticket" in english.text and "Fixed, awaiting check" in english.text
    assert "Correction tickets" in client.get(WORKBENCH, headers=HTML).text


def test_a_dispute_needs_a_reason_and_the_bureau_decides_it(
    platform: Platform, client: TestClient, make_user: MakeUser, tickets: dict[str, str]
) -> None:
    number = tickets["GA"]
    csrf = csrf_of(platform, client, make_user("ga", Role.DATA_STEWARD, department="GA"))
    refused = act(client, csrf, number, "dispute", " ")
    assert refused.status_code == 422 and "请填写理由" in refused.text
    assert 'aria-describedby="dispute-note-error"' in refused.text
    assert state_of(client.get(f"{WORKBENCH}/{number}", headers=HTML).text) == "open"
    assert act(client, csrf, number, "dispute", "该人员姓名依法不予登记").status_code == 303
    assert act(client, csrf, number, "uphold", "自己裁定").status_code == 403
    assert act(client, csrf, number, "uphold").status_code == 403

    csrf = csrf_of(platform, client, make_user("boss", Role.APPROVER, department="DSJ"))
    everyone = client.get(WORKBENCH, headers=HTML)
    assert set(rows_of(everyone.text)) == {number, tickets["RS"]}
    only_rs = client.get(WORKBENCH, params={"department": "RS"}, headers=HTML)
    assert rows_of(only_rs.text) == [tickets["RS"]]
    page = client.get(f"{WORKBENCH}/{number}", headers=HTML)
    assert state_of(page.text) == "disputed" and 'data-testid="form-decide"' in page.text
    assert "该人员姓名依法不予登记" in page.text
    unexplained = act(client, csrf, number, "uphold")
    assert unexplained.status_code == 422 and 'id="decide-note-error"' in unexplained.text
    assert state_of(client.get(f"{WORKBENCH}/{number}", headers=HTML).text) == "disputed"
    assert act(client, csrf, number, "uphold", "理由成立").status_code == 303
    page = client.get(f"{WORKBENCH}/{number}", headers=HTML)
    assert state_of(page.text) == "closed" and "申诉成立，撤销" in page.text


def test_viewers_without_rights_are_refused(
    platform: Platform, client: TestClient, make_user: MakeUser, tickets: dict[str, str]
) -> None:
    number = tickets["GA"]
    csrf = csrf_of(platform, client, make_user("dev", Role.DEVELOPER, department="GA"))
    assert client.get(WORKBENCH, headers=HTML).status_code == 403
    assert client.get(f"{WORKBENCH}/{number}", headers=HTML).status_code == 403
    assert act(client, csrf, number, "acknowledge").status_code == 403
    csrf = csrf_of(platform, client, make_user("rs", Role.DATA_STEWARD, department="RS"))
    refused = act(client, csrf, number, "acknowledge")
    assert refused.status_code == 403 and "没有权限" in refused.text
    with platform.db.session_scope() as session:
        ticket = corrections.get_ticket(
            session, number=number, actor=steward_actor("GA"), ledger=platform.ledger, bureau="DSJ"
        )
    assert ticket.state is TicketState.OPEN


def test_deadlines_are_marked_in_words(
    platform: Platform, client: TestClient, make_user: MakeUser, declare: Declare
) -> None:
    declare(PEOPLE, [field("person_id", key=True)])

    def open_ticket(days: int, when: datetime) -> str:
        platform.settings.quality_correction_days = days
        with platform.db.session_scope() as session:
            return corrections.open_ticket(
                session, kind=TicketKind.RULE, resource_code=PEOPLE, department_code="GA",
                severity=Severity.ERROR, failing=1, sample_keys=[], settings=platform.settings,
                ledger=platform.ledger, now=when,
            ).number  # fmt: skip

    late = open_ticket(5, datetime(2025, 9, 30, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    soon = open_ticket(0, utcnow())  # due at the end of today
    later = open_ticket(20, utcnow())
    sign_in(platform, client, make_user("ga", Role.DATA_STEWARD, department="GA"))
    page = client.get(WORKBENCH, headers=HTML).text
    marks = {}
    for row in page.split('data-testid="ticket-row"')[1:]:
        row = row.split("</tr>")[0]
        mark = re.search(r'data-due="(\w+)"', row)
        marks[rows_of('data-testid="ticket-row"' + row)[0]] = mark.group(1) if mark else ""
    assert marks == {late: "overdue", soon: "soon", later: ""}
    assert "已逾期" in page and "1 个工作日内到期" in page
    overdue = client.get(WORKBENCH, params={"due": "overdue"}, headers=HTML)
    assert rows_of(overdue.text) == [late]


# -- the citizen's objection ---------------------------------------------------------------


def last_code(platform: Platform) -> str:
    outbox = platform.settings.data_dir / "outbox" / "sms.log"
    phone, text = outbox.read_text(encoding="utf-8").splitlines()[-1].split("\t")[1:]
    assert phone == ME["phone"]
    found = re.search(r"\d{6}", text)
    assert found
    return found.group(0)


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the form carries its token"
    return found.group(1)


def test_a_person_disputes_their_record_through_the_pages(
    platform: Platform, client: TestClient, make_user: MakeUser, tickets: dict[str, str]
) -> None:
    with platform.db.session_scope() as session:
        objections.set_subject_access(
            session, resource_code=PEOPLE, actor=steward_actor("GA"), platform=platform,
            data=SubjectAccessIn(id_field="id_number", name_field="name", phone_field="phone"),
        )  # fmt: skip
    home = client.get("/", headers=HTML)
    assert 'href="/objection"' in home.text and "查询核实本人数据" in home.text
    start = client.get("/objection", headers=HTML)
    assert start.status_code == 200 and 'for="id-number"' in start.text
    token = form_token(start.text)

    def post(url: str, **data: str) -> Any:
        return client.post(
            url, data={"csrf_token": token, **data}, headers=HTML, follow_redirects=False
        )

    assert client.post("/objection/start", data=dict(ME), headers=HTML).status_code == 403
    bad = post("/objection/start", id_number=miswritten(ME["id_number"]), name=ME["name"])
    assert bad.status_code == 422 and "公民身份号码格式或校验位不正确" in bad.text
    assert 'aria-describedby="id-number-hint id-number-error"' in bad.text

    sent = post("/objection/start", id_number=ME["id_number"], name=ME["name"])
    assert sent.status_code == 303 and sent.headers["location"] == "/objection/code"
    code = last_code(platform)
    step2 = client.get("/objection/code", headers=HTML)
    assert step2.status_code == 200 and code not in step2.text and ME["phone"] not in step2.text
    wrong = post("/objection/verify", code=f"{(int(code) + 1) % 10**6:06d}")
    assert wrong.status_code == 422 and "验证码不正确，还可尝试 4 次" in wrong.text
    opened = post("/objection/verify", code=code)
    assert opened.status_code == 303 and opened.headers["location"] == "/objection/records"
    cookie = next(
        c for c in opened.headers.get_list("set-cookie") if c.startswith("rongshu_objection=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert f"Max-Age={objections.SESSION_MINUTES * 60}" in cookie and "Path=/objection" in cookie

    held = client.get("/objection/records", headers=HTML)
    assert held.status_code == 200 and held.text.count('data-testid="held-row"') == 1
    assert ME["phone"] in held.text and SOMEONE["name"] not in held.text
    mine = row_key({"person_id": "P1"})
    unexplained = post(
        "/objection/disputes", resource_code=PEOPLE, row_key=mine, field="name", reason=""
    )
    assert unexplained.status_code == 422 and "请说明理由" in unexplained.text
    theirs = post(
        "/objection/disputes", resource_code=PEOPLE, row_key=row_key({"person_id": "P3"}),
        field="name", reason="不是我的名字",
    )  # fmt: skip
    assert theirs.status_code == 422 and "不属于您" in theirs.text
    disputed = post(
        "/objection/disputes", resource_code=PEOPLE, row_key=mine, field="name", reason="应为张叁"
    )
    assert disputed.status_code == 303
    status = client.get(disputed.headers["location"], headers=HTML)
    number = re.search(r'data-testid="objection-number">[^<]*?(JC\w+)', status.text)
    assert number and state_of(status.text) == "open" and "异议已提交" in status.text

    sign_in(platform, client, make_user("ga", Role.DATA_STEWARD, department="GA"))
    workbench = client.get(WORKBENCH, params={"kind": "objection"}, headers=HTML)
    assert rows_of(workbench.text) == [number.group(1)]
    assert "应为张叁" in client.get(f"{WORKBENCH}/{number.group(1)}", headers=HTML).text

    ended = post("/objection/end")
    assert ended.status_code == 303
    assert client.get("/objection/records", follow_redirects=False).status_code == 303
    client.cookies.set("rongshu_lang", "en")
    english = client.get("/objection?notice=ended", headers=HTML)
    assert "Check the data held about you" in english.text and "signed out" in english.text


def test_codes_are_rate_limited_and_a_lapsed_request_starts_again(
    platform: Platform, client: TestClient
) -> None:
    assert client.get("/objection/code", follow_redirects=False).headers["location"] == (
        "/objection?notice=lapsed"
    )
    token = form_token(client.get("/objection", headers=HTML).text)
    person = {"csrf_token": token, "id_number": ME["id_number"], "name": ME["name"]}
    for _ in range(objections.CODES_PER_HOUR):
        sent = client.post("/objection/start", data=person, headers=HTML, follow_redirects=False)
        assert sent.status_code == 303  # the same answer whether or not anyone was found
    limited = client.post("/objection/start", data=person, headers=HTML)
    assert limited.status_code == 429 and "获取验证码过于频繁" in limited.text
