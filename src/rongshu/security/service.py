"""Data security's domain logic: PII scans, stewards' decisions, the masking matrix, masked reads.

Who may do what (三员分立):
- stewards scan their department's resources and accept or override each field's suggested
  entity type and grade; the catalog records the change under their name (a catalog update, so
  it goes through the catalog's review like any other change);
- the security admin edits the masking policy matrix;
- every read for sharing or opening goes through ``masked_batches``, which applies the grant's
  masking profile inside the lake engine's SQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import FieldSpec, Grade, ResourcePublic, ResourceSpec
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import require
from rongshu.core.keys import KeyProvider, KeyPurpose
from rongshu.core.platform import Platform
from rongshu.lake.engine import LakeEngine
from rongshu.lake.tables import Lake
from rongshu.security import detection, grading
from rongshu.security.entities import EntityType
from rongshu.security.masking import (
    ENCRYPT_FUNCTION,
    ENCRYPTED_PREFIX,
    PSEUDONYM_FULL_FUNCTION,
    PSEUDONYM_FUNCTION,
    PSEUDONYM_LENGTH,
    Mask,
    MaskOperator,
    mask_sql,
)
from rongshu.security.models import FieldClassification, MaskingRule, SecurityScan
from rongshu.security.policy import DEFAULT_MATRIX, mask_for
from rongshu.security.schemas import (
    ClassificationStatus,
    Decision,
    FieldClassificationPublic,
    MaskingProfile,
    MaskingRulePublic,
    ScanPublic,
)

_READ_ALIAS = "masked_source"


def key_provider(platform: Platform) -> KeyProvider:
    """The installation's data keys."""
    return platform.data_keys


# -- scans ---------------------------------------------------------------------------------------


def _labels(fields: Sequence[FieldSpec]) -> dict[str, str]:
    return {(f.english_name or f.name): f.name for f in fields}


def _stewarded_resource(
    session: Session, platform: Platform, actor: Actor, code: str
) -> ResourcePublic:
    """The resource, if ``actor`` stewards its department's data (else 403, audited)."""
    require(actor, Permission.STEWARD_DATA, platform.ledger, object_=f"resource:{code}")
    resource = catalog.get_resource(session, code=code, actor=actor)
    if actor.kind != "system" and actor.department != resource.department_code:
        platform.ledger.append(
            actor.audit("security.steward", f"resource:{code}", outcome="denied")
        )
        raise PermissionDenied(f"resource {code} belongs to another department")
    return resource


def scan_resource(
    platform: Platform,
    code: str,
    *,
    actor: Actor,
    full: bool = False,
    sample_rows: int = detection.SAMPLE_ROWS,
) -> ScanPublic:
    """Scan the latest lake version of ``code`` and store a suggestion per field."""
    with platform.db.session_scope() as session:
        _stewarded_resource(session, platform, actor, code)
        labels = _labels(catalog.current_fields(session, code))
    lake = Lake.from_settings(platform.settings)
    table = lake.table(code)
    version = table.version()
    if version is None:
        raise NotFound(f"resource {code} has no data in the lake yet: load it first")
    started = time.perf_counter()
    with lake.work_engine() as engine:
        rows, findings = detection.scan_table(
            table, engine, version, labels, sample_rows=None if full else sample_rows
        )
    seconds = time.perf_counter() - started
    rows_in_version = table.count(version)
    entities = [f.entity for f in findings]
    grades = {f.column: grading.field_grade(f.entity, entities) for f in findings}
    sensitive = any(g.is_sensitive for g in grades.values())
    with platform.db.session_scope() as session:
        scan = SecurityScan(
            resource_code=code,
            version=version,
            rows_scanned=rows,
            rows_in_version=rows_in_version,
            full=full,
            suggested_grade=grading.resource_grade(
                [g.grade for g in grades.values()],
                sensitive_rows=rows_in_version if sensitive else 0,
            ).value,
            seconds=seconds,
            scanned_by=actor.name,
        )
        session.add(scan)
        session.flush()
        existing = {
            row.column_name: row
            for row in session.scalars(
                select(FieldClassification).where(FieldClassification.resource_code == code)
            )
        }
        for finding in findings:
            suggestion = grades[finding.column]
            row = existing.get(finding.column)
            if row is None:
                row = FieldClassification(
                    resource_code=code,
                    column_name=finding.column,
                    status=ClassificationStatus.SUGGESTED.value,
                    decision_reason="",
                )
                session.add(row)
            row.field_label = labels.get(finding.column, "")
            row.scan_id = scan.id
            row.entity = finding.entity.value if finding.entity else None
            row.confidence, row.support = finding.confidence, finding.support
            row.evidence = list(finding.evidence)
            row.suggested_grade = suggestion.grade.value
            row.suggested_personal = suggestion.is_personal
            row.suggested_sensitive = suggestion.is_sensitive
            row.basis = suggestion.basis
            if row.decided_by is not None:
                agrees = row.decided_entity == row.entity
                row.status = row.status if agrees else ClassificationStatus.CHANGED.value
        audit_on_commit(
            session,
            platform.ledger,
            actor.audit("security.scan", f"resource:{code}", row_count=rows),
        )
        session.flush()
        return _scan_public(session, scan)


