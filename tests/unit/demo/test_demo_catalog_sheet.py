"""The demo catalog workbook: a bureau's shape-A sheet whose resources match the generated data."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from datetime import datetime
from typing import Any

import openpyxl
import pytest

from rongshu.catalog.reader import read_catalog
from rongshu.catalog.rules import check_resource
from rongshu.catalog.schemas import FieldType, Grade, OpenType, ResourceSpec, ShareType, UpdateCycle
from rongshu.demo.catalog_resources import catalog_resources
from rongshu.demo.catalog_sheet import (
    FIELD_COLUMNS,
    FIELD_GROUP,
    HEADER_ROWS,
    RESOURCE_COLUMNS,
    RESOURCE_GROUP,
    TITLE,
    catalog_workbook,
)
from rongshu.demo.departments import DEPARTMENTS
from rongshu.demo.schema import TABLE_BY_KEY, TABLES

HEADERS = [h for h, _ in RESOURCE_COLUMNS] + [h for h, _ in FIELD_COLUMNS]


@pytest.fixture(scope="module")
def sheet() -> Any:
    return openpyxl.load_workbook(io.BytesIO(catalog_workbook())).active


@pytest.fixture(scope="module")
def rows(sheet: Any) -> dict[str, list[dict[str, Any]]]:
    """The sheet's field rows by resource code, as dictionaries keyed by header."""
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for values in sheet.iter_rows(min_row=HEADER_ROWS + 1, values_only=True):
        if any(v is not None for v in values):
            row = dict(zip(HEADERS, values, strict=True))
            by_code[row["资源代码"]].append(row)
    return by_code


@pytest.fixture(scope="module")
def resources() -> dict[str, ResourceSpec]:
    return {r.code: r for r in catalog_resources()}


def by_name(resources: dict[str, ResourceSpec], name: str) -> ResourceSpec:
    return next(r for r in resources.values() if r.name == name)


def test_title_row_is_merged_across_the_width(sheet: Any) -> None:
    assert sheet["A1"].value == TITLE == "榕城市政务数据资源目录（2024年）"
    merged = {str(r) for r in sheet.merged_cells.ranges}
    last = openpyxl.utils.get_column_letter(len(HEADERS))
    assert f"A1:{last}1" in merged


def test_group_headers_are_merged_over_resource_and_field_columns(sheet: Any) -> None:
    merged = {str(r) for r in sheet.merged_cells.ranges}
    split = len(RESOURCE_COLUMNS)
    resource_end = openpyxl.utils.get_column_letter(split)
    field_start = openpyxl.utils.get_column_letter(split + 1)
    last = openpyxl.utils.get_column_letter(len(HEADERS))
    assert f"A2:{resource_end}2" in merged and f"{field_start}2:{last}2" in merged
    assert sheet["A2"].value == RESOURCE_GROUP == "资源信息"
    assert sheet[f"{field_start}2"].value == FIELD_GROUP == "信息项"
    assert [c.value for c in sheet[3]] == HEADERS
    assert {"资源代码", "共享类型", "开放类型", "信息项名称", "质量规则"} <= set(HEADERS)


def test_resources_are_separated_by_blank_lines_and_repeat_their_columns(sheet: Any) -> None:
    codes = [row[0] for row in sheet.iter_rows(min_row=HEADER_ROWS + 1, values_only=True)]
    gaps: list[int] = []
    blank = 0
    for code in codes:
        if code is None:
            blank += 1
            continue
        if blank:
            gaps.append(blank)
        blank = 0
    assert set(gaps) == {1, 2}  # one blank line between resources, two between departments
    assert len(gaps) == len(catalog_resources()) - 1
    for values in sheet.iter_rows(min_row=HEADER_ROWS + 1, values_only=True):
        if values[0] is not None:
            assert all(values[i] is not None for i in (0, 1, 2, 4, 5, 8, 11, 14, 17)), values


def test_about_forty_resources_in_every_department_with_unique_codes(
    resources: dict[str, ResourceSpec],
) -> None:
    assert 36 <= len(resources) <= 44
    assert len(catalog_resources()) == len(resources)  # codes are unique
    for code, resource in resources.items():
        assert re.fullmatch(rf"350100-{resource.department_code}-\d{{4}}", code)
        assert set(resource.related) <= set(resources), code
        assert 4 <= len(resource.fields), code
    assert {r.department_code for r in resources.values()} == {d.code for d in DEPARTMENTS}
    assert {r.catalog_type for r in resources.values()} == {"basic", "thematic", "departmental"}


