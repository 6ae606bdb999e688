"""The cataloguing guide's rules, one by one, and the field-level diff."""

from __future__ import annotations

from typing import Any

import pytest

from rongshu.catalog.rules import check_resource, diff_specs, effective_grade
from rongshu.catalog.schemas import (
    FieldSpec,
    FieldType,
    Grade,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
)


def field(name: str = "姓名", **changes: Any) -> FieldSpec:
    values: dict[str, Any] = {"name": name, "data_type": FieldType.STRING}
    values.update(changes)
    return FieldSpec(**values)


def spec(**changes: Any) -> ResourceSpec:
    values: dict[str, Any] = {
        "code": "350100-GA-0001",
        "name": "常住人口户籍信息",
        "department_code": "GA",
        "fields": [field("公民身份号码", is_personal=True, grade=Grade.GENERAL_3), field("民族")],
        "share_type": ShareType.CONDITIONAL,
        "share_condition": "用于社会保障待遇资格认证",
        "share_methods": [ShareMethod.API],
        "open_type": OpenType.NONE,
        "legal_basis": "《中华人民共和国个人信息保护法》",
    }
    values.update(changes)
    return ResourceSpec(**values)


def reasons(resource: ResourceSpec) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in check_resource(resource):
        found[problem["field"]] = found.get(problem["field"], "") + problem["reason"]
    return found


def test_a_well_formed_resource_passes() -> None:
    assert check_resource(spec()) == []


@pytest.mark.parametrize(
    ("changes", "field_path", "words"),
    [
        (
            {"share_type": ShareType.NONE, "share_methods": [], "legal_basis": ""},
            "legal_basis",
            "不予共享",
        ),
        (
            {"open_type": OpenType.NONE, "legal_basis": ""},
            "legal_basis",
            "不予开放",
        ),
        ({"share_condition": ""}, "share_condition", "有条件共享须注明共享条件"),
        (
            {"open_type": OpenType.CONDITIONAL, "open_condition": "", "fields": [field()]},
            "open_condition",
            "有条件开放须注明开放条件",
        ),
        (
            {"fields": [field(grade=Grade.CORE)], "share_type": ShareType.UNCONDITIONAL},
            "share_type",
            "核心数据不得无条件共享",
        ),
        (
            {"fields": [field(grade=Grade.CORE)], "open_type": OpenType.UNCONDITIONAL},
            "open_type",
            "核心数据不得无条件开放",
        ),
        (
            {"open_type": OpenType.UNCONDITIONAL},
            "fields[0].is_personal",
            "个人信息项「公民身份号码」不得无条件开放",
        ),
        ({"fields": [field(data_type=None)]}, "fields[0].data_type", "缺少数据类型"),
        ({"fields": [field(), field()]}, "fields[1].name", "重复"),
        ({"fields": []}, "fields", "至少包含一个信息项"),
        ({"grade": Grade.GENERAL_1}, "grade", "就高从严"),
        ({"share_methods": []}, "share_methods", "共享方式"),
    ],
    ids=[
        "no-share-needs-basis",
        "no-open-needs-basis",
        "conditional-share-needs-condition",
        "conditional-open-needs-condition",
        "core-not-unconditional-share",
        "core-not-unconditional-open",
        "personal-not-unconditionally-open",
        "field-needs-type",
        "field-names-unique",
        "needs-fields",
        "grade-not-below-fields",
        "share-needs-method",
    ],
)
def test_each_rule_is_enforced_with_a_clear_message(
    changes: dict[str, Any], field_path: str, words: str
) -> None:
    found = reasons(spec(**changes))
    assert field_path in found, found
    assert words in found[field_path]


def test_grade_is_never_below_the_most_sensitive_field() -> None:
    assert effective_grade(spec()) is Grade.GENERAL_3
    assert effective_grade(spec(grade=Grade.IMPORTANT)) is Grade.IMPORTANT
    raised = spec(fields=[field(grade=Grade.IMPORTANT)], grade=None)
    assert effective_grade(raised) is Grade.IMPORTANT


def test_enums_accept_chinese_labels() -> None:
    assert ShareType.parse("有条件共享") is ShareType.CONDITIONAL
    assert Grade.parse(" 一般数据3级 ") is Grade.GENERAL_3
    with pytest.raises(ValueError, match="无条件开放"):
        OpenType.parse("随便开放")


def test_diff_names_added_removed_and_changed_fields() -> None:
    before = spec()
    after = spec(
        name="常住人口户籍信息（新）",
        fields=[
            field("公民身份号码", is_personal=True, grade=Grade.IMPORTANT),
            field("户籍地址", is_personal=True),
        ],
    )
    changes = {(c.kind, c.field): c for c in diff_specs(before, after)}
    assert set(changes) == {
        ("resource", "name"),
        ("changed", "公民身份号码"),
        ("added", "户籍地址"),
        ("removed", "民族"),
    }
    changed = changes[("changed", "公民身份号码")]
    assert changed.before == {"grade": "general_3"} and changed.after == {"grade": "important"}
