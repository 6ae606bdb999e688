"""Departments, users and roles, sign-in with lockout, console sessions, apps and API keys.

Functions take a SQLAlchemy session and only ``flush()``; the caller commits. Changes are written
to the audit ledger once the caller's transaction commits (``audit_on_commit``), so a rolled-back
change leaves no "ok" entry behind.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rongshu.core.audit.ledger import AuditLedger, AuditRecord
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.crypto import hmac_sm3
from rongshu.core.db import utcnow
from rongshu.core.errors import (
    AccountLocked,
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from rongshu.core.identity.credentials import seal_signing_secret
from rongshu.core.identity.models import (
    ApiKey,
    App,
    ConsoleSession,
    Department,
    SecurityPolicySetting,
    User,
    UserRole,
)
from rongshu.core.identity.roles import ROLE_LABELS, Permission, Role, separation_conflict
from rongshu.core.identity.schemas import (
    Actor,
    ApiKeyPublic,
    AppCreate,
    AppPublic,
    DepartmentCreate,
    DepartmentPublic,
    IssuedApiKey,
    SecurityPolicy,
    SecurityPolicyUpdate,
    UserCreate,
    UserPublic,
)
from rongshu.core.keys import KeyProvider
from rongshu.core.settings import Settings

_hasher = PasswordHasher()
API_KEY_PREFIX = "rsk"  # noqa: S105 (a prefix, not a secret)


# -- access --------------------------------------------------------------------------------


def require(
    actor: Actor, permission: Permission, ledger: AuditLedger, *, object_: str = ""
) -> None:
    """Refuse (403, and an audit entry) unless ``actor`` holds ``permission``."""
    if actor.can(permission):
        return
    ledger.append(actor.audit(permission.value, object_, outcome="denied"))
    raise PermissionDenied(f"your role does not allow {permission.value}")


# -- departments ---------------------------------------------------------------------------


def create_department(
    session: Session, *, data: DepartmentCreate, actor: Actor, ledger: AuditLedger
) -> DepartmentPublic:
    """Register a department; codes are unique."""
    require(actor, Permission.MANAGE_DEPARTMENTS, ledger, object_=f"department:{data.code}")
    if session.scalar(select(Department.id).where(Department.code == data.code)) is not None:
        raise Conflict(f"department code {data.code} is already used")
    parent = _department(session, data.parent_code) if data.parent_code else None
    department = Department(
        code=data.code, name=data.name, region_code=data.region_code, parent=parent
    )
    session.add(department)
    session.flush()
    audit_on_commit(session, ledger, actor.audit("department.create", f"department:{data.code}"))
    return department_public(department)


def department_public(department: Department) -> DepartmentPublic:
    return DepartmentPublic(
        id=department.id,
        code=department.code,
        name=department.name,
        region_code=department.region_code,
        parent_code=department.parent.code if department.parent else None,
        created_at=department.created_at,
    )


def list_departments(session: Session) -> list[DepartmentPublic]:
    departments = session.scalars(select(Department).order_by(Department.code))
    return [department_public(d) for d in departments]


def department_names(session: Session) -> dict[str, str]:
    """Department code → name, for showing codes as names."""
    return {d.code: d.name for d in list_departments(session)}


def _department(session: Session, code: str) -> Department:
    department = session.scalar(select(Department).where(Department.code == code.upper()))
    if department is None:
        raise NotFound(f"no department with code {code}")
    return department


# -- users and roles -----------------------------------------------------------------------


def check_roles(roles: Iterable[Role]) -> frozenset[Role]:
    """Refuse role sets that put two of the three separated officers in one person."""
    held = frozenset(roles)
    clash = separation_conflict(held)
    if clash:
        names = " / ".join(ROLE_LABELS[r][0] + f" ({r.value})" for r in sorted(clash))
        raise Conflict(f"三员分立: one user may not hold both {names}")
    return held


def create_user(
    session: Session,
    *,
    data: UserCreate,
    policy: SecurityPolicy,
    actor: Actor,
    ledger: AuditLedger,
) -> UserPublic:
    """Create a user with an argon2 password hash and the given roles."""
    require(actor, Permission.MANAGE_USERS, ledger, object_=f"user:{data.username}")
    roles = check_roles(data.roles)
    check_password(data.password, policy)
    if session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise Conflict(f"username {data.username} is already taken")
    department = _department(session, data.department_code) if data.department_code else None
    user = User(
        username=data.username,
        display_name=data.display_name,
        email=data.email,
        department=department,
        password_hash=_hasher.hash(data.password),
        roles=[UserRole(role=role.value) for role in sorted(roles)],
    )
    session.add(user)
    session.flush()
    audit_on_commit(
        session,
        ledger,
        actor.audit("user.create", f"user:{user.username}", purpose=",".join(sorted(roles))),
    )
    return user_public(user)


def set_roles(
    session: Session, *, username: str, roles: Iterable[Role], actor: Actor, ledger: AuditLedger
) -> UserPublic:
    """Replace a user's roles (platform admin's work)."""
    require(actor, Permission.MANAGE_USERS, ledger, object_=f"user:{username}")
    held = check_roles(roles)
    user = get_user(session, username)
    wanted = {role.value for role in held}
    user.roles = [r for r in user.roles if r.role in wanted]
    session.flush()  # deletions first, so re-adding a role never meets its old row
    kept = {r.role for r in user.roles}
    user.roles.extend(UserRole(role=role) for role in sorted(wanted - kept))
    session.flush()
    audit_on_commit(
        session,
        ledger,
        actor.audit("user.set_roles", f"user:{username}", purpose=",".join(sorted(held))),
    )
    return user_public(user)


def reset_password(
    session: Session,
    *,
    username: str,
    password: str,
    policy: SecurityPolicy,
    actor: Actor,
    ledger: AuditLedger,
) -> UserPublic:
    """Set a new password and lift any lockout (platform admin's work)."""
    require(actor, Permission.MANAGE_USERS, ledger, object_=f"user:{username}")
    check_password(password, policy)
    user = get_user(session, username)
    user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    audit_on_commit(session, ledger, actor.audit("user.reset_password", f"user:{username}"))
    return user_public(user)


def check_password(password: str, policy: SecurityPolicy) -> None:
    if len(password) < policy.password_min_length:
        raise ValidationFailed(
            f"password must have at least {policy.password_min_length} characters",
            details=[{"field": "password", "reason": "too_short"}],
        )


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username}")
    return user


