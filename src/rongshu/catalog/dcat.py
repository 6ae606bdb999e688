"""The catalog as DCAT-AP (2.x / 3.0), so that other catalogs can harvest ours.

One ``dcat:Catalog`` with a ``dcat:Dataset`` per resource. Frequencies and access rights use the
EU Publications Office authority tables; what DCAT has no word for (share type, grade, the
guide's catalog type and conditions) is written under ``RONGSHU_NS``.
"""

from __future__ import annotations

from urllib.parse import quote

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, SKOS

from rongshu.catalog.schemas import LabelledEnum, OpenType, ResourcePublic, UpdateCycle
from rongshu.core.errors import ValidationFailed

# Our own vocabulary for the guide's notions DCAT lacks. Not dereferenceable (yet): a stable name.
RONGSHU_NS = Namespace("https://rongshu.example/ns#")

FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
ACCESS_RIGHT = Namespace("http://publications.europa.eu/resource/authority/access-right/")
LANGUAGE = Namespace("http://publications.europa.eu/resource/authority/language/")

FREQUENCIES = {
    UpdateCycle.REALTIME: FREQUENCY.UPDATE_CONT,
    UpdateCycle.DAILY: FREQUENCY.DAILY,
    UpdateCycle.WEEKLY: FREQUENCY.WEEKLY,
    UpdateCycle.MONTHLY: FREQUENCY.MONTHLY,
    UpdateCycle.QUARTERLY: FREQUENCY.QUARTERLY,
    UpdateCycle.YEARLY: FREQUENCY.ANNUAL,
    UpdateCycle.IRREGULAR: FREQUENCY.IRREG,
}

ACCESS_RIGHTS = {
    OpenType.UNCONDITIONAL: ACCESS_RIGHT.PUBLIC,
    OpenType.CONDITIONAL: ACCESS_RIGHT.RESTRICTED,
    OpenType.NONE: ACCESS_RIGHT.NON_PUBLIC,
}

FORMATS = ("json-ld", "turtle")

PREFIXES: dict[str, Namespace] = {
    "dcat": Namespace(str(DCAT)),
    "dct": Namespace(str(DCTERMS)),
    "foaf": Namespace(str(FOAF)),
    "skos": Namespace(str(SKOS)),
    "xsd": Namespace(str(XSD)),
    "rs": RONGSHU_NS,
}

ZH = "zh"


def segment(text: str) -> str:
    """``text`` as one path segment of an IRI."""
    return quote(text, safe="-._~")


def new_graph(extra: dict[str, Namespace] | None = None) -> Graph:
    """An empty graph with our prefixes (and ``extra`` ones) bound."""
    graph = Graph()
    for prefix, namespace in {**PREFIXES, **(extra or {})}.items():
        graph.bind(prefix, namespace)
    return graph


def serialise(graph: Graph, fmt: str, extra: dict[str, Namespace] | None = None) -> bytes:
    """``graph`` as ``json-ld`` (compacted with our prefixes) or ``turtle``, in UTF-8."""
    if fmt not in FORMATS:
        raise ValidationFailed(
            f"unknown DCAT format {fmt!r}; use json-ld or turtle",
            details=[{"field": "fmt", "reason": "json-ld or turtle"}],
        )
    if fmt == "json-ld":
        prefixes = {**PREFIXES, **(extra or {})}
        context = {prefix: str(namespace) for prefix, namespace in prefixes.items()}
        text = graph.serialize(format="json-ld", context=context, auto_compact=True)
    else:
        text = graph.serialize(format="turtle")
    return text.encode("utf-8")


