"""The catalog's domain logic: register, change, submit, review, publish, retire, read.

Who may do what:
- a data steward edits, submits and retires the resources of their own department;
- approvers of the big-data bureau (``RONGSHU_BUREAU_DEPARTMENT``) review submissions;
- every console user sees the published catalog; the public sees published, openable resources.

A published resource stays published while a change to it is drafted and reviewed: readers see
the latest published version (``CatalogVersion``), stewards see their working copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rongshu.catalog.models import CatalogEvent, CatalogResource, CatalogVersion
from rongshu.catalog.rules import check_resource, diff_specs, effective_grade
from rongshu.catalog.schemas import (
    FieldChange,
    FieldPublic,
    FieldSpec,
    OpenType,
    ResourceEventPublic,
    ResourcePublic,
    ResourceSpec,
    ResourceStatus,
)
from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity.models import Department
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import SYSTEM, Actor

EDITABLE = (ResourceStatus.DRAFT, ResourceStatus.RETURNED, ResourceStatus.PUBLISHED)


@dataclass(frozen=True)
class CatalogContext:
    """What every catalog call needs: who acts, where to audit, and which department reviews."""

    actor: Actor
    ledger: AuditLedger
    bureau: str

    def audit(self, session: Session, action: str, code: str, reason: str = "") -> None:
        audit_on_commit(
            session, self.ledger, self.actor.audit(action, f"resource:{code}", purpose=reason)
        )

    def is_reviewer(self) -> bool:
        if self.actor.kind == "system":
            return True
        return (
            self.actor.can(Permission.APPROVE_APPLICATIONS) and self.actor.department == self.bureau
        )

    def may_edit(self, department: str) -> bool:
        if self.actor.kind == "system":
            return True
        return self.actor.can(Permission.STEWARD_DATA) and self.actor.department == department


# -- writing -------------------------------------------------------------------------------


def validate(session: Session, spec: ResourceSpec) -> None:
    """Refuse a declaration that breaks the guide's rules or names unknown departments."""
    problems = check_resource(spec)
    if _department(session, spec.department_code) is None:
        problems.append(
            {"field": "department_code", "reason": f"没有编码为 {spec.department_code} 的部门"}
        )
    if problems:
        reasons = "; ".join(p["reason"] for p in problems)
        raise ValidationFailed(
            f"resource {spec.code} breaks the catalog rules: {reasons}", details=problems
        )


def create_resource(session: Session, *, spec: ResourceSpec, ctx: CatalogContext) -> ResourcePublic:
    """Register a resource as a draft of its department."""
    _require_editor(ctx, spec.department_code, spec.code)
    validate(session, spec)
    if session.scalar(select(CatalogResource.id).where(CatalogResource.code == spec.code)):
        raise Conflict(f"resource code {spec.code} is already registered")
    department = session.scalars(
        select(Department).where(Department.code == spec.department_code)
    ).one()  # validate() checked that it exists
    row = CatalogResource(code=spec.code, department=department, status=ResourceStatus.DRAFT.value)
    _store(row, spec)
    session.add(row)
    session.flush()
    _event(session, row, ctx, "create", ResourceStatus.DRAFT, "", diff_specs(None, spec))
    ctx.audit(session, "catalog.create", spec.code)
    return resource_public(row, spec)


def update_resource(
    session: Session, *, code: str, spec: ResourceSpec, reason: str, ctx: CatalogContext
) -> ResourcePublic:
    """Change the working copy. A published resource stays published until the change is."""
    row = _resource(session, code)
    _require_editor(ctx, row.department.code, code)
    if spec.code != code:
        raise ValidationFailed(
            "a resource's code cannot change", details=[{"field": "code", "reason": "immutable"}]
        )
    if spec.department_code != row.department.code:
        raise ValidationFailed(
            "a resource cannot move to another department",
            details=[{"field": "department_code", "reason": "immutable"}],
        )
    status = ResourceStatus(row.status)
    if status not in EDITABLE:
        raise Conflict(
            f"resource {code} is {status.label} ({status.value}) and cannot be edited now"
        )
    validate(session, spec)
    before = ResourceSpec.model_validate(row.spec)
    if spec.publish_date is None and before.publish_date is not None:
        spec = spec.model_copy(update={"publish_date": before.publish_date})  # first publication
    changes = diff_specs(before, spec)
    if not changes:
        return resource_public(row, spec)
    _store(row, spec)
    row.status = ResourceStatus.DRAFT.value
    session.flush()
    _event(session, row, ctx, "update", ResourceStatus.DRAFT, reason, changes, previous=status)
    ctx.audit(session, "catalog.update", code, reason)
    return resource_public(row, spec)


