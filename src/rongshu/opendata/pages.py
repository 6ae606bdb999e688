"""The public portal's dataset pages: search with facets (``/datasets``), and one dataset
(``/datasets/{name}``) with its description, field dictionary, quality score, preview, chart,
downloads, older versions, API examples, ratings and comments.

Each page has a JSON twin (``/datasets.json``, ``/datasets/{name}.json``); the pages work
without scripts (forms are plain GET/POST; htmx only swaps the search results, scripts only draw
the chart). Downloads, DCAT and the application form for conditional data are other modules'
routes that these pages link to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from rongshu.catalog.schemas import OpenType
from rongshu.core.errors import PermissionDenied, ValidationFailed
from rongshu.core.i18n import translate
from rongshu.core.identity import service as identity
from rongshu.core.identity.models import User
from rongshu.core.identity.roles import Permission
from rongshu.core.platform import Platform
from rongshu.opendata import charts, conditional, feedback, service
from rongshu.opendata.browse import PAGE_SIZE, SORTS, DatasetView, may_read_rows
from rongshu.opendata.datastore import Datastore, Page
from rongshu.opendata.messages import register_opendata_messages
from rongshu.opendata.publishing import dataset_row
from rongshu.opendata.releases import file_key, release_file
from rongshu.opendata.schemas import (
    LICENCE_URLS,
    CommentCreate,
    DatasetPublic,
    ReleasePublic,
    ReleaseState,
)
from rongshu.opendata.search import FACETS, DatasetSearch
from rongshu.web.deps import (
    PlatformDep,
    SessionDep,
    check_csrf,
    public_base_url,
    request_id,
    session_user,
)
from rongshu.web.templating import page_language, register_nav, register_templates, render

router = APIRouter(include_in_schema=False)
PUBLIC: Final = "/datasets"
PREVIEW_ROWS: Final = 20
COMMENTS_SHOWN: Final = 50
#: Where members of the public sign in (``next`` is kept); staff use the console's form.
SIGN_IN: Final = "/account/login"

register_opendata_messages()
register_templates(Path(__file__).parent / "templates")
register_nav("nav.opendata", PUBLIC, permission=None, order=3)


# -- shared by the portal's pages ---------------------------------------------------------------


def sign_in_url(next_url: str) -> str:
    return f"{SIGN_IN}?next={quote(next_url)}"


def user_view(user: User | None) -> dict[str, object] | None:
    """What the page header shows of a signed-in member of staff."""
    if user is None:
        return None
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": sorted(r.role for r in user.roles),
        "department_code": user.department.code if user.department else "",
    }


def render_portal(
    request: Request,
    user: User | None,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A public page. Staff signed in keep the console's header; the public (signed in or
    not) get the portal's account bar (sign in, register, my account, sign out)."""
    actor = identity.user_actor(user, request_id=request_id(request)) if user else None
    staff = actor is not None and actor.can(Permission.VIEW_CONSOLE)
    done = request.query_params.get("done", "")
    key = f"opendata.done.{done}"
    message = translate(page_language(request), key) if done else ""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        template,
        {
            "done": "" if message == key else message,
            "sign_in_url": sign_in_url,
            "member": {"display_name": user.display_name} if user and not staff else None,
            "staff": staff,
            "here": here,
            **context,
        },
        status_code=status_code,
        actor=actor,
        user=user_view(user) if staff else None,
    )


def problems_of(lang: str, exc: ValidationError | ValidationFailed) -> dict[str, str]:
    """A form's problems by input name, in the page's language where we have words for them."""
    found: dict[str, str] = {}
    if isinstance(exc, ValidationFailed):
        for detail in exc.details or [{"field": ""}]:
            name = str(detail.get("field", ""))
            params = {k: v for k, v in detail.items() if k not in ("field", "reason")}
            for key in (
                f"opendata.problem.{name}.{detail.get('reason')}",
                f"opendata.invalid.{name}",
            ):
                text = translate(lang, key, **params)
                if text != key:
                    found.setdefault(name, text)
                    break
            found.setdefault(name, exc.message)
        return found
    return invalid_inputs(lang, exc, "opendata.invalid")


