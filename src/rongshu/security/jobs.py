"""Security's background work: ``security.reencrypt`` rewrites the lake tables whose encrypted
fields still use an older field key (after a rotation), one new version per table."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rongshu.core.identity.schemas import Actor
from rongshu.core.jobs import JobContext, job
from rongshu.core.platform import Platform
from rongshu.security.encryption import reencrypt_fields


@job("security.reencrypt")
def reencrypt(ctx: JobContext, *, requested_by: str = "job") -> list[dict[str, Any]]:
    """Re-encrypt every table still holding tokens of an older field key."""
    platform: Platform = ctx.resource("platform")
    actor = Actor(kind="system", name=requested_by[:64])
    return [asdict(done) for done in reencrypt_fields(platform, actor=actor)]
