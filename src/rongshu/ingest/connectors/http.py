"""Paged HTTP JSON APIs: page/size, offset/limit or next-link paging, API keys in headers or
parameters, retries with bounded exponential backoff on timeouts, 429 and 5xx, and a clear error
for every other refusal.

Values come out as strings, as for JSON files. Header and parameter values (API keys) never
appear in errors: URLs are shown without their query string.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from itertools import islice
from typing import Any, ClassVar, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
import pyarrow as pa
from pydantic import Field, field_validator

from rongshu.core.errors import ValidationFailed
from rongshu.ingest.connectors.base import (
    DEFAULT_BATCH_ROWS,
    ConnectorOptions,
    SourceCredentialsRefused,
    SourceNotFound,
    SourceUnavailable,
    SourceUnreadable,
    WatermarkFilter,
    check_batch_rows,
    filter_after,
    parse_options,
    register_connector,
)
from rongshu.ingest.connectors.records import (
    RecordBatcher,
    find_path,
    records_at,
    sample_columns,
    text_schema,
)

_MAX_BACKOFF = 30.0
_SUCCESS = (0, 200, "0", "200", True, "success", "ok", "OK", "SUCCESS")


class HttpPaging(ConnectorOptions):
    """How the API pages its records."""

    style: Literal["none", "page", "offset", "next"] = Field(
        "none", description="none, page+size, offset+limit, or a next-page link"
    )
    size: int = Field(100, ge=1, le=100_000, description="records asked for per page")
    page_param: str = "page"
    size_param: str = "size"
    first_page: int = Field(1, ge=0)
    offset_param: str = "offset"
    limit_param: str = "limit"
    next_path: str | None = Field(
        None, description="dotted path of the next page's URL; absent: the Link header"
    )
    in_body: bool = Field(False, description="send the paging values in the JSON body (POST)")
    stop_on_short_page: bool = Field(
        False,
        description="stop at a page shorter than size (saves a request; unsafe if the "
        "API caps the page size below the size asked for)",
    )
    max_pages: int = Field(100_000, ge=1)


class HttpOptions(ConnectorOptions):
    """Options of an HTTP JSON API source."""

    url: str
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    body: dict[str, Any] | None = None
    records_path: str | None = Field(None, description="dotted path of the records, e.g. data.list")
    total_path: str | None = Field(None, description="dotted path of the total record count")
    success_path: str | None = Field(None, description="dotted path of the API's status code")
    success_values: list[Any] = Field(default_factory=lambda: list(_SUCCESS))
    message_path: str | None = Field(None, description="dotted path of the API's error message")
    paging: HttpPaging = Field(default_factory=HttpPaging)
    watermark_param: str | None = Field(
        None, description="parameter that asks the API only for records after the watermark"
    )
    timeout: float = Field(30.0, gt=0, le=600)
    retries: int = Field(3, ge=0, le=10)
    backoff: float = Field(0.5, ge=0, le=_MAX_BACKOFF)
    verify_tls: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("an http:// or https:// URL")
        return value


def _shown(url: str) -> str:
    """``url`` without its query string (which may carry an API key)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _param_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@register_connector
