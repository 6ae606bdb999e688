"""The exchange area's background work: ``exchange.build_serving_index`` builds the serving
index of a new lake version; daily at 08:45 ``exchange.escalate`` escalates
pending applications past their deadline to the bureau; every minute
``exchange.push_subscriptions`` gives each subscription behind its resource's latest version a
delivery, then pushes what is due to the consumers' endpoints (a consumer that is down is tried
again with backoff, see ``rongshu.exchange.push``).

Planning here as well as after each load (``rongshu.exchange.hooks``) catches the versions of
loads the job queue ran, which skip the after-load hooks, and of any other writer of the lake.
"""

from __future__ import annotations

from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.jobs import JobContext, job, periodic
from rongshu.core.platform import Platform
from rongshu.exchange import serving
from rongshu.exchange.applications import escalate_overdue
from rongshu.exchange.push import push_due
from rongshu.exchange.subscriptions import plan_deliveries


@periodic("exchange.push_subscriptions", cron="* * * * *")
def push_subscriptions(ctx: JobContext) -> dict[str, int]:
    """Plan new deliveries, then push the due ones."""
    platform: Platform = ctx.resource("platform")
    planned = plan_deliveries(platform)
    return {"planned": planned, "delivered": push_due(platform)}


@periodic("exchange.escalate", cron="45 8 * * *")
def escalate(ctx: JobContext) -> list[str]:
    """Escalate pending applications past their approval deadline to the bureau."""
    platform: Platform = ctx.resource("platform")
    with platform.db.session_scope() as session:
        return escalate_overdue(session, ledger=platform.ledger, actor=SYSTEM)


@job("exchange.build_serving_index")
def build_serving_index(ctx: JobContext, *, code: str, version: int | None = None) -> str:
    """Build the serving index of a resource's lake version, so the first query or
    verification of that version does not wait for it; returns the file's path."""
    platform: Platform = ctx.resource("platform")
    return str(serving.build(platform, code, version))
