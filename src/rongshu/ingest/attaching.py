"""Console pages that attach a source and map it: upload a file or give a database or API
address (the source is read once before it is saved, so a wrong one is explained in the form),
then preview its first rows and choose each catalog field's source column.

JSON twins: ``POST /api/v1/ingest/uploads``, ``POST /api/v1/ingest/sources``,
``GET .../preview`` and ``PUT .../mapping``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import ResourceStatus
from rongshu.core.errors import Conflict, PermissionDenied, RongshuError, ValidationFailed
from rongshu.core.i18n import translate
from rongshu.core.platform import Platform
from rongshu.ingest import access, browse, service, uploads
from rongshu.ingest.api import upload_limit
from rongshu.ingest.browse import PREVIEW_ROWS, SourcePreview
from rongshu.ingest.connectors import SourceSpec, open_connector
from rongshu.ingest.forms import ENCODINGS, ORIGINS, AttachForm, MappingForm
from rongshu.ingest.mapping import FieldMapping
from rongshu.ingest.models import IngestSource
from rongshu.ingest.pages import CONSOLE, ingest_page, source_url
from rongshu.ingest.schemas import LoadMode
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf
from rongshu.web.pages import ConsoleUser, ConsoleUserDep
from rongshu.web.templating import page_language

router = APIRouter(include_in_schema=False)


# -- attaching a source --------------------------------------------------------------------------


def _attach_page(
    request: Request,
    who: ConsoleUser,
    session: Session,
    form: AttachForm,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    department = who.actor.department
    if not (department and access.stewards(who.actor, department)):
        raise PermissionDenied("only data stewards attach sources")
    form.forget_password()
    resources = [
        r
        for r in catalog.list_working(session, actor=who.actor)
        if r.department_code == department and r.status is not ResourceStatus.RETIRED
    ]
    return ingest_page(
        request,
        who,
        "ingest/attach.html",
        {
            "form": form,
            "resources": resources,
            "origins": ORIGINS,
            "encodings": ENCODINGS,
            "modes": list(LoadMode),
            "max_mb": request.app.state.platform.settings.ingest_upload_max_mb,
            "section": "attach",
        },
        status_code=status_code,
    )


@router.get(CONSOLE + "/attach")
def attach_form(
    request: Request, who: ConsoleUserDep, session: SessionDep, resource: str = ""
) -> HTMLResponse:
    form = AttachForm.blank()
    form.values["resource_code"] = resource
    return _attach_page(request, who, session, form)


@router.post(CONSOLE + "/attach")
async def attach(
    request: Request, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """Attach a source: store the upload, check the source can be read, save, then map it."""
    lang = page_language(request)
    limit = upload_limit(platform)
    if int(request.headers.get("content-length") or 0) > limit + 1024 * 1024:
        form = AttachForm.blank()  # far too large: refused before the body is read
        form.add("file", _too_large(lang, platform))
        return _attach_page(request, who, session, form, status_code=413)
    await check_csrf(request)
    posted = await request.form()
    stored = None
    try:
        form = AttachForm.from_form(posted)
        upload = posted.get("file")
        has_file = isinstance(upload, UploadFile) and bool(upload.filename)
        form.check_origin(has_file=has_file, lang=lang)
        if form.has_errors:
            return _attach_page(request, who, session, form, status_code=422)
        _require_steward_of(session, who, platform, form.value("resource_code"))
        if form.origin == "file" and isinstance(upload, UploadFile):
            try:
                stored = await run_in_threadpool(
                    uploads.store_upload,
                    upload.file,
                    filename=upload.filename or "",
                    data_dir=platform.settings.data_dir,
                    department=who.actor.department,
                    max_bytes=limit,
                )
            except uploads.UploadTooLarge:
                form.add("file", _too_large(lang, platform))
                return _attach_page(request, who, session, form, status_code=413)
            except ValidationFailed as exc:
                form.add("file", exc.message)
                return _attach_page(request, who, session, form, status_code=422)
    finally:
        await posted.close()
    created = await run_in_threadpool(_create, session, who, platform, form, stored)
    if created is None:
        if stored is not None:
            stored.path.unlink(missing_ok=True)
        session.rollback()
        return _attach_page(request, who, session, form, status_code=422)
    return RedirectResponse(source_url(created.resource_code, created.name, "/mapping"), 303)


def _too_large(lang: str, platform: Platform) -> str:
    return translate(lang, "ingest.attach.too_large", mb=platform.settings.ingest_upload_max_mb)


def _require_steward_of(
    session: Session, who: ConsoleUser, platform: Platform, resource_code: str
) -> None:
    department = browse.resource_department(session, resource_code)
    access.require(
        access.stewards(who.actor, department),
        who.actor,
        platform.ledger,
        action="ingest.source_create",
        object_=f"resource:{resource_code}",
        message=f"only data stewards of {department} attach its sources",
    )


def _create(
    session: Session,
    who: ConsoleUser,
    platform: Platform,
    form: AttachForm,
    stored: uploads.StoredUpload | None,
) -> IngestSource | None:
    """Check the source opens and has columns, then save it; None with the form's problems."""
    kind = stored.kind if stored else "sql" if form.origin == "database" else "http"
    options = form.options(kind=kind, path=str(stored.path) if stored else None)
    data = form.source_create(kind=kind, options=options)
    if data is None:
        return None
    try:
        uploads.check_location(
            kind, options, settings=platform.settings, department=who.actor.department
        )
        if not open_connector(SourceSpec(kind=kind, options=options)).columns():
            raise ValidationFailed("the source has no columns")
        service.create_source(
            session, data=data, actor=who.actor, ledger=platform.ledger, secret=platform.secret
        )
    except Conflict as exc:
        form.add("name", exc.message)
        return None
    except PermissionDenied:
        raise
    except RongshuError as exc:
        form.add_problems(exc.details, exc.message)
        return None
    return service.get_source(session, resource_code=data.resource_code, name=data.name)