def _scan_public(session: Session, scan: SecurityScan) -> ScanPublic:
    return ScanPublic(
        id=scan.id,
        resource_code=scan.resource_code,
        version=scan.version,
        rows_scanned=scan.rows_scanned,
        rows_in_version=scan.rows_in_version,
        full=scan.full,
        suggested_grade=Grade(scan.suggested_grade),
        seconds=scan.seconds,
        scanned_by=scan.scanned_by,
        scanned_at=scan.scanned_at,
        fields=classifications(session, scan.resource_code),
    )


def latest_scan(session: Session, code: str) -> ScanPublic | None:
    """The latest scan of ``code`` with the current classifications, if it was ever scanned."""
    scan = session.scalar(
        select(SecurityScan)
        .where(SecurityScan.resource_code == code)
        .order_by(SecurityScan.id.desc())
        .limit(1)
    )
    return _scan_public(session, scan) if scan else None


def classifications(session: Session, code: str) -> list[FieldClassificationPublic]:
    """Each scanned field of ``code``: the suggestion and the decision."""
    rows = session.scalars(
        select(FieldClassification)
        .where(FieldClassification.resource_code == code)
        .order_by(FieldClassification.id)
    )
    return [_classification_public(row) for row in rows]


def _classification_public(row: FieldClassification) -> FieldClassificationPublic:
    return FieldClassificationPublic(
        resource_code=row.resource_code,
        column=row.column_name,
        field_label=row.field_label,
        entity=EntityType(row.entity) if row.entity else None,
        confidence=row.confidence,
        support=row.support,
        evidence=list(row.evidence),
        suggested_grade=Grade(row.suggested_grade),
        suggested_personal=row.suggested_personal,
        suggested_sensitive=row.suggested_sensitive,
        basis=row.basis,
        status=ClassificationStatus(row.status),
        decided_entity=EntityType(row.decided_entity) if row.decided_entity else None,
        decided_grade=Grade(row.decided_grade) if row.decided_grade else None,
        decided_personal=row.decided_personal,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        scan_id=row.scan_id,
    )


