"""Fixtures for quality tests: the demo city's household registry as a loadable source."""

from __future__ import annotations

from pathlib import Path

from rongshu.catalog.demo import register_demo_catalog
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.generator import generate_city
from rongshu.ingest import service as ingest
from rongshu.ingest.schemas import LoadMode, SourceCreate

#: The demo city's household registry (公安 户籍人口), for tests through real loads and runs.
REGISTRY = "350100-GA-0001"


def registry_city(platform: Platform, out: Path, *, rows: int = 300, seed: int = 7) -> Path:
    """Generate the demo city into ``out``, register its catalog, and attach the household
    registry's SQLite table as the source ``registry`` (snapshot loads)."""
    generate_city(out, rows=rows, seed=seed)
    bootstrap(platform)
    register_demo_catalog(platform, out)
    with platform.db.session_scope() as session:
        ingest.create_source(
            session,
            data=SourceCreate(
                resource_code=REGISTRY,
                name="registry",
                kind="sql",
                options={
                    "url": f"sqlite:///{out / 'sources' / 'sources.db'}",
                    "table": "ga_household_registry",
                },
                mode=LoadMode.SNAPSHOT,
            ),
            actor=SYSTEM,
            ledger=platform.ledger,
            secret=platform.secret,
        )
    return out
