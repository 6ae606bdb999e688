"""PII detection on the demo city: precision and recall of every entity type, per column.

The generator writes which column of which table holds which kind of personal or identifying
information to ``ground_truth/pii_columns.csv``. Every resource the demo loads is scanned (an
evenly spread sample, as by default); each column the scan names is a finding. A column named
with the wrong type counts against both types; a column named when the truth has nothing is a
false alarm of its type.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from rongshu.catalog.demo import register_demo_catalog
from rongshu.core.identity.schemas import SYSTEM
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.catalog_resources import table_resource
from rongshu.demo.generator import generate_city
from rongshu.demo.schema import TABLE_BY_KEY
from rongshu.ingest.demo import load_demo_sources
from rongshu.security import service
from rongshu.security.entities import EntityType

from ..conftest import open_platform

ROWS = 2000
Column = tuple[str, str]  # resource, column


def truth_of(city: Path) -> dict[EntityType, set[Column]]:
    truth: dict[EntityType, set[Column]] = defaultdict(set)
    with (city / "ground_truth" / "pii_columns.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            code = table_resource(TABLE_BY_KEY[row["table"]]).code
            truth[EntityType(row["entity"])].add((code, row["column"]))
    return truth


@pytest.mark.slow
def test_every_entity_type_is_found_with_precision_and_recall_of_098(tmp_path: Path) -> None:
    city = tmp_path / "city"
    generate_city(city, rows=ROWS, seed=5, database_urls=[])
    platform = open_platform(tmp_path / "data")
    found: dict[EntityType, set[Column]] = defaultdict(set)
    try:
        bootstrap(platform)
        register_demo_catalog(platform, city)
        report = load_demo_sources(platform, city)
        assert report.failures == []
        for code in sorted({load.resource_code for load in report.loads}):
            scan = service.scan_resource(platform, code, actor=SYSTEM)
            for item in scan.fields:
                if item.entity is not None:
                    found[item.entity].add((code, item.column))
    finally:
        platform.close()
    truth = truth_of(city)
    assert set(truth) == set(EntityType)  # the city holds every entity type
    scores = {}
    for entity in EntityType:
        hits = len(truth[entity] & found[entity])
        precision = hits / max(len(found[entity]), 1)
        recall = hits / len(truth[entity])
        scores[entity.value] = (precision, recall)
    misses = {
        entity.value: {
            "missed": sorted(truth[entity] - found[entity]),
            "false": sorted(found[entity] - truth[entity]),
        }
        for entity in EntityType
        if min(scores[entity.value]) < 0.98
    }
    assert misses == {}, scores
