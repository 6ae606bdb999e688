"""The demo city's injected defects, found: precision and recall of every defect class.

The generator writes every defect it plants to ``ground_truth/defects.csv``. The platform's
findings are the failing rows of the quality runs after the loads (``<code>.failures``) and the
cells the ingest repaired on the way in (``<code>.repaired``: dates in other forms, full-width
digits, which the lake holds repaired). Each finding is named a defect class by its rule and
reason; a finding no class explains is a false alarm and fails the test.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pyarrow.compute as pc

from rongshu.catalog.demo import register_demo_catalog
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.catalog_resources import table_resource
from rongshu.demo.generator import generate_city
from rongshu.demo.schema import TABLE_BY_KEY, DefectKind
from rongshu.ingest.demo import load_demo_sources
from rongshu.ingest.parsing import DATE_FORM_REASON, FULLWIDTH_REASON
from rongshu.ingest.runner import repaired_table_name
from rongshu.lake.tables import Lake
from rongshu.quality import service
from rongshu.quality.demo import steward_rules_step
from rongshu.quality.failures import failures_table_name

from ..conftest import open_platform

ROWS = 3000
Cell = tuple[str, str, str]  # resource, field, row key
K = DefectKind


def defect_class(rule: str, reason: str) -> DefectKind | None:
    """The defect class a finding stands for, by its rule kind and reason code."""
    if rule == "standard":
        if reason == "ric.check_digit":
            return K.BAD_ID_CHECK_DIGIT
        if reason.startswith("ric.region"):
            return K.ID_REGION_INVALID
        if reason == "uscc.check_char":
            return K.BAD_CREDIT_CODE_CHECK
        if reason.startswith("phone."):
            return K.INVALID_PHONE
        return None
    by_rule = {
        "ric_birth_date": K.ID_BIRTHDATE_MISMATCH,
        "ric_gender": K.ID_GENDER_MISMATCH,
        "not_null": K.MISSING_VALUE,
        "custom_sql": K.MISSING_VALUE,  # the stewards' conditionally required fields
        "range": K.OUT_OF_RANGE,
        "repaired:" + DATE_FORM_REASON: K.MIXED_DATE_FORMAT,
        "repaired:" + FULLWIDTH_REASON: K.FULLWIDTH_DIGITS,
    }
    return by_rule.get(rule)


def planted(city: Path) -> dict[DefectKind, set[Cell]]:
    truth: dict[DefectKind, set[Cell]] = defaultdict(set)
    with (city / "ground_truth" / "defects.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code = table_resource(TABLE_BY_KEY[row["table"]]).code
            truth[DefectKind(row["kind"])].add((code, row["column"], row["row_key"]))
    return truth


def found(lake: Lake, runs: dict[str, int]) -> tuple[dict[DefectKind, set[Cell]], list[str]]:
    """Findings by class, and those no class explains."""
    findings: dict[DefectKind, set[Cell]] = defaultdict(set)
    unexplained: list[str] = []
    for code, run_id in runs.items():
        failures = lake.table(failures_table_name(code))
        if failures.exists():
            rows = failures.read().filter(pc.equal(pc.field("run_id"), run_id))
            for row in rows.select(["rule", "field", "row_key", "reason"]).to_pylist():
                (key,) = json.loads(row["row_key"]).values()
                kind = defect_class(row["rule"], row["reason"])
                if kind is None:
                    unexplained.append(f"{code} {row['field']} {row['rule']} {row['reason']}")
                else:
                    findings[kind].add((code, row["field"], str(key)))
        repaired = lake.table(repaired_table_name(code))
        if repaired.exists():
            key_at = next(t for t in TABLE_BY_KEY.values() if table_resource(t).code == code)
            at = key_at.index(key_at.key_column)
            for cell in repaired.read().select(["column", "reason", "raw"]).to_pylist():
                rule = "repaired:" + cell["reason"].partition(": ")[0]
                kind = defect_class(rule, "")
                key = list(json.loads(cell["raw"]).values())[at]
                if kind is None:
                    unexplained.append(f"{code} {cell['column']} {rule}")
                else:
                    findings[kind].add((code, cell["column"], str(key)))
    return findings, unexplained


def test_every_injected_defect_class_is_found_with_precision_and_recall_of_099(
    tmp_path: Path,
) -> None:
    city = tmp_path / "city"
    generate_city(city, rows=ROWS, seed=3, database_urls=[])
    platform = open_platform(tmp_path / "data")
    try:
        bootstrap(platform)
        register_demo_catalog(platform, city)
        steward_rules_step(platform, city)
        report = load_demo_sources(platform, city)
        assert report.failures == []
        with platform.db.session_scope() as session:
            runs = {}
            for load in report.loads:
                run = service.latest_run(session, load.resource_code)
                assert run is not None, load.resource_code
                runs[load.resource_code] = run.id
        findings, unexplained = found(Lake.from_settings(platform.settings), runs)
    finally:
        platform.close()
    truth = planted(city)
    assert set(truth) == set(DefectKind)  # every class is planted in this city
    assert unexplained == []
    scores = {}
    for kind in DefectKind:
        hits = len(truth[kind] & findings[kind])
        scores[kind.value] = (hits / max(len(findings[kind]), 1), hits / len(truth[kind]))
    assert {k: s for k, s in scores.items() if min(s) < 0.99} == {}, scores
