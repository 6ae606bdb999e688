"""Direct routes: the busiest endpoints answered before FastAPI's routing.

An exchange verification does about 0.2 ms of its own work (key, grant, quota, the serving
index, the audit entry); FastAPI's exception middleware, router and request handling around it
cost about as much again. ``DirectRoutes`` sits just inside the request-context middleware
(request ids, logs and metrics stay as they are) and hands the requests of the routes it is
given straight to their endpoint functions; every other request goes on to the app. The routes
stay in the app as well, which describes them in its OpenAPI document.

An endpoint qualifies if it takes its path parameters as text and the ``Request`` by the name
``request``, and parses its own body (``create_app`` registers only such endpoints; the check
runs when the middleware is made). Errors it raises are answered by the app's own exception
handlers, so every answer keeps the platform's shapes.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from rongshu.core.errors import ConfigurationError

Endpoint = Callable[..., Awaitable[Response]]
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class DirectRoute:
    """``method path`` (a template, ``{name}`` for a path segment) answered by ``endpoint``;
    ``path`` names the route in metrics and logs, as the app's own routes do."""

    method: str
    path: str
    endpoint: Endpoint
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = _PARAMETER.findall(self.path)
        parameters = inspect.signature(self.endpoint).parameters
        texts = [n for n, p in parameters.items() if n != "request"]
        if sorted(texts) != sorted(names) or "request" not in parameters:
            raise ConfigurationError(
                f"{self.endpoint.__qualname__} cannot be a direct route for {self.path}: it "
                "must take exactly the path's parameters and the request"
            )
        parts = _PARAMETER.split(self.path)  # text, name, text, name, ..., text
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
        )
        object.__setattr__(self, "pattern", re.compile(regex + r"\Z"))


class DirectRoutes:
    """ASGI middleware answering ``routes`` itself (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, owner: FastAPI, routes: Sequence[DirectRoute]) -> None:
        self.app = app
        self._owner = owner
        self._routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self._routes:
                if scope["method"] != route.method:
                    continue
                match = route.pattern.match(scope["path"])
                if match is None:
                    continue
                scope["route"] = route
                scope["path_params"] = match.groupdict()
                request = Request(scope, receive)
                try:
                    response = await route.endpoint(request=request, **scope["path_params"])
                except Exception as exc:
                    response = await self._answer_error(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer_error(self, request: Request, exc: Exception) -> Response:
        """The app's exception handler for ``exc`` (the nearest of its classes), as FastAPI's
        exception middleware would pick it."""
        for cls in type(exc).__mro__:
            handler = self._owner.exception_handlers.get(cls)
            if handler is not None:
                answer = handler(request, exc)
                response: Response = await answer if inspect.isawaitable(answer) else answer
                return response
        raise exc
