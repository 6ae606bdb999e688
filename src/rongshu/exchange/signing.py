"""Signed requests: an app proves each call with HMAC-SM3 instead of sending its API key.

A signed call carries four headers: ``X-App-Key`` (the key id, the middle part of
``rsk_<key id>_<secret>``), ``X-Timestamp`` (Unix seconds), ``X-Nonce`` (16 to 64 characters of
``[A-Za-z0-9_-]``, new for every call) and ``X-Signature``: the lower-case hex HMAC-SM3, keyed
with the secret part of the API key, of the canonical request, which is these lines joined by
``\\n``::

    GET                                     the method, upper case
    /api/v1/exchange/verify                 the path as sent (percent-encoded, no query)
    a=1&b=%E5%90%8D                         the query: pairs percent-encoded, sorted
    1735689600                              X-Timestamp
    3q2-7wAAAAAAAAAAAAAAAA                  X-Nonce
    1ab21d83...                             hex SM3 of the body (of b"" when there is none)

The secret never travels, a captured call cannot be altered (every part is signed) and cannot be
replayed: its timestamp goes stale after ``settings.exchange_signature_window`` seconds and its
nonce is remembered until then by a :class:`NonceStore` that every worker process shares
(Redis when ``settings.redis_url`` is set, else the ``exchange_nonce`` table).

The server checks the HMAC, so it must hold the secret itself; identity stores only an HMAC of
it, so each key also keeps its secret sealed with SM4-GCM under the ``credential`` data key
(``ApiKey.signing_secret``, see :func:`seal_signing_secret`).
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol
from urllib.parse import parse_qsl, quote, urlsplit

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from rongshu.core.crypto import hmac_sm3, sm3
from rongshu.core.db import Database
from rongshu.core.errors import NotAuthenticated, ValidationFailed
from rongshu.core.settings import Settings
from rongshu.exchange.models import ExchangeNonce

if TYPE_CHECKING:
    from redis import Redis

__all__ = [
    "APP_KEY_HEADER",
    "NONCE_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DatabaseNonces",
    "NonceStore",
    "RedisNonces",
    "SignatureHeaders",
    "canonical_query",
    "canonical_request",
    "nonce_store",
    "read_signature_headers",
    "sign",
    "signed_headers",
    "verify_signature",
]

APP_KEY_HEADER: Final = "X-App-Key"
TIMESTAMP_HEADER: Final = "X-Timestamp"
NONCE_HEADER: Final = "X-Nonce"
SIGNATURE_HEADER: Final = "X-Signature"
_HEADERS: Final = (APP_KEY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
_ALL_HEADERS: Final = ", ".join(_HEADERS[:-1]) + " and " + _HEADERS[-1]

_KEY_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")

Query = str | Iterable[tuple[str, str]]


# -- the canonical request and its signature ------------------------------------------------------


def canonical_query(query: Query) -> str:
    """The query as signed: each name and value percent-encoded (RFC 3986: everything but
    letters, digits and ``-._~``), pairs sorted by encoded name then encoded value, ``&``-joined.

    ``query`` is the raw query string as sent (decoded first, ``+`` as a space) or name/value
    pairs, so ``b=2&a=%7E`` and ``[("a", "~"), ("b", "2")]`` give the same text.
    """
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else query
    encoded = sorted((quote(name, safe=""), quote(value, safe="")) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_request(
    method: str, path: str, query: Query, timestamp: int, nonce: str, body: bytes
) -> bytes:
    """The bytes an HMAC-SM3 signature covers (see the module docstring for the form)."""
    lines = (
        method.upper(),
        path or "/",
        canonical_query(query),
        str(timestamp),
        nonce,
        sm3(body).hex(),
    )
    return "\n".join(lines).encode()


def sign(
    secret: str, method: str, path: str, query: Query, timestamp: int, nonce: str, body: bytes
) -> str:
    """The ``X-Signature`` of a request: lower-case hex HMAC-SM3 keyed with the key's secret."""
    message = canonical_request(method, path, query, timestamp, nonce, body)
    return hmac_sm3(secret.encode(), message).hex()


