"""Console pages of aggregation (汇聚): sources, running one, loads and their rejected rows,
and a resource's lake versions and their rows (attaching and mapping: ``attaching``).

Every page has a JSON twin under ``/api/v1/ingest`` and works without scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.links import register_resource_link
from rongshu.core.errors import PermissionDenied, RongshuError
from rongshu.core.identity.roles import Permission
from rongshu.core.platform import Platform
from rongshu.ingest import access, browse, service
from rongshu.ingest.jobs import request_load
from rongshu.ingest.mapping import FieldMapping
from rongshu.ingest.messages import register_ingest_messages
from rongshu.ingest.schemas import LoadPublic, LoadStatus
from rongshu.lake.tables import Lake
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf, get_queue
from rongshu.web.pages import ConsoleUser, ConsoleUserDep, render_console
from rongshu.web.templating import register_nav, register_templates

router = APIRouter(include_in_schema=False)
CONSOLE = "/console/ingest"
API = "/api/v1/ingest"
PAGE_SIZE = 50

register_ingest_messages()
register_templates(Path(__file__).parent / "templates")
register_nav("nav.ingest", CONSOLE, permission=Permission.VIEW_CONSOLE, order=30)
register_resource_link(
    "ingest.versions.title",
    CONSOLE + "/resources/{code}",
    order=10,
    shows=lambda actor, resource: access.sees(actor, resource.department_code),
)


def source_url(resource_code: str, name: str, tail: str = "") -> str:
    return f"{CONSOLE}/sources/{quote(resource_code)}/{quote(name)}{tail}"


def ingest_page(
    request: Request,
    who: ConsoleUser,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    department = who.actor.department
    can = {"steward": bool(department) and access.stewards(who.actor, department)}
    response = render_console(
        request,
        who,
        template,
        {"can": can, "section": "", "source_url": source_url, "done": _done(request), **context},
    )
    response.status_code = status_code
    return response


def _done(request: Request) -> str:
    return request.query_params.get("done", "")


def _pages(total: int, page: int) -> dict[str, int]:
    return {"page": page, "pages": max(1, -(-total // PAGE_SIZE))}


# -- sources and loads --------------------------------------------------------------------------


@router.get(CONSOLE)
def sources_page(
    request: Request, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> HTMLResponse:
    sources = browse.visible_sources(session, actor=who.actor, ledger=platform.ledger)
    latest = service.latest_loads(session, source_ids=[s.id for s in sources])
    return ingest_page(
        request,
        who,
        "ingest/sources.html",
        {"sources": sources, "latest": latest, "section": "sources"},
    )


@router.get(CONSOLE + "/loads")
def loads_page(
    request: Request,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    page: int = Query(1, ge=1, le=10_000),
    status: str = "",
    resource: str = "",
) -> HTMLResponse:
    chosen = LoadStatus(status) if status in LoadStatus.__members__.values() else None
    loads, total = browse.visible_loads(
        session,
        actor=who.actor,
        ledger=platform.ledger,
        resource_code=resource or None,
        status=chosen,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    query = {k: v for k, v in (("status", status), ("resource", resource)) if v}
    return ingest_page(
        request,
        who,
        "ingest/loads.html",
        {
            "loads": loads,
            "total": total,
            "names": _source_names(session, loads),
            "statuses": list(LoadStatus),
            "status": chosen.value if chosen else "",
            "resource": resource,
            "page_link": lambda n: f"{CONSOLE}/loads?" + urlencode({**query, "page": n}),
            "json_url": f"{API}/loads?" + urlencode(query),
            "section": "loads",
            **_pages(total, page),
        },
    )


def _source_names(session: Session, loads: list[LoadPublic]) -> dict[int, str]:
    ids = {load.source_id for load in loads}
    return {s.id: s.name for s in service.list_sources(session) if s.id in ids}


@router.get(CONSOLE + "/sources/{resource_code}/{name}")
def source_page(
    request: Request,
    resource_code: str,
    name: str,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    page: int = Query(1, ge=1, le=10_000),
    after: int | None = Query(None, ge=0),
) -> HTMLResponse:
    row = browse.seen_source(
        session, resource_code=resource_code, name=name, actor=who.actor, ledger=platform.ledger
    )
    loads, total = service.list_loads(
        session, source_id=row.id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    source = service.source_public(row)
    return ingest_page(
        request,
        who,
        "ingest/source.html",
        {
            "source": source,
            "mapping": FieldMapping.model_validate(source.mapping) if source.mapping else None,
            "loads": loads,
            "total": total,
            "may_run": access.stewards(who.actor, row.department_code)
            or access.operates(who.actor),
            "may_map": access.stewards(who.actor, row.department_code),
            "page_link": lambda n: source_url(resource_code, name) + f"?page={n}",
            # After "run now" through the queue, the loads list refreshes itself until a load
            # newer than ``after`` has finished.
            "watching": after is not None
            and not any(
                load.id > after and load.status is not LoadStatus.RUNNING for load in loads
            ),
            "section": "sources",
            **_pages(total, page),
        },
    )


@router.post(CONSOLE + "/sources/{resource_code}/{name}/run")
async def run_now(
    request: Request,
    resource_code: str,
    name: str,
    who: ConsoleUserDep,
    platform: PlatformDep,
) -> Response:
    """Run a source now: queued when a job queue runs, else here (the page waits)."""
    await check_csrf(request)
    latest = await run_in_threadpool(_latest_load_id, platform, resource_code, name)
    try:
        outcome = await run_in_threadpool(
            request_load,
            platform,
            get_queue(request),
            resource_code=resource_code,
            source_name=name,
            actor=who.actor,
        )
    except PermissionDenied:
        raise
    except RongshuError:  # the load failed; its record (and error) is on the source's page
        return RedirectResponse(source_url(resource_code, name) + "?done=failed", 303)
    if isinstance(outcome, LoadPublic):
        return RedirectResponse(f"{CONSOLE}/loads/{outcome.id}?done=ran", 303)
    # The page watches for a load newer than the latest one before this request.
    return RedirectResponse(source_url(resource_code, name) + f"?done=queued&after={latest}", 303)


def _latest_load_id(platform: Platform, resource_code: str, name: str) -> int:
    with platform.db.session_scope() as session:
        row = service.get_source(session, resource_code=resource_code, name=name)
        loads, _ = service.list_loads(session, source_id=row.id, limit=1)
    return loads[0].id if loads else 0


@router.get(CONSOLE + "/loads/{load_id}")
def load_page(
    request: Request,
    load_id: int,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    page: int = Query(1, ge=1, le=100_000),
) -> HTMLResponse:
    load = browse.seen_load(session, load_id=load_id, actor=who.actor, ledger=platform.ledger)
    source = next(
        (s for s in service.list_sources(session, department=load.department_code)
         if s.id == load.source_id),
        None,
    )  # fmt: skip
    rejected = None
    if load.rows_rejected and access.reads_rows(who.actor, load.department_code):
        rejected = browse.read_rejected(
            session,
            load_id=load_id,
            actor=who.actor,
            ledger=platform.ledger,
            lake=Lake.from_settings(platform.settings),
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    total = rejected.total if rejected else 0
    return ingest_page(
        request,
        who,
        "ingest/load.html",
        {
            "load": load,
            "source": source,
            "rejected": rejected,
            "page_link": lambda n: f"{CONSOLE}/loads/{load_id}?page={n}",
            "section": "loads",
            **_pages(total, page),
        },
    )


# -- versions and their rows --------------------------------------------------------------------


@router.get(CONSOLE + "/resources/{code}")
def versions_page(
    request: Request, code: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> HTMLResponse:
    kept = browse.resource_versions(
        session,
        resource_code=code,
        actor=who.actor,
        ledger=platform.ledger,
        lake=Lake.from_settings(platform.settings),
    )
    resource = catalog.get_resource(session, code=code, actor=who.actor)
    return ingest_page(
        request,
        who,
        "ingest/versions.html",
        {
            "resource": resource,
            "versions": kept,
            "may_read": access.reads_rows(who.actor, resource.department_code),
            "section": "sources",
        },
    )


@router.get(CONSOLE + "/resources/{code}/versions/{version}")
def version_page(
    request: Request,
    code: str,
    version: int,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    page: int = Query(1, ge=1, le=1_000_000),
) -> HTMLResponse:
    rows = browse.read_version(
        session,
        resource_code=code,
        version=version,
        actor=who.actor,
        ledger=platform.ledger,
        lake=Lake.from_settings(platform.settings),
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    resource = catalog.get_resource(session, code=code, actor=who.actor)
    names = {f.english_name: f.name for f in resource.fields}
    return ingest_page(
        request,
        who,
        "ingest/version.html",
        {
            "resource": resource,
            "rows": rows,
            "names": names,
            "page_link": lambda n: f"{CONSOLE}/resources/{quote(code)}/versions/{version}?page={n}",
            "section": "sources",
            **_pages(rows.total, page),
        },
    )
