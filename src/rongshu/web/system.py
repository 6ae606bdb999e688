"""Operational endpoints: health, Prometheus metrics, and the console's live figures."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.orm import Session

from rongshu import __version__
from rongshu.core.audit import service as audit
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor, ConsoleCounts
from rongshu.ingest import access as ingest_access
from rongshu.ingest import service as ingest
from rongshu.ingest.browse import volume_summary
from rongshu.ingest.messages import register_ingest_messages
from rongshu.web.deps import ActorDep, PlatformDep, SessionDep

router = APIRouter()
api = APIRouter(prefix="/console", tags=["console"])
register_ingest_messages()  # the home's aggregation panels speak the ingest area's words


@router.get("/healthz", include_in_schema=False)
def healthz(platform: PlatformDep) -> Response:
    """Liveness and readiness: the metadata database answers."""
    try:
        with platform.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"
        return JSONResponse(
            {"ok": False, "status": 503, "error": "database_unavailable", "message": str(exc)},
            status_code=503,
        )
    return JSONResponse({"ok": True, "version": __version__, "database": platform.db.dialect})


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, platform: PlatformDep) -> Response:
    """Prometheus text format."""
    app_metrics = request.app.state.metrics
    app_metrics.audit_queue.set(platform.ledger.queue_depth)
    return Response(generate_latest(app_metrics.registry), media_type=CONTENT_TYPE_LATEST)


def console_counts(session: Session) -> ConsoleCounts:
    """The figures on the console home."""
    return ConsoleCounts(
        **identity.identity_counts(session),
        audit_entries_today=audit.entries_today(session),
    )


def ingest_panels(session: Session, actor: Actor) -> dict[str, object]:
    """The console home's aggregation panels: the volume aggregated (政务数据汇聚量) for every
    console user, and sources whose latest load failed for their stewards and platform admins."""
    failing = None
    if ingest_access.operates(actor):
        failing = ingest.failing_sources(session)
    elif actor.department and ingest_access.stewards(actor, actor.department):
        failing = ingest.failing_sources(session, department=actor.department)
    return {
        "volumes": volume_summary(session),
        "department_names": {d.code: d.name for d in identity.list_departments(session)},
        "failing": failing,
    }


@api.get("/counts", response_model=ConsoleCounts, summary="Live counts of the console home")
def counts(session: SessionDep, platform: PlatformDep, actor: ActorDep) -> ConsoleCounts:
    identity.require(actor, Permission.VIEW_CONSOLE, platform.ledger)
    return console_counts(session)


@api.get("/activity", summary="Audit entries per hour today (Beijing time)")
def activity(session: SessionDep, platform: PlatformDep, actor: ActorDep) -> dict[str, list]:  # type: ignore[type-arg]
    identity.require(actor, Permission.VIEW_CONSOLE, platform.ledger)
    return {
        "hours": [f"{h:02d}:00" for h in range(24)],
        "entries": audit.entries_per_hour_today(session),
    }


@api.get("/volumes", summary="Rows aggregated per department: today and the last 30 days")
def volumes(
    session: SessionDep, platform: PlatformDep, actor: ActorDep
) -> dict[str, list[str] | list[int]]:
    """The console home's volume chart (the same figures as ``/api/v1/ingest/volumes``)."""
    identity.require(actor, Permission.VIEW_CONSOLE, platform.ledger)
    summary = volume_summary(session)
    names = {d.code: d.name for d in identity.list_departments(session)}
    return {
        "departments": [
            names.get(d.department_code, d.department_code) for d in summary.departments
        ],
        "rows": [d.rows_window for d in summary.departments],
        "rows_today": [d.rows_today for d in summary.departments],
    }
