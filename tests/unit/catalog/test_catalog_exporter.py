"""Exporting to Excel (which imports back unchanged) and JSON."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from typing import Any

import openpyxl

from rongshu.catalog.exporter import export_json, export_xlsx
from rongshu.catalog.importer import read_catalog
from rongshu.catalog.schemas import (
    CatalogType,
    FieldPublic,
    FieldType,
    Grade,
    OpenType,
    ResourcePublic,
    ResourceSpec,
    ResourceStatus,
    ShareMethod,
    ShareType,
    UpdateCycle,
)


def resource(code: str, **changes: Any) -> ResourcePublic:
    values: dict[str, Any] = {
        "id": 1,
        "code": code,
        "name": "常住人口户籍信息",
        "department_code": "GAJ",
        "department_name": "榕城市公安局",
        "share_type": ShareType.CONDITIONAL,
        "share_condition": "仅限政务用途",
        "share_methods": [ShareMethod.API, ShareMethod.FILE],
        "open_type": OpenType.NONE,
        "legal_basis": "《中华人民共和国居民身份证法》",
        "status": ResourceStatus.PUBLISHED,
        "effective_grade": Grade.GENERAL_4,
        "version": 1,
        "updated_at": datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
        "fields": [
            FieldPublic(
                position=1,
                name="公民身份号码",
                english_name="id_number",
                data_type=FieldType.STRING,
                length=18,
                is_key=True,
                is_personal=True,
                grade=Grade.GENERAL_4,
                rules=["not_null", "ric"],
            ),
            FieldPublic(position=2, name="出生日期", data_type=FieldType.DATE),
        ],
    }
    values.update(changes)
    return ResourcePublic(**values)


RESOURCES = [
    resource(
        "350100-GA-0001",
        catalog_type=CatalogType.BASIC,
        classification_code="02-01-03-01",
        summary="全市常住人口的户籍登记信息。\n每日更新。",
        format="table",
        update_cycle=UpdateCycle.DAILY,
        publish_date=date(2024, 1, 2),
        related=["350100-GA-0002", "350100-MZ-0001"],
        grade=Grade.IMPORTANT,
    ),
    resource(
        "0012",  # leading zeros stay: codes are text
        name='=HYPERLINK("http://evil")',  # stays text, never a formula
        department_code="SCJGJ",
        department_name="榕城市市场监督管理局",
        share_type=ShareType.UNCONDITIONAL,
        share_condition="",
        share_methods=[ShareMethod.BATCH],
        open_type=OpenType.CONDITIONAL,
        open_condition="经申请审核",
        legal_basis="",
        update_cycle=UpdateCycle.QUARTERLY,
        fields=[
            FieldPublic(
                position=1,
                name="统一社会信用代码",
                data_type=FieldType.STRING,
                length=18,
                description="GB 32100",
                rules=["uscc"],
            )
        ],
    ),
]


def as_spec(item: ResourcePublic) -> ResourceSpec:
    return ResourceSpec.model_validate(item.model_dump())


def test_export_then_import_gives_back_the_same_declarations() -> None:
    data = export_xlsx(RESOURCES, title="榕城市政务数据资源目录")
    specs, problems = read_catalog(data, "export.xlsx")
    assert problems == []
    assert specs == [as_spec(item) for item in RESOURCES]


def test_the_workbook_has_a_merged_title_and_a_merged_group_header() -> None:
    data = export_xlsx(RESOURCES, title="榕城市政务数据资源目录（2024年）")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    merged = {str(r): sheet.cell(r.min_row, r.min_col).value for r in sheet.merged_cells.ranges}
    assert merged == {
        "A1:AA1": "榕城市政务数据资源目录（2024年）",
        "A2:R2": "资源信息",
        "S2:AA2": "信息项",
    }
    assert [c.value for c in sheet[3]][:3] == ["资源代码", "资源名称", "目录类型"]
    # one row per field, the resource columns repeated
    assert [(row[0].value, row[18].value) for row in sheet.iter_rows(min_row=4)] == [
        ("350100-GA-0001", "公民身份号码"),
        ("350100-GA-0001", "出生日期"),
        ("0012", "统一社会信用代码"),
    ]
    assert sheet["B6"].data_type == "s"  # the formula-looking name is a string cell
    assert sheet["I4"].value == "有条件共享"  # labels, as bureaus write them


def test_json_export_is_readable_utf8_with_a_count() -> None:
    payload = json.loads(export_json(RESOURCES).decode("utf-8"))
    assert payload["count"] == 2
    assert [r["code"] for r in payload["resources"]] == ["350100-GA-0001", "0012"]
    assert payload["resources"][0]["fields"][0]["name"] == "公民身份号码"
    assert "常住人口户籍信息".encode() in export_json(RESOURCES)  # not \\u-escaped