def _split_api_key(api_key: str) -> tuple[str, str]:
    parts = api_key.split("_", 2)
    if len(parts) != 3 or parts[0] != "rsk" or not parts[1] or not parts[2]:
        raise ValidationFailed(
            "malformed API key: expected rsk_<key id>_<secret>",
            details=[{"field": "api_key", "reason": "malformed"}],
        )
    return parts[1], parts[2]


def signed_headers(
    api_key: str, method: str, url_or_path: str, body: bytes = b"", now: float | None = None
) -> dict[str, str]:
    """The four headers that sign one call (a fresh nonce each time), for clients and the CLI.

    ``url_or_path`` is the URL or path exactly as it will be sent, query included.
    """
    key_id, secret = _split_api_key(api_key)
    target = urlsplit(url_or_path)
    timestamp = int(time.time() if now is None else now)
    nonce = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]
    return {
        APP_KEY_HEADER: key_id,
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(secret, method, target.path, target.query, timestamp, nonce, body),
    }


# -- reading and checking a signed call -----------------------------------------------------------


class SignatureHeaders(NamedTuple):
    """The signing headers of one call, checked for form (not yet for truth)."""

    key_id: str
    timestamp: int
    nonce: str
    signature: str


def _refuse(header: str, reason: str, message: str) -> NotAuthenticated:
    return NotAuthenticated(message, details=[{"header": header, "reason": reason}])


def is_signed_request(headers: Mapping[str, str]) -> bool:
    """Whether the call means to be signed: it carries any of the four signing headers."""
    return any(name in headers for name in _HEADERS)


def read_signature_headers(headers: Mapping[str, str]) -> SignatureHeaders:
    """The signing headers (names in any case); each missing or malformed one has its own 401."""
    by_name = {name.lower(): value for name, value in headers.items()}
    values = []
    for name in _HEADERS:
        value = by_name.get(name.lower())
        if value is None or not value.strip():
            raise _refuse(
                name, "missing", f"missing {name} header: a signed request needs {_ALL_HEADERS}"
            )
        values.append(value.strip())
    key_id, timestamp, nonce, signature = values
    if key_id.startswith("rsk_"):
        raise _refuse(
            APP_KEY_HEADER,
            "malformed",
            f"malformed {APP_KEY_HEADER}: send only the key id (the middle part of "
            "rsk_<key id>_<secret>), never the whole API key; issue a new key if this one "
            "was sent",
        )
    if not _KEY_ID.fullmatch(key_id):
        raise _refuse(
            APP_KEY_HEADER,
            "malformed",
            f"malformed {APP_KEY_HEADER}: expected the key id, the middle part of "
            "rsk_<key id>_<secret>",
        )
    if not _TIMESTAMP.fullmatch(timestamp):
        raise _refuse(
            TIMESTAMP_HEADER,
            "malformed",
            f"malformed {TIMESTAMP_HEADER}: expected whole Unix seconds, such as 1735689600",
        )
    if not _NONCE.fullmatch(nonce):
        raise _refuse(
            NONCE_HEADER,
            "malformed",
            f"malformed {NONCE_HEADER}: expected 16 to 64 characters of A-Z, a-z, 0-9, '_' and '-'",
        )
    if not _SIGNATURE.fullmatch(signature):
        raise _refuse(
            SIGNATURE_HEADER,
            "malformed",
            f"malformed {SIGNATURE_HEADER}: expected the HMAC-SM3 as 64 lower-case hex characters",
        )
    return SignatureHeaders(key_id, int(timestamp), nonce, signature)


