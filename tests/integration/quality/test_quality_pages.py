"""The quality console pages through the in-process client: the dashboard and a run's page show
what the services computed; a resource's stewards edit its rules through the forms (a bad rule
is explained and not stored), others read them only; and the catalog links to them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.areas import load_jobs
from rongshu.catalog.schemas import FieldType
from rongshu.core.audit.models import AuditEntry
from rongshu.core.identity.roles import Role
from rongshu.core.jobs import create_queue
from rongshu.core.platform import Platform
from rongshu.quality import rules, service
from rongshu.quality.schemas import RulePublic, RunPublic
from rongshu.web.app import create_app

from ..conftest import Declare, MakeUser, Write, field, open_platform, sign_in

CODE = "T-PAGES"
PAGE = f"/console/quality/resources/{CODE}"
HTML = {"Accept": "text/html"}


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """Pages render what the services return, and the services run on both databases in their
    own tests: the pages are checked on SQLite (the embedded default) only."""
    opened = open_platform(tmp_path / "data")
    yield opened
    opened.close()


@pytest.fixture
def run(platform: Platform, declare: Declare, write: Write) -> RunPublic:
    """A checked resource of GA: a duplicated id (two rows) and an age out of range."""
    declare(CODE, [field("id", FieldType.STRING, "not_null", "unique", key=True),
                   field("age", FieldType.INTEGER, "range:0~120"),
                   field("note", FieldType.STRING)])  # fmt: skip
    write(CODE, [{"id": "a", "age": 3, "note": "x"}, {"id": "b", "age": 300, "note": None},
                 {"id": "b", "age": 40, "note": "y"}])  # fmt: skip
    return service.run_quality(platform, CODE)


def steward(platform: Platform, client: TestClient, make_user: MakeUser) -> str:
    """Sign in GA's data steward; returns the CSRF token the forms carry."""
    user = make_user("ga_steward", Role.DATA_STEWARD, department="GA")
    return sign_in(platform, client, user)["X-CSRF-Token"]


def viewer(platform: Platform, client: TestClient, make_user: MakeUser, *roles: Role) -> str:
    """Sign in someone of another department (a developer unless ``roles`` say otherwise)."""
    user = make_user("rs_user", *(roles or (Role.DEVELOPER,)), department="RS")
    return sign_in(platform, client, user)["X-CSRF-Token"]


def stored_rules(platform: Platform) -> list[RulePublic]:
    with platform.db.session_scope() as session:
        return rules.list_rules(session, resource_code=CODE)


def chart(page: str, testid: str) -> dict[str, list[object]]:
    """The figures a chart draws: its data: URL, decoded."""
    found = re.search(rf'data-testid="{testid}"\s+data-chart="data:application/json,([^"]+)"', page)
    assert found, testid
    return dict(json.loads(unquote(found.group(1))))


def count_testid(page: str, testid: str) -> int:
    return page.count(f'data-testid="{testid}"')


def test_dashboard_and_run_page_show_what_the_services_found(
    platform: Platform, client: TestClient, make_user: MakeUser, run: RunPublic
) -> None:
    steward(platform, client, make_user)
    assert run.score is not None
    score = f"{run.score * 100:.1f}%"
    dashboard = client.get("/console/quality", headers=HTML)
    assert dashboard.status_code == 200
    league = re.search(
        r'data-testid="league-row" data-department="GA"(.*?)</tr>', dashboard.text, re.S
    )
    assert league and score in league.group(1)
    assert chart(dashboard.text, "league-chart") == {
        "x": ["GA 局"],
        "y": [round(run.score * 100, 1)],
    }
    assert chart(dashboard.text, "trend-chart")["y"] == [round(run.score * 100, 1)]
    assert f'href="/console/quality/runs/{run.id}"' in dashboard.text
    assert 'href="/console/quality/corrections"' in dashboard.text
    by_department = client.get("/console/quality", params={"department": "GA"}, headers=HTML)
    assert f'href="{PAGE}"' in by_department.text  # the department's resources

    page = client.get(f"/console/quality/runs/{run.id}", headers=HTML).text
    shown = dict(
        re.findall(
            r'data-rule="(\d+)">.*?data-testid="result-failing">(?:<a[^>]*>)?([\d,]+)', page, re.S
        )
    )
    assert shown == {str(r.rule_id): str(r.failing) for r in run.results}
    assert count_testid(page, "failing-row") == sum(r.failing for r in run.results)
    assert "值重复" in page and "值大于上限" in page  # reasons, in Chinese

    unique = next(r for r in run.results if r.kind.value == "unique")
    one_rule = client.get(f"/console/quality/runs/{run.id}", params={"rule": unique.rule_id})
    assert count_testid(one_rule.text, "failing-row") == unique.failing == 2
    assert "<code>id=b</code>" in one_rule.text and "值大于上限" not in one_rule.text

    viewer(platform, client, make_user)  # counts for everyone, rows for the department only
    other = client.get(f"/console/quality/runs/{run.id}", headers=HTML).text
    assert 'data-testid="failing-not-yours"' in other and count_testid(other, "failing-row") == 0
    assert count_testid(other, "result-row") == len(run.results)
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        reads = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "quality.failures_read")
        ).all()
    assert set(reads) == {"ga_steward"}