def decide(
    platform: Platform, code: str, column: str, decision: Decision, *, actor: Actor
) -> FieldClassificationPublic:
    """A steward accepts or overrides one field's suggestion; the catalog field's grade and
    personal flag follow, recorded in the catalog's history under the steward's name."""
    with platform.db.session_scope() as session:
        resource = _stewarded_resource(session, platform, actor, code)
        row = session.scalar(
            select(FieldClassification).where(
                FieldClassification.resource_code == code,
                FieldClassification.column_name == column,
            )
        )
        if row is None:
            raise NotFound(f"field {column} of {code} has not been scanned")
        if decision.accept:
            entity = row.entity
            grade, personal = row.suggested_grade, row.suggested_personal
            status = ClassificationStatus.ACCEPTED
        else:
            if not decision.reason.strip():
                raise ValidationFailed(
                    "overriding a suggestion needs a reason",
                    details=[{"field": "reason", "reason": "required"}],
                )
            entity = decision.entity.value if decision.entity else None
            grade = (decision.grade or Grade(row.suggested_grade)).value
            personal = (
                decision.is_personal if decision.is_personal is not None else row.suggested_personal
            )
            status = ClassificationStatus.OVERRIDDEN
        row.decided_entity, row.decided_grade, row.decided_personal = entity, grade, personal
        row.decided_by, row.decided_at = actor.name, utcnow()
        row.decision_reason, row.status = decision.reason.strip(), status.value
        _record_in_catalog(session, platform, actor, resource_spec(resource), row)
        audit_on_commit(
            session,
            platform.ledger,
            actor.audit(
                f"security.classification.{status.value}",
                f"resource:{code}/{column}",
                purpose=decision.reason,
            ),
        )
        session.flush()
        return _classification_public(row)


def resource_spec(resource: ResourcePublic) -> ResourceSpec:
    """The declaration part of a catalog resource (what ``update_resource`` takes)."""
    data = resource.model_dump()
    data["fields"] = [FieldSpec.model_validate(f) for f in data["fields"]]
    return ResourceSpec.model_validate({k: data[k] for k in ResourceSpec.model_fields})


def _record_in_catalog(
    session: Session,
    platform: Platform,
    actor: Actor,
    spec: ResourceSpec,
    row: FieldClassification,
) -> None:
    fields = []
    changed = False
    for item in spec.fields:
        if (item.english_name or item.name) == row.column_name:
            grade, personal = Grade(row.decided_grade or item.grade), bool(row.decided_personal)
            if (grade, personal) != (item.grade, item.is_personal):
                item = item.model_copy(update={"grade": grade, "is_personal": personal})
                changed = True
        fields.append(item)
    if not changed:
        return
    ctx = catalog.CatalogContext(
        actor=actor, ledger=platform.ledger, bureau=platform.settings.bureau_department
    )
    catalog.update_resource(
        session,
        code=spec.code,
        spec=spec.model_copy(update={"fields": fields}),
        reason=f"安全分级确认 {row.column_name}: {row.decision_reason or '采纳扫描建议'}",
        ctx=ctx,
    )


# -- the masking matrix --------------------------------------------------------------------------


def seed_masking_rules(session: Session) -> int:
    """Write ``DEFAULT_MATRIX`` into an empty matrix; returns the rules added."""
    if session.scalar(select(MaskingRule.id).limit(1)) is not None:
        return 0
    for (profile, target), mask in DEFAULT_MATRIX.items():
        session.add(
            MaskingRule(
                profile=profile.value,
                target=target,
                operator=mask.operator.value,
                params=dict(mask.params),
                updated_by="system",
            )
        )
    session.flush()
    return len(DEFAULT_MATRIX)


def masking_matrix(session: Session) -> dict[tuple[MaskingProfile, str], Mask]:
    """The matrix in force (the defaults until the security admin has changed it)."""
    seed_masking_rules(session)
    return {
        (MaskingProfile(row.profile), row.target): Mask(MaskOperator(row.operator), row.params)
        for row in session.scalars(select(MaskingRule))
    }


def list_masking_rules(session: Session) -> list[MaskingRulePublic]:
    seed_masking_rules(session)
    rows = session.scalars(select(MaskingRule).order_by(MaskingRule.profile, MaskingRule.target))
    return [_rule_public(row) for row in rows]


