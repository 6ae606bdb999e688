"""Each service's own OpenAPI description: the generic call of its kind, with the resource's
fields written in, so a consumer's code generator gets named key and claim fields."""

from __future__ import annotations

from typing import Any

from rongshu import __version__
from rongshu.exchange.schemas import ServiceKind, ServicePublic
from rongshu.exchange.services import CALL_PATHS

_ERRORS = {
    "401": "No, unknown, revoked or wrongly signed credentials",
    "403": "The app holds no grant in force for this service",
    "404": "No data yet",
    "422": "Bad key, claims or filter",
    "429": "The grant's daily quota or rate limit is reached (see Retry-After)",
}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["ok", "status", "error", "message", "request_id", "details"],
    "properties": {
        "ok": {"const": False},
        "status": {"type": "integer"},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "request_id": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
}


def _strings(names: list[str], labels: dict[str, str]) -> dict[str, Any]:
    return {n: {"type": "string", "title": labels.get(n, n)} for n in names}


def service_openapi(service: ServicePublic, labels: dict[str, str]) -> dict[str, Any]:
    """An OpenAPI 3.1 document for one service; ``labels`` gives fields' Chinese names."""
    kind = service.kind
    key = {
        "type": "object",
        "required": service.key_columns,
        "additionalProperties": False,
        "properties": _strings(service.key_columns, labels),
    }
    operation: dict[str, Any] = {
        "operationId": f"{kind.value}_{service.code}".replace("-", "_").replace(".", "_"),
        "summary": service.title,
        "description": service.description,
        "security": [{"apiKey": []}, {"signature": []}],
    }
    if kind is ServiceKind.VERIFY:
        operation["requestBody"] = _body(
            {
                "key": key,
                "claims": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": False,
                    "properties": _strings(service.columns, labels),
                },
                "purpose": {"type": "string", "maxLength": 200},
            },
            ["key", "claims"],
        )
        verdict = {"enum": ["match", "mismatch", "empty"]}
        answer: dict[str, Any] = {
            "request_id": {"type": "string"},
            "service": {"type": "string"},
            "version": {"type": "integer"},
            "found": {"type": "boolean"},
            "match": {"type": "boolean"},
            "fields": {"type": "object", "additionalProperties": verdict},
        }
        operation["responses"] = _responses(answer, "application/json")
    elif kind is ServiceKind.QUERY:
        operation["requestBody"] = _body(
            {"key": key, "purpose": {"type": "string", "maxLength": 200}}, ["key"]
        )
        row = {"type": "object", "properties": _strings(service.columns, labels)}
        answer = {
            "request_id": {"type": "string"},
            "service": {"type": "string"},
            "version": {"type": "integer"},
            "columns": {"type": "array", "items": {"type": "string"}},
            "rows": {"type": "array", "items": row},
            "count": {"type": "integer"},
        }
        operation["responses"] = _responses(answer, "application/json")
    elif kind is ServiceKind.BATCH:
        operation["parameters"] = [
            {
                "name": "format",
                "in": "query",
                "schema": {"enum": ["csv", "parquet", "xlsx"], "default": "csv"},
            },
            {"name": "purpose", "in": "query", "schema": {"type": "string", "maxLength": 200}},
        ]
        operation["responses"] = _responses(None, "application/octet-stream")
    method = "get" if kind is ServiceKind.BATCH else "post"
    paths: dict[str, Any] = {}
    if kind is not ServiceKind.SUBSCRIPTION:
        paths[CALL_PATHS[kind].format(code=service.code)] = {method: operation}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": service.title,
            "version": __version__,
            "description": f"{service.description} 共享类型：{service.share_type.label}。"
            " Subscriptions use /api/v1/exchange/subscriptions (see the platform's API).",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "signature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Signature",
                    "description": "HMAC-SM3 signed request with X-App-Key, X-Timestamp, "
                    "X-Nonce (see docs/exchange.md)",
                },
            },
            "schemas": {"Error": _ERROR_SCHEMA},
        },
    }


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _responses(answer: dict[str, Any] | None, media: str) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "The answer"}
    if answer is not None:
        ok["content"] = {media: {"schema": {"type": "object", "properties": answer}}}
    else:
        ok["content"] = {media: {}}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {"200": ok} | {code: {"description": text, **error} for code, text in _ERRORS.items()}
