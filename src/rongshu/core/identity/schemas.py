"""In/out shapes of the identity area; secrets never appear in a ``*Public`` model."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rongshu.core.audit.ledger import AuditRecord
from rongshu.core.identity.roles import Permission, Role, permissions_of

REGION_CODE = re.compile(r"^\d{6}$")
DEPARTMENT_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an app with an API key, or the platform itself."""

    kind: str  # "user", "app" or "system"
    name: str
    department: str = ""
    app: str = ""
    roles: frozenset[Role] = frozenset()
    request_id: str = ""
    user_id: int | None = None
    app_id: int | None = None
    permissions: frozenset[Permission] = field(init=False)

    def __post_init__(self) -> None:
        # The platform acting on its own behalf (CLI on the server, jobs) may do everything.
        granted = frozenset(Permission) if self.kind == "system" else permissions_of(self.roles)
        object.__setattr__(self, "permissions", granted)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def audit(
        self,
        action: str,
        object_: str = "",
        *,
        outcome: str = "ok",
        purpose: str = "",
        row_count: int = 0,
    ) -> AuditRecord:
        """An audit record of this actor doing ``action`` on ``object_``."""
        return AuditRecord(
            actor=self.name,
            action=action,
            object=object_,
            outcome=outcome,
            department=self.department,
            app=self.app,
            purpose=purpose,
            row_count=row_count,
            request_id=self.request_id,
        )


SYSTEM = Actor(kind="system", name="system")


class DepartmentCreate(BaseModel):
    code: str = Field(description="Department code, unique (letters, digits, _ and -).")
    name: str = Field(min_length=1, max_length=200)
    region_code: str = Field(description="GB/T 2260 six-digit administrative region code.")
    parent_code: str | None = None

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not DEPARTMENT_CODE.match(value):
            raise ValueError("use 1–32 letters, digits, '_' or '-'")
        return value.upper()

    @field_validator("region_code")
    @classmethod
    def _region(cls, value: str) -> str:
        if not REGION_CODE.match(value):
            raise ValueError("a GB/T 2260 region code has six digits")
        return value


class DepartmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    region_code: str
    parent_code: str | None = None
    created_at: datetime


class DepartmentList(BaseModel):
    data: list[DepartmentPublic]
    count: int


class UserCreate(BaseModel):
    username: str
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)
    department_code: str | None = None
    email: str | None = None
    roles: list[Role] = Field(default_factory=list)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not USERNAME.match(value):
            raise ValueError("use 2–64 letters, digits, '.', '_' or '-'")
        return value


class RolesUpdate(BaseModel):
    roles: list[Role]


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    email: str | None
    department_code: str | None
    roles: list[Role]
    is_active: bool
    locked: bool
    created_at: datetime
    last_login_at: datetime | None


class UserList(BaseModel):
    data: list[UserPublic]
    count: int


class AppCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    department_code: str
    description: str = ""


class ApiKeyPublic(BaseModel):
    key_id: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class AppPublic(BaseModel):
    id: int
    name: str
    department_code: str
    description: str
    created_at: datetime
    keys: list[ApiKeyPublic]


class AppList(BaseModel):
    data: list[AppPublic]
    count: int


class IssuedApiKey(BaseModel):
    """A new key: the full ``api_key`` is shown this once and never stored."""

    app_id: int
    key_id: str
    api_key: str


class SecurityPolicy(BaseModel):
    """Login and session rules, set by the security admin."""

    password_min_length: int = Field(10, ge=8, le=128)
    login_max_failures: int = Field(5, ge=1, le=100)
    login_lockout_minutes: int = Field(30, ge=1, le=24 * 60)
    session_hours: float = Field(8.0, gt=0, le=24 * 7)


class SecurityPolicyUpdate(BaseModel):
    password_min_length: int | None = Field(None, ge=8, le=128)
    login_max_failures: int | None = Field(None, ge=1, le=100)
    login_lockout_minutes: int | None = Field(None, ge=1, le=24 * 60)
    session_hours: float | None = Field(None, gt=0, le=24 * 7)


class ConsoleCounts(BaseModel):
    """Live counts on the console home."""

    departments: int
    users: int
    apps: int
    audit_entries_today: int