def catalog_graph(resources: list[ResourcePublic], *, base_url: str, title: str) -> Graph:
    """A DCAT-AP graph: the catalog at ``{base_url}/catalog``, one dataset per resource."""
    base = base_url.rstrip("/")
    graph = new_graph()

    catalog = URIRef(f"{base}/catalog")
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal(title, lang=ZH)))
    graph.add((catalog, DCTERMS.description, Literal(title, lang=ZH)))
    graph.add((catalog, DCTERMS.language, LANGUAGE.ZHO))
    graph.add((catalog, FOAF.homepage, URIRef(f"{base}/")))
    if resources:
        latest = max(r.updated_at for r in resources)
        graph.add((catalog, DCTERMS.modified, Literal(latest, datatype=XSD.dateTime)))
    themes = URIRef(f"{base}/catalog/classification")
    graph.add((themes, RDF.type, SKOS.ConceptScheme))
    graph.add((themes, DCTERMS.title, Literal("政务信息资源分类", lang=ZH)))

    for resource in resources:
        code = segment(resource.code)
        dataset = URIRef(f"{base}/catalog/{code}#dataset")
        graph.add((catalog, DCAT.dataset, dataset))
        graph.add((dataset, RDF.type, DCAT.Dataset))
        graph.add((dataset, DCTERMS.identifier, Literal(resource.code)))
        graph.add((dataset, DCTERMS.title, Literal(resource.name, lang=ZH)))
        summary = resource.summary or resource.name  # DCAT-AP makes a description mandatory
        graph.add((dataset, DCTERMS.description, Literal(summary, lang=ZH)))
        graph.add((dataset, DCTERMS.language, LANGUAGE.ZHO))
        graph.add((dataset, DCAT.landingPage, URIRef(f"{base}/catalog/{code}")))

        publisher = URIRef(f"{base}/catalog#publisher-{segment(resource.department_code)}")
        graph.add((dataset, DCTERMS.publisher, publisher))
        graph.add((publisher, RDF.type, FOAF.Agent))
        graph.add((publisher, FOAF.name, Literal(resource.department_name, lang=ZH)))
        graph.add((publisher, DCTERMS.identifier, Literal(resource.department_code)))

        graph.add((dataset, DCTERMS.accrualPeriodicity, FREQUENCIES[resource.update_cycle]))
        graph.add((dataset, DCTERMS.accessRights, ACCESS_RIGHTS[resource.open_type]))
        if resource.publish_date is not None:
            graph.add((dataset, DCTERMS.issued, Literal(resource.publish_date, datatype=XSD.date)))
        graph.add((dataset, DCTERMS.modified, Literal(resource.updated_at, datatype=XSD.dateTime)))
        for item in resource.fields:
            graph.add((dataset, DCAT.keyword, Literal(item.name, lang=ZH)))

        if resource.classification_code:
            theme = URIRef(f"{themes}/{segment(resource.classification_code)}")
            graph.add((dataset, DCAT.theme, theme))
            graph.add((theme, RDF.type, SKOS.Concept))
            graph.add((theme, SKOS.notation, Literal(resource.classification_code)))
            graph.add((theme, SKOS.inScheme, themes))
        for related in resource.related:
            graph.add(
                (dataset, DCTERMS.relation, URIRef(f"{base}/catalog/{segment(related)}#dataset"))
            )
        _extras(graph, dataset, resource)
    return graph


def _extras(graph: Graph, dataset: URIRef, resource: ResourcePublic) -> None:
    """The guide's and GB/T 43697's notions: code as a plain literal, label tagged @zh."""

    def coded(name: str, value: LabelledEnum) -> None:
        graph.add((dataset, RONGSHU_NS[name], Literal(value.value)))
        graph.add((dataset, RONGSHU_NS[f"{name}Label"], Literal(value.label, lang=ZH)))

    coded("catalogType", resource.catalog_type)
    coded("shareType", resource.share_type)
    coded("openType", resource.open_type)
    coded("grade", resource.effective_grade)
    for method in resource.share_methods:
        coded("shareMethod", method)
    for name, text in (
        ("shareCondition", resource.share_condition),
        ("openCondition", resource.open_condition),
        ("legalBasis", resource.legal_basis),
    ):
        if text:
            graph.add((dataset, RONGSHU_NS[name], Literal(text, lang=ZH)))
    for name, code in (
        ("classificationCode", resource.classification_code),
        ("format", resource.format),
    ):
        if code:
            graph.add((dataset, RONGSHU_NS[name], Literal(code)))
    graph.add((dataset, RONGSHU_NS.version, Literal(resource.version)))


def export_dcat(resources: list[ResourcePublic], *, base_url: str, title: str, fmt: str) -> bytes:
    """The DCAT-AP graph serialised as ``json-ld`` or ``turtle`` (UTF-8)."""
    return serialise(catalog_graph(resources, base_url=base_url, title=title), fmt)
