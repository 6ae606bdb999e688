"""The portal as DCAT-AP, so that national and provincial portals can harvest its datasets.

One ``dcat:Catalog`` at ``<base>/opendata/catalog`` with a ``dcat:Dataset`` per active dataset
and a ``dcat:Distribution`` per download file of its latest release, each with its size and
SHA-256 (``spdx:checksum``), plus a ``dcat:DataService`` for the CKAN-compatible datastore API.
The vocabulary (prefixes, frequencies, access rights, our own namespace) is the catalog's
(``rongshu.catalog.dcat``), so both exports read alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, SKOS

from rongshu.catalog.dcat import (
    ACCESS_RIGHTS,
    FREQUENCIES,
    LANGUAGE,
    RONGSHU_NS,
    ZH,
    new_graph,
    segment,
    serialise,
)
from rongshu.opendata.releases import file_key
from rongshu.opendata.schemas import LICENCE_URLS, DatasetPublic, DownloadFormat, ReleaseFile

SPDX: Final = Namespace("http://spdx.org/rdf/terms#")
FILE_TYPE: Final = Namespace("http://publications.europa.eu/resource/authority/file-type/")
IANA: Final = "https://www.iana.org/assignments/media-types/"
EXTRA_PREFIXES: Final = {"spdx": SPDX}

#: IANA media types of the download formats (also the downloads' ``Content-Type``).
MEDIA_TYPES: Final = {
    DownloadFormat.CSV: "text/csv",
    DownloadFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    DownloadFormat.JSON: "application/json",
    DownloadFormat.PARQUET: "application/vnd.apache.parquet",
}
#: The EU Publications Office file types of the download formats.
FILE_TYPES: Final = {
    DownloadFormat.CSV: FILE_TYPE.CSV,
    DownloadFormat.XLSX: FILE_TYPE.XLSX,
    DownloadFormat.JSON: FILE_TYPE.JSON,
    DownloadFormat.PARQUET: FILE_TYPE.PARQUET,
}
CATALOG_TITLE: Final = "榕城市公共数据开放平台"
#: The CKAN action API the datastore follows.
CKAN_API_DOCS: Final = URIRef("https://docs.ckan.org/en/2.10/api/")


def catalog_iri(base_url: str) -> URIRef:
    return URIRef(f"{base_url.rstrip('/')}/opendata/catalog")


def dataset_iri(base_url: str, name: str) -> URIRef:
    return URIRef(f"{base_url.rstrip('/')}/datasets/{segment(name)}#dataset")


def download_url(base_url: str, name: str, version: int, key: str) -> str:
    """Where one file of one release downloads from (the version stays in the address)."""
    return f"{base_url.rstrip('/')}/datasets/{segment(name)}/versions/{version}/download/{key}"


def portal_graph(
    datasets: Sequence[DatasetPublic], *, base_url: str, title: str = CATALOG_TITLE
) -> Graph:
    """The catalog with every dataset in ``datasets`` and the datastore API serving them."""
    base = base_url.rstrip("/")
    graph = new_graph(EXTRA_PREFIXES)
    catalog = catalog_iri(base)
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal(title, lang=ZH)))
    graph.add(
        (catalog, DCTERMS.description, Literal(f"{title}：开放数据集、下载文件与接口", lang=ZH))
    )
    graph.add((catalog, DCTERMS.language, LANGUAGE.ZHO))
    graph.add((catalog, FOAF.homepage, URIRef(f"{base}/")))
    graph.add((catalog, DCAT.themeTaxonomy, _theme_scheme(graph, base)))
    if datasets:
        latest = max(d.updated_at for d in datasets)
        graph.add((catalog, DCTERMS.modified, Literal(latest, datatype=XSD.dateTime)))

    service = URIRef(f"{base}/opendata/catalog#datastore")
    graph.add((catalog, DCAT.service, service))
    graph.add((service, RDF.type, DCAT.DataService))
    graph.add((service, DCTERMS.title, Literal("数据存储接口（CKAN 兼容）", lang=ZH)))
    graph.add((service, DCAT.endpointURL, URIRef(f"{base}/api/3/action/")))
    graph.add((service, DCAT.endpointDescription, URIRef(f"{base}/api/v1/openapi.json")))
    graph.add((service, DCTERMS.conformsTo, CKAN_API_DOCS))

    for dataset in datasets:
        node = add_dataset(graph, dataset, base_url=base)
        graph.add((catalog, DCAT.dataset, node))
        graph.add((service, DCAT.servesDataset, node))
    return graph


def dataset_graph(dataset: DatasetPublic, *, base_url: str) -> Graph:
    """One dataset with its distributions, publisher and theme."""
    graph = new_graph(EXTRA_PREFIXES)
    add_dataset(graph, dataset, base_url=base_url)
    return graph


def _theme_scheme(graph: Graph, base: str) -> URIRef:
    scheme = URIRef(f"{base}/opendata/themes")
    graph.add((scheme, RDF.type, SKOS.ConceptScheme))
    graph.add((scheme, DCTERMS.title, Literal("开放数据主题", lang=ZH)))
    return scheme


def add_dataset(graph: Graph, dataset: DatasetPublic, *, base_url: str) -> URIRef:
    """Add ``dataset`` (and its latest release's files) to ``graph``; returns its node."""
    base = base_url.rstrip("/")
    name = segment(dataset.name)
    node = dataset_iri(base, dataset.name)
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(dataset.name)))
    graph.add((node, DCTERMS.title, Literal(dataset.title, lang=ZH)))
    # DCAT-AP makes a description mandatory.
    graph.add((node, DCTERMS.description, Literal(dataset.notes or dataset.title, lang=ZH)))
    graph.add((node, DCTERMS.language, LANGUAGE.ZHO))
    graph.add((node, DCAT.landingPage, URIRef(f"{base}/datasets/{name}")))
    for tag in dataset.tags:
        graph.add((node, DCAT.keyword, Literal(tag, lang=ZH)))

    scheme = _theme_scheme(graph, base)
    theme = URIRef(f"{scheme}/{segment(dataset.theme.value)}")
    graph.add((node, DCAT.theme, theme))
    graph.add((theme, RDF.type, SKOS.Concept))
    graph.add((theme, SKOS.prefLabel, Literal(dataset.theme.label, lang=ZH)))
    graph.add((theme, SKOS.notation, Literal(dataset.theme.value)))
    graph.add((theme, SKOS.inScheme, scheme))

    publisher = URIRef(f"{base}/opendata/catalog#publisher-{segment(dataset.department_code)}")
    graph.add((node, DCTERMS.publisher, publisher))
    graph.add((publisher, RDF.type, FOAF.Organization))
    graph.add((publisher, FOAF.name, Literal(dataset.department_name, lang=ZH)))
    graph.add((publisher, DCTERMS.identifier, Literal(dataset.department_code)))

    licence = URIRef(LICENCE_URLS[dataset.licence])
    graph.add((node, DCTERMS.license, licence))
    graph.add((licence, RDF.type, DCTERMS.LicenseDocument))
    graph.add((licence, DCTERMS.title, Literal(dataset.licence.label, lang=ZH)))
    graph.add((node, DCTERMS.accessRights, ACCESS_RIGHTS[dataset.access]))
    graph.add((node, DCTERMS.accrualPeriodicity, FREQUENCIES[dataset.update_cycle]))
    graph.add((node, RONGSHU_NS.openType, Literal(dataset.access.value)))
    graph.add((node, RONGSHU_NS.openTypeLabel, Literal(dataset.access.label, lang=ZH)))
    if dataset.spatial:
        place = URIRef(f"{base}/opendata/catalog#place-{segment(dataset.spatial)}")
        graph.add((node, DCTERMS.spatial, place))
        graph.add((place, RDF.type, DCTERMS.Location))
        graph.add((place, SKOS.prefLabel, Literal(dataset.spatial, lang=ZH)))
    if dataset.temporal_start or dataset.temporal_end:
        period = BNode()
        graph.add((node, DCTERMS.temporal, period))
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if dataset.temporal_start:
            start = Literal(dataset.temporal_start, datatype=XSD.date)
            graph.add((period, DCAT.startDate, start))
        if dataset.temporal_end:
            graph.add((period, DCAT.endDate, Literal(dataset.temporal_end, datatype=XSD.date)))
    graph.add((node, DCTERMS.issued, Literal(dataset.created_at, datatype=XSD.dateTime)))
    graph.add((node, DCTERMS.modified, Literal(dataset.updated_at, datatype=XSD.dateTime)))

    latest = dataset.latest
    if latest is not None:
        graph.add((node, OWL.versionInfo, Literal(str(latest.version))))
        graph.add((node, RONGSHU_NS.rows, Literal(latest.rows, datatype=XSD.nonNegativeInteger)))
        for file in latest.files:
            _add_distribution(graph, node, dataset, latest.version, file, base, licence)
    return node


