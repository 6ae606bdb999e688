"""The portal's files: each release's downloads and checksums, and its DCAT-AP exports.

Downloads stream the release's own file from disk (constant memory, HTTP ``Range`` for resumed
downloads), with the file's SHA-256 as ``ETag``, ``Digest`` and ``X-Checksum-SHA256`` so a
client can check what it got. Every version stays downloadable at its own address
(``/datasets/<name>/versions/<version>/download/<key>``); ``/datasets/<name>/download/<key>``
is the latest. A whole download is counted once (a resumed one is not counted again).

Conditional datasets (有条件开放) serve only a caller whose app holds a grant in force of the
dataset's exchange service (``<resource>.open_data``): an app's API key through the exchange
gateway (quota and audit as for any service call), or a signed-in member of the public whose
account's app holds one (audited as that user).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Final, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog.schemas import OpenType
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity import service as identity
from rongshu.core.platform import Platform
from rongshu.exchange import grants
from rongshu.exchange.gateway import Gateway
from rongshu.exchange.schemas import Condition, ServiceKind
from rongshu.exchange.services import service_code
from rongshu.lake.formats import EXCEL_MAX_ROWS
from rongshu.opendata import dcat, service
from rongshu.opendata.gateway import authorise_open_data
from rongshu.opendata.models import OpenAccount, OpenDataset, OpenRelease
from rongshu.opendata.releases import FILE_KEYS, FILE_KINDS, release_file
from rongshu.opendata.schemas import DownloadFormat
from rongshu.web.deps import (
    PlatformDep,
    SessionDep,
    call_request,
    public_base_url,
    request_id,
    session_user,
)

router = APIRouter(tags=["open data files"])

Version = Annotated[int, Path(ge=0, le=2**31 - 1, description="The lake version released.")]
FileKey = Annotated[str, Path(description="csv, csv-gb18030, xlsx, json or parquet.")]
Encoding = Annotated[
    str | None,
    Query(max_length=20, description="For csv: utf-8 (default, with a BOM) or gb18030."),
]

#: ``Content-Type`` of each release file.
CONTENT_TYPES: Final = {
    "csv": "text/csv; charset=utf-8",
    "csv-gb18030": "text/csv; charset=gb18030",
    "xlsx": dcat.MEDIA_TYPES[DownloadFormat.XLSX],
    "json": "application/json",
    "parquet": dcat.MEDIA_TYPES[DownloadFormat.PARQUET],
}
#: File name ending of each release file: its name on disk after ``data.`` (``gb18030.csv``).
EXTENSIONS: Final = {kind.key: kind.filename.partition(".")[2] for kind in FILE_KINDS}
_UNSAFE_IN_NAMES: Final = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_FILE_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The file (206 with a Range header)",
        "content": {t: {} for t in CONTENT_TYPES.values()},
    },
    401: {"description": "A conditional dataset, and no API key or sign-in"},
    403: {"description": "A conditional dataset, and no grant in force"},
    404: {"description": "No such dataset, version or file"},
    422: {"description": "Unknown file or encoding"},
}


def file_key_of(key: str, encoding: str | None) -> str:
    """The release file asked for: ``key``, or ``csv-gb18030`` for ``csv?encoding=gb18030``."""
    if key not in FILE_KEYS:
        raise ValidationFailed(
            f"unknown download {key!r}; use one of {', '.join(FILE_KEYS)}",
            details=[{"field": "key", "reason": "unknown", "value": key}],
        )
    if encoding is None or key != "csv":
        return key
    wanted = encoding.strip().lower().replace("-", "").replace("_", "")
    if wanted in ("", "utf8"):
        return "csv"
    if wanted == "gb18030":
        return "csv-gb18030"
    raise ValidationFailed(
        f"CSV downloads come in utf-8 or gb18030, not {encoding!r}",
        details=[{"field": "encoding", "reason": "utf-8 or gb18030", "value": encoding}],
    )


def ascii_filename(name: str, version: int, key: str) -> str:
    """The file's name in plain ASCII (``350100-sthj-0001-v3.csv``): old clients, SHA256SUMS."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    return f"{stem}-v{version}.{EXTENSIONS[key]}"


def content_disposition(title: str, name: str, version: int, key: str) -> str:
    """``attachment`` named ``<title>-v<version>.<ext>`` (RFC 6266), with an ASCII fallback."""
    clean = _UNSAFE_IN_NAMES.sub("_", title).strip(" .") or name
    utf8 = f"{clean}-v{version}.{EXTENSIONS[key]}"
    return (
        f'attachment; filename="{ascii_filename(name, version, key)}"; '
        f"filename*=UTF-8''{quote(utf8, safe='')}"
    )