class HttpConnector:
    """A paged JSON API."""

    kind: ClassVar[str] = "http"

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = parse_options(HttpOptions, options, self.kind)
        paging = self.options.paging
        if paging.in_body and self.options.method != "POST":
            raise ValidationFailed(
                "paging values go in the body only with method POST",
                details=[{"field": "paging.in_body", "reason": "needs method POST"}],
            )
        self._bytes = 0
        self._columns: list[str] | None = None
        self._sleep = time.sleep

    def fingerprint(self) -> str:
        """Hash of the endpoint and its first page (and the total, when the API gives one)."""
        with self._client() as client:
            url, params, body = self._request_for(0, self.options.url, None)
            response = self._fetch(client, url, params, body, page=1)
        identity = [_shown(self.options.url), self.options.records_path, response.text]
        return "sha256:" + hashlib.sha256(json.dumps(identity).encode()).hexdigest()

    def columns(self) -> list[str]:
        """Keys of the first records (nested objects flattened with dots)."""
        if self._columns is None:
            self._columns = sample_columns(self._records(None, max_pages=1))
        return list(self._columns)

    def preview(self, rows: int = 20) -> pa.Table:
        """The first ``rows`` records, as strings."""
        batcher = RecordBatcher(self.columns())
        for record in islice(self._records(None, max_pages=-(-rows // self._page_size())), rows):
            batcher.add(record)
        if not len(batcher):
            return text_schema(batcher.columns).empty_table()
        return pa.Table.from_batches([batcher.flush()])

    def batches(
        self, *, batch_rows: int = DEFAULT_BATCH_ROWS, watermark: WatermarkFilter | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Every record of every page, as string columns."""
        check_batch_rows(batch_rows)
        self._bytes = 0
        batcher = RecordBatcher(self.columns())
        for record in self._records(watermark):
            batcher.add(record)
            if len(batcher) >= batch_rows:
                batch = batcher.flush()
                yield filter_after(batch, watermark) if watermark is not None else batch
        if len(batcher):
            batch = batcher.flush()
            yield filter_after(batch, watermark) if watermark is not None else batch

    @property
    def bytes_read(self) -> int:
        """Bytes of the response bodies read so far."""
        return self._bytes

    def _page_size(self) -> int:
        return self.options.paging.size if self.options.paging.style != "none" else 1

    # -- paging ------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        return httpx.Client(
            headers=self.options.headers,
            timeout=self.options.timeout,
            verify=self.options.verify_tls,
            follow_redirects=True,
        )

    def _request_for(
        self, index: int, url: str, watermark: WatermarkFilter | None, *, fetched: int = 0
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        options, paging = self.options, self.options.paging
        params: dict[str, Any] = dict(options.params)
        body = dict(options.body) if options.body is not None else None
        if watermark is not None and options.watermark_param:
            params[options.watermark_param] = _param_value(watermark.after)
        values: dict[str, Any] = {}
        if paging.style == "page":
            values = {paging.page_param: paging.first_page + index, paging.size_param: paging.size}
        elif paging.style == "offset":
            # The offset is what came back so far: an API may return fewer than it was asked.
            values = {paging.offset_param: fetched, paging.limit_param: paging.size}
        if paging.in_body:
            body = {**(body or {}), **values}
        else:
            params.update(values)
        return url, params, body

    def _records(
        self, watermark: WatermarkFilter | None, *, max_pages: int | None = None
    ) -> Iterator[Any]:
        options, paging = self.options, self.options.paging
        fetched = 0
        previous: str | None = None
        url = options.url
        with self._client() as client:
            for index in range(paging.max_pages):
                if paging.style == "next" and index > 0:
                    request_url, params, body = url, dict[str, Any](), options.body
                else:
                    request_url, params, body = self._request_for(
                        index, url, watermark, fetched=fetched
                    )
                response = self._fetch(client, request_url, params, body, page=index + 1)
                document = self._document(response, index + 1)
                records = records_at(document, options.records_path, where=self._where(index))
                if response.text == previous and records:
                    return  # the API repeats its last page past the end
                previous = response.text
                yield from records
                fetched += len(records)
                if paging.style == "none" or not records or index + 1 == max_pages:
                    return
                if options.total_path:
                    total = find_path(document, options.total_path, where=self._where(index))
                    if total is not None and fetched >= int(total):
                        return
                if paging.style == "next":
                    following = self._next_url(document, response, index)
                    if not following:
                        return
                    url = urljoin(str(response.url), following)
                elif paging.stop_on_short_page and len(records) < paging.size:
                    return
        raise SourceUnreadable(
            f"{_shown(options.url)} has more than {paging.max_pages:,} pages; "
            "raise paging.max_pages if that is expected",
            details=[{"field": "paging.max_pages", "value": paging.max_pages}],
        )

    def _next_url(self, document: Any, response: httpx.Response, index: int) -> str | None:
        path = self.options.paging.next_path
        if path:
            try:
                value = find_path(document, path, where=self._where(index))
            except SourceUnreadable:
                return None
            return str(value) if value else None
        link = response.links.get("next")
        return link.get("url") if link else None

    def _where(self, index: int) -> str:
        return f"{_shown(self.options.url)} page {index + 1}"

    # -- one request -------------------------------------------------------------------------

    def _fetch(
        self,
        client: httpx.Client,
        url: str,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        *,
        page: int,
    ) -> httpx.Response:
        options = self.options
        attempts = options.retries + 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                self._sleep(min(_MAX_BACKOFF, options.backoff * 2 ** (attempt - 1)))
            try:
                response = client.request(options.method, url, params=params or None, json=body)
            except httpx.TimeoutException:
                problem = f"no answer within {options.timeout:g} s"
                continue
            except httpx.TransportError as exc:
                problem = f"cannot connect ({type(exc).__name__}: {exc})"
                continue
            self._bytes += len(response.content)
            status = response.status_code
            if status == 429 or status >= 500:
                problem = f"HTTP {status}"
                retry_after = response.headers.get("retry-after", "")
                if retry_after.isdigit() and attempt + 1 < attempts:
                    self._sleep(min(_MAX_BACKOFF, float(retry_after)))
                continue
            if status >= 400:
                raise self._refused(response, page)
            return response
        raise SourceUnavailable(
            f"{_shown(url)} page {page}: {problem} after {attempts} attempt(s)",
            details=[{"field": "url", "value": _shown(url), "reason": problem, "page": page}],
        )

    def _refused(self, response: httpx.Response, page: int) -> Exception:
        status = response.status_code
        where = f"{_shown(str(response.url))} page {page}"
        snippet = response.text[:300]
        details = [{"field": "url", "value": _shown(str(response.url)), "status": status}]
        if status in (401, 403):
            return SourceCredentialsRefused(
                f"{where}: HTTP {status}, the API refused the credentials (check the API key "
                f"in headers or params): {snippet}",
                details=details,
            )
        if status == 404:
            return SourceNotFound(f"{where}: HTTP 404, no such endpoint", details=details)
        return ValidationFailed(
            f"{where}: HTTP {status}, the API refused the request: {snippet}", details=details
        )

    def _document(self, response: httpx.Response, page: int) -> Any:
        try:
            document = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            kind = response.headers.get("content-type", "unknown")
            raise SourceUnreadable(
                f"{_shown(str(response.url))} page {page}: the answer is not JSON "
                f"({kind}): {response.text[:200]!r}",
                details=[{"field": "url", "value": _shown(str(response.url)), "page": page}],
            ) from None
        self._check_success(document, page)
        return document

    def _check_success(self, document: Any, page: int) -> None:
        path = self.options.success_path
        if not path:
            return
        where = f"{_shown(self.options.url)} page {page}"
        status = find_path(document, path, where=where)
        if status in self.options.success_values:
            return
        message = ""
        if self.options.message_path:
            try:
                message = str(find_path(document, self.options.message_path, where=where))
            except SourceUnreadable:
                message = ""
        raise SourceUnavailable(
            f"{where}: the API answered {path}={status!r}" + (f": {message}" if message else ""),
            details=[{"field": "success_path", "value": status, "reason": message}],
        )
