"""The core areas' scheduled jobs run against a real platform and queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from rongshu.core.audit.ledger import AuditRecord
from rongshu.core.audit.models import AuditEntry
from rongshu.core.db import utcnow
from rongshu.core.identity import service as identity
from rongshu.core.identity.models import ConsoleSession
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SecurityPolicy
from rongshu.core.platform import Platform
from rongshu.web.server import open_queue

from ..conftest import MakeUser


def test_scheduled_core_jobs_run(platform: Platform, make_user: MakeUser) -> None:
    make_user("clerk", Role.DEVELOPER)
    with platform.db.session_scope() as session:
        user = identity.get_user(session, "clerk")
        identity.start_session(session, user=user, secret=platform.secret, policy=SecurityPolicy())
        for found in session.scalars(select(ConsoleSession)):
            found.expires_at = utcnow() - timedelta(minutes=1)
    platform.ledger.record(AuditRecord(actor="clerk", action="query"))
    queue = open_queue(platform.settings, platform)
    try:
        assert {"identity.purge_sessions", "audit.verify_chain"} <= set(queue.scheduled_names())
        assert queue.run_now("identity.purge_sessions") == 1
        assert queue.run_now("audit.verify_chain") == {"ok": True, "entries": 3}
    finally:
        queue.stop()
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        outcomes = session.scalars(
            select(AuditEntry.outcome).where(AuditEntry.action == "audit.verify")
        ).all()
    assert outcomes == ["ok"]
