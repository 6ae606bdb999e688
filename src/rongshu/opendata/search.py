"""Dataset search for the portal and CKAN's ``package_search``: text, facets, sorting, paging.

The index lives in the process as numpy arrays, rebuilt when a dataset is opened, changed,
withdrawn or released (``DatasetSearch``), like the catalog's. Text is tokenised as the
catalog's is (Chinese bigrams and characters, Latin words; ``rongshu.catalog.tokens``): a
dataset matches when it holds every token of the query, ranked by BM25 over a weighted document
(title and tags weigh most, then field names, description, department).

Facets may hold several values per dataset (tags): each facet value keeps a boolean mask over the
datasets, so a filter is an OR of masks within a facet and an AND across facets, and a count is
``count_nonzero(mask & selected)``. Counts are taken over the query and all filters, as CKAN's.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rongshu.catalog.tokens import index_tokens, query_tokens
from rongshu.core.db import Database
from rongshu.core.errors import ValidationFailed
from rongshu.opendata.models import OpenDataset, OpenRelease
from rongshu.opendata.schemas import DatasetPublic
from rongshu.opendata.service import list_datasets

#: Facets, by their CKAN names.
FACETS: Final = ("organization", "groups", "tags", "res_format", "license_id", "access")
#: Sort keys, by their CKAN names; each with its direction (``asc`` or ``desc``).
SORTS: Final = ("score", "name", "title_string", "metadata_modified", "metadata_created", "views")
MAX_ROWS: Final = 1000
MAX_QUERY_CHARS: Final = 200
WEIGHTS: Final = {"title": 3.0, "tags": 2.5, "fields": 1.5, "notes": 1.0, "department": 0.5}
_K1, _B = 1.2, 0.75

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SearchResult:
    count: int
    datasets: list[DatasetPublic]
    facets: dict[str, dict[str, int]]


def _facet_values(dataset: DatasetPublic) -> dict[str, list[str]]:
    formats = sorted({f.format.label for f in dataset.latest.files}) if dataset.latest else []
    return {
        "organization": [dataset.department_code],
        "groups": [dataset.theme.value],
        "tags": list(dataset.tags),
        "res_format": formats,
        "license_id": [dataset.licence.value],
        "access": [dataset.access.value],
    }


def _text_parts(dataset: DatasetPublic) -> dict[str, str]:
    fields = (
        " ".join(f"{f.label} {f.name}" for f in dataset.latest.fields) if dataset.latest else ""
    )
    return {
        "title": f"{dataset.title} {dataset.name}",
        "tags": " ".join(dataset.tags),
        "fields": fields or " ".join(dataset.columns),
        "notes": dataset.notes,
        "department": dataset.department_name,
    }


class DatasetIndex:
    """An immutable search index over a set of datasets."""

    def __init__(self, datasets: Sequence[DatasetPublic]) -> None:
        self.datasets = list(datasets)
        size = len(self.datasets)
        self._size = size
        postings: dict[str, dict[int, float]] = defaultdict(dict)
        lengths = np.zeros(size, dtype=np.float64)
        frequencies: list[dict[str, float]] = []
        for doc, dataset in enumerate(self.datasets):
            weighted: dict[str, float] = defaultdict(float)
            for part, text in _text_parts(dataset).items():
                for token in index_tokens(text):
                    weighted[token] += WEIGHTS[part]
            frequencies.append(weighted)
            lengths[doc] = sum(weighted.values())
        average = float(lengths.mean()) if size else 1.0
        for doc, weighted in enumerate(frequencies):
            norm = _K1 * (1 - _B + _B * lengths[doc] / (average or 1.0))
            for token, tf in weighted.items():
                postings[token][doc] = tf * (_K1 + 1) / (tf + norm)
        self._postings: dict[str, tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]] = {}
        for token, docs in postings.items():
            idf = math.log(1 + (size - len(docs) + 0.5) / (len(docs) + 0.5))
            ids = np.fromiter(docs.keys(), dtype=np.intp, count=len(docs))
            weights = np.fromiter(docs.values(), dtype=np.float64, count=len(docs)) * idf
            self._postings[token] = (ids, weights)
        self._facets: dict[str, dict[str, Mask]] = {facet: {} for facet in FACETS}
        for doc, dataset in enumerate(self.datasets):
            for facet, values in _facet_values(dataset).items():
                for value in values:
                    mask = self._facets[facet].get(value)
                    if mask is None:
                        mask = self._facets[facet][value] = np.zeros(size, dtype=np.bool_)
                    mask[doc] = True
        sort_values: dict[str, npt.NDArray[Any]] = {
            "name": np.array([d.name for d in self.datasets], dtype=object),
            "title_string": np.array([d.title for d in self.datasets], dtype=object),
            "metadata_modified": np.array([d.updated_at.timestamp() for d in self.datasets]),
            "metadata_created": np.array([d.created_at.timestamp() for d in self.datasets]),
            "views": np.array([d.views for d in self.datasets], dtype=np.int64),
        }
        #: Each dataset's position in each sort order, computed once (a request only looks up).
        self._ranks: dict[str, npt.NDArray[np.int64]] = {}
        for key, column in sort_values.items():
            rank = np.empty(size, dtype=np.int64)
            rank[np.argsort(column, kind="stable")] = np.arange(size)
            self._ranks[key] = rank

    def __len__(self) -> int:
        return self._size

    def search(
        self,
        *,
        q: str = "",
        filters: Mapping[str, Sequence[str]] | None = None,
        sort: str = "",
        start: int = 0,
        rows: int = 10,
        facet_fields: Sequence[str] = (),
        facet_limit: int = 50,
        all_of: Sequence[Mapping[str, Sequence[str]]] = (),
    ) -> SearchResult:
        """Datasets matching ``q`` and ``filters`` (facet → accepted values), one page.

        ``all_of`` holds more filters that must hold too, for a facet filtered twice (CKAN's
        ``fq=tags:a tags:b``: both tags).
        """
        groups = [filters or {}, *all_of]
        order = _check(
            q, {f: v for g in groups for f, v in g.items()}, sort, start, rows, facet_fields
        )
        match, score = self._match(q)
        selected = match
        for facet, values in (item for group in groups for item in group.items()):
            accepted = np.zeros(self._size, dtype=np.bool_)
            for value in values:
                mask = self._facets[facet].get(value)
                if mask is not None:
                    accepted |= mask
            selected = selected & accepted
        total = int(np.count_nonzero(selected))
        page = self._page(selected, score, order, start, rows) if rows and start < total else []
        facets = {facet: self._counts(facet, selected, facet_limit) for facet in facet_fields}
        return SearchResult(total, [self.datasets[i] for i in page], facets)

    def _match(self, q: str) -> tuple[Mask, npt.NDArray[np.float64] | None]:
        parsed = query_tokens(q)
        if not parsed:
            return np.ones(self._size, dtype=np.bool_), None
        match = np.ones(self._size, dtype=np.bool_)
        score = np.zeros(self._size, dtype=np.float64)
        for token in parsed.required:
            found = self._postings.get(token)
            if found is None:
                return np.zeros(self._size, dtype=np.bool_), score
            holds = np.zeros(self._size, dtype=np.bool_)
            holds[found[0]] = True
            match &= holds
            score[found[0]] += found[1]
        for token in parsed.boost:
            if (found := self._postings.get(token)) is not None:
                score[found[0]] += found[1]
        return match, score

    def _page(
        self,
        selected: Mask,
        score: npt.NDArray[np.float64] | None,
        order: list[tuple[str, bool]],
        start: int,
        rows: int,
    ) -> list[int]:
        ids = np.flatnonzero(selected)
        keys: list[npt.NDArray[Any]] = []
        for key, descending in reversed(order):  # lexsort: the last key is the primary one
            if key == "score":
                values = score[ids] if score is not None else np.zeros(len(ids))
                keys.append(-values if descending else values)
            else:
                rank = self._ranks[key][ids]
                keys.append(-rank if descending else rank)
        ranked = ids[np.lexsort([self._ranks["name"][ids], *keys])] if keys else ids
        return [int(i) for i in ranked[start : start + rows]]

    def _counts(self, facet: str, selected: Mask, limit: int) -> dict[str, int]:
        counts = {
            value: int(np.count_nonzero(mask & selected))
            for value, mask in self._facets[facet].items()
        }
        ordered = sorted(((v, n) for v, n in counts.items() if n), key=lambda x: (-x[1], x[0]))
        return dict(ordered[:limit])


def parse_sort(sort: str) -> list[tuple[str, bool]]:
    """CKAN's ``sort``: ``"score desc, metadata_modified desc"`` → [(key, descending)]."""
    order = []
    for part in sort.split(","):
        words = part.split()
        if not words:
            continue
        key = words[0]
        direction = words[1].lower() if len(words) > 1 else "asc"
        if key not in SORTS or direction not in ("asc", "desc") or len(words) > 2:
            raise ValidationFailed(
                f"cannot sort by {part.strip()!r}; use one of {', '.join(SORTS)} with asc or desc",
                details=[{"field": "sort", "reason": "unknown", "value": part.strip()}],
            )
        order.append((key, direction == "desc"))
    return order


