"""Importing catalog files into the database (all or nothing), and exporting what is published,
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from rdflib import RDF, Graph
from rdflib.namespace import DCAT, DCTERMS

from rongshu.catalog import service
from rongshu.catalog.dcat import export_dcat
from rongshu.catalog.exporter import export_xlsx
from rongshu.catalog.importer import ImportReport, import_catalog, read_catalog
from rongshu.catalog.schemas import ResourceSpec, ResourceStatus
from rongshu.catalog.service import CatalogContext
from rongshu.core.errors import ValidationFailed
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM, DepartmentCreate
from rongshu.core.platform import Platform

from ..conftest import MakeUser

HEADERS = [
    "资源代码",
    "资源名称",
    "提供部门",
    "部门编码",
    "共享类型",
    "共享条件",
    "共享方式",
    "开放类型",
    "开放条件",
    "法律依据",
    "更新周期",
    "发布日期",
    "信息项名称",
    "数据类型",
    "是否个人信息",
    "信息项分级",
]
DEPARTMENTS = {"GAJ": "榕城市公安局", "SCJGJ": "榕城市市场监督管理局"}


def rows_of(
    code: str, name: str, department: str, *, code_column: str = "", **cells: str
) -> list[dict[str, str]]:
    """Two field rows of a resource that breaks no rule unless ``cells`` make it."""
    base = {
        "资源代码": code,
        "资源名称": name,
        "提供部门": department,
        "部门编码": code_column,
        "共享类型": "有条件共享",
        "共享条件": "仅限政务用途",
        "共享方式": "接口、批量交换",
        "开放类型": "有条件开放",
        "开放条件": "经申请审核",
        "更新周期": "每日",
        "发布日期": "2024/1/2",
        "数据类型": "字符型",
        "信息项分级": "一般数据2级",
    }
    base.update(cells)
    return [
        {**base, "信息项名称": "统一社会信用代码", "是否个人信息": "否"},
        {**base, "信息项名称": "名称", "是否个人信息": "否"},
    ]


def catalog_csv(*resources: list[dict[str, str]], encoding: str = "utf-8-sig") -> bytes:
    """Shape A as a CSV with a title line and a blank line between resources."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["榕城市政务数据资源目录（2024年）"])
    writer.writerow(HEADERS)
    for rows in resources:
        for row in rows:
            writer.writerow([row.get(h, "") for h in HEADERS])
        writer.writerow([])
    return out.getvalue().encode(encoding)


GOOD = [
    rows_of("350100-SC-0001", "企业登记信息", "榕城市市场监督管理局"),
    rows_of("350100-SC-0002", "企业年报信息", "", code_column="scjgj"),
    rows_of("350100-GA-0001", "户籍人口统计", "榕城市公安局", code_column="GAJ"),
]


@pytest.fixture
def ctx(platform: Platform) -> CatalogContext:
    with platform.db.session_scope() as session:
        for code, name in DEPARTMENTS.items():
            identity.create_department(
                session,
                data=DepartmentCreate(code=code, name=name, region_code="350100"),
                actor=SYSTEM,
                ledger=platform.ledger,
            )
    return CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="DSJ")


def run_import(platform: Platform, ctx: CatalogContext, data: bytes, **kwargs: Any) -> ImportReport:
    with platform.db.session_scope() as session:
        return import_catalog(session, data=data, filename="目录.csv", ctx=ctx, **kwargs)


def problems_of(platform: Platform, ctx: CatalogContext, data: bytes) -> list[dict[str, Any]]:
    with pytest.raises(ValidationFailed) as failure:
        run_import(platform, ctx, data)
    assert f"{len(failure.value.details)} problems" in failure.value.message
    return failure.value.details


def registered(platform: Platform) -> dict[str, str]:
    with platform.db.session_scope() as session:
        return {r.code: r.status.value for r in service.list_working(session, actor=SYSTEM)}


def test_an_import_registers_every_resource_as_a_draft(
    platform: Platform, ctx: CatalogContext
) -> None:
    report = run_import(platform, ctx, catalog_csv(*GOOD, encoding="gb18030"))
    assert report.resources == 3
    assert report.fields == 6
    assert report.problems == []
    assert set(report.codes) == {"350100-SC-0001", "350100-SC-0002", "350100-GA-0001"}
    assert registered(platform) == dict.fromkeys(report.codes, "draft")
    with platform.db.session_scope() as session:
        by_name = service.get_resource(session, code="350100-SC-0001", actor=SYSTEM)
        by_code = service.get_resource(session, code="350100-SC-0002", actor=SYSTEM)
    assert (by_name.department_code, by_name.department_name) == ("SCJGJ", "榕城市市场监督管理局")
    assert by_code.department_code == "SCJGJ"  # the code column, in any case
    assert [f.name for f in by_name.fields] == ["统一社会信用代码", "名称"]


def test_an_import_can_submit_for_review(platform: Platform, ctx: CatalogContext) -> None:
    report = run_import(platform, ctx, catalog_csv(*GOOD), submit=True)
    assert registered(platform) == dict.fromkeys(report.codes, "submitted")


