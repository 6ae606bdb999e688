"""Calls for conditional open data (有条件开放) through the exchange gateway, shared by the
CKAN ``datastore_search`` and the downloads."""

from __future__ import annotations

from rongshu.exchange import signing
from rongshu.exchange.gateway import Call, CallRequest, Gateway, presented_key
from rongshu.exchange.schemas import ServiceKind
from rongshu.exchange.services import service_code


def authorise_open_data(
    gateway: Gateway,
    resource_code: str,
    request: CallRequest,
) -> Call | None:
    """The gateway's call for the open-data service of ``resource_code``, or None when the
    request presents neither an API key nor a signature (the caller says how to get one)."""
    if presented_key(request.headers) is None and not signing.is_signed_request(request.headers):
        return None
    code = service_code(resource_code, ServiceKind.OPEN_DATA)
    return gateway.authorise(code, ServiceKind.OPEN_DATA, request)
