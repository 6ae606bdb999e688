"""Every successful load that made a version of an opened resource releases it on the portal.

Importing this module (``rongshu.areas`` lists it) adds ``release_after_load`` to
``rongshu.ingest.runner.AFTER_LOAD``, which the in-process path runs. Loads the job queue runs
skip the hooks; the ``opendata.release_new_versions`` job catches their versions up.
"""

from __future__ import annotations

import logging

from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.ingest.runner import AFTER_LOAD
from rongshu.ingest.schemas import LoadPublic
from rongshu.opendata.releases import release_new_versions

log = logging.getLogger("rongshu.opendata")


def release_after_load(platform: Platform, load: LoadPublic) -> None:
    """Release the version a load made, if its resource is opened as a dataset."""
    if load.version is not None:
        release_new_versions(platform, actor=SYSTEM, resource_code=load.resource_code)


if release_after_load not in AFTER_LOAD:
    AFTER_LOAD.append(release_after_load)
