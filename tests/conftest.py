"""Shared fixtures: service URLs that skip (or fail, under RONGSHU_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

REQUIRE_SERVICES = os.environ.get("RONGSHU_REQUIRE_SERVICES") == "1"

DEFAULT_URLS = {
    "postgres": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
    "redis": "redis://127.0.0.1:6379/0",
}


def _service_url(kind: str) -> str:
    url = os.environ.get(f"RONGSHU_TEST_{kind.upper()}_URL", DEFAULT_URLS[kind])
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port
    assert port is not None, f"{kind} test URL needs an explicit port: {url}"
    try:
        with socket.create_connection((host, port), timeout=1.0):
            pass
    except OSError as exc:
        message = f"{kind} is not reachable at {host}:{port} ({exc})"
        if REQUIRE_SERVICES:
            pytest.fail(f"RONGSHU_REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema-free database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = _service_url("postgres")
    name = f"rongshu_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh MariaDB/MySQL database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = _service_url("mysql")
    name = f"rongshu_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    """The Redis URL (tests must namespace and clean up their own keys)."""
    return _service_url("redis")


@pytest.fixture(autouse=True, scope="session")
def _light_password_hashing() -> Iterator[None]:
    """Argon2id at its lightest cost in the tests' own process: thousands of users are created
    and signed in, and the tests check what happens, not the hash's strength (production keeps
    argon2's defaults; the e2e servers run in their own processes with them)."""
    from argon2 import PasswordHasher

    from rongshu.core.identity import service

    default = service._hasher
    service._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    service._hasher = default
