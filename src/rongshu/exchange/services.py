"""Services published per shareable resource (共享服务): query, verify, batch, subscription.

A catalog resource whose share type is unconditional or conditional gets one service of each
kind its declaration supports: query and verification need key fields (信息项 marked as keys);
batch exchange and subscription work on any table. Publishing again brings the services up to
date with the catalog (new fields, a share type changed to 不予共享 withdraws them).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import ResourcePublic, ShareType
from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import require
from rongshu.exchange.models import ExchangeService
from rongshu.exchange.schemas import SHARING_KINDS, ServiceKind, ServicePublic, ServiceStatus

_DESCRIPTIONS: dict[ServiceKind, str] = {
    ServiceKind.QUERY: "按{keys}查询，返回授权的信息项（按授权脱敏）。",
    ServiceKind.VERIFY: "给定{keys}及待核验的信息项，逐项回答一致 / 不一致，不返回任何数据。",
    ServiceKind.BATCH: "导出授权的信息项和行（CSV、Parquet 或 Excel），按接收方加水印。",
    ServiceKind.SUBSCRIPTION: "每个新版本的变化行，由消费方拉取或推送到其登记的地址。",
    ServiceKind.OPEN_DATA: "有条件开放数据集的数据接口（datastore_search）和下载，按用途使用。",
}
CALL_PATHS: dict[ServiceKind, str] = {
    ServiceKind.QUERY: "/api/v1/exchange/services/{code}/query",
    ServiceKind.VERIFY: "/api/v1/exchange/services/{code}/verify",
    ServiceKind.BATCH: "/api/v1/exchange/services/{code}/batch",
    ServiceKind.SUBSCRIPTION: "/api/v1/exchange/subscriptions",
    ServiceKind.OPEN_DATA: "/api/3/action/datastore_search",
}


def service_code(resource_code: str, kind: ServiceKind) -> str:
    return f"{resource_code}.{kind.value}"


def _columns(resource: ResourcePublic) -> tuple[list[str], list[str]]:
    columns = [f.english_name or f.name for f in resource.fields]
    keys = [f.english_name or f.name for f in resource.fields if f.is_key]
    return columns, keys


def publish_services(
    session: Session,
    *,
    code: str,
    actor: Actor,
    ledger: AuditLedger,
    lookup: Sequence[str] | None = None,
) -> list[ServicePublic]:
    """Publish (or refresh) the services of one catalog resource; stewards and the platform.

    Query and verification look rows up by ``lookup``: fields consumers hold (an ID number,
    a credit code), by default the catalog's key fields; a refresh keeps the lookup chosen
    before. Batch exchange and subscriptions go by the catalog's keys.
    """
    require(actor, Permission.STEWARD_DATA, ledger, object_=f"resource:{code}")
    resource = catalog.published_resource(session, code)
    if resource is None:
        raise NotFound(f"resource {code} has no published catalog entry")
    if actor.kind != "system" and actor.department != resource.department_code:
        ledger.append(actor.audit("exchange.service.publish", f"resource:{code}", outcome="denied"))
        raise PermissionDenied(f"resource {code} belongs to another department")
    columns, keys = _columns(resource)
    existing = {
        row.kind: row
        for row in session.scalars(
            select(ExchangeService).where(ExchangeService.resource_code == code)
        )
    }
    if lookup:
        unknown = [c for c in lookup if c not in columns]
        if unknown:
            raise ValidationFailed(
                f"resource {code} has no field {', '.join(unknown)} to look rows up by",
                details=[{"field": "lookup", "reason": "unknown", "columns": unknown}],
            )
        lookup_columns = list(dict.fromkeys(lookup))
    elif (previous := existing.get(ServiceKind.VERIFY.value)) is not None and all(
        c in columns for c in previous.key_columns
    ):
        lookup_columns = list(previous.key_columns)
    else:
        lookup_columns = keys
    kinds = [ServiceKind.BATCH, ServiceKind.SUBSCRIPTION]
    if lookup_columns:
        kinds = [ServiceKind.QUERY, ServiceKind.VERIFY, *kinds]
    shareable = resource.share_type is not ShareType.NONE
    if not shareable and not existing:
        raise ValidationFailed(
            f"resource {code} is 不予共享 (not shared): it has no services",
            details=[{"field": "share_type", "reason": "not_shared"}],
        )
    for kind in SHARING_KINDS:
        row = existing.get(kind.value)
        if shareable and kind in kinds:
            if row is None:
                row = ExchangeService(
                    code=service_code(code, kind),
                    resource_code=code,
                    kind=kind.value,
                    published_by=actor.name,
                )
                session.add(row)
            by = lookup_columns if kind in (ServiceKind.QUERY, ServiceKind.VERIFY) else keys
            labels = {f.english_name or f.name: f.name for f in resource.fields}
            row.title = f"{resource.name}{kind.label}"
            row.description = _DESCRIPTIONS[kind].format(
                keys="、".join(labels[c] for c in by) or "键"
            )
            row.key_columns, row.columns = by, columns
            row.status = ServiceStatus.PUBLISHED.value
        elif row is not None:
            row.status = ServiceStatus.WITHDRAWN.value
    session.flush()
    audit_on_commit(session, ledger, actor.audit("exchange.service.publish", f"resource:{code}"))
    return [
        service_public(row, resource)
        for row in session.scalars(
            select(ExchangeService)
            .where(ExchangeService.resource_code == code)
            .order_by(ExchangeService.id)
        )
    ]


def publish_open_data_service(
    session: Session,
    *,
    code: str,
    title: str,
    columns: Sequence[str],
    published_by: str,
    open: bool,
) -> ExchangeService:
    """The service the public applies for to use conditional open dataset ``code`` (created,
    refreshed, or withdrawn when ``open`` is false); the open-data portal publishes it, so
    applications, approvals, grants, quotas and audit are the exchange's own."""
    row = session.scalar(
        select(ExchangeService).where(
            ExchangeService.resource_code == code,
            ExchangeService.kind == ServiceKind.OPEN_DATA.value,
        )
    )
    if row is None:
        if not open:
            raise NotFound(f"resource {code} has no open-data service")
        row = ExchangeService(
            code=service_code(code, ServiceKind.OPEN_DATA),
            resource_code=code,
            kind=ServiceKind.OPEN_DATA.value,
            published_by=published_by,
        )
        session.add(row)
    row.title = title
    row.description = _DESCRIPTIONS[ServiceKind.OPEN_DATA]
    row.key_columns, row.columns = [], list(columns)
    row.status = (ServiceStatus.PUBLISHED if open else ServiceStatus.WITHDRAWN).value
    session.flush()
    return row


