"""Sign-in with lockout, sessions, and role rules, against a real SQLite database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from rongshu.core.audit.models import AuditEntry
from rongshu.core.db import utcnow
from rongshu.core.errors import AccountLocked, Conflict, NotAuthenticated
from rongshu.core.identity import service as identity
from rongshu.core.identity.models import User
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SecurityPolicy
from rongshu.core.platform import Platform

from ..conftest import PASSWORD, MakeUser


def attempt(platform: Platform, username: str, password: str) -> None:
    with platform.db.session_scope() as session:
        try:
            identity.authenticate(
                session,
                username=username,
                password=password,
                policy=SecurityPolicy(),
                ledger=platform.ledger,
            )
        finally:
            session.commit()


def test_five_wrong_passwords_lock_the_account(platform: Platform, make_user: MakeUser) -> None:
    make_user("clerk", Role.DATA_STEWARD)
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            attempt(platform, "clerk", "wrong-password")
    with pytest.raises(AccountLocked):
        attempt(platform, "clerk", "wrong-password")
    # Even the right password is refused while the account is locked.
    with pytest.raises(AccountLocked, match="locked until"):
        attempt(platform, "clerk", PASSWORD)
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        outcomes = list(
            session.scalars(
                select(AuditEntry.outcome)
                .where(AuditEntry.action == "login")
                .order_by(AuditEntry.seq)
            )
        )
    assert outcomes == ["failed"] * 4 + ["locked", "locked"]


def test_lock_expires_and_a_good_password_resets_the_count(
    platform: Platform, make_user: MakeUser
) -> None:
    make_user("clerk", Role.DATA_STEWARD)
    for _ in range(5):
        with pytest.raises((NotAuthenticated, AccountLocked)):
            attempt(platform, "clerk", "nope-nope-nope")
    with platform.db.session_scope() as session:
        user = session.scalars(select(User).where(User.username == "clerk")).one()
        user.locked_until = utcnow() - timedelta(seconds=1)
    attempt(platform, "clerk", PASSWORD)
    with pytest.raises(NotAuthenticated):
        attempt(platform, "clerk", "wrong-again")
    with platform.db.session_scope() as session:
        assert identity.get_user(session, "clerk").failed_logins == 1


def test_unknown_user_gets_the_same_answer(platform: Platform) -> None:
    with pytest.raises(NotAuthenticated, match="wrong username or password"):
        attempt(platform, "ghost", "whatever-password")


def test_sessions_resolve_until_they_expire(platform: Platform, make_user: MakeUser) -> None:
    make_user("clerk", Role.DEVELOPER)
    with platform.db.session_scope() as session:
        user = identity.get_user(session, "clerk")
        token, csrf = identity.start_session(
            session, user=user, secret=platform.secret, policy=SecurityPolicy()
        )
    with platform.db.session_scope() as session:
        found = identity.resolve_session(session, token=token, secret=platform.secret)
        assert found is not None and found.csrf_token == csrf
        assert identity.resolve_session(session, token=token + "x", secret=platform.secret) is None
        found.expires_at = utcnow() - timedelta(minutes=1)
    with platform.db.session_scope() as session:
        assert identity.resolve_session(session, token=token, secret=platform.secret) is None
        assert identity.purge_expired_sessions(session) == 1


@pytest.mark.parametrize(
    "roles",
    [
        {Role.PLATFORM_ADMIN, Role.AUDITOR},
        {Role.PLATFORM_ADMIN, Role.SECURITY_ADMIN},
        {Role.SECURITY_ADMIN, Role.AUDITOR},
    ],
)
def test_three_officers_never_combine(roles: set[Role]) -> None:
    with pytest.raises(Conflict, match="三员分立"):
        identity.check_roles(roles)


def test_password_hashes_are_argon2(platform: Platform, make_user: MakeUser) -> None:
    make_user("clerk", Role.DEVELOPER)
    with platform.db.session_scope() as session:
        stored = identity.get_user(session, "clerk").password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
