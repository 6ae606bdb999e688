"""The ``rongshu`` command as an operator uses it: set up, departments, users, apps, audit.

Commands run in-process through Typer's CliRunner against ``rongshu.cli.app`` and a data
directory in ``tmp_path``; results are checked through the command's own output and through the
services an operator's users would meet (sign-in, API-key authentication).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from click.testing import Result
from typer.testing import CliRunner

from rongshu.cli import app
from rongshu.core.crypto import load_or_create_signing_key
from rongshu.core.db import alembic_config
from rongshu.core.errors import NotAuthenticated
from rongshu.core.identity import service as identity
from rongshu.core.identity.schemas import SecurityPolicy
from rongshu.core.platform import Platform

from .conftest import open_platform

API_KEY = re.compile(r"\brsk_([0-9a-f]{16})_([A-Za-z0-9_-]{20,})")
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

Invoke = Callable[..., Result]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory that does not exist yet; no RONGSHU_* setting or .env leaks in."""
    for name in list(os.environ):
        if name.startswith("RONGSHU_") or name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


@pytest.fixture
def rongshu(data_dir: Path) -> Invoke:
    """Run ``rongshu <command line>`` with RONGSHU_DATA_DIR set; ``code`` is the expected exit."""
    runner = CliRunner()

    def invoke(
        command: str, *extra: str, code: int = 0, env: dict[str, str] | None = None
    ) -> Result:
        args = [*shlex.split(command), *extra]
        # A wide console keeps keys, passwords and messages on one line whatever the terminal.
        full_env = {"RONGSHU_DATA_DIR": str(data_dir), "COLUMNS": "200", **(env or {})}
        result = runner.invoke(app, args, env=full_env)
        assert result.exit_code == code, (
            f"rongshu {shlex.join(args)} exited {result.exit_code}, expected {code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}\nexception: {result.exception!r}"
        )
        return result

    return invoke


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


@pytest.fixture
def opened(data_dir: Path) -> Iterator[Callable[[], Platform]]:
    """Open the same installation the CLI writes to (to sign in, authenticate keys, ...)."""
    platforms: list[Platform] = []

    def open_() -> Platform:
        platforms.append(open_platform(data_dir))
        return platforms[-1]

    yield open_
    for platform in platforms:
        platform.close()


# -- setup ---------------------------------------------------------------------------------


# -- setup ---------------------------------------------------------------------------------


def test_init_creates_data_dir_database_at_head_and_a_private_signing_key(
    rongshu: Invoke, data_dir: Path
) -> None:
    assert not data_dir.exists()
    result = rongshu("init")

    assert (data_dir / "rongshu.db").is_file()
    key_file = data_dir / "keys" / "platform-sm2.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    fingerprint = load_or_create_signing_key(data_dir / "keys").public_key().fingerprint()
    assert f"sqlite at revision {HEAD}" in result.stdout
    assert fingerprint in result.stdout

    # Running init again keeps the key: a new key would orphan every signed checkpoint.
    again = rongshu("init")
    assert fingerprint in again.stdout
    assert load_or_create_signing_key(data_dir / "keys").public_key().fingerprint() == fingerprint


def test_data_dir_option_wins_over_the_environment(
    rongshu: Invoke, tmp_path: Path, data_dir: Path
) -> None:
    elsewhere = tmp_path / "elsewhere dir"
    rongshu("init --data-dir", str(elsewhere))
    assert (elsewhere / "rongshu.db").is_file()
    assert not data_dir.exists()


def test_db_upgrade_is_idempotent_and_keeps_data(rongshu: Invoke) -> None:
    first = rongshu("db upgrade")
    assert f"empty → {HEAD}" in first.stdout
    rongshu("dept create --code GA --name 榕城市公安局 --region 350100")

    second = rongshu("db upgrade")
    assert f"{HEAD} → {HEAD}" in second.stdout
    assert [d["code"] for d in as_json(rongshu("dept list --json"))] == ["GA"]


def test_production_with_the_default_secret_is_refused_without_a_traceback(
    rongshu: Invoke, data_dir: Path
) -> None:
    result = rongshu("init", code=6, env={"RONGSHU_ENVIRONMENT": "production"})
    assert "RONGSHU_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.output
    assert not data_dir.exists()


