"""Roles, the permissions they carry, and the separation of the three officers (三员分立).

The platform admin (系统管理员), the security admin (安全管理员) and the auditor (安全审计员)
are separate: none may do another's work and no user may hold two of these roles.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A user's role; a user may hold several, within the separation rule."""

    PLATFORM_ADMIN = "platform_admin"
    SECURITY_ADMIN = "security_admin"
    AUDITOR = "auditor"
    DATA_STEWARD = "data_steward"
    APPROVER = "approver"
    DEVELOPER = "developer"
    PUBLIC_USER = "public_user"


class Permission(StrEnum):
    """One kind of work; routes and services ask for a permission, never for a role."""

    MANAGE_DEPARTMENTS = "departments.manage"
    MANAGE_USERS = "users.manage"
    MANAGE_APPS = "apps.manage"
    OPERATE_PLATFORM = "platform.operate"
    MANAGE_SECURITY_POLICY = "security_policy.manage"
    MANAGE_MASKING_POLICY = "masking_policy.manage"
    READ_AUDIT = "audit.read"
    VIEW_CONSOLE = "console.view"
    STEWARD_DATA = "data.steward"
    APPROVE_APPLICATIONS = "applications.approve"
    USE_SERVICES = "services.use"
    USE_OPEN_DATA = "open_data.use"


#: The three officers whose duties must stay apart.
SEPARATED_ROLES: frozenset[Role] = frozenset(
    {Role.PLATFORM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR}
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_ADMIN: frozenset(
        {
            Permission.MANAGE_DEPARTMENTS,
            Permission.MANAGE_USERS,
            Permission.MANAGE_APPS,
            Permission.OPERATE_PLATFORM,
            Permission.VIEW_CONSOLE,
        }
    ),
    Role.SECURITY_ADMIN: frozenset(
        {
            Permission.MANAGE_SECURITY_POLICY,
            Permission.MANAGE_MASKING_POLICY,
            Permission.VIEW_CONSOLE,
        }
    ),
    # The auditor reads the audit trail and nothing else.
    Role.AUDITOR: frozenset({Permission.READ_AUDIT, Permission.VIEW_CONSOLE}),
    Role.DATA_STEWARD: frozenset({Permission.STEWARD_DATA, Permission.VIEW_CONSOLE}),
    Role.APPROVER: frozenset({Permission.APPROVE_APPLICATIONS, Permission.VIEW_CONSOLE}),
    Role.DEVELOPER: frozenset({Permission.USE_SERVICES, Permission.VIEW_CONSOLE}),
    Role.PUBLIC_USER: frozenset({Permission.USE_OPEN_DATA}),
}

ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.PLATFORM_ADMIN: ("系统管理员", "Platform admin"),
    Role.SECURITY_ADMIN: ("安全管理员", "Security admin"),
    Role.AUDITOR: ("安全审计员", "Auditor"),
    Role.DATA_STEWARD: ("数据管理员", "Data steward"),
    Role.APPROVER: ("审批员", "Approver"),
    Role.DEVELOPER: ("开发者", "Developer"),
    Role.PUBLIC_USER: ("公众用户", "Public user"),
}


def permissions_of(roles: set[Role] | frozenset[Role]) -> frozenset[Permission]:
    """Every permission the given roles grant together."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def separation_conflict(roles: set[Role] | frozenset[Role]) -> frozenset[Role]:
    """The separated roles in ``roles`` when there are two or more of them, else empty."""
    held = frozenset(roles) & SEPARATED_ROLES
    return held if len(held) > 1 else frozenset()
