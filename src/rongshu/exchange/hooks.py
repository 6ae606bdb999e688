"""Every successful load that made a version gives the resource's subscriptions a delivery
and, if it has query or verification services, its serving index.

Importing this module (``rongshu.areas`` lists it) adds ``deliver_after_load`` to
``rongshu.ingest.runner.AFTER_LOAD``, which the in-process path runs (``rongshu ingest run``,
"run now" without a job queue, the demo). Loads the job queue runs skip those hooks; the
minute's ``exchange.push_subscriptions`` job plans their deliveries instead, so no version is
missed either way.
"""

from __future__ import annotations

from rongshu.core.platform import Platform
from rongshu.exchange import services, serving
from rongshu.exchange.schemas import ServiceKind
from rongshu.exchange.subscriptions import plan_deliveries
from rongshu.ingest.runner import AFTER_LOAD
from rongshu.ingest.schemas import LoadPublic


def deliver_after_load(platform: Platform, load: LoadPublic) -> None:
    """Plan the deliveries of the version a load made (a load that added nothing made none)."""
    if load.version is not None:
        plan_deliveries(platform, resource_code=load.resource_code)


def serve_after_load(platform: Platform, load: LoadPublic) -> None:
    """Build the new version's serving index now, not on the first call that needs it."""
    if load.version is None:
        return
    with platform.db.session_scope() as session:
        kinds = {s.kind for s in services.list_services(session, resource=load.resource_code)}
    if kinds & {ServiceKind.QUERY, ServiceKind.VERIFY}:
        serving.build(platform, load.resource_code, load.version)


for _hook in (deliver_after_load, serve_after_load):
    if _hook not in AFTER_LOAD:
        AFTER_LOAD.append(_hook)