def user_roles(user: User) -> frozenset[Role]:
    return frozenset(Role(r.role) for r in user.roles)


def user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        department_code=user.department.code if user.department else None,
        roles=sorted(user_roles(user)),
        is_active=user.is_active,
        locked=bool(user.locked_until and user.locked_until > utcnow()),
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def list_users(session: Session, *, actor: Actor, ledger: AuditLedger) -> list[UserPublic]:
    require(actor, Permission.MANAGE_USERS, ledger, object_="users")
    return [user_public(u) for u in session.scalars(select(User).order_by(User.username))]


def user_actor(user: User, *, request_id: str = "") -> Actor:
    """The actor a signed-in user acts as."""
    return Actor(
        kind="user",
        name=user.username,
        department=user.department.code if user.department else "",
        roles=user_roles(user),
        request_id=request_id,
        user_id=user.id,
    )


# -- sign-in -------------------------------------------------------------------------------


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    policy: SecurityPolicy,
    ledger: AuditLedger,
    request_id: str = "",
) -> User:
    """Check a password; after ``login_max_failures`` wrong ones in a row, lock the account.

    Every attempt is audited. The caller must commit even when this raises, so that the failure
    count is kept.
    """
    user = session.scalar(select(User).where(User.username == username))
    now = utcnow()

    def audit(outcome: str) -> None:
        ledger.append(
            AuditRecord(
                actor=username[:64],
                department=user.department.code if user and user.department else "",
                action="login",
                object=f"user:{username[:50]}",
                outcome=outcome,
                request_id=request_id,
            )
        )

    if user is None or not user.is_active:
        _hasher.hash(password)  # same work as a real check, so timing does not reveal names
        audit("failed")
        raise NotAuthenticated("wrong username or password")
    if user.locked_until and user.locked_until > now:
        audit("locked")
        raise AccountLocked(_locked_message(user.locked_until))
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= policy.login_max_failures:
            user.locked_until = now + timedelta(minutes=policy.login_lockout_minutes)
            user.failed_logins = 0
            session.flush()
            audit("locked")
            raise AccountLocked(_locked_message(user.locked_until)) from None
        session.flush()
        audit("failed")
        raise NotAuthenticated("wrong username or password") from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    audit("ok")
    return user


