"""The demo's security step: scan every loaded resource for personal information, so the
console shows suggested grades and masked reads work from the start."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.steps import demo_step
from rongshu.lake.tables import Lake
from rongshu.security import service


@demo_step("security", order=40)
def security_demo_step(platform: Platform, city_dir: Path) -> str:
    """Scan each resource with data in the lake; the summary counts what was found."""
    lake = Lake.from_settings(platform.settings)
    found: Counter[str] = Counter()
    scanned = 0
    with platform.db.session_scope() as session:
        service.seed_masking_rules(session)
    for code in lake.tables():
        if "." in code:  # a resource's side tables (failures, rejected, repaired cells)
            continue
        scan = service.scan_resource(platform, code, actor=SYSTEM)
        scanned += 1
        found.update(item.entity.label for item in scan.fields if item.entity is not None)
    kinds = "、".join(f"{label} {count}" for label, count in found.most_common())
    return f"{scanned} resources scanned for personal information: {kinds or 'none found'}"
