"""JSON API of data sharing and exchange (共享交换).

Two kinds of caller:
- **apps** call the services (query, verification, batch) with their API key or a signed
  request; ``Gateway`` checks the key and the grant, applies quotas, and audits every call;
- **people** (console session) and apps manage sharing: the service catalog, applications and
  their approval, grants and their revocation, usage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ValidationError

from rongshu.catalog import service as catalog
from rongshu.exchange import (
    applications,
    batch,
    grants,
    openapi,
    services,
    serving,
    subscriptions,
    usage,
)
from rongshu.exchange.gateway import Call, Gateway
from rongshu.exchange.schemas import (
    ApplicationCreate,
    ApplicationList,
    ApplicationPublic,
    ApplicationReply,
    ApplicationState,
    ApprovalDecision,
    DeliveryList,
    DeliveryPage,
    GrantList,
    GrantPublic,
    PublishRequest,
    QueryRequest,
    QueryResponse,
    RevokeRequest,
    ServiceKind,
    ServiceList,
    ServicePublic,
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionPublic,
    UsageReport,
    VerifyRequest,
    VerifyResponse,
)
from rongshu.security.exports import ExportFormat
from rongshu.web.deps import ActorDep, PlatformDep, SessionDep, call_request

router = APIRouter(prefix="/exchange", tags=["exchange"])
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
#: Row ids in paths: positive and within every database's integer range.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]

_AUTH = (
    "Authenticate with the app's API key (`X-API-Key: rsk_...`) or sign the request: "
    "`X-App-Key` (key id), `X-Timestamp` (Unix seconds), `X-Nonce`, `X-Signature` "
    "(hex HMAC-SM3 with the key's secret over method, path, sorted query, timestamp, nonce "
    "and SM3 of the body, joined by newlines). Every call is audited."
)
_CALL_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No, unknown, revoked or wrongly signed credentials"},
    403: {"description": "The app holds no grant in force for this service"},
    404: {"description": "No such service, or no data yet"},
    422: {"description": "Bad key, claims or filter"},
    429: {"description": "The grant's daily quota or rate limit is reached"},
}


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _begin(request: Request, code: str, kind: ServiceKind, body: bytes) -> Call:
    return _gateway(request).authorise(code, kind, call_request(request, body))


async def _answer(gateway: Gateway, answer: Callable[..., T], call: Call, *args: Any) -> T:
    """Answer from the serving index in the event loop when it is open and current (tens of
    microseconds); in a worker thread when it must be checked or built first."""
    if serving.serving_store(gateway.platform).fresh(call.grant.resource_code):
        return answer(gateway.platform, call.grant, *args)
    return await run_in_threadpool(answer, gateway.platform, call.grant, *args)


def _json(payload: dict[str, Any]) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        media_type="application/json",
    )


def _body_of(model: type[M]) -> dict[str, Any]:
    """The OpenAPI request body of a call whose JSON the route parses itself."""
    schema = model.model_json_schema()  # flat models: no references to resolve
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def _payload(request: Request, model: type[M]) -> tuple[M, bytes]:
    """The call's body, checked against ``model``; a 422 in the standard shape if it is not.

    The busiest routes parse their body here rather than through FastAPI's dependency
    machinery, which costs more than the rest of a verification.
    """
    body = await request.body()
    try:
        return model.model_validate_json(body), body
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


@router.post(
    "/services/{code}/verify",
    response_model=VerifyResponse,
    responses=_CALL_ERRORS,
    summary="Verify claimed values against a record (核验): match / no match, never data",
    description=_AUTH,
    openapi_extra=_body_of(VerifyRequest),
)
async def verify(code: str, request: Request) -> Response:
    payload, body = await _payload(request, VerifyRequest)
    call = _begin(request, code, ServiceKind.VERIFY, body)
    call.purpose = payload.purpose
    gateway = _gateway(request)
    try:
        version, found, verdicts = await _answer(
            gateway, serving.verify, call, payload.key, payload.claims
        )
    except Exception as exc:
        gateway.failed(call, exc)
        raise
    await gateway.finish(call, rows=int(found)).wait()
    matched = found and all(v == "match" for v in verdicts.values())
    return _json(
        {
            "request_id": call.request_id,
            "service": code,
            "version": version,
            "found": found,
            "match": matched,
            "fields": {k: str(v) for k, v in verdicts.items()},
        }
    )


@router.post(
    "/services/{code}/query",
    response_model=QueryResponse,
    responses=_CALL_ERRORS,
    summary="Look records up by key: the granted fields, masked per the grant",
    description=_AUTH,
    openapi_extra=_body_of(QueryRequest),
)
async def query(code: str, request: Request) -> Response:
    payload, body = await _payload(request, QueryRequest)
    call = _begin(request, code, ServiceKind.QUERY, body)
    call.purpose = payload.purpose
    gateway = _gateway(request)
    try:
        version, rows = await _answer(gateway, serving.query, call, payload.key)
    except Exception as exc:
        gateway.failed(call, exc)
        raise
    await gateway.finish(call, rows=len(rows)).wait()
    return _json(
        {
            "request_id": call.request_id,
            "service": code,
            "version": version,
            "columns": list(call.grant.columns),
            "rows": rows,
            "count": len(rows),
        }
    )


_MEDIA = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.PARQUET: "application/vnd.apache.parquet",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get(
    "/services/{code}/batch",
    responses={**_CALL_ERRORS, 200: {"description": "The file, streamed"}},
    summary="Batch export of the granted fields and rows, watermarked for the app",
    description=_AUTH,
    response_class=StreamingResponse,
)
async def batch_export(
    code: str,
    request: Request,
    format: Annotated[ExportFormat, Query(description="csv, parquet or xlsx")] = ExportFormat.CSV,
    purpose: Annotated[str, Query(max_length=200)] = "",
) -> StreamingResponse:
    call = _begin(request, code, ServiceKind.BATCH, b"")
    call.purpose = purpose
    gateway = _gateway(request)
    try:
        export, chunks = await run_in_threadpool(
            batch.batch_export,
            gateway.platform,
            call.grant,
            file_format=format,
            purpose=purpose,
        )
    except Exception as exc:
        gateway.failed(call, exc)
        raise

    def stream() -> Iterator[bytes]:
        try:
            yield from chunks
        except Exception as exc:
            gateway.failed(call, exc)
            raise
        gateway.finish(call, rows=export.rows)

    filename = f"{code}-{date.today():%Y%m%d}-export{export.id}.{format.value}"
    return StreamingResponse(
        stream(),
        media_type=_MEDIA[format],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Request-ID": call.request_id,
            "X-Rongshu-Watermark": ",".join(export.marked_columns) or "none",
        },
    )


# -- the service catalog ---------------------------------------------------------------------


@router.get("/services", response_model=ServiceList, summary="The service catalog")
def list_services(
    session: SessionDep,
    actor: ActorDep,
    resource: str | None = None,
    kind: ServiceKind | None = None,
    department: str | None = None,
) -> ServiceList:
    found = services.list_services(session, resource=resource, kind=kind, department=department)
    return ServiceList(data=found, count=len(found))


@router.get("/services/{code}", response_model=ServicePublic, summary="One service")
def get_service(code: str, session: SessionDep, actor: ActorDep) -> ServicePublic:
    return services.get_service(session, code)


@router.get(
    "/services/{code}/openapi.json",
    summary="The service's own OpenAPI description (its key and claim fields named)",
    response_model=dict[str, Any],
)
def service_openapi(code: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    service = services.get_service(session, code)
    fields = catalog.current_fields(session, service.resource_code)
    return openapi.service_openapi(service, {f.english_name or f.name: f.name for f in fields})


@router.post(
    "/resources/{code}/services",
    response_model=ServiceList,
    summary="Publish (or refresh) a shareable resource's services (stewards)",
)
def publish(
    code: str,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    request: PublishRequest | None = None,
) -> ServiceList:
    found = services.publish_services(
        session,
        code=code,
        actor=actor,
        ledger=platform.ledger,
        lookup=request.lookup if request else None,
    )
    return ServiceList(data=found, count=len(found))


# -- applications ----------------------------------------------------------------------------


@router.post(
    "/applications",
    response_model=ApplicationPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Apply for a service (developers of the consuming department)",
)
def apply(
    data: ApplicationCreate, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> ApplicationPublic:
    return applications.apply(
        session, data=data, actor=actor, ledger=platform.ledger, settings=platform.settings
    )


@router.get("/applications", response_model=ApplicationList, summary="Applications")
def list_applications(
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    box: Annotated[str, Query(pattern="^(inbox|mine|all)$")] = "all",
    state: ApplicationState | None = None,
) -> ApplicationList:
    return applications.list_applications(
        session, actor=actor, bureau=platform.settings.bureau_department, box=box, state=state
    )


@router.get("/applications/{number}", response_model=ApplicationPublic, summary="One application")
def get_application(
    number: str, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> ApplicationPublic:
    return applications.get_application(
        session, number=number, actor=actor, bureau=platform.settings.bureau_department
    )


@router.post(
    "/applications/{number}/decision",
    response_model=ApplicationPublic,
    summary="Approve, refuse or ask for more (the owner department's approvers)",
)
def decide(
    number: str,
    decision: ApprovalDecision,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
) -> ApplicationPublic:
    return applications.decide(
        session,
        number=number,
        decision=decision,
        actor=actor,
        ledger=platform.ledger,
        settings=platform.settings,
    )


@router.post(
    "/applications/{number}/reply",
    response_model=ApplicationPublic,
    summary="Answer a request for more information (the applying department)",
)
def reply(
    number: str,
    answer: ApplicationReply,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
) -> ApplicationPublic:
    return applications.reply(
        session,
        number=number,
        answer=answer,
        actor=actor,
        ledger=platform.ledger,
        settings=platform.settings,
    )


# -- grants and usage ------------------------------------------------------------------------


@router.get("/grants", response_model=GrantList, summary="Grants")
def list_grants(
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    app_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    service: str | None = None,
    active: bool = False,
) -> GrantList:
    return grants.list_grants(
        session,
        actor=actor,
        bureau=platform.settings.bureau_department,
        app_id=app_id,
        service=service,
        active_only=active,
    )


@router.post(
    "/grants/{grant_id}/revoke",
    response_model=GrantPublic,
    summary="Revoke a grant at once (the owner's approvers or the bureau)",
)
def revoke(
    grant_id: RowId,
    request: RevokeRequest,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
) -> GrantPublic:
    return grants.revoke_grant(
        session,
        grant_id=grant_id,
        reason=request.reason,
        actor=actor,
        ledger=platform.ledger,
        bureau=platform.settings.bureau_department,
    )


@router.get("/usage", response_model=UsageReport, summary="Calls per service, app and day")
def usage_report(
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    days: Annotated[int, Query(ge=1, le=366)] = 7,
    service: str | None = None,
    app_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> UsageReport:
    bureau = platform.settings.bureau_department
    everyone = actor.kind == "system" or actor.department == bureau
    return usage.usage_report(
        session,
        days=days,
        service=service,
        app_id=app_id,
        department=None if everyone else actor.department,
        daily_target=platform.settings.exchange_daily_target,
    )


# -- subscriptions ---------------------------------------------------------------------------


@router.post(
    "/subscriptions",
    response_model=SubscriptionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe to a resource's changed rows (pull, or push to an endpoint)",
)
def subscribe(
    data: SubscriptionCreate, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> SubscriptionPublic:
    return subscriptions.subscribe(
        session,
        platform,
        grant_id=data.grant_id,
        endpoint=data.endpoint,
        actor=actor,
        from_start=data.from_start,
    )


@router.get("/subscriptions", response_model=SubscriptionList, summary="Subscriptions")
def list_subscriptions(session: SessionDep, actor: ActorDep) -> SubscriptionList:
    return subscriptions.list_subscriptions(session, actor=actor)


@router.get(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionPublic,
    summary="One subscription",
)
def get_subscription(
    subscription_id: RowId, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> SubscriptionPublic:
    return subscriptions.get_subscription(
        session, platform, subscription_id=subscription_id, actor=actor
    )


@router.post(
    "/subscriptions/{subscription_id}/retry",
    response_model=SubscriptionPublic,
    summary="Push a failed subscription's deliveries again",
)
def retry_subscription(
    subscription_id: RowId, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> SubscriptionPublic:
    return subscriptions.retry(session, platform, subscription_id=subscription_id, actor=actor)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    response_model=DeliveryList,
    summary="A pull subscription's deliveries waiting to be fetched",
)
def pending_deliveries(
    subscription_id: RowId, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> DeliveryList:
    return subscriptions.pending_deliveries(
        session, platform, subscription_id=subscription_id, actor=actor
    )


@router.get(
    "/deliveries/{delivery_id}",
    response_model=DeliveryPage,
    summary="One page of a delivery's changed rows (oldest delivery first)",
)
async def fetch_delivery(
    delivery_id: RowId,
    actor: ActorDep,
    platform: PlatformDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> DeliveryPage:
    return await run_in_threadpool(
        subscriptions.fetch_delivery, platform, delivery_id=delivery_id, actor=actor, page=page
    )


@router.post(
    "/deliveries/{delivery_id}/ack",
    response_model=SubscriptionPublic,
    summary="Acknowledge a delivery: the subscription moves on to the next version",
)
async def acknowledge(
    delivery_id: RowId, actor: ActorDep, platform: PlatformDep
) -> SubscriptionPublic:
    return await run_in_threadpool(
        subscriptions.acknowledge, platform, delivery_id=delivery_id, actor=actor
    )
