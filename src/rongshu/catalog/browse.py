"""What the catalog pages show beside the service's answers: the search page's state and links,
and a resource's published declaration to compare a working copy with.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog import service
from rongshu.catalog.models import CatalogEvent, CatalogResource
from rongshu.catalog.rules import diff_specs
from rongshu.catalog.schemas import FieldChange, ResourceEventPublic, ResourcePublic, ResourceSpec
from rongshu.catalog.search import FACETS, SORTS, SearchResult
from rongshu.web.search_view import FacetedSearchView

PAGE_SIZE = 20
#: Facets the pages show, in this order (the search offers the same set).
PAGE_FACETS = FACETS


@dataclass(frozen=True, kw_only=True)
class SearchView(FacetedSearchView):
    """One catalog search page (console or public); its JSON twin is the search API."""

    facets: ClassVar[Sequence[str]] = PAGE_FACETS
    sorts: ClassVar[Collection[str]] = SORTS
    page_size: ClassVar[int] = PAGE_SIZE
    max_page: ClassVar[int] = 10_000

    api: str
    result: SearchResult | None = None

    @property
    def total(self) -> int:
        return self.result.total if self.result else 0

    @property
    def json_url(self) -> str:
        """The JSON twin of this page (same search through the API)."""
        pairs = [(k, v) for k, v in self.pairs() if k != "page"]
        pairs += [("offset", str(self.offset)), ("limit", str(PAGE_SIZE))]
        return f"{self.api}?{urlencode(pairs)}"


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