def invalid_inputs(lang: str, exc: ValidationError, prefix: str) -> dict[str, str]:
    """The schema's complaints by input name: the message ``<prefix>.<input>`` where there is
    one, else pydantic's (English) text."""
    found: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        key = f"{prefix}.{name}"
        text = translate(lang, key)
        found.setdefault(name, text if text != key else str(error["msg"]))
    return found


# -- search -------------------------------------------------------------------------------------


def _search(request: Request, view: DatasetView) -> DatasetView:
    index: DatasetSearch = request.app.state.dataset_search
    result = index.search(
        q=view.q,
        filters=view.filters,
        sort=view.ckan_sort,
        start=view.offset,
        rows=PAGE_SIZE,
        facet_fields=list(FACETS),
    )
    return DatasetView(
        base=view.base,
        q=view.q,
        filters=view.filters,
        sort=view.sort,
        page=view.page,
        result=result,
    )


def _facet_items(
    view: DatasetView, names: dict[str, str], lang: str
) -> dict[str, list[dict[str, Any]]]:
    """Each facet's values with their label, count and whether chosen; chosen values that
    matched nothing stay listed (with 0) so they can be removed."""
    result = view.result
    items: dict[str, list[dict[str, Any]]] = {}
    for facet in FACETS:
        counts = dict(result.facets.get(facet, {})) if result else {}
        for value in view.filters.get(facet, []):
            counts.setdefault(value, 0)
        items[facet] = [
            {
                "value": value,
                "label": facet_label(facet, value, names, lang),
                "count": count,
                "selected": view.selected(facet, value),
            }
            for value, count in counts.items()
        ]
    return items


def facet_label(facet: str, value: str, names: dict[str, str], lang: str) -> str:
    """A facet value as a person reads it: a department's name, a theme's, a licence's."""
    if facet == "organization":
        return names.get(value, value)
    kinds = {"groups": "theme", "license_id": "licence", "access": "access"}
    if facet in kinds:
        key = f"opendata.{kinds[facet]}.{value}"
        text = translate(lang, key)
        return value if text == key else text
    return value


@router.get(PUBLIC)
def search_page(request: Request, platform: PlatformDep, session: SessionDep) -> HTMLResponse:
    view = DatasetView.from_query(request.query_params.multi_items())
    user = session_user(request, platform, session)
    lang = page_language(request)
    try:
        view = _search(request, view)
    except ValidationFailed as exc:
        view = DatasetView(q=view.q, filters=view.filters, problems=[exc.message])
    partial = bool(request.headers.get("hx-request")) and not request.headers.get(
        "hx-history-restore-request"
    )
    template = "opendata/_results.html" if partial else "opendata/search.html"
    names = identity.department_names(session)
    context = {
        "view": view,
        "facets": _facet_items(view, names, lang),
        "sorts": list(SORTS),
    }
    return render_portal(request, user, template, context)


@router.get(PUBLIC + ".json")
def search_json(request: Request, session: SessionDep) -> JSONResponse:
    """The search page's JSON twin: the same query parameters, one page of datasets, facets."""
    view = _search(request, DatasetView.from_query(request.query_params.multi_items()))
    names = identity.department_names(session)
    lang = page_language(request)
    result = view.result
    assert result is not None  # noqa: S101  (_search always sets it)
    return JSONResponse(
        {
            "ok": True,
            "count": result.count,
            "page": view.page,
            "page_size": PAGE_SIZE,
            "next_url": view.next_json_url(),
            "datasets": [d.model_dump(mode="json") for d in result.datasets],
            "facets": _facet_items(view, names, lang),
        }
    )


# -- one dataset --------------------------------------------------------------------------------


def _preview(request: Request, path: Path) -> Page:
    datastore: Datastore = request.app.state.datastore
    return datastore.search(path, limit=PREVIEW_ROWS, include_total=False)


