"""Direct routes answer their requests before FastAPI's routing, with the app's error shapes,
and leave every other request to the app."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient

from rongshu.core.errors import ConfigurationError, NotFound
from rongshu.web.direct import DirectRoute, DirectRoutes
from rongshu.web.errors import install_error_handlers
from rongshu.web.observability import Metrics, RequestContextMiddleware


async def hello(name: str, request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"name": name, "body": body.decode(), "route": request.scope["route"].path})


async def broken(name: str, request: Request) -> Response:
    raise NotFound(f"no thing {name}")


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things/{name}/hello")
    async def described(name: str) -> dict[str, str]:  # in the OpenAPI document only
        return {"answered": "by the router"}

    @app.get("/things/{name}/hello")
    async def read(name: str) -> dict[str, str]:
        return {"answered": "by the router", "name": name}

    routes = [
        DirectRoute("POST", "/things/{name}/hello", hello),
        DirectRoute("POST", "/things/{name}/broken", broken),
    ]
    app.add_middleware(DirectRoutes, owner=app, routes=routes)
    app.add_middleware(RequestContextMiddleware, metrics=Metrics())
    return app


def test_direct_routes_answer_first_and_keep_the_error_shape() -> None:
    with TestClient(make_app()) as client:
        answered = client.post("/things/灯/hello", content=b"hi")
        assert answered.status_code == 200
        assert answered.json() == {"name": "灯", "body": "hi", "route": "/things/{name}/hello"}
        assert answered.headers["x-request-id"]  # the request context still wraps it

        other_method = client.get("/things/a/hello")
        assert other_method.json() == {"answered": "by the router", "name": "a"}
        assert client.post("/things/a/b/hello").status_code == 404  # one segment per name

        failed = client.post("/things/x/broken")
        assert failed.status_code == 404
        error = failed.json()
        assert error["error"] == "not_found" and error["message"] == "no thing x"
        assert error["request_id"] == failed.headers["x-request-id"]


def test_an_endpoint_must_take_the_paths_parameters_and_the_request() -> None:
    with pytest.raises(ConfigurationError, match="path's parameters"):
        DirectRoute("POST", "/things/{id}/hello", hello)

    async def no_request(name: str) -> Response:
        return Response()

    with pytest.raises(ConfigurationError):
        DirectRoute("POST", "/things/{name}", no_request)
