"""What the portal's pages keep beside the services' answers: the dataset search page's state
and links, and who may read a conditional dataset's rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

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
from rongshu.web.search_view import FacetedSearchView

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


@dataclass(frozen=True, kw_only=True)
class DatasetView(FacetedSearchView):
    """One dataset search: the request as the person made it, the result, and links from it
    (several values of one facet are ORed, facets are ANDed, as the index does)."""

    facets: ClassVar[Sequence[str]] = FACETS
    sorts: ClassVar[Collection[str]] = SORTS
    page_size: ClassVar[int] = PAGE_SIZE
    max_page: ClassVar[int] = MAX_PAGE

    base: str = "/datasets"
    result: SearchResult | None = None

    @property
    def ckan_sort(self) -> str:
        return SORTS[self.sort]

    @property
    def total(self) -> int:
        return self.result.count if self.result else 0

    @property
    def json_url(self) -> str:
        """The JSON twin of this page."""
        return self._url(self.pairs(page=self.page), base=self.base + ".json")

    def next_json_url(self) -> str | None:
        if self.page >= self.pages:
            return None
        return self._url(self.pairs(page=self.page + 1), base=self.base + ".json")


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
