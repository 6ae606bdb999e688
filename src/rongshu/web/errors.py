"""One error shape for every error the web app returns.

JSON clients (everything under ``/api/``, and any request that does not ask for HTML) get::

    {"ok": false, "status": 404, "error": "not_found", "message": "...",
     "request_id": "...", "details": [...]}

Browsers asking for HTML outside the API get the same facts as a page.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from rongshu.core.errors import RongshuError

log = logging.getLogger("rongshu.web")

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    423: "account_locked",
    429: "too_many_requests",
    500: "internal_error",
}


def error_body(
    status: int,
    code: str,
    message: str,
    request_id: str,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON error shape, in one place."""
    return {
        "ok": False,
        "status": status,
        "error": code,
        "message": message,
        "request_id": request_id,
        "details": details or [],
    }


def wants_html(request: Request) -> bool:
    """Browsers navigating pages get HTML; API paths and JSON clients get JSON."""
    if request.url.path.startswith("/api/") or request.headers.get("hx-request"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    request_id = getattr(request.state, "request_id", "")
    if wants_html(request):
        from rongshu.web.templating import render

        response = render(
            request,
            "error.html",
            {"status": status, "title": code, "message": message, "request_id": request_id},
            status_code=status,
        )
        if headers:
            response.headers.update(headers)
        return response
    return JSONResponse(
        error_body(status, code, message, request_id, details), status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, HTTP errors, validation errors and crashes to the one shape."""

    @app.exception_handler(RongshuError)
    async def _domain(request: Request, exc: RongshuError) -> Response:
        headers = {"WWW-Authenticate": "ApiKey"} if exc.status == 401 else None
        retry = [d["retry_after"] for d in exc.details if "retry_after" in d]
        if exc.status == 429 and retry:
            headers = {"Retry-After": str(retry[0])}
        return error_response(request, exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such page or endpoint: {request.url.path}"
        headers = dict(exc.headers) if exc.headers else None
        return error_response(request, exc.status_code, code, message, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                "field": ".".join(str(part) for part in err.get("loc", ()) if part != "body"),
                "reason": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        return error_response(request, 422, "validation_failed", "the request is invalid", details)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            request,
            500,
            "internal_error",
            "something went wrong on our side; quote the request id when you report it",
        )