def service_public(row: ExchangeService, resource: ResourcePublic) -> ServicePublic:
    kind = ServiceKind(row.kind)
    return ServicePublic(
        id=row.id,
        code=row.code,
        resource_code=row.resource_code,
        resource_name=resource.name,
        department_code=resource.department_code,
        kind=kind,
        share_type=resource.share_type,
        title=row.title,
        description=row.description,
        key_columns=list(row.key_columns),
        columns=list(row.columns),
        status=ServiceStatus(row.status),
        published_at=row.published_at,
        openapi_path=CALL_PATHS[kind].format(code=row.code),
    )


def list_services(
    session: Session,
    *,
    resource: str | None = None,
    kind: ServiceKind | None = None,
    department: str | None = None,
    include_withdrawn: bool = False,
) -> list[ServicePublic]:
    """The service catalog consumers browse (sharing services unless ``kind`` says otherwise:
    the open-data portal lists its own)."""
    query = select(ExchangeService).order_by(ExchangeService.code)
    if resource:
        query = query.where(ExchangeService.resource_code == resource)
    if kind:
        query = query.where(ExchangeService.kind == kind.value)
    else:
        query = query.where(ExchangeService.kind.in_([k.value for k in SHARING_KINDS]))
    if not include_withdrawn:
        query = query.where(ExchangeService.status == ServiceStatus.PUBLISHED.value)
    resources = {r.code: r for r in catalog.published_resources(session)}
    found = []
    for row in session.scalars(query):
        owner = resources.get(row.resource_code)
        if owner is None or (department and owner.department_code != department):
            continue
        found.append(service_public(row, owner))
    return found


def get_service_row(session: Session, code: str) -> ExchangeService:
    row = session.scalar(select(ExchangeService).where(ExchangeService.code == code))
    if row is None:
        raise NotFound(f"no service {code}")
    return row


def get_service(session: Session, code: str) -> ServicePublic:
    row = get_service_row(session, code)
    resource = catalog.published_resource(session, row.resource_code)
    if resource is None:
        raise NotFound(f"no service {code}")
    return service_public(row, resource)
