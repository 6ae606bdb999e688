"""Exporting the catalog: Excel in the bureaus' shape A (which imports back unchanged) and JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from datetime import date

import xlsxwriter

from rongshu.catalog.columns import FIELD_COLUMNS, RESOURCE_COLUMNS
from rongshu.catalog.schemas import FieldPublic, LabelledEnum, ResourcePublic

SHEET_NAME = "数据资源目录"
RESOURCE_GROUP = "资源信息"
FIELD_GROUP = "信息项"
FIRST_DATA_ROW = 3  # 0-based: title, group header, column header

Cell = str | int | date | None


def _label(value: LabelledEnum | None) -> str:
    return value.label if value is not None else ""


def _labels(values: Sequence[str]) -> str:
    return "、".join(v.label if isinstance(v, LabelledEnum) else v for v in values)


def _yes(value: bool) -> str:
    return "是" if value else "否"


RESOURCE_CELLS: dict[str, Callable[[ResourcePublic], Cell]] = {
    "code": lambda r: r.code,
    "name": lambda r: r.name,
    "catalog_type": lambda r: _label(r.catalog_type),
    "classification_code": lambda r: r.classification_code,
    "department": lambda r: r.department_name,
    "department_code": lambda r: r.department_code,
    "summary": lambda r: r.summary,
    "format": lambda r: r.format,
    "share_type": lambda r: _label(r.share_type),
    "share_condition": lambda r: r.share_condition,
    "share_methods": lambda r: _labels(r.share_methods),
    "open_type": lambda r: _label(r.open_type),
    "open_condition": lambda r: r.open_condition,
    "legal_basis": lambda r: r.legal_basis,
    "update_cycle": lambda r: _label(r.update_cycle),
    "publish_date": lambda r: r.publish_date,
    "related": lambda r: _labels(r.related),
    "grade": lambda r: _label(r.grade),
}

FIELD_CELLS: dict[str, Callable[[FieldPublic], Cell]] = {
    "field_name": lambda f: f.name,
    "english_name": lambda f: f.english_name,
    "data_type": lambda f: _label(f.data_type),
    "length": lambda f: f.length,
    "field_description": lambda f: f.description,
    "is_key": lambda f: _yes(f.is_key),
    "is_personal": lambda f: _yes(f.is_personal),
    "field_grade": lambda f: _label(f.grade),
    "rules": lambda f: _labels(f.rules),
}

WIDTHS = {
    "code": 16,
    "name": 24,
    "department": 18,
    "summary": 32,
    "legal_basis": 24,
    "share_condition": 20,
    "open_condition": 20,
    "field_name": 18,
    "english_name": 16,
    "field_description": 28,
    "publish_date": 12,
}


def export_xlsx(resources: list[ResourcePublic], *, title: str) -> bytes:
    """Shape A: a merged title row, a merged group header (资源信息 / 信息项), the column
    headers, then one row per field with the resource columns repeated."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"title": title})
    sheet = book.add_worksheet(SHEET_NAME)
    title_format = book.add_format({"bold": True, "font_size": 16, "align": "center"})
    group_format = book.add_format(
        {"bold": True, "align": "center", "border": 1, "bg_color": "#D9E1F2"}
    )
    header_format = book.add_format(
        {"bold": True, "border": 1, "bg_color": "#F2F2F2", "text_wrap": True, "valign": "top"}
    )
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})

    columns = RESOURCE_COLUMNS + FIELD_COLUMNS
    last = len(columns) - 1
    sheet.merge_range(0, 0, 0, last, title, title_format)
    sheet.merge_range(1, 0, 1, len(RESOURCE_COLUMNS) - 1, RESOURCE_GROUP, group_format)
    sheet.merge_range(1, len(RESOURCE_COLUMNS), 1, last, FIELD_GROUP, group_format)
    for index, column in enumerate(columns):
        sheet.write_string(2, index, column.header, header_format)
        sheet.set_column(index, index, WIDTHS.get(column.key, 12))

    row = FIRST_DATA_ROW
    for resource in resources:
        resource_cells = [RESOURCE_CELLS[c.key](resource) for c in RESOURCE_COLUMNS]
        items: list[FieldPublic | None] = list(resource.fields) or [None]
        for item in items:
            field_cells = [FIELD_CELLS[c.key](item) if item else None for c in FIELD_COLUMNS]
            for index, value in enumerate(resource_cells + field_cells):
                if isinstance(value, date):
                    sheet.write_datetime(row, index, value, date_format)
                elif isinstance(value, int):
                    sheet.write_number(row, index, value)
                elif value:
                    # write_string, never write(): a cell starting with "=" stays text.
                    sheet.write_string(row, index, value)
            row += 1
    sheet.freeze_panes(FIRST_DATA_ROW, 2)
    sheet.autofilter(FIRST_DATA_ROW - 1, 0, max(row - 1, FIRST_DATA_ROW - 1), last)
    book.close()
    return buffer.getvalue()


def export_json(resources: list[ResourcePublic]) -> bytes:
    """UTF-8 JSON: ``{"resources": [...], "count": n}``, Chinese kept readable."""
    payload = {
        "resources": [resource.model_dump(mode="json") for resource in resources],
        "count": len(resources),
    }
    return json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