def _files(release: ReleasePublic) -> list[dict[str, Any]]:
    """A release's downloads with their file keys (csv, csv-gb18030, xlsx, json, parquet)."""
    return [
        {"key": file_key(f.format, f.encoding), "file": f}
        for f in release.files
        if release.state is ReleaseState.READY
    ]


def schema_org(dataset: DatasetPublic, base: str) -> dict[str, Any]:
    """The dataset as a schema.org ``Dataset`` (JSON-LD), with a ``DataDownload`` per file of
    its latest release; conditional data says it is not free to take."""
    page = f"{base}{PUBLIC}/{quote(dataset.name)}"
    latest = dataset.latest
    described: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": page,
        "url": page,
        "name": dataset.title,
        "description": dataset.notes or dataset.title,
        "identifier": dataset.resource_code,
        "keywords": list(dataset.tags),
        "license": LICENCE_URLS[dataset.licence],
        "isAccessibleForFree": dataset.access is not OpenType.CONDITIONAL,
        "inLanguage": "zh-CN",
        "dateCreated": dataset.created_at.isoformat(),
        "dateModified": dataset.updated_at.isoformat(),
        "creator": {"@type": "GovernmentOrganization", "name": dataset.department_name},
        "publisher": {"@type": "GovernmentOrganization", "name": dataset.department_name},
        "includedInDataCatalog": {"@type": "DataCatalog", "url": f"{base}{PUBLIC}"},
    }
    if dataset.spatial:
        described["spatialCoverage"] = {"@type": "Place", "name": dataset.spatial}
    if dataset.temporal_start or dataset.temporal_end:
        start = dataset.temporal_start.isoformat() if dataset.temporal_start else ".."
        end = dataset.temporal_end.isoformat() if dataset.temporal_end else ".."
        described["temporalCoverage"] = f"{start}/{end}"
    if latest is not None:
        described["version"] = str(latest.version)
        described["variableMeasured"] = [f.label for f in latest.fields]
        described["distribution"] = [
            {
                "@type": "DataDownload",
                "encodingFormat": f.format.label,
                "contentUrl": f"{base}{f.url}" if f.url.startswith("/") else f.url,
                "contentSize": f"{f.size} B",
                "sha256": f.sha256,
            }
            for f in latest.files
        ]
    return described


def _dataset_context(
    request: Request,
    platform: Platform,
    session: Session,
    dataset: DatasetPublic,
    user: User | None,
    measure: str | None,
) -> dict[str, Any]:
    readable = may_read_rows(session, dataset, user)
    latest = dataset.latest
    preview: Page | None = None
    plan: charts.ChartPlan | None = None
    if latest is not None and readable:
        path = release_file(platform.settings, dataset.name, latest.version, "parquet")
        preview = _preview(request, path)
        plan = charts.plan_chart(path, latest.fields)
    labels = {f.name: f.label for f in latest.fields} if latest else {}
    older = [
        r
        for r in service.list_releases(session, dataset.name)
        if latest is None or r.version != latest.version
    ]
    comments, comment_count = feedback.list_comments(
        session, name=dataset.name, limit=COMMENTS_SHOWN
    )
    chosen = plan.measure(measure) if plan else None
    base = public_base_url(request, platform)
    return {
        "dataset": dataset,
        "schema_org": schema_org(dataset, base),
        "condition": conditional.open_condition(session, dataset.resource_code)
        if dataset.access is OpenType.CONDITIONAL
        else "",
        "readable": readable,
        "signed_in": user is not None,
        "preview": preview,
        "labels": labels,
        "plan": plan,
        "measure": chosen,
        "files": _files(latest) if latest else [],
        "older": [{"release": r, "files": _files(r)} for r in older],
        "comments": comments,
        "comment_count": comment_count,
        "stars": feedback.rating_summary(session, name=dataset.name),
        "base_url": base,
        "licence_url": LICENCE_URLS.get(dataset.licence, ""),
        # CKAN's datastore takes the dataset's name as the resource of its latest release.
        "datastore_id": dataset.name,
    }


