"""Web pages of the catalog: the console's search, resource pages, edit form, review queue, the
steward's work and import; and the public open-catalog pages.

Every page has a JSON twin under ``/api/v1/catalog`` (console) or ``/api/v1/open-catalog``
(public), and works without scripts: forms are plain GET/POST, htmx only refreshes parts.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from rongshu.catalog import service
from rongshu.catalog.api import MAX_IMPORT_BYTES, OpenSearchDep, SearchDep
from rongshu.catalog.browse import (
    PAGE_FACETS,
    PAGE_SIZE,
    SearchView,
    last_event,
    pending_changes,
)
from rongshu.catalog.forms import FieldRow, ResourceForm
from rongshu.catalog.importer import import_catalog
from rongshu.catalog.links import resource_links
from rongshu.catalog.messages import register_catalog_messages
from rongshu.catalog.schemas import (
    FieldType,
    Grade,
    ResourcePublic,
    ResourceSpec,
    ResourceStatus,
    ShareMethod,
)
from rongshu.catalog.search import CatalogSearch
from rongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rongshu.core.i18n import translate
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Permission
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf
from rongshu.web.pages import ConsoleUser, ConsoleUserDep, render_console
from rongshu.web.templating import page_language, register_nav, register_templates, render

router = APIRouter(include_in_schema=False)
CONSOLE = "/console/catalog"
PUBLIC = "/catalog"

register_catalog_messages()
register_templates(Path(__file__).parent / "templates")
register_nav("nav.open_catalog", PUBLIC, permission=None, order=5)
register_nav("nav.catalog", CONSOLE, permission=Permission.VIEW_CONSOLE, order=20)


# -- who may do what --------------------------------------------------------------------------


def _context(platform: PlatformDep, who: ConsoleUserDep) -> service.CatalogContext:
    return service.CatalogContext(
        actor=who.actor, ledger=platform.ledger, bureau=platform.settings.bureau_department
    )


ContextDep = Annotated[service.CatalogContext, Depends(_context)]


def _abilities(ctx: service.CatalogContext) -> dict[str, bool]:
    """What the sub-navigation and buttons offer this person."""
    steward = ctx.actor.kind == "system" or ctx.actor.can(Permission.STEWARD_DATA)
    return {"steward": steward, "reviewer": ctx.is_reviewer()}


def _require_steward(ctx: service.CatalogContext) -> None:
    if not _abilities(ctx)["steward"]:
        raise PermissionDenied("only data stewards register and change catalog resources")


def _page(
    request: Request,
    who: ConsoleUser,
    ctx: service.CatalogContext,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    response = render_console(
        request, who, template, {"can": _abilities(ctx), "section": "", **context}
    )
    response.status_code = status_code
    return response


# -- search (console and public) --------------------------------------------------------------


def _search(index: CatalogSearch, view: SearchView) -> SearchView:
    try:
        result = index.search(
            q=view.q,
            filters=view.filters,
            sort=view.sort,
            offset=view.offset,
            limit=PAGE_SIZE,
        )
    except ValidationFailed as exc:
        problems = [str(d.get("reason", "")) for d in exc.details] or [exc.message]
        return replace(view, result=None, problems=problems)
    return replace(view, result=result)


def _partial(request: Request) -> bool:
    """An htmx request for the results only (a history restore needs the whole page)."""
    return bool(request.headers.get("hx-request")) and not request.headers.get(
        "hx-history-restore-request"
    )


@router.get(CONSOLE)
def console_search(
    request: Request, who: ConsoleUserDep, ctx: ContextDep, index: SearchDep
) -> HTMLResponse:
    view = SearchView.from_query(
        request.query_params.multi_items(), base=CONSOLE, api="/api/v1/catalog/resources"
    )
    view = _search(index, view)
    template = "catalog/_results.html" if _partial(request) else "catalog/search.html"
    return _page(
        request,
        who,
        ctx,
        template,
        {"view": view, "facets": PAGE_FACETS, "public": False, "section": "search"},
    )


@router.get(PUBLIC)
def public_search(request: Request, index: OpenSearchDep) -> HTMLResponse:
    view = SearchView.from_query(
        request.query_params.multi_items(), base=PUBLIC, api="/api/v1/open-catalog/resources"
    )
    view = _search(index, view)
    template = "catalog/_results.html" if _partial(request) else "catalog/search.html"
    return render(request, template, {"view": view, "facets": PAGE_FACETS, "public": True})


def _not_found(request: Request, message: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {
            "status": 404,
            "title": "not_found",
            "message": message,
            "request_id": getattr(request.state, "request_id", ""),
        },
        status_code=404,
    )


@router.get(PUBLIC + "/{code}")
def public_resource(request: Request, code: str, session: SessionDep) -> HTMLResponse:
    """A published, openable resource; anything else looks like a missing page."""
    try:
        resource = service.get_resource(session, code=code, actor=None)
        events = service.history(session, code=code, actor=None)
    except NotFound as exc:
        return _not_found(request, exc.message)
    published = [e for e in events if e.action == "publish"]
    # Link only related resources the public may open; the others stay unnamed.
    related = [c for c in resource.related if _publicly_visible(session, c)]
    resource = resource.model_copy(update={"related": related})
    return render(
        request,
        "catalog/public_resource.html",
        {"resource": resource, "published": published, "public": True},
    )


def _publicly_visible(session: Session, code: str) -> bool:
    try:
        service.get_resource(session, code=code, actor=None)
    except NotFound:
        return False
    return True


# -- the steward's work, the review queue, import ---------------------------------------------


@router.get(CONSOLE + "/mine")
def my_work(
    request: Request, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> Response:
    _require_steward(ctx)
    working = service.list_working(session, actor=who.actor)
    groups = [
        (status, [r for r in working if r.status is status])
        for status in (
            ResourceStatus.RETURNED,
            ResourceStatus.DRAFT,
            ResourceStatus.SUBMITTED,
            ResourceStatus.PUBLISHED,
            ResourceStatus.RETIRED,
        )
    ]
    return _page(
        request,
        who,
        ctx,
        "catalog/mine.html",
        {"groups": groups, "count": len(working), "section": "mine"},
    )


def _review_page(
    request: Request,
    who: ConsoleUser,
    ctx: service.CatalogContext,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    if not ctx.is_reviewer():
        raise PermissionDenied("only approvers of the big-data bureau review catalog submissions")
    queue = service.list_working(session, actor=who.actor, status=ResourceStatus.SUBMITTED)
    items = []
    for resource in queue:
        published = service.published_spec(session, resource.code)
        submitted = last_event(session, resource.code, "submit")
        items.append(
            {
                "resource": resource,
                "published_version": published[0] if published else 0,
                "changes": pending_changes(session, resource),
                "submitted": submitted,
            }
        )
    return _page(
        request,
        who,
        ctx,
        "catalog/review.html",
        {
            "items": items,
            "errors": errors or {},
            "done": request.query_params.get("done", ""),
            "done_code": request.query_params.get("code", ""),
            "section": "review",
        },
        status_code=status_code,
    )


@router.get(CONSOLE + "/review")
def review_queue(
    request: Request, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> HTMLResponse:
    return _review_page(request, who, ctx, session)


@router.get(CONSOLE + "/import")
def import_form(request: Request, who: ConsoleUserDep, ctx: ContextDep) -> HTMLResponse:
    _require_steward(ctx)
    return _page(request, who, ctx, "catalog/import.html", {"section": "import"})


@router.post(CONSOLE + "/import")
async def import_upload(
    request: Request, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> HTMLResponse:
    """Import an Excel or CSV catalog: the result, or the row-by-row problem report."""
    await check_csrf(request)
    _require_steward(ctx)
    context: dict[str, Any] = {"section": "import"}
    form = await request.form()
    try:
        upload = form.get("file")
        submit_after = form.get("submit") == "1"
        if not isinstance(upload, UploadFile) or not upload.filename:
            context["error"] = _t(request, "catalog.import.no_file")
            return _page(request, who, ctx, "catalog/import.html", context, status_code=422)
        filename = upload.filename
        data = await upload.read(MAX_IMPORT_BYTES + 1)
    finally:
        await form.close()  # uploads spill to temporary files; close them now
    context["filename"] = filename
    if len(data) > MAX_IMPORT_BYTES:
        context["error"] = _t(request, "catalog.import.too_large")
        return _page(request, who, ctx, "catalog/import.html", context, status_code=413)
    try:
        # Reading a large workbook takes a while: off the event loop, like the API's import.
        result = await run_in_threadpool(
            import_catalog, session, data=data, filename=filename, ctx=ctx, submit=submit_after
        )
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        if exc.details and all("sheet" in d for d in exc.details):
            context["problems"] = exc.details
        else:
            context["error"] = exc.message
        return _page(request, who, ctx, "catalog/import.html", context, status_code=422)
    context["result"] = result
    return _page(request, who, ctx, "catalog/import.html", context)


def _t(request: Request, key: str, **params: object) -> str:
    return translate(page_language(request), key, **params)


# -- registering and changing -----------------------------------------------------------------


def _form_page(
    request: Request,
    who: ConsoleUser,
    ctx: service.CatalogContext,
    form: ResourceForm,
    *,
    resource: ResourcePublic | None,
    session: Session,
    status_code: int = 200,
) -> HTMLResponse:
    action = f"{CONSOLE}/{quote(resource.code)}/edit" if resource else f"{CONSOLE}/new"
    department = who.actor.department
    names = {d.code: d.name for d in identity.list_departments(session)}
    return _page(
        request,
        who,
        ctx,
        "catalog/edit.html",
        {
            "form": form,
            "resource": resource,
            "action": action,
            "department": resource.department_name
            if resource
            else names.get(department, department),
            "field_types": list(FieldType),
            "grades": list(Grade),
            "share_methods": list(ShareMethod),
            "section": "edit" if resource else "new",
        },
        status_code=status_code,
    )


@router.get(CONSOLE + "/new")
def new_form(
    request: Request, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> HTMLResponse:
    _require_steward(ctx)
    return _form_page(request, who, ctx, ResourceForm.blank(), resource=None, session=session)


@router.get(CONSOLE + "/field-row")
def field_row(
    request: Request, who: ConsoleUserDep, ctx: ContextDep, index: int = Query(0, ge=0, le=999)
) -> HTMLResponse:
    """One more blank field row for the edit form (htmx), with the next "add" button."""
    return _page(
        request,
        who,
        ctx,
        "catalog/_field_row.html",
        {
            "form": ResourceForm(),
            "row": FieldRow(),
            "index": index,
            "field_types": list(FieldType),
            "grades": list(Grade),
            "next_index": index + 1,
        },
    )


async def _posted_form(request: Request) -> tuple[ResourceForm, FormData]:
    await check_csrf(request)
    posted = await request.form()
    values = {key: posted.get(key) for key in posted}
    form = ResourceForm.from_form(values, [str(v) for v in posted.getlist("share_methods")])
    return form, posted


@router.post(CONSOLE + "/new")
async def create(
    request: Request, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> Response:
    form, posted = await _posted_form(request)
    _require_steward(ctx)
    if "add_rows" in posted:
        form.add_rows()
        return _form_page(request, who, ctx, form, resource=None, session=session)
    spec = form.to_spec(department_code=who.actor.department, lang=page_language(request))
    if spec is not None and form.has_errors:
        _more_problems(session, form, spec)
    elif spec is not None:
        try:
            created = service.create_resource(session, spec=spec, ctx=ctx)
        except ValidationFailed as exc:
            session.rollback()
            form.add_problems(exc.details or [{"field": "", "reason": exc.message}])
        except Conflict as exc:
            session.rollback()
            form.add_error("code", exc.message)
        else:
            return _done(created.code, "created")
    return _form_page(request, who, ctx, form, resource=None, session=session, status_code=422)


def _more_problems(session: Session, form: ResourceForm, spec: ResourceSpec) -> None:
    """Beside the form's own problems, the catalog rules the rest breaks: all in one round."""
    try:
        service.validate(session, spec)
    except ValidationFailed as exc:
        form.add_problems(exc.details)


