"""Running the platform as a process: the web server (with in-process jobs) or a job worker."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import uvicorn

from rongshu.areas import load_jobs
from rongshu.core.db import Database
from rongshu.core.errors import ConfigurationError
from rongshu.core.jobs import JobQueue, create_queue
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
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


def run_server(settings: Settings, *, host: str, port: int) -> None:
    """Serve the app until interrupted; jobs run in this process unless configured not to."""
    configure_logging(settings.log_format, settings.log_level)
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
