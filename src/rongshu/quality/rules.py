"""A resource's quality rules: seeded from its catalog fields, added and changed by stewards.

Rules of a resource are seeded from the catalog the first time the resource is checked (or on
``sync_rules``); stewards of the resource's department add, change and remove rules. Every
change is written to the audit ledger.
"""

from __future__ import annotations

import logging

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import FieldSpec, FieldType, ResourcePublic
from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import Conflict, NotFound, ValidationFailed
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.core.settings import Settings
from rongshu.ingest import access
from rongshu.lake.schema import FIELD_ARROW_TYPES
from rongshu.lake.tables import Lake
from rongshu.quality.models import QualityRule
from rongshu.quality.predicates import bind_predicate, check_predicate
from rongshu.quality.schemas import (
    DEFAULT_DIMENSIONS,
    CustomSqlParams,
    Dimension,
    IdFieldParams,
    ReferentialParams,
    RuleCreate,
    RuleKind,
    RuleOrigin,
    RulePublic,
    RuleUpdate,
    Severity,
    StandardParams,
    SyncReport,
)
from rongshu.quality.seeding import catalog_rules, fingerprint

#: The alias a custom SQL rule's table has, when it is checked and when it runs.
SOURCE_ALIAS = "_source"

log = logging.getLogger("rongshu.quality")


