"""``rongshu exchange`` as an operator uses it: the catalog, an application decided, grants,
a revocation and usage; and ``call`` against a real server with the app's key, plain and
signed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from rongshu.cli import app
from rongshu.core.db import utcnow
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.exchange import applications
from rongshu.exchange.schemas import ApplicationCreate, ServiceKind

from .conftest import CODE, CONSUMER, MakeShared

pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)


def _run(platform: Platform, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(
        app,
        [*args, "--data-dir", str(platform.settings.data_dir)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result.stdout


def test_operators_list_decide_and_revoke(platform: Platform, make_shared: MakeShared) -> None:
    shared = make_shared(rows=10)
    services_out = json.loads(_run(platform, "exchange", "services", "--kind", "verify", "--json"))
    assert [s["code"] for s in services_out] == [f"{CODE}.verify"]
    developer = Actor(
        kind="user", name="mz-dev", department=CONSUMER, roles=frozenset({Role.DEVELOPER})
    )
    with platform.db.session_scope() as session:
        number = applications.apply(
            session,
            data=ApplicationCreate(
                service=f"{CODE}.verify",
                app_id=shared.app_id,
                columns=["id_number", "name"],
                purpose="核验",
                legal_basis="《社会保险法》",
                valid_until=utcnow() + timedelta(days=30),
            ),
            actor=developer,
            ledger=platform.ledger,
            settings=platform.settings,
        ).number
    listed = json.loads(_run(platform, "exchange", "applications", "--state", "pending", "--json"))
    assert [a["number"] for a in listed] == [number]
    _run(platform, "exchange", "decide", number, "refuse", code=2)  # a refusal needs a reason
    decided = json.loads(_run(platform, "exchange", "decide", number, "approve", "--json"))
    assert decided["state"] == "approved"
    grants = json.loads(_run(platform, "exchange", "grants", "--active", "--json"))
    assert [g["id"] for g in grants] == [decided["grant_id"]]
    _run(platform, "exchange", "revoke", str(decided["grant_id"]), "--reason", "到期前收回")
    assert json.loads(_run(platform, "exchange", "grants", "--active", "--json")) == []
    assert "daily indicator 800,000" in _run(platform, "exchange", "usage")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_call_reaches_a_running_server_with_the_apps_key(
    platform: Platform, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=10)
    shared.grant(ServiceKind.VERIFY)
    port = _free_port()
    env = {**os.environ, "RONGSHU_DATA_DIR": str(platform.settings.data_dir)}
    env |= {"RONGSHU_JOBS_IN_PROCESS": "false", "RONGSHU_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "rongshu", "serve", "--port", str(port)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        person = shared.rows[2]
        base = [
            "exchange",
            "call",
            f"{CODE}.verify",
            "--key",
            f"id_number={person['id_number']}",
            "--claim",
            f"name={person['name']}",
            "--url",
            f"http://127.0.0.1:{port}",
        ]
        runner = CliRunner(env={"RONGSHU_API_KEY": shared.api_key})
        for extra in ([], ["--sign"]):
            result = runner.invoke(app, [*base, *extra])
            assert result.exit_code == 0, (result.stdout, result.stderr)
            assert json.loads(result.stdout)["match"] is True
        refused = CliRunner(env={"RONGSHU_API_KEY": "rsk_0000000000000000_nope"}).invoke(app, base)
        assert refused.exit_code == 3
    finally:
        server.terminate()
        server.wait(timeout=30)