def test_every_resource_follows_the_cataloguing_guide(resources: dict[str, ResourceSpec]) -> None:
    broken = {code: check_resource(r) for code, r in resources.items() if check_resource(r)}
    assert broken == {}
    core = [r for r in resources.values() if r.grade is Grade.CORE]
    assert len(core) >= 2
    assert all(r.share_type != "unconditional" and r.open_type != "unconditional" for r in core)
    assert any(r.grade is Grade.IMPORTANT for r in resources.values())
    not_shared = [r for r in resources.values() if r.share_type is ShareType.NONE]
    assert not_shared and all("法" in r.legal_basis for r in not_shared)
    share_types = {r.share_type for r in resources.values()}
    open_types = {r.open_type for r in resources.values()}
    assert share_types == set(ShareType) and open_types == set(OpenType)


def test_every_generated_table_has_a_resource_with_its_columns(
    rows: dict[str, list[dict[str, Any]]], resources: dict[str, ResourceSpec]
) -> None:
    for table in TABLES:
        matches = [
            code
            for code, field_rows in rows.items()
            if [r["英文名称"] for r in field_rows] == list(table.column_names)
        ]
        assert len(matches) == 1, table.key
        field_rows = rows[matches[0]]
        assert field_rows[0]["资源名称"] == table.title
        assert field_rows[0]["部门编码"] == table.department
        assert [r["信息项名称"] for r in field_rows] == [c.label for c in table.columns]
        keys = [r["英文名称"] for r in field_rows if r["是否主键"] == "是"]
        assert keys == [table.key_column], table.key
        assert all(r["数据类型"] for r in field_rows)


def test_generated_fields_carry_rules_types_and_grades_from_their_semantics(
    resources: dict[str, ResourceSpec],
) -> None:
    checked = 0
    for table in TABLES:
        resource = by_name(resources, table.title)
        for column, item in zip(table.columns, resource.fields, strict=True):
            semantic = column.semantic
            expected = {"ric": "ric", "uscc": "uscc", "phone": "phone", "region": "region"}
            if semantic in expected:
                assert expected[semantic] in item.rules, (table.key, column.name)
            if semantic == "date":
                assert item.data_type is FieldType.DATE and "date" in item.rules
            if column.valid_range is not None:
                assert "range" in item.rules
                assert f"{column.valid_range[0]:g}～{column.valid_range[1]:g}" in item.description
            if column.name == table.key_column:
                assert item.rules[:2] == ["not_null", "unique"]
            if semantic in ("ric", "person_name"):
                assert item.is_personal and item.grade.rank >= Grade.GENERAL_3.rank
                checked += 1
            if column.type == "real" and table.key in ("air_quality_readings", "water_levels"):
                assert item.grade is Grade.GENERAL_1 and item.data_type is FieldType.DECIMAL
    assert checked > 20


def test_share_and_open_types_fit_the_data(resources: dict[str, ResourceSpec]) -> None:
    household = by_name(resources, TABLE_BY_KEY["household_registry"].title)
    assert household.share_type is ShareType.CONDITIONAL and household.share_condition
    assert household.open_type is OpenType.NONE
    assert "《中华人民共和国个人信息保护法》第二十八条" in household.legal_basis
    assert household.update_cycle is UpdateCycle.DAILY
    for key in ("air_quality_readings", "water_levels", "parking_occupancy"):
        sensors = by_name(resources, TABLE_BY_KEY[key].title)
        assert sensors.share_type is ShareType.UNCONDITIONAL, key
        assert sensors.open_type is OpenType.UNCONDITIONAL, key
        assert sensors.update_cycle is UpdateCycle.REALTIME, key
        assert not any(f.is_personal for f in sensors.fields), key
    enterprises = by_name(resources, TABLE_BY_KEY["enterprise_registry"].title)
    assert enterprises.share_type is ShareType.UNCONDITIONAL
    assert enterprises.open_type is OpenType.CONDITIONAL and enterprises.open_condition
    for key in ("household_registry", "student_status", "birth_certificates"):
        people = by_name(resources, TABLE_BY_KEY[key].title)
        assert people.open_type is OpenType.NONE, key


def test_the_sheet_reads_back_as_the_declared_catalog() -> None:
    declared, problems = read_catalog(catalog_workbook(), "榕城市政务数据资源目录.xlsx")
    assert problems == []
    assert declared == catalog_resources()


def test_same_bytes_every_time_with_a_pinned_creation_date() -> None:
    first = catalog_workbook()
    assert catalog_workbook() == first
    workbook = openpyxl.load_workbook(io.BytesIO(first))
    assert workbook.properties.created == datetime(2024, 3, 15, 9, 0, 0)


def test_a_subset_makes_a_smaller_workbook_of_the_same_shape() -> None:
    some = catalog_resources()[:3]
    declared, problems = read_catalog(catalog_workbook(some), "part.xlsx")
    assert problems == [] and declared == some
