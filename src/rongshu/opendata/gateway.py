"""Calls for conditional open data (有条件开放) through the exchange gateway, shared by the
CKAN ``datastore_search`` and the downloads."""

from __future__ import annotations

from collections.abc import Mapping

from rongshu.exchange import signing
from rongshu.exchange.gateway import Call, Gateway, presented_key
from rongshu.exchange.schemas import ServiceKind
from rongshu.exchange.services import service_code


def authorise_open_data(
    gateway: Gateway,
    resource_code: str,
    *,
    request_id: str,
    headers: Mapping[str, str],
    method: str,
    path: str,
    query: str,
    body: bytes,
) -> Call | None:
    """The gateway's call for the open-data service of ``resource_code``, or None when the
    request presents neither an API key nor a signature (the caller says how to get one)."""
    if presented_key(headers) is None and not signing.is_signed_request(headers):
        return None
    return gateway.authorise(
        gateway.credentials(headers),
        service_code(resource_code, ServiceKind.OPEN_DATA),
        ServiceKind.OPEN_DATA,
        request_id=request_id,
        headers=headers,
        method=method,
        path=path,
        query=query,
        body=body,
    )