def verify_signature(
    signed: SignatureHeaders,
    *,
    secret: str,
    method: str,
    path: str,
    query: Query,
    body: bytes,
    nonces: NonceStore,
    window: int,
    now: float | None = None,
) -> None:
    """Accept the call or raise a 401 saying why: stale (or future) timestamp, a signature that
    does not match (compared in constant time), or a nonce this key already used.

    The nonce is claimed last, so calls that fail the other checks never fill the store; it is
    remembered until the timestamp goes stale, the moment a replay would be refused anyway.
    """
    current = time.time() if now is None else now
    drift = signed.timestamp - current
    if abs(drift) > window:
        direction = "behind" if drift < 0 else "ahead of"
        raise _refuse(
            TIMESTAMP_HEADER,
            "stale",
            f"stale {TIMESTAMP_HEADER}: {abs(drift):.0f} s {direction} the server's clock, more "
            f"than the {window} s allowed; check the client's clock and sign each call afresh",
        )
    expected = sign(secret, method, path, query, signed.timestamp, signed.nonce, body)
    if not hmac.compare_digest(expected, signed.signature):
        raise _refuse(
            SIGNATURE_HEADER,
            "bad_signature",
            f"bad {SIGNATURE_HEADER}: it does not match this request; sign the method, the path "
            "as sent, the sorted query, the timestamp, the nonce and the body's SM3 with the "
            "key's secret",
        )
    remember = max(1, int(signed.timestamp + window - current) + 1)
    if not nonces.claim(signed.key_id, signed.nonce, remember):
        raise _refuse(
            NONCE_HEADER,
            "replayed",
            f"replayed {NONCE_HEADER}: this key already used this nonce within the last "
            f"{window} s; send a new nonce with every call",
        )


# -- nonces: each one accepted once per key ------------------------------------------------------


class NonceStore(Protocol):
    """Remembers which nonces each key has used, shared by every worker process."""

    def claim(self, key_id: str, nonce: str, ttl_seconds: int) -> bool:
        """True the first time ``nonce`` is seen for ``key_id`` within ``ttl_seconds``."""
        ...


class RedisNonces:
    """Nonces in Redis, one key each (``SET NX EX``): Redis forgets them when they go stale."""

    def __init__(self, client: Redis, *, prefix: str = "rongshu:nonce:") -> None:
        self._client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "rongshu:nonce:") -> RedisNonces:
        from redis import Redis  # imported on use: clients that only sign never load redis

        return cls(Redis.from_url(url), prefix=prefix)

    def claim(self, key_id: str, nonce: str, ttl_seconds: int) -> bool:
        name = f"{self.prefix}{key_id}:{nonce}"
        return bool(self._client.set(name, b"1", nx=True, ex=ttl_seconds))

    def close(self) -> None:
        self._client.close()


class DatabaseNonces:
    """Nonces in the ``exchange_nonce`` table, so worker processes without Redis share them.

    The unique (key id, nonce) index decides: the first insert wins, a second is a replay. Each
    claim commits at once on its own connection (a nonce stays used even if the call then
    fails). Expired rows are deleted at most once per ``purge_every`` seconds per process, by
    one indexed ``DELETE`` riding on a claim's transaction.
    """

    def __init__(
        self,
        db: Database,
        *,
        purge_every: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._purge_every = purge_every
        self._clock = clock
        self._next_purge = 0.0

    def claim(self, key_id: str, nonce: str, ttl_seconds: int) -> bool:
        seconds = self._clock()
        now = datetime.fromtimestamp(seconds, UTC)
        expires_at = now + timedelta(seconds=ttl_seconds)
        try:
            with self._db.engine.begin() as connection:
                connection.execute(
                    insert(ExchangeNonce).values(key_id=key_id, nonce=nonce, expires_at=expires_at)
                )
                if seconds >= self._next_purge:
                    self._next_purge = seconds + self._purge_every
                    connection.execute(delete(ExchangeNonce).where(ExchangeNonce.expires_at < now))
            return True
        except IntegrityError:
            pass
        # Seen before: a replay, unless that row has expired and was not purged yet.
        with self._db.engine.begin() as connection:
            renewed = connection.execute(
                update(ExchangeNonce)
                .where(
                    ExchangeNonce.key_id == key_id,
                    ExchangeNonce.nonce == nonce,
                    ExchangeNonce.expires_at <= now,
                )
                .values(expires_at=expires_at)
            )
        return renewed.rowcount == 1


def nonce_store(settings: Settings, db: Database) -> NonceStore:
    """Redis when ``settings.redis_url`` is set, else the metadata database; build it once per
    process (it holds a connection pool)."""
    if settings.redis_url:
        return RedisNonces.from_url(settings.redis_url)
    return DatabaseNonces(db)
