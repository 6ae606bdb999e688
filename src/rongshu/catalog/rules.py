"""The cataloguing guide's rules, checked on every declaration, and the field-level diff.

``check_resource`` returns every violation at once (field path and reason in Chinese and
English), so a steward or an import report can fix them all in one go.
"""

from __future__ import annotations

from typing import Any

from rongshu.catalog.schemas import (
    FieldChange,
    FieldSpec,
    Grade,
    OpenType,
    ResourceSpec,
    ShareType,
)


def field_grade(fields: list[FieldSpec]) -> Grade:
    """The most sensitive grade among the fields (general level 1 when there are none)."""
    return max((f.grade for f in fields), key=lambda g: g.rank, default=Grade.GENERAL_1)


def effective_grade(spec: ResourceSpec) -> Grade:
    """就高从严: the declared grade, raised to the most sensitive field's grade."""
    derived = field_grade(spec.fields)
    if spec.grade is None or spec.grade.rank < derived.rank:
        return derived
    return spec.grade


def check_resource(spec: ResourceSpec) -> list[dict[str, str]]:
    """Every rule of the guide the declaration breaks, as ``{"field", "reason"}`` items."""
    problems: list[dict[str, str]] = []

    def problem(field: str, reason: str) -> None:
        problems.append({"field": field, "reason": reason})

    if spec.share_type is ShareType.NONE and not spec.legal_basis.strip():
        problem("legal_basis", "不予共享须注明法律、法规依据 (no sharing needs a legal basis)")
    if spec.open_type is OpenType.NONE and not spec.legal_basis.strip():
        problem("legal_basis", "不予开放须注明法律、法规依据 (no opening needs a legal basis)")
    if spec.share_type is ShareType.CONDITIONAL and not spec.share_condition.strip():
        problem(
            "share_condition", "有条件共享须注明共享条件 (conditional sharing needs a condition)"
        )
    if spec.open_type is OpenType.CONDITIONAL and not spec.open_condition.strip():
        problem(
            "open_condition", "有条件开放须注明开放条件 (conditional opening needs a condition)"
        )
    if spec.share_type is not ShareType.NONE and not spec.share_methods:
        problem("share_methods", "可共享的资源须注明共享方式 (API、批量交换或文件)")

    derived = field_grade(spec.fields)
    if spec.grade is not None and spec.grade.rank < derived.rank:
        problem(
            "grade",
            f"资源分级 {spec.grade.label} 低于其信息项的最高分级 {derived.label} "
            "(就高从严: a resource is never graded below its most sensitive field)",
        )
    grade = effective_grade(spec)
    if grade is Grade.CORE and spec.share_type is ShareType.UNCONDITIONAL:
        problem("share_type", "核心数据不得无条件共享 (core data cannot be shared unconditionally)")
    if grade is Grade.CORE and spec.open_type is OpenType.UNCONDITIONAL:
        problem("open_type", "核心数据不得无条件开放 (core data cannot be opened unconditionally)")

    if not spec.fields:
        problem("fields", "资源至少包含一个信息项 (a resource needs at least one field)")
    seen: set[str] = set()
    for index, item in enumerate(spec.fields):
        where = f"fields[{index}]"
        if item.data_type is None:
            problem(
                f"{where}.data_type", f"信息项「{item.name}」缺少数据类型 (every field has a type)"
            )
        if item.name in seen:
            problem(f"{where}.name", f"信息项「{item.name}」重复 (field names are unique)")
        seen.add(item.name)
        if item.is_personal and spec.open_type is OpenType.UNCONDITIONAL:
            problem(
                f"{where}.is_personal",
                f"个人信息项「{item.name}」不得无条件开放 "
                "(personal information cannot be opened unconditionally)",
            )
    if spec.code in spec.related:
        problem("related", "资源不能与自身关联 (a resource cannot relate to itself)")
    return problems


_FIELD_ATTRIBUTES = (
    "english_name",
    "data_type",
    "length",
    "description",
    "is_key",
    "is_personal",
    "grade",
    "rules",
)


def diff_specs(before: ResourceSpec | None, after: ResourceSpec) -> list[FieldChange]:
    """What changed from one declaration to the next: resource attributes, then fields."""
    if before is None:
        return [FieldChange(kind="added", field=f.name, after=_dump(f)) for f in after.fields]
    changes: list[FieldChange] = []
    old = before.model_dump(mode="json", exclude={"fields"})
    new = after.model_dump(mode="json", exclude={"fields"})
    for key, value in new.items():
        if old.get(key) != value:
            changes.append(
                FieldChange(kind="resource", field=key, before=old.get(key), after=value)
            )
    old_fields = {f.name: f for f in before.fields}
    new_fields = {f.name: f for f in after.fields}
    for name, item in new_fields.items():
        previous = old_fields.get(name)
        if previous is None:
            changes.append(FieldChange(kind="added", field=name, after=_dump(item)))
            continue
        was, now = _dump(previous), _dump(item)
        delta = {k: (was[k], now[k]) for k in _FIELD_ATTRIBUTES if was[k] != now[k]}
        if delta:
            changes.append(
                FieldChange(
                    kind="changed",
                    field=name,
                    before={k: v[0] for k, v in delta.items()},
                    after={k: v[1] for k, v in delta.items()},
                )
            )
    for name, item in old_fields.items():
        if name not in new_fields:
            changes.append(FieldChange(kind="removed", field=name, before=_dump(item)))
    return changes


def _dump(item: FieldSpec) -> dict[str, Any]:
    return item.model_dump(mode="json")
