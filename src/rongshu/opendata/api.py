"""The portal's JSON API under ``/api/v1/opendata``: datasets and their releases for anyone;
opening, withdrawing and releasing for the owning department's stewards.

Files are served outside the API (``downloads``); the CKAN-compatible API is ``ckan``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from rongshu.catalog.schemas import OpenType
from rongshu.core.errors import PermissionDenied
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import require
from rongshu.core.platform import Platform
from rongshu.opendata import publishing, releases, service
from rongshu.opendata.schemas import (
    DatasetList,
    DatasetPublic,
    DatasetSpec,
    ReleasePublic,
    Theme,
)
from rongshu.web.deps import ActorDep, PlatformDep, SessionDep, public_base_url

router = APIRouter(prefix="/opendata", tags=["open data"])


class DatasetOpen(BaseModel):
    """Open (or update) a published catalog resource as a dataset."""

    code: str = Field(min_length=1, max_length=64, description="The catalog resource's code.")
    spec: DatasetSpec = Field(default_factory=DatasetSpec)


class DatasetWithdraw(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="Why (recorded).")


class ReleaseRequest(BaseModel):
    version: int | None = Field(
        None, ge=0, le=2**31 - 1, description="The lake version; default the latest."
    )


class ReleaseList(BaseModel):
    data: list[ReleasePublic]
    count: int


class PortalStats(BaseModel):
    """What the portal's home shows."""

    datasets: int = Field(description="Active datasets.")
    departments: int = Field(description="Departments with an active dataset.")
    downloads: int = Field(description="Whole-file downloads, all time.")
    calls: int = Field(description="Data API calls, all time.")


@router.get("/datasets", response_model=DatasetList, summary="Datasets on the portal")
def list_datasets(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    theme: Annotated[Theme | None, Query(description="Only this theme.")] = None,
    department: Annotated[str | None, Query(max_length=32, description="Owner code.")] = None,
    tag: Annotated[str | None, Query(max_length=40, description="Only with this tag.")] = None,
    access: Annotated[OpenType | None, Query(description="unconditional or conditional.")] = None,
) -> DatasetList:
    found = [
        d
        for d in service.list_datasets(session, base_url=public_base_url(request, platform))
        if (theme is None or d.theme is theme)
        and (department is None or d.department_code == department)
        and (tag is None or tag in d.tags)
        and (access is None or d.access is access)
    ]
    return DatasetList(data=found, count=len(found))


@router.get(
    "/datasets/{name}",
    response_model=DatasetPublic,
    summary="One dataset, with its latest release and download addresses",
)
def get_dataset(
    name: str, request: Request, platform: PlatformDep, session: SessionDep
) -> DatasetPublic:
    return service.get_dataset(session, name, base_url=public_base_url(request, platform))


@router.get(
    "/datasets/{name}/releases",
    response_model=ReleaseList,
    summary="Every release of a dataset, newest first (refused ones with the reason)",
)
def list_releases(
    name: str, request: Request, platform: PlatformDep, session: SessionDep
) -> ReleaseList:
    found = service.list_releases(session, name, base_url=public_base_url(request, platform))
    return ReleaseList(data=found, count=len(found))


@router.post(
    "/datasets",
    response_model=DatasetPublic,
    summary="Open (or update) a resource as a dataset (stewards of the owning department)",
)
def open_dataset(
    body: DatasetOpen,
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    actor: ActorDep,
) -> DatasetPublic:
    row = publishing.open_dataset(platform, session, code=body.code, spec=body.spec, actor=actor)
    return service.dataset_public(session, row, base_url=public_base_url(request, platform))


@router.post(
    "/datasets/{name}/withdraw",
    response_model=DatasetPublic,
    summary="Take a dataset off the portal (stewards of the owning department)",
)
def withdraw_dataset(
    name: str,
    body: DatasetWithdraw,
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    actor: ActorDep,
) -> DatasetPublic:
    row = publishing.withdraw_dataset(platform, session, name=name, reason=body.reason, actor=actor)
    return service.dataset_public(session, row, base_url=public_base_url(request, platform))


def check_steward(platform: Platform, name: str, actor: Actor) -> None:
    """Only the owning department's stewards (or the platform) release a dataset."""
    require(actor, Permission.STEWARD_DATA, platform.ledger, object_=f"dataset:{name}")
    with platform.db.session_scope() as session:
        owner = publishing.dataset_row(session, name, active_only=True).owner_department
    if actor.kind != "system" and actor.department != owner:
        platform.ledger.append(actor.audit("opendata.release", f"dataset:{name}", outcome="denied"))
        raise PermissionDenied(f"dataset {name} belongs to another department")


@router.post(
    "/datasets/{name}/release",
    response_model=ReleasePublic,
    summary="Release the latest (or a given) lake version now (stewards of the owning department)",
)
async def release_dataset(
    name: str,
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    body: ReleaseRequest | None = None,
) -> ReleasePublic:
    version = body.version if body is not None else None
    await run_in_threadpool(check_steward, platform, name, actor)
    made = await run_in_threadpool(releases.release, platform, name, actor=actor, version=version)
    return _with_urls(made, public_base_url(request, platform))


def _with_urls(made: ReleasePublic, base: str) -> ReleasePublic:
    """``release`` answers with paths; the API gives whole addresses."""
    files = [f.model_copy(update={"url": base + f.url}) for f in made.files]
    return made.model_copy(update={"files": files})


@router.get("/stats", response_model=PortalStats, summary="Datasets, departments, downloads, calls")
def stats(session: SessionDep) -> PortalStats:
    return PortalStats(**service.portal_counts(session))