def is_whole_download(request: Request) -> bool:
    """A GET of the file from its first byte: no Range, or one that starts at 0."""
    if request.method != "GET":
        return False
    asked = request.headers.get("range")
    if asked is None:
        return True
    _, _, spec = asked.partition("=")
    first = spec.split(",", 1)[0]
    return first.partition("-")[0].strip() == "0"


def _covers(columns: Sequence[str], conditions: Sequence[Condition], opened: Sequence[str]) -> bool:
    """A file holds every opened column and row: only a grant of all of them may take it."""
    return not conditions and set(opened) <= set(columns)


def _apply_hint(name: str) -> str:
    return f"apply for it at /datasets/{name}/apply"


def authorise_conditional(
    request: Request,
    platform: Platform,
    session: Session,
    dataset: OpenDataset,
    release: OpenRelease,
    key: str,
    *,
    whole: bool,
) -> None:
    """Let the download of a conditional dataset go ahead, audited; or refuse it (401/403)."""
    what = f"dataset:{dataset.name}@{release.lake_version}/{key}"
    rows = release.rows if whole else 0
    partial = (
        f"your grant for dataset {dataset.name} covers only some of its fields or rows; "
        "use the datastore API (/api/3/action/datastore_search) for them"
    )
    # Keys as CKAN clients send them too (the raw Authorization value), as datastore_search.
    gateway: Gateway = request.app.state.gateway
    call = authorise_open_data(gateway, dataset.resource_code, call_request(request, b""))
    if call is not None:
        call.purpose = f"download {what}"
        if not _covers(call.grant.columns, call.grant.conditions, dataset.columns):
            gateway.finish(call, outcome="denied", detail="partial grant")
            raise PermissionDenied(partial)
        gateway.finish(call, rows=rows)
        return
    user = session_user(request, platform, session)
    if user is None:
        raise NotAuthenticated(
            f"dataset {dataset.name} is 有条件开放 (conditional open data): "
            f"{_apply_hint(dataset.name)}, then download it signed in or with your API key "
            "(X-API-Key)"
        )
    actor = identity.user_actor(user, request_id=request_id(request))
    account = session.scalar(select(OpenAccount).where(OpenAccount.user_id == user.id))
    code = service_code(dataset.resource_code, ServiceKind.OPEN_DATA)
    grant = (
        grants.active_grant(session, app_id=account.app_id, service_code=code)
        if account is not None
        else None
    )
    if grant is None or not _covers(grant.columns, grant.conditions, dataset.columns):
        platform.ledger.append(actor.audit("opendata.download", what, outcome="denied"))
        if grant is not None:
            raise PermissionDenied(partial)
        raise PermissionDenied(
            f"you hold no approved application for dataset {dataset.name}: "
            f"{_apply_hint(dataset.name)}"
        )
    audit_on_commit(
        session,
        platform.ledger,
        actor.audit("opendata.download", what, purpose=grant.purpose, row_count=rows),
    )


def serve_download(
    request: Request,
    platform: Platform,
    session: Session,
    name: str,
    version: int | None,
    key: str,
    encoding: str | None,
) -> Response:
    """One release file, streamed from disk; counted when it is a whole download."""
    key = file_key_of(key, encoding)
    release = service.ready_release(session, name, version)
    dataset = release.dataset
    info = release.files.get(key)
    if info is None:
        if key == "xlsx":
            raise NotFound(
                f"version {release.lake_version} of dataset {dataset.name} has "
                f"{release.rows:,} rows, more than an Excel sheet holds ({EXCEL_MAX_ROWS:,}): "
                "download CSV or Parquet, which hold every row"
            )
        raise NotFound(f"version {release.lake_version} of dataset {dataset.name} has no {key}")
    path = release_file(platform.settings, dataset.name, release.lake_version, key)
    if not path.is_file():
        raise NotFound(
            f"the {key} file of dataset {dataset.name} version {release.lake_version} is missing "
            "on the server; tell the platform's operators"
        )
    whole = is_whole_download(request)
    if dataset.access == OpenType.CONDITIONAL.value:
        authorise_conditional(request, platform, session, dataset, release, key, whole=whole)
    sha256 = str(info["sha256"])
    etag = f'"{sha256}"'
    digest = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
    headers = {
        "ETag": etag,
        "Digest": f"sha-256={digest}",
        "Repr-Digest": f"sha-256=:{digest}:",
        "X-Checksum-SHA256": sha256,
        "X-Rongshu-Version": str(release.lake_version),
        "Content-Disposition": content_disposition(
            dataset.title, dataset.name, release.lake_version, key
        ),
        # Revalidate every time (the ETag makes it cheap), so downloads can be counted.
        "Cache-Control": "no-cache",
    }
    if etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    if whole:
        service.count(session, dataset.id, "downloads")
    return FileResponse(path, media_type=CONTENT_TYPES[key], headers=headers)


