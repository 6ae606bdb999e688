"""DCAT-AP export: what a harvesting catalog reads from ours."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from rongshu.catalog.dcat import RONGSHU_NS, catalog_graph, export_dcat
from rongshu.catalog.schemas import (
    FieldPublic,
    FieldType,
    Grade,
    OpenType,
    ResourcePublic,
    ResourceStatus,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from rongshu.core.errors import ValidationFailed

BASE = "https://data.rongcheng.example.cn"
EU = "http://publications.europa.eu/resource/authority"


def resource(code: str, **changes: Any) -> ResourcePublic:
    values: dict[str, Any] = {
        "id": 1,
        "code": code,
        "name": f"资源 {code}",
        "department_code": "GAJ",
        "department_name": "榕城市公安局",
        "share_type": ShareType.UNCONDITIONAL,
        "share_methods": [ShareMethod.API],
        "open_type": OpenType.UNCONDITIONAL,
        "status": ResourceStatus.PUBLISHED,
        "effective_grade": Grade.GENERAL_2,
        "version": 2,
        "updated_at": datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
        "fields": [
            FieldPublic(position=1, name="姓名", data_type=FieldType.STRING),
            FieldPublic(position=2, name="出生日期", data_type=FieldType.DATE),
        ],
    }
    values.update(changes)
    return ResourcePublic(**values)


def dataset(graph: Graph, code: str) -> URIRef:
    found = [
        s
        for s in graph.subjects(DCTERMS.identifier, Literal(code))
        if (s, RDF.type, DCAT.Dataset) in graph
    ]
    assert len(found) == 1
    assert isinstance(found[0], URIRef)
    return found[0]


@pytest.mark.parametrize(
    ("cycle", "frequency"),
    [
        (UpdateCycle.REALTIME, "UPDATE_CONT"),
        (UpdateCycle.DAILY, "DAILY"),
        (UpdateCycle.WEEKLY, "WEEKLY"),
        (UpdateCycle.MONTHLY, "MONTHLY"),
        (UpdateCycle.QUARTERLY, "QUARTERLY"),
        (UpdateCycle.YEARLY, "ANNUAL"),
        (UpdateCycle.IRREGULAR, "IRREG"),
    ],
)
def test_update_cycles_use_the_eu_frequency_authority(cycle: UpdateCycle, frequency: str) -> None:
    graph = catalog_graph([resource("R1", update_cycle=cycle)], base_url=BASE, title="目录")
    assert graph.value(dataset(graph, "R1"), DCTERMS.accrualPeriodicity) == URIRef(
        f"{EU}/frequency/{frequency}"
    )


@pytest.mark.parametrize(
    ("open_type", "right"),
    [
        (OpenType.UNCONDITIONAL, "PUBLIC"),
        (OpenType.CONDITIONAL, "RESTRICTED"),
        (OpenType.NONE, "NON_PUBLIC"),
    ],
)
def test_open_types_use_the_eu_access_rights(open_type: OpenType, right: str) -> None:
    item = resource("R1", open_type=open_type, open_condition="经审核", legal_basis="法")
    graph = catalog_graph([item], base_url=BASE, title="目录")
    assert graph.value(dataset(graph, "R1"), DCTERMS.accessRights) == URIRef(
        f"{EU}/access-right/{right}"
    )


def test_a_dataset_carries_what_a_harvester_needs() -> None:
    item = resource(
        "350100-GA-0001",
        name="常住人口户籍信息",
        summary="全市常住人口的户籍登记信息",
        publish_date=date(2024, 1, 2),
        classification_code="02-01",
        share_type=ShareType.CONDITIONAL,
        share_condition="仅限政务用途",
        grade=Grade.IMPORTANT,
        effective_grade=Grade.IMPORTANT,
    )
    graph = catalog_graph([item], base_url=BASE + "/", title="榕城市政务数据资源目录")
    node = dataset(graph, "350100-GA-0001")
    catalog = URIRef(f"{BASE}/catalog")
    assert (catalog, RDF.type, DCAT.Catalog) in graph
    assert (catalog, DCAT.dataset, node) in graph
    assert graph.value(catalog, DCTERMS.title) == Literal("榕城市政务数据资源目录", lang="zh")
    assert graph.value(node, DCTERMS.title) == Literal("常住人口户籍信息", lang="zh")
    assert graph.value(node, DCTERMS.description) == Literal(
        "全市常住人口的户籍登记信息", lang="zh"
    )
    assert graph.value(node, DCTERMS.issued) == Literal(date(2024, 1, 2), datatype=XSD.date)
    assert graph.value(node, DCTERMS.modified) is not None
    assert graph.value(node, DCAT.landingPage) == URIRef(f"{BASE}/catalog/350100-GA-0001")
    assert set(graph.objects(node, DCAT.keyword)) == {
        Literal("姓名", lang="zh"),
        Literal("出生日期", lang="zh"),
    }
    publisher = graph.value(node, DCTERMS.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in graph
    assert graph.value(publisher, FOAF.name) == Literal("榕城市公安局", lang="zh")
    assert graph.value(publisher, DCTERMS.identifier) == Literal("GAJ")
    theme = graph.value(node, DCAT.theme)
    assert theme is not None and str(theme).endswith("/catalog/classification/02-01")
    assert graph.value(node, RONGSHU_NS.shareTypeLabel) == Literal("有条件共享", lang="zh")
    assert graph.value(node, RONGSHU_NS.gradeLabel) == Literal("重要数据", lang="zh")
    assert graph.value(node, RONGSHU_NS.grade) == Literal("important")


def test_a_resource_without_a_summary_is_described_by_its_name() -> None:
    graph = catalog_graph([resource("R1")], base_url=BASE, title="目录")
    assert graph.value(dataset(graph, "R1"), DCTERMS.description) == Literal("资源 R1", lang="zh")


def test_departments_are_one_publisher_each() -> None:
    items = [resource("R1"), resource("R2"), resource("R3", department_code="MZJ")]
    graph = catalog_graph(items, base_url=BASE, title="目录")
    assert len(set(graph.subjects(RDF.type, FOAF.Agent))) == 2


# rdflib's own JSON-LD parser still builds a ConjunctiveGraph internally (rdflib 7.x).
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize(("fmt", "rdf_format"), [("json-ld", "json-ld"), ("turtle", "turtle")])
def test_both_serialisations_parse_back_with_every_dataset(fmt: str, rdf_format: str) -> None:
    items = [resource(f"R{i}", name=f"数据资源{i}") for i in range(5)]
    body = export_dcat(items, base_url=BASE, title="目录", fmt=fmt)
    graph = Graph().parse(data=body.decode("utf-8"), format=rdf_format)
    codes = {
        str(graph.value(s, DCTERMS.identifier)) for s in graph.subjects(RDF.type, DCAT.Dataset)
    }
    assert codes == {f"R{i}" for i in range(5)}
    assert graph.value(dataset(graph, "R3"), DCTERMS.title) == Literal("数据资源3", lang="zh")
    assert len(graph) == len(catalog_graph(items, base_url=BASE, title="目录"))


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="json-ld or turtle"):
        export_dcat([], base_url=BASE, title="目录", fmt="rdf/xml")
