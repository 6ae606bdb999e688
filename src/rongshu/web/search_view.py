"""The state of a faceted search page and the links from it, shared by the catalog's search pages
and the open-data portal's dataset search.

A subclass names its facets, sort keys, page size and last page, and adds the search's result
(each area has its own) and the link to the page's JSON twin.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self
from urllib.parse import urlencode


@dataclass(frozen=True, kw_only=True)
class FacetedSearchView:
    """One search page: the request as the person made it, and links from it.

    Every link keeps the query, the other filters and the sort; choosing a filter or a sort goes
    back to the first page. Several values of one facet are ORed, facets are ANDed.
    """

    #: Facets a link carries, in this order.
    facets: ClassVar[Sequence[str]] = ()
    #: The sort choices the page accepts; "relevance" is the default and is left out of links.
    sorts: ClassVar[Collection[str]] = ("relevance",)
    page_size: ClassVar[int] = 20
    #: The last page one may ask for (deeper pages are asked for by robots, not people).
    max_page: ClassVar[int] = 500

    base: str
    q: str = ""
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    problems: Sequence[str] = ()

    @classmethod
    def from_query(cls, params: Sequence[tuple[str, str]], **fixed: Any) -> Self:
        """Read ``q``, facet values, ``sort`` and ``page`` from a query string's pairs;
        ``fixed`` are the view's other fields (such as ``base``)."""
        q, sort, page = "", "relevance", 1
        filters: dict[str, list[str]] = {}
        for name, raw in params:
            value = raw.strip()
            if name == "q":
                q = value
            elif name == "sort" and value in cls.sorts:
                sort = value
            elif name == "page" and value.isdigit() and int(value) > 0:
                page = min(int(value), cls.max_page)
            elif name in cls.facets and value and value not in filters.get(name, []):
                filters.setdefault(name, []).append(value)
        return cls(q=q, filters=filters, sort=sort, page=page, **fixed)

    @property
    def total(self) -> int:
        """How many hits the search found (0 before it ran or when it failed)."""
        raise NotImplementedError

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

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
        for facet in self.facets:
            pairs.extend((facet, value) for value in chosen.get(facet, []))
        sort = self.sort if sort is None else sort
        if sort != "relevance":
            pairs.append(("sort", sort))
        if page > 1:
            pairs.append(("page", str(page)))
        return pairs

    def _url(self, pairs: list[tuple[str, str]], base: str | None = None) -> str:
        return (base or self.base) + (f"?{urlencode(pairs)}" if pairs else "")

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
    def hidden_filters(self) -> list[tuple[str, str]]:
        """The chosen filters as (name, value), for hidden inputs of the search form."""
        return [(facet, v) for facet in self.facets for v in self.filters.get(facet, [])]
