"""Data quality (治理) at a browser: 公安's data steward reads the league table and its charts and
a run's failing rows, adds a length rule to the household registry and checks it now, and
acknowledges a correction ticket; a resident proves who they are with the code the simulated
SMS sent, reads their household record and disputes a field of it.

Runs on the served demo city of ``test_catalog_browser`` (``rongshu demo --no-serve``, then a
real ``rongshu serve``, whose in-process job queue runs the check). No page may log an error to
the browser's console. Screenshots are kept in each test's tmp_path.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rongshu.demo.generator import DATABASE_FILE
from rongshu.standards import get_standard

from .test_catalog_browser import Demo, _new_page, demo
from .test_console_browser import browser
from .test_ingest_browser import _number, _sign_in

__all__ = ["browser", "demo"]  # the shared module-scoped fixtures

pytestmark = pytest.mark.e2e

#: The household registry of 公安, the steward's department; its residents may object.
HOUSEHOLD = "350100-GA-0001"
HOUSEHOLD_TABLE = "ga_household_registry"
#: Milliseconds a page may take for one step (a chart to draw, a form to answer).
STEP_MS = 5_000
#: Seconds the queued check may take to show as finished on the resource's page.
RUN_SECONDS = 20.0
#: The line of the simulated SMS outbox that carries the one-time code.
CODE = re.compile(r"验证码为\s*(\d{6})")


def _page(browser: Any) -> tuple[Any, list[str]]:
    """A fresh page, and the errors its scripts log to the console or throw."""
    page = _new_page(browser)
    page.set_default_timeout(STEP_MS)
    errors: list[str] = []

    def logged(message: Any) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: {message.text}")

    page.on("console", logged)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    return page, errors


def _steward(browser: Any, demo: Demo) -> tuple[Any, list[str]]:
    """A page of 公安's data steward, signed in to the console."""
    page, errors = _page(browser)
    page.goto(f"{demo.base_url}/console")
    _sign_in(page, "steward", demo.accounts["steward"])
    page.wait_for_url(f"{demo.base_url}/console")
    return page, errors


def _charts_drawn(page: Any, *testids: str) -> None:
    """ECharts drew each chart (its canvas) from the figures in the page."""
    from playwright.sync_api import expect

    for testid in testids:
        chart = page.get_by_test_id(testid)
        expect(chart).to_have_attribute("data-chart-ready", "true")
        expect(chart.locator("canvas, svg").first).to_be_visible()


