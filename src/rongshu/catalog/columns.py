"""The columns of the catalog spreadsheet: what bureaus write in the header row, in order.

The importer recognises each column by its Chinese header or its English key (any case); the
exporter writes the Chinese headers in this order, so an exported file imports unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Column:
    """One column: ``key`` is its English name (accepted as a header too)."""

    key: str
    header: str
    level: Literal["resource", "field"]


RESOURCE_COLUMNS: tuple[Column, ...] = tuple(
    Column(key, header, "resource")
    for key, header in (
        ("code", "资源代码"),
        ("name", "资源名称"),
        ("catalog_type", "目录类型"),
        ("classification_code", "资源分类"),
        ("department", "提供部门"),
        ("department_code", "部门编码"),
        ("summary", "资源摘要"),
        ("format", "资源格式"),
        ("share_type", "共享类型"),
        ("share_condition", "共享条件"),
        ("share_methods", "共享方式"),
        ("open_type", "开放类型"),
        ("open_condition", "开放条件"),
        ("legal_basis", "法律依据"),
        ("update_cycle", "更新周期"),
        ("publish_date", "发布日期"),
        ("related", "关联资源"),
        ("grade", "资源分级"),
    )
)

FIELD_COLUMNS: tuple[Column, ...] = tuple(
    Column(key, header, "field")
    for key, header in (
        ("field_name", "信息项名称"),
        ("english_name", "英文名称"),
        ("data_type", "数据类型"),
        ("length", "数据长度"),
        ("field_description", "信息项描述"),
        ("is_key", "是否主键"),
        ("is_personal", "是否个人信息"),
        ("field_grade", "信息项分级"),
        ("rules", "质量规则"),
    )
)

COLUMNS: dict[str, Column] = {c.key: c for c in RESOURCE_COLUMNS + FIELD_COLUMNS}

# A resource names its department by name (提供部门), by code (部门编码), or both.
REQUIRED_RESOURCE = ("code", "name", "share_type", "open_type")
REQUIRED_FIELD = ("field_name", "data_type")
DEPARTMENT_KEYS = ("department", "department_code")

# ``FieldSpec`` attribute → column key, where they differ.
FIELD_ATTRIBUTE_COLUMN = {
    "name": "field_name",
    "description": "field_description",
    "grade": "field_grade",
}

# Sheet names of shape B (a resources sheet plus a fields sheet), compared case-insensitively.
RESOURCE_SHEET_NAMES = frozenset({"资源", "资源目录", "资源信息", "resources"})
FIELD_SHEET_NAMES = frozenset({"信息项", "信息项目录", "fields"})


def header_aliases() -> dict[str, str]:
    """Every accepted header (Chinese and English) → column key, for ``sheets.find_table``."""
    aliases: dict[str, str] = {}
    for column in COLUMNS.values():
        aliases[column.header] = column.key
        aliases[column.key] = column.key
    return aliases