# -- previewing and mapping ----------------------------------------------------------------------


def _mapping_page(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    row: IngestSource,
    form: MappingForm | None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The source's first rows and the mapping form; a source that cannot be read says why."""
    preview: SourcePreview | None = None
    error: RongshuError | None = None
    try:
        preview = browse.preview_source(
            session,
            resource_code=row.resource_code,
            name=row.name,
            actor=who.actor,
            ledger=platform.ledger,
            secret=platform.secret,
            rows=PREVIEW_ROWS,
        )
    except PermissionDenied:
        raise
    except RongshuError as exc:
        error = exc
    if form is None and preview is not None:
        form = MappingForm.from_mapping(preview.mapping, preview.fields)
    return ingest_page(
        request,
        who,
        "ingest/mapping.html",
        {
            "source": service.source_public(row),
            "preview": preview,
            "error": error,
            "form": form,
            "section": "sources",
        },
        status_code=error.status if error and status_code == 200 else status_code,
    )


def _mappable(
    session: Session, who: ConsoleUser, platform: Platform, resource_code: str, name: str
) -> IngestSource:
    row = service.get_source(session, resource_code=resource_code, name=name)
    access.require(
        access.stewards(who.actor, row.department_code),
        who.actor,
        platform.ledger,
        action="ingest.mapping_save",
        object_=f"source:{resource_code}/{name}",
        message=f"only data stewards of {row.department_code} map its sources",
    )
    return row


@router.get(CONSOLE + "/sources/{resource_code}/{name}/mapping")
def mapping_form(
    request: Request,
    resource_code: str,
    name: str,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> HTMLResponse:
    row = _mappable(session, who, platform, resource_code, name)
    return _mapping_page(request, who, session, platform, row, None)


@router.post(CONSOLE + "/sources/{resource_code}/{name}/mapping")
async def save_mapping(
    request: Request,
    resource_code: str,
    name: str,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    await check_csrf(request)
    posted = await request.form()
    return await run_in_threadpool(
        _save_mapping, request, who, session, platform, resource_code, name, dict(posted)
    )


def _save_mapping(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    resource_code: str,
    name: str,
    posted: dict[str, Any],
) -> Response:
    row = _mappable(session, who, platform, resource_code, name)
    fields = catalog.current_fields(session, resource_code)
    saved = FieldMapping.model_validate(row.mapping) if row.mapping else FieldMapping()
    form = MappingForm.from_form(posted, browse.target_fields(fields), saved)
    try:
        columns: list[str] | None = open_connector(
            SourceSpec(
                kind=row.kind, options=service.connector_options(row, secret=platform.secret)
            )
        ).columns()
    except RongshuError:
        columns = None  # unreadable now: check against the fields only; the load will tell
    try:
        service.save_mapping(
            session,
            resource_code=resource_code,
            name=name,
            mapping=form.mapping(columns or []),
            fields=fields,
            source_columns=columns,
            actor=who.actor,
            ledger=platform.ledger,
        )
    except ValidationFailed as exc:
        session.rollback()
        form.add_problems(exc.details, exc.message)
        return _mapping_page(request, who, session, platform, row, form, status_code=422)
    return RedirectResponse(source_url(resource_code, name) + "?done=mapped", 303)
