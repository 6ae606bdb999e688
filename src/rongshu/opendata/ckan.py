"""CKAN's Action API under ``/api/3/action/`` (and ``/api/action/``, where ckanapi calls it).

Existing CKAN clients and harvesters work unchanged: every action answers GET (parameters in
the query string, JSON-valued ones as JSON text) and POST (a JSON body or a form), inside
CKAN's envelope ``{help, success, result}``; errors come in CKAN's form
(``{help, success: false, error: {__type, message | field: [messages]}}``) with CKAN's status
codes, never in rongshu's own error shape, and never with a stack trace.

Reading goes through the portal's search index (``DatasetSearch``, rebuilt only when a dataset
changes) and the datastore; lists are capped as CKAN caps them. ``datastore_search`` on a
conditionally open dataset goes through the exchange gateway: the caller's app needs a grant
for the dataset's open-data service, and the call is audited and rate-limited like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from rongshu.catalog.schemas import OpenType
from rongshu.core.errors import NotFound, PermissionDenied, RongshuError
from rongshu.core.identity import service as identity
from rongshu.core.platform import Platform
from rongshu.exchange.gateway import Call, CallRequest, Gateway
from rongshu.opendata import service
from rongshu.opendata.ckan_envelope import BadRequest, failure, json_response, read_params
from rongshu.opendata.ckan_shapes import (
    bool_param,
    ckan_id,
    dict_param,
    facet_display,
    facet_filters,
    group,
    group_page,
    index_view,
    int_param,
    invalid,
    list_param,
    names_department,
    organization,
    package,
    parse_fq,
    required_param,
    resource_ident,
    resources,
    tag,
    text_param,
)
from rongshu.opendata.datastore import DEFAULT_LIMIT, Datastore
from rongshu.opendata.gateway import authorise_open_data
from rongshu.opendata.publishing import dataset_row
from rongshu.opendata.releases import release_file
from rongshu.opendata.schemas import Theme
from rongshu.opendata.search import FACETS, MAX_ROWS, DatasetSearch
from rongshu.web.deps import call_request, public_base_url

log = logging.getLogger("rongshu.opendata")

router = APIRouter(tags=["CKAN action API"])

CKAN_VERSION: Final = "2.10.4"
SITE_TITLE: Final = "榕数公共数据开放平台"
SITE_DESCRIPTION: Final = "政府部门依法开放的公共数据：数据集检索、下载与数据接口（兼容 CKAN）。"
#: ``ckan.action.package_list`` has no limit in CKAN; ours is capped like its other lists.
LIST_MAX: Final = 1000
DEFAULT_SORT: Final = "score desc, metadata_modified desc"
AUDIT_WAIT_SECONDS: Final = 30.0


# -- the request, as actions see it ------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What an action may use of the request; actions run in a worker thread."""

    platform: Platform
    search: DatasetSearch
    datastore: Datastore
    gateway: Gateway
    base_url: str
    call: CallRequest
    link_args: list[tuple[str, str]]


Action = Callable[[Context, dict[str, Any]], Any]
ACTIONS: dict[str, Action] = {}


def action(fn: Action) -> Action:
    ACTIONS[fn.__name__] = fn
    return fn


# -- actions -----------------------------------------------------------------------------------


@action
def status_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Return the site's CKAN version, title, address, default locale and extensions."""
    return {
        "ckan_version": CKAN_VERSION,
        "site_title": SITE_TITLE,
        "site_url": ctx.base_url,
        "site_description": SITE_DESCRIPTION,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore", "dcat"],
    }


@action
def site_read(ctx: Context, params: dict[str, Any]) -> bool:
    """Return ``true``: the site may be read."""
    return True


@action
def help_show(ctx: Context, params: dict[str, Any]) -> str | None:
    """Return the help text of an action.

    :param name: the action's name, e.g. ``package_search``
    """
    name = required_param(params, "name")
    found = ACTIONS.get(name)
    if found is None:
        raise NotFound(f"action {name} does not exist")
    return found.__doc__


@action
def package_list(ctx: Context, params: dict[str, Any]) -> list[str]:
    """Return the names of the site's datasets, by name.

    :param limit: how many names (optional; at most 1000, which is also the default)
    :param offset: how many names to skip (optional)
    """
    limit = min(int_param(params, "limit", LIST_MAX), LIST_MAX)
    offset = int_param(params, "offset", 0)
    names = sorted(index_view(ctx.search.index()).by_name)
    return names[offset : offset + limit]


