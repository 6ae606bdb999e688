"""Catalog search: Chinese full-text, facets, sorting and paging over the published catalog.

The index lives in the process as numpy arrays (``CatalogIndex``), so search behaves the same
whether the metadata database is SQLite or PostgreSQL and needs no extra service. Each process
keeps one index and rebuilds it when the published catalog changes (``CatalogSearch``).

Matching: text is cut into tokens (``rongshu.catalog.tokens``: Chinese character bigrams and
single characters, Latin and digit words); a resource matches when it holds every bigram of the
query, so 户籍 finds 常住人口户籍信息. Ranking is BM25 over one weighted document per resource
(name and code weigh most, then field names, summary, department), ties broken by name.

Facets are *disjunctive*: the counts of a facet are taken over the resources matching the query
and the filters of the **other** facets, ignoring the facet's own filter. With 公安局 selected,
the department facet still shows how many results every other department would give, so a user
can widen the selection (values within a facet are OR-ed, facets are AND-ed). Enumerated facets
list their values in their natural order (基础, 主题, 部门; 实时 … 不定期; grades from 一般数据1级
up); departments and formats are listed by count, most first. Values without results are left
out unless they are selected, so a selection can always be removed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rongshu.catalog.models import CatalogEvent, CatalogVersion
from rongshu.catalog.schemas import (
    CatalogType,
    Grade,
    LabelledEnum,
    OpenType,
    ResourcePublic,
    ShareType,
    UpdateCycle,
)
from rongshu.catalog.search_index import Entry, IndexArrays, build_arrays
from rongshu.catalog.service import published_resources
from rongshu.catalog.tokens import QueryTokens, query_tokens, token_set
from rongshu.core.db import Database
from rongshu.core.errors import ValidationFailed

FACETS = (
    "department",
    "catalog_type",
    "share_type",
    "open_type",
    "grade",
    "update_cycle",
    "format",
)
SORTS = ("relevance", "name", "updated", "code")
MAX_LIMIT = 100
MAX_QUERY_CHARS = 200

ENUM_FACETS: dict[str, type[LabelledEnum]] = {
    "catalog_type": CatalogType,
    "share_type": ShareType,
    "open_type": OpenType,
    "grade": Grade,
    "update_cycle": UpdateCycle,
}

Mask = npt.NDArray[np.bool_]
Scores = npt.NDArray[np.float32]
Ids = npt.NDArray[np.intp]


class SearchHit(BaseModel):
    """One resource in a result list."""

    code: str
    name: str
    summary: str = Field(description="The summary, shortened for lists.")
    department_code: str
    department_name: str
    catalog_type: CatalogType
    share_type: ShareType
    open_type: OpenType
    grade: Grade = Field(description="The grade in force (effective grade).")
    update_cycle: UpdateCycle
    format: str
    version: int
    updated_at: datetime
    score: float = Field(description="Relevance; 0 when there is no query.")
    matched_fields: list[str] = Field(description="Information items whose names match the query.")


class FacetValue(BaseModel):
    value: str = Field(description="What to pass back as a filter value.")
    label: str = Field(description="Chinese label (the department's name for departments).")
    count: int


class SearchResult(BaseModel):
    total: int
    offset: int
    limit: int
    hits: list[SearchHit]
    facets: dict[str, list[FacetValue]] = Field(
        description="Per facet, counts over the query and the other facets' filters."
    )


class CatalogIndex:
    """An immutable, thread-safe search index over a set of published resources."""

    def __init__(self, arrays: IndexArrays) -> None:
        """Use ``CatalogIndex.build``."""
        self._a = arrays
        self._size = len(arrays.entries)

    @classmethod
    def build(cls, resources: Iterable[ResourcePublic]) -> CatalogIndex:
        """Index ``resources`` (the published view of each)."""
        return cls(build_arrays(resources, enum_facets=ENUM_FACETS))

    def __len__(self) -> int:
        return self._size

    def search(
        self,
        *,
        q: str = "",
        filters: Mapping[str, Sequence[str]] | None = None,
        sort: str = "relevance",
        offset: int = 0,
        limit: int = 20,
        facets: bool = True,
    ) -> SearchResult:
        """Resources matching ``q`` and ``filters``, one page of them in ``sort`` order.

        ``filters`` maps facet names to accepted values (codes, or labels for enumerations);
        values of one facet are OR-ed, facets AND-ed. ``sort`` is one of ``SORTS``: relevance
        (ties, and everything when there is no query, by name), name (Unicode code-point order,
        so names sharing a first character group together), updated (newest first) or code.
        ``limit`` is at most ``MAX_LIMIT``; ``limit=0`` gives only the total and the facets.
        """
        wanted = _check(q, filters, sort, offset, limit)
        parsed = query_tokens(q)
        match, score = self._match(parsed)
        masks = {name: self._filter_mask(name, values) for name, values in wanted.items()}
        selected = match
        for mask in masks.values():
            selected = selected & mask
        total = int(np.count_nonzero(selected))
        page = self._page(selected, total, score, sort, offset, limit)
        return SearchResult(
            total=total,
            offset=offset,
            limit=limit,
            hits=[self._hit(int(i), score, parsed) for i in page],
            facets=self._facets(match, selected, masks, wanted) if facets else {},
        )

    # -- matching --------------------------------------------------------------------------

    def _postings(self, token: str) -> tuple[npt.NDArray[np.int32], Scores] | None:
        tid = self._a.vocab.get(token)
        if tid is None:
            return None
        start, end = self._a.starts[tid], self._a.starts[tid + 1]
        return self._a.docs[start:end], self._a.scores[start:end]

    def _match(self, parsed: QueryTokens) -> tuple[Mask, Scores | None]:
        if not parsed:
            return np.ones(self._size, dtype=np.bool_), None
        score = np.zeros(self._size, dtype=np.float32)
        lists = [self._postings(token) for token in parsed.required]
        if any(p is None for p in lists):
            return np.zeros(self._size, dtype=np.bool_), score
        found = [p for p in lists if p is not None]
        found.sort(key=lambda p: len(p[0]))
        match = np.zeros(self._size, dtype=np.bool_)
        match[found[0][0]] = True
        for docs, _ in found[1:]:  # rarest first: later lists only narrow the set
            narrowed = np.zeros(self._size, dtype=np.bool_)
            narrowed[docs] = True
            match &= narrowed
        for docs, weights in found:
            score[docs] += weights
        for token in parsed.boost:
            boost = self._postings(token)
            if boost is not None:
                score[boost[0]] += boost[1]
        return match, score

    def _filter_mask(self, facet: str, values: Sequence[str]) -> Mask:
        index = self._a.facet_index[facet]
        accepted = np.zeros(len(self._a.facet_values[facet]), dtype=np.bool_)
        for value in values:
            position = index.get(value)
            if position is not None:
                accepted[position] = True
        mask: Mask = accepted[self._a.facet_codes[facet]]
        return mask

    # -- ordering --------------------------------------------------------------------------

    def _page(
        self, selected: Mask, total: int, score: Scores | None, sort: str, offset: int, limit: int
    ) -> Ids:
        end = offset + limit
        if offset >= total or limit == 0:
            return np.empty(0, dtype=np.intp)
        if sort == "relevance" and score is not None:
            ids = np.flatnonzero(selected)
            values = score[ids]
            if end < total:  # keep the best `end` (and every tie at the boundary), sort those
                kth = total - end
                threshold = np.partition(values, kth)[kth]
                keep = values >= threshold
                ids, values = ids[keep], values[keep]
            order = np.lexsort((self._a.name_rank[ids], -values))
            page: Ids = ids[order][offset:end]
            return page
        ordered = {
            "relevance": self._a.by_name,
            "name": self._a.by_name,
            "code": self._a.by_code,
            "updated": self._a.by_updated,
        }[sort]
        if total < self._size:
            ordered = ordered[selected[ordered]]
        result: Ids = ordered[offset:end].astype(np.intp)
        return result

    # -- output ----------------------------------------------------------------------------

    def _hit(self, doc: int, score: Scores | None, parsed: QueryTokens) -> SearchHit:
        entry: Entry = self._a.entries[doc]
        matched = [
            name
            for name, english in entry.fields
            if any(
                term and (term <= token_set(name) or term <= token_set(english))
                for term in parsed.terms
            )
        ]
        return SearchHit(
            code=entry.code,
            name=entry.name,
            summary=entry.summary,
            department_code=entry.department_code,
            department_name=entry.department_name,
            catalog_type=CatalogType(entry.catalog_type),
            share_type=ShareType(entry.share_type),
            open_type=OpenType(entry.open_type),
            grade=Grade(entry.grade),
            update_cycle=UpdateCycle(entry.update_cycle),
            format=entry.format,
            version=entry.version,
            updated_at=entry.updated_at,
            score=round(float(score[doc]), 4) if score is not None else 0.0,
            matched_fields=matched,
        )

    def _facets(
        self,
        match: Mask,
        selected: Mask,
        masks: Mapping[str, Mask],
        wanted: Mapping[str, list[str]],
    ) -> dict[str, list[FacetValue]]:
        out: dict[str, list[FacetValue]] = {}
        everything = bool(selected.all())
        for facet in FACETS:
            codes = self._a.facet_codes[facet]
            values = self._a.facet_values[facet]
            if facet in masks:
                base = match
                for other, mask in masks.items():
                    if other != facet:
                        base = base & mask
                counts = np.bincount(codes[base], minlength=len(values))
            elif everything:
                counts = np.bincount(codes, minlength=len(values))
            else:
                counts = np.bincount(codes[selected], minlength=len(values))
            out[facet] = self._facet_values(facet, counts, wanted.get(facet, []))
        return out

    def _facet_values(
        self, facet: str, counts: npt.NDArray[np.intp], chosen: list[str]
    ) -> list[FacetValue]:
        values = self._a.facet_values[facet]
        labels = self._a.facet_labels[facet]
        listed = [
            FacetValue(value=value, label=labels[i], count=int(counts[i]))
            for i, value in enumerate(values)
            if counts[i] > 0 or value in chosen
        ]
        missing = [v for v in chosen if v not in self._a.facet_index[facet]]
        listed.extend(FacetValue(value=v, label=v, count=0) for v in missing)
        if facet not in ENUM_FACETS:
            listed.sort(key=lambda f: (-f.count, f.label))
        return listed


def _check(
    q: str,
    filters: Mapping[str, Sequence[str]] | None,
    sort: str,
    offset: int,
    limit: int,
) -> dict[str, list[str]]:
    """Refuse malformed requests with clear messages; return the filters as canonical values."""
    problems: list[dict[str, str]] = []
    if sort not in SORTS:
        problems.append(
            {"field": "sort", "reason": f"unknown sort '{sort}'; use one of " + ", ".join(SORTS)}
        )
    if not 0 <= limit <= MAX_LIMIT:
        problems.append(
            {"field": "limit", "reason": f"limit must be between 0 and {MAX_LIMIT}, not {limit}"}
        )
    if offset < 0:
        problems.append({"field": "offset", "reason": f"offset cannot be negative ({offset})"})
    if len(q) > MAX_QUERY_CHARS:
        problems.append(
            {"field": "q", "reason": f"the query is longer than {MAX_QUERY_CHARS} characters"}
        )
    wanted: dict[str, list[str]] = {}
    for facet, raw in (filters or {}).items():
        if facet not in FACETS:
            problems.append(
                {
                    "field": facet,
                    "reason": f"unknown facet '{facet}'; use one of " + ", ".join(FACETS),
                }
            )
            continue
        values = [raw] if isinstance(raw, str) else list(raw)
        values = [v.strip() for v in values if v.strip()]
        if facet in ENUM_FACETS:
            try:
                values = [ENUM_FACETS[facet].parse(v).value for v in values]
            except ValueError as exc:
                problems.append({"field": facet, "reason": str(exc)})
                continue
        if values:
            wanted[facet] = list(dict.fromkeys(values))
    if problems:
        reasons = "; ".join(p["reason"] for p in problems)
        raise ValidationFailed(f"cannot search the catalog: {reasons}", details=problems)
    return wanted


# -- the live index of a platform ---------------------------------------------------------------

#: Catalog events after which the published catalog may look different.
CHANGING_ACTIONS = ("publish", "retire")


def freshness_key(session: Session) -> tuple[Any, ...]:
    """A cheap value that changes whenever a resource is published, changed or retired.

    Two index lookups in one statement: the newest catalog version and the newest publish or
    retire event. No ``count(*)``: it scans the table, and resources are retired, never deleted.
    """
    newest_version = select(func.max(CatalogVersion.id)).scalar_subquery()
    newest_event = (
        select(CatalogEvent.id)
        .where(CatalogEvent.action.in_(CHANGING_ACTIONS))
        .order_by(CatalogEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    row = session.execute(select(newest_version, newest_event)).one()
    return tuple(row)


class CatalogSearch:
    """Keeps one index per process and rebuilds it when the published catalog changes.

    Every search first reads ``freshness_key`` (one statement, two index lookups); when it has
    moved, the caller rebuilds the index from ``published_resources`` while other callers wait,
    so nobody sees a catalog older than the last publish or retire committed before their
    search began. The index is per process: each API worker keeps its own.
    """

    def __init__(self, db: Database, *, open_only: bool = False) -> None:
        self._db = db
        self._open_only = open_only
        self._lock = threading.Lock()
        self._current: tuple[tuple[Any, ...], CatalogIndex] | None = None

    def search(self, **kwargs: Any) -> SearchResult:
        """``CatalogIndex.search`` over the published catalog as it is now."""
        return self.index().search(**kwargs)

    def index(self) -> CatalogIndex:
        """The index of the current published catalog, rebuilt first if it changed."""
        key = self._key()
        current = self._current
        if current is not None and current[0] == key:
            return current[1]
        with self._lock:
            key = self._key()  # another caller may have rebuilt while we waited
            current = self._current
            if current is not None and current[0] == key:
                return current[1]
            with self._db.session_scope() as session:
                resources = published_resources(session, open_only=self._open_only)
            index = CatalogIndex.build(resources)
            self._current = (key, index)
            return index

    def _key(self) -> tuple[Any, ...]:
        with self._db.session_scope() as session:
            return freshness_key(session)