def test_a_steward_adds_a_rule_through_the_form_and_sees_it_listed(
    platform: Platform, client: TestClient, make_user: MakeUser, run: RunPublic
) -> None:
    csrf = steward(platform, client, make_user)
    form = client.get(PAGE, params={"kind": "range"}, headers=HTML)
    assert form.status_code == 200 and 'data-testid="rule-form"' in form.text
    assert '<option value="age">age age 信息项</option>' in form.text  # the resource's fields
    before = len(stored_rules(platform))

    added = client.post(
        f"{PAGE}/rules",
        data={
            "csrf_token": csrf,
            "kind": "range",
            "field": "age",
            "p.min": "1",
            "p.max": "99",
            "severity": "warning",
            "enabled": "on",
        },  # fmt: skip
        headers=HTML,
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    page = client.get(added.headers["location"], headers=HTML).text
    assert "规则已添加" in page
    new = stored_rules(platform)[-1]
    assert len(stored_rules(platform)) == before + 1
    assert (new.field, new.kind.value, new.params, new.severity.value, new.origin.value) == (
        "age", "range", {"min": 1.0, "max": 99.0}, "warning", "steward",
    )  # fmt: skip
    row = re.search(rf'data-rule="{new.id}" data-kind="range">(.*?)</td>\s*<td>', page, re.S)
    assert row and count_testid(page, "rule-row") == before + 1

    # a standard through its select, then the change form: severity only, then the parameters
    standard = client.post(
        f"{PAGE}/rules",
        data={"csrf_token": csrf, "kind": "standard", "field": "note", "p.standard": "mobile"},
        headers=HTML,
        follow_redirects=False,
    )
    assert standard.status_code == 303
    assert stored_rules(platform)[-1].params == {"standard": "mobile"}
    change = {"csrf_token": csrf, "severity": "info", "dimension": "", "p.min": "1", "p.max": "99"}
    changed = client.post(
        f"{PAGE}/rules/{new.id}", data=change, headers=HTML, follow_redirects=False
    )
    assert changed.status_code == 303
    now = {r.id: r for r in stored_rules(platform)}
    assert (now[new.id].severity.value, now[new.id].enabled) == ("info", False)  # box unticked
    change |= {"p.max": "80", "enabled": "on"}
    replaced = client.post(
        f"{PAGE}/rules/{new.id}", data=change, headers=HTML, follow_redirects=False
    )
    assert replaced.status_code == 303
    ranges = [
        r for r in stored_rules(platform) if r.origin.value == "steward" and r.kind.value == "range"
    ]
    assert [(r.params, r.severity.value, r.enabled) for r in ranges] == [
        ({"min": 1.0, "max": 80.0}, "info", True)
    ]
    deleted = client.post(
        f"{PAGE}/rules/{ranges[0].id}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert deleted.status_code == 303 and len(stored_rules(platform)) == before + 1
    synced = client.post(f"{PAGE}/sync", data={"csrf_token": csrf}, headers=HTML)
    assert "已从目录同步：新增 0 条，移除 0 条" in synced.text


def test_a_bad_rule_is_explained_beside_the_form_and_not_stored(
    platform: Platform, client: TestClient, make_user: MakeUser, run: RunPublic
) -> None:
    csrf = steward(platform, client, make_user)
    before = stored_rules(platform)

    no_bounds = client.post(
        f"{PAGE}/rules",
        data={"csrf_token": csrf, "kind": "range", "field": "age", "severity": "info"},
        headers=HTML,
    )
    assert no_bounds.status_code == 422
    assert (
        'data-testid="rule-errors"' in no_bounds.text
        and "a range needs min, max or both" in no_bounds.text
    )
    assert '<option value="age" selected>' in no_bounds.text  # what was typed is kept
    assert '<option value="info" selected>' in no_bounds.text

    unsafe = client.post(
        f"{PAGE}/rules",
        data={"csrf_token": csrf, "kind": "custom_sql", "p.predicate": "age > (SELECT 1)"},
        headers=HTML,
    )
    assert unsafe.status_code == 422
    problem = re.search(r'id="add-p-predicate-error">(.*?)</p>', unsafe.text, re.S)
    assert problem and "SELECT" in problem.group(1)  # the service's reason, beside the input
    assert 'aria-invalid="true"' in unsafe.text and "age &gt; (SELECT 1)</textarea>" in unsafe.text

    unknown = client.post(
        f"{PAGE}/rules",
        data={"csrf_token": csrf, "kind": "ric_gender", "field": "note", "p.id_field": "salary"},
        headers=HTML,
    )
    assert unknown.status_code == 422 and "salary is not a field" in unknown.text
    assert stored_rules(platform) == before


def test_others_read_the_rules_but_cannot_change_them(
    platform: Platform, client: TestClient, make_user: MakeUser, run: RunPublic
) -> None:
    before = stored_rules(platform)
    csrf = viewer(platform, client, make_user, Role.DATA_STEWARD)
    page = client.get(PAGE, params={"kind": "range"}, headers=HTML)
    assert page.status_code == 200 and count_testid(page.text, "rule-row") == len(before)
    assert 'data-testid="rules-read-only"' in page.text
    for absent in ("rule-form", "rule-edit-form", "run-now", "sync-rules", "profile-link"):
        assert f'data-testid="{absent}"' not in page.text, absent

    rule = before[0].id
    for url, data in (
        (f"{PAGE}/rules", {"kind": "not_null", "field": "note"}),
        (f"{PAGE}/rules/{rule}", {"severity": "info"}),
        (f"{PAGE}/rules/{rule}/delete", {}),
        (f"{PAGE}/sync", {}),
        (f"{PAGE}/run", {}),
        (f"{PAGE}/profile", {"accept": '{"field": "note", "kind": "not_null", "params": {}}'}),
    ):
        refused = client.post(url, data={"csrf_token": csrf, **data}, headers=HTML)
        assert refused.status_code == 403, url
        assert "没有权限" in refused.text
    assert client.get(f"{PAGE}/profile", headers=HTML).status_code == 403
    assert stored_rules(platform) == before
    with platform.db.session_scope() as session:
        assert service.list_runs(session, resource_code=CODE)[1] == 1
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        denied = set(
            session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.actor == "rs_user", AuditEntry.outcome == "denied"
                )
            )
        )
    assert {"quality.rule_change", "quality.run_request", "quality.profile_read"} <= denied


