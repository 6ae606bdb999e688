"""Public accounts (公众用户): registration with a one-time code, and the account's app.

A member of the public proves an e-mail address or a mainland mobile number with a six-digit
code, then chooses a display name and a password. Registration makes three things:

- a platform ``User`` with the public role (``Role.PUBLIC_USER``) and no department, so the
  console and the departments' exchange pages stay closed to them (no ``VIEW_CONSOLE``, and an
  actor without a department sees no department's applications);
- an ``App`` in the public department (``PUBLIC``, 社会公众, made once), which holds the grants
  of approved applications and the API key;
- an ``OpenAccount`` row tying the user, the proven contact and the app together.

Codes: only their HMAC-SM3 under the installation secret is stored, bound to the contact; a
code lives ten minutes, allows five wrong tries and is used once; a contact gets at most one
code a minute and ten a day. Codes go out through a sender: texts through
``rongshu.quality.sms`` and e-mail through ``MailSender``; both ship as simulated senders that
write to ``<data_dir>/outbox/`` (an installation plugs in real ones).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rongshu.core.audit.ledger import AuditRecord
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.crypto import hmac_sm3
from rongshu.core.db import utcnow
from rongshu.core.errors import Conflict, NotFound, TooManyRequests, ValidationFailed
from rongshu.core.identity import service as identity
from rongshu.core.identity.models import App, User
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import (
    SYSTEM,
    Actor,
    AppCreate,
    DepartmentCreate,
    DepartmentPublic,
    UserCreate,
)
from rongshu.core.identity.service import PUBLIC_DEPARTMENT
from rongshu.core.outbox import Outbox
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.opendata.models import OpenAccount, OpenCode
from rongshu.opendata.schemas import AccountPublic, RegistrationFinish
from rongshu.quality import sms

log = logging.getLogger("rongshu.opendata.accounts")

#: The department public accounts' apps belong to.
PUBLIC_DEPARTMENT_NAME = "社会公众"
CODE_LIFETIME = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
#: At most one code per contact this often, and at most ``CODES_PER_DAY`` a day.
RESEND_INTERVAL = timedelta(seconds=60)
CODES_PER_DAY = 10

PHONE = re.compile(r"^1[3-9]\d{9}$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}$")
_PHONE_NOISE = re.compile(r"[\s\-()]")


# -- senders -------------------------------------------------------------------------------


class MailSender(Protocol):
    """Sends one short e-mail to one address."""

    def send(self, address: str, text: str) -> None: ...


class OutboxMailSender(Outbox):
    """The simulated mail sender: messages go to ``<data_dir>/outbox/mail.log`` (as texts go
    to the SMS outbox), not to mailboxes."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, "mail", what="e-mail", mask=mask_contact, log=log)


def default_mail_sender(settings: Settings) -> MailSender:
    """The mail sender an installation uses: the outbox in its data directory."""
    return OutboxMailSender(settings.data_dir)


@dataclass(frozen=True)
class CodeSenders:
    """Where one-time codes go: texts to phones, e-mail to addresses."""

    sms: sms.SmsSender
    mail: MailSender

    @classmethod
    def default(cls, settings: Settings) -> CodeSenders:
        return cls(sms=sms.default_sender(settings), mail=default_mail_sender(settings))


# -- contacts ------------------------------------------------------------------------------


def normalise_contact(raw: str) -> tuple[str, str]:
    """The contact as stored and its kind (``phone`` or ``email``); 422 for anything else.

    Phones lose spaces, dashes and a leading +86; e-mail addresses are lower-cased.
    """
    text = raw.strip()
    if "@" in text:
        address = text.lower()
        if len(address) <= 200 and EMAIL.match(address):
            return address, "email"
    else:
        digits = _PHONE_NOISE.sub("", text)
        for prefix in ("+86", "0086"):
            if digits.startswith(prefix):
                digits = digits[len(prefix) :]
        if PHONE.match(digits):
            return digits, "phone"
    raise ValidationFailed(
        "enter an e-mail address or a mainland mobile number (11 digits, starting 13–19)",
        details=[{"field": "contact", "reason": "invalid"}],
    )


def mask_contact(contact: str) -> str:
    """A contact as pages show it: ``138****5678``, ``zh***@example.com``."""
    if "@" in contact:
        local, _, domain = contact.partition("@")
        return f"{local[:2]}***@{domain}"
    return sms.masked(contact)


# -- one-time codes ------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeSent:
    """What the registration page says after sending a code."""

    contact: str
    contact_kind: str
    masked: str
    expires_at: datetime
    resend_at: datetime
    simulated: bool = False  # written to the outbox, not really sent


def _code_digest(secret: bytes, contact: str, code: str) -> str:
    # Bound to the contact, so a code sent to one contact proves nothing about another.
    return hmac_sm3(secret, f"opendata-code\x1f{contact}\x1f{code}".encode()).hex()


