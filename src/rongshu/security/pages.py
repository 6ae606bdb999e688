"""Console pages of data security: scanned resources, a resource's fields with accept /
override for its stewards, and the masking matrix (editable by the security admin only).

JSON twins: ``/api/v1/security/resources/{code}/scan``, ``.../fields/{column}/decision`` and
``/api/v1/security/masking-rules``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.links import register_resource_link
from rongshu.catalog.schemas import Grade
from rongshu.core.errors import RongshuError
from rongshu.core.i18n import translate
from rongshu.core.identity.roles import Permission
from rongshu.ingest import access
from rongshu.security import service
from rongshu.security.entities import EntityType
from rongshu.security.masking import Mask, MaskOperator
from rongshu.security.messages import register_security_messages
from rongshu.security.models import SecurityScan
from rongshu.security.schemas import Decision, MaskingProfile
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf
from rongshu.web.pages import ConsoleUser, ConsoleUserDep, render_console
from rongshu.web.templating import page_language, register_nav, register_templates

router = APIRouter(include_in_schema=False)
CONSOLE = "/console/security"

register_security_messages()
register_templates(Path(__file__).parent / "templates")
register_nav("nav.security", CONSOLE, permission=Permission.VIEW_CONSOLE, order=45)
register_resource_link("security.link.resource", CONSOLE + "/resources/{code}", order=30)


def resource_url(code: str) -> str:
    return f"{CONSOLE}/resources/{quote(code, safe='')}"


def _page(
    request: Request,
    who: ConsoleUser,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    done = request.query_params.get("done", "")
    key = f"security.done.{done}"
    message = translate(page_language(request), key) if done else ""
    response = render_console(
        request,
        who,
        template,
        {"done": "" if message == key else message, "resource_url": resource_url, **context},
    )
    response.status_code = status_code
    return response


@router.get(CONSOLE)
def index(request: Request, who: ConsoleUserDep, session: SessionDep) -> HTMLResponse:
    """The latest scan of every scanned resource, newest first."""
    latest: dict[str, SecurityScan] = {}
    for scan in session.scalars(select(SecurityScan).order_by(SecurityScan.id.desc())):
        latest.setdefault(scan.resource_code, scan)
    rows = []
    for code, scan in latest.items():
        fields = service.classifications(session, code)
        pending = sum(1 for f in fields if f.decided_by is None and f.entity is not None)
        rows.append({"scan": scan, "grade": Grade(scan.suggested_grade), "pending": pending})
    return _page(request, who, "security/index.html", {"rows": rows})


@router.get(CONSOLE + "/resources/{code}")
def resource_page(
    request: Request, code: str, who: ConsoleUserDep, session: SessionDep
) -> HTMLResponse:
    """A resource's fields as the latest scan found them, with the stewards' decisions."""
    return _resource_page(request, who, session, code)


def _resource_page(
    request: Request,
    who: ConsoleUser,
    session: Session,
    code: str,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    resource = catalog.get_resource(session, code=code, actor=who.actor)
    return _page(
        request,
        who,
        "security/resource.html",
        {
            "resource": resource,
            "scan": service.latest_scan(session, code),
            "steward": access.stewards(who.actor, resource.department_code),
            "entities": list(EntityType),
            "grades": list(Grade),
            "error": error,
        },
        status_code,
    )


@router.post(CONSOLE + "/resources/{code}/scan")
async def scan(
    request: Request, code: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    await check_csrf(request)
    posted = await request.form()
    full = posted.get("full") == "on"
    try:
        await run_in_threadpool(service.scan_resource, platform, code, actor=who.actor, full=full)
    except RongshuError as exc:
        return _resource_page(request, who, session, code, error=exc.message, status_code=422)
    return RedirectResponse(resource_url(code) + "?done=scanned", status_code=303)


@router.post(CONSOLE + "/resources/{code}/fields/{column}")
async def decide(
    request: Request,
    code: str,
    column: str,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    await check_csrf(request)
    posted = await request.form()
    accept = posted.get("action") != "override"
    entity, grade = str(posted.get("entity") or ""), str(posted.get("grade") or "")
    decision = Decision(
        accept=accept,
        entity=EntityType(entity) if entity in {e.value for e in EntityType} else None,
        grade=Grade(grade) if grade in {g.value for g in Grade} else None,
        is_personal=posted.get("personal") == "on",
        reason=str(posted.get("reason") or "")[:500],
    )
    try:
        await run_in_threadpool(service.decide, platform, code, column, decision, actor=who.actor)
    except RongshuError as exc:
        return _resource_page(request, who, session, code, error=exc.message, status_code=422)
    return RedirectResponse(resource_url(code) + "?done=decided", status_code=303)


@router.get(CONSOLE + "/masking")
def masking_page(request: Request, who: ConsoleUserDep, session: SessionDep) -> HTMLResponse:
    return _masking_page(request, who, session)


def _masking_page(
    request: Request,
    who: ConsoleUser,
    session: Session,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    rules = service.list_masking_rules(session)
    return _page(
        request,
        who,
        "security/masking.html",
        {
            "rules": rules,
            "profiles": [p for p in MaskingProfile if p is not MaskingProfile.CLEAR],
            "operators": list(MaskOperator),
            "editor": who.actor.can(Permission.MANAGE_MASKING_POLICY),
            "error": error,
            "json": lambda value: json.dumps(value, ensure_ascii=False),
        },
        status_code,
    )


@router.post(CONSOLE + "/masking")
async def save_rule(
    request: Request, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    await check_csrf(request)
    posted = await request.form()
    try:
        params = json.loads(str(posted.get("params") or "{}"))
        if not isinstance(params, dict):
            raise ValueError
    except ValueError:
        message = translate(page_language(request), "security.bad_params")
        return _masking_page(request, who, session, error=message, status_code=422)
    try:
        service.set_masking_rule(
            platform,
            session,
            MaskingProfile.parse(str(posted.get("profile") or "")),  # type: ignore[arg-type]
            str(posted.get("target") or ""),
            Mask(MaskOperator.parse(str(posted.get("operator") or "")), params),  # type: ignore[arg-type]
            actor=who.actor,
        )
    except (RongshuError, ValueError) as exc:
        message = exc.message if isinstance(exc, RongshuError) else str(exc)
        session.rollback()
        return _masking_page(request, who, session, error=message, status_code=422)
    session.commit()
    return RedirectResponse(CONSOLE + "/masking?done=saved", status_code=303)
