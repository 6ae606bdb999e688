"""What the catalog pages show beside the service's answers: the search page's state and links,
and a resource's published declaration to compare a working copy with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog import service
from rongshu.catalog.models import CatalogEvent, CatalogResource
from rongshu.catalog.rules import diff_specs
from rongshu.catalog.schemas import FieldChange, ResourceEventPublic, ResourcePublic, ResourceSpec
from rongshu.catalog.search import FACETS, SORTS, SearchResult

PAGE_SIZE = 20
#: Facets the pages show, in this order (the search offers the same set).
PAGE_FACETS = FACETS


@dataclass(frozen=True)
class SearchView:
    """One search page: the request as the person made it, the result, and links from it.

    Every link keeps the query, the other filters and the sort; choosing a filter or a sort goes
    back to the first page.
    """

    base: str
    api: str
    q: str = ""
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    result: SearchResult | None = None
    problems: Sequence[str] = ()

    @classmethod
    def from_query(cls, params: Sequence[tuple[str, str]], *, base: str, api: str) -> SearchView:
        """Read ``q``, facet values, ``sort`` and ``page`` from a query string's pairs."""
        q, sort, page = "", "relevance", 1
        filters: dict[str, list[str]] = {}
        for name, value in params:
            value = value.strip()
            if name == "q":
                q = value
            elif name == "sort" and value in SORTS:
                sort = value
            elif name == "page" and value.isdigit() and int(value) > 0:
                page = min(int(value), 10_000)
            elif name in PAGE_FACETS and value and value not in filters.get(name, []):
                filters.setdefault(name, []).append(value)
        return cls(base=base, api=api, q=q, filters=filters, sort=sort, page=page)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    @property
    def pages(self) -> int:
        total = self.result.total if self.result else 0
        return max(1, -(-total // PAGE_SIZE))

    @property
    def filtered(self) -> bool:
        return bool(self.q or any(self.filters.values()))

    def pairs(
        self,
        *,
        filters: Mapping[str, Sequence[str]] | None = None,
        sort: str | None = None,
        page: int = 1,
    ) -> list[tuple[str, str]]:
        chosen = self.filters if filters is None else filters
        pairs = [("q", self.q)] if self.q else []
        for facet in PAGE_FACETS:
            pairs.extend((facet, value) for value in chosen.get(facet, []))
        sort = self.sort if sort is None else sort
        if sort != "relevance":
            pairs.append(("sort", sort))
        if page > 1:
            pairs.append(("page", str(page)))
        return pairs

    def _url(self, pairs: list[tuple[str, str]]) -> str:
        return self.base + (f"?{urlencode(pairs)}" if pairs else "")

    def selected(self, facet: str, value: str) -> bool:
        return value in self.filters.get(facet, [])

    def toggle_url(self, facet: str, value: str) -> str:
        """The same search with ``value`` of ``facet`` added, or removed when it was chosen."""
        filters = {name: list(values) for name, values in self.filters.items()}
        current = filters.setdefault(facet, [])
        if value in current:
            current.remove(value)
        else:
            current.append(value)
        return self._url(self.pairs(filters=filters))

    def clear_url(self, facet: str | None = None) -> str:
        """Without any filter (``facet`` None), or without the filters of one facet."""
        if facet is None:
            return self._url(self.pairs(filters={}))
        filters = {name: values for name, values in self.filters.items() if name != facet}
        return self._url(self.pairs(filters=filters))

    def page_url(self, page: int) -> str:
        return self._url(self.pairs(page=page))

    def sort_url(self, sort: str) -> str:
        return self._url(self.pairs(sort=sort))

    @property
    def url(self) -> str:
        return self.page_url(self.page)

    @property
    def json_url(self) -> str:
        """The JSON twin of this page (same search through the API)."""
        pairs = [(k, v) for k, v in self.pairs() if k != "page"]
        pairs += [("offset", str(self.offset)), ("limit", str(PAGE_SIZE))]
        return f"{self.api}?{urlencode(pairs)}"

    @property
    def hidden_filters(self) -> list[tuple[str, str]]:
        """The chosen filters as (name, value), for hidden inputs of the search form."""
        return [(facet, v) for facet in PAGE_FACETS for v in self.filters.get(facet, [])]


def as_spec(resource: ResourcePublic) -> ResourceSpec:
    return ResourceSpec.model_validate(resource.model_dump(include=set(ResourceSpec.model_fields)))


def pending_changes(session: Session, resource: ResourcePublic) -> list[FieldChange]:
    """How a working copy differs from its published version (all added if never published)."""
    published = service.published_spec(session, resource.code)
    return diff_specs(published[1] if published else None, as_spec(resource))


#: Steps that change what readers of the published catalog see.
def last_event(session: Session, code: str, action: str) -> ResourceEventPublic | None:
    """The latest ``action`` event of resource ``code`` (e.g. who submitted it, and why)."""
    event = session.scalar(
        select(CatalogEvent)
        .join(CatalogResource, CatalogResource.id == CatalogEvent.resource_id)
        .where(CatalogResource.code == code, CatalogEvent.action == action)
        .order_by(CatalogEvent.id.desc())
        .limit(1)
    )
    if event is None:
        return None
    return ResourceEventPublic(
        at=event.at,
        actor=event.actor,
        action=event.action,
        status_from=event.status_from,
        status_to=event.status_to,
        reason=event.reason,
        version=event.version,
        changes=[FieldChange.model_validate(c) for c in event.changes],
    )
