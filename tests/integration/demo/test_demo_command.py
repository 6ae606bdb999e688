"""`rongshu demo`: departments, one account per role with working passwords, an app key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rongshu.cli import app
from rongshu.core.errors import NotAuthenticated
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SecurityPolicy
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.demo.bootstrap import DEMO_ACCOUNTS
from rongshu.demo.departments import DEPARTMENTS


def run_demo(data_dir: Path) -> str:
    result = CliRunner().invoke(
        app,
        ["demo", "--no-serve", "--rows", "300", "--data-dir", str(data_dir)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    return result.output


def printed_accounts(output: str) -> dict[str, str]:
    return dict(re.findall(r"│ (\w+)\s+│ (\S+)\s+│ \w+\s+│", output))


def test_demo_prints_accounts_that_sign_in(tmp_path: Path) -> None:
    output = run_demo(tmp_path)
    accounts = printed_accounts(output)
    assert set(accounts) == {username for username, *_ in DEMO_ACCOUNTS}
    assert {role for *_, role, _ in DEMO_ACCOUNTS} == set(Role)
    api_key = re.search(r"(rsk_\w+_\S+)", output)
    assert api_key
    platform = Platform.open(Settings(data_dir=tmp_path))
    try:
        with platform.db.session_scope() as session:
            # The city's departments, and the one that holds the public's apps (citizen's).
            assert {d.code for d in identity.list_departments(session)} == {
                d.code for d in DEPARTMENTS
            } | {identity.PUBLIC_DEPARTMENT}
            for username, password in accounts.items():
                identity.authenticate(
                    session,
                    username=username,
                    password=password,
                    policy=SecurityPolicy(),
                    ledger=platform.ledger,
                )
            app_ = identity.authenticate_api_key(
                session, api_key=api_key.group(1), secret=platform.secret
            )
            assert app_.department.code == "RS"
    finally:
        platform.close()
    assert (tmp_path / "demo" / "ground_truth" / "manifest.json").is_file()


def test_demo_runs_again_with_fresh_passwords(tmp_path: Path) -> None:
    first = printed_accounts(run_demo(tmp_path))
    manifest = tmp_path / "demo" / "ground_truth" / "manifest.json"
    written = manifest.stat().st_mtime_ns
    second = printed_accounts(run_demo(tmp_path))
    assert manifest.stat().st_mtime_ns == written  # the same city is reused, not regenerated
    assert first["admin"] != second["admin"]
    platform = Platform.open(Settings(data_dir=tmp_path))
    try:
        with platform.db.session_scope() as session:
            with pytest.raises(NotAuthenticated):
                identity.authenticate(
                    session,
                    username="admin",
                    password=first["admin"],
                    policy=SecurityPolicy(),
                    ledger=platform.ledger,
                )
    finally:
        platform.close()
