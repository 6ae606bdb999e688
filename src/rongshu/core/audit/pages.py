"""The auditor's console page: search, export and verify the audit trail."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from rongshu.core.audit import service
from rongshu.core.audit.api import audit_filter
from rongshu.core.audit.schemas import AuditFilter
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf
from rongshu.web.pages import ConsoleUserDep, render_console

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/console/audit")
def audit_page(
    request: Request,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    filters: AuditFilter = Depends(audit_filter),
    page: int = Query(1, ge=1),
) -> HTMLResponse:
    result = service.search_entries(
        session,
        filters=filters,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        actor=who.actor,
        ledger=platform.ledger,
    )
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render_console(
        request,
        who,
        "console/audit.html",
        {
            "entries": result.data,
            "count": result.count,
            "page": page,
            "pages": max(1, -(-result.count // PAGE_SIZE)),
            "filters": filters,
            "query": urlencode(query),
            "export_url": "/api/v1/audit/export" + (f"?{urlencode(query)}" if query else ""),
        },
    )


@router.post("/console/audit/verify")
async def verify_fragment(
    request: Request, who: ConsoleUserDep, platform: PlatformDep
) -> HTMLResponse:
    await check_csrf(request)
    report = await run_in_threadpool(
        service.verify,
        platform.db,
        public_key=platform.signing_key.public_key(),
        actor=who.actor,
        ledger=platform.ledger,
    )
    return render_console(request, who, "console/_verify.html", {"report": report})
