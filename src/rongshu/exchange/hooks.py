"""Every successful load that made a version gives the resource's subscriptions a delivery.

Importing this module (``rongshu.areas`` lists it) adds ``deliver_after_load`` to
``rongshu.ingest.runner.AFTER_LOAD``, which the in-process path runs (``rongshu ingest run``,
"run now" without a job queue, the demo). Loads the job queue runs skip those hooks; the
minute's ``exchange.push_subscriptions`` job plans their deliveries instead, so no version is
missed either way.
"""

from __future__ import annotations

from rongshu.core.platform import Platform
from rongshu.exchange.subscriptions import plan_deliveries
from rongshu.ingest.runner import AFTER_LOAD
from rongshu.ingest.schemas import LoadPublic


def deliver_after_load(platform: Platform, load: LoadPublic) -> None:
    """Plan the deliveries of the version a load made (a load that added nothing made none)."""
    if load.version is not None:
        plan_deliveries(platform, resource_code=load.resource_code)


if deliver_after_load not in AFTER_LOAD:
    AFTER_LOAD.append(deliver_after_load)
