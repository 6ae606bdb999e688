"""What every service call looks up: its API key (with app and department) and its grant in
force. Two indexed queries, sent as plain SQL on a DB-API connection each thread keeps, with
the columns' own type conversions: a call pays tens of microseconds for them, where building
statements and results through the ORM layer cost ten times that. Nothing is cached, so a
revoked key or grant, or one past its expiry, stops working with the next call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table

from rongshu.core.identity.models import ApiKey
from rongshu.exchange.models import ExchangeGrant

_KEY = (
    "SELECT k.id, k.secret_hash, k.signing_secret, k.revoked_at, a.id, a.name, d.code"
    " FROM api_key k JOIN app a ON a.id = k.app_id JOIN department d ON d.id = a.department_id"
    " WHERE k.key_id = ?"
)
_GRANTS = (
    "SELECT g.id, g.columns, g.row_filter, g.purpose, g.masking_profile, g.daily_quota,"
    " g.rate_per_second, g.expires_at, s.id, s.resource_code, s.kind, s.key_columns"
    " FROM exchange_grant g JOIN exchange_service s ON s.id = g.service_id"
    " WHERE g.app_id = ? AND s.code = ? AND s.status = 'published' AND g.revoked_at IS NULL"
    " ORDER BY g.id DESC"
)
_SERVICE = "SELECT id FROM exchange_service WHERE code = ?"


@dataclass(frozen=True, slots=True)
class KeyRow:
    """An API key as a call sees it."""

    key_row: int
    secret_hash: str
    signing_secret: str | None
    revoked: bool
    app_id: int
    app_name: str
    department: str


@dataclass(frozen=True, slots=True)
class GrantRow:
    """A grant in force and its service, as a call sees them."""

    grant_id: int
    columns: list[str]
    row_filter: list[dict[str, Any]]
    purpose: str
    masking_profile: str
    daily_quota: int
    rate_per_second: int
    expires_at: datetime
    service_id: int
    resource_code: str
    kind: str
    key_columns: list[str]


Convert = Callable[[Any], Any]


def _converter(table: Table, column: str, engine: Engine) -> Convert:
    """The column type's conversion of a driver value (JSON text, SQLite timestamps, zones)."""
    kind = table.c[column].type.dialect_impl(engine.dialect)
    convert: Convert | None = kind.result_processor(engine.dialect, None)
    return convert if convert is not None else (lambda value: value)


class CallLookup:
    """The key and grant lookups of one process."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._key_sql = _KEY.replace("?", mark)
        self._grants_sql = _GRANTS.replace("?", mark)
        self._service_sql = _SERVICE.replace("?", mark)
        grant: Table = ExchangeGrant.__table__  # type: ignore[assignment]
        key: Table = ApiKey.__table__  # type: ignore[assignment]
        self._json = _converter(grant, "columns", engine)
        self._expires = _converter(grant, "expires_at", engine)
        self._revoked = _converter(key, "revoked_at", engine)
        self._local = threading.local()

    def key(self, key_id: str) -> KeyRow | None:
        rows = self._fetch(self._key_sql, (key_id,))
        if not rows:
            return None
        key_row, secret_hash, signing_secret, revoked_at, app_id, app_name, department = rows[0]
        return KeyRow(
            key_row,
            secret_hash,
            signing_secret,
            self._revoked(revoked_at) is not None,
            app_id,
            app_name,
            department,
        )

    def grant(self, app_id: int, service_code: str, now: datetime) -> GrantRow | None:
        """The newest grant of ``app_id`` on ``service_code`` not revoked and not expired."""
        for row in self._fetch(self._grants_sql, (app_id, service_code)):
            expires_at = self._expires(row[7])
            if expires_at > now:
                return GrantRow(
                    row[0],
                    self._json(row[1]),
                    self._json(row[2]),
                    row[3],
                    row[4],
                    row[5],
                    row[6],
                    expires_at,
                    row[8],
                    row[9],
                    row[10],
                    self._json(row[11]),
                )
        return None

    def service_id(self, service_code: str) -> int | None:
        rows = self._fetch(self._service_sql, (service_code,))
        return int(rows[0][0]) if rows else None

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        connection = self._connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
            finally:
                cursor.close()
        except Exception:
            # A connection the server dropped (a restart, a failover) is not reused.
            self._local.connection = None
            connection.invalidate()
            raise

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._engine.raw_connection()
            driver: Any = connection.driver_connection
            # Each lookup reads committed data afresh: no transaction stays open between calls
            # (sqlite3 opens none for a SELECT; psycopg and PyMySQL are told not to).
            autocommit = getattr(driver, "autocommit", None)
            if callable(autocommit):
                autocommit(True)
            elif autocommit is not None:
                driver.autocommit = True
            self._local.connection = connection
        return connection