@action
def package_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Return a dataset (package) with its resources (the files of the latest release).

    :param id: the dataset's id or name (its resource code works too)
    """
    ident = required_param(params, "id")
    name = index_view(ctx.search.index()).dataset_name(ident)
    with ctx.platform.db.session_scope() as session:
        dataset = service.get_dataset(session, name)
    return package(dataset, ctx.base_url)


@action
def package_search(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Search the datasets.

    :param q: words to find in titles, tags, descriptions, field names, departments
    :param fq: filters, e.g. ``organization:sthj tags:"空气质量" res_format:CSV``; fields
        organization, owner_org, groups, tags, res_format, license_id, access; clauses
        separated by spaces or AND all hold; ``tags:(a OR b)`` accepts either
    :param fq_list: more such filters, a list
    :param sort: e.g. ``score desc, metadata_modified desc`` (the default), ``name asc``,
        ``title_string asc``, ``metadata_created desc``, ``views desc``
    :param rows: results per page (default 10, at most 1000)
    :param start: results to skip
    :param facet.field: a JSON list of facets to count, e.g. ``["organization", "tags"]``
    :param facet.limit: values per facet (default 50; -1: all)
    """
    q = text_param(params, "q").strip()
    if q in ("*:*", "*"):
        q = ""
    rows = int_param(params, "rows", 10, maximum=MAX_ROWS)
    start = int_param(params, "start", 0)
    sort = text_param(params, "sort").strip() or DEFAULT_SORT
    facet_fields = list_param(params, "facet.field")
    unknown = [f for f in facet_fields if f not in FACETS]
    if unknown:
        raise invalid("facet.field", f"cannot count {', '.join(unknown)}; use {', '.join(FACETS)}")
    facet_limit = int_param(params, "facet.limit", 50, minimum=-1)
    if facet_limit < 0:
        facet_limit = LIST_MAX
    index = ctx.search.index()
    catalog = index_view(index)
    more = params.get("fq_list")
    if isinstance(more, str) and not more.lstrip().startswith("["):
        more = [more]  # one filter, commas and all
    fq = " ".join([text_param(params, "fq"), *list_param({"fq_list": more}, "fq_list")])
    filters, all_of, nothing = facet_filters(parse_fq(fq), catalog.fq)
    if nothing:
        filters["access"] = []  # a filter no dataset passes
    found = index.search(
        q=q,
        filters=filters,
        all_of=all_of,
        sort=sort,
        start=start,
        rows=rows,
        facet_fields=facet_fields,
        facet_limit=facet_limit,
    )
    titles = {code: title for code, (title, _) in catalog.departments.items()}
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, dict[str, Any]] = {}
    for facet, counts in found.facets.items():
        items: list[dict[str, Any]] = []
        for value, count in counts.items():
            shown, display = facet_display(facet, value, titles)
            items.append({"name": shown, "display_name": display, "count": count})
        facets[facet] = {str(item["name"]): int(item["count"]) for item in items}
        search_facets[facet] = {"title": facet, "items": items}
    return {
        "count": found.count,
        "sort": sort,
        "facets": facets,
        "search_facets": search_facets,
        "results": [package(d, ctx.base_url) for d in found.datasets],
    }


@action
def resource_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Return one resource: a file of a dataset's latest release.

    :param id: the resource's id, ``<dataset name>.<file>``, e.g. ``350100-sthj-0001.csv``
    """
    ident = required_param(params, "id")
    name, key = resource_ident(ident)
    if key is None:
        raise NotFound(f"no resource {ident}")
    with ctx.platform.db.session_scope() as session:
        dataset = service.get_dataset(session, name)
    package_id = ckan_id("package", dataset.name)
    for found in resources(dataset, dataset.latest, package_id, ctx.base_url):
        if found["id"] == f"{dataset.name}.{key}":
            return found
    raise NotFound(f"no resource {ident}")


@action
def organization_list(ctx: Context, params: dict[str, Any]) -> list[Any]:
    """Return the departments that have opened datasets (CKAN organizations).

    :param all_fields: whole organizations instead of names (at most 25 a page)
    :param sort: ``title asc`` (default), ``name``, ``package_count``, asc or desc
    :param limit: at most 1000 (25 with all_fields)
    :param offset: organizations to skip
    :param organizations: only these (names)
    """
    catalog = index_view(ctx.search.index())
    items = [
        organization(code, title, package_count=n)
        for code, (title, n) in catalog.departments.items()
    ]
    return group_page(params, items, "organizations")


def _packages_of(ctx: Context, facet: str, value: str, params: dict[str, Any]) -> list[Any]:
    if not bool_param(params, "include_datasets", False):
        return []
    found = ctx.search.index().search(
        filters={facet: [value]}, sort="name asc", rows=MAX_ROWS, start=0
    )
    return [package(d, ctx.base_url) for d in found.datasets]


@action
def organization_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Return a department as a CKAN organization, with its dataset count.

    :param id: the organization's id or name (the department code in lower case)
    :param include_datasets: include its datasets (at most 1000; default false)
    """
    ident = required_param(params, "id")
    catalog = index_view(ctx.search.index())
    code = catalog.department(ident)
    if code is not None:
        title, count = catalog.departments[code]
    else:
        with ctx.platform.db.session_scope() as session:
            known = {d.code: d.name for d in identity.list_departments(session)}
        code = next((c for c in known if names_department(ident, c)), None)
        if code is None:
            raise NotFound(f"no organization {ident}")
        title, count = known[code], 0
    shown = organization(code, title, package_count=count)
    shown["packages"] = _packages_of(ctx, "organization", code, params)
    shown["users"] = []
    shown["extras"] = [{"key": "department_code", "value": code}]
    return shown


