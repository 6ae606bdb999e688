"""The portal's DCAT-AP exports parse with rdflib and say what harvesters need: every active
dataset, its licence and access rights, and each download with its checksum."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, SKOS

from rongshu.catalog.dcat import ACCESS_RIGHTS
from rongshu.catalog.schemas import OpenType
from rongshu.core.identity.schemas import SYSTEM
from rongshu.opendata import publishing, releases
from rongshu.opendata.dcat import SPDX
from rongshu.opendata.schemas import LICENCE_URLS, Licence

from .conftest import AIR, FIRMS, Portal

BASE = "http://testserver"
# rdflib's own JSON-LD parser still builds a ConjunctiveGraph internally (rdflib 7.x).
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


def _graph(client: TestClient, path: str, fmt: str) -> Graph:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return Graph().parse(data=response.text, format=fmt)


def _opened(portal: Portal) -> tuple[str, str]:
    portal.air(rows=40)
    air = portal.open(
        AIR,
        tags=["空气质量", "PM2.5"],
        spatial="榕城市",
        temporal_start=date(2026, 10, 1),
        temporal_end=date(2026, 10, 31),
        licence=Licence.CC_ZERO,
    )
    releases.release(portal.platform, air, actor=SYSTEM)
    portal.firms(rows=40)
    firms = portal.open(FIRMS, licence=Licence.GOV_OPEN)
    releases.release(portal.platform, firms, actor=SYSTEM)
    return air, firms


def test_the_catalog_parses_and_lists_each_dataset_with_checksummed_downloads(
    portal: Portal, client: TestClient
) -> None:
    air, firms = _opened(portal)
    turtle = _graph(client, "/opendata/catalog.ttl", "turtle")
    jsonld = _graph(client, "/opendata/catalog.jsonld", "json-ld")
    assert len(turtle) == len(jsonld) > 50  # the same statements in both serialisations

    for graph in (turtle, jsonld):
        catalog = URIRef(f"{BASE}/opendata/catalog")
        assert (catalog, RDF.type, DCAT.Catalog) in graph
        datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
        assert set(graph.objects(catalog, DCAT.dataset)) == datasets
        assert datasets == {URIRef(f"{BASE}/datasets/{n}#dataset") for n in (air, firms)}
        services = list(graph.subjects(RDF.type, DCAT.DataService))
        assert len(services) == 1
        assert set(graph.objects(services[0], DCAT.servesDataset)) == datasets

    graph = turtle
    node = URIRef(f"{BASE}/datasets/{air}#dataset")
    assert graph.value(node, DCTERMS.title) == Literal("空气质量监测数据", lang="zh")
    assert graph.value(node, DCTERMS.license) == URIRef(LICENCE_URLS[Licence.CC_ZERO])
    assert graph.value(node, DCTERMS.accessRights) == ACCESS_RIGHTS[OpenType.UNCONDITIONAL]
    assert set(graph.objects(node, DCAT.keyword)) == {
        Literal("空气质量", lang="zh"),
        Literal("PM2.5", lang="zh"),
    }
    assert graph.value(node, DCAT.landingPage) == URIRef(f"{BASE}/datasets/{air}")
    period = graph.value(node, DCTERMS.temporal)
    assert graph.value(period, DCAT.startDate).toPython() == date(2026, 10, 1)  # type: ignore[union-attr]
    place = graph.value(node, DCTERMS.spatial)
    assert graph.value(place, SKOS.prefLabel) == Literal("榕城市", lang="zh")
    theme = graph.value(node, DCAT.theme)
    assert (theme, RDF.type, SKOS.Concept) in graph

    firm_node = URIRef(f"{BASE}/datasets/{firms}#dataset")
    assert graph.value(firm_node, DCTERMS.accessRights) == ACCESS_RIGHTS[OpenType.CONDITIONAL]
    assert graph.value(firm_node, DCTERMS.license) == URIRef(LICENCE_URLS[Licence.GOV_OPEN])

    api = client.get(f"/api/v1/opendata/datasets/{air}").json()
    sha_by_url = {f["url"]: f["sha256"] for f in api["latest"]["files"]}
    distributions = list(graph.objects(node, DCAT.distribution))
    assert len(distributions) == len(sha_by_url) == 5
    for distribution in distributions:
        url = str(graph.value(distribution, DCAT.downloadURL))
        checksum = graph.value(distribution, SPDX.checksum)
        assert graph.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        assert str(graph.value(checksum, SPDX.checksumValue)) == sha_by_url[url]
        assert graph.value(distribution, DCAT.byteSize) is not None
        assert client.get(url).headers["x-checksum-sha256"] == sha_by_url[url]


def test_one_dataset_in_both_serialisations(portal: Portal, client: TestClient) -> None:
    air, _ = _opened(portal)
    for suffix, fmt in (("jsonld", "json-ld"), ("ttl", "turtle")):
        graph = _graph(client, f"/datasets/{air}.{suffix}", fmt)
        assert list(graph.subjects(RDF.type, DCAT.Dataset)) == [
            URIRef(f"{BASE}/datasets/{air}#dataset")
        ]
        assert len(list(graph.subjects(RDF.type, DCAT.Distribution))) == 5
    missing = client.get("/datasets/no-such-set.ttl")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_a_withdrawn_dataset_leaves_the_catalog(portal: Portal, client: TestClient) -> None:
    air, firms = _opened(portal)
    with portal.platform.db.session_scope() as session:
        publishing.withdraw_dataset(
            portal.platform, session, name=firms, reason="数据口径调整", actor=SYSTEM
        )
    graph = _graph(client, "/opendata/catalog.jsonld", "json-ld")
    assert set(graph.subjects(RDF.type, DCAT.Dataset)) == {URIRef(f"{BASE}/datasets/{air}#dataset")}