def _reload_until(page: Any, done: Callable[[], bool], seconds: float) -> None:
    """Reload ``page`` until ``done()`` (a page without live updates), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"not done after {seconds}s: {page.url}"
        page.wait_for_timeout(500)
        page.reload()


def test_steward_reads_the_league_table_its_charts_and_a_runs_failing_rows(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page, errors = _steward(browser, demo)
    try:
        page.goto(f"{demo.base_url}/console/quality")
        league = page.get_by_test_id("league-row")
        expect(league.first).to_be_visible()
        assert league.count() >= 10, "the demo checks a resource of nearly every department"
        expect(league.filter(has=page.get_by_role("link", name="榕城市公安局"))).to_have_count(1)
        _charts_drawn(page, "league-chart", "dimension-chart", "trend-chart")
        page.screenshot(path=str(tmp_path / "1-dashboard.png"), full_page=True)

        # The household registry's run: its failing rows, as counted in the runs list.
        run = page.get_by_test_id("run-row").filter(has_text=HOUSEHOLD).last
        listed = _number(run.get_by_role("cell").nth(7).inner_text())
        assert listed > 0, "the demo injects defects into the household registry"
        run.get_by_role("link").first.click()
        expect(page.get_by_test_id("run-title")).to_contain_text("已完成")
        expect(page.get_by_test_id("run-failing")).to_have_text(f"{listed:,}")
        failing = page.get_by_test_id("result-row").get_by_test_id("result-failing")
        per_rule = [_number(text) for text in failing.all_inner_texts()]
        assert sum(per_rule) >= listed, per_rule  # a row failing two rules counts once
        expect(page.get_by_test_id("failing-row").first).to_be_visible()
        assert page.get_by_test_id("failing-row").count() == min(sum(per_rule), 50)
        expect(page.get_by_test_id("failing-rows")).to_contain_text("ric.check_digit")
        _charts_drawn(page, "dimension-chart")
        page.screenshot(path=str(tmp_path / "2-run.png"), full_page=True)
        assert not errors, errors
    finally:
        page.context.close()


def test_steward_adds_a_length_rule_and_checks_the_resource_now(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page, errors = _steward(browser, demo)
    try:
        page.goto(f"{demo.base_url}/console/quality/resources/{HOUSEHOLD}")
        expect(page.get_by_test_id("resource-title")).to_contain_text("户籍人口信息")
        _charts_drawn(page, "dimension-chart", "trend-chart")
        runs_before = page.get_by_test_id("run-row").count()
        expect(page.locator("[data-testid=rule-row][data-kind=length]")).to_have_count(0)

        # The editor: choose the kind, then its field and bounds.
        chooser = page.get_by_test_id("rule-kind-form")
        chooser.get_by_label("规则类型").select_option("length")
        chooser.get_by_role("button").click()
        form = page.get_by_test_id("rule-form")
        expect(form.get_by_role("heading")).to_have_text("长度")
        form.get_by_label("信息项", exact=True).select_option("name")
        form.get_by_label("下限", exact=True).fill("2")
        form.get_by_label("上限", exact=True).fill("3")
        page.screenshot(path=str(tmp_path / "3-rule-form.png"), full_page=True)
        form.get_by_test_id("rule-add").click()

        expect(page).to_have_url(re.compile(r"done=added"))
        expect(page.get_by_test_id("quality-done")).to_contain_text("规则已添加")
        added = page.locator("[data-testid=rule-row][data-kind=length]")
        expect(added).to_have_count(1)
        expect(added).to_contain_text("name")
        expect(added).to_contain_text("上限：3")
        expect(added).to_contain_text("数据管理员")
        rule_id = added.get_attribute("data-rule")

        # Check now: queued, and listed once the in-process queue has run it.
        page.get_by_test_id("run-now").click()
        expect(page.get_by_test_id("quality-done")).to_contain_text("检查已加入任务队列")
        runs = page.get_by_test_id("run-row")
        _reload_until(
            page,
            lambda: (
                runs.count() == runs_before + 1
                and runs.first.get_by_test_id("run-status").inner_text() == "已完成"
            ),
            RUN_SECONDS,
        )
        expect(runs.first).to_contain_text("steward")
        _charts_drawn(page, "dimension-chart", "trend-chart")
        page.screenshot(path=str(tmp_path / "4-resource.png"), full_page=True)

        # The run applied the new rule to every row.
        runs.first.get_by_role("link").first.click()
        result = page.locator(f"[data-testid=result-row][data-rule='{rule_id}']")
        expect(result).to_contain_text("长度")
        expect(result.get_by_role("cell").nth(5)).to_have_text(
            page.get_by_test_id("run-rows").inner_text()
        )
        page.screenshot(path=str(tmp_path / "5-run.png"), full_page=True)
        assert not errors, errors
    finally:
        page.context.close()


def test_steward_lists_the_departments_tickets_and_acknowledges_one(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page, errors = _steward(browser, demo)
    try:
        page.goto(f"{demo.base_url}/console/quality/corrections")
        tickets = page.get_by_test_id("ticket-row")
        expect(tickets.first).to_be_visible()
        for text in tickets.all_inner_texts():
            assert "350100-GA-" in text, text  # 公安's own tickets only
        opened = tickets.filter(has=page.locator("[data-state=open]")).first
        number = opened.get_attribute("data-number")
        assert number
        opened.get_by_role("link", name=number).click()

        expect(page.get_by_test_id("ticket-number")).to_contain_text(number)
        expect(page.get_by_test_id("ticket-state")).to_have_attribute("data-state", "open")
        assert _number(page.get_by_test_id("ticket-failing").inner_text()) > 0
        page.get_by_test_id("form-acknowledge").get_by_role("button").click()

        expect(page).to_have_url(re.compile(r"done=acknowledge"))
        expect(page.get_by_test_id("corrections-done")).to_contain_text("已确认收到工单")
        expect(page.get_by_test_id("ticket-state")).to_have_attribute("data-state", "acknowledged")
        expect(page.locator("[data-testid=ticket-event][data-action=acknowledge]")).to_have_count(1)
        expect(page.get_by_test_id("form-acknowledge")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "6-ticket.png"), full_page=True)

        page.goto(f"{demo.base_url}/console/quality/corrections")
        row = page.locator(f"[data-testid=ticket-row][data-number='{number}']")
        expect(row.get_by_test_id("ticket-state")).to_have_text("已确认")
        assert not errors, errors
    finally:
        page.context.close()


def _resident(data_dir: Path) -> dict[str, str]:
    """A person of the household registry as the demo's source system holds them, with none of
    the defects the demo injected (ground_truth lists them) nor a near-duplicate."""
    truth = data_dir / "demo" / "ground_truth"
    with (truth / "defects.csv").open(encoding="utf-8") as listed:
        unusual = {row["row_key"] for row in csv.DictReader(listed)}
    with (truth / "duplicates.csv").open(encoding="utf-8") as listed:
        for row in csv.DictReader(listed):
            unusual |= {row["original_person_id"], row["duplicate_person_id"]}
    database = sqlite3.connect(data_dir / "demo" / DATABASE_FILE)
    try:
        database.row_factory = sqlite3.Row
        rows = database.execute(
            f"SELECT person_id, id_number, name, phone, household_address FROM {HOUSEHOLD_TABLE}"  # noqa: S608
            " WHERE name <> '' AND phone <> '' ORDER BY person_id"
        ).fetchall()
    finally:
        database.close()
    ric = get_standard("ric")
    return next(
        dict(row)
        for row in rows
        if row["person_id"] not in unusual and ric.check(row["id_number"]).ok
    )


def _code_sent_to(outbox: Path, phone: str) -> str:
    """The one-time code of the last simulated text message to ``phone``."""
    for line in reversed(outbox.read_text(encoding="utf-8").splitlines()):
        _, to, text = line.split("\t", 2)
        if to == phone:
            found = CODE.search(text)
            assert found, text
            return found.group(1)
    raise AssertionError(f"no text message to {phone} in {outbox}")


def test_resident_proves_who_they_are_reads_their_record_and_disputes_a_field(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    data_dir = Path(demo.env["RONGSHU_DATA_DIR"])
    person = _resident(data_dir)
    page, errors = _page(browser)
    try:
        # Step 1: the ID number and name; a code goes to the phone on record.
        page.goto(f"{demo.base_url}/objection")
        start = page.get_by_test_id("objection-start")
        start.get_by_label("公民身份号码").fill(person["id_number"])
        start.get_by_label("姓名").fill(person["name"])
        start.get_by_role("button").click()

        # Step 2: the code from the text message.
        expect(page).to_have_url(f"{demo.base_url}/objection/code")
        expect(page.get_by_test_id("code-sent")).to_be_visible()
        code = _code_sent_to(data_dir / "outbox" / "sms.log", person["phone"])
        verify = page.get_by_test_id("objection-verify")
        verify.get_by_label("验证码").fill(code)
        verify.get_by_role("button").click()

        # Step 3: what the household registry holds about them.
        expect(page).to_have_url(f"{demo.base_url}/objection/records")
        held = page.locator(f"[data-testid=held-resource][data-resource='{HOUSEHOLD}']")
        record = held.get_by_test_id("held-row").filter(
            has=page.locator("td[data-field=id_number]", has_text=person["id_number"])
        )
        expect(record).to_have_count(1)
        expect(record.locator("td[data-field=name]")).to_have_text(person["name"])
        expect(record.locator("td[data-field=phone]")).to_have_text(person["phone"])
        page.screenshot(path=str(tmp_path / "7-records.png"), full_page=True)

        # Dispute the address: a ticket for 公安, whose number the resident can follow.
        record.locator("summary").click()
        dispute = record.get_by_test_id("dispute-form")
        dispute.get_by_label("有误的信息项").select_option("household_address")
        dispute.get_by_label("异议理由").fill("已迁至鼓楼区，地址未更新。")
        dispute.get_by_role("button").click()

        expect(page).to_have_url(re.compile(r"/objection/tickets/[^/?]+\?done=created$"))
        expect(page.get_by_test_id("objection-created")).to_be_visible()
        heading = page.get_by_test_id("objection-number").inner_text()
        number = page.url.split("/objection/tickets/")[1].split("?")[0]
        assert number in heading, (number, heading)
        expect(page.get_by_test_id("ticket-state")).to_have_attribute("data-state", "open")
        expect(page.get_by_text("household_address", exact=True)).to_be_visible()
        page.screenshot(path=str(tmp_path / "8-ticket.png"), full_page=True)
        assert not errors, errors
    finally:
        page.context.close()
