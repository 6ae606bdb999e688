"""The auditor's console page: search, export and verify the audit trail."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rongshu.core.audit import service
from rongshu.core.audit.api import audit_filter
from rongshu.core.audit.schemas import AuditFilter, VerifyReportPublic
from rongshu.core.platform import Platform
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf
from rongshu.web.pages import ConsoleUser, ConsoleUserDep, render_console

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
    return _render_audit_page(request, who, session, platform, filters, page, report=None)


def _render_audit_page(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    filters: AuditFilter,
    page: int,
    *,
    report: VerifyReportPublic | None,
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
            "report": report,
        },
    )


@router.post("/console/audit/verify")
async def verify_fragment(
    request: Request, who: ConsoleUserDep, platform: PlatformDep, session: SessionDep
) -> HTMLResponse:
    """The verification result: a fragment for htmx, the whole page for a plain form post."""
    await check_csrf(request)
    report = await run_in_threadpool(
        service.verify,
        platform.db,
        public_key=platform.signing_key.public_key(),
        actor=who.actor,
        ledger=platform.ledger,
    )
    if request.headers.get("hx-request"):
        return render_console(request, who, "console/_verify.html", {"report": report})
    return _render_audit_page(request, who, session, platform, AuditFilter(), 1, report=report)