def test_one_bad_resource_and_nothing_is_imported(platform: Platform, ctx: CatalogContext) -> None:
    bad = rows_of("350100-GA-0002", "人口基础信息", "榕城市公安局", 共享类型="部分共享")
    details = problems_of(platform, ctx, catalog_csv(*GOOD, bad))
    assert details == [
        {
            "sheet": "目录.csv",
            "row": 12,
            "column": "共享类型",
            "reason": details[0]["reason"],
        }
    ]
    assert "无条件共享、有条件共享、不予共享" in details[0]["reason"]
    assert registered(platform) == {}


def test_unknown_departments_by_name_or_code(platform: Platform, ctx: CatalogContext) -> None:
    data = catalog_csv(
        GOOD[0],
        rows_of("R-2", "婚姻登记信息", "榕城市民政局"),
        rows_of("R-3", "社保参保信息", "", code_column="RSJ"),
        rows_of("R-4", "企业信息", "榕城市公安局", code_column="SCJGJ"),
    )
    details = problems_of(platform, ctx, data)
    assert [(d["row"], d["column"]) for d in details] == [
        (6, "提供部门"),
        (9, "部门编码"),
        (12, "提供部门"),
    ]
    assert "榕城市民政局" in details[0]["reason"] and "unknown department" in details[0]["reason"]
    assert "RSJ" in details[1]["reason"]
    assert "disagree" in details[2]["reason"]
    assert registered(platform) == {}


def test_every_problem_of_a_resource_is_reported_at_once(
    platform: Platform, ctx: CatalogContext
) -> None:
    """A cell that does not read does not hide the unknown department or the registered code."""
    run_import(platform, ctx, catalog_csv(GOOD[0]))
    again = rows_of("350100-SC-0001", "企业登记信息", "榕城市民政局", 更新周期="每旬")
    details = problems_of(platform, ctx, catalog_csv(again))
    assert sorted((d["row"], d["column"]) for d in details) == [
        (3, "提供部门"),
        (3, "更新周期"),
        (3, "资源代码"),
    ]


def test_codes_already_registered_or_repeated_in_the_file(
    platform: Platform, ctx: CatalogContext
) -> None:
    run_import(platform, ctx, catalog_csv(GOOD[0]))
    again = catalog_csv(GOOD[1], GOOD[0], GOOD[2], GOOD[1])
    details = problems_of(platform, ctx, again)
    assert [(d["row"], d["column"]) for d in details] == [(6, "资源代码"), (12, "资源代码")]
    assert "already registered" in details[0]["reason"]
    assert "duplicate code" in details[1]["reason"]
    assert set(registered(platform)) == {"350100-SC-0001"}


def test_a_missing_required_column(platform: Platform, ctx: CatalogContext) -> None:
    data = catalog_csv(*GOOD).decode("utf-8-sig").replace("开放类型", "开放方式").encode()
    details = problems_of(platform, ctx, data)
    assert [(d["sheet"], d["row"], d["column"]) for d in details] == [("目录.csv", 2, "开放类型")]
    assert "missing required column" in details[0]["reason"]


def test_a_steward_imports_only_their_own_departments_resources(
    platform: Platform, ctx: CatalogContext, make_user: MakeUser
) -> None:
    make_user("gongan", Role.DATA_STEWARD, department="GAJ")
    with platform.db.session_scope() as session:
        actor = identity.user_actor(identity.get_user(session, "gongan"))
    steward = CatalogContext(actor=actor, ledger=platform.ledger, bureau="DSJ")
    details = problems_of(platform, steward, catalog_csv(GOOD[2], GOOD[0]))
    assert [(d["row"], d["column"]) for d in details] == [(6, "提供部门")]
    assert run_import(platform, steward, catalog_csv(GOOD[2])).codes == ["350100-GA-0001"]


def publish(platform: Platform, ctx: CatalogContext, codes: list[str]) -> None:
    with platform.db.session_scope() as session:
        for code in codes:
            service.submit(session, code=code, reason="", ctx=ctx)
            service.review(session, code=code, approve=True, reason="同意", ctx=ctx)


def test_exported_workbook_imports_back_to_the_same_declarations(
    platform: Platform, ctx: CatalogContext
) -> None:
    report = run_import(platform, ctx, catalog_csv(*GOOD))
    publish(platform, ctx, report.codes)
    with platform.db.session_scope() as session:
        published = service.published_resources(session)
    specs, problems = read_catalog(export_xlsx(published, title="榕城市政务数据资源目录"), "x.xlsx")
    assert problems == []
    assert specs == [ResourceSpec.model_validate(r.model_dump()) for r in published]


# rdflib's own JSON-LD parser still builds a ConjunctiveGraph internally (rdflib 7.x).
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize(("fmt", "rdf_format"), [("json-ld", "json-ld"), ("turtle", "turtle")])
def test_dcat_export_names_every_published_resource(
    platform: Platform, ctx: CatalogContext, fmt: str, rdf_format: str
) -> None:
    report = run_import(platform, ctx, catalog_csv(*GOOD))
    publish(platform, ctx, report.codes[:2])  # the third stays a draft
    with platform.db.session_scope() as session:
        published = service.published_resources(session)
    assert {r.status for r in published} == {ResourceStatus.PUBLISHED}
    body = export_dcat(published, base_url="https://data.example.cn", title="目录", fmt=fmt)
    graph = Graph().parse(data=body.decode("utf-8"), format=rdf_format)
    named = {
        str(graph.value(s, DCTERMS.identifier)) for s in graph.subjects(RDF.type, DCAT.Dataset)
    }
    assert named == set(report.codes[:2])
