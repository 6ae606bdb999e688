"""The exchange gateway: what every service call goes through, in this order.

1. **Who calls**: the app's API key (``X-API-Key``), or a signed request (app key id,
   timestamp, nonce, HMAC-SM3 signature: ``signing``) that refuses replays and stale clocks.
2. **May it**: the app's grant in force for the service, looked up afresh with the key on every
   call (one indexed query), so a revoked or expired grant or key stops working at once.
3. **How much**: the grant's daily quota and rate limit (``quotas``: Redis when configured).
4. The call itself (``serving`` for query and verification, ``batch`` for exports), masked per
   the grant's profile.
5. **Trace**: an audit entry with app, department, purpose, service, rows and outcome, for
   refusals too (用必有据，全程留痕), and the call counted for the usage reports.

One ``Gateway`` per web app (``create_app``), shared by its requests; nothing in it is
per-user state, so several workers each hold their own.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rongshu.core.audit.ledger import AuditRecord, AuditTicket
from rongshu.core.crypto import hmac_sm3
from rongshu.core.db import utcnow
from rongshu.core.errors import NotAuthenticated, PermissionDenied, RongshuError
from rongshu.core.identity.credentials import open_signing_secret
from rongshu.core.identity.models import ApiKey
from rongshu.core.identity.service import API_KEY_PREFIX
from rongshu.core.platform import Platform
from rongshu.exchange import quotas, signing
from rongshu.exchange.grants import ActiveGrant
from rongshu.exchange.lookup import CallLookup, KeyRow
from rongshu.exchange.schemas import Condition, ServiceKind
from rongshu.exchange.usage import UsageRecorder
from rongshu.security.schemas import MaskingProfile
from rongshu.security.service import key_provider

#: How often (seconds) a key's ``last_used_at`` is written, at most.
LAST_USED_EVERY = 60.0


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The API key a request presents: ``X-API-Key`` (or CKAN's ``X-CKAN-API-Key``), or the
    ``Authorization`` header, after ``ApiKey``/``Bearer``/``Token`` or, as CKAN clients such
    as ckanapi send it, alone."""
    for name in ("x-api-key", "x-ckan-api-key"):
        if value := headers.get(name, "").strip():
            return value
    authorization = headers.get("authorization", "").strip()
    if not authorization:
        return None
    scheme, _, rest = authorization.partition(" ")
    if rest.strip() and scheme.lower() in ("apikey", "bearer", "token"):
        return rest.strip()
    return authorization


@dataclass(frozen=True)
class Credentials:
    """What a request presented: an API key's parts, or a signed request's headers."""

    key_id: str
    secret: str | None = None  # the API key's secret part; None for a signed request
    signed: signing.SignatureHeaders | None = None


@dataclass(frozen=True)
class CallRequest:
    """What a service call is checked on: its request id (for the audit entry), its headers
    (the credentials), and what a signature covers (method, path and query as sent, body)."""

    request_id: str
    headers: Mapping[str, str]
    method: str
    path: str
    query: str
    body: bytes


@dataclass
class Call:
    """One service call in progress."""

    grant: ActiveGrant
    started: float
    request_id: str
    purpose: str = ""