def _check(
    q: str,
    filters: Mapping[str, Sequence[str]],
    sort: str,
    start: int,
    rows: int,
    facet_fields: Sequence[str],
) -> list[tuple[str, bool]]:
    problems: list[dict[str, str]] = []
    if len(q) > MAX_QUERY_CHARS:
        problems.append({"field": "q", "reason": f"longer than {MAX_QUERY_CHARS} characters"})
    if not 0 <= rows <= MAX_ROWS:
        problems.append({"field": "rows", "reason": f"must be between 0 and {MAX_ROWS}"})
    if start < 0:
        problems.append({"field": "start", "reason": "cannot be negative"})
    for facet in [*filters, *facet_fields]:
        if facet not in FACETS:
            problems.append(
                {"field": facet, "reason": f"unknown facet; use one of {', '.join(FACETS)}"}
            )
    if problems:
        raise ValidationFailed(
            "cannot search the datasets: "
            + "; ".join(f"{p['field']} {p['reason']}" for p in problems),
            details=problems,
        )
    order = parse_sort(sort or "score desc, metadata_modified desc")
    return order


def freshness_key(session: Session) -> tuple[Any, ...]:
    """Changes whenever a dataset is opened, changed, withdrawn or gets a release."""
    row = session.execute(
        select(
            select(func.max(OpenDataset.updated_at)).scalar_subquery(),
            select(func.count(OpenDataset.id)).scalar_subquery(),
            select(func.max(OpenRelease.id)).scalar_subquery(),
        )
    ).one()
    return tuple(row)


class DatasetSearch:
    """Keeps one index per process; rebuilds it when ``freshness_key`` moves."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._current: tuple[tuple[Any, ...], DatasetIndex] | None = None

    def index(self) -> DatasetIndex:
        with self._db.session_scope() as session:
            key = freshness_key(session)
        current = self._current
        if current is not None and current[0] == key:
            return current[1]
        with self._lock:
            current = self._current
            if current is not None and current[0] == key:
                return current[1]
            with self._db.session_scope() as session:
                index = DatasetIndex(list_datasets(session))
            self._current = (key, index)
            return index

    def search(self, **kwargs: Any) -> SearchResult:
        return self.index().search(**kwargs)
