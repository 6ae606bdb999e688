"""CKAN's wire form: an action's parameters as CKAN clients send them (query string, JSON body
or form), and answers in CKAN's envelope ``{help, success, result}`` or its error form
``{help, success: false, error: {__type, message | field: [messages]}}`` with CKAN's status
codes.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from rongshu.core.errors import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RongshuError,
    TooManyRequests,
    ValidationFailed,
)


class BadRequest(Exception):
    """A request CKAN answers with 400 (unknown action, unreadable body)."""


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str),
        status_code=status,
        media_type="application/json;charset=utf-8",
        headers=headers,
    )


def _validation_error(exc: ValidationFailed) -> dict[str, Any]:
    by_field: dict[str, list[str]] = {}
    for detail in exc.details:
        field = str(detail.get("field") or "message")
        reason = str(detail.get("reason") or exc.message)
        if " " not in reason:  # a code such as "unknown": the message says more
            reason = exc.message
        by_field.setdefault(field, []).append(reason)
    return {"__type": "Validation Error", **(by_field or {"message": [exc.message]})}


def failure(help_url: str, exc: Exception) -> Response:
    """The CKAN error for ``exc``."""
    status, error, headers = 500, {"__type": "Internal Server Error"}, None
    if isinstance(exc, BadRequest):
        message = f"Bad request - {exc}"
        status, error = 400, {"__type": "Bad Request", "message": message}
    elif isinstance(exc, ValidationFailed):
        status, error = 409, _validation_error(exc)
    elif isinstance(exc, NotFound):
        status, error = 404, {"__type": "Not Found Error", "message": f"Not found: {exc.message}"}
    elif isinstance(exc, PermissionDenied | NotAuthenticated):
        message = f"Access denied: {exc.message}"
        status, error = 403, {"__type": "Authorization Error", "message": message}
    elif isinstance(exc, TooManyRequests):
        status, error = 429, {"__type": "Too Many Requests", "message": exc.message}
        retry = [d["retry_after"] for d in exc.details if "retry_after" in d]
        headers = {"Retry-After": str(retry[0])} if retry else None
    elif isinstance(exc, RongshuError):
        status, error = exc.status, {"__type": exc.code, "message": exc.message}
    else:
        error["message"] = "something went wrong on our side; quote the X-Request-ID header"
    return json_response({"help": help_url, "success": False, "error": error}, status, headers)


async def read_params(request: Request) -> tuple[dict[str, Any], bytes, list[tuple[str, str]]]:
    """The action's parameters (query string, then the body over it), the raw body, and the
    scalar parameters as text (for datastore_search's links)."""
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        params[key] = values[0] if len(values) == 1 else values
    body = b""
    if request.method == "POST":
        body = await request.body()
        kind = request.headers.get("content-type", "")
        if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            for key in form:
                values = [v for v in form.getlist(key) if isinstance(v, str)]
                if values:
                    params[key] = values[0] if len(values) == 1 else values
        elif body.strip():
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise BadRequest(f"JSON Error: {exc}") from None
            if not isinstance(data, dict):
                raise BadRequest("Bad request data: the JSON body must be an object")
            params.update(data)
    link_args: list[tuple[str, str]] = []
    for key, value in params.items():
        for one in value if isinstance(value, list) and request.method == "GET" else [value]:
            link_args.append((key, one if isinstance(one, str) else json.dumps(one)))
    return params, body, link_args
