"""What the portal's pages keep beside the services' answers: the dataset search page's state
and links, and who may read a conditional dataset's rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog.schemas import OpenType
from rongshu.core.identity.models import User
from rongshu.exchange import grants
from rongshu.exchange.schemas import ServiceKind
from rongshu.exchange.services import service_code
from rongshu.opendata.models import OpenAccount
from rongshu.opendata.schemas import DatasetPublic
from rongshu.opendata.search import FACETS, SearchResult

PAGE_SIZE: Final = 20
#: The page's sort choices, in CKAN's form.
SORTS: Final = {
    "relevance": "score desc, metadata_modified desc",
    "updated": "metadata_modified desc",
    "created": "metadata_created desc",
    "title": "title_string asc",
    "views": "views desc",
}
MAX_PAGE: Final = 500


@dataclass(frozen=True)
class DatasetView:
    """One dataset search: the request as the person made it, the result, and links from it.

    Every link keeps the query, the other filters and the sort; a filter or a sort goes back to
    the first page. Several values of one facet are ORed, facets are ANDed (as the index does).
    """

    base: str = "/datasets"
    q: str = ""
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    result: SearchResult | None = None
    problems: Sequence[str] = ()

    @classmethod
    def from_query(
        cls, params: Sequence[tuple[str, str]], *, base: str = "/datasets"
    ) -> DatasetView:
        q, sort, page = "", "relevance", 1
        filters: dict[str, list[str]] = {}
        for name, raw in params:
            value = raw.strip()
            if name == "q":
                q = value
            elif name == "sort" and value in SORTS:
                sort = value
            elif name == "page" and value.isdigit() and int(value) > 0:
                page = min(int(value), MAX_PAGE)
            elif name in FACETS and value and value not in filters.get(name, []):
                filters.setdefault(name, []).append(value)
        return cls(base=base, q=q, filters=filters, sort=sort, page=page)

    @property
    def ckan_sort(self) -> str:
        return SORTS[self.sort]

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    @property
    def pages(self) -> int:
        total = self.result.count if self.result else 0
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
        for facet in FACETS:
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

    def clear_url(self) -> str:
        return self._url(self.pairs(filters={}))

    def page_url(self, page: int) -> str:
        return self._url(self.pairs(page=page))

    @property
    def json_url(self) -> str:
        """The JSON twin of this page."""
        return self._url(self.pairs(page=self.page), base=self.base + ".json")

    def next_json_url(self) -> str | None:
        if self.page >= self.pages:
            return None
        return self._url(self.pairs(page=self.page + 1), base=self.base + ".json")

    @property
    def hidden_filters(self) -> list[tuple[str, str]]:
        """The chosen filters as (name, value), for hidden inputs of the search form."""
        return [(facet, v) for facet in FACETS for v in self.filters.get(facet, [])]


def may_read_rows(session: Session, dataset: DatasetPublic, user: User | None) -> bool:
    """Anyone reads an unconditional dataset's rows; a conditional one's only a signed-in
    member of the public whose account's app holds a grant in force of the dataset's open-data
    service covering every opened field and row (as downloads require)."""
    if dataset.access is not OpenType.CONDITIONAL:
        return True
    if user is None:
        return False
    app_id = session.scalar(select(OpenAccount.app_id).where(OpenAccount.user_id == user.id))
    if app_id is None:
        return False
    code = service_code(dataset.resource_code, ServiceKind.OPEN_DATA)
    grant = grants.active_grant(session, app_id=app_id, service_code=code)
    return grant is not None and not grant.conditions and set(dataset.columns) <= set(grant.columns)
