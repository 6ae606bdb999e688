"""A department's data steward at a browser aggregates a file: signs in, attaches a GB18030 CSV
to a resource of 公安, checks the preview and the suggested mapping, saves it, runs the load,
reads the row it rejected and the version it wrote, and sees the rows in 政务数据汇聚量 on the
console home. A steward of another department is refused the source.

Runs on the served demo city of ``test_catalog_browser`` (``rongshu demo --no-serve``, then a
real ``rongshu serve``, whose in-process job queue runs the load). Screenshots of every step are
kept in the test's tmp_path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .test_catalog_browser import POLICE, Demo, _new_page, demo
from .test_console_browser import PASSWORD, browser

__all__ = ["browser", "demo"]  # the shared module-scoped fixtures

pytestmark = pytest.mark.e2e

#: A resource of 公安 with a date field and no source in the demo city.
RESOURCE = "350100-GA-0002"
RESOURCE_NAME = "出入境证件信息"
SOURCE = "出入境管理导出"
HEADER = "证件号码,姓名,公民身份号码,证件类型,签发日期,有效期至,签发机关"
ACCEPTED = (
    ("E12345678", "张伟", "350102198503120018", "普通护照", "2019年5月8日", "2029年5月7日"),
    (
        "C6B789012",
        "王芳",
        "350103199007180020",
        "往来港澳通行证",
        "2021年11月23日",
        "2031年11月22日",
    ),
    ("E87654321", "李强", "350104197801010034", "普通护照", "2018年2月1日", "2028年1月31日"),
)
IMPOSSIBLE = (
    "EA9876543",
    "陈静",
    "35010519951224004X",
    "普通护照",
    "2020年13月1日",
    "2030年1月1日",
)
READ, WRITTEN = str(len(ACCEPTED) + 1), str(len(ACCEPTED))
#: Seconds the queued load may take to show as finished on the source's page (it polls).
LOAD_SECONDS = 20.0


def _write_csv(path: Path) -> Path:
    """A department's export as its old system writes it: GB18030, Chinese headers and dates."""
    lines = [HEADER]
    for row in (*ACCEPTED[:2], IMPOSSIBLE, ACCEPTED[2]):
        lines.append(",".join((*row, "榕城市公安局出入境管理支队")))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    return path


def _sign_in(page: Any, username: str, password: str) -> None:
    form = page.get_by_test_id("login-form")
    form.locator("#username").fill(username)
    form.locator("#password").fill(password)
    form.locator("button[type=submit]").click()


def _number(text: str) -> int:
    return int(text.strip().replace(",", ""))


def _rows_aggregated(page: Any, department: str) -> int:
    """政务数据汇聚量 on the console home: the rows ``department`` aggregated in the window
    (not today's, which a test running across midnight in Beijing would see start again)."""
    table = page.get_by_test_id("volume-departments")
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=department))
    return _number(row.get_by_role("cell").nth(1).inner_text())


