"""JSON API of the catalog: search, read, register, change, review, import, export, statistics.

``/api/v1/catalog/...`` serves staff and apps (the shared catalog, plus each steward's working
copies); ``/api/v1/open-catalog/...`` serves the public (published resources that may be opened),
without signing in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile, status
from fastapi.responses import Response

from rongshu.catalog import service
from rongshu.catalog.schemas import (
    ResourceEventPublic,
    ResourceList,
    ResourcePublic,
    ResourceSpec,
    ResourceStatus,
    ReviewDecision,
)
from rongshu.catalog.search import CatalogSearch, SearchResult
from rongshu.catalog.statistics import CatalogStatistics, catalog_statistics
from rongshu.core.errors import ValidationFailed
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import require
from rongshu.web.deps import ActorDep, PlatformDep, SessionDep

router = APIRouter(prefix="/catalog", tags=["catalog"])
public_router = APIRouter(prefix="/open-catalog", tags=["open catalog"])

MAX_IMPORT_BYTES = 20 * 1024 * 1024
EXPORT_TYPES = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "json": ("application/json", "json"),
    "dcat-jsonld": ("application/ld+json", "jsonld"),
    "dcat-ttl": ("text/turtle; charset=utf-8", "ttl"),
}


def catalog_search(request: Request, platform: PlatformDep) -> CatalogSearch:
    """The process's index of the published catalog (built once, refreshed on change)."""
    state = request.app.state
    if getattr(state, "catalog_search", None) is None:
        state.catalog_search = CatalogSearch(platform.db)
    search: CatalogSearch = state.catalog_search
    return search


def open_catalog_search(request: Request, platform: PlatformDep) -> CatalogSearch:
    """The same for the public: only resources whose open type allows it."""
    state = request.app.state
    if getattr(state, "open_catalog_search", None) is None:
        state.open_catalog_search = CatalogSearch(platform.db, open_only=True)
    search: CatalogSearch = state.open_catalog_search
    return search


SearchDep = Annotated[CatalogSearch, Depends(catalog_search)]
OpenSearchDep = Annotated[CatalogSearch, Depends(open_catalog_search)]


def context(platform: PlatformDep, actor: ActorDep) -> service.CatalogContext:
    return service.CatalogContext(
        actor=actor, ledger=platform.ledger, bureau=platform.settings.bureau_department
    )


ContextDep = Annotated[service.CatalogContext, Depends(context)]


def search_params(
    q: str = Query("", description="Words to find in names, summaries and field names."),
    department: list[str] = Query([], description="Department codes (several = any of them)."),
    catalog_type: list[str] = Query([]),
    share_type: list[str] = Query([]),
    open_type: list[str] = Query([]),
    grade: list[str] = Query([]),
    update_cycle: list[str] = Query([]),
    format: list[str] = Query([]),
    sort: str = Query("relevance", description="relevance, name, updated or code"),
    offset: int = Query(0, ge=0),
    limit: int = Query(20, ge=1, le=100),
) -> dict[str, object]:
    filters = {
        "department": department,
        "catalog_type": catalog_type,
        "share_type": share_type,
        "open_type": open_type,
        "grade": grade,
        "update_cycle": update_cycle,
        "format": format,
    }
    return {
        "q": q,
        "filters": {name: values for name, values in filters.items() if values},
        "sort": sort,
        "offset": offset,
        "limit": limit,
    }


SearchParams = Annotated[dict[str, object], Depends(search_params)]


def _viewer(actor: Actor, platform: PlatformDep) -> None:
    if actor.kind != "app":
        require(actor, Permission.VIEW_CONSOLE, platform.ledger, object_="catalog")


@router.get("/resources", response_model=SearchResult, summary="Search the published catalog")
def search(
    params: SearchParams, index: SearchDep, actor: ActorDep, platform: PlatformDep
) -> SearchResult:
    _viewer(actor, platform)
    return index.search(**params)


@router.get("/resources/{code}", response_model=ResourcePublic, summary="One resource")
def show(code: str, session: SessionDep, actor: ActorDep) -> ResourcePublic:
    return service.get_resource(session, code=code, actor=actor)


@router.get(
    "/resources/{code}/history",
    response_model=list[ResourceEventPublic],
    summary="Who changed what, when and why, with field-level diffs",
)
def resource_history(code: str, session: SessionDep, actor: ActorDep) -> list[ResourceEventPublic]:
    return service.history(session, code=code, actor=actor)


@router.post(
    "/resources",
    response_model=ResourcePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register a resource (data steward of its department)",
)
def create(spec: ResourceSpec, session: SessionDep, ctx: ContextDep) -> ResourcePublic:
    return service.create_resource(session, spec=spec, ctx=ctx)