_VERSIONED = "/datasets/{name}/versions/{version}/download/{key}"
_LATEST = "/datasets/{name}/download/{key}"


@router.get(
    _VERSIONED,
    response_class=FileResponse,
    responses=_FILE_RESPONSES,
    summary="Download one file of one version of a dataset",
)
def download_version(
    name: str,
    version: Version,
    key: FileKey,
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    encoding: Encoding = None,
) -> Response:
    return serve_download(request, platform, session, name, version, key, encoding)


@router.get(
    _LATEST,
    response_class=FileResponse,
    responses=_FILE_RESPONSES,
    summary="Download one file of the latest version of a dataset",
)
def download_latest(
    name: str,
    key: FileKey,
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    encoding: Encoding = None,
) -> Response:
    return serve_download(request, platform, session, name, None, key, encoding)


# HEAD (size, checksum, whether ranges work) without a second OpenAPI operation.
router.add_api_route(_VERSIONED, download_version, methods=["HEAD"], include_in_schema=False)
router.add_api_route(_LATEST, download_latest, methods=["HEAD"], include_in_schema=False)


@router.get(
    "/datasets/{name}/versions/{version}/SHA256SUMS",
    response_class=PlainTextResponse,
    summary="The SHA-256 of every file of a version, for `sha256sum -c`",
)
def checksums(name: str, version: Version, session: SessionDep) -> PlainTextResponse:
    release = service.ready_release(session, name, version)
    lines = [
        f"{info['sha256']}  {ascii_filename(release.dataset.name, release.lake_version, key)}\n"
        for key, info in release.files.items()
    ]
    return PlainTextResponse("".join(lines))


# -- DCAT-AP ---------------------------------------------------------------------------------

_JSON_LD: Final = "application/ld+json"
_TURTLE: Final = "text/turtle; charset=utf-8"
_Route = TypeVar("_Route", bound=Callable[..., Response])


def _dcat_route(path: str, media_type: str, summary: str) -> Callable[[_Route], _Route]:
    return router.get(
        path,
        response_class=Response,
        responses={200: {"content": {media_type: {}}}},
        summary=summary,
    )


@_dcat_route("/opendata/catalog.jsonld", _JSON_LD, "The portal's catalog as DCAT-AP (JSON-LD)")
def catalog_jsonld(request: Request, platform: PlatformDep) -> Response:
    return _catalog(request, platform, "json-ld", _JSON_LD)


@_dcat_route("/opendata/catalog.ttl", _TURTLE, "The portal's catalog as DCAT-AP (Turtle)")
def catalog_turtle(request: Request, platform: PlatformDep) -> Response:
    return _catalog(request, platform, "turtle", _TURTLE)


@_dcat_route("/datasets/{name}.jsonld", _JSON_LD, "One dataset as DCAT-AP (JSON-LD)")
def dataset_jsonld(
    name: str, request: Request, platform: PlatformDep, session: SessionDep
) -> Response:
    return _dataset(request, platform, session, name, "json-ld", _JSON_LD)


@_dcat_route("/datasets/{name}.ttl", _TURTLE, "One dataset as DCAT-AP (Turtle)")
def dataset_turtle(
    name: str, request: Request, platform: PlatformDep, session: SessionDep
) -> Response:
    return _dataset(request, platform, session, name, "turtle", _TURTLE)


def _catalog(request: Request, platform: Platform, fmt: str, media_type: str) -> Response:
    base = public_base_url(request, platform)
    # The portal's search index holds every active dataset and is rebuilt only when one
    # changes: a harvester's poll costs one freshness query, not a read of every table.
    datasets = request.app.state.dataset_search.index().datasets
    return Response(dcat.export_portal(datasets, base_url=base, fmt=fmt), media_type=media_type)


def _dataset(
    request: Request, platform: Platform, session: Session, name: str, fmt: str, media_type: str
) -> Response:
    base = public_base_url(request, platform)
    dataset = service.get_dataset(session, name, base_url=base)
    body = dcat.export_dataset(dataset, base_url=base, fmt=fmt)
    return Response(body, media_type=media_type)
