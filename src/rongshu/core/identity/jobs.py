"""Background work of the identity area."""

from __future__ import annotations

from rongshu.core.identity import service
from rongshu.core.jobs import JobContext, periodic
from rongshu.core.platform import Platform


@periodic("identity.purge_sessions", cron="*/15 * * * *")
def purge_sessions(ctx: JobContext) -> int:
    """Delete expired console sessions every quarter hour."""
    platform: Platform = ctx.resources["platform"]
    with platform.db.session_scope() as session:
        return service.purge_expired_sessions(session)
