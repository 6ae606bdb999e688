"""Reason codes of failing rows, with their messages in Chinese and English.

The rule kinds of this area name their own reasons here; a ``standard`` rule's reasons are the
standard's (``rongshu.standards``), e.g. ``ric.check_digit``.
"""

from __future__ import annotations

from typing import Final

REASONS: Final[dict[str, tuple[str, str]]] = {
    "not_null.missing": ("值缺失", "the value is missing"),
    "unique.duplicate": ("值重复", "the value appears in more than one row"),
    "enum.not_listed": ("值不在代码表中", "the value is not in the code table"),
    "range.below_min": ("值小于下限", "the value is below the minimum"),
    "range.above_max": ("值大于上限", "the value is above the maximum"),
    "range.unreadable": ("值无法读作数值或日期", "the value cannot be read as a number or date"),
    "length.too_short": ("长度不足", "the value is too short"),
    "length.too_long": ("长度超限", "the value is too long"),
    "regex.no_match": ("值不符合格式要求", "the value does not match the pattern"),
    "ric_birth_date.mismatch": (
        "出生日期与公民身份号码不一致",
        "the birth date disagrees with the ID number",
    ),
    "ric_gender.mismatch": ("性别与公民身份号码不一致", "the gender disagrees with the ID number"),
    "ric_gender.unreadable": ("性别值无法识别", "the gender value is not recognised"),
    "ric_region.mismatch": (
        "行政区划与公民身份号码地址码不一致",
        "the region disagrees with the ID number's region code",
    ),
    "referential.missing": (
        "值在被引用的资源中不存在",
        "the value does not exist in the resource referred to",
    ),
    "timeliness.overdue": ("超过更新周期未更新", "not loaded within its update cycle"),
    "timeliness.never_loaded": ("从未成功汇聚", "never loaded successfully"),
    "custom_sql.false": ("不满足自定义规则", "the custom rule does not hold"),
}


def describe(reason: str) -> tuple[str, str]:
    """The Chinese and English message of a reason code (the code itself when unknown)."""
    if reason in REASONS:
        return REASONS[reason]
    from rongshu.standards import STANDARDS

    for standard in STANDARDS.values():
        if reason in standard.reasons:
            return standard.reasons[reason]
    return reason, reason
