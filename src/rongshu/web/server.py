"""Running the platform as a process: the web server (with in-process jobs) or a job worker."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import uvicorn
from fastapi import FastAPI

from rongshu.areas import load_jobs
from rongshu.core.db import Database
from rongshu.core.errors import ConfigurationError
from rongshu.core.jobs import JobQueue, create_queue
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings, load_settings
from rongshu.web.app import create_app
from rongshu.web.observability import configure_logging

log = logging.getLogger("rongshu.web")


def open_queue(settings: Settings, platform: Platform) -> JobQueue:
    """The job queue of this installation; jobs get this process's platform."""
    load_jobs()

    def context(_settings: Settings) -> Mapping[str, Any]:
        return {"platform": platform}

    return create_queue(settings, context_factory=context)


def _check_schema(db: Database) -> None:
    from alembic.script import ScriptDirectory

    from rongshu.core.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    current = db.current_revision()
    if current != head:
        raise ConfigurationError(
            f"the metadata database is at revision {current or 'empty'}, not {head}: "
            "run `rongshu db upgrade` (or `rongshu init`) first"
        )


def run_server(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Serve the app until interrupted; jobs run in this process unless configured not to.

    With ``workers`` above one, uvicorn runs that many worker processes, each opening its own
    platform from the environment (``worker_app``); the settings given here reach them as
    ``RONGSHU_*`` variables.
    """
    configure_logging(settings.log_format, settings.log_level)
    if workers > 1:
        db = Database.from_settings(settings)
        try:
            _check_schema(db)
        finally:
            db.dispose()
        os.environ.update(settings_environment(settings))
        log.info("serving on http://%s:%d with %d workers", host, port, workers)
        uvicorn.run(
            "rongshu.web.server:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
        )
        return
    platform = Platform.open(settings)
    _check_schema(platform.db)
    queue = open_queue(settings, platform)
    if settings.jobs_in_process:
        queue.start_in_process(settings.jobs_workers)
    try:
        app = create_app(settings, platform=platform, queue=queue)
        log.info("serving on http://%s:%d", host, port)
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    finally:
        queue.close()
        platform.close()


def settings_environment(settings: Settings) -> dict[str, str]:
    """``settings`` as the ``RONGSHU_*`` variables that reproduce them in another process."""
    values = settings.model_dump(mode="json")
    values["secret_key"] = settings.secret_key.get_secret_value()
    environment = {}
    for name, value in values.items():
        if value is None:
            continue
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        environment[f"RONGSHU_{name.upper()}"] = text
    return environment


def worker_app() -> FastAPI:
    """One worker process's app (``rongshu serve --workers N``): its own platform and job
    queue, both closed when the worker stops."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    platform = Platform.open(settings)
    queue = open_queue(settings, platform)
    if settings.jobs_in_process:
        queue.start_in_process(settings.jobs_workers)

    def close() -> None:
        queue.close()
        platform.close()

    return create_app(settings, platform=platform, queue=queue, on_shutdown=close)


def run_worker(settings: Settings, *, workers: int) -> None:
    """Run background jobs in the foreground until SIGINT or SIGTERM."""
    configure_logging(settings.log_format, settings.log_level)
    platform = Platform.open(settings)
    _check_schema(platform.db)
    queue = open_queue(settings, platform)
    try:
        queue.run_worker(workers)
    finally:
        queue.close()
        platform.close()
