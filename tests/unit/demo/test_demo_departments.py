"""The departments of 榕城: one bureau (with its portal's log), eleven providers, every table
owned by one of them."""

from __future__ import annotations

from rongshu.core.identity.schemas import DepartmentCreate
from rongshu.demo.departments import BUREAU, DEPARTMENT_BY_CODE, DEPARTMENTS, PROVIDERS
from rongshu.demo.identifiers import uscc_is_valid
from rongshu.demo.schema import TABLES


def test_the_bureau_runs_the_platform_and_only_its_service_portals_log() -> None:
    assert BUREAU.code == "DSJ" and BUREAU.name == "榕城市大数据管理局"
    assert BUREAU.is_bureau and BUREAU.tables == ("portal_login_log",)
    assert [d.code for d in DEPARTMENTS if d.is_bureau] == ["DSJ"]


def test_about_a_dozen_providers_each_with_tables() -> None:
    assert len(PROVIDERS) == 11
    assert all(provider.tables for provider in PROVIDERS)
    owned = [t for d in DEPARTMENTS for t in d.tables]
    assert sorted(owned) == sorted(t.key for t in TABLES)


def test_departments_are_valid_platform_departments() -> None:
    for department in DEPARTMENTS:
        created = DepartmentCreate(
            code=department.code,
            name=department.name,
            region_code=department.region_code,
            parent_code=department.parent_code,
        )
        assert created.region_code == "350100"
        assert uscc_is_valid(department.credit_code)
        assert department.credit_code.startswith("11350100")
    assert len({d.credit_code for d in DEPARTMENTS}) == len(DEPARTMENTS)


def test_every_table_belongs_to_a_department() -> None:
    for table in TABLES:
        assert table.key in DEPARTMENT_BY_CODE[table.department].tables
        assert table.key_column in table.column_names
        assert len(set(table.column_names)) == len(table.column_names)
        if table.groups:
            assert sum(span for _, span in table.groups) == len(table.columns)
