"""Setting up the demo city on an open platform: departments, an account per role, an app.

Used by ``rongshu demo``; safe to run again on the same data directory (existing departments
are kept, demo accounts get fresh passwords, so the printed ones always work).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from rongshu.core.errors import NotFound
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import (
    SYSTEM,
    AppCreate,
    DepartmentCreate,
    SecurityPolicy,
    UserCreate,
)
from rongshu.core.platform import Platform
from rongshu.demo.departments import DEPARTMENTS
from rongshu.demo.generator import MANIFEST_FILE, CityManifest


@dataclass(frozen=True)
class DemoAccount:
    """A demo sign-in: who, which role, which department, and the password to use."""

    username: str
    display_name: str
    role: Role
    department: str | None
    password: str


#: One account per role; the three officers (三员) are three different people.
DEMO_ACCOUNTS: tuple[tuple[str, str, Role, str | None], ...] = (
    ("admin", "林建国（系统管理员）", Role.PLATFORM_ADMIN, "DSJ"),
    ("secadmin", "陈丽华（安全管理员）", Role.SECURITY_ADMIN, "DSJ"),
    ("auditor", "黄志明（安全审计员）", Role.AUDITOR, "DSJ"),
    ("steward", "郑秀英（公安数据管理员）", Role.DATA_STEWARD, "GA"),
    ("approver", "吴海峰（公安审批员）", Role.APPROVER, "GA"),
    ("market_approver", "许文彬（市场监管审批员）", Role.APPROVER, "SCJG"),
    ("reviewer", "周文静（大数据局目录审核员）", Role.APPROVER, "DSJ"),
    ("developer", "王晓燕（人社开发者）", Role.DEVELOPER, "RS"),
    ("citizen", "刘先生（公众用户）", Role.PUBLIC_USER, None),
)

DEMO_APP = ("社保资格核验", "RS", "人社局核验参保人身份的系统")


@dataclass(frozen=True)
class DemoSetup:
    departments: int
    accounts: list[DemoAccount]
    app_name: str
    api_key: str | None


def bootstrap(platform: Platform) -> DemoSetup:
    """Create (or refresh) the demo departments, accounts and app."""
    ledger = platform.ledger
    with platform.db.session_scope() as session:
        existing = {d.code for d in identity.list_departments(session)}
        # Parents first, so children can name them.
        for department in sorted(DEPARTMENTS, key=lambda d: d.parent_code is not None):
            if department.code in existing:
                continue
            identity.create_department(
                session,
                data=DepartmentCreate(
                    code=department.code,
                    name=department.name,
                    region_code=department.region_code,
                    parent_code=department.parent_code,
                ),
                actor=SYSTEM,
                ledger=ledger,
            )
    accounts = [_account(platform, *spec) for spec in DEMO_ACCOUNTS]
    api_key = _demo_app(platform)
    return DemoSetup(len(DEPARTMENTS), accounts, DEMO_APP[0], api_key)


def existing_city(city_dir: Path, *, rows: int, seed: int) -> CityManifest | None:
    """The city already generated in ``city_dir`` with these rows and seed, if there is one."""
    manifest = read_manifest(city_dir)
    if manifest is None or (manifest.rows, manifest.seed) != (rows, seed):
        return None
    return manifest


def read_manifest(city_dir: Path) -> CityManifest | None:
    """The manifest of the city generated in ``city_dir``; None when there is none to read."""
    path = city_dir / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        # The file leaves out where it lies and how long generation took; add them back.
        return CityManifest.model_validate({**stored, "out_dir": city_dir, "elapsed_seconds": 0.0})
    except ValueError:
        return None


def _account(
    platform: Platform, username: str, display_name: str, role: Role, department: str | None
) -> DemoAccount:
    password = secrets.token_urlsafe(9)
    policy = SecurityPolicy()
    with platform.db.session_scope() as session:
        try:
            identity.get_user(session, username)
        except NotFound:
            identity.create_user(
                session,
                data=UserCreate(
                    username=username,
                    display_name=display_name,
                    password=password,
                    department_code=department,
                    roles=[role],
                ),
                policy=policy,
                actor=SYSTEM,
                ledger=platform.ledger,
            )
        else:
            identity.reset_password(
                session,
                username=username,
                password=password,
                policy=policy,
                actor=SYSTEM,
                ledger=platform.ledger,
            )
    return DemoAccount(username, display_name, role, department, password)


def _demo_app(platform: Platform) -> str | None:
    """Register the demo app once and issue a key; on later runs, issue a fresh key."""
    app_id = ensure_app(platform, *DEMO_APP)
    with platform.db.session_scope() as session:
        issued = identity.issue_api_key(
            session,
            app_id=app_id,
            secret=platform.secret,
            keys=platform.data_keys,
            actor=SYSTEM,
            ledger=platform.ledger,
        )
    return issued.api_key


def ensure_app(platform: Platform, name: str, department: str, description: str) -> int:
    """The id of the department's app called ``name``, registering it the first time."""
    with platform.db.session_scope() as session:
        for app in identity.list_apps(session, actor=SYSTEM, ledger=platform.ledger):
            if app.name == name and app.department_code == department:
                return app.id
        return identity.create_app(
            session,
            data=AppCreate(name=name, department_code=department, description=description),
            actor=SYSTEM,
            ledger=platform.ledger,
        ).id
