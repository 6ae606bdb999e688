"""Data-subject objections (数据主体查询核实): a citizen sees the rows held about them and
disputes a field; the dispute becomes a correction ticket for the owner department.

Proof of identity: the ID number, the name, and a six-digit one-time code sent to the phone on
record in the rows of a resource that allows subject access (``QualitySubjectAccess``, switched
by the resource's stewards). The answer to "send me a code" is the same whether or not anyone
was found. A code lives ``CODE_MINUTES``, allows ``MAX_ATTEMPTS`` tries, and an ID number gets
at most ``CODES_PER_HOUR`` codes an hour. Codes, tokens and ID numbers are kept only as
HMAC-SM3 under the installation secret (the ID number also sealed with SM4-GCM, to find the
person's rows while their session lasts). A right code opens a session of ``SESSION_MINUTES``.

A person sees only rows whose ID field holds their own ID number, every field of them. The
ticket of a dispute is verified by the next run of its resource: when the disputed value has
changed (or the row is gone) it is closed; when the department said fixed but it has not
changed, it goes back to the department.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.crypto import LocalCryptoProvider, hmac_sm3
from rongshu.core.db import utcnow
from rongshu.core.errors import (
    NotAuthenticated,
    NotFound,
    TooManyRequests,
    ValidationFailed,
)
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.ingest import access
from rongshu.lake.schema import key_columns
from rongshu.lake.tables import Lake
from rongshu.quality import corrections
from rongshu.quality.correction_schemas import (
    ChallengeSent,
    ObjectionDispute,
    ObjectionSession,
    ObjectionTicket,
    SubjectAccessIn,
    SubjectAccessPublic,
    SubjectRecordList,
    SubjectRecords,
    SubjectRow,
    TicketKind,
    TicketState,
)
from rongshu.quality.failures import row_keys
from rongshu.quality.models import QualityObjectionChallenge, QualitySubjectAccess, QualityTicket
from rongshu.quality.rules import resource_of
from rongshu.quality.schemas import RunPublic, Severity
from rongshu.quality.service import AFTER_RUN
from rongshu.quality.sms import SmsSender, default_sender
from rongshu.standards import get_standard

CODE_MINUTES = 5
MAX_ATTEMPTS = 5
CODES_PER_HOUR = 3
SESSION_MINUTES = 15

_SOURCE = "subject_rows"


# -- which resources allow subject access --------------------------------------------------


def set_subject_access(
    session: Session,
    *,
    resource_code: str,
    data: SubjectAccessIn,
    actor: Actor,
    platform: Platform,
) -> SubjectAccessPublic:
    """Let (or stop letting) a resource's data subjects see and dispute their rows."""
    resource = resource_of(session, resource_code)
    access.require(
        access.stewards(actor, resource.department_code),
        actor,
        platform.ledger,
        action="quality.subject_access",
        object_=f"resource:{resource_code}",
        message=f"only data stewards of {resource.department_code} switch subject access",
    )
    fields = catalog.current_fields(session, resource_code)
    names = {f.english_name for f in fields}
    for which in ("id_field", "name_field", "phone_field"):
        if getattr(data, which) not in names:
            raise ValidationFailed(
                f"{getattr(data, which)} is not a field of {resource_code}",
                details=[{"field": which, "reason": "unknown_field"}],
            )
    if not key_columns(fields):
        raise ValidationFailed(
            f"{resource_code} declares no key fields, so a person's rows cannot be named",
            details=[{"field": "resource_code", "reason": "no_key"}],
        )
    row = session.get(QualitySubjectAccess, resource_code) or QualitySubjectAccess(
        resource_code=resource_code
    )
    row.id_field, row.name_field, row.phone_field = data.id_field, data.name_field, data.phone_field
    row.enabled, row.updated_by, row.updated_at = data.enabled, actor.name[:64], utcnow()
    session.add(row)
    session.flush()
    state = "on" if data.enabled else "off"
    audit_on_commit(
        session,
        platform.ledger,
        actor.audit(f"quality.subject_access.{state}", f"resource:{resource_code}"),
    )
    return subject_access_public(row)