def test_check_now_profile_and_accepting_a_suggestion(
    platform: Platform, client: TestClient, make_user: MakeUser, run: RunPublic
) -> None:
    csrf = steward(platform, client, make_user)
    ran = client.post(
        f"{PAGE}/run", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert ran.status_code == 303 and ran.headers["location"].endswith("?done=ran")
    assert "检查已完成" in client.get(ran.headers["location"], headers=HTML).text

    profile = client.get(f"{PAGE}/profile", headers=HTML)
    assert profile.status_code == 200 and 'data-testid="profile"' in profile.text
    offered = re.findall(r'name="accept" value="([^"]+)"', profile.text)
    assert offered
    choice = offered[0].replace("&#34;", '"')
    accepted = client.post(
        f"{PAGE}/profile", data={"csrf_token": csrf, "accept": choice}, follow_redirects=False
    )
    assert accepted.status_code == 303
    rule = json.loads(choice)
    assert (rule["field"], rule["kind"]) in {
        (r.field, r.kind.value) for r in stored_rules(platform)
    }


def test_with_a_job_queue_check_now_is_queued(
    platform: Platform, make_user: MakeUser, run: RunPublic
) -> None:
    load_jobs()
    queue = create_queue(platform.settings, context_factory=lambda _: {"platform": platform})
    try:
        with TestClient(create_app(platform.settings, platform=platform, queue=queue)) as client:
            csrf = steward(platform, client, make_user)
            queued = client.post(f"{PAGE}/run", data={"csrf_token": csrf}, headers=HTML)
            assert queued.status_code == 200 and "检查已加入任务队列" in queued.text
    finally:
        queue.flush()
        queue.close()


def test_check_now_before_any_load_says_why(
    platform: Platform, client: TestClient, make_user: MakeUser, declare: Declare
) -> None:
    declare(CODE, [field("id", FieldType.STRING, "not_null", key=True)])
    csrf = steward(platform, client, make_user)
    refused = client.post(f"{PAGE}/run", data={"csrf_token": csrf}, headers=HTML)
    assert refused.status_code == 404
    assert 'data-testid="run-refused"' in refused.text and "load it first" in refused.text
    assert "尚未成功检查过" in refused.text


def test_pages_speak_english_and_the_catalog_links_to_them(
    platform: Platform, client: TestClient, make_user: MakeUser, run: RunPublic
) -> None:
    steward(platform, client, make_user)
    catalog = client.get(f"/console/catalog/{CODE}", headers=HTML).text
    links = re.search(r'data-testid="resource-links">(.*?)</section>', catalog, re.S)
    assert links and f'href="{PAGE}"' in links.group(1)
    assert f'href="/console/ingest/resources/{CODE}"' in links.group(1)  # its stewards see loads

    client.cookies.set("rongshu_lang", "en")
    dashboard = client.get("/console/quality", headers=HTML).text
    assert "Department league table" in dashboard and "部门质量排名" not in dashboard
    assert chart(dashboard, "dimension-chart")["x"][0] == "Completeness"
    resource = client.get(PAGE, params={"kind": "regex"}, headers=HTML).text
    assert "资源 T-PAGES: data quality" in resource and "Regular expression" in resource
    assert "Every rule" in client.get(f"/console/quality/runs/{run.id}", headers=HTML).text
    assert (
        "the value appears in more than one row"
        in client.get(f"/console/quality/runs/{run.id}", headers=HTML).text
    )
