"""JSON API of aggregation (汇聚): sources, uploads, previews, mappings, loads, rejected rows,
lake versions and their rows, and the volume aggregated per department and day.

Stewards of a department attach, map and run its sources; its stewards and approvers see its
sources and loads and read its rows; platform admins see every source and load but no rows
(``rongshu.ingest.access``). Every change and every read of rows is in the audit ledger.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool

from rongshu.catalog import service as catalog
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.service import require
from rongshu.ingest import access, browse, service, uploads
from rongshu.ingest.browse import (
    MAX_PAGE_ROWS,
    PREVIEW_ROWS,
    RejectedPage,
    RowPage,
    SourcePreview,
    VersionPublic,
)
from rongshu.ingest.jobs import request_load
from rongshu.ingest.mapping import FieldMapping
from rongshu.ingest.schemas import (
    LoadList,
    LoadPublic,
    LoadRequested,
    LoadStatus,
    SourceCreate,
    SourceList,
    SourcePublic,
    UploadPublic,
    VolumeRow,
)
from rongshu.lake.tables import Lake
from rongshu.web.deps import ActorDep, PlatformDep, SessionDep, get_queue

router = APIRouter(prefix="/ingest", tags=["ingest"])

Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_ROWS)]


def upload_limit(platform: PlatformDep) -> int:
    """The largest upload, in bytes, from settings."""
    return platform.settings.ingest_upload_max_mb * 1024 * 1024


# -- sources -----------------------------------------------------------------------------------


@router.get("/sources", response_model=SourceList, summary="Sources the caller sees")
def list_sources(
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    department: str | None = Query(None, description="Department code (platform admins)."),
    resource: str | None = Query(None, description="Resource code."),
) -> SourceList:
    data = browse.visible_sources(
        session, actor=actor, ledger=platform.ledger, department=department, resource_code=resource
    )
    return SourceList(data=data, count=len(data))


@router.post(
    "/sources",
    response_model=SourcePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Attach a source to a resource (stewards of its department)",
)
def create_source(
    data: SourceCreate, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> SourcePublic:
    source = service.create_source(
        session, data=data, actor=actor, ledger=platform.ledger, secret=platform.secret
    )
    if actor.kind != "system":  # people may read only their own department's uploads
        uploads.check_location(
            data.kind,
            data.options,
            settings=platform.settings,
            department=source.department_code,
        )
    return source


@router.get("/sources/{resource_code}/{name}", response_model=SourcePublic, summary="One source")
def show_source(
    resource_code: str, name: str, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> SourcePublic:
    row = browse.seen_source(
        session, resource_code=resource_code, name=name, actor=actor, ledger=platform.ledger
    )
    return service.source_public(row)


@router.get(
    "/sources/{resource_code}/{name}/preview",
    response_model=SourcePreview,
    summary="The source's columns and first rows as read, and the suggested mapping",
)
def preview_source(
    resource_code: str,
    name: str,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    rows: int = Query(PREVIEW_ROWS, ge=1, le=200),
) -> SourcePreview:
    return browse.preview_source(
        session,
        resource_code=resource_code,
        name=name,
        actor=actor,
        ledger=platform.ledger,
        secret=platform.secret,
        rows=rows,
    )


@router.put(
    "/sources/{resource_code}/{name}/mapping",
    response_model=SourcePublic,
    summary="Save the source's column → field mapping (stewards)",
)
def save_mapping(
    resource_code: str,
    name: str,
    mapping: FieldMapping,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
) -> SourcePublic:
    return service.save_mapping(
        session,
        resource_code=resource_code,
        name=name,
        mapping=mapping,
        fields=catalog.current_fields(session, resource_code),
        actor=actor,
        ledger=platform.ledger,
    )


@router.post(
    "/sources/{resource_code}/{name}/loads",
    response_model=LoadRequested,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run the source now: queued (202), or run at once when no job queue runs (201)",
)
def run_source(
    resource_code: str,
    name: str,
    request: Request,
    response: Response,
    actor: ActorDep,
    platform: PlatformDep,
) -> LoadRequested:
    outcome = request_load(
        platform, get_queue(request), resource_code=resource_code, source_name=name, actor=actor
    )
    if isinstance(outcome, LoadPublic):
        response.status_code = status.HTTP_201_CREATED
        return LoadRequested(load=outcome)
    return LoadRequested(job_id=outcome)


@router.post(
    "/uploads",
    response_model=UploadPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a file for a file source (stewards; size limit in settings)",
)
async def upload(
    actor: ActorDep,
    platform: PlatformDep,
    file: Annotated[UploadFile, File(description=".csv .tsv .txt .xlsx .json .ndjson .parquet")],
) -> UploadPublic:
    access.require(
        bool(actor.department) and access.stewards(actor, actor.department),
        actor,
        platform.ledger,
        action="ingest.upload",
        object_=f"upload:{file.filename or ''}",
        message="only data stewards upload source files",
    )
    stored = await run_in_threadpool(
        uploads.store_upload,
        file.file,
        filename=file.filename or "",
        data_dir=platform.settings.data_dir,
        department=actor.department,
        max_bytes=upload_limit(platform),
    )
    platform.ledger.append(actor.audit("ingest.upload", f"upload:{stored.path.name}"))
    return UploadPublic(
        path=str(stored.path), filename=stored.filename, size=stored.size, kind=stored.kind
    )


# -- loads, rejected rows, versions ------------------------------------------------------------


@router.get("/loads", response_model=LoadList, summary="Load records the caller sees, newest first")
def list_loads(
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    offset: Offset = 0,
    limit: Limit = 50,
    department: str | None = Query(None, description="Department code (platform admins)."),
    resource: str | None = Query(None, description="Resource code."),
    status_: LoadStatus | None = Query(None, alias="status"),
) -> LoadList:
    data, count = browse.visible_loads(
        session,
        actor=actor,
        ledger=platform.ledger,
        department=department,
        resource_code=resource,
        status=status_,
        offset=offset,
        limit=limit,
    )
    return LoadList(data=data, count=count)


@router.get("/loads/{load_id}", response_model=LoadPublic, summary="One load record")
def show_load(
    load_id: int, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> LoadPublic:
    return browse.seen_load(session, load_id=load_id, actor=actor, ledger=platform.ledger)


@router.get(
    "/loads/{load_id}/rejected",
    response_model=RejectedPage,
    summary="The cells a load rejected, with reasons and the whole source row",
)
def rejected(
    load_id: int,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    offset: Offset = 0,
    limit: Limit = 50,
) -> RejectedPage:
    return browse.read_rejected(
        session,
        load_id=load_id,
        actor=actor,
        ledger=platform.ledger,
        lake=Lake.from_settings(platform.settings),
        offset=offset,
        limit=limit,
    )


@router.get(
    "/resources/{code}/versions",
    response_model=list[VersionPublic],
    summary="The kept versions of a resource's lake table, newest first",
)
def versions(
    code: str, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> list[VersionPublic]:
    return browse.resource_versions(
        session,
        resource_code=code,
        actor=actor,
        ledger=platform.ledger,
        lake=Lake.from_settings(platform.settings),
    )


@router.get(
    "/resources/{code}/versions/{version}/rows",
    response_model=RowPage,
    summary="A page of one version's rows (time travel)",
)
def version_rows(
    code: str,
    version: int,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    offset: Offset = 0,
    limit: Limit = 50,
) -> RowPage:
    return browse.read_version(
        session,
        resource_code=code,
        version=version,
        actor=actor,
        ledger=platform.ledger,
        lake=Lake.from_settings(platform.settings),
        offset=offset,
        limit=limit,
    )


# -- volumes ---------------------------------------------------------------------------------


@router.get(
    "/volumes",
    response_model=list[VolumeRow],
    summary="Rows aggregated per department per day (政务数据汇聚量), Beijing time",
)
def volumes(
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    days: int = Query(30, ge=1, le=366),
    department: str | None = Query(None),
) -> list[VolumeRow]:
    if actor.kind != "app":
        require(actor, Permission.VIEW_CONSOLE, platform.ledger, object_="ingest.volumes")
    rows = service.volumes(session, days=days)
    return [row for row in rows if department is None or row.department_code == department]