def _editable(session: Session, code: str, ctx: service.CatalogContext) -> ResourcePublic:
    resource = service.get_resource(session, code=code, actor=ctx.actor)
    if not ctx.may_edit(resource.department_code):
        raise PermissionDenied(f"only data stewards of {resource.department_code} edit {code}")
    return resource


@router.get(CONSOLE + "/{code}/edit")
def edit_form(
    request: Request, code: str, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> HTMLResponse:
    resource = _editable(session, code, ctx)
    form = ResourceForm.from_resource(resource)
    return _form_page(request, who, ctx, form, resource=resource, session=session)


@router.post(CONSOLE + "/{code}/edit")
async def update(
    request: Request, code: str, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> Response:
    form, posted = await _posted_form(request)
    resource = _editable(session, code, ctx)
    form.values["code"] = resource.code
    if "add_rows" in posted:
        form.add_rows()
        return _form_page(request, who, ctx, form, resource=resource, session=session)
    spec = form.to_spec(department_code=resource.department_code, lang=page_language(request))
    if spec is not None and form.has_errors:
        _more_problems(session, form, spec)
    elif spec is not None:
        try:
            service.update_resource(
                session, code=code, spec=spec, reason=form.value("reason").strip(), ctx=ctx
            )
        except (ValidationFailed, Conflict) as exc:
            session.rollback()
            form.add_problems(exc.details or [{"field": "", "reason": exc.message}])
        else:
            return _done(code, "saved")
    return _form_page(request, who, ctx, form, resource=resource, session=session, status_code=422)


def _done(code: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"{CONSOLE}/{quote(code)}?done={what}", status_code=303)


# -- one resource -----------------------------------------------------------------------------


def _resource_page(
    request: Request,
    who: ConsoleUser,
    ctx: service.CatalogContext,
    session: Session,
    code: str,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    resource = service.get_resource(session, code=code, actor=who.actor)
    steward = ctx.may_edit(resource.department_code)
    events = service.history(session, code=code, actor=who.actor)
    published = service.published_spec(session, code) if steward else None
    pending = (
        pending_changes(session, resource)
        if steward and resource.status is not ResourceStatus.PUBLISHED and published
        else []
    )
    live = resource.status is not ResourceStatus.RETIRED
    return _page(
        request,
        who,
        ctx,
        "catalog/resource.html",
        {
            "resource": resource,
            "events": events,
            "pending": pending,
            "published_version": published[0] if published else resource.version,
            "may_edit": steward and resource.status in service.EDITABLE,
            "may_submit": steward
            and resource.status in (ResourceStatus.DRAFT, ResourceStatus.RETURNED),
            "may_retire": live and (steward or ctx.is_reviewer()),
            "links": resource_links(resource, who.actor),
            "errors": errors or {},
            "done": request.query_params.get("done", ""),
            "section": "search",
        },
        status_code=status_code,
    )


@router.get(CONSOLE + "/{code}")
def resource_page(
    request: Request, code: str, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> HTMLResponse:
    return _resource_page(request, who, ctx, session, code)


@router.post(CONSOLE + "/{code}/submit")
async def submit(
    request: Request, code: str, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> Response:
    await check_csrf(request)
    reason = _form_text(await request.form(), "reason")
    try:
        service.submit(session, code=code, reason=reason, ctx=ctx)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _resource_page(
            request, who, ctx, session, code, errors={"submit": exc.message}, status_code=422
        )
    return _done(code, "submitted")


@router.post(CONSOLE + "/{code}/retire")
async def retire(
    request: Request, code: str, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> Response:
    await check_csrf(request)
    reason = _form_text(await request.form(), "reason")
    if not reason:
        return _resource_page(
            request,
            who,
            ctx,
            session,
            code,
            errors={"retire": _t(request, "catalog.retire.reason_required")},
            status_code=422,
        )
    try:
        service.retire(session, code=code, reason=reason, ctx=ctx)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _resource_page(
            request, who, ctx, session, code, errors={"retire": exc.message}, status_code=422
        )
    return _done(code, "retired")


@router.post(CONSOLE + "/{code}/review")
async def review(
    request: Request, code: str, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> Response:
    """Approve (publish) or return with reasons, from the review queue."""
    await check_csrf(request)
    posted = await request.form()
    decision = _form_text(posted, "decision")
    reason = _form_text(posted, "reason")
    approve = decision == "approve"
    if not approve and not reason:
        return _review_page(
            request,
            who,
            ctx,
            session,
            errors={code: _t(request, "catalog.review.reason_required")},
            status_code=422,
        )
    try:
        service.review(session, code=code, approve=approve, reason=reason, ctx=ctx)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _review_page(request, who, ctx, session, errors={code: exc.message}, status_code=422)
    done = "approved" if approve else "returned"
    return RedirectResponse(f"{CONSOLE}/review?done={done}&code={quote(code)}", status_code=303)


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