def _rule_public(row: MaskingRule) -> MaskingRulePublic:
    return MaskingRulePublic(
        profile=MaskingProfile(row.profile),
        target=row.target,
        operator=MaskOperator(row.operator),
        params=dict(row.params),
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def _check_target(target: str) -> None:
    entities = {e.value for e in EntityType}
    grades = {f"grade:{g.value}" for g in Grade}
    if target not in entities | grades:
        raise ValidationFailed(
            f"{target!r} is neither an entity type nor grade:<grade>",
            details=[{"field": "target", "reason": "unknown", "value": target}],
        )


def set_masking_rule(
    platform: Platform,
    session: Session,
    profile: MaskingProfile,
    target: str,
    mask: Mask,
    *,
    actor: Actor,
) -> MaskingRulePublic:
    """The security admin sets one cell of the matrix (``clear`` profile excepted: it is what
    a grant allowing clear values reads)."""
    require(actor, Permission.MANAGE_MASKING_POLICY, platform.ledger, object_="masking_policy")
    _check_target(target)
    if profile is MaskingProfile.CLEAR:
        raise ValidationFailed(
            "the clear profile shows every field as stored and has no rules",
            details=[{"field": "profile", "reason": "fixed"}],
        )
    seed_masking_rules(session)
    row = session.scalar(
        select(MaskingRule).where(
            MaskingRule.profile == profile.value, MaskingRule.target == target
        )
    )
    if row is None:
        row = MaskingRule(profile=profile.value, target=target)
        session.add(row)
    row.operator, row.params = mask.operator.value, dict(mask.params)
    row.updated_by, row.updated_at = actor.name, utcnow()
    audit_on_commit(
        session,
        platform.ledger,
        actor.audit(
            "security.masking_rule.set",
            f"masking:{profile.value}/{target}",
            purpose=f"{mask.operator.value} {dict(mask.params)}",
        ),
    )
    session.flush()
    return _rule_public(row)


# -- masked reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMask:
    """How one column is read under a profile."""

    column: str
    mask: Mask
    entity: EntityType | None
    grade: Grade


def column_masks(
    session: Session, code: str, profile: MaskingProfile, columns: Sequence[str]
) -> list[ColumnMask]:
    """The mask of each of ``columns`` of resource ``code`` under ``profile``."""
    matrix = masking_matrix(session)
    fields = {(f.english_name or f.name): f for f in catalog.current_fields(session, code)}
    known = {c.column: c for c in classifications(session, code)}
    if not known and profile is not MaskingProfile.CLEAR:
        # Masking keys on what a scan found: an unscanned resource could leak in clear.
        raise Conflict(
            f"resource {code} has not been scanned for personal information; its stewards scan "
            f"it first (rongshu security scan {code})"
        )
    found = []
    for column in columns:
        decided = known.get(column)
        entity = decided.effective_entity if decided else None
        catalog_grade = fields[column].grade if column in fields else Grade.GENERAL_1
        grade = max(
            (catalog_grade, decided.effective_grade if decided else Grade.GENERAL_1),
            key=lambda g: g.rank,
        )
        found.append(ColumnMask(column, mask_for(matrix, profile, entity, grade), entity, grade))
    return found


#: Operators under which two different keys may look alike (or one key differently each read).
_BLURRING = frozenset(
    {
        MaskOperator.PARTIAL,
        MaskOperator.REDACT,
        MaskOperator.NULL,
        MaskOperator.GENERALISE,
        MaskOperator.ENCRYPT,
    }
)


def distinct_keys(masks: Sequence[ColumnMask], key_columns: Sequence[str]) -> list[ColumnMask]:
    """``masks`` with each key column a keyed pseudonym where the profile would blur it
    (partial, redaction, null, generalisation) or randomise it (encryption).

    Data that leaves by file or feed needs its rows told apart: a watermark is keyed on them and
    a consumer applies changes by them. A pseudonym shows nothing of the key, stays the same in
    every export (so the consumer can still join), and differs between keys.
    """
    keys = set(key_columns)
    return [
        ColumnMask(m.column, Mask(MaskOperator.PSEUDONYM), m.entity, m.grade)
        if m.column in keys and m.mask.operator in _BLURRING
        else m
        for m in masks
    ]


def register_mask_functions(engine: LakeEngine, keys: KeyProvider) -> None:
    """Give ``engine`` the keyed masking functions, bound to the current keys."""
    from rongshu.core.crypto_arrays import (
        HmacSm3Pseudonymiser,
        hex_strings,
        sm4_gcm_encrypt_array,
    )

    _, pseudonym_key = keys.current(KeyPurpose.PSEUDONYM)
    version, encrypt_key = keys.current(KeyPurpose.MASKING)
    engine.register_function(
        PSEUDONYM_FUNCTION, HmacSm3Pseudonymiser(pseudonym_key, length=PSEUDONYM_LENGTH)
    )
    engine.register_function(PSEUDONYM_FULL_FUNCTION, HmacSm3Pseudonymiser(pseudonym_key))
    prefix = f"{ENCRYPTED_PREFIX}:v{version}:"

    def encrypt(values: pa.Array) -> pa.Array:
        return hex_strings(sm4_gcm_encrypt_array(encrypt_key, values), prefix)

    engine.register_function(ENCRYPT_FUNCTION, encrypt, volatile=True)


def masked_select(
    engine: LakeEngine, alias: str, masks: Sequence[ColumnMask], schema: pa.Schema | None = None
) -> str:
    """``SELECT`` of the masked columns from ``alias`` (identifiers quoted, no values in SQL);
    ``schema`` gives the columns' types, so dates are cut without going through text."""
    quote, dialect = engine.dialect.quote, engine.dialect
    types = {f.name: f.type for f in schema} if schema is not None else {}
    parts = [
        mask_sql(quote(m.column), m.mask, dialect, entity=m.entity, column_type=types.get(m.column))
        + f" AS {quote(m.column)}"
        for m in masks
    ]
    return f"SELECT {', '.join(parts)} FROM {quote(alias)}"  # noqa: S608


def masked_batches(
    platform: Platform,
    code: str,
    profile: MaskingProfile,
    *,
    columns: Sequence[str] | None = None,
    version: int | None = None,
    batch_size: int = 65536,
) -> Iterator[pa.RecordBatch]:
    """Read ``code`` as ``profile`` shows it: the masking runs inside the lake engine's SQL."""
    table = Lake.from_settings(platform.settings).table(code)
    chosen = list(columns) if columns is not None else table.schema(version).names
    with platform.db.session_scope() as session:
        masks = column_masks(session, code, profile, chosen)
    yield from read_masked(platform, code, masks, version=version, batch_size=batch_size)


def read_masked(
    platform: Platform,
    code: str,
    masks: Sequence[ColumnMask],
    *,
    version: int | None = None,
    batch_size: int = 65536,
) -> Iterator[pa.RecordBatch]:
    """Read the columns of ``masks`` from ``code``, each as its mask shows it."""
    lake = Lake.from_settings(platform.settings)
    table = lake.table(code)
    with lake.work_engine() as engine:
        engine.register(_READ_ALIAS, table, version)
        register_mask_functions(engine, key_provider(platform))
        select = masked_select(engine, _READ_ALIAS, masks, table.schema(version))
        yield from engine.query_batches(select, (), batch_size)


def masked_preview(platform: Platform, code: str, profile: MaskingProfile, rows: int) -> pa.Table:
    """The first ``rows`` rows of ``code`` under ``profile`` (for the policy editor)."""
    for batch in masked_batches(platform, code, profile, batch_size=rows):
        return pa.Table.from_batches([batch])
    lake = Lake.from_settings(platform.settings)
    return lake.table(code).schema().empty_table()
