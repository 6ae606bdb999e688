"""JSON API of the audit trail: search, export, verify (auditor only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from rongshu.core.audit import service
from rongshu.core.audit.schemas import AuditEntryList, AuditFilter, VerifyReportPublic
from rongshu.core.errors import ValidationFailed
from rongshu.web.deps import ActorDep, PlatformDep, SessionDep

router = APIRouter(prefix="/audit", tags=["audit"])


def audit_filter(
    actor: str | None = Query(None, description="Who acted (user name or app:<id>)."),
    department: str | None = Query(None, description="Department code of the actor."),
    action: str | None = Query(None, description="Action, e.g. login, user.create."),
    outcome: str | None = Query(None, description="ok, denied, failed, locked ..."),
    since: str | None = Query(None, description="From this time (ISO 8601; naive = Beijing)."),
    until: str | None = Query(None, description="Before this time (ISO 8601)."),
) -> AuditFilter:
    """Query parameters as a filter; empty fields (as plain HTML forms send them) mean "any"."""
    return AuditFilter(
        actor=actor or None,
        department=department or None,
        action=action or None,
        outcome=outcome or None,
        since=_moment("since", since),
        until=_moment("until", until),
    )


def _moment(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{name} is not a date and time",
            details=[{"field": name, "reason": "expected ISO 8601, e.g. 2026-11-22T08:00"}],
        ) from None


@router.get("/entries", response_model=AuditEntryList, summary="Search the audit trail")
def entries(
    session: SessionDep,
    platform: PlatformDep,
    caller: ActorDep,
    filters: AuditFilter = Depends(audit_filter),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> AuditEntryList:
    return service.search_entries(
        session, filters=filters, limit=limit, offset=offset, actor=caller, ledger=platform.ledger
    )


@router.get(
    "/export",
    summary="Export matching entries as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export(
    session: SessionDep,
    platform: PlatformDep,
    caller: ActorDep,
    filters: AuditFilter = Depends(audit_filter),
) -> StreamingResponse:
    lines = service.export_entries(session, filters=filters, actor=caller, ledger=platform.ledger)
    first = next(lines)  # permission is checked before the response starts

    def body() -> object:
        yield first
        yield from lines

    return StreamingResponse(
        body(),  # type: ignore[arg-type]
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'},
    )


@router.post("/verify", response_model=VerifyReportPublic, summary="Verify the SM3 chain")
async def verify(platform: PlatformDep, caller: ActorDep) -> VerifyReportPublic:
    return await run_in_threadpool(
        service.verify,
        platform.db,
        public_key=platform.signing_key.public_key(),
        actor=caller,
        ledger=platform.ledger,
    )
