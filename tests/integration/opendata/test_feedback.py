"""The public's feedback: ratings and comments need a signed-in person, data requests are
answered by the department they are addressed to, and the showcase shows only what the bureau
approved."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.core.audit.models import AuditEntry
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.opendata import feedback

from ..conftest import MakeUser, sign_in
from .conftest import AIR, Portal


def _opened(portal: Portal) -> str:
    portal.air(rows=40)
    return portal.open(AIR)


def _actions(platform: Platform, prefix: str) -> list[tuple[str, str, str]]:
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action.startswith(prefix)))
        return [(e.actor, e.action, e.outcome) for e in rows]


def test_comments_need_sign_in_and_then_appear_with_the_rating(
    portal: Portal, client: TestClient, make_user: MakeUser
) -> None:
    name = _opened(portal)
    page = client.get(f"/datasets/{name}")
    assert 'data-testid="comment-sign-in"' in page.text
    assert 'data-testid="comment-form"' not in page.text

    anonymous = client.post(
        f"/datasets/{name}/comments", data={"rating": "5", "text": "匿名"}, follow_redirects=False
    )
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/account/login?next=")

    make_user("alice", Role.PUBLIC_USER)
    headers = sign_in(portal.platform, client, "alice")
    no_token = client.post(f"/datasets/{name}/comments", data={"rating": "5", "text": "x"})
    assert no_token.status_code == 403

    csrf = headers["X-CSRF-Token"]
    bad = client.post(f"/datasets/{name}/comments", data={"rating": "9", "csrf_token": csrf})
    assert bad.status_code == 422 and "1 至 5 星" in bad.text
    empty = client.post(f"/datasets/{name}/comments", data={"rating": "", "csrf_token": csrf})
    assert empty.status_code == 422 and "请打分或填写评论" in empty.text

    posted = client.post(
        f"/datasets/{name}/comments",
        data={"rating": "4", "text": "数据及时，很有用", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and "done=commented" in posted.headers["location"]
    page = client.get(f"/datasets/{name}").text
    comments = re.findall(r'data-testid="comment">(.*?)</li>', page, re.S)
    assert len(comments) == 1 and "数据及时，很有用" in comments[0] and "alice" in comments[0]
    assert re.search(r'data-testid="rating">4\.0', page)

    # Rating again replaces the person's earlier rating; the comment text stays.
    client.post(f"/datasets/{name}/comments", data={"rating": "2", "text": "", "csrf_token": csrf})
    twin = client.get(f"/datasets/{name}.json").json()
    assert twin["rating"] == 2.0 and twin["ratings"] == 1
    page = client.get(f"/datasets/{name}").text
    assert len(re.findall(r'data-testid="comment"', page)) == 2 and "数据及时，很有用" in page
    assert [a[1] for a in _actions(portal.platform, "opendata.comment")] == ["opendata.comment"] * 2


def test_a_data_request_is_answered_by_its_department(
    portal: Portal, client: TestClient, make_user: MakeUser
) -> None:
    _opened(portal)
    make_user("bob", Role.PUBLIC_USER)
    make_user("hb_steward", Role.DATA_STEWARD, department="HB")
    make_user("sc_steward", Role.DATA_STEWARD, department="SC")

    listed = client.get("/requests")
    assert 'data-testid="request-sign-in"' in listed.text
    assert client.post("/requests", data={"title": "x"}, follow_redirects=False).status_code == 303

    csrf = sign_in(portal.platform, client, "bob")["X-CSRF-Token"]
    missing = client.post(
        "/requests", data={"title": "水质", "description": "", "csrf_token": csrf}
    )
    assert missing.status_code == 422 and "请选择部门" in missing.text
    made = client.post(
        "/requests",
        data={
            "title": "河流水质监测数据",
            "description": "希望按月开放各断面的水质类别，用于课题研究。",
            "department_code": "HB",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    shown = client.get("/requests").text
    assert "河流水质监测数据" in shown and 'data-state="open"' in shown
    assert "待答复" in shown and "HB 局" in shown

    # Another department's steward neither sees a form for it nor may answer it.
    other = sign_in(portal.platform, client, "sc_steward")["X-CSRF-Token"]
    inbox = client.get("/console/opendata/requests").text
    assert "河流水质监测数据" not in inbox
    request_id = client.get("/requests.json").json()["requests"][0]["id"]
    refused = client.post(
        f"/console/opendata/requests/{request_id}/answer",
        data={"answer": "不归我们管", "csrf_token": other},
    )
    assert refused.status_code == 403

    steward = sign_in(portal.platform, client, "hb_steward")["X-CSRF-Token"]
    inbox = client.get("/console/opendata/requests").text
    assert "河流水质监测数据" in inbox and 'data-testid="answer-form"' in inbox
    blank = client.post(
        f"/console/opendata/requests/{request_id}/answer",
        data={"answer": "  ", "csrf_token": steward},
    )
    assert blank.status_code == 422 and "请填写答复内容" in blank.text
    answered = client.post(
        f"/console/opendata/requests/{request_id}/answer",
        data={"answer": "已列入下季度开放计划，预计 3 月上线。", "csrf_token": steward},
        follow_redirects=False,
    )
    assert answered.status_code == 303

    client.cookies.clear()
    public = client.get("/requests").text
    answer = re.search(r'data-testid="request-answer">(.*?)</div>', public, re.S)
    assert answer and "已列入下季度开放计划" in answer.group(1)
    assert 'data-state="answered"' in public
    twin = client.get("/requests.json", params={"state": "answered"}).json()
    assert twin["count"] == 1 and twin["requests"][0]["answered_by"] == "hb_steward"
    assert client.get("/requests.json", params={"state": "open"}).json()["count"] == 0
    assert ("sc_steward", "opendata.answer", "denied") in _actions(portal.platform, "opendata.")


def test_the_showcase_shows_an_application_only_after_the_bureau_approves(
    portal: Portal, client: TestClient, make_user: MakeUser
) -> None:
    name = _opened(portal)
    make_user("carol", Role.PUBLIC_USER)
    make_user("dsj_approver", Role.APPROVER, department="DSJ")
    make_user("hb_steward", Role.DATA_STEWARD, department="HB")

    csrf = sign_in(portal.platform, client, "carol")["X-CSRF-Token"]
    unknown = client.post(
        "/showcase",
        data={
            "title": "榕城空气地图",
            "description": "实时空气质量地图",
            "url": "https://air.example.cn",
            "datasets": "no-such-dataset",
            "csrf_token": csrf,
        },
    )
    assert unknown.status_code == 422 and "no-such-dataset" in unknown.text
    bad_link = client.post(
        "/showcase",
        data={
            "title": "榕城空气地图",
            "description": "实时空气质量地图",
            "url": "javascript:alert(1)",
            "datasets": name,
            "csrf_token": csrf,
        },
    )
    assert bad_link.status_code == 422 and "https://" in bad_link.text
    submitted = client.post(
        "/showcase",
        data={
            "title": "榕城空气地图",
            "description": "实时空气质量地图",
            "url": "https://air.example.cn",
            "datasets": name,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert submitted.status_code == 303
    mine = client.get("/showcase").text
    assert 'data-testid="showcase-empty"' in mine and 'data-testid="showcase-entry"' not in mine
    assert re.search(r'data-testid="my-showcase">.*榕城空气地图.*待审核', mine, re.S)
    assert client.get("/showcase.json").json()["count"] == 0

    sign_in(portal.platform, client, "hb_steward")
    assert client.get("/console/opendata/showcase").status_code == 403

    bureau = sign_in(portal.platform, client, "dsj_approver")["X-CSRF-Token"]
    queue = client.get("/console/opendata/showcase").text
    assert "榕城空气地图" in queue
    entry_id = int(re.search(r"/console/opendata/showcase/(\d+)/decision", queue).group(1))  # type: ignore[union-attr]
    no_reason = client.post(
        f"/console/opendata/showcase/{entry_id}/decision",
        data={"action": "refuse", "reason": "", "csrf_token": bureau},
    )
    assert no_reason.status_code == 422 and "不予展示时请填写理由" in no_reason.text
    approved = client.post(
        f"/console/opendata/showcase/{entry_id}/decision",
        data={"action": "approve", "reason": "", "csrf_token": bureau},
        follow_redirects=False,
    )
    assert approved.status_code == 303

    client.cookies.clear()
    shown = client.get("/showcase").text
    link = re.search(r'<a href="([^"]+)"[^>]*data-testid="showcase-link">([^<]+)<', shown)
    assert link and link.groups() == ("https://air.example.cn", "榕城空气地图")
    assert f'href="/datasets/{name}"' in shown and "空气质量监测数据" in shown
    twin = client.get("/showcase.json").json()
    assert twin["count"] == 1 and twin["showcase"][0]["datasets"] == [name]


def test_who_answers_requests_and_decides_the_showcase() -> None:
    """Only the stewards of the addressed department answer; only the bureau's approvers and
    stewards decide the showcase."""
    steward = Actor(kind="user", name="x", department="SC", roles=frozenset({Role.DATA_STEWARD}))
    assert feedback.may_answer(steward, "SC") and not feedback.may_answer(steward, "HB")
    assert not feedback.may_decide_showcase(steward, "DSJ")
    approver = Actor(kind="user", name="y", department="SC", roles=frozenset({Role.APPROVER}))
    assert not feedback.may_answer(approver, "SC")
    bureau = Actor(kind="user", name="z", department="DSJ", roles=frozenset({Role.APPROVER}))
    assert feedback.may_decide_showcase(bureau, "DSJ")
