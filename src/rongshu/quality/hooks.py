"""Every successful load is checked: the quality run joins the loads' after-load hooks.

Importing this module (``rongshu.areas`` lists it) adds ``check_after_load`` to
``rongshu.ingest.runner.AFTER_LOAD``, which the in-process path runs (``rongshu ingest run``,
"run now" without a job queue, the demo). Loads run by the job queue queue a ``quality.run``
job instead (``rongshu.quality.jobs``). A failed check is recorded as a failed run; the load
stays succeeded.
"""

from __future__ import annotations

from rongshu.core.platform import Platform
from rongshu.ingest.runner import AFTER_LOAD
from rongshu.ingest.schemas import LoadPublic
from rongshu.quality.service import run_quality


def check_after_load(platform: Platform, load: LoadPublic) -> None:
    """Check the version a load made (a load that added nothing made none)."""
    if load.version is not None:
        run_quality(platform, load.resource_code, load.version, triggered_by=f"load:{load.id}")


if check_after_load not in AFTER_LOAD:
    AFTER_LOAD.append(check_after_load)