def subject_access_public(row: QualitySubjectAccess) -> SubjectAccessPublic:
    return SubjectAccessPublic(
        resource_code=row.resource_code,
        id_field=row.id_field,
        name_field=row.name_field,
        phone_field=row.phone_field,
        enabled=row.enabled,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def _open_resources(session: Session) -> list[QualitySubjectAccess]:
    return list(
        session.scalars(
            select(QualitySubjectAccess)
            .where(QualitySubjectAccess.enabled.is_(True))
            .order_by(QualitySubjectAccess.resource_code)
        )
    )


# -- proving who one is --------------------------------------------------------------------


def _mac(platform: Platform, purpose: str, text: str) -> str:
    return hmac_sm3(platform.secret, f"{purpose}:{text}".encode()).hex()


def _seal_key(platform: Platform) -> bytes:
    return hmac_sm3(platform.secret, b"rongshu.quality.objection.seal")[:16]


def _subject_actor(subject_hash: str) -> Actor:
    return Actor(kind="user", name=f"subject:{subject_hash[:16]}")


def start(
    platform: Platform,
    *,
    id_number: str,
    name: str,
    sender: SmsSender | None = None,
    now: datetime | None = None,
) -> ChallengeSent:
    """Send a one-time code to the phone on record for (ID number, name), if there is one."""
    now = now or utcnow()
    id_number, name = id_number.strip().upper(), name.strip()
    verdict = get_standard("ric").check(id_number)
    if not id_number or not verdict.ok:
        raise ValidationFailed(
            "not a valid 公民身份号码", details=[{"field": "id_number", "reason": verdict.reason}]
        )
    subject = _mac(platform, "subject", id_number)
    actor = _subject_actor(subject)
    with platform.db.session_scope() as session:
        recent = session.scalar(
            select(func.count())
            .select_from(QualityObjectionChallenge)
            .where(
                QualityObjectionChallenge.subject_hash == subject,
                QualityObjectionChallenge.created_at > now - timedelta(hours=1),
            )
        )
        if (recent or 0) >= CODES_PER_HOUR:
            platform.ledger.append(actor.audit("quality.objection.start", outcome="denied"))
            raise TooManyRequests(f"at most {CODES_PER_HOUR} codes an hour; try again later")
        phone = _phone_on_record(platform, session, id_number, name)
        challenge_id = secrets.token_urlsafe(24)
        code = f"{secrets.randbelow(10**6):06d}"
        challenge = QualityObjectionChallenge(
            id=challenge_id,
            subject_hash=subject,
            subject_sealed=LocalCryptoProvider().sm4_gcm_encrypt(
                _seal_key(platform), id_number.encode(), associated_data=challenge_id.encode()
            ),
            code_hash=_mac(platform, f"code:{challenge_id}", code),
            sent=phone is not None,
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(minutes=CODE_MINUTES),
        )
        session.add(challenge)
        audit_on_commit(
            session,
            platform.ledger,
            actor.audit("quality.objection.start", f"challenge:{challenge_id[:8]}"),
        )
    if phone is not None:
        (sender or default_sender(platform.settings)).send(
            phone,
            f"【榕数】您的数据查询核实验证码为 {code}，{CODE_MINUTES} 分钟内有效。"
            f"如非本人操作请忽略。",
        )
    return ChallengeSent(challenge_id=challenge_id, expires_at=challenge.expires_at)


def _phone_on_record(platform: Platform, session: Session, id_number: str, name: str) -> str | None:
    """The phone in the first row (of a resource allowing it) with this ID number and name."""
    for allowed in _open_resources(session):
        rows = _rows_of(platform, allowed, id_number)
        for row in rows.to_pylist():
            if row.get(allowed.name_field) == name and row.get(allowed.phone_field):
                return str(row[allowed.phone_field])
    return None


def verify(
    platform: Platform, *, challenge_id: str, code: str, now: datetime | None = None
) -> ObjectionSession:
    """Exchange the right code (once, in time, within the attempts) for a short session."""
    now = now or utcnow()
    with platform.db.session_scope() as session:
        challenge = session.get(QualityObjectionChallenge, challenge_id)
        if challenge is None:
            raise NotAuthenticated("no such code request; ask for a new code")
        actor = _subject_actor(challenge.subject_hash)
        problem = None
        left, reason = 0, ""
        if challenge.expires_at <= now or not challenge.code_hash:
            problem, reason = "the code has expired or was used; ask for a new one", "expired"
        elif challenge.attempts >= MAX_ATTEMPTS:
            problem, reason = "too many wrong codes; ask for a new one", "used_up"
        else:
            challenge.attempts += 1
            expected = _mac(platform, f"code:{challenge_id}", code.strip())
            if not (challenge.sent and hmac.compare_digest(expected, challenge.code_hash)):
                left = MAX_ATTEMPTS - challenge.attempts
                problem, reason = f"wrong code ({left} tries left)", "wrong"
        if problem is None:
            token = secrets.token_urlsafe(32)
            challenge.code_hash = ""  # a code opens one session only
            challenge.token_hash = _mac(platform, "token", token)
            challenge.token_expires_at = now + timedelta(minutes=SESSION_MINUTES)
            expires = challenge.token_expires_at
        outcome = "denied" if problem else "ok"
        audit_on_commit(
            session,
            platform.ledger,
            actor.audit(
                "quality.objection.verify", f"challenge:{challenge_id[:8]}", outcome=outcome
            ),
        )
    if problem is not None:
        raise NotAuthenticated(
            problem, details=[{"field": "code", "reason": reason, "tries_left": left}]
        )
    return ObjectionSession(token=token, expires_at=expires)


@dataclass(frozen=True)
class Subject:
    """A data subject whose session is open."""

    subject_hash: str
    id_number: str

    @property
    def actor(self) -> Actor:
        return _subject_actor(self.subject_hash)


def subject_of(platform: Platform, token: str, *, now: datetime | None = None) -> Subject:
    """The person a session token stands for (NotAuthenticated when unknown or expired)."""
    now = now or utcnow()
    with platform.db.session_scope() as session:
        challenge = session.scalar(
            select(QualityObjectionChallenge).where(
                QualityObjectionChallenge.token_hash == _mac(platform, "token", token)
            )
        )
        if challenge is None or challenge.token_expires_at is None:
            raise NotAuthenticated("no such session; prove who you are again")
        if challenge.token_expires_at <= now:
            raise NotAuthenticated("the session has expired; prove who you are again")
        id_number = LocalCryptoProvider().sm4_gcm_decrypt(
            _seal_key(platform), challenge.subject_sealed, associated_data=challenge.id.encode()
        )
        return Subject(challenge.subject_hash, id_number.decode())


# -- what is held about them, and disputing it ---------------------------------------------


def _rows_of(
    platform: Platform, allowed: QualitySubjectAccess, id_number: str, version: int | None = None
) -> pa.Table:
    """The rows of a resource (its latest version) whose ID field holds ``id_number``."""
    table = Lake.from_settings(platform.settings).table(allowed.resource_code)
    if not table.exists():
        return pa.table({})
    with Lake.from_settings(platform.settings).work_engine() as engine:
        engine.register(_SOURCE, table, version)
        column = engine.dialect.quote(allowed.id_field)
        sql = (
            f"SELECT * FROM {_SOURCE} "  # noqa: S608 - names quoted, the value a parameter
            f"WHERE CAST({column} AS VARCHAR) = {engine.dialect.param('id')}"
        )
        return engine.query(sql, {"id": id_number})


def _keys_of(session: Session, resource_code: str, rows: pa.Table) -> list[str]:
    names = key_columns(catalog.current_fields(session, resource_code))
    if not rows.num_rows:
        return []
    return [str(k) for k in row_keys(names, [rows.column(n) for n in names]).to_pylist()]


def _text(value: object) -> str | None:
    return (
        None if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    )


def records(platform: Platform, subject: Subject) -> SubjectRecordList:
    """Every row held about the subject in the resources allowing it, every field of them."""
    data: list[SubjectRecords] = []
    held = 0
    with platform.db.session_scope() as session:
        for allowed in _open_resources(session):
            rows = _rows_of(platform, allowed, subject.id_number)
            if not rows.num_rows:
                continue
            resource = resource_of(session, allowed.resource_code)
            fields = catalog.current_fields(session, allowed.resource_code)
            keys = _keys_of(session, allowed.resource_code, rows)
            data.append(
                SubjectRecords(
                    resource_code=resource.code,
                    resource_name=resource.name,
                    department_code=resource.department_code,
                    fields={f.english_name: f.name for f in fields},
                    rows=[
                        SubjectRow(row_key=key, values={k: _text(v) for k, v in row.items()})
                        for key, row in zip(keys, rows.to_pylist(), strict=True)
                    ],
                )
            )
            held += rows.num_rows
        audit_on_commit(
            session,
            platform.ledger,
            subject.actor.audit("quality.objection.records", row_count=held),
        )
    return SubjectRecordList(data=data)


def dispute(
    platform: Platform, subject: Subject, data: ObjectionDispute, *, now: datetime | None = None
) -> ObjectionTicket:
    """Dispute one field of one of the subject's own rows: a correction ticket for its owner."""
    with platform.db.session_scope() as session:
        allowed = session.get(QualitySubjectAccess, data.resource_code)
        if allowed is None or not allowed.enabled:
            raise NotFound(f"{data.resource_code} does not let data subjects dispute its rows")
        rows = _rows_of(platform, allowed, subject.id_number)
        keys = _keys_of(session, data.resource_code, rows)
        if data.row_key not in keys:  # not found, or not theirs: the same answer
            raise NotFound(f"no row {data.row_key} of yours in {data.resource_code}")
        if data.field not in rows.column_names:
            raise ValidationFailed(
                f"{data.field} is not a field of {data.resource_code}",
                details=[{"field": "field", "reason": "unknown_field"}],
            )
        value = rows.column(data.field)[keys.index(data.row_key)].as_py()
        resource = resource_of(session, data.resource_code)
        ticket = corrections.open_ticket(
            session,
            kind=TicketKind.OBJECTION,
            resource_code=data.resource_code,
            department_code=resource.department_code,
            severity=Severity.ERROR,
            failing=1,
            sample_keys=[data.row_key],
            settings=platform.settings,
            ledger=platform.ledger,
            actor=subject.actor,
            field=data.field,
            note=data.reason,
            subject_hash=subject.subject_hash,
            value_hash=_mac(platform, "value", _text(value) or ""),
            now=now,
        )
        session.flush()
        return objection_ticket(ticket)


def ticket_status(platform: Platform, subject: Subject, number: str) -> ObjectionTicket:
    """One of the subject's own objection tickets (NotFound for anyone else's)."""
    with platform.db.session_scope() as session:
        ticket = session.scalar(select(QualityTicket).where(QualityTicket.number == number))
        if (
            ticket is None
            or ticket.kind != TicketKind.OBJECTION.value
            or not hmac.compare_digest(ticket.subject_hash, subject.subject_hash)
        ):
            raise NotFound(f"no objection {number} of yours")
        return objection_ticket(ticket)


def objection_ticket(ticket: QualityTicket) -> ObjectionTicket:
    public = corrections.ticket_public(ticket)
    return ObjectionTicket(
        number=public.number,
        resource_code=public.resource_code,
        field=public.field,
        state=public.state,
        resolution=public.resolution,
        opened_at=public.opened_at,
        deadline=public.deadline,
        closed_at=public.closed_at,
        events=public.events,
    )


# -- verified by the next run --------------------------------------------------------------


def after_run(platform: Platform, run: RunPublic) -> None:
    """Close the resource's fixed objection tickets whose value changed; reopen the rest."""
    with platform.db.session_scope() as session:
        fixed = session.scalars(
            select(QualityTicket).where(
                QualityTicket.resource_code == run.resource_code,
                QualityTicket.kind == TicketKind.OBJECTION.value,
                QualityTicket.state == TicketState.FIXED.value,
            )
        ).all()
        for ticket in fixed:
            value = _value_at(platform, run, ticket)
            if value is not None and _mac(platform, "value", value) == ticket.value_hash:
                note = f"质量检查 {run.id}：该项仍为原值 (run {run.id}: the value is unchanged)"
                corrections.reopen(session, platform.ledger, ticket, note, None)
            else:
                note = f"质量检查 {run.id}：该项已更正 (run {run.id}: the value was corrected)"
                corrections.close_verified(session, platform.ledger, ticket, note, None)


def _value_at(platform: Platform, run: RunPublic, ticket: QualityTicket) -> str | None:
    """The disputed field's value (as text) in the run's version; None if the row is gone."""
    key: dict[str, object] = json.loads(ticket.sample_keys[0])
    table = Lake.from_settings(platform.settings).table(ticket.resource_code)
    with Lake.from_settings(platform.settings).work_engine() as engine:
        engine.register(_SOURCE, table, run.version)
        quote, param = engine.dialect.quote, engine.dialect.param
        where = " AND ".join(
            f"CAST({quote(name)} AS VARCHAR) = {param(f'k{i}')}" for i, name in enumerate(key)
        )
        params = {f"k{i}": str(value) for i, value in enumerate(key.values())}
        sql = f"SELECT {quote(ticket.field or '')} AS v FROM {_SOURCE} WHERE {where}"  # noqa: S608
        found = engine.query(sql, params).column("v").to_pylist()
    return (_text(found[0]) or "") if found else None


if after_run not in AFTER_RUN:
    AFTER_RUN.append(after_run)
