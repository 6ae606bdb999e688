"""Background work of the audit ledger: a nightly walk of the whole chain."""

from __future__ import annotations

import logging

from rongshu.core.audit.verify import verify_chain
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.jobs import JobContext, periodic
from rongshu.core.platform import Platform

log = logging.getLogger("rongshu.audit")


@periodic("audit.verify_chain", cron="30 2 * * *")
def nightly_verify(ctx: JobContext) -> dict[str, object]:
    """Verify the chain at 02:30 Beijing time; a broken chain is logged as an error and audited."""
    platform: Platform = ctx.resources["platform"]
    report = verify_chain(platform.db, platform.signing_key.public_key())
    outcome = "ok" if report.ok else "broken"
    platform.ledger.append(
        SYSTEM.audit("audit.verify", "audit_trail", outcome=outcome, row_count=report.entries)
    )
    if report.problem is not None:
        log.error("audit chain broken at entry %d: %s", report.problem.seq, report.problem.message)
    return {"ok": report.ok, "entries": report.entries}