def submit(session: Session, *, code: str, reason: str, ctx: CatalogContext) -> ResourcePublic:
    """Send a draft (or a returned submission) to the bureau for review."""
    row = _resource(session, code)
    _require_editor(ctx, row.department.code, code)
    status = ResourceStatus(row.status)
    if status not in (ResourceStatus.DRAFT, ResourceStatus.RETURNED):
        raise Conflict(
            f"only drafts and returned submissions can be submitted; {code} is {status.label}"
        )
    spec = ResourceSpec.model_validate(row.spec)
    validate(session, spec)
    _transition(session, row, ctx, "submit", ResourceStatus.SUBMITTED, reason)
    return resource_public(row, spec)


def review(
    session: Session, *, code: str, approve: bool, reason: str, ctx: CatalogContext
) -> ResourcePublic:
    """The bureau approves (and so publishes a new catalog version) or returns with reasons."""
    if not ctx.is_reviewer():
        ctx.ledger.append(ctx.actor.audit("catalog.review", f"resource:{code}", outcome="denied"))
        raise PermissionDenied("only approvers of the big-data bureau review catalog submissions")
    row = _resource(session, code)
    if ResourceStatus(row.status) is not ResourceStatus.SUBMITTED:
        raise Conflict(f"resource {code} is not awaiting review")
    spec = ResourceSpec.model_validate(row.spec)
    if not approve:
        if not reason.strip():
            raise ValidationFailed(
                "returning a submission needs the reasons",
                details=[{"field": "reason", "reason": "required"}],
            )
        _transition(session, row, ctx, "return", ResourceStatus.RETURNED, reason)
        return resource_public(row, spec)
    previous = _published_spec(session, row)
    row.version += 1
    spec_out = spec.model_copy(update={"publish_date": spec.publish_date or utcnow().date()})
    row.spec = spec_out.model_dump(mode="json")
    session.add(
        CatalogVersion(
            resource_id=row.id, version=row.version, spec=row.spec, published_by=ctx.actor.name
        )
    )
    _transition(
        session,
        row,
        ctx,
        "publish",
        ResourceStatus.PUBLISHED,
        reason,
        changes=diff_specs(previous, spec),
    )
    return resource_public(row, spec_out)


def retire(session: Session, *, code: str, reason: str, ctx: CatalogContext) -> ResourcePublic:
    """Withdraw a resource from the catalog; its history and versions stay."""
    row = _resource(session, code)
    if not (ctx.is_reviewer() or ctx.may_edit(row.department.code)):
        _require_editor(ctx, row.department.code, code)
    if not reason.strip():
        raise ValidationFailed(
            "retiring a resource needs a reason",
            details=[{"field": "reason", "reason": "required"}],
        )
    _transition(session, row, ctx, "retire", ResourceStatus.RETIRED, reason)
    return resource_public(row, ResourceSpec.model_validate(row.spec))


def _transition(
    session: Session,
    row: CatalogResource,
    ctx: CatalogContext,
    action: str,
    to: ResourceStatus,
    reason: str,
    *,
    changes: list[FieldChange] | None = None,
) -> None:
    previous = ResourceStatus(row.status)
    row.status = to.value
    row.updated_at = utcnow()
    session.flush()
    _event(session, row, ctx, action, to, reason, changes or [], previous=previous)
    ctx.audit(session, f"catalog.{action}", row.code, reason)