@router.put("/resources/{code}", response_model=ResourcePublic, summary="Change a resource")
def update(
    code: str,
    spec: ResourceSpec,
    session: SessionDep,
    ctx: ContextDep,
    reason: str = Query("", description="Why (kept in the history)."),
) -> ResourcePublic:
    return service.update_resource(session, code=code, spec=spec, reason=reason, ctx=ctx)


@router.post("/resources/{code}/submit", response_model=ResourcePublic, summary="Submit for review")
def submit(
    code: str, session: SessionDep, ctx: ContextDep, reason: str = Query("")
) -> ResourcePublic:
    return service.submit(session, code=code, reason=reason, ctx=ctx)


@router.post(
    "/resources/{code}/review",
    response_model=ResourcePublic,
    summary="Approve (publish) or return with reasons (bureau approvers)",
)
def review(
    code: str, decision: ReviewDecision, session: SessionDep, ctx: ContextDep
) -> ResourcePublic:
    return service.review(
        session, code=code, approve=decision.approve, reason=decision.reason, ctx=ctx
    )


@router.post("/resources/{code}/retire", response_model=ResourcePublic, summary="Retire")
def retire(
    code: str, session: SessionDep, ctx: ContextDep, reason: str = Query(...)
) -> ResourcePublic:
    return service.retire(session, code=code, reason=reason, ctx=ctx)


@router.get(
    "/working",
    response_model=ResourceList,
    summary="Working copies: a steward's own department, or the bureau's review queue",
)
def working(
    session: SessionDep,
    actor: ActorDep,
    status_: ResourceStatus | None = Query(None, alias="status"),
) -> ResourceList:
    data = service.list_working(session, actor=actor, status=status_)
    return ResourceList(data=data, count=len(data))


@router.post("/import", summary="Import an Excel or CSV catalog (all or nothing)")
async def import_file(
    session: SessionDep,
    ctx: ContextDep,
    file: Annotated[UploadFile, File(description=".xlsx or .csv in the bureau's shapes")],
    submit_after: Annotated[bool, Form(alias="submit")] = False,
) -> object:
    from rongshu.catalog.importer import import_catalog

    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationFailed("the file is larger than 20 MB")
    return import_catalog(
        session, data=data, filename=file.filename or "catalog.xlsx", ctx=ctx, submit=submit_after
    )


@router.get("/export", summary="Export the published catalog (Excel, JSON, DCAT-AP)")
def export(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    format_: str = Query("xlsx", alias="format", description=", ".join(EXPORT_TYPES)),
) -> Response:
    _viewer(actor, platform)
    return _export(request, session, format_, open_only=False)


@router.get("/statistics", response_model=CatalogStatistics, summary="Catalog statistics")
def statistics(session: SessionDep, actor: ActorDep, platform: PlatformDep) -> CatalogStatistics:
    _viewer(actor, platform)
    return catalog_statistics(service.published_resources(session))


@public_router.get("/resources", response_model=SearchResult, summary="Search the open catalog")
def open_search(params: SearchParams, index: OpenSearchDep) -> SearchResult:
    return index.search(**params)


@public_router.get("/resources/{code}", response_model=ResourcePublic, summary="One open resource")
def open_show(code: str, session: SessionDep) -> ResourcePublic:
    return service.get_resource(session, code=code, actor=None)


@public_router.get("/export", summary="The open catalog as DCAT-AP (for harvesters), Excel or JSON")
def open_export(
    request: Request,
    session: SessionDep,
    format_: str = Query("dcat-jsonld", alias="format", description=", ".join(EXPORT_TYPES)),
) -> Response:
    return _export(request, session, format_, open_only=True)


def _export(request: Request, session: SessionDep, format_: str, *, open_only: bool) -> Response:
    from rongshu.catalog.dcat import export_dcat
    from rongshu.catalog.exporter import export_json, export_xlsx

    if format_ not in EXPORT_TYPES:
        raise ValidationFailed(
            f"unknown export format {format_}",
            details=[{"field": "format", "reason": f"one of {', '.join(EXPORT_TYPES)}"}],
        )
    resources = service.published_resources(session, open_only=open_only)
    title = "榕城市公共数据开放目录" if open_only else "榕城市政务数据资源目录"
    base_url = str(request.base_url).rstrip("/")
    if format_ == "xlsx":
        body = export_xlsx(resources, title=title)
    elif format_ == "json":
        body = export_json(resources)
    else:
        fmt = "json-ld" if format_ == "dcat-jsonld" else "turtle"
        body = export_dcat(resources, base_url=base_url, title=title, fmt=fmt)
    media_type, suffix = EXPORT_TYPES[format_]
    name = "open-catalog" if open_only else "catalog"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}.{suffix}"'},
    )