def _theme(ident: str) -> Theme:
    for theme in Theme:
        if ident in (theme.value, ckan_id("group", theme.value)):
            return theme
    raise NotFound(f"no group {ident}")


@action
def group_list(ctx: Context, params: dict[str, Any]) -> list[Any]:
    """Return the themes that have datasets (CKAN groups).

    :param all_fields: whole groups instead of names (at most 25 a page)
    :param sort: ``title asc`` (default), ``name``, ``package_count``, asc or desc
    :param limit: at most 1000 (25 with all_fields)
    :param offset: groups to skip
    :param groups: only these (names)
    """
    catalog = index_view(ctx.search.index())
    items = [group(theme, package_count=n) for theme, n in catalog.themes.items()]
    return group_page(params, items, "groups")


@action
def group_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Return a theme as a CKAN group, with its dataset count.

    :param id: the group's id or name, e.g. ``environment``
    :param include_datasets: include its datasets (at most 1000; default false)
    """
    theme = _theme(required_param(params, "id"))
    catalog = index_view(ctx.search.index())
    shown = group(theme, package_count=catalog.themes.get(theme, 0))
    shown["packages"] = _packages_of(ctx, "groups", theme.value, params)
    shown["users"] = []
    shown["extras"] = []
    return shown


@action
def tag_list(ctx: Context, params: dict[str, Any]) -> list[Any]:
    """Return the tags of the datasets, by name (at most 1000).

    :param query: only tags containing this text (optional)
    :param all_fields: whole tags instead of names
    :param vocabulary_id: tags of a vocabulary (there are none: an empty list)
    """
    if text_param(params, "vocabulary_id"):
        return []
    query = text_param(params, "query").strip().lower()
    names = sorted(index_view(ctx.search.index()).tags)
    if query:
        names = [n for n in names if query in n.lower()]
    names = names[:LIST_MAX]
    if bool_param(params, "all_fields", False):
        return [tag(n) for n in names]
    return names


# -- datastore_search --------------------------------------------------------------------------


def _authorise(ctx: Context, name: str, resource_code: str) -> Call:
    """The gateway's call for a conditional dataset's data; 403 with how to apply without."""
    page = f"{ctx.base_url}/datasets/{name}"
    how = (
        f"dataset {name} is open on conditions (有条件开放): apply for it on its portal page "
        f"{page}, then send your app's API key in the Authorization header"
    )
    try:
        call = authorise_open_data(ctx.gateway, resource_code, ctx.call)
    except PermissionDenied:
        raise PermissionDenied(f"your app holds no grant for it: {how}") from None
    if call is None:
        raise PermissionDenied(how)
    return call


def _links(ctx: Context, limit: int, offset: int) -> dict[str, str]:
    path = "/api/3/action/datastore_search"
    args = [(k, v) for k, v in ctx.link_args if k != "offset"]
    links = {
        "start": f"{path}?{urlencode(args)}",
        "next": f"{path}?{urlencode([*args, ('offset', str(offset + limit))])}",
    }
    if offset > 0:
        links["prev"] = f"{path}?{urlencode([*args, ('offset', str(max(0, offset - limit)))])}"
    return links


@action
def datastore_search(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Return rows of a resource's data, filtered, searched, sorted and paged.

    Conditionally open datasets need an API key of an app holding a grant for them.

    :param resource_id: ``<dataset name>.csv`` (the resource with the datastore) or the
        dataset's name
    :param filters: ``{"field": value}`` or ``{"field": [values]}`` (rows equal to one of them)
    :param q: text to find in any field, or ``{"field": "text"}``
    :param fields: fields to return (a list or comma-separated text)
    :param sort: e.g. ``aqi desc, time asc`` (default: the row order, ``_id``)
    :param limit: rows per page (default 100, at most 32000)
    :param offset: rows to skip
    :param include_total: count the matching rows (default true)
    """
    resource_id = required_param(params, "resource_id")
    filters = dict_param(params, "filters")
    raw_q = params.get("q")
    q: str | dict[str, Any] | None = None
    if isinstance(raw_q, dict):
        q = raw_q
    elif raw_q not in (None, ""):
        text = text_param(params, "q")
        q = dict_param(params, "q") if text.strip().startswith("{") else text
    fields = list_param(params, "fields") or None
    sort_raw = params.get("sort")
    sort = (
        ", ".join(list_param(params, "sort"))
        if isinstance(sort_raw, list)
        else text_param(params, "sort")
    )
    limit = int_param(params, "limit", DEFAULT_LIMIT)
    offset = int_param(params, "offset", 0)
    include_total = bool_param(params, "include_total", True)
    records_format = text_param(params, "records_format", "objects")
    if records_format != "objects":
        raise invalid("records_format", "only objects is supported")

    name, _ = resource_ident(resource_id)
    with ctx.platform.db.session_scope() as session:
        row = dataset_row(session, name, active_only=True)
        dataset_id, name, code, access = row.id, row.name, row.resource_code, row.access
        release = service.latest_release(session, row.id)
        if release is None:
            raise NotFound(f"dataset {name} has no released data yet")
        version = release.lake_version
    call = _authorise(ctx, name, code) if access == OpenType.CONDITIONAL.value else None
    try:
        page = ctx.datastore.search(
            release_file(ctx.platform.settings, name, version, "parquet"),
            filters=filters,
            q=q,
            fields=fields,
            sort=sort or None,
            limit=limit,
            offset=offset,
            include_total=include_total,
            granted=call.grant.columns if call is not None else None,
            conditions=call.grant.conditions if call is not None else (),
        )
        with ctx.platform.db.session_scope() as session:
            service.count(session, dataset_id, "calls")
    except Exception as exc:
        if call is not None:
            ctx.gateway.failed(call, exc)
        raise
    if call is not None:
        ctx.gateway.finish(call, rows=len(page.records)).result(AUDIT_WAIT_SECONDS)
    result: dict[str, Any] = {
        "include_total": include_total,
        "resource_id": resource_id,
        "fields": page.fields,
        "records_format": "objects",
        "records": page.records,
        "limit": page.limit,
        "offset": page.offset,
        "_links": _links(ctx, page.limit, page.offset),
    }
    if page.total is not None:
        result["total"] = page.total
        result["total_was_estimated"] = False
    if filters is not None:
        result["filters"] = filters
    if q is not None:
        result["q"] = q
    if sort:
        result["sort"] = sort
    return result


