"""Fixtures for load tests: the demo city in the catalog, sources attached, a department's API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from rongshu.catalog.demo import register_demo_catalog
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.generator import generate_city
from rongshu.ingest import service
from rongshu.ingest.schemas import LoadMode, SourceCreate, SourcePublic

Attach = Callable[..., SourcePublic]


@pytest.fixture
def city(platform: Platform, tmp_path: Path) -> Path:
    """The demo city (400 registry rows, seed 7) with its catalog registered and published."""
    out = tmp_path / "city"
    generate_city(out, rows=400, seed=7)
    bootstrap(platform)
    register_demo_catalog(platform, out)
    return out


@pytest.fixture
def attach(platform: Platform) -> Attach:
    """Attach a source as a steward does: ``attach(resource, name, kind, options, mode, ...)``."""

    def attach_source(
        resource_code: str,
        name: str,
        kind: str,
        options: dict[str, Any],
        mode: LoadMode = LoadMode.SNAPSHOT,
        **settings: Any,
    ) -> SourcePublic:
        with platform.db.session_scope() as session:
            return service.create_source(
                session,
                data=SourceCreate(
                    resource_code=resource_code,
                    name=name,
                    kind=kind,
                    options=options,
                    mode=mode,
                    **settings,
                ),
                actor=SYSTEM,
                ledger=platform.ledger,
                secret=platform.secret,
            )

    return attach_source


class DepartmentApi:
    """A department's paged JSON API on 127.0.0.1 (``?pageNum=&pageSize=``, ``?after=`` id).

    ``records`` may change between loads. ``endless`` serves full pages of made-up records for
    ever, like a feed that never ends: a load from it runs until it is killed.
    """

    def __init__(self) -> None:
        self.url = ""
        self.records: list[dict[str, Any]] = []
        self.endless = False
        self.afters: list[str] = []  # the ``after`` parameter of each request that had one

    def options(self, *, size: int = 50, **extra: Any) -> dict[str, Any]:
        """Connector options for this API: page/size paging, records under ``data.list``."""
        paging = {"style": "page", "page_param": "pageNum", "size_param": "pageSize", "size": size}
        return {
            "url": self.url,
            "records_path": "data.list",
            "total_path": "data.total",
            "paging": paging,
            **extra,
        }

    def page(self, number: int, size: int, after: str | None) -> dict[str, Any]:
        if self.endless:
            first = (number - 1) * size + 1
            endless = [_lot(i) for i in range(first, first + size)]
            return {"code": 0, "data": {"list": endless, "total": 10**12}}
        records = self.records
        if after is not None:
            records = [r for r in records if r["recordId"] > int(after)]
        chunk = records[(number - 1) * size : number * size]
        return {"code": 0, "data": {"list": chunk, "total": len(records)}}


def _lot(record_id: int) -> dict[str, Any]:
    return {
        "recordId": record_id,
        "lotId": f"P350102{record_id % 9999:04d}",
        "lotName": f"测试停车场{record_id % 97}",
        "districtCode": "350102",
        "totalSpaces": 500,
        "occupiedSpaces": record_id % 500,
        "freeSpaces": 500 - record_id % 500,
        "updateTime": 1735657200000 + record_id * 1000,
    }


@pytest.fixture
def department_api() -> Iterator[DepartmentApi]:
    """The API, served by a thread of the test process until the test ends."""
    api = DepartmentApi()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if "after" in query:
                api.afters.append(query["after"])
            if parts.path != "/records":
                body, status = {"msg": "no such endpoint"}, 404
            else:
                page, size = int(query["pageNum"]), int(query["pageSize"])
                body, status = api.page(page, size, query.get("after")), 200
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a killed load's client went away mid-response: expected

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}/records"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