def _add_distribution(
    graph: Graph,
    dataset_node: URIRef,
    dataset: DatasetPublic,
    version: int,
    file: ReleaseFile,
    base: str,
    licence: URIRef,
) -> None:
    key = file_key(file.format, file.encoding)
    url = URIRef(download_url(base, dataset.name, version, key))
    node = URIRef(f"{base}/datasets/{segment(dataset.name)}#distribution-{key}")
    graph.add((dataset_node, DCAT.distribution, node))
    graph.add((node, RDF.type, DCAT.Distribution))
    what = file.format.label + (f"（{file.encoding.upper()}）" if key == "csv-gb18030" else "")
    graph.add((node, DCTERMS.title, Literal(f"{dataset.title} v{version} {what}", lang=ZH)))
    graph.add((node, DCAT.accessURL, url))
    graph.add((node, DCAT.downloadURL, url))
    graph.add((node, DCAT.mediaType, URIRef(IANA + MEDIA_TYPES[file.format])))
    graph.add((node, DCTERMS.format, FILE_TYPES[file.format]))
    graph.add((node, DCAT.byteSize, Literal(file.size, datatype=XSD.nonNegativeInteger)))
    graph.add((node, DCTERMS.license, licence))
    if file.encoding:
        graph.add((node, RONGSHU_NS.encoding, Literal(file.encoding)))
    checksum = URIRef(f"{node}-sha256")
    graph.add((node, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((checksum, SPDX.checksumValue, Literal(file.sha256, datatype=XSD.hexBinary)))


def export_portal(datasets: Sequence[DatasetPublic], *, base_url: str, fmt: str) -> bytes:
    """The portal's catalog as ``json-ld`` or ``turtle`` (UTF-8)."""
    return serialise(portal_graph(datasets, base_url=base_url), fmt, EXTRA_PREFIXES)


def export_dataset(dataset: DatasetPublic, *, base_url: str, fmt: str) -> bytes:
    """One dataset as ``json-ld`` or ``turtle`` (UTF-8)."""
    return serialise(dataset_graph(dataset, base_url=base_url), fmt, EXTRA_PREFIXES)
