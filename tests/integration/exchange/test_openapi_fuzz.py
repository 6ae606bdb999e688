"""Schemathesis generates requests from the exchange API's OpenAPI description (valid and
invalid bodies, paths, queries) and calls the app in-process: none may end in a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from rongshu.core.platform import Platform
from rongshu.exchange.schemas import SHARING_KINDS
from rongshu.web.app import create_app

from ..conftest import open_platform
from .conftest import CODE, FIELDS, Shared, make_app, people, publish_resource


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Shared]]:
    """The app over a platform with a shared resource, its services and a granted app."""
    import pyarrow as pa

    from rongshu.catalog import service as catalog
    from rongshu.core.identity.schemas import SYSTEM
    from rongshu.exchange import services
    from rongshu.lake.schema import arrow_schema
    from rongshu.lake.tables import Lake
    from rongshu.security import service as security

    platform: Platform = open_platform(Path(tmp_path_factory.mktemp("fuzz")) / "data")
    publish_resource(platform, CODE, FIELDS)
    rows = people(50)
    with platform.db.session_scope() as session:
        schema = arrow_schema(catalog.current_fields(session, CODE))
    Lake.from_settings(platform.settings).table(CODE).commit(
        pa.Table.from_pylist(rows, schema=schema).to_batches(), schema=schema, mode="overwrite"
    )
    security.scan_resource(platform, CODE, actor=SYSTEM)
    with platform.db.session_scope() as session:
        services.publish_services(session, code=CODE, actor=SYSTEM, ledger=platform.ledger)
    app_id, api_key, key_id = make_app(platform)
    shared = Shared(platform, CODE, rows, app_id, api_key, key_id)
    for kind in SHARING_KINDS:
        shared.grant(kind)
    app = create_app(platform.settings, platform=platform)
    with TestClient(app):  # runs the app's lifespan
        yield app, shared
    platform.close()


@pytest.fixture(scope="module")
def exchange_api(shared_app: tuple[Any, Shared]) -> schemathesis.BaseSchema:
    app, _ = shared_app
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return schema.include(path_regex="^/api/v1/exchange/")


def test_no_request_to_the_exchange_api_ends_in_a_server_error(
    exchange_api: schemathesis.BaseSchema, shared_app: tuple[Any, Shared]
) -> None:
    _, shared = shared_app
    headers = {"X-API-Key": shared.api_key}
    checked = []
    for result in exchange_api.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)

        no_server_error()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /api/v1/exchange/services/{code}/verify" in checked
    assert len(checked) >= 15
