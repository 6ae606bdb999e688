"""The names in a catalog field's rules list, read as rules."""

from __future__ import annotations

import pytest

from rongshu.catalog.schemas import FieldSpec, FieldType, UpdateCycle
from rongshu.quality.schemas import RuleKind, Severity
from rongshu.quality.seeding import catalog_rules, fingerprint


def spec(*rules: str, description: str = "", data_type: FieldType = FieldType.STRING) -> FieldSpec:
    return FieldSpec(
        name="项", english_name="col", data_type=data_type, rules=list(rules),
        description=description,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kind", "params"),
    [
        ("not_null", RuleKind.NOT_NULL, {}),
        ("unique", RuleKind.UNIQUE, {}),
        ("ric", RuleKind.STANDARD, {"standard": "ric"}),
        ("uscc", RuleKind.STANDARD, {"standard": "uscc"}),
        ("range:0~120", RuleKind.RANGE, {"min": 0.0, "max": 120.0}),
        ("range:~5.5", RuleKind.RANGE, {"max": 5.5}),
        ("range: 2020-01-01 ～ 2020-12-31", RuleKind.RANGE,
         {"min": "2020-01-01", "max": "2020-12-31"}),
        ("length:1~", RuleKind.LENGTH, {"min": 1}),
        ("enum:A|B| C ", RuleKind.ENUM, {"values": ["A", "B", "C"]}),
        ("regex:^[0-9]{6}$", RuleKind.REGEX, {"pattern": "^[0-9]{6}$"}),
        ("regex:a:b", RuleKind.REGEX, {"pattern": "a:b"}),
        ("ric_gender:id_number", RuleKind.RIC_GENDER, {"id_field": "id_number"}),
        ("referential:350100-GA-0001/person_id", RuleKind.REFERENTIAL,
         {"resource": "350100-GA-0001", "column": "person_id"}),
    ],
)  # fmt: skip
def test_each_name_makes_its_rule(name: str, kind: RuleKind, params: dict[str, object]) -> None:
    made, skipped = catalog_rules("R", [spec(name)], UpdateCycle.IRREGULAR)
    assert skipped == []
    (rule,) = made
    assert (rule.field, rule.kind, rule.params) == ("col", kind, params)


def test_a_bare_range_reads_its_bounds_from_the_description() -> None:
    made, _ = catalog_rules(
        "R", [spec("range", description="有效范围 -10～45.5")], UpdateCycle.IRREGULAR
    )
    assert made[0].params == {"min": -10.0, "max": 45.5}
    assert made[0].severity is Severity.WARNING


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("luhn", "unknown rule 'luhn'"),
        ("range", "有效范围"),
        ("range:a~b", "could not convert"),
        ("range:5", "range:LOW~HIGH"),
        ("length:x~2", "invalid literal"),
        ("not_null:x", "takes no argument"),
        ("ric_region", "ID_FIELD"),
        ("referential:R-1", "RESOURCE/COLUMN"),
        ("custom_sql", "added by stewards"),
        ("timeliness", "added by stewards"),
        ("enum:", "at least 1"),
    ],
)
def test_names_that_say_no_rule_are_reported(name: str, reason: str) -> None:
    made, skipped = catalog_rules("R", [spec(name)], UpdateCycle.IRREGULAR)
    assert made == []
    assert (skipped[0].field, skipped[0].rule) == ("col", name)
    assert reason in skipped[0].reason


def test_standards_are_not_seeded_on_typed_date_fields() -> None:
    made, skipped = catalog_rules(
        "R", [spec("date", data_type=FieldType.DATE)], UpdateCycle.IRREGULAR
    )
    assert made == [] and "日期型 field holds typed dates" in skipped[0].reason


def test_regular_update_cycles_add_a_timeliness_rule() -> None:
    made, _ = catalog_rules("R", [], UpdateCycle.MONTHLY)
    assert [(r.kind, r.field) for r in made] == [(RuleKind.TIMELINESS, None)]
    assert catalog_rules("R", [], UpdateCycle.IRREGULAR) == ([], [])


def test_fingerprints_tell_checks_apart() -> None:
    same = fingerprint("a", RuleKind.RANGE, {"min": 1.0, "max": 2.0})
    assert same == fingerprint("a", RuleKind.RANGE, {"max": 2.0, "min": 1.0})
    assert same != fingerprint("b", RuleKind.RANGE, {"min": 1.0, "max": 2.0})
    assert same != fingerprint("a", RuleKind.RANGE, {"min": 1.0, "max": 3.0})
