"""Background work of the lake: nightly retention (``RONGSHU_LAKE_RETENTION_*``)."""

from __future__ import annotations

import logging

from rongshu.core.errors import RongshuError
from rongshu.core.jobs import JobContext, periodic
from rongshu.lake.tables import Lake

log = logging.getLogger("rongshu.lake")


@periodic("lake.vacuum", cron="0 5 * * *")
def vacuum(ctx: JobContext) -> dict[str, int]:
    """At 05:00 Beijing time, apply retention to every table and delete files no version reads.

    A table busy with a load is skipped until the next night, the others are still vacuumed.
    """
    lake = Lake.from_settings(ctx.settings)
    tables = deleted = skipped = 0
    for name in lake.tables():
        try:
            deleted += lake.table(name).vacuum()
            tables += 1
        except RongshuError as exc:
            skipped += 1
            log.warning("vacuum of lake table %s skipped: %s", name, exc)
    return {"tables": tables, "files_deleted": deleted, "skipped": skipped}
