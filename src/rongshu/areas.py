"""Where areas plug their background jobs in: importing a module registers its jobs.

Later areas (catalog, ingest, quality, ...) add their ``jobs`` module here.
"""

from __future__ import annotations

import importlib

JOB_MODULES: tuple[str, ...] = (
    "rongshu.core.identity.jobs",
    "rongshu.core.audit.jobs",
)


def load_jobs() -> None:
    """Import every area's jobs module so its definitions are in the registry."""
    for module in JOB_MODULES:
        importlib.import_module(module)