def test_production_with_a_short_secret_is_refused(rongshu: Invoke) -> None:
    production = {"RONGSHU_ENVIRONMENT": "production", "RONGSHU_SECRET_KEY": "short"}
    result = rongshu("init", code=6, env=production)
    assert "at least 32 characters" in result.stderr


# -- departments ---------------------------------------------------------------------------


def test_departments_are_created_and_listed_as_json_with_chinese_names(rongshu: Invoke) -> None:
    command = "dept create --code dsj --name 榕城市大数据局 --region 350100 --json"
    created = as_json(rongshu(command))
    assert created["code"] == "DSJ"  # codes are kept upper-case
    rongshu("dept create --code GA --name 榕城市公安局 --region 350100 --parent DSJ")

    listed = rongshu("dept list --json")
    assert "榕城市公安局" in listed.stdout  # not \u escapes
    rows = {row["code"]: row for row in json.loads(listed.stdout)}
    assert rows["DSJ"]["name"] == "榕城市大数据局"
    assert rows["GA"]["name"] == "榕城市公安局"
    assert rows["GA"]["parent_code"] == "DSJ"
    assert rows["GA"]["region_code"] == "350100"

    table = rongshu("dept list")
    assert "榕城市大数据局" in table.stdout


@pytest.mark.parametrize("region", ["3501", "35010A", "3501000"])
def test_bad_region_code_exits_2_and_creates_nothing(rongshu: Invoke, region: str) -> None:
    rongshu("init")
    result = rongshu("dept create --code GA --name 榕城市公安局 --region", region, code=2)
    assert "invalid region_code: a GB/T 2260 region code has six digits" in result.stderr
    assert as_json(rongshu("dept list --json")) == []


def test_duplicate_department_code_exits_5(rongshu: Invoke) -> None:
    rongshu("dept create --code GA --name 榕城市公安局 --region 350100")
    result = rongshu("dept create --code ga --name 另一个公安局 --region 350100", code=5)
    assert "department code GA is already used" in result.stderr
    assert [d["name"] for d in as_json(rongshu("dept list --json"))] == ["榕城市公安局"]


# -- users ---------------------------------------------------------------------------------


def test_generated_password_is_printed_once_and_signs_in(
    rongshu: Invoke, opened: Callable[[], Platform]
) -> None:
    rongshu("dept create --code GA --name 榕城市公安局 --region 350100")
    result = rongshu(
        "user create --username bob --display-name 鲍勃 --role data_steward --department GA"
    )
    match = re.search(r"password \(shown once\): (\S+)", result.stdout)
    assert match, result.stdout
    password = match.group(1)
    assert result.stdout.count(password) == 1
    assert password not in rongshu("user list").stdout

    platform = opened()
    policy = SecurityPolicy()
    with platform.db.session_scope() as session:
        user = identity.authenticate(
            session, username="bob", password=password, policy=policy, ledger=platform.ledger
        )
        assert user.display_name == "鲍勃"
        assert user.department is not None and user.department.code == "GA"
    with pytest.raises(NotAuthenticated), platform.db.session_scope() as session:
        identity.authenticate(
            session, username="bob", password=password + "x", policy=policy, ledger=platform.ledger
        )


def test_given_password_is_not_echoed(rongshu: Invoke) -> None:
    result = rongshu(
        "user create --username carol --display-name Carol --role developer"
        " --password a-long-enough-password"
    )
    assert "a-long-enough-password" not in result.output
    assert "shown once" not in result.output


def test_admin_and_auditor_in_one_user_is_refused(rongshu: Invoke) -> None:
    result = rongshu(
        "user create --username alice --display-name 爱丽丝 --role platform_admin --role auditor",
        code=5,
    )
    assert "三员分立" in result.stderr
    assert "platform_admin" in result.stderr and "auditor" in result.stderr
    assert as_json(rongshu("user list --json")) == []


