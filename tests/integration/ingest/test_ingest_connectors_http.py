"""The HTTP connector against a paged JSON API served on 127.0.0.1 by the test: page/size,
offset/limit and next-link paging, API keys, retries with backoff, and clear errors.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from rongshu.core.errors import ValidationFailed
from rongshu.ingest.connectors import (
    Connector,
    SourceCredentialsRefused,
    SourceNotFound,
    SourceSpec,
    SourceUnavailable,
    SourceUnreadable,
    WatermarkFilter,
    open_connector,
)

RECORDS = [
    {"lotId": f"P{i:04d}", "lotName": f"停车场{i}", "free": i % 50, "geo": {"lat": 26.0 + i / 1000}}
    for i in range(1, 238)
]
API_KEY = "k-2024-secret"


class _Api(BaseHTTPRequestHandler):
    """A department's API: several paging styles and misbehaviours, chosen by path."""

    calls: dict[str, int] = {}
    seen_keys: list[str | None] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        _Api.calls[path] = _Api.calls.get(path, 0) + 1
        _Api.seen_keys.append(self.headers.get("X-Api-Key"))
        records = RECORDS
        if "after" in query:
            records = [r for r in records if r["lotId"] > query["after"]]
        if path == "/page":
            page, size = int(query["pageNum"]), int(query["pageSize"])
            chunk = records[(page - 1) * size : page * size]
            self._send(200, {"code": 0, "data": {"list": chunk, "total": len(records)}})
        elif path == "/offset":
            offset, limit = int(query["offset"]), min(int(query["limit"]), 40)  # caps the size
            self._send(200, {"rows": records[offset : offset + limit]})
        elif path == "/next":
            start = int(query.get("cursor", 0))
            body: dict[str, Any] = {"items": records[start : start + 100]}
            if start + 100 < len(records):
                body["next"] = f"/next?cursor={start + 100}"
            self._send(200, body)
        elif path == "/link":
            start = int(query.get("start", 0))
            links = {}
            if start + 100 < len(records):
                links["Link"] = (
                    f'<http://{self.headers["Host"]}/link?start={start + 100}>; rel="next"'
                )
            self._send(200, records[start : start + 100], links)
        elif path == "/flaky":
            if _Api.calls[path] % 3 != 0:
                self._send(503, {"error": "busy"})
            else:
                self._send(200, {"data": records[:5]})
        elif path == "/down":
            self._send(500, {"error": "down"})
        elif path == "/auth":
            if self.headers.get("X-Api-Key") != API_KEY:
                self._send(401, {"code": 401, "msg": "invalid api key"})
            else:
                self._send(200, {"data": records[:3]})
        elif path == "/slow":
            time.sleep(0.5)
            self._send(200, {"data": []})
        elif path == "/html":
            self._send(200, b"<html>maintenance</html>")
        elif path == "/apierror":
            self._send(200, {"code": 1001, "msg": "签名错误", "data": None})
        elif path == "/bad":
            self._send(400, {"msg": "pageSize too large"})
        else:
            self._send(404, {"msg": "no such endpoint"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out closed its socket: expected in the timeout test


@pytest.fixture
def api() -> Iterator[str]:
    _Api.calls = {}
    _Api.seen_keys = []
    server = _Server(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _http(url: str, **options: Any) -> Connector:
    return open_connector(SourceSpec(kind="http", options={"url": url, **options}))


def _ids(connector: Connector, **kwargs: Any) -> list[str]:
    return [str(r["lotId"]) for b in connector.batches(**kwargs) for r in b.to_pylist()]


PAGED = {
    "records_path": "data.list",
    "total_path": "data.total",
    "paging": {"style": "page", "page_param": "pageNum", "size_param": "pageSize", "size": 50},
}


def test_page_and_size_paging_reads_every_record_once(api: str) -> None:
    connector = _http(f"{api}/page", **PAGED)
    assert connector.columns() == ["lotId", "lotName", "free", "geo.lat"]
    assert _ids(connector, batch_rows=64) == [r["lotId"] for r in RECORDS]
    # 237 records, 50 a page: five pages, and the total stops it there.
    assert _Api.calls["/page"] == 1 + 5  # columns() read the first page
    assert connector.bytes_read > 0
    preview = connector.preview(3)
    assert preview.column("free").to_pylist() == ["1", "2", "3"]


def test_offset_paging_survives_an_api_that_caps_the_page_size(api: str) -> None:
    connector = _http(f"{api}/offset", records_path="rows", paging={"style": "offset", "size": 40})
    assert _ids(connector) == [r["lotId"] for r in RECORDS]
    capped = _http(f"{api}/offset", records_path="rows", paging={"style": "offset", "size": 100})
    # Asked 100, got 40: read on until an empty page rather than stop early.
    assert len(_ids(capped)) == len(RECORDS)


def test_next_link_in_the_body_and_in_the_link_header(api: str) -> None:
    body = _http(f"{api}/next", records_path="items", paging={"style": "next", "next_path": "next"})
    assert _ids(body) == [r["lotId"] for r in RECORDS]
    header = _http(f"{api}/link", paging={"style": "next"})
    assert _ids(header) == [r["lotId"] for r in RECORDS]


def test_watermark_goes_to_the_api_and_is_enforced(api: str) -> None:
    connector = _http(f"{api}/page", watermark_param="after", **PAGED)
    ids = _ids(connector, watermark=WatermarkFilter("lotId", "P0200"))
    assert ids == [f"P{i:04d}" for i in range(201, 238)]


def test_api_key_header_is_sent_and_a_wrong_one_is_refused(api: str) -> None:
    good = _http(f"{api}/auth", headers={"X-Api-Key": API_KEY})
    assert len(_ids(good)) == 3
    assert API_KEY in _Api.seen_keys
    bad = _http(f"{api}/auth?token=t0psecret", headers={"X-Api-Key": "wrong"})
    with pytest.raises(SourceCredentialsRefused, match="HTTP 401") as caught:
        bad.columns()
    assert "t0psecret" not in caught.value.message
    assert "wrong" not in str(caught.value.details)


def test_server_errors_are_retried_with_backoff_then_succeed(api: str) -> None:
    connector = _http(f"{api}/flaky", retries=3, backoff=0.01)
    assert len(_ids(connector)) == 5
    assert _Api.calls["/flaky"] >= 3


def test_retries_are_bounded_and_end_in_a_clear_error(api: str) -> None:
    connector = _http(f"{api}/down", retries=2, backoff=0.01)
    with pytest.raises(SourceUnavailable, match="HTTP 500 after 3 attempt"):
        connector.columns()
    assert _Api.calls["/down"] == 3


def test_timeouts_are_retried_and_bounded(api: str) -> None:
    connector = _http(f"{api}/slow", timeout=0.1, retries=1, backoff=0)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r"no answer within 0.1 s after 2 attempt"):
        connector.columns()
    assert time.monotonic() - started < 5


def test_refusals_and_non_json_answers_are_clear(api: str) -> None:
    with pytest.raises(SourceNotFound, match="HTTP 404"):
        _http(f"{api}/nowhere").columns()
    with pytest.raises(ValidationFailed, match="HTTP 400.*pageSize too large"):
        _http(f"{api}/bad").columns()
    with pytest.raises(SourceUnreadable, match="not JSON.*maintenance"):
        _http(f"{api}/html").columns()
    with pytest.raises(SourceUnavailable, match="code=1001: 签名错误"):
        _http(f"{api}/apierror", success_path="code", message_path="msg").columns()
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        _http("http://127.0.0.1:1/x", retries=0).columns()


def test_fingerprint_follows_the_first_page(api: str) -> None:
    connector = _http(f"{api}/page", **PAGED)
    assert connector.fingerprint() == connector.fingerprint()
    assert connector.fingerprint().startswith("sha256:")
