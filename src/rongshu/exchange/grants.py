"""Grants (授权): what one app may do with one service, until when, how often, how masked.

A grant is made by an approval (or at once, for an unconditional resource) and is never
edited: a change is a new grant. Revoking one, or reaching its expiry, stops it at once: every
call looks its grant up afresh (``ActiveGrant``), there is no cache to go stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity.models import App
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import PUBLIC_DEPARTMENT
from rongshu.exchange.filters import RowFilter
from rongshu.exchange.models import ExchangeApplication, ExchangeGrant, ExchangeService
from rongshu.exchange.schemas import Condition, GrantList, GrantPublic, ServiceKind
from rongshu.security.schemas import MaskingProfile


@dataclass(frozen=True)
class ActiveGrant:
    """A grant in force, as a call sees it."""

    id: int
    app_id: int
    app_name: str
    department: str
    service_id: int
    service_code: str
    resource_code: str
    kind: ServiceKind
    key_columns: tuple[str, ...]
    columns: tuple[str, ...]
    conditions: tuple[Condition, ...]
    purpose: str
    profile: MaskingProfile
    daily_quota: int
    rate_per_second: int
    expires_at: datetime

    def row_filter(self, schema: pa.Schema) -> RowFilter:
        return RowFilter(self.conditions, schema)


def check_columns(service: ExchangeService, columns: Sequence[str]) -> list[str]:
    """``columns`` if the service offers each of them, else a clear 422."""
    unknown = [c for c in columns if c not in service.columns]
    if unknown:
        raise ValidationFailed(
            f"service {service.code} has no field {', '.join(unknown)}",
            details=[{"field": "columns", "reason": "unknown", "columns": unknown}],
        )
    return list(columns)


def create_grant(
    session: Session,
    *,
    app: App,
    service: ExchangeService,
    columns: Sequence[str],
    conditions: Sequence[Condition],
    purpose: str,
    profile: MaskingProfile,
    daily_quota: int,
    rate_per_second: int,
    expires_at: datetime,
    actor: Actor,
    ledger: AuditLedger,
    application: ExchangeApplication | None = None,
) -> ExchangeGrant:
    """Record a grant (callers check who may grant: an approval, or an unconditional share)."""
    grant = ExchangeGrant(
        app_id=app.id,
        service_id=service.id,
        application_id=application.id if application else None,
        columns=check_columns(service, columns),
        row_filter=[c.model_dump(mode="json") for c in conditions],
        purpose=purpose,
        masking_profile=profile.value,
        daily_quota=daily_quota,
        rate_per_second=rate_per_second,
        expires_at=expires_at,
        created_by=actor.name,
    )
    session.add(grant)
    session.flush()
    audit_on_commit(
        session,
        ledger,
        actor.audit(
            "exchange.grant.create",
            f"grant:{grant.id}:{service.code}:app:{app.id}",
            purpose=purpose,
        ),
    )
    return grant


def _is_active(grant: ExchangeGrant, now: datetime) -> bool:
    return grant.revoked_at is None and grant.expires_at > now


def active_grant(
    session: Session, *, app_id: int, service_code: str, now: datetime | None = None
) -> ActiveGrant | None:
    """The newest grant in force for ``app_id`` on ``service_code``, if there is one."""
    now = now or utcnow()
    grant = session.scalar(
        select(ExchangeGrant)
        .join(ExchangeService)
        .where(
            ExchangeGrant.app_id == app_id,
            ExchangeService.code == service_code,
            ExchangeService.status == "published",
            ExchangeGrant.revoked_at.is_(None),
            ExchangeGrant.expires_at > now,
        )
        .order_by(ExchangeGrant.id.desc())
        .limit(1)
    )
    return snapshot(grant) if grant is not None else None


def snapshot(grant: ExchangeGrant) -> ActiveGrant:
    service = grant.service
    return ActiveGrant(
        id=grant.id,
        app_id=grant.app_id,
        app_name=grant.app.name,
        department=grant.app.department.code,
        service_id=service.id,
        service_code=service.code,
        resource_code=service.resource_code,
        kind=ServiceKind(service.kind),
        key_columns=tuple(service.key_columns),
        columns=tuple(grant.columns),
        conditions=tuple(Condition.model_validate(c) for c in grant.row_filter),
        purpose=grant.purpose,
        profile=MaskingProfile(grant.masking_profile),
        daily_quota=grant.daily_quota,
        rate_per_second=grant.rate_per_second,
        expires_at=grant.expires_at,
    )


def grant_public(grant: ExchangeGrant, now: datetime | None = None) -> GrantPublic:
    return GrantPublic(
        id=grant.id,
        app_id=grant.app_id,
        app_name=grant.app.name,
        consumer_department=grant.app.department.code,
        service=grant.service.code,
        resource_code=grant.service.resource_code,
        kind=ServiceKind(grant.service.kind),
        columns=list(grant.columns),
        row_filter=[Condition.model_validate(c) for c in grant.row_filter],
        purpose=grant.purpose,
        masking_profile=MaskingProfile(grant.masking_profile),
        daily_quota=grant.daily_quota,
        rate_per_second=grant.rate_per_second,
        expires_at=grant.expires_at,
        application_number=grant.application.number if grant.application else None,
        created_at=grant.created_at,
        created_by=grant.created_by,
        revoked_at=grant.revoked_at,
        revoked_by=grant.revoked_by,
        revoke_reason=grant.revoke_reason,
        active=_is_active(grant, now or utcnow()),
    )


def may_see(actor: Actor, *, app_id: int, parties: Iterable[str], bureau: str) -> bool:
    """Whether ``actor`` sees an application or grant of app ``app_id``: the platform and the
    bureau see every one, a department those of its ``parties`` (the consumer and the owner
    department), and a member of the public only their own app's (members share the one public
    department, not their work)."""
    if actor.kind == "system" or actor.department == bureau:
        return True
    if actor.department == PUBLIC_DEPARTMENT:
        return actor.app_id is not None and app_id == actor.app_id
    return actor.department in parties


def _may_see(actor: Actor, grant: ExchangeGrant, bureau: str) -> bool:
    return may_see(actor, app_id=grant.app_id, parties=_parties(grant), bureau=bureau)


def _parties(grant: ExchangeGrant) -> Iterator[str]:
    yield grant.app.department.code
    yield _owner(grant)  # a catalog lookup, made only when the consumer is not the one asking


def _owner(grant: ExchangeGrant) -> str:
    from rongshu.catalog import service as catalog

    published = catalog.published_spec(Session.object_session(grant), grant.service.resource_code)  # type: ignore[arg-type]
    return published[1].department_code if published else ""


def list_grants(
    session: Session,
    *,
    actor: Actor,
    bureau: str,
    app_id: int | None = None,
    service: str | None = None,
    active_only: bool = False,
) -> GrantList:
    query = select(ExchangeGrant).join(ExchangeService).order_by(ExchangeGrant.id.desc())
    if app_id is not None:
        query = query.where(ExchangeGrant.app_id == app_id)
    if service:
        query = query.where(ExchangeService.code == service)
    now = utcnow()
    if active_only:
        query = query.where(ExchangeGrant.revoked_at.is_(None), ExchangeGrant.expires_at > now)
    data = [grant_public(g, now) for g in session.scalars(query) if _may_see(actor, g, bureau)]
    return GrantList(data=data, count=len(data))


def get_grant(session: Session, grant_id: int, *, actor: Actor, bureau: str) -> ExchangeGrant:
    grant = session.get(ExchangeGrant, grant_id)
    if grant is None or not _may_see(actor, grant, bureau):
        raise NotFound(f"no grant {grant_id}")
    return grant


def may_revoke(actor: Actor, *, owner_department: str, bureau: str) -> bool:
    """The data owner's approvers, the bureau's approvers and the platform revoke grants."""
    if actor.kind == "system":
        return True
    return actor.can(Permission.APPROVE_APPLICATIONS) and actor.department in (
        owner_department,
        bureau,
    )


def revoke_grant(
    session: Session,
    *,
    grant_id: int,
    reason: str,
    actor: Actor,
    ledger: AuditLedger,
    bureau: str,
) -> GrantPublic:
    """Stop a grant at once: the owner department's approvers, the bureau or the platform."""
    grant = get_grant(session, grant_id, actor=actor, bureau=bureau)
    if not may_revoke(actor, owner_department=_owner(grant), bureau=bureau):
        ledger.append(actor.audit("exchange.grant.revoke", f"grant:{grant_id}", outcome="denied"))
        raise PermissionDenied("only the data owner's approvers or the bureau revoke a grant")
    if grant.revoked_at is None:
        grant.revoked_at, grant.revoked_by, grant.revoke_reason = utcnow(), actor.name, reason
        session.flush()
        audit_on_commit(
            session,
            ledger,
            actor.audit("exchange.grant.revoke", f"grant:{grant_id}", purpose=reason),
        )
    return grant_public(grant)