def test_user_roles_replace_the_roles_within_the_separation_rule(rongshu: Invoke) -> None:
    rongshu(
        "user create --username bob --display-name 鲍勃 --role data_steward"
        " --password a-long-enough-password"
    )
    updated = as_json(rongshu("user roles bob --role approver --role developer --json"))
    assert sorted(updated["roles"]) == ["approver", "developer"]

    refused = rongshu("user roles bob --role security_admin --role auditor", code=5)
    assert "三员分立" in refused.stderr
    (bob,) = as_json(rongshu("user list --json"))
    assert sorted(bob["roles"]) == ["approver", "developer"]

    missing = rongshu("user roles nobody --role developer", code=4)
    assert "nobody" in missing.stderr


# -- apps and API keys ---------------------------------------------------------------------


def test_app_key_authenticates_until_revoked(
    rongshu: Invoke, opened: Callable[[], Platform]
) -> None:
    rongshu("dept create --code GA --name 榕城市公安局 --region 350100")
    created = rongshu("app create --name 户籍核验 --department GA --description 核验身份")
    match = API_KEY.search(created.stdout)
    assert match, created.stdout
    api_key, key_id = match.group(0), match.group(1)

    platform = opened()
    with platform.db.session_scope() as session:
        found = identity.authenticate_api_key(session, api_key=api_key, secret=platform.secret)
        assert (found.name, found.department.code) == ("户籍核验", "GA")

    listed = rongshu("app list")
    assert key_id in listed.stdout
    assert api_key not in listed.stdout  # the secret part is never shown again
    (entry,) = as_json(rongshu("app list --json"))
    assert entry["name"] == "户籍核验"
    assert [k["key_id"] for k in entry["keys"]] == [key_id]
    assert entry["keys"][0]["revoked_at"] is None

    revoked = as_json(rongshu("app key-revoke --json", key_id))
    assert revoked["revoked_at"] is not None
    with (
        pytest.raises(NotAuthenticated, match="revoked"),
        platform.db.session_scope() as session,
    ):
        identity.authenticate_api_key(session, api_key=api_key, secret=platform.secret)
    (entry,) = as_json(rongshu("app list --json"))
    assert entry["keys"][0]["revoked_at"] is not None


def test_app_for_an_unknown_department_exits_4(rongshu: Invoke) -> None:
    result = rongshu("app create --name x --department NOPE", code=4)
    assert "no department with code NOPE" in result.stderr
    assert as_json(rongshu("app list --json")) == []


def test_revoking_an_unknown_key_exits_4(rongshu: Invoke) -> None:
    result = rongshu("app key-revoke 0123456789abcdef", code=4)
    assert "no API key 0123456789abcdef" in result.stderr


# -- audit ---------------------------------------------------------------------------------


def test_audit_verify_passes_then_names_the_tampered_entry(rongshu: Invoke, data_dir: Path) -> None:
    rongshu("dept create --code GA --name 榕城市公安局 --region 350100")
    rongshu("dept create --code WJ --name 榕城市卫健委 --region 350100")
    rongshu("app create --name demo --department GA")

    intact = rongshu("audit verify")
    assert "chain intact" in intact.stdout
    report = as_json(rongshu("audit verify --json"))
    assert report["ok"] is True
    assert report["problem"] is None
    assert report["entries"] >= 4

    # An intruder with file access drops the guard trigger and edits entry 2.
    with sqlite3.connect(data_dir / "rongshu.db") as conn:
        conn.execute("DROP TRIGGER audit_entry_no_update")
        conn.execute("UPDATE audit_entry SET object = 'department:XX' WHERE seq = 2")
    conn.close()

    broken = rongshu("audit verify", code=1)
    assert "BROKEN at entry 2" in broken.stdout
    report = as_json(rongshu("audit verify --json", code=1))
    assert report["ok"] is False
    assert report["problem"]["seq"] == 2


# -- the installed command -----------------------------------------------------------------


def test_python_m_rongshu_lists_the_command_groups(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RONGSHU_")}
    result = subprocess.run(
        [sys.executable, "-m", "rongshu", "--help"],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "120"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for group in ("init", "db", "dept", "user", "app", "audit", "serve", "demo"):
        # Rich draws a "│" box around the command list; plain Click help does not.
        assert re.search(rf"^[│ ]*{group}\s", result.stdout, re.MULTILINE), result.stdout
