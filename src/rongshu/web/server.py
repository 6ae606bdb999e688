"""Running the platform as a process: the web server (with in-process jobs) or a job worker."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import socket
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


def _settled(app: FastAPI) -> FastAPI:
    """``app``, once everything it serves with is built (modules, the app, the platform),
    all of which lives as long as the process: moved out of the cyclic garbage collector's
    reach (``gc.freeze``), so that its full collections stop walking those objects while
    every request waits (pauses of about 100 ms under load; the verification bench's p99)."""
    gc.collect()
    gc.freeze()
    return app


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
        serve_workers(host, port, workers)
        return
    platform = Platform.open(settings)
    _check_schema(platform.db)
    queue = open_queue(settings, platform)
    if settings.jobs_in_process:
        queue.start_in_process(settings.jobs_workers)
    try:
        app = _settled(create_app(settings, platform=platform, queue=queue))
        log.info("serving on http://%s:%d", host, port)
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    finally:
        queue.close()
        platform.close()


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP listening socket each worker opens for itself (``SO_REUSEPORT``: the kernel spreads
    connections over the workers); made with ``IPPROTO_TCP`` so the event loop sets
    ``TCP_NODELAY`` on its connections (a socket of unknown protocol keeps Nagle's delay)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(host: str, port: int) -> None:
    """One worker process: its own socket, app, platform and event loop."""
    sock = listening_socket(host, port)
    config = uvicorn.Config(worker_app, factory=True, log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(host: str, port: int, workers: int) -> None:
    """Run ``workers`` worker processes until interrupted or terminated; a worker that dies
    stops the others (a supervisor such as systemd restarts the service)."""
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(host, port), name=f"rongshu-worker-{n}")
        for n in range(workers)
    ]
    for process in processes:
        process.start()

    def stop(_signal: int = signal.SIGTERM, _frame: object = None) -> None:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(process.is_alive() for process in processes):
            processes[0].join(timeout=1.0)
    except KeyboardInterrupt:
        pass  # the workers got the same SIGINT from the terminal and stop on their own
    finally:
        stop()
        for process in processes:
            process.join(timeout=30)


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

    return _settled(create_app(settings, platform=platform, queue=queue, on_shutdown=close))


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