# -- the route ---------------------------------------------------------------------------------


_SUMMARY = (
    "CKAN Action API: status_show, package_list/show/search, organization_list/show, "
    "group_list/show, tag_list, resource_show, datastore_search, help_show"
)
_DESCRIPTION = (
    "Answers in CKAN's envelope `{help, success, result}` and CKAN's error form; see "
    "docs/api.md. Parameters in the query string (GET) or a JSON object (POST)."
)


@router.get(
    "/api/3/action/{name}",
    operation_id="ckan_action_get",
    summary=_SUMMARY,
    description=_DESCRIPTION,
)
@router.post(
    "/api/3/action/{name}",
    operation_id="ckan_action_post",
    summary=_SUMMARY,
    description=_DESCRIPTION,
)
@router.api_route("/api/action/{name}", methods=["GET", "POST"], include_in_schema=False)
async def call_action(name: str, request: Request) -> Response:
    platform: Platform = request.app.state.platform
    base_url = public_base_url(request, platform)
    help_url = f"{base_url}/api/3/action/help_show?name={name}"
    try:
        found = ACTIONS.get(name)
        if found is None:
            raise BadRequest(f"Action name not known: {name}")
        params, body, link_args = await read_params(request)
        ctx = Context(
            platform=platform,
            search=request.app.state.dataset_search,
            datastore=request.app.state.datastore,
            gateway=request.app.state.gateway,
            base_url=base_url,
            call=call_request(request, body),
            link_args=link_args,
        )
        result = await run_in_threadpool(found, ctx, params)
    except (RongshuError, BadRequest) as exc:
        return failure(help_url, exc)
    except Exception as exc:
        log.exception("CKAN action %s failed", name)
        return failure(help_url, exc)
    return json_response({"help": help_url, "success": True, "result": result})


__all__ = ["ACTIONS", "router"]
