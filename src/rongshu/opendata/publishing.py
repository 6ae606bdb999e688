"""Opening a catalog resource as a dataset, and the rule that keeps personal information out.

A steward opens a resource whose open type allows it (无条件开放 or 有条件开放) with a
``DatasetSpec``: title, tags, theme, licence, coverage, the fields to open, the quasi-identifiers
and k. The fields may not hold personal information: a field the catalog marks personal, or
one the security scan names as a person's identifier (ID number, name, passport, bank card,
birth date, e-mail, plate), is refused with the reason, unless a steward's decision in the scan
says otherwise (the catalog, as the steward keeps it, allows it). The same rule is checked again
for every release, against the release's own scan of the data (``releases``).

A conditional dataset also gets its exchange service (``ServiceKind.OPEN_DATA``): the public
apply for it through the exchange's applications and approvals, not a copy of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import FieldSpec, OpenType, ResourcePublic
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import require
from rongshu.core.platform import Platform
from rongshu.exchange import services as exchange_services
from rongshu.exchange.schemas import ServiceKind
from rongshu.opendata.models import OpenDataset
from rongshu.opendata.schemas import DatasetSpec, DatasetState
from rongshu.security import service as security
from rongshu.security.entities import EntityType

#: Entity types that identify a person wherever they appear (a phone, address or position may
#: be a firm's or a station's: those are personal when the catalog says so).
PERSON_ENTITIES: frozenset[EntityType] = frozenset(
    {
        EntityType.RESIDENT_ID,
        EntityType.PERSON_NAME,
        EntityType.PASSPORT,
        EntityType.BANK_CARD,
        EntityType.BIRTH_DATE,
        EntityType.EMAIL,
        EntityType.VEHICLE_PLATE,
    }
)


def column_of(spec: FieldSpec) -> str:
    """The lake column of a catalog field."""
    return spec.english_name or spec.name


def dataset_name(resource_code: str) -> str:
    """The CKAN name of a resource's dataset: its code in lower case (``350100-sthj-0001``)."""
    return resource_code.lower()


def personal_columns(
    session: Session,
    resource_code: str,
    columns: Iterable[str],
    *,
    found: Mapping[str, EntityType] | None = None,
) -> dict[str, str]:
    """The ``columns`` that hold personal information, each with the reason.

    A column is personal when the catalog marks its field personal, when the security scan's
    classification in force (the steward's decision, or the scan's finding until one is made)
    is a person entity, or when ``found`` (a fresh scan of the data about to be released) names
    a person entity the steward has not decided against.
    """
    fields = {column_of(f): f for f in catalog.current_fields(session, resource_code)}
    decided = {c.column: c for c in security.classifications(session, resource_code)}
    reasons: dict[str, str] = {}
    for column in columns:
        field = fields.get(column)
        classification = decided.get(column)
        if field is not None and field.is_personal:
            reasons[column] = f"the catalog marks {field.name} ({column}) as personal information"
            continue
        if classification is not None:
            entity = classification.effective_entity
            if entity in PERSON_ENTITIES:
                reasons[column] = f"the security scan classifies {column} as {entity.label}"
                continue
            if classification.decided_by is not None:
                continue  # a steward decided what the column holds: that stands
        fresh = (found or {}).get(column)
        if fresh in PERSON_ENTITIES:
            reasons[column] = f"the data of {column} holds {fresh.label} (found on release)"
    return reasons


def _refuse_personal(reasons: Mapping[str, str], resource_code: str) -> None:
    if reasons:
        raise ValidationFailed(
            f"resource {resource_code} cannot open personal information: "
            + "; ".join(reasons.values()),
            details=[
                {"field": "columns", "reason": "personal", "column": c, "why": why}
                for c, why in reasons.items()
            ],
        )


def _chosen_columns(
    session: Session, resource: ResourcePublic, spec: DatasetSpec
) -> tuple[list[str], list[str]]:
    """The columns to open (as asked, or every non-personal field) and the quasi-identifiers."""
    known = [column_of(f) for f in resource.fields]
    if spec.columns:
        unknown = [c for c in spec.columns if c not in known]
        if unknown:
            raise ValidationFailed(
                f"resource {resource.code} has no field {', '.join(unknown)}",
                details=[{"field": "columns", "reason": "unknown", "columns": unknown}],
            )
        columns = list(spec.columns)
        _refuse_personal(personal_columns(session, resource.code, columns), resource.code)
    else:
        personal = personal_columns(session, resource.code, known)
        columns = [c for c in known if c not in personal]
    if not columns:
        raise ValidationFailed(
            f"resource {resource.code} has no field that may be opened",
            details=[{"field": "columns", "reason": "empty"}],
        )
    outside = [c for c in spec.quasi_identifiers if c not in columns]
    if outside:
        raise ValidationFailed(
            "quasi-identifiers must be among the opened fields: " + ", ".join(outside),
            details=[{"field": "quasi_identifiers", "reason": "not_opened", "columns": outside}],
        )
    return columns, list(spec.quasi_identifiers)


