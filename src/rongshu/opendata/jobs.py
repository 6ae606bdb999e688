"""The portal's background work: every ten minutes ``opendata.release_new_versions`` releases
each opened dataset whose resource has a lake version newer than its last release (loads the
job queue ran, which skip the after-load hooks, and any other writer of the lake)."""

from __future__ import annotations

from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.jobs import JobContext, periodic
from rongshu.core.platform import Platform
from rongshu.opendata.releases import release_new_versions


@periodic("opendata.release_new_versions", cron="*/10 * * * *")
def release_versions(ctx: JobContext) -> list[str]:
    """Release what is new; returns ``name@version`` of each release made or refused."""
    platform: Platform = ctx.resource("platform")
    return release_new_versions(platform, actor=SYSTEM)
