"""What every service call looks up: its API key (with app and department) and its grant in
force. One indexed query for both, sent as plain SQL on a DB-API connection each thread keeps,
with the columns' own type conversions: a call pays tens of microseconds for it, where building
statements and results through the ORM layer cost ten times that (and on SQLite each query
gives up the GIL, which under load takes as long again to get back). Nothing is cached, so a
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

# The key's row, with each grant of its app on the service: the grant's columns are NULL when
# there is none. The service code is the first parameter, the key id the second.
_CALL = (
    "SELECT k.id, k.secret_hash, k.signing_secret, k.revoked_at, a.id, a.name, d.code,"
    " g.id, g.columns, g.row_filter, g.purpose, g.masking_profile, g.daily_quota,"
    " g.rate_per_second, g.expires_at, s.id, s.resource_code, s.kind, s.key_columns"
    " FROM api_key k JOIN app a ON a.id = k.app_id JOIN department d ON d.id = a.department_id"
    " LEFT JOIN exchange_service s ON s.code = ? AND s.status = 'published'"
    " LEFT JOIN exchange_grant g"
    " ON g.app_id = a.id AND g.service_id = s.id AND g.revoked_at IS NULL"
    " WHERE k.key_id = ?"
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
        self._call_sql = _CALL.replace("?", mark)
        self._service_sql = _SERVICE.replace("?", mark)
        grant: Table = ExchangeGrant.__table__  # type: ignore[assignment]
        key: Table = ApiKey.__table__  # type: ignore[assignment]
        self._json = _converter(grant, "columns", engine)
        self._expires = _converter(grant, "expires_at", engine)
        self._revoked = _converter(key, "revoked_at", engine)
        self._local = threading.local()
        self._opened: list[Any] = []  # every thread's connection, to give back on close
        self._opened_lock = threading.Lock()
        self._generation = 0  # a thread's connection from before the last close is not used

    def close(self) -> None:
        """Give every thread's connection back to the engine's pool (at shutdown: a thread's
        connection is otherwise left to the garbage collector, open). A later call takes a
        new one."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
            self._generation += 1
        for connection in opened:
            connection.close()

    def call(
        self, key_id: str, service_code: str, now: datetime
    ) -> tuple[KeyRow | None, GrantRow | None]:
        """The key ``key_id`` (None if unknown), and its app's newest grant on ``service_code``
        that is not revoked nor expired at ``now`` (None if there is none)."""
        rows = self._fetch(self._call_sql, (service_code, key_id))
        if not rows:
            return None, None
        key_row, secret_hash, signing_secret, revoked_at, app_id, app_name, department = rows[0][:7]
        key = KeyRow(
            key_row,
            secret_hash,
            signing_secret,
            self._revoked(revoked_at) is not None,
            app_id,
            app_name,
            department,
        )
        for row in rows:
            if row[7] is None:  # no grant
                break
            expires_at = self._expires(row[14])
            if expires_at > now:
                return key, GrantRow(
                    row[7],
                    self._json(row[8]),
                    self._json(row[9]),
                    row[10],
                    row[11],
                    row[12],
                    row[13],
                    expires_at,
                    row[15],
                    row[16],
                    row[17],
                    self._json(row[18]),
                )
        return key, None

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
            with self._opened_lock:
                self._opened = [c for c in self._opened if c is not connection]
            connection.invalidate()
            raise

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.generation != self._generation:
            connection = self._engine.raw_connection()
            driver: Any = connection.driver_connection
            # Each lookup reads committed data afresh: no transaction stays open between calls
            # (sqlite3 opens none for a SELECT; psycopg and PyMySQL are told not to).
            autocommit = getattr(driver, "autocommit", None)
            if callable(autocommit):
                autocommit(True)
            elif autocommit is not None:
                driver.autocommit = True
            with self._opened_lock:
                self._opened.append(connection)
                self._local.connection, self._local.generation = connection, self._generation
        return connection