def open_dataset(
    platform: Platform,
    session: Session,
    *,
    code: str,
    spec: DatasetSpec,
    actor: Actor,
) -> OpenDataset:
    """Open (or update) resource ``code`` as a dataset; its stewards or the platform."""
    ledger = platform.ledger
    require(actor, Permission.STEWARD_DATA, ledger, object_=f"resource:{code}")
    resource = catalog.published_resource(session, code)
    if resource is None:
        raise NotFound(f"resource {code} has no published catalog entry")
    if actor.kind != "system" and actor.department != resource.department_code:
        ledger.append(actor.audit("opendata.dataset.open", f"resource:{code}", outcome="denied"))
        raise PermissionDenied(f"resource {code} belongs to another department")
    if resource.open_type is OpenType.NONE:
        raise ValidationFailed(
            f"resource {code} is 不予开放 (not opened)"
            + (f": {resource.legal_basis}" if resource.legal_basis else ""),
            details=[{"field": "open_type", "reason": "not_opened"}],
        )
    columns, quasi = _chosen_columns(session, resource, spec)
    row = session.scalar(select(OpenDataset).where(OpenDataset.resource_code == code))
    now = utcnow()
    if row is None:
        row = OpenDataset(
            name=dataset_name(code),
            resource_code=code,
            published_by=actor.name,
            created_at=now,
            views=0,
            downloads=0,
            calls=0,
        )
        session.add(row)
    row.owner_department = resource.department_code
    row.access = resource.open_type.value
    row.state = DatasetState.ACTIVE.value
    row.title = spec.title or resource.name
    row.notes = spec.notes or resource.summary
    row.tags = list(spec.tags)
    row.theme = spec.theme.value
    row.licence = spec.licence.value
    row.temporal_start, row.temporal_end = spec.temporal_start, spec.temporal_end
    row.spatial = spec.spatial
    row.columns, row.quasi_identifiers = columns, quasi
    row.k_anonymity = spec.k_anonymity
    row.masking_profile = spec.masking_profile.value
    row.featured = spec.featured
    row.updated_at = now
    conditional = resource.open_type is OpenType.CONDITIONAL
    if conditional or _has_service(session, code):
        exchange_services.publish_open_data_service(
            session,
            code=code,
            title=f"{row.title}（有条件开放）",
            columns=columns,
            published_by=actor.name,
            open=conditional,
        )
    session.flush()
    audit_on_commit(
        session,
        ledger,
        actor.audit("opendata.dataset.open", f"dataset:{row.name}", purpose=row.title),
    )
    return row


def _has_service(session: Session, code: str) -> bool:
    try:
        exchange_services.get_service_row(
            session, exchange_services.service_code(code, ServiceKind.OPEN_DATA)
        )
    except NotFound:
        return False
    return True


def withdraw_dataset(
    platform: Platform, session: Session, *, name: str, reason: str, actor: Actor
) -> OpenDataset:
    """Take a dataset off the portal (its files stay for the record); its stewards."""
    ledger = platform.ledger
    require(actor, Permission.STEWARD_DATA, ledger, object_=f"dataset:{name}")
    row = dataset_row(session, name)
    if actor.kind != "system" and actor.department != row.owner_department:
        raise PermissionDenied(f"dataset {name} belongs to another department")
    if not reason.strip():
        raise ValidationFailed(
            "say why the dataset is withdrawn", details=[{"field": "reason", "reason": "required"}]
        )
    row.state = DatasetState.WITHDRAWN.value
    row.updated_at = utcnow()
    if _has_service(session, row.resource_code):
        exchange_services.publish_open_data_service(
            session,
            code=row.resource_code,
            title=row.title,
            columns=row.columns,
            published_by=actor.name,
            open=False,
        )
    audit_on_commit(
        session, ledger, actor.audit("opendata.dataset.withdraw", f"dataset:{name}", purpose=reason)
    )
    session.flush()
    return row


def dataset_row(session: Session, name: str, *, active_only: bool = False) -> OpenDataset:
    """The dataset called ``name`` (or its resource code); ``NotFound`` if there is none."""
    row = session.scalar(
        select(OpenDataset).where((OpenDataset.name == name) | (OpenDataset.resource_code == name))
    )
    if row is None or (active_only and row.state != DatasetState.ACTIVE.value):
        raise NotFound(f"no open dataset {name}")
    return row


def open_resources(session: Session) -> Sequence[ResourcePublic]:
    """Published catalog resources whose open type allows opening (the candidates)."""
    return [
        r
        for r in catalog.published_resources(session, open_only=True)
        if r.open_type is not OpenType.NONE
    ]
