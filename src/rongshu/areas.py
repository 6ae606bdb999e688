"""Where areas plug in: importing a module registers its background jobs or demo steps.

Later areas (catalog, ingest, quality, ...) add their ``jobs`` and ``demo`` modules here.
"""

from __future__ import annotations

import importlib

JOB_MODULES: tuple[str, ...] = (
    "rongshu.core.identity.jobs",
    "rongshu.core.audit.jobs",
    "rongshu.lake.jobs",
    "rongshu.ingest.jobs",
    "rongshu.quality.jobs",
    "rongshu.quality.correction_jobs",
    "rongshu.security.jobs",
    "rongshu.exchange.jobs",
    "rongshu.opendata.jobs",
)

#: Modules that add hooks to other areas' extension points (e.g. checks after each load).
HOOK_MODULES: tuple[str, ...] = (
    "rongshu.quality.hooks",
    "rongshu.quality.corrections",
    "rongshu.quality.objections",
    "rongshu.exchange.hooks",
    "rongshu.opendata.hooks",
)


def load_jobs() -> None:
    """Import every area's jobs module so its definitions are in the registry."""
    for module in JOB_MODULES:
        importlib.import_module(module)


def load_hooks() -> None:
    """Import every area's hooks module so its hooks are in place."""
    for module in HOOK_MODULES:
        importlib.import_module(module)


#: Modules that register ``rongshu demo`` steps (``rongshu.demo.steps.demo_step``).
DEMO_MODULES: tuple[str, ...] = (
    "rongshu.catalog.demo",
    "rongshu.ingest.demo",
    "rongshu.quality.demo",
    "rongshu.security.demo",
    "rongshu.exchange.demo",
    "rongshu.opendata.demo",
)


def load_demo_steps() -> None:
    """Import every area's demo module so its steps are in ``DEMO_STEPS``."""
    for module in DEMO_MODULES:
        importlib.import_module(module)