def _event(
    session: Session,
    row: CatalogResource,
    ctx: CatalogContext,
    action: str,
    to: ResourceStatus,
    reason: str,
    changes: list[FieldChange],
    *,
    previous: ResourceStatus | None = None,
) -> None:
    session.add(
        CatalogEvent(
            resource_id=row.id,
            actor=ctx.actor.name,
            action=action,
            status_from=previous.value if previous else "",
            status_to=to.value,
            reason=reason,
            version=row.version,
            changes=[c.model_dump(mode="json") for c in changes],
        )
    )


def _store(row: CatalogResource, spec: ResourceSpec) -> None:
    row.name = spec.name
    row.catalog_type = spec.catalog_type.value
    row.share_type = spec.share_type.value
    row.open_type = spec.open_type.value
    row.update_cycle = spec.update_cycle.value
    row.format = spec.format
    row.grade = effective_grade(spec).value
    row.field_count = len(spec.fields)
    row.spec = spec.model_dump(mode="json")
    row.updated_at = utcnow()


def _require_editor(ctx: CatalogContext, department: str, code: str) -> None:
    if ctx.may_edit(department):
        return
    ctx.ledger.append(ctx.actor.audit("catalog.edit", f"resource:{code}", outcome="denied"))
    raise PermissionDenied(f"only data stewards of {department} edit its resources")


# -- reading -------------------------------------------------------------------------------


def resource_public(row: CatalogResource, spec: ResourceSpec | None = None) -> ResourcePublic:
    spec = spec or ResourceSpec.model_validate(row.spec)
    data: dict[str, Any] = spec.model_dump()
    data["fields"] = [
        FieldPublic(position=i + 1, **f.model_dump()) for i, f in enumerate(spec.fields)
    ]
    return ResourcePublic(
        **data,
        id=row.id,
        department_name=row.department.name,
        status=ResourceStatus(row.status),
        effective_grade=effective_grade(spec),
        version=row.version,
        updated_at=row.updated_at,
    )


def _sees_working_copy(actor: Actor | None, row: CatalogResource) -> bool:
    return actor is not None and (
        actor.kind == "system"
        or (actor.can(Permission.STEWARD_DATA) and actor.department == row.department.code)
    )


def get_resource(session: Session, *, code: str, actor: Actor | None) -> ResourcePublic:
    """A resource as ``actor`` may see it; None is the public. Unknown and hidden look alike."""
    row = _resource(session, code)
    if _sees_working_copy(actor, row):
        return resource_public(row)
    published = _published_spec(session, row)
    if published is None or row.status == ResourceStatus.RETIRED.value:
        raise NotFound(f"no resource with code {code}")
    if actor is None or not actor.can(Permission.VIEW_CONSOLE):
        if published.open_type is OpenType.NONE:
            raise NotFound(f"no resource with code {code}")
    view = resource_public(row, published)
    return view.model_copy(update={"status": ResourceStatus.PUBLISHED})


#: Steps that end in what everyone may see; later steps concern an unpublished working copy.
PUBLIC_STEPS = ("publish", "retire")


def history(session: Session, *, code: str, actor: Actor | None) -> list[ResourceEventPublic]:
    """A resource's steps, newest first.

    The department's stewards see every step; everyone else sees the history up to the latest
    publication or retirement, since later changes (and their reasons) are not published yet.
    """
    row = _resource(session, code)
    get_resource(session, code=code, actor=actor)  # same visibility as the resource
    events = list(
        session.scalars(
            select(CatalogEvent)
            .where(CatalogEvent.resource_id == row.id)
            .order_by(CatalogEvent.id.desc())
        )
    )
    if not _sees_working_copy(actor, row):
        first_public = next(
            (i for i, e in enumerate(events) if e.action in PUBLIC_STEPS), len(events)
        )
        events = events[first_public:]
    return [
        ResourceEventPublic(
            at=e.at,
            actor=e.actor,
            action=e.action,
            status_from=e.status_from,
            status_to=e.status_to,
            reason=e.reason,
            version=e.version,
            changes=[FieldChange.model_validate(c) for c in e.changes],
        )
        for e in events
    ]


