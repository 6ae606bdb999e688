"""Escalation of overdue correction tickets: ``quality.escalate``, daily at 08:30 Beijing time."""

from __future__ import annotations

from rongshu.core.jobs import JobContext, periodic
from rongshu.core.platform import Platform
from rongshu.quality.corrections import escalate_overdue


@periodic("quality.escalate", cron="30 8 * * *")
def escalate(ctx: JobContext) -> list[str]:
    """Escalate (once) every ticket past its deadline; returns their numbers."""
    platform: Platform = ctx.resource("platform")
    with platform.db.session_scope() as session:
        return escalate_overdue(session, ledger=platform.ledger)
