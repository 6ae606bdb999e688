"""The web application factory: JSON API under /api/v1, pages, static assets, health, metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from rongshu import __version__
from rongshu.catalog import api as catalog_api
from rongshu.catalog import overview as catalog_overview
from rongshu.catalog import pages as catalog_pages
from rongshu.core.audit import api as audit_api
from rongshu.core.audit import pages as audit_pages
from rongshu.core.identity import api as identity_api
from rongshu.core.jobs import JobQueue
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings, load_settings
from rongshu.exchange import api as exchange_api
from rongshu.exchange import application_pages as exchange_application_pages
from rongshu.exchange import pages as exchange_pages
from rongshu.exchange.gateway import Gateway
from rongshu.ingest import api as ingest_api
from rongshu.ingest import attaching as ingest_attaching
from rongshu.ingest import pages as ingest_pages
from rongshu.opendata import account_pages as opendata_account_pages
from rongshu.opendata import api as opendata_api
from rongshu.opendata import ckan as opendata_ckan
from rongshu.opendata import downloads as opendata_downloads
from rongshu.opendata import feedback_pages as opendata_feedback_pages
from rongshu.opendata import pages as opendata_pages
from rongshu.opendata.datastore import Datastore
from rongshu.opendata.search import DatasetSearch
from rongshu.quality import api as quality_api
from rongshu.quality import correction_pages, corrections_api
from rongshu.quality import pages as quality_pages
from rongshu.quality import resource_pages as quality_resource_pages
from rongshu.security import api as security_api
from rongshu.security import pages as security_pages
from rongshu.web import pages, system
from rongshu.web.direct import DirectRoute, DirectRoutes
from rongshu.web.errors import install_error_handlers
from rongshu.web.observability import Metrics, RequestContextMiddleware
from rongshu.web.templating import STATIC_DIR

log = logging.getLogger("rongshu.web")

API_PREFIX = "/api/v1"

#: Every area's JSON router, mounted under /api/v1. Later areas append theirs here.
API_ROUTERS: list[APIRouter] = [
    # First: its service calls are the busiest routes, and routing tries routes in order.
    exchange_api.router,
    identity_api.router,
    audit_api.router,
    system.api,
    catalog_api.router,
    catalog_api.public_router,
    ingest_api.router,
    quality_api.router,
    security_api.router,
    corrections_api.router,
    opendata_api.router,
]
#: The service calls, answered before FastAPI's routing (``rongshu.web.direct``): the busiest
#: routes, whose own work is smaller than that machinery's.
DIRECT_ROUTES: tuple[DirectRoute, ...] = tuple(
    DirectRoute("POST", f"{API_PREFIX}/exchange/services/{{code}}/{kind}", endpoint)
    for kind, endpoint in (("verify", exchange_api.verify), ("query", exchange_api.query))
)
#: Every area's page router.
PAGE_ROUTERS: list[APIRouter] = [
    pages.router,
    audit_pages.router,
    catalog_overview.router,  # before catalog_pages, whose /console/catalog/{code} would match
    catalog_pages.router,
    ingest_pages.router,
    ingest_attaching.router,
    correction_pages.router,
    quality_pages.router,
    quality_resource_pages.router,
    security_pages.router,
    exchange_pages.router,
    exchange_application_pages.router,
    opendata_downloads.router,  # before opendata_pages, whose /datasets/{name} would match
    opendata_pages.router,
    opendata_account_pages.router,
    opendata_feedback_pages.router,
]


def create_app(
    settings: Settings | None = None,
    *,
    platform: Platform | None = None,
    queue: JobQueue | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the app. Pass an open ``platform`` to share it (tests); else one is opened.

    ``queue`` is where requested background work goes (``rongshu serve`` passes its queue);
    without one, such work runs in the request. ``on_shutdown`` runs when the app stops.
    """
    owns_platform = platform is None
    if platform is None:
        platform = Platform.open(settings or load_settings())
    metrics = Metrics()
    platform.ledger.on_commit = metrics.audit_entries.inc

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.gateway.close()
        app.state.datastore.close()
        if on_shutdown is not None:
            on_shutdown()
        if owns_platform:
            app.state.platform.close()

    app = FastAPI(
        title="rongshu API",
        version=__version__,
        description="榕数 public-data platform: departments, users, apps, audit ledger.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.queue = queue
    app.state.metrics = metrics
    app.state.gateway = Gateway(platform)
    app.state.datastore = Datastore(platform.settings)
    app.state.dataset_search = DatasetSearch(platform.db)
    install_error_handlers(app)

    @app.exception_handler(pages.LoginRequired)
    async def _login_required(request: Request, exc: pages.LoginRequired) -> Response:
        return pages.login_redirect(exc.next_url)

    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(system.router)
    app.include_router(opendata_ckan.router)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    STATIC_DIR.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Added first, so it runs inside the request context (ids, logs, metrics).
    app.add_middleware(DirectRoutes, owner=app, routes=DIRECT_ROUTES)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app