def _dataset_page(
    request: Request,
    platform: Platform,
    session: Session,
    name: str,
    *,
    count_view: bool = True,
    errors: dict[str, str] | None = None,
    posted: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    user = session_user(request, platform, session)
    row = dataset_row(session, name, active_only=True)
    if count_view:
        service.count(session, row.id, "views")
        session.expire(row)  # the UPDATE went past the loaded object
    dataset = service.dataset_public(session, row)
    measure = request.query_params.get("measure")
    context = _dataset_context(request, platform, session, dataset, user, measure)
    context.update({"errors": errors or {}, "posted": posted or {}})
    return render_portal(request, user, "opendata/dataset.html", context, status_code=status_code)


@router.get(PUBLIC + "/{name}.json")
def dataset_json(
    request: Request, name: str, platform: PlatformDep, session: SessionDep
) -> JSONResponse:
    """The dataset page's JSON twin: the dataset as the APIs show it."""
    dataset = service.get_dataset(session, name, base_url=public_base_url(request, platform))
    return JSONResponse(dataset.model_dump(mode="json"))


@router.get(PUBLIC + "/{name}/chart.json")
def chart_json(
    request: Request,
    name: str,
    platform: PlatformDep,
    session: SessionDep,
    measure: str | None = None,
) -> JSONResponse:
    """The points of the dataset page's chart (what the page's chart draws)."""
    dataset = service.get_dataset(session, name)
    user = session_user(request, platform, session)
    if not may_read_rows(session, dataset, user):
        raise PermissionDenied(
            f"dataset {dataset.name} is conditional open data: apply at "
            f"/datasets/{dataset.name}/apply"
        )
    latest = dataset.latest
    path = (
        release_file(platform.settings, dataset.name, latest.version, "parquet") if latest else None
    )
    plan = charts.plan_chart(path, latest.fields) if latest and path else None
    if plan is None or path is None:
        return JSONResponse({"ok": True, "kind": None, "x": [], "y": []})
    return JSONResponse({"ok": True, **charts.chart_data(path, plan, measure)})


@router.get(PUBLIC + "/{name}")
def dataset_page(
    request: Request, name: str, platform: PlatformDep, session: SessionDep
) -> HTMLResponse:
    return _dataset_page(request, platform, session, name)


@router.post(PUBLIC + "/{name}/comments")
async def post_comment(
    request: Request, name: str, platform: PlatformDep, session: SessionDep
) -> Response:
    """A signed-in person rates and/or comments; others are sent to sign in first."""
    user = session_user(request, platform, session)
    back = f"{PUBLIC}/{quote(name)}"
    if user is None:
        return RedirectResponse(sign_in_url(back + "#comments"), status_code=303)
    await check_csrf(request)
    form = await request.form()
    rating = form.get("rating")
    text = form.get("text")
    posted = {
        "rating": rating if isinstance(rating, str) else "",
        "text": text if isinstance(text, str) else "",
    }
    lang = page_language(request)
    errors: dict[str, str] = {}
    data: CommentCreate | None = None
    raw = posted["rating"].strip()
    if raw and raw not in {"1", "2", "3", "4", "5"}:
        errors["rating"] = translate(lang, "opendata.invalid.rating")
    elif not raw and not posted["text"].strip():
        errors["text"] = translate(lang, "opendata.invalid.empty_comment")
    else:
        try:
            data = CommentCreate(rating=int(raw) if raw else None, text=posted["text"])
        except ValidationError as exc:
            errors = problems_of(lang, exc)
    if data is None:
        return _dataset_page(
            request, platform, session, name,
            count_view=False, errors=errors, posted=posted, status_code=422,
        )  # fmt: skip
    actor = identity.user_actor(user, request_id=request_id(request))
    feedback.add_comment(
        session,
        name=name,
        data=data,
        actor=actor,
        author=user.display_name,
        ledger=platform.ledger,
    )
    return RedirectResponse(f"{back}?done=commented#comments", status_code=303)
