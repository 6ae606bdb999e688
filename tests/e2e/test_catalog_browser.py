"""A person at a browser finds data in the demo catalog: searches 户籍, narrows by department,
opens the household-registry resource and reads its fields and history.

The data directory is prepared by ``rongshu demo --no-serve`` (which imports and publishes the
demo city's catalog), then a real ``rongshu serve`` runs on a free port and Debian's Chromium
drives it. Screenshots of every step are kept in the test's tmp_path.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .test_console_browser import Server, _server_env, browser, running_server

__all__ = ["browser"]  # the shared module-scoped browser fixture

pytestmark = pytest.mark.e2e

HOUSEHOLD = "户籍人口信息"  # the demo catalog's household-registry resource (350100-GA-0001)
POLICE = "榕城市公安局"
# `rongshu demo` prints its accounts as a table: │ username │ password │ role │ department │
ACCOUNT_ROW = re.compile(r"^\W*(\w+)\s*[│|]\s*(\S+)\s*[│|]\s*(\w+)\s*[│|]")


class Demo(Server):
    """The served demo city, with the password ``rongshu demo`` printed for each account."""

    def __init__(self, base_url: str, env: dict[str, str], accounts: dict[str, str]) -> None:
        super().__init__(base_url, env)
        self.accounts = accounts


def _demo_accounts(output: str) -> dict[str, str]:
    accounts = {}
    for line in output.splitlines():
        found = ACCOUNT_ROW.match(line.strip())
        if found and found.group(1) != "username":
            accounts[found.group(1)] = found.group(2)
    return accounts


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("catalog-e2e")
    env = _server_env(root / "data")
    env["COLUMNS"] = "200"  # one table row per line
    prepared = subprocess.run(
        [sys.executable, "-m", "rongshu", "demo", "--no-serve", "--rows", "500"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    assert "catalog:" in prepared.stdout, "the demo registers its catalog"
    accounts = _demo_accounts(prepared.stdout)
    assert "developer" in accounts, prepared.stdout

    with running_server(env, root / "serve.log") as base_url:
        yield Demo(base_url, env, accounts)


def _new_page(browser: Any, *, scripts: bool = True) -> Any:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}, java_script_enabled=scripts
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.requested_urls = []
    page.on("request", lambda request: page.requested_urls.append(request.url))
    return page


def _total(page: Any) -> int:
    return int(page.get_by_test_id("catalog-total").get_attribute("data-total"))


def test_staff_search_household_records_filter_by_department_and_open_the_resource(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = _new_page(browser)
    try:
        # The catalog asks a stranger to sign in first, then comes back.
        page.goto(f"{demo.base_url}/console/catalog")
        expect(page).to_have_url(re.compile(r"/console/login\?next="))
        form = page.get_by_test_id("login-form")
        form.locator("#username").fill("developer")
        form.locator("#password").fill(demo.accounts["developer"])
        form.locator("button[type=submit]").click()
        expect(page).to_have_url(f"{demo.base_url}/console/catalog")
        everything = _total(page)
        assert everything >= 30, "the demo publishes about 40 resources"
        page.screenshot(path=str(tmp_path / "1-catalog.png"), full_page=True)

        # Search 户籍: the household registry is among the hits (htmx refreshes the results).
        page.get_by_test_id("catalog-search").fill("户籍")
        page.get_by_test_id("catalog-search").press("Enter")
        expect(page).to_have_url(re.compile(r"q=%E6%88%B7%E7%B1%8D"))
        hit = page.get_by_test_id("catalog-hit").filter(has_text=HOUSEHOLD)
        expect(hit).to_be_visible()
        found = _total(page)
        assert 0 < found < everything
        expect(page.get_by_test_id("catalog-hit")).to_have_count(min(found, 20))
        page.screenshot(path=str(tmp_path / "2-search.png"), full_page=True)

        # Filter by the police department: the total changes, the query stays.
        departments = page.get_by_test_id("catalog-facet-department")
        police = departments.get_by_role("link", name=re.compile(POLICE))
        expect(police).to_be_visible()
        police.click()
        expect(departments.locator("a[aria-current=true]")).to_contain_text(POLICE)
        narrowed = _total(page)
        assert 0 < narrowed < found, (found, narrowed)
        expect(page.get_by_test_id("catalog-search")).to_have_value("户籍")
        expect(page).to_have_url(re.compile(r"department=GA"))
        for text in page.get_by_test_id("catalog-hit").all_inner_texts():
            assert POLICE in text, text
        page.screenshot(path=str(tmp_path / "3-filtered.png"), full_page=True)

        # Open the resource: its fields and its history.
        page.get_by_test_id("catalog-hit").filter(has_text=HOUSEHOLD).get_by_role(
            "link", name=HOUSEHOLD
        ).click()
        expect(page.get_by_test_id("resource-name")).to_have_text(HOUSEHOLD)
        fields = page.get_by_test_id("resource-fields")
        expect(fields).to_be_visible()
        expect(fields.get_by_role("rowheader", name="公民身份号码", exact=True)).to_be_visible()
        assert fields.locator("tbody tr").count() >= 5
        history = page.get_by_test_id("resource-history")
        expect(history).to_be_visible()
        expect(history.locator("[data-action=publish]")).to_contain_text("审核通过并发布")
        expect(history.locator("[data-action=create]")).to_be_visible()
        expect(history.locator(".diff-added").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "4-resource.png"), full_page=True)

        # Back to the results, as they were.
        page.go_back()
        expect(page.get_by_test_id("catalog-total")).to_have_attribute("data-total", str(narrowed))

        foreign = [url for url in page.requested_urls if not url.startswith(demo.base_url)]
        assert not foreign, foreign
    finally:
        page.context.close()


def test_the_public_open_catalog_works_without_scripts(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = _new_page(browser, scripts=False)
    try:
        page.goto(f"{demo.base_url}/")
        page.get_by_test_id("portal-open-catalog").click()
        expect(page).to_have_url(f"{demo.base_url}/catalog")
        everything = _total(page)

        page.get_by_test_id("catalog-search").fill("户籍")
        page.get_by_test_id("catalog-search-submit").click()
        expect(page).to_have_url(re.compile(r"/catalog\?q=%E6%88%B7%E7%B1%8D"))
        found = _total(page)
        assert 0 < found < everything
        # 户籍人口信息 is 不予开放: the public never sees it.
        expect(page.get_by_test_id("catalog-hit").filter(has_text=HOUSEHOLD)).to_have_count(0)

        page.get_by_test_id("catalog-facet-open-type").get_by_role(
            "link", name=re.compile("无条件开放")
        ).click()
        expect(page).to_have_url(re.compile(r"open_type=unconditional"))
        assert _total(page) <= found
        first = page.get_by_test_id("catalog-hit").first
        name = first.get_by_role("link").inner_text()
        first.get_by_role("link").click()
        expect(page.get_by_test_id("resource-name")).to_have_text(name)
        expect(page.get_by_test_id("resource-fields")).to_be_visible()
        page.screenshot(path=str(tmp_path / "public-resource.png"), full_page=True)
    finally:
        page.context.close()