def list_working(
    session: Session, *, actor: Actor, status: ResourceStatus | None = None
) -> list[ResourcePublic]:
    """Working copies the actor handles: their department's (steward) or the review queue."""
    query = select(CatalogResource).order_by(CatalogResource.code)
    if actor.kind != "system":
        if actor.can(Permission.STEWARD_DATA):
            query = query.join(Department).where(Department.code == actor.department)
        elif not actor.can(Permission.APPROVE_APPLICATIONS):
            return []
    if status is not None:
        query = query.where(CatalogResource.status == status.value)
    return [resource_public(row) for row in session.scalars(query)]


def published_resources(session: Session, *, open_only: bool = False) -> list[ResourcePublic]:
    """The latest published version of every live resource (what search and export read)."""
    latest = (
        select(CatalogVersion.resource_id, func.max(CatalogVersion.version).label("version"))
        .group_by(CatalogVersion.resource_id)
        .subquery()
    )
    rows = session.execute(
        select(CatalogResource, CatalogVersion)
        .join(latest, latest.c.resource_id == CatalogResource.id)
        .join(
            CatalogVersion,
            (CatalogVersion.resource_id == latest.c.resource_id)
            & (CatalogVersion.version == latest.c.version),
        )
        .where(CatalogResource.status != ResourceStatus.RETIRED.value)
        .order_by(CatalogResource.code)
    )
    result = []
    for row, version in rows:
        spec = ResourceSpec.model_validate(version.spec)
        if open_only and spec.open_type is OpenType.NONE:
            continue
        view = resource_public(row, spec)
        result.append(view.model_copy(update={"status": ResourceStatus.PUBLISHED}))
    return result


def published_resource(session: Session, code: str) -> ResourcePublic | None:
    """Resource ``code`` as its latest published catalog version declares it (None if it was
    never published or is retired): what sharing and opening go by, whoever asks."""
    row = _resource(session, code)
    spec = _published_spec(session, row)
    if spec is None or row.status == ResourceStatus.RETIRED.value:
        return None
    view = resource_public(row, spec)
    return view.model_copy(update={"status": ResourceStatus.PUBLISHED})


def published_spec(session: Session, code: str) -> tuple[int, ResourceSpec] | None:
    """The latest published version number of resource ``code`` and its declaration, if any."""
    found = _latest_version(session, _resource(session, code))
    return (found.version, ResourceSpec.model_validate(found.spec)) if found else None


def current_fields(session: Session, code: str) -> list[FieldSpec]:
    """The fields data of resource ``code`` is loaded into and read by: the published
    declaration's, else (not yet published) the working copy's."""
    published = published_spec(session, code)
    if published is not None:
        return list(published[1].fields)
    return [
        FieldSpec.model_validate(f.model_dump())
        for f in get_resource(session, code=code, actor=SYSTEM).fields
    ]


def _published_spec(session: Session, row: CatalogResource) -> ResourceSpec | None:
    found = _latest_version(session, row)
    return ResourceSpec.model_validate(found.spec) if found else None


def _latest_version(session: Session, row: CatalogResource) -> CatalogVersion | None:
    return session.scalar(
        select(CatalogVersion)
        .where(CatalogVersion.resource_id == row.id)
        .order_by(CatalogVersion.version.desc())
        .limit(1)
    )


def _resource(session: Session, code: str) -> CatalogResource:
    row = session.scalar(select(CatalogResource).where(CatalogResource.code == code))
    if row is None:
        raise NotFound(f"no resource with code {code}")
    return row


def _department(session: Session, code: str) -> Department | None:
    return session.scalar(select(Department).where(Department.code == code))


def existing_codes(session: Session, codes: Iterable[str]) -> set[str]:
    """Which of ``codes`` are already registered (for import reports)."""
    wanted = list(codes)
    if not wanted:
        return set()
    return set(
        session.scalars(select(CatalogResource.code).where(CatalogResource.code.in_(wanted)))
    )