def test_steward_attaches_a_file_maps_it_loads_it_and_reads_what_was_rejected_and_written(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    export = _write_csv(tmp_path / "出入境证件.csv")
    source_path = f"/console/ingest/sources/{RESOURCE}/{SOURCE}"
    page = _new_page(browser)
    try:
        # Sign in; the console home already counts what the demo city loaded for 公安.
        page.goto(f"{demo.base_url}/console")
        _sign_in(page, "steward", demo.accounts["steward"])
        expect(page).to_have_url(f"{demo.base_url}/console")
        expect(page.get_by_test_id("volumes")).to_contain_text("政务数据汇聚量")
        before = _rows_aggregated(page, POLICE)

        # Attach the export to the travel documents: a file, its encoding detected.
        page.goto(f"{demo.base_url}/console/ingest/attach?resource={RESOURCE}")
        form = page.get_by_test_id("attach-form")
        expect(form.get_by_label("数据资源")).to_have_value(RESOURCE)
        form.locator("#in-name").fill(SOURCE)
        form.get_by_test_id("origin-file").check()
        form.locator("#in-file").set_input_files(str(export))
        page.screenshot(path=str(tmp_path / "1-attach.png"), full_page=True)
        form.get_by_test_id("attach-submit").click()

        # The first rows, read right, and a mapping suggested from the Chinese headers.
        expect(page).to_have_url(re.compile(r"/mapping$"))
        preview = page.get_by_test_id("preview")
        expect(preview.locator("tbody tr")).to_have_count(len(ACCEPTED) + 1)
        expect(preview).to_contain_text("C6B789012")
        expect(preview).to_contain_text(IMPOSSIBLE[4])
        expect(page.get_by_test_id("map-certificate_no")).to_have_value("证件号码")
        expect(page.get_by_test_id("map-name")).to_have_value("姓名")
        expect(page.get_by_test_id("map-issue_date")).to_have_value("签发日期")
        page.screenshot(path=str(tmp_path / "2-mapping.png"), full_page=True)
        page.get_by_test_id("mapping-save").click()

        # The source's page: mapping saved; run it now, then wait for the queued load.
        expect(page).to_have_url(re.compile(r"done=mapped"))
        expect(page.get_by_test_id("ingest-done")).to_contain_text("字段映射已保存")
        expect(page.get_by_test_id("source-mapping")).to_contain_text("签发日期")
        page.get_by_test_id("run-now").click()
        expect(page.get_by_test_id("ingest-done")).to_contain_text("加载已加入任务队列")
        # The loads list refreshes itself (htmx) until the queued load has finished.
        load = page.get_by_test_id("loads").get_by_test_id("load-row").first
        expect(load.get_by_test_id("load-status")).to_have_text("成功", timeout=LOAD_SECONDS * 1000)
        expect(page.locator("#source-loads[hx-trigger]")).to_have_count(0)  # and then stops
        cells = load.get_by_role("cell")
        expect(cells.nth(4)).to_have_text(READ)  # rows read
        expect(cells.nth(5)).to_have_text(WRITTEN)  # rows written
        expect(cells.nth(6)).to_have_text("1")  # rows rejected
        page.screenshot(path=str(tmp_path / "3-source.png"), full_page=True)

        # The load: its figures, and the rejected cell with its row, value and reason.
        load.get_by_role("link").first.click()
        expect(page.get_by_test_id("load-title")).to_contain_text("成功")
        expect(page.get_by_test_id("load-read")).to_have_text(READ)
        expect(page.get_by_test_id("load-written")).to_have_text(WRITTEN)
        expect(page.get_by_test_id("load-rejected")).to_have_text("1")
        rejected = page.get_by_test_id("rejected-row")
        expect(rejected).to_have_count(1)
        expect(rejected).to_contain_text("issue_date")
        expect(rejected).to_contain_text(IMPOSSIBLE[4])
        expect(rejected).to_contain_text(IMPOSSIBLE[0])  # the whole source row
        expect(rejected.get_by_role("cell").nth(3)).to_contain_text("日期无法识别")
        page.screenshot(path=str(tmp_path / "4-load.png"), full_page=True)

        # The resource's versions: the load wrote version 0; read its rows.
        page.get_by_role("link", name=RESOURCE).first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"{RESOURCE_NAME}：数据版本")
        versions = page.get_by_test_id("version-row")
        expect(versions).to_have_count(1)
        versions.get_by_role("link", name="0", exact=True).click()
        expect(page.get_by_test_id("version-title")).to_have_text(f"{RESOURCE_NAME}：第 0 版")
        expect(page.get_by_test_id("version-total")).to_contain_text(f"本版本共 {WRITTEN} 行")
        rows = page.get_by_test_id("version-rows")
        expect(rows.get_by_role("columnheader", name=re.compile("签发日期"))).to_be_visible()
        expect(rows.locator("tbody tr")).to_have_count(len(ACCEPTED))
        for number, *_ in ACCEPTED:
            expect(rows.locator("tbody tr").filter(has_text=number)).to_have_count(1)
        expect(rows).not_to_contain_text(IMPOSSIBLE[0])
        expect(rows).to_contain_text("2021-11-23")
        page.screenshot(path=str(tmp_path / "5-version.png"), full_page=True)

        # 政务数据汇聚量 on the console home counts the rows written, and its chart is drawn.
        page.goto(f"{demo.base_url}/console")
        assert _rows_aggregated(page, POLICE) == before + len(ACCEPTED)
        chart = page.get_by_test_id("volume-chart")
        expect(chart).to_have_attribute("data-chart-ready", "true")
        expect(chart.locator("canvas")).to_have_count(1)
        page.screenshot(path=str(tmp_path / "6-home.png"), full_page=True)

        foreign = [url for url in page.requested_urls if not url.startswith(demo.base_url)]
        assert not foreign, foreign
    finally:
        page.context.close()

    # A steward of 人社 is refused 公安's source.
    demo.cli(
        "user", "create", "--username", "rs-steward", "--display-name", "人社数据管理员",
        "--password", PASSWORD, "--role", "data_steward", "--department", "RS",
    )  # fmt: skip
    other = _new_page(browser)
    try:
        other.goto(f"{demo.base_url}/console")
        _sign_in(other, "rs-steward", PASSWORD)
        expect(other).to_have_url(f"{demo.base_url}/console")
        response = other.goto(f"{demo.base_url}{source_path}")
        assert response is not None and response.status == 403
        refusal = other.get_by_test_id("error-page")
        expect(refusal).to_contain_text("403")
        expect(refusal.get_by_role("heading", level=1)).to_have_text("没有权限")
        expect(other.get_by_test_id("source-name")).to_have_count(0)
        other.screenshot(path=str(tmp_path / "7-refused.png"), full_page=True)
    finally:
        other.context.close()
