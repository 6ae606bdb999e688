"""JSON API of departments, users and roles, apps and API keys, and the security policy."""

from __future__ import annotations

from fastapi import APIRouter, status

from rongshu.core.identity import service
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import (
    ApiKeyPublic,
    AppCreate,
    AppList,
    AppPublic,
    DepartmentCreate,
    DepartmentList,
    DepartmentPublic,
    IssuedApiKey,
    RolesUpdate,
    SecurityPolicy,
    SecurityPolicyUpdate,
    UserCreate,
    UserList,
    UserPublic,
)
from rongshu.web.deps import ActorDep, PlatformDep, SessionDep, security_policy

router = APIRouter(tags=["identity"])


@router.get("/me", summary="Who the caller is")
def me(actor: ActorDep) -> dict[str, object]:
    return {
        "kind": actor.kind,
        "name": actor.name,
        "department": actor.department,
        "app": actor.app,
        "roles": sorted(actor.roles),
        "permissions": sorted(actor.permissions),
    }


@router.get("/departments", response_model=DepartmentList, summary="List departments")
def list_departments(session: SessionDep, actor: ActorDep) -> DepartmentList:
    data = service.list_departments(session)
    return DepartmentList(data=data, count=len(data))


@router.post(
    "/departments",
    response_model=DepartmentPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register a department (platform admin)",
)
def create_department(
    data: DepartmentCreate, session: SessionDep, platform: PlatformDep, actor: ActorDep
) -> DepartmentPublic:
    return service.create_department(session, data=data, actor=actor, ledger=platform.ledger)


@router.get("/users", response_model=UserList, summary="List users (platform admin)")
def list_users(session: SessionDep, platform: PlatformDep, actor: ActorDep) -> UserList:
    data = service.list_users(session, actor=actor, ledger=platform.ledger)
    return UserList(data=data, count=len(data))


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a user (platform admin)",
)
def create_user(
    data: UserCreate, session: SessionDep, platform: PlatformDep, actor: ActorDep
) -> UserPublic:
    policy = security_policy(platform, session)
    return service.create_user(
        session, data=data, policy=policy, actor=actor, ledger=platform.ledger
    )


@router.put("/users/{username}/roles", response_model=UserPublic, summary="Set a user's roles")
def set_roles(
    username: str, data: RolesUpdate, session: SessionDep, platform: PlatformDep, actor: ActorDep
) -> UserPublic:
    return service.set_roles(
        session, username=username, roles=data.roles, actor=actor, ledger=platform.ledger
    )


@router.get("/apps", response_model=AppList, summary="List apps (platform admin)")
def list_apps(session: SessionDep, platform: PlatformDep, actor: ActorDep) -> AppList:
    data = service.list_apps(session, actor=actor, ledger=platform.ledger)
    return AppList(data=data, count=len(data))


@router.post(
    "/apps",
    response_model=AppPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register an app of a department",
)
def create_app(
    data: AppCreate, session: SessionDep, platform: PlatformDep, actor: ActorDep
) -> AppPublic:
    return service.create_app(session, data=data, actor=actor, ledger=platform.ledger)


@router.post(
    "/apps/{app_id}/keys",
    response_model=IssuedApiKey,
    status_code=status.HTTP_201_CREATED,
    summary="Issue an API key (shown once)",
)
def issue_key(
    app_id: int, session: SessionDep, platform: PlatformDep, actor: ActorDep
) -> IssuedApiKey:
    return service.issue_api_key(
        session,
        app_id=app_id,
        secret=platform.secret,
        keys=platform.data_keys,
        actor=actor,
        ledger=platform.ledger,
    )


@router.delete("/keys/{key_id}", response_model=ApiKeyPublic, summary="Revoke an API key")
def revoke_key(
    key_id: str, session: SessionDep, platform: PlatformDep, actor: ActorDep
) -> ApiKeyPublic:
    return service.revoke_api_key(session, key_id=key_id, actor=actor, ledger=platform.ledger)


@router.get("/security/policy", response_model=SecurityPolicy, summary="Login and session policy")
def get_policy(session: SessionDep, platform: PlatformDep, actor: ActorDep) -> SecurityPolicy:
    service.require(actor, Permission.MANAGE_SECURITY_POLICY, platform.ledger)
    return security_policy(platform, session)


@router.put(
    "/security/policy",
    response_model=SecurityPolicy,
    summary="Change the login and session policy (security admin)",
)
def update_policy(
    changes: SecurityPolicyUpdate, session: SessionDep, platform: PlatformDep, actor: ActorDep
) -> SecurityPolicy:
    defaults = security_policy(platform, session)
    return service.update_security_policy(
        session, changes=changes, defaults=defaults, actor=actor, ledger=platform.ledger
    )
