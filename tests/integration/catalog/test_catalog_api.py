"""The catalog through its JSON API, on the demo city's catalog: search, facets, visibility."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from fastapi.testclient import TestClient

from rongshu.catalog.demo import register_demo_catalog
from rongshu.core.identity.roles import Role
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.catalog_sheet import write_catalog

from ..conftest import MakeUser, sign_in

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")


@pytest.fixture
def demo_catalog(platform: Platform, tmp_path: Path) -> Platform:
    bootstrap(platform)
    write_catalog(tmp_path / "city")
    register_demo_catalog(platform, tmp_path / "city")
    return platform


def test_search_finds_household_registry_with_facets(
    demo_catalog: Platform, client: TestClient, make_user: MakeUser
) -> None:
    sign_in(demo_catalog, client, make_user("viewer", Role.DEVELOPER, department="RS"))
    found = client.get("/api/v1/catalog/resources", params={"q": "户籍"}).json()
    names = [hit["name"] for hit in found["hits"]]
    assert "户籍人口信息" in names
    departments = {f["value"]: f["count"] for f in found["facets"]["department"]}
    assert departments["GA"] >= 2
    only_ga = client.get(
        "/api/v1/catalog/resources", params={"q": "户籍", "department": "GA"}
    ).json()
    assert {hit["department_code"] for hit in only_ga["hits"]} == {"GA"}
    assert (
        only_ga["total"] == departments["GA"] < found["total"] or only_ga["total"] == found["total"]
    )
    everything = client.get("/api/v1/catalog/resources", params={"limit": 100}).json()
    assert everything["total"] == 42


def test_public_catalog_hides_what_may_not_be_opened(
    demo_catalog: Platform, client: TestClient
) -> None:
    public = client.get("/api/v1/open-catalog/resources", params={"limit": 100}).json()
    open_types = {hit["open_type"] for hit in public["hits"]}
    assert "none" not in open_types and public["total"] < 42
    assert client.get("/api/v1/open-catalog/resources/350100-GA-0001").status_code == 404
    assert client.get("/api/v1/catalog/resources/350100-GA-0001").status_code == 401


def test_resource_history_and_statistics(
    demo_catalog: Platform, client: TestClient, make_user: MakeUser
) -> None:
    sign_in(demo_catalog, client, make_user("viewer", Role.DEVELOPER, department="RS"))
    resource = client.get("/api/v1/catalog/resources/350100-GA-0001").json()
    assert resource["version"] == 1 and resource["fields"][0]["position"] == 1
    history = client.get("/api/v1/catalog/resources/350100-GA-0001/history").json()
    assert [e["action"] for e in history] == ["publish", "submit", "create"]
    stats = client.get("/api/v1/catalog/statistics").json()
    assert stats["resources"] == 42
    assert sum(d["resources"] for d in stats["departments"]) == 42
    assert abs(sum(s["ratio"] for s in stats["share_types"]) - 1) < 0.001


def test_statistics_page(demo_catalog: Platform, client: TestClient, make_user: MakeUser) -> None:
    sign_in(demo_catalog, client, make_user("viewer", Role.DEVELOPER, department="RS"))
    page = client.get("/console/catalog/statistics")
    assert page.status_code == 200
    assert 'data-testid="stats-resources">42<' in page.text
    assert "榕城市公安局" in page.text and "有条件共享" in page.text


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated")
def test_dcat_export_names_every_published_resource(
    demo_catalog: Platform, client: TestClient, make_user: MakeUser
) -> None:
    sign_in(demo_catalog, client, make_user("viewer", Role.DEVELOPER, department="RS"))
    codes = {
        hit["code"]
        for hit in client.get("/api/v1/catalog/resources", params={"limit": 100}).json()["hits"]
    }
    for fmt, parser in (("dcat-ttl", "turtle"), ("dcat-jsonld", "json-ld")):
        response = client.get("/api/v1/catalog/export", params={"format": fmt})
        assert response.status_code == 200
        graph = rdflib.Graph().parse(data=response.content, format=parser)
        exported = {
            str(graph.value(dataset, DCT.identifier))
            for dataset in graph.subjects(rdflib.RDF.type, DCAT.Dataset)
        }
        assert exported == codes


def test_import_through_the_api_reports_problems_and_writes_nothing(
    demo_catalog: Platform, client: TestClient, make_user: MakeUser
) -> None:
    headers = sign_in(demo_catalog, client, make_user("ga", Role.DATA_STEWARD, department="GA"))
    csv = (
        "资源代码,资源名称,部门编码,共享类型,共享方式,开放类型,法律依据,信息项名称,数据类型\n"
        "T-1,测试资源,GA,随便共享,接口,不予开放,《个人信息保护法》,姓名,字符型\n"
    ).encode("gb18030")
    response = client.post(
        "/api/v1/catalog/import", files={"file": ("目录.csv", csv, "text/csv")}, headers=headers
    )
    assert response.status_code == 422
    problem = response.json()["details"][0]
    assert (problem["row"], problem["column"]) == (2, "共享类型")
    working = client.get("/api/v1/catalog/working").json()["data"]
    assert "T-1" not in {resource["code"] for resource in working}
