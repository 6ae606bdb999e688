"""The framework's floor for ``bench/exchange.py``: the verification route with nothing behind it.

The same path as rongshu's verification service, the same request model (``VerifyRequest``:
FastAPI reads and validates the JSON body exactly as for the real route) and a constant JSON
answer of the same shape, sent as a ready ``Response`` as the real route sends its own. No
middleware, no key, no grant, no quota, no index, no audit: what is left is uvicorn, Starlette's
routing and pydantic, so rongshu's figure divided by this one is what the platform's own work
costs. Served by uvicorn with the same workers, loop and HTTP parser as ``rongshu serve``::

    python -m uvicorn --app-dir bench --workers 2 --port 8001 bare_app:app
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.responses import Response

from rongshu.exchange.schemas import VerifyRequest

#: An answer as long as a real one (a found key, three claimed fields).
ANSWER = json.dumps(
    {
        "request_id": "0" * 32,
        "service": "GA-BENCH-01.verify",
        "version": 0,
        "found": True,
        "match": True,
        "fields": {"name": "match", "birth_date": "match", "phone": "match"},
    },
    separators=(",", ":"),
).encode()

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.post("/api/v1/exchange/services/{code}/verify")
async def verify(code: str, payload: VerifyRequest) -> Response:
    """Validate the body, answer a constant."""
    return Response(ANSWER, media_type="application/json")


@app.get("/healthz")
async def healthz() -> Response:
    """Ready."""
    return Response(b"ok", media_type="text/plain")
