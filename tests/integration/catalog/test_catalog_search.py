"""The live search index follows the published catalog: publishes, changes and retirements."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rongshu.catalog import service
from rongshu.catalog.schemas import (
    FieldSpec,
    FieldType,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
)
from rongshu.catalog.search import CatalogSearch, SearchResult
from rongshu.core.identity import service as identity
from rongshu.core.identity.schemas import SYSTEM, DepartmentCreate
from rongshu.core.platform import Platform


def spec(code: str, name: str, department: str = "GA", **changes: Any) -> ResourceSpec:
    values: dict[str, Any] = {
        "code": code,
        "name": name,
        "department_code": department,
        "summary": f"{name}的登记数据",
        "fields": [
            FieldSpec(name="公民身份号码", english_name="id_number", data_type=FieldType.STRING),
            FieldSpec(name="户籍地址", english_name="address", data_type=FieldType.STRING),
        ],
        "share_type": ShareType.UNCONDITIONAL,
        "share_methods": [ShareMethod.API],
        "open_type": OpenType.NONE,
        "legal_basis": "《中华人民共和国个人信息保护法》",
    }
    values.update(changes)
    return ResourceSpec(**values)


@pytest.fixture
def ctx(platform: Platform) -> service.CatalogContext:
    with platform.db.session_scope() as session:
        for code, name in (("DSJ", "榕城市大数据管理局"), ("GA", "榕城市公安局"), ("RS", "人社局")):
            identity.create_department(
                session,
                data=DepartmentCreate(code=code, name=name, region_code="350100"),
                actor=SYSTEM,
                ledger=platform.ledger,
            )
    return service.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="DSJ")


def publish(platform: Platform, ctx: service.CatalogContext, resource: ResourceSpec) -> None:
    with platform.db.session_scope() as session:
        service.create_resource(session, spec=resource, ctx=ctx)
        service.submit(session, code=resource.code, reason="", ctx=ctx)
        service.review(session, code=resource.code, approve=True, reason="", ctx=ctx)


def codes(result: SearchResult) -> list[str]:
    return [hit.code for hit in result.hits]


def test_search_follows_publishing_and_retiring(
    platform: Platform, ctx: service.CatalogContext
) -> None:
    search = CatalogSearch(platform.db)
    assert search.search(q="户籍").total == 0

    publish(platform, ctx, spec("GA-0001", "常住人口户籍信息"))
    result = search.search(q="户籍")
    assert codes(result) == ["GA-0001"]
    assert result.hits[0].department_name == "榕城市公安局"
    assert result.hits[0].version == 1
    index = search.index()
    assert search.index() is index, "no rebuild while nothing changed"

    with platform.db.session_scope() as session:  # a draft is not in the published catalog
        service.create_resource(session, spec=spec("RS-0001", "参保人员户籍信息", "RS"), ctx=ctx)
    assert codes(search.search(q="户籍")) == ["GA-0001"]

    migrants = spec(
        "GA-0002",
        "流动人口居住登记",
        fields=[FieldSpec(name="居住证编号", data_type=FieldType.STRING)],
        open_type=OpenType.CONDITIONAL,
        open_condition="用于学术研究",
    )
    publish(platform, ctx, migrants)
    assert codes(search.search(q="人口", sort="code")) == ["GA-0001", "GA-0002"]
    departments = search.search(q="人口").facets["department"]
    assert [(f.value, f.label, f.count) for f in departments] == [("GA", "榕城市公安局", 2)]

    with platform.db.session_scope() as session:
        service.retire(session, code="GA-0001", reason="并入人口综合库", ctx=ctx)
    assert codes(search.search(q="户籍")) == []
    assert codes(search.search(q="人口")) == ["GA-0002"]


def test_a_published_change_replaces_the_old_version(
    platform: Platform, ctx: service.CatalogContext
) -> None:
    search = CatalogSearch(platform.db)
    publish(platform, ctx, spec("GA-0001", "常住人口户籍信息"))
    assert search.search(q="户籍").total == 1

    changed = spec("GA-0001", "常住人口基本信息")
    with platform.db.session_scope() as session:
        service.update_resource(session, code="GA-0001", spec=changed, reason="改名", ctx=ctx)
    assert codes(search.search(q="户籍信息")) == ["GA-0001"], "the draft change is not public yet"

    with platform.db.session_scope() as session:
        service.submit(session, code="GA-0001", reason="", ctx=ctx)
        service.review(session, code="GA-0001", approve=True, reason="", ctx=ctx)
    assert search.search(q="户籍信息").total == 0
    hit = search.search(q="基本信息").hits[0]
    assert (hit.code, hit.version) == ("GA-0001", 2)
    assert search.search(q="户籍地址").hits[0].matched_fields == ["户籍地址"]


def test_the_open_catalog_leaves_out_resources_that_are_not_opened(
    platform: Platform, ctx: service.CatalogContext
) -> None:
    publish(platform, ctx, spec("GA-0001", "常住人口户籍信息"))
    opened = spec(
        "GA-0002",
        "户籍迁移统计",
        fields=[FieldSpec(name="迁入人数", data_type=FieldType.INTEGER)],
        open_type=OpenType.UNCONDITIONAL,
    )
    publish(platform, ctx, opened)
    assert CatalogSearch(platform.db).search(q="户籍").total == 2
    public = CatalogSearch(platform.db, open_only=True)
    assert codes(public.search(q="户籍")) == ["GA-0002"]


def test_concurrent_searches_share_one_rebuild(
    platform: Platform, ctx: service.CatalogContext
) -> None:
    publish(platform, ctx, spec("GA-0001", "常住人口户籍信息"))
    search = CatalogSearch(platform.db)
    results: list[int] = []
    indexes: set[int] = set()

    def worker() -> None:
        for _ in range(5):
            results.append(search.search(q="户籍").total)
            indexes.add(id(search.index()))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 20
    assert len(indexes) == 1, "one index built for all threads"
