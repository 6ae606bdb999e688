"""Fixtures for integration tests: a platform in tmp_path, an in-process client, users, and
catalog resources with lake versions."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import (
    FieldSpec,
    FieldType,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM, DepartmentCreate, SecurityPolicy, UserCreate
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.lake.schema import arrow_schema
from rongshu.lake.tables import Lake
from rongshu.web.app import create_app

PASSWORD = "correct-horse-battery"


def open_platform(data_dir: Path, database_url: str | None = None, **overrides: object) -> Platform:
    settings = Settings(data_dir=data_dir, database_url=database_url, **overrides)  # type: ignore[arg-type]
    return Platform.open(settings, upgrade=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    """An open platform on SQLite, and again on PostgreSQL: one test body, both engines."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    opened = open_platform(tmp_path / "data", url)
    yield opened
    opened.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform.settings, platform=platform)) as test_client:
        yield test_client


MakeUser = Callable[..., str]


@pytest.fixture
def make_user(platform: Platform) -> MakeUser:
    """Create a department (once) and a user with the given roles; returns the username."""

    def make(username: str, *roles: Role, department: str = "DSJ") -> str:
        with platform.db.session_scope() as session:
            codes = {d.code for d in identity.list_departments(session)}
            if department not in codes:
                identity.create_department(
                    session,
                    data=DepartmentCreate(
                        code=department, name=f"{department} 部门", region_code="350100"
                    ),
                    actor=SYSTEM,
                    ledger=platform.ledger,
                )
            identity.create_user(
                session,
                data=UserCreate(
                    username=username,
                    display_name=username,
                    password=PASSWORD,
                    department_code=department,
                    roles=list(roles),
                ),
                policy=SecurityPolicy(),
                actor=SYSTEM,
                ledger=platform.ledger,
            )
        return username

    return make


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the real login form; returns the session's CSRF token."""
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "login form carries a CSRF token"
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/console")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]*)"', home.text)
    assert csrf, "console pages carry the session's CSRF token"
    return csrf.group(1)


def sign_in(platform: Platform, client: TestClient, username: str) -> dict[str, str]:
    """Open a console session directly; returns headers carrying its CSRF token."""
    with platform.db.session_scope() as session:
        user = identity.get_user(session, username)
        token, csrf = identity.start_session(
            session, user=user, secret=platform.secret, policy=SecurityPolicy()
        )
    client.cookies.set("rongshu_session", token)
    return {"X-CSRF-Token": csrf}


Mount = Callable[[str, Path], AbstractContextManager[None]]


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


@contextmanager
def _mounted(kind: str, path: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip(f"mounting a {kind} disk needs root")
    try:
        if kind == "tmpfs":
            _run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path))
        else:
            _run("mount", "--bind", str(path), str(path))
            try:
                _run("mount", "-o", "remount,bind,ro", str(path))
            except subprocess.CalledProcessError:
                _run("umount", str(path))
                raise
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"cannot mount a {kind} disk here: {exc} {detail.decode(errors='replace')}")
    try:
        yield
    finally:
        _run("umount", str(path))


@pytest.fixture
def mount() -> Mount:
    """``with mount("tmpfs", path)``: a 2 MB disk at ``path``; ``mount("read-only", path)``:
    ``path`` bound onto itself read-only. Skips where mounting is not allowed (not root).
    """
    return _mounted


# -- catalog resources and their lake versions -------------------------------------------------

Declare = Callable[..., str]
Write = Callable[..., int]


def field(
    english: str,
    data_type: FieldType = FieldType.STRING,
    *rules: str,
    key: bool = False,
    description: str = "",
) -> FieldSpec:
    """A catalog field named after its column, with the rule names given."""
    return FieldSpec(
        name=f"{english} 信息项",
        english_name=english,
        data_type=data_type,
        is_key=key,
        rules=list(rules),
        description=description,
    )


@pytest.fixture
def declare(platform: Platform) -> Declare:
    """Register a catalog resource: ``declare(code, fields, department="GA", cycle=...)``."""

    def make(
        code: str,
        fields: Sequence[FieldSpec],
        *,
        department: str = "GA",
        cycle: UpdateCycle = UpdateCycle.IRREGULAR,
    ) -> str:
        with platform.db.session_scope() as session:
            if department not in {d.code for d in identity.list_departments(session)}:
                identity.create_department(
                    session,
                    data=DepartmentCreate(
                        code=department, name=f"{department} 局", region_code="350100"
                    ),
                    actor=SYSTEM,
                    ledger=platform.ledger,
                )
            catalog.create_resource(
                session,
                spec=ResourceSpec(
                    code=code,
                    name=f"资源 {code}",
                    department_code=department,
                    fields=list(fields),
                    share_type=ShareType.UNCONDITIONAL,
                    share_methods=[ShareMethod.API],
                    open_type=OpenType.NONE,
                    legal_basis="测试",
                    update_cycle=cycle,
                ),
                ctx=catalog.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="DSJ"),
            )
        return code

    return make


@pytest.fixture
def write(platform: Platform) -> Write:
    """Commit rows as a new version of a resource's lake table (typed as its catalog fields)."""

    def commit(code: str, rows: list[dict[str, Any]], mode: str = "overwrite") -> int:
        with platform.db.session_scope() as session:
            schema = arrow_schema(catalog.current_fields(session, code))
        table = pa.Table.from_pylist(rows, schema=schema)
        result = (
            Lake.from_settings(platform.settings)
            .table(code)
            .commit(
                table.to_batches(),
                schema=schema,
                mode=mode,  # type: ignore[arg-type]
            )
        )
        return result.version

    return commit
