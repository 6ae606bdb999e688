"""The demo city's catalog as a bureau keeps it: one Excel sheet, one row per information item.

The layout is the catalog importer's shape A, with the quirks bureaus' sheets have: a title
row merged across the width, a two-row header whose first row merges "资源信息" over the
resource columns and "信息项" over the field columns, the resource columns repeated on every
field row, Chinese labels for every enumeration, and blank lines between resources (two
between departments). The workbook's creation time is pinned, so the bytes never change.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from rongshu.catalog.schemas import FieldSpec, ResourceSpec
from rongshu.demo.catalog_fields import PUBLISH_DATE
from rongshu.demo.catalog_resources import catalog_resources
from rongshu.demo.departments import DEPARTMENT_BY_CODE
from rongshu.demo.regions import CITY_NAME

#: Where ``generate_city`` writes the catalog, relative to the city's directory.
CATALOG_FILE = f"catalog/{CITY_NAME}政务数据资源目录.xlsx"
TITLE = f"{CITY_NAME}政务数据资源目录（{PUBLISH_DATE.year}年）"
SHEET_NAME = f"{PUBLISH_DATE.year}年目录"
#: Rows before the first resource: title, header groups, column headers.
HEADER_ROWS = 3
RESOURCE_GROUP = "资源信息"
FIELD_GROUP = "信息项"
_PINNED_TIME = datetime(2024, 3, 15, 9, 0, 0)

Cell = str | int | date | None


def _joined(values: Sequence[str]) -> str:
    return "、".join(values)


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def _grade(spec: ResourceSpec) -> str:
    return spec.grade.label if spec.grade is not None else ""


def _department_name(spec: ResourceSpec) -> str:
    # A department the demo does not know is left to its code (部门编码).
    department = DEPARTMENT_BY_CODE.get(spec.department_code)
    return department.name if department is not None else ""


#: Resource columns (header, value), repeated on every row of the resource.
RESOURCE_COLUMNS: tuple[tuple[str, Callable[[ResourceSpec], Cell]], ...] = (
    ("资源代码", lambda r: r.code),
    ("资源名称", lambda r: r.name),
    ("目录类型", lambda r: r.catalog_type.label),
    ("资源分类", lambda r: r.classification_code),
    ("提供部门", _department_name),
    ("部门编码", lambda r: r.department_code),
    ("资源摘要", lambda r: r.summary),
    ("资源格式", lambda r: r.format),
    ("共享类型", lambda r: r.share_type.label),
    ("共享条件", lambda r: r.share_condition),
    ("共享方式", lambda r: _joined([m.label for m in r.share_methods])),
    ("开放类型", lambda r: r.open_type.label),
    ("开放条件", lambda r: r.open_condition),
    ("法律依据", lambda r: r.legal_basis),
    ("更新周期", lambda r: r.update_cycle.label),
    ("发布日期", lambda r: r.publish_date),
    ("关联资源", lambda r: _joined(r.related)),
    ("资源分级", _grade),
)

#: Field columns (header, value), one row per information item.
FIELD_COLUMNS: tuple[tuple[str, Callable[[FieldSpec], Cell]], ...] = (
    ("信息项名称", lambda f: f.name),
    ("英文名称", lambda f: f.english_name),
    ("数据类型", lambda f: f.data_type.label if f.data_type is not None else ""),
    ("数据长度", lambda f: f.length),
    ("信息项描述", lambda f: f.description),
    ("是否主键", lambda f: _yes_no(f.is_key)),
    ("是否个人信息", lambda f: _yes_no(f.is_personal)),
    ("信息项分级", lambda f: f.grade.label),
    ("质量规则", lambda f: _joined(f.rules)),
)

_WIDE = {"资源名称": 22, "资源摘要": 40, "共享条件": 30, "开放条件": 30, "法律依据": 36}
_WIDE |= {"提供部门": 24, "关联资源": 30, "信息项名称": 18, "信息项描述": 30}


def catalog_workbook(resources: Sequence[ResourceSpec] | None = None) -> bytes:
    """The catalog (the whole demo catalog unless ``resources`` are given) as an .xlsx file."""
    resources = catalog_resources() if resources is None else resources
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"title": TITLE, "author": CITY_NAME, "created": _PINNED_TIME})
    sheet = workbook.add_worksheet(SHEET_NAME)
    title = workbook.add_format({"bold": True, "font_size": 16, "align": "center"})
    head = workbook.add_format(
        {"bold": True, "align": "center", "valign": "vcenter", "border": 1, "bg_color": "#DDEBF7"}
    )
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    headers = [h for h, _ in RESOURCE_COLUMNS] + [h for h, _ in FIELD_COLUMNS]
    last = len(headers) - 1
    for index, header in enumerate(headers):
        sheet.set_column(index, index, _WIDE.get(header, 12))
    sheet.merge_range(0, 0, 0, last, TITLE, title)
    split = len(RESOURCE_COLUMNS)
    sheet.merge_range(1, 0, 1, split - 1, RESOURCE_GROUP, head)
    sheet.merge_range(1, split, 1, last, FIELD_GROUP, head)
    for index, header in enumerate(headers):
        sheet.write_string(2, index, header, head)
    sheet.freeze_panes(HEADER_ROWS, 2)

    row = HEADER_ROWS
    previous: ResourceSpec | None = None
    for resource in resources:
        if previous is not None:
            row += 2 if previous.department_code != resource.department_code else 1
        common = [value(resource) for _, value in RESOURCE_COLUMNS]
        for item in resource.fields:
            cells = common + [value(item) for _, value in FIELD_COLUMNS]
            for col, cell in enumerate(cells):
                _write(sheet, row, col, cell, day)
            row += 1
        previous = resource
    workbook.close()
    return buffer.getvalue()


def _write(sheet: Any, row: int, col: int, cell: Cell, day: Any) -> None:
    if cell is None or cell == "":
        return
    if isinstance(cell, str):
        sheet.write_string(row, col, cell)
    elif isinstance(cell, date):
        sheet.write_datetime(row, col, datetime(cell.year, cell.month, cell.day), day)
    else:
        sheet.write_number(row, col, cell)


def write_catalog(out_dir: Path) -> Path:
    """Write the demo catalog workbook under ``out_dir``; returns its path."""
    path = Path(out_dir) / CATALOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(catalog_workbook())
    return path
