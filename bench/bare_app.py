"""The framework's floor for ``bench/exchange.py``: the verification route with nothing behind it.

The same path as rongshu's verification service, the same request model (``VerifyRequest``:
FastAPI reads and validates the JSON body exactly as for the real route) and a constant JSON
answer of the same shape, sent as a ready ``Response`` as the real route sends its own. No
middleware, no key, no grant, no quota, no index, no audit: what is left is uvicorn, Starlette's
routing and pydantic, so rongshu's figure divided by this one is what the platform's own work
costs. Served by uvicorn with the same workers, loop and HTTP parser as ``rongshu serve``::

    python bench/bare_app.py --port 8001 --workers 2

uvicorn's own ``--workers`` binds its listening socket without naming the protocol, so the
connections it accepts keep Nagle's algorithm on (asyncio sets ``TCP_NODELAY`` only on sockets
that say ``IPPROTO_TCP``) and every keep-alive request after a connection's first waits about
40 ms for the client's delayed ACK (Kludex/uvicorn#3149). This launcher binds the socket
itself, so the bare endpoint is the framework at its best.
"""

from __future__ import annotations

import argparse
import json
import socket

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response
from uvicorn.supervisors import Multiprocess

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


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the bare endpoint.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = uvicorn.Config(
        "bare_app:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="warning",
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.set_inheritable(True)
    Multiprocess(config, sockets=[listener]).run()


if __name__ == "__main__":
    main()
