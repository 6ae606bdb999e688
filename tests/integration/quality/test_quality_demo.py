"""``rongshu demo``'s quality step: the loads were checked, tickets opened, subject access on."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from rongshu.core.platform import Platform
from rongshu.ingest.demo import load_demo_sources
from rongshu.quality.demo import SUBJECT_RESOURCE, quality_demo_step
from rongshu.quality.models import QualitySubjectAccess

from ..demo.test_demo_ingest import demo_city


def test_the_demo_checks_every_load_and_lets_residents_query_the_registry(
    platform: Platform, tmp_path: Path
) -> None:
    city = demo_city(platform, tmp_path / "city")
    report = load_demo_sources(platform, city)
    summary = quality_demo_step(platform, city)
    found = re.match(
        r"(\d+) resources checked, ([\d,]+) rows failing a rule, (\d+) correction", summary
    )
    assert found, summary
    assert int(found.group(1)) == len({load.resource_code for load in report.loads})
    assert int(found.group(2).replace(",", "")) > 0  # the generator plants defects
    assert int(found.group(3)) > 0
    with platform.db.session_scope() as session:
        access = session.scalars(select(QualitySubjectAccess)).all()
        assert [(a.resource_code, a.enabled) for a in access] == [(SUBJECT_RESOURCE, True)]
    assert quality_demo_step(platform, city) == summary  # running again changes nothing
