"""A person at a browser uses the open-data portal of the demo city.

- A visitor searches 空气 from the portal home, narrows the datasets by theme and department,
  opens the air-quality dataset, reads its field dictionary, preview and ECharts chart, and
  downloads the CSV and Excel files, which match the release the APIs describe.
- A member of the public applies for the conditional enterprise registry; the market
  regulator's approver approves it in the console; the member issues an API key that reads the
  registry through the CKAN datastore API, without the legal representatives' fields.

The demo city is prepared once for the module by ``rongshu demo --no-serve`` (the catalog
browser test's ``demo`` fixture), served by a real ``rongshu serve`` and driven by Debian's
Chromium. Screenshots of every step are kept in the test's tmp_path.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from .test_catalog_browser import Demo, _new_page, demo
from .test_console_browser import browser

__all__ = ["browser", "demo"]  # the shared module-scoped fixtures

pytestmark = pytest.mark.e2e

AIR = "空气质量小时监测数据"  # 350100-STHJ-0001, open to everyone, with an hourly time series
AIR_NAME = "350100-sthj-0001"
ENVIRONMENT = "资源环境"  # the theme facet's label of environment datasets
ECOLOGY = "榕城市生态环境局"  # the air-quality dataset's department (STHJ)
REGISTRY = "市场主体登记信息"  # 350100-SCJG-0001, conditional open data
REGISTRY_NAME = "350100-scjg-0001"
PERSONAL = {"legal_rep_name", "legal_rep_id_number"}  # never opened, even with a grant
BOM = b"\xef\xbb\xbf"


def _total(page: Any) -> int:
    return int(page.get_by_test_id("dataset-total").get_attribute("data-total"))


def _release(base_url: str, name: str) -> dict[str, Any]:
    """The dataset's latest release as the portal's JSON API describes it."""
    response = httpx.get(f"{base_url}/api/v1/opendata/datasets/{name}", timeout=10)
    assert response.status_code == 200, response.text
    latest: dict[str, Any] = response.json()["latest"]
    return latest


def _file(latest: dict[str, Any], kind: str, encoding: str = "") -> dict[str, Any]:
    return next(
        f
        for f in latest["files"]
        if f["format"] == kind and (not encoding or f["encoding"] == encoding)
    )


def test_visitor_searches_opens_the_air_quality_dataset_and_downloads_csv_and_excel(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    from openpyxl import load_workbook
    from playwright.sync_api import expect

    page = _new_page(browser)
    try:
        # Search 空气 from the portal home: the air-quality dataset is the hit.
        page.goto(f"{demo.base_url}/")
        page.locator("#portal-search").fill("空气")
        page.locator("#portal-search").press("Enter")
        expect(page).to_have_url(re.compile(r"/datasets\?q=%E7%A9%BA%E6%B0%94"))
        results = page.get_by_test_id("dataset-results")
        expect(results.get_by_test_id("dataset-hit").filter(has_text=AIR)).to_be_visible()
        expect(page.get_by_test_id("dataset-search")).to_have_value("空气")
        found = _total(page)
        assert found >= 1
        expect(results.get_by_test_id("dataset-hit")).to_have_count(found)
        page.screenshot(path=str(tmp_path / "1-search.png"), full_page=True)

        # Clear the query: every dataset; then the facets narrow them (htmx swaps the results).
        page.get_by_test_id("dataset-search").fill("")
        page.get_by_test_id("dataset-search-submit").click()
        expect(page.get_by_test_id("dataset-total")).not_to_have_attribute("data-total", str(found))
        everything = _total(page)
        assert everything >= 10, "the demo opens about 20 datasets"

        page.get_by_test_id("facet-groups").get_by_role(
            "link", name=re.compile(ENVIRONMENT)
        ).click()
        expect(page).to_have_url(re.compile(r"groups=environment"))
        expect(page.get_by_test_id("chosen-filter")).to_have_count(1)
        themed = _total(page)
        assert 0 < themed < everything, (everything, themed)

        departments = page.get_by_test_id("facet-organization")
        departments.get_by_role("link", name=re.compile(ECOLOGY)).click()
        expect(page).to_have_url(re.compile(r"organization=STHJ"))
        expect(departments.locator("a[aria-current=true]")).to_contain_text(ECOLOGY)
        narrowed = _total(page)
        assert 0 < narrowed < themed, (themed, narrowed)
        hits = page.get_by_test_id("dataset-hit")
        expect(hits).to_have_count(narrowed)
        for text in hits.all_inner_texts():
            assert ECOLOGY in text, text
        page.screenshot(path=str(tmp_path / "2-facets.png"), full_page=True)

        # Open the dataset: title, field dictionary, preview rows and a drawn chart.
        hits.filter(has_text=AIR).get_by_role("link", name=AIR).click()
        expect(page).to_have_url(f"{demo.base_url}/datasets/{AIR_NAME}")
        expect(page.get_by_test_id("dataset-title")).to_have_text(AIR)
        fields = page.get_by_test_id("dataset-fields")
        expect(fields.locator("tr[data-field=pm25]")).to_contain_text("PM2.5")
        assert fields.locator("tbody tr").count() >= 10
        preview = page.get_by_test_id("dataset-preview")
        expect(preview.locator("tbody tr")).to_have_count(20)
        expect(preview.locator("thead")).to_contain_text("监测时间")

        chart = page.get_by_test_id("dataset-chart")
        expect(chart).to_have_attribute("data-chart-ready", "true", timeout=20_000)
        canvas = chart.locator("canvas").first
        expect(canvas).to_be_visible()
        box = canvas.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100, box
        # Something was drawn: a blank canvas has one colour, a line chart has many.
        colours = canvas.evaluate(
            """c => {
                const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                const seen = new Set();
                for (let i = 0; i < data.length; i += 4 * 97) {
                    seen.add(data.slice(i, i + 4).join());
                }
                return seen.size;
            }"""
        )
        assert colours > 3, colours
        page.screenshot(path=str(tmp_path / "3-dataset.png"), full_page=True)

        # Download the CSV: UTF-8 with a BOM (for Excel), every row, the published checksum.
        latest = _release(demo.base_url, AIR_NAME)
        rows = latest["rows"]
        assert rows > 20
        expect(page.get_by_test_id("dataset-rows")).to_have_text(f"{rows:,}")
        csv_file = _file(latest, "csv", "utf-8")
        csv_link = page.get_by_test_id("download-csv")
        shown = csv_link.locator("xpath=..").locator(".od-sha")
        shown.locator("summary").click()
        expect(shown.locator("code")).to_have_text(csv_file["sha256"])
        with page.expect_download() as csv_download:
            csv_link.click()
        csv_path = tmp_path / csv_download.value.suggested_filename
        csv_download.value.save_as(csv_path)
        assert csv_path.suffix == ".csv", csv_path
        body = csv_path.read_bytes()
        assert body.startswith(BOM), body[:16]
        assert hashlib.sha256(body).hexdigest() == csv_file["sha256"]
        table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert "pm25" in table[0], table[0]
        assert len(table) - 1 == rows

        # Download the Excel file: it opens, and holds the same rows under one header.
        xlsx_file = _file(latest, "xlsx")
        with page.expect_download() as xlsx_download:
            page.get_by_test_id("download-xlsx").click()
        xlsx_path = tmp_path / xlsx_download.value.suggested_filename
        xlsx_download.value.save_as(xlsx_path)
        assert xlsx_path.suffix == ".xlsx", xlsx_path
        assert hashlib.sha256(xlsx_path.read_bytes()).hexdigest() == xlsx_file["sha256"]
        workbook = load_workbook(xlsx_path, read_only=True)
        try:
            sheet = workbook.worksheets[0]
            filled = [r for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r)]
        finally:
            workbook.close()
        assert len(filled) - 1 == rows, (len(filled), rows)

        # The page counts the downloads.
        page.reload()
        expect(page.get_by_test_id("count-downloads")).not_to_have_text("0")

        foreign = [url for url in page.requested_urls if not url.startswith(demo.base_url)]
        assert not foreign, foreign
    finally:
        page.context.close()


def test_member_applies_for_conditional_data_approver_approves_and_the_key_reads_it(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    registry_url = f"{demo.base_url}/datasets/{REGISTRY_NAME}"
    page = _new_page(browser)
    staff = _new_page(browser)
    try:
        # A stranger sees what the registry holds, but no rows, and is asked to apply.
        page.goto(registry_url)
        expect(page.get_by_test_id("dataset-title")).to_have_text(REGISTRY)
        expect(page.get_by_test_id("dataset-fields")).to_be_visible()
        expect(page.get_by_test_id("preview-hidden")).to_be_visible()
        expect(page.get_by_test_id("dataset-preview")).to_have_count(0)
        expect(page.get_by_test_id("downloads-hidden")).to_be_visible()
        expect(page.get_by_test_id("download-csv")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "1-conditional.png"), full_page=True)

        # Apply: sign in as the demo's member of the public, and land on the form.
        page.get_by_test_id("apply").click()
        expect(page).to_have_url(re.compile(r"/account/login\?next="))
        form = page.get_by_test_id("member-login-form")
        form.locator("#login").fill("citizen")
        form.locator("#password").fill(demo.accounts["citizen"])
        form.locator("button[type=submit]").click()
        expect(page).to_have_url(f"{registry_url}/apply")
        expect(page.get_by_test_id("apply-title")).to_contain_text(REGISTRY)
        apply_form = page.get_by_test_id("apply-form")
        apply_form.locator("#purpose").fill("研究榕城市各区新设市场主体的行业分布")
        apply_form.locator("#scenario").fill("高校课题组按月统计，不对外公布单个企业信息")
        apply_form.locator("#expected-daily-calls").fill("200")
        apply_form.locator("#valid-days").fill("180")
        page.screenshot(path=str(tmp_path / "2-apply.png"), full_page=True)
        page.get_by_test_id("apply-submit").click()

        # My account: the application waits for the owner department.
        expect(page).to_have_url(re.compile(r"/account\?done=applied"))
        expect(page.get_by_test_id("done")).to_be_visible()
        mine = page.get_by_test_id("my-application").filter(has_text=REGISTRY)
        expect(mine).to_have_count(1)
        expect(mine).to_have_attribute("data-state", "pending")
        expect(mine.get_by_test_id("application-state")).to_have_text("待审批")
        number = mine.get_attribute("data-number")
        assert number
        expect(page.get_by_test_id("key-needs-grant")).to_be_visible()
        page.screenshot(path=str(tmp_path / "3-pending.png"), full_page=True)

        # The market regulator's approver finds it in the inbox and approves it.
        staff.goto(f"{demo.base_url}/console/login")
        login = staff.get_by_test_id("login-form")
        login.locator("#username").fill("market_approver")
        login.locator("#password").fill(demo.accounts["market_approver"])
        login.locator("button[type=submit]").click()
        expect(staff).not_to_have_url(re.compile(r"/console/login"))
        staff.goto(f"{demo.base_url}/console/exchange/applications?box=inbox")
        row = staff.get_by_test_id("application-row").and_(
            staff.locator(f"[data-number='{number}']")
        )
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("application-state")).to_have_attribute("data-state", "pending")
        staff.screenshot(path=str(tmp_path / "4-inbox.png"), full_page=True)
        row.get_by_role("link", name=number).click()
        expect(staff.get_by_test_id("application-details")).to_contain_text(
            "研究榕城市各区新设市场主体的行业分布"
        )
        decision = staff.get_by_test_id("decision-form")
        decision.locator("#decision-reason").fill("用途明确，同意开放（不含法定代表人信息）")
        decision.get_by_test_id("approve").click()
        expect(staff.get_by_test_id("exchange-done")).to_be_visible()
        expect(staff.get_by_test_id("application-state").first).to_have_attribute(
            "data-state", "approved"
        )
        expect(staff.get_by_test_id("grant-link")).to_be_visible()
        staff.screenshot(path=str(tmp_path / "5-approved.png"), full_page=True)

        # Back as the member: approved; issue the key, shown once.
        page.goto(f"{demo.base_url}/account")
        mine = page.get_by_test_id("my-application").filter(has_text=REGISTRY)
        expect(mine).to_have_attribute("data-state", "approved")
        expect(mine.get_by_test_id("application-state")).to_have_text("已批准")
        expect(
            page.get_by_test_id("granted-dataset").and_(
                page.locator(f"[data-name='{REGISTRY_NAME}']")
            )
        ).to_be_visible()
        page.get_by_test_id("issue-key").click()
        key = page.get_by_test_id("issued-key-value").inner_text().strip()
        assert key.startswith("rsk_"), key
        expect(page.get_by_test_id("example-call")).to_contain_text(key)
        page.screenshot(path=str(tmp_path / "6-key.png"), full_page=True)

        # With the grant, the member's dataset page shows rows too.
        page.goto(registry_url)
        expect(page.get_by_test_id("dataset-preview").locator("tbody tr").first).to_be_visible()
        expect(page.get_by_test_id("download-csv")).to_be_visible()

        # The key reads the registry through the CKAN datastore API; personal fields stay out.
        search = f"{demo.base_url}/api/3/action/datastore_search"
        params = {"resource_id": REGISTRY_NAME, "limit": "5"}
        answer = httpx.get(search, params=params, headers={"Authorization": key}, timeout=10)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["success"] is True, body
        records = body["result"]["records"]
        assert len(records) == 5, records
        for record in records:
            assert not PERSONAL & set(record), record
            assert record.get("credit_code"), record
        assert not PERSONAL & {f["id"] for f in body["result"]["fields"]}

        stranger = httpx.get(search, params=params, timeout=10)
        assert stranger.status_code == 403, stranger.text
        assert stranger.json()["success"] is False
    finally:
        staff.context.close()
        page.context.close()