class Gateway:
    """Authenticates, authorises, limits, audits and counts service calls."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.quotas = quotas.quota_backend(platform.settings)
        self.nonces = signing.nonce_store(platform.settings, platform.db)
        self.usage = UsageRecorder(platform.db)
        self._keys = key_provider(platform)
        self._lookup = CallLookup(platform.db.engine)
        self._conditions: dict[int, tuple[Condition, ...]] = {}
        self._last_used: dict[int, float] = {}

    def close(self) -> None:
        self.usage.close()
        self._lookup.close()

    # -- who calls -------------------------------------------------------------------------

    def credentials(self, headers: Mapping[str, str]) -> Credentials:
        """The key presented, checked for form; a signed request's signature is checked later,
        once the key's secret is known."""
        if signing.is_signed_request(headers):
            signed = signing.read_signature_headers(headers)
            return Credentials(key_id=signed.key_id, signed=signed)
        key = presented_key(headers)
        if not key:
            raise NotAuthenticated(
                "send your app's API key in X-API-Key, or sign the request "
                "(X-App-Key, X-Timestamp, X-Nonce, X-Signature)"
            )
        parts = key.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
            raise NotAuthenticated("malformed API key: expected rsk_<key id>_<secret>")
        return Credentials(key_id=parts[1], secret=parts[2])

    # -- may it ----------------------------------------------------------------------------

    def authorise(self, service_code: str, kind: ServiceKind, request: CallRequest) -> Call:
        """The call's grant: 401 for a bad key or signature, 403 (audited) without a grant in
        force for this service, 429 past the grant's quota or rate."""
        started = time.perf_counter()
        credentials = self.credentials(request.headers)
        request_id = request.request_id
        key, row = self._lookup.call(credentials.key_id, service_code, utcnow())
        if key is None or key.revoked:
            raise self._unknown(credentials, service_code, kind, request_id)
        if credentials.signed is not None:
            if key.signing_secret is None:
                raise NotAuthenticated("this API key cannot sign requests; issue a new key")
            secret = open_signing_secret(self._keys, credentials.key_id, key.signing_secret)
            try:
                signing.verify_signature(
                    credentials.signed,
                    secret=secret,
                    method=request.method,
                    path=request.path,
                    query=request.query,
                    body=request.body,
                    nonces=self.nonces,
                    window=self.platform.settings.exchange_signature_window,
                )
            except NotAuthenticated as exc:
                reason = exc.details[0]["reason"] if exc.details else "unauthenticated"
                self._audit_refusal(key, service_code, kind, request_id, str(reason))
                raise
        else:
            presented = hmac_sm3(self.platform.secret, (credentials.secret or "").encode()).hex()
            if not hmac.compare_digest(key.secret_hash, presented):
                raise self._unknown(credentials, service_code, kind, request_id)
        self._touch(key.key_row)
        if row is None or row.kind != kind.value:
            self._audit_refusal(key, service_code, kind, request_id, "denied")
            raise PermissionDenied(
                f"app {key.app_name} holds no grant in force for service {service_code}; "
                "apply for it in the service catalog"
            )
        grant = ActiveGrant(
            id=row.grant_id,
            app_id=key.app_id,
            app_name=key.app_name,
            department=key.department,
            service_id=row.service_id,
            service_code=service_code,
            resource_code=row.resource_code,
            kind=kind,
            key_columns=tuple(row.key_columns),
            columns=tuple(row.columns),
            conditions=self._conditions_of(row.grant_id, row.row_filter),
            purpose=row.purpose,
            profile=MaskingProfile(row.masking_profile),
            daily_quota=row.daily_quota,
            rate_per_second=row.rate_per_second,
            expires_at=row.expires_at,
        )
        verdict = self.quotas.take(grant.id, grant.daily_quota, grant.rate_per_second)
        if not verdict.allowed:
            refused_by = verdict.refused_by.value if verdict.refused_by else ""
            self.finish(Call(grant, started, request_id), outcome="denied", detail=refused_by)
            quotas.raise_if_refused(verdict)
        return Call(grant, started, request_id)

    def _conditions_of(self, grant_id: int, raw: list[dict[str, Any]]) -> tuple[Condition, ...]:
        found = self._conditions.get(grant_id)
        if found is None:  # a grant's filter never changes, so it is parsed once
            found = tuple(Condition.model_validate(c) for c in raw)
            self._conditions[grant_id] = found
        return found

    def _touch(self, key_row: int) -> None:
        now = time.monotonic()
        if now - self._last_used.get(key_row, 0.0) < LAST_USED_EVERY:
            return
        self._last_used[key_row] = now
        with self.platform.db.engine.begin() as conn:
            conn.execute(
                ApiKey.__table__.update()  # type: ignore[attr-defined]
                .where(ApiKey.id == key_row)
                .values(last_used_at=utcnow())
            )

    def _unknown(
        self, credentials: Credentials, service_code: str, kind: ServiceKind, request_id: str
    ) -> NotAuthenticated:
        """Audit a call with an unknown, revoked or wrong key; the error to raise."""
        self.platform.ledger.append(
            AuditRecord(
                actor=f"key:{credentials.key_id[:40]}",
                action=f"exchange.{kind.value}",
                object=f"service:{service_code}",
                outcome="unauthenticated",
                request_id=request_id,
            )
        )
        return NotAuthenticated("unknown or revoked API key")

    def _audit_refusal(
        self, key: KeyRow, service_code: str, kind: ServiceKind, request_id: str, outcome: str
    ) -> None:
        self.platform.ledger.append(
            AuditRecord(
                actor=f"app:{key.app_id}",
                department=key.department,
                app=key.app_name,
                action=f"exchange.{kind.value}",
                object=f"service:{service_code}",
                outcome=outcome,
                request_id=request_id,
            )
        )
        service_id = self._lookup.service_id(service_code)
        if service_id is not None:
            self.usage.count(service_id, key.app_id, seconds=0.0, outcome="denied")

    # -- trace -----------------------------------------------------------------------------

    def finish(
        self, call: Call, *, outcome: str = "ok", rows: int = 0, detail: str = ""
    ) -> AuditTicket:
        """Audit the call and count it; the ticket resolves once the entry is committed."""
        grant = call.grant
        purpose = grant.purpose if not call.purpose else f"{grant.purpose} | {call.purpose}"
        if detail:
            purpose = f"{purpose} [{detail}]"
        ticket = self.platform.ledger.append(
            AuditRecord(
                actor=f"app:{grant.app_id}",
                department=grant.department,
                app=grant.app_name,
                action=f"exchange.{grant.kind.value}",
                object=f"service:{grant.service_code}",
                purpose=purpose,
                outcome=outcome,
                row_count=rows,
                request_id=call.request_id,
            )
        )
        usage_outcome = outcome if outcome in ("ok", "denied") else "error"
        self.usage.count(
            grant.service_id,
            grant.app_id,
            seconds=time.perf_counter() - call.started,
            outcome=usage_outcome,
            rows=rows,
        )
        return ticket

    def failed(self, call: Call, error: Exception) -> None:
        """Audit a call that failed after it was authorised (bad input, missing data, a bug)."""
        outcome = error.code if isinstance(error, RongshuError) else "error"
        self.finish(call, outcome=outcome)
