"""A person at a browser: signs in to the console, switches language and text size.

Runs a real ``rongshu serve`` on a free local port against a data directory prepared with the
CLI, and drives Debian's Chromium through Playwright. Skips when Chromium is not installed,
unless RONGSHU_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_SERVICES = os.environ.get("RONGSHU_REQUIRE_SERVICES") == "1"
PASSWORD = "Rongshu-e2e-Passw0rd!"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_SECONDS = 60.0
# The console home polls its counts every 10 seconds; allow two rounds.
LIVE_UPDATE_MS = 25_000


def _unavailable(reason: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(f"RONGSHU_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RONGSHU_")}
    env["RONGSHU_DATA_DIR"] = str(data_dir)
    env["RONGSHU_LOG_FORMAT"] = "console"
    return env


def _rongshu(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rongshu", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, (
        f"`rongshu {' '.join(args)}` exited {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"rongshu serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"rongshu serve was not healthy after {STARTUP_SECONDS}s:\n{log.read_text()}")


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """A real ``rongshu serve`` on a free port until the block ends; yields its base URL."""
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "rongshu", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


class Server:
    """A running ``rongshu serve`` and the environment that reaches its data directory."""

    def __init__(self, base_url: str, env: dict[str, str]) -> None:
        self.base_url = base_url
        self.env = env

    def cli(self, *args: str) -> None:
        _rongshu(self.env, *args)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("console-e2e")
    env = _server_env(root / "data")
    _rongshu(env, "init")
    _rongshu(
        env, "dept", "create", "--code", "DSJ", "--name", "榕城市大数据管理局", "--region", "350100"
    )
    _rongshu(
        env,
        "user",
        "create",
        "--username",
        "admin",
        "--display-name",
        "管理员",
        "--password",
        PASSWORD,
        "--role",
        "platform_admin",
        "--department",
        "DSJ",
    )
    with running_server(env, root / "serve.log") as base_url:
        yield Server(base_url, env)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser profile whose person reads Chinese, recording every URL it asks for."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    opened.requested_urls = []
    opened.on("request", lambda request: opened.requested_urls.append(request.url))
    try:
        yield opened
    finally:
        context.close()


def _sign_in(page: Any, server: Server, password: str) -> None:
    form = page.get_by_test_id("login-form")
    form.locator("#username").fill("admin")
    form.locator("#password").fill(password)
    form.locator("button[type=submit]").click()


def _body_font_px(page: Any) -> float:
    value: str = page.evaluate("getComputedStyle(document.body).fontSize")
    return float(value.removesuffix("px"))


def test_staff_signs_in_switches_language_and_text_size_and_sees_live_counts(
    page: Any, server: Server, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # The console sends a stranger to the sign-in page, in Chinese.
    page.goto(f"{server.base_url}/console")
    expect(page).to_have_url(re.compile(r"/console/login\?next=(%2F|/)console$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("控制台登录")

    _sign_in(page, server, PASSWORD)

    # The console home with live counts of what the CLI created.
    expect(page).to_have_url(f"{server.base_url}/console")
    expect(page.get_by_test_id("console-welcome")).to_have_text("您好，管理员")
    expect(page.get_by_test_id("count-departments")).to_have_text("1")
    expect(page.get_by_test_id("count-users")).to_have_text("1")
    expect(page.get_by_test_id("count-apps")).to_have_text("0")
    audit_today = page.get_by_test_id("count-audit-today").inner_text()
    assert int(audit_today.replace(",", "")) >= 1, "the sign-in itself is an audit entry today"

    # The activity chart is drawn by ECharts served from our own static folder.
    chart = page.get_by_test_id("activity-chart")
    expect(chart).to_have_attribute("data-chart-ready", "true")
    expect(chart.locator("canvas")).to_have_count(1)

    # Counts are live: a department created elsewhere shows up without reloading.
    server.cli("dept", "create", "--code", "GAJ", "--name", "榕城市公安局", "--region", "350100")
    expect(page.get_by_test_id("count-departments")).to_have_text("2", timeout=LIVE_UPDATE_MS)

    # English on request.
    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("console-welcome")).to_have_text("Hello, 管理员")
    expect(page.get_by_text("Audit entries today", exact=True)).to_be_visible()
    expect(page.get_by_test_id("lang-en")).to_have_attribute("aria-current", "true")

    # Larger text for older readers.
    normal_px = _body_font_px(page)
    expect(page.get_by_test_id("text-size")).to_contain_text("Larger text")
    page.get_by_test_id("text-size").click()
    expect(page.locator("body")).to_have_class(re.compile(r"\blarge-text\b"))
    large_px = _body_font_px(page)
    assert large_px >= normal_px * 1.2, (normal_px, large_px)
    expect(page.get_by_test_id("text-size")).to_contain_text("Normal text")

    # Both choices survive a reload (cookies), and we are still on the console home.
    page.reload()
    expect(page).to_have_url(f"{server.base_url}/console")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("body")).to_have_class(re.compile(r"\blarge-text\b"))
    expect(page.get_by_test_id("count-departments")).to_have_text("2")
    expect(chart).to_have_attribute("data-chart-ready", "true")
    page.screenshot(path=str(tmp_path / "console-en-large.png"), full_page=True)

    # Back to Chinese; the text size stays.
    page.get_by_test_id("lang-zh").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_text("今日审计记录", exact=True)).to_be_visible()
    expect(page.locator("body")).to_have_class(re.compile(r"\blarge-text\b"))

    # Nothing was fetched from anywhere but our own server.
    foreign = [url for url in page.requested_urls if not url.startswith(server.base_url)]
    assert not foreign, foreign


def test_a_wrong_password_shows_the_error_and_keeps_the_person_on_the_sign_in_page(
    page: Any, server: Server, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.base_url}/console/login")
    _sign_in(page, server, "not-the-password")

    error = page.get_by_test_id("login-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("用户名或密码不正确")
    expect(page).to_have_url(re.compile(r"/console/login"))
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.get_by_test_id("count-departments")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "login-error.png"), full_page=True)


def test_the_public_portal_switches_language_without_signing_in(page: Any, server: Server) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.base_url}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_label("搜索开放数据")).to_be_visible()
    departments = int(page.get_by_test_id("stat-departments").inner_text())
    assert departments >= 1

    page.get_by_test_id("lang-en").click()
    expect(page).to_have_url(f"{server.base_url}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("Search open data")).to_be_visible()
    expect(page.get_by_test_id("portal-staff-login")).to_have_text("Sign in to the console")