def _locked_message(until: datetime) -> str:
    return (
        "too many wrong passwords: the account is locked until "
        f"{until.strftime('%Y-%m-%d %H:%M')} UTC"
    )


def start_session(
    session: Session, *, user: User, secret: bytes, policy: SecurityPolicy
) -> tuple[str, str]:
    """Open a console session; returns the cookie token and the session's CSRF token."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_token_hash(secret, token),
            csrf_token=csrf,
            user_id=user.id,
            expires_at=utcnow() + timedelta(hours=policy.session_hours),
        )
    )
    session.flush()
    return token, csrf


def resolve_session(session: Session, *, token: str, secret: bytes) -> ConsoleSession | None:
    """The live console session behind a cookie token, or None."""
    if not token or len(token) > 100:
        return None
    found = session.scalar(
        select(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(secret, token))
    )
    if found is None or found.expires_at <= utcnow():
        return None
    return found


def end_session(session: Session, *, token: str, secret: bytes) -> None:
    found = resolve_session(session, token=token, secret=secret)
    if found is not None:
        session.delete(found)
        session.flush()


def purge_expired_sessions(session: Session) -> int:
    """Delete expired console sessions; returns how many."""
    expired = list(
        session.scalars(select(ConsoleSession).where(ConsoleSession.expires_at <= utcnow()))
    )
    for item in expired:
        session.delete(item)
    session.flush()
    return len(expired)


def _token_hash(secret: bytes, token: str) -> str:
    return hmac_sm3(secret, token.encode()).hex()


# -- apps and API keys ---------------------------------------------------------------------


def create_app(
    session: Session, *, data: AppCreate, actor: Actor, ledger: AuditLedger
) -> AppPublic:
    """Register a machine client of a department."""
    require(actor, Permission.MANAGE_APPS, ledger, object_=f"app:{data.name}")
    department = _department(session, data.department_code)
    app = App(name=data.name, department=department, description=data.description)
    session.add(app)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{department.code} already has an app named {data.name}") from None
    audit_on_commit(session, ledger, actor.audit("app.create", f"app:{app.id}:{app.name}"))
    return app_public(app)


def app_public(app: App) -> AppPublic:
    return AppPublic(
        id=app.id,
        name=app.name,
        department_code=app.department.code,
        description=app.description,
        created_at=app.created_at,
        keys=[
            ApiKeyPublic(
                key_id=k.key_id,
                created_at=k.created_at,
                revoked_at=k.revoked_at,
                last_used_at=k.last_used_at,
            )
            for k in app.keys
        ],
    )


def list_apps(session: Session, *, actor: Actor, ledger: AuditLedger) -> list[AppPublic]:
    require(actor, Permission.MANAGE_APPS, ledger, object_="apps")
    return [app_public(a) for a in session.scalars(select(App).order_by(App.id))]


def get_app(session: Session, app_id: int) -> App:
    app = session.get(App, app_id)
    if app is None:
        raise NotFound(f"no app with id {app_id}")
    return app


def issue_api_key(
    session: Session,
    *,
    app_id: int,
    secret: bytes,
    keys: KeyProvider,
    actor: Actor,
    ledger: AuditLedger,
) -> IssuedApiKey:
    """Create a key for an app. Its secret part is stored as an HMAC-SM3 (to check API-key
    calls) and sealed with the ``credential`` data key (to check signed requests)."""
    require(actor, Permission.MANAGE_APPS, ledger, object_=f"app:{app_id}")
    app = get_app(session, app_id)
    key_id = secrets.token_hex(8)
    key_secret = secrets.token_urlsafe(32)
    app.keys.append(
        ApiKey(
            key_id=key_id,
            secret_hash=_token_hash(secret, key_secret),
            signing_secret=seal_signing_secret(keys, key_id, key_secret),
        )
    )
    session.flush()
    audit_on_commit(session, ledger, actor.audit("app.key_issue", f"app:{app.id}:key:{key_id}"))
    return IssuedApiKey(
        app_id=app.id, key_id=key_id, api_key=f"{API_KEY_PREFIX}_{key_id}_{key_secret}"
    )


def revoke_api_key(
    session: Session, *, key_id: str, actor: Actor, ledger: AuditLedger
) -> ApiKeyPublic:
    """Revoke a key at once; later calls with it get 401."""
    require(actor, Permission.MANAGE_APPS, ledger, object_=f"key:{key_id}")
    key = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if key is None:
        raise NotFound(f"no API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        audit_on_commit(
            session, ledger, actor.audit("app.key_revoke", f"app:{key.app_id}:key:{key_id}")
        )
    return ApiKeyPublic(
        key_id=key.key_id,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


def authenticate_api_key(session: Session, *, api_key: str, secret: bytes) -> App:
    """The app a presented key belongs to; malformed, unknown or revoked keys get 401."""
    parts = api_key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        raise NotAuthenticated("malformed API key: expected rsk_<key id>_<secret>")
    key = session.scalar(select(ApiKey).where(ApiKey.key_id == parts[1]))
    presented = _token_hash(secret, parts[2])
    if key is None or not hmac.compare_digest(key.secret_hash, presented):
        raise NotAuthenticated("unknown API key")
    if key.revoked_at is not None:
        raise NotAuthenticated("this API key has been revoked")
    key.last_used_at = utcnow()
    return get_app(session, key.app_id)


#: The department that holds the apps of members of the public (the open-data portal's accounts).
PUBLIC_DEPARTMENT = "PUBLIC"


def app_actor(app: App, *, request_id: str = "") -> Actor:
    """The actor an app acts as: developer rights in its own department; a public member's app
    (in ``PUBLIC_DEPARTMENT``) only the public's rights, so it cannot see other members' work."""
    public = app.department.code == PUBLIC_DEPARTMENT
    return Actor(
        kind="app",
        name=f"app:{app.id}",
        department=app.department.code,
        app=app.name,
        roles=frozenset({Role.PUBLIC_USER if public else Role.DEVELOPER}),
        request_id=request_id,
        app_id=app.id,
    )


# -- security policy -----------------------------------------------------------------------


def effective_security_policy(session: Session, settings: Settings) -> SecurityPolicy:
    """The policy in force: the security admin's values over the installation's settings."""
    defaults = SecurityPolicy(
        login_max_failures=settings.login_max_failures,
        login_lockout_minutes=settings.login_lockout_minutes,
        session_hours=settings.session_hours,
    )
    return get_security_policy(session, defaults=defaults)


def get_security_policy(session: Session, *, defaults: SecurityPolicy) -> SecurityPolicy:
    """The effective policy: values the security admin set, else the installation defaults."""
    stored = {row.name: row.value for row in session.scalars(select(SecurityPolicySetting))}
    merged = defaults.model_dump()
    merged.update({name: value for name, value in stored.items() if name in merged})
    return SecurityPolicy.model_validate(merged)


def update_security_policy(
    session: Session,
    *,
    changes: SecurityPolicyUpdate,
    defaults: SecurityPolicy,
    actor: Actor,
    ledger: AuditLedger,
) -> SecurityPolicy:
    """Change login and session rules (security admin's work)."""
    require(actor, Permission.MANAGE_SECURITY_POLICY, ledger, object_="security_policy")
    for name, value in changes.model_dump(exclude_none=True).items():
        row = session.get(SecurityPolicySetting, name)
        if row is None:
            row = SecurityPolicySetting(name=name, value=str(value), updated_by=actor.name)
            session.add(row)
        row.value, row.updated_by, row.updated_at = str(value), actor.name, utcnow()
    session.flush()
    summary = ",".join(f"{k}={v}" for k, v in changes.model_dump(exclude_none=True).items())
    audit_on_commit(
        session, ledger, actor.audit("security_policy.update", "security_policy", purpose=summary)
    )
    return get_security_policy(session, defaults=defaults)


# -- console -------------------------------------------------------------------------------


def identity_counts(session: Session) -> dict[str, int]:
    """Departments, users and apps registered."""
    return {
        "departments": session.scalar(select(func.count(Department.id))) or 0,
        "users": session.scalar(select(func.count(User.id))) or 0,
        "apps": session.scalar(select(func.count(App.id))) or 0,
    }