def rule_public(row: QualityRule) -> RulePublic:
    return RulePublic(
        id=row.id,
        resource_code=row.resource_code,
        field=row.field,
        kind=RuleKind(row.kind),
        params=row.params,
        severity=Severity(row.severity),
        dimension=Dimension(row.dimension),
        enabled=row.enabled,
        origin=RuleOrigin(row.origin),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def resource_of(session: Session, code: str) -> ResourcePublic:
    """The catalog resource ``code`` as the platform sees it (NotFound when unknown)."""
    return catalog.get_resource(session, code=code, actor=SYSTEM)


def list_rules(session: Session, *, resource_code: str) -> list[RulePublic]:
    """The rules of a resource, in the order they were added."""
    rows = session.scalars(
        select(QualityRule)
        .where(QualityRule.resource_code == resource_code)
        .order_by(QualityRule.id)
    )
    return [rule_public(row) for row in rows]


def seed_rules(session: Session, *, resource_code: str) -> None:
    """Seed a resource's rules from the catalog unless it has rules already.

    Two first runs of a resource at once may both find no rules: on PostgreSQL and MariaDB the
    second to write its seeds then finds the first's (the same fingerprints) and keeps them
    instead of failing. (SQLite refuses the later writer's transaction as a whole.)
    """
    if (
        session.scalar(
            select(QualityRule.id).where(QualityRule.resource_code == resource_code).limit(1)
        )
        is None
    ):
        if session.get_bind().dialect.name == "sqlite":  # no savepoints with its one writer
            sync_rules(session, resource_code=resource_code, actor=SYSTEM, ledger=None)
            return
        try:
            with session.begin_nested():
                sync_rules(session, resource_code=resource_code, actor=SYSTEM, ledger=None)
        except IntegrityError:
            log.info("the rules of %s were seeded by another run at the same time", resource_code)


def enabled_rules(session: Session, *, resource_code: str) -> list[QualityRule]:
    """The rules a run checks, seeded from the catalog if the resource has none yet."""
    seed_rules(session, resource_code=resource_code)
    return list(
        session.scalars(
            select(QualityRule)
            .where(QualityRule.resource_code == resource_code, QualityRule.enabled.is_(True))
            .order_by(QualityRule.id)
        )
    )


def sync_rules(
    session: Session, *, resource_code: str, actor: Actor, ledger: AuditLedger | None
) -> SyncReport:
    """Bring the catalog's rules of a resource in step with its fields' ``rules`` lists.

    Rules the catalog declares and the resource lacks are added; rules seeded earlier that the
    catalog no longer declares are removed; stewards' own rules are left alone.
    """
    resource = resource_of(session, resource_code)
    if ledger is not None:
        _require_steward(actor, ledger, resource.department_code, resource_code)
    fields = catalog.current_fields(session, resource_code)
    wanted, skipped = catalog_rules(resource_code, fields, resource.update_cycle)
    existing = {
        row.fingerprint: row
        for row in session.scalars(
            select(QualityRule).where(QualityRule.resource_code == resource_code)
        )
    }
    added, seen = [], set()
    for data in wanted:
        key = fingerprint(data.field, data.kind, data.params)
        if key in seen:
            continue
        seen.add(key)
        if key not in existing:
            added.append(_store(session, data, key, RuleOrigin.CATALOG, actor))
    removed = [
        row
        for key, row in existing.items()
        if row.origin == RuleOrigin.CATALOG.value and key not in seen
    ]
    report = SyncReport(
        resource_code=resource_code,
        added=[rule_public(row) for row in added],
        removed=[rule_public(row) for row in removed],
        kept=len(seen) - len(added),
        skipped=skipped,
    )
    for row in removed:
        session.delete(row)
    session.flush()
    if ledger is not None:
        audit_on_commit(
            session, ledger, actor.audit("quality.rules_sync", f"resource:{resource_code}")
        )
    return report


def add_rule(
    session: Session, *, data: RuleCreate, actor: Actor, ledger: AuditLedger, settings: Settings
) -> RulePublic:
    """Add a steward's rule to a resource of their department, checked against its fields."""
    resource = resource_of(session, data.resource_code)
    _require_steward(actor, ledger, resource.department_code, data.resource_code)
    fields = catalog.current_fields(session, data.resource_code)
    _check_rule(session, data, fields, settings)
    seed_rules(session, resource_code=data.resource_code)  # the catalog's rules come first
    key = fingerprint(data.field, data.kind, data.params)
    if session.scalar(
        select(QualityRule.id).where(
            QualityRule.resource_code == data.resource_code, QualityRule.fingerprint == key
        )
    ):
        raise Conflict(f"{data.resource_code} already has this {data.kind.value} rule")
    row = _store(session, data, key, RuleOrigin.STEWARD, actor)
    audit_on_commit(session, ledger, actor.audit("quality.rule_create", f"quality_rule:{row.id}"))
    return rule_public(row)


def update_rule(
    session: Session, *, rule_id: int, data: RuleUpdate, actor: Actor, ledger: AuditLedger
) -> RulePublic:
    """Change a rule's severity, dimension or whether it runs."""
    row = _rule(session, rule_id)
    department = resource_of(session, row.resource_code).department_code
    _require_steward(actor, ledger, department, row.resource_code)
    if data.severity is not None:
        row.severity = data.severity.value
    if data.dimension is not None:
        row.dimension = data.dimension.value
    if data.enabled is not None:
        row.enabled = data.enabled
    row.updated_at = utcnow()
    session.flush()
    audit_on_commit(session, ledger, actor.audit("quality.rule_update", f"quality_rule:{row.id}"))
    return rule_public(row)


def delete_rule(session: Session, *, rule_id: int, actor: Actor, ledger: AuditLedger) -> None:
    """Remove a rule (past runs keep what it found)."""
    row = _rule(session, rule_id)
    department = resource_of(session, row.resource_code).department_code
    _require_steward(actor, ledger, department, row.resource_code)
    session.delete(row)
    session.flush()
    audit_on_commit(session, ledger, actor.audit("quality.rule_delete", f"quality_rule:{rule_id}"))


def _rule(session: Session, rule_id: int) -> QualityRule:
    row = session.get(QualityRule, rule_id)
    if row is None:
        raise NotFound(f"no quality rule {rule_id}")
    return row


def _store(
    session: Session, data: RuleCreate, key: str, origin: RuleOrigin, actor: Actor
) -> QualityRule:
    dimension = data.dimension or DEFAULT_DIMENSIONS[data.kind]
    row = QualityRule(
        resource_code=data.resource_code,
        field=data.field,
        kind=data.kind.value,
        params=data.params,
        severity=data.severity.value,
        dimension=dimension.value,
        enabled=data.enabled,
        origin=origin.value,
        fingerprint=key,
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    return row


def _require_steward(actor: Actor, ledger: AuditLedger, department: str, code: str) -> None:
    access.require(
        access.stewards(actor, department),
        actor,
        ledger,
        action="quality.rule_change",
        object_=f"resource:{code}",
        message=f"only data stewards of {department} change its quality rules",
    )


def _check_rule(
    session: Session, data: RuleCreate, fields: list[FieldSpec], settings: Settings
) -> None:
    """Refuse a rule naming what the resource does not have (fields, standards, resources)."""
    columns = [f.english_name for f in fields]
    problems: list[dict[str, str]] = []
    if data.field is not None and data.field not in columns:
        problems.append(
            {"field": "field", "reason": f"{data.field} is not a field of the resource"}
        )
    if data.kind in (RuleKind.RIC_BIRTH_DATE, RuleKind.RIC_GENDER, RuleKind.RIC_REGION):
        id_field = IdFieldParams.model_validate(data.params).id_field
        if id_field not in columns:
            problems.append({"field": "params.id_field", "reason": f"{id_field} is not a field"})
    elif data.kind is RuleKind.STANDARD:
        from rongshu.standards import STANDARDS

        name = StandardParams.model_validate(data.params).standard
        if name not in STANDARDS:
            problems.append(
                {
                    "field": "params.standard",
                    "reason": f"no standard {name}; use one of {', '.join(STANDARDS)}",
                }
            )
    elif data.kind is RuleKind.REFERENTIAL:
        params = ReferentialParams.model_validate(data.params)
        try:
            other = [f.english_name for f in catalog.current_fields(session, params.resource)]
        except NotFound:
            other = None
        if other is None:
            problems.append(
                {"field": "params.resource", "reason": f"no resource {params.resource}"}
            )
        elif params.column not in other:
            problems.append(
                {
                    "field": "params.column",
                    "reason": f"{params.column} is not a field of {params.resource}",
                }
            )
    if problems:
        raise ValidationFailed("the rule does not fit the resource", details=problems)
    if data.kind is RuleKind.CUSTOM_SQL:
        _check_custom_sql(CustomSqlParams.model_validate(data.params).predicate, fields, settings)


def _check_custom_sql(predicate: str, fields: list[FieldSpec], settings: Settings) -> None:
    check_predicate(predicate, [f.english_name for f in fields])
    schema = pa.schema(
        [
            pa.field(f.english_name, FIELD_ARROW_TYPES[FieldType(f.data_type or FieldType.STRING)])
            for f in fields
        ]
    )
    with Lake.from_settings(settings).work_engine() as engine:
        bind_predicate(engine, predicate, schema, SOURCE_ALIAS)