def _registered(session: Session, contact: str) -> bool:
    return session.scalar(select(OpenAccount.id).where(OpenAccount.contact == contact)) is not None


def _refuse_registered(contact: str) -> Conflict:
    return Conflict(
        f"{mask_contact(contact)} is already registered; sign in instead",
        details=[{"field": "contact", "reason": "registered"}],
    )


def send_code(
    platform: Platform,
    session: Session,
    *,
    contact: str,
    senders: CodeSenders | None = None,
    request_id: str = "",
) -> CodeSent:
    """Send a registration code to ``contact`` (at most one a minute, ten a day)."""
    address, kind = normalise_contact(contact)
    if _registered(session, address):
        raise _refuse_registered(address)
    now = utcnow()
    latest = session.scalar(
        select(OpenCode).where(OpenCode.contact == address).order_by(OpenCode.id.desc()).limit(1)
    )
    if latest is not None and latest.created_at + RESEND_INTERVAL > now:
        wait = int((latest.created_at + RESEND_INTERVAL - now).total_seconds()) + 1
        raise TooManyRequests(
            f"a code was sent to {mask_contact(address)} moments ago; ask again in {wait} seconds",
            details=[{"field": "contact", "reason": "resend_wait", "retry_after": wait}],
        )
    sent_today = session.scalar(
        select(func.count(OpenCode.id)).where(
            OpenCode.contact == address, OpenCode.created_at > now - timedelta(days=1)
        )
    )
    if (sent_today or 0) >= CODES_PER_DAY:
        raise TooManyRequests(
            f"{mask_contact(address)} has had {CODES_PER_DAY} codes today; try tomorrow",
            details=[{"field": "contact", "reason": "daily_limit", "retry_after": 3600}],
        )
    code = f"{secrets.randbelow(10**6):06d}"
    row = OpenCode(
        contact=address,
        code_hash=_code_digest(platform.secret, address, code),
        attempts=0,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    session.add(row)
    session.flush()
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    text = (
        f"【榕数】您的注册验证码是 {code}，{minutes} 分钟内有效。如非本人操作，请忽略。"
        f" Your rongshu registration code is {code}, valid for {minutes} minutes."
    )
    senders = senders or CodeSenders.default(platform.settings)
    sender: sms.SmsSender | MailSender = senders.sms if kind == "phone" else senders.mail
    sender.send(address, text)
    audit_on_commit(
        session,
        platform.ledger,
        AuditRecord(
            actor="public",
            action="opendata.account.code_sent",
            object=f"contact:{mask_contact(address)}",
            purpose=kind,
            request_id=request_id,
        ),
    )
    return CodeSent(
        contact=address,
        contact_kind=kind,
        masked=mask_contact(address),
        expires_at=row.expires_at,
        resend_at=now + RESEND_INTERVAL,
        simulated=isinstance(sender, Outbox),
    )


def check_code(platform: Platform, session: Session, *, contact: str, code: str) -> None:
    """Use up the code sent to ``contact`` if ``code`` is it; else 422 with the reason.

    A wrong try is counted: the caller must commit even when this raises.
    """
    row = session.scalar(
        select(OpenCode).where(OpenCode.contact == contact).order_by(OpenCode.id.desc()).limit(1)
    )
    if row is None or row.used_at is not None:
        raise ValidationFailed(
            "no code is waiting for this contact; ask for a code first",
            details=[{"field": "code", "reason": "no_code"}],
        )
    if row.expires_at <= utcnow():
        raise ValidationFailed(
            "the code has expired; ask for a new one",
            details=[{"field": "code", "reason": "expired"}],
        )
    if row.attempts >= CODE_MAX_ATTEMPTS:
        raise ValidationFailed(
            "too many wrong codes; ask for a new one",
            details=[{"field": "code", "reason": "too_many_attempts"}],
        )
    presented = _code_digest(platform.secret, contact, code.strip())
    if not hmac.compare_digest(row.code_hash, presented):
        row.attempts += 1
        session.flush()
        left = CODE_MAX_ATTEMPTS - row.attempts
        if left <= 0:
            raise ValidationFailed(
                "too many wrong codes; ask for a new one",
                details=[{"field": "code", "reason": "too_many_attempts"}],
            )
        raise ValidationFailed(
            f"wrong code; {left} tries left",
            details=[{"field": "code", "reason": "wrong", "left": left}],
        )
    row.used_at = utcnow()
    session.flush()


# -- registration --------------------------------------------------------------------------


def public_department(session: Session, platform: Platform) -> DepartmentPublic:
    """The public department, made on first use in the bureau's region."""
    departments = {d.code: d for d in identity.list_departments(session)}
    found = departments.get(PUBLIC_DEPARTMENT)
    if found is not None:
        return found
    bureau = departments.get(platform.settings.bureau_department)
    near = bureau or min(departments.values(), key=lambda d: d.id, default=None)
    return identity.create_department(
        session,
        data=DepartmentCreate(
            code=PUBLIC_DEPARTMENT,
            name=PUBLIC_DEPARTMENT_NAME,
            region_code=near.region_code if near is not None else "000000",
        ),
        actor=SYSTEM,
        ledger=platform.ledger,
    )


def _username(session: Session, secret: bytes, contact: str) -> str:
    """``p_`` and a short keyed hash of the contact: stable, unguessable, unique."""
    digest = hmac_sm3(secret, f"opendata-user\x1f{contact}".encode()).hex()
    for length in (10, 16, 24, 32):
        name = f"p_{digest[:length]}"
        if session.scalar(select(User.id).where(User.username == name)) is None:
            return name
    return f"p_{secrets.token_hex(16)}"


def _app_name(session: Session, department_id: int, display_name: str, username: str) -> str:
    name = f"{display_name[:90]} 的应用"
    taken = session.scalar(
        select(App.id).where(App.department_id == department_id, App.name == name)
    )
    return f"{display_name[:60]} 的应用（{username}）" if taken is not None else name


def member_actor(user: User, *, request_id: str = "") -> Actor:
    """The actor a public account acts as on the portal: its roles, in the public
    department (the department its app belongs to)."""
    return Actor(
        kind="user",
        name=user.username,
        department=PUBLIC_DEPARTMENT,
        roles=identity.user_roles(user),
        request_id=request_id,
        user_id=user.id,
    )


def attach_account(
    platform: Platform, session: Session, *, user: User, contact: str, kind: str
) -> OpenAccount:
    """Give a public user the portal account and the app its API keys and grants belong to
    (registration does; so does the demo for its ``citizen``)."""
    department = public_department(session, platform)
    app = identity.create_app(
        session,
        data=AppCreate(
            name=_app_name(session, department.id, user.display_name, user.username),
            department_code=department.code,
            description=f"公众用户 {user.username} 调用开放数据的应用",
        ),
        actor=SYSTEM,
        ledger=platform.ledger,
    )
    account = OpenAccount(user_id=user.id, contact=contact, contact_kind=kind, app_id=app.id)
    session.add(account)
    session.flush()
    return account


def register(
    platform: Platform, session: Session, *, data: RegistrationFinish, request_id: str = ""
) -> OpenAccount:
    """Finish a registration: check the code, then make the user, the app and the account.

    The password is checked before the code, so a weak password does not use the code up.
    A wrong code is counted: the caller must commit even when this raises.
    """
    contact, kind = normalise_contact(data.contact)
    if _registered(session, contact):
        raise _refuse_registered(contact)
    display_name = data.display_name.strip()
    if not display_name:
        raise ValidationFailed(
            "enter a display name", details=[{"field": "display_name", "reason": "required"}]
        )
    policy = identity.effective_security_policy(session, platform.settings)
    identity.check_password(data.password, policy)
    check_code(platform, session, contact=contact, code=data.code)

    username = _username(session, platform.secret, contact)
    user_public = identity.create_user(
        session,
        data=UserCreate(
            username=username,
            display_name=display_name,
            password=data.password,
            email=contact if kind == "email" else None,
            roles=[Role.PUBLIC_USER],
        ),
        policy=policy,
        actor=SYSTEM,
        ledger=platform.ledger,
    )
    user = identity.get_user(session, user_public.username)
    account = attach_account(platform, session, user=user, contact=contact, kind=kind)
    audit_on_commit(
        session,
        platform.ledger,
        member_actor(user, request_id=request_id).audit(
            "opendata.account.register",
            f"user:{username}",
            purpose=f"{kind}:{mask_contact(contact)}",
        ),
    )
    return account


# -- reading -------------------------------------------------------------------------------


def account_of(session: Session, user_id: int) -> OpenAccount | None:
    """The public account of a platform user, if they registered on the portal."""
    return session.scalar(select(OpenAccount).where(OpenAccount.user_id == user_id))


def account_public(session: Session, account: OpenAccount) -> AccountPublic:
    user = session.get(User, account.user_id)
    if user is None:  # pragma: no cover (the account row is deleted with its user)
        raise NotFound(f"no user for account {account.id}")
    return AccountPublic(
        username=user.username,
        display_name=user.display_name,
        contact=mask_contact(account.contact),
        app_id=account.app_id,
    )


def username_for_login(session: Session, login: str) -> str:
    """The username to sign in with: a registered contact's, else ``login`` as typed."""
    try:
        contact, _kind = normalise_contact(login)
    except ValidationFailed:
        return login.strip()
    found = session.scalar(
        select(User.username)
        .join(OpenAccount, OpenAccount.user_id == User.id)
        .where(OpenAccount.contact == contact)
    )
    return found or login.strip()
