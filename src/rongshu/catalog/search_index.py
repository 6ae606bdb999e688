"""Building the catalog search index: postings with BM25 weights, facet columns, sort orders.

Every resource becomes one document made of weighted parts (``FIELD_WEIGHTS``). For each token
the index keeps the sorted ids of the documents holding it and, next to each id, the token's
BM25 contribution there, computed once at build time; a query then only adds up contributions.

Tokens are collected per chunk of documents into flat arrays and merged with numpy, so building
100,000 resources stays within seconds and a few hundred megabytes.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import count
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from rongshu.catalog.schemas import LabelledEnum, ResourcePublic
from rongshu.catalog.tokens import index_tokens

#: How much a token counts in each part of a resource (BM25F-style weighted term frequency).
FIELD_WEIGHTS = {"name": 3.0, "code": 3.0, "fields": 2.0, "summary": 1.0, "department": 0.5}
K1 = 1.2
B = 0.75
SUMMARY_CHARS = 80
#: Labels of the usual resource formats (the format is free text; others show as written).
FORMAT_LABELS = {"table": "库表", "file": "文件", "api": "接口", "stream": "数据流"}
_CHUNK = 4096


class Entry(NamedTuple):
    """What a search hit shows of a resource (kept instead of the whole resource)."""

    code: str
    name: str
    summary: str
    department_code: str
    department_name: str
    catalog_type: str
    share_type: str
    open_type: str
    grade: str
    update_cycle: str
    format: str
    version: int
    updated_at: datetime
    fields: tuple[tuple[str, str], ...]
    """(name, English name) of each information item."""


@dataclass(frozen=True)
class IndexArrays:
    entries: list[Entry]
    vocab: dict[str, int]
    starts: npt.NDArray[np.int64]
    """Postings of token ``t`` are ``docs[starts[t]:starts[t + 1]]`` (ascending)."""
    docs: npt.NDArray[np.int32]
    scores: npt.NDArray[np.float32]
    facet_codes: dict[str, npt.NDArray[np.int32]]
    facet_values: dict[str, list[str]]
    facet_labels: dict[str, list[str]]
    facet_index: dict[str, dict[str, int]]
    name_rank: npt.NDArray[np.int32]
    by_name: npt.NDArray[np.int32]
    by_code: npt.NDArray[np.int32]
    by_updated: npt.NDArray[np.int32]


def shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_arrays(
    resources: Iterable[ResourcePublic], *, enum_facets: dict[str, type[LabelledEnum]]
) -> IndexArrays:
    """Index ``resources``; ``enum_facets`` names the facets read from enumerated attributes."""
    builder = _Builder(enum_facets)
    for resource in resources:
        builder.add(resource)
    return builder.finish()


class _Builder:
    def __init__(self, enum_facets: dict[str, type[LabelledEnum]]) -> None:
        self.vocab: defaultdict[str, int] = defaultdict(count().__next__)
        self.entries: list[Entry] = []
        self.lengths = array("f")
        self.tokens = array("i")
        self.segment_docs = array("i")
        self.segment_weights = array("f")
        self.segment_sizes = array("i")
        self.chunks: list[
            tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]]
        ] = []
        self.known: dict[str, list[int]] = {}  # token ids of texts that repeat (departments)
        self.known_fields: dict[tuple[str, str], tuple[tuple[str, str], list[int]]] = {}
        self.strings: dict[str, str] = {}
        self.facet_names = ("department", *enum_facets, "format")
        self.facet_codes = {name: array("i") for name in self.facet_names}
        self.facet_values: dict[str, list[str]] = {name: [] for name in self.facet_names}
        self.facet_labels: dict[str, list[str]] = {name: [] for name in self.facet_names}
        self.facet_index: dict[str, dict[str, int]] = {name: {} for name in self.facet_names}
        for name, enum in enum_facets.items():  # natural order, so facets list that way
            for member in enum:
                self._facet_value(name, member.value, member.label)

    def _facet_value(self, facet: str, value: str, label: str) -> int:
        index = self.facet_index[facet]
        position = index.get(value)
        if position is None:
            position = index[value] = len(self.facet_values[facet])
            self.facet_values[facet].append(value)
            self.facet_labels[facet].append(label)
        return position

    def _ids(self, text: str) -> list[int]:
        return list(map(self.vocab.__getitem__, index_tokens(text)))

    def _known_ids(self, text: str) -> list[int]:
        ids = self.known.get(text)
        if ids is None:
            ids = self.known[text] = self._ids(text)
        return ids

    def _intern(self, text: str) -> str:
        return self.strings.setdefault(text, text)

    def _field(self, name: str, english: str) -> tuple[tuple[str, str], list[int]]:
        """An information item's (name, English name), shared across resources, and its tokens."""
        key = (name, english)
        known = self.known_fields.get(key)
        if known is None:
            known = self.known_fields[key] = (key, self._ids(name) + self._ids(english))
        return known

    def add(self, r: ResourcePublic) -> None:
        doc = len(self.entries)
        pairs = []
        field_ids: list[int] = []
        for f in r.fields:
            pair, ids = self._field(f.name, f.english_name)
            pairs.append(pair)
            field_ids += ids
        parts: tuple[tuple[float, list[int]], ...] = (
            (FIELD_WEIGHTS["name"], self._ids(r.name)),
            (FIELD_WEIGHTS["code"], self._ids(r.code)),
            (FIELD_WEIGHTS["fields"], field_ids),
            (FIELD_WEIGHTS["summary"], self._ids(r.summary)),
            (FIELD_WEIGHTS["department"], self._known_ids(r.department_name)),
        )
        length = 0.0
        for weight, ids in parts:  # one segment per part: numpy repeats doc and weight later
            self.tokens.extend(ids)
            self.segment_docs.append(doc)
            self.segment_weights.append(weight)
            self.segment_sizes.append(len(ids))
            length += weight * len(ids)
        self.lengths.append(length)
        facet_of: dict[str, tuple[str, str]] = {
            "department": (r.department_code, r.department_name),
            "catalog_type": (r.catalog_type.value, r.catalog_type.label),
            "share_type": (r.share_type.value, r.share_type.label),
            "open_type": (r.open_type.value, r.open_type.label),
            "grade": (r.effective_grade.value, r.effective_grade.label),
            "update_cycle": (r.update_cycle.value, r.update_cycle.label),
            "format": (r.format, FORMAT_LABELS.get(r.format, r.format)),
        }
        for facet in self.facet_names:
            self.facet_codes[facet].append(self._facet_value(facet, *facet_of[facet]))
        self.entries.append(
            Entry(
                code=r.code,
                name=r.name,
                summary=shorten(r.summary),
                department_code=self._intern(r.department_code),
                department_name=self._intern(r.department_name),
                catalog_type=r.catalog_type.value,
                share_type=r.share_type.value,
                open_type=r.open_type.value,
                grade=r.effective_grade.value,
                update_cycle=r.update_cycle.value,
                format=self._intern(r.format),
                version=r.version,
                updated_at=r.updated_at,
                fields=tuple(pairs),
            )
        )
        if len(self.entries) % _CHUNK == 0:
            self._merge_chunk()

    def _merge_chunk(self) -> None:
        """Sum the weights of repeated (token, document) pairs of the documents since the last."""
        if not self.tokens:
            return
        sizes = np.array(self.segment_sizes, dtype=np.int64)
        tokens = np.array(self.tokens, dtype=np.int32)
        docs = np.repeat(np.array(self.segment_docs, dtype=np.int32), sizes)
        weights = np.repeat(np.array(self.segment_weights, dtype=np.float32), sizes)
        first = int(docs[0])
        keys = tokens.astype(np.int64) * _CHUNK + (docs - first)
        unique, inverse = np.unique(keys, return_inverse=True)
        summed = np.bincount(inverse, weights=weights)
        self.chunks.append(
            (
                (unique // _CHUNK).astype(np.int32),
                (unique % _CHUNK + first).astype(np.int32),
                summed.astype(np.float32),
            )
        )
        self.tokens = array("i")
        self.segment_docs, self.segment_weights = array("i"), array("f")
        self.segment_sizes = array("i")

    def finish(self) -> IndexArrays:
        self._merge_chunk()
        size = len(self.entries)
        vocab = dict(self.vocab)
        vocabulary = len(vocab)
        df = np.zeros(vocabulary, dtype=np.int64)
        for tokens, _, _ in self.chunks:
            df += np.bincount(tokens, minlength=vocabulary)
        starts = np.zeros(vocabulary + 1, dtype=np.int64)
        np.cumsum(df, out=starts[1:])
        idf = np.log1p((size - df + 0.5) / (df + 0.5)).astype(np.float32)
        lengths = np.array(self.lengths, dtype=np.float32)
        average = float(lengths.mean()) if size else 0.0
        average = average if average > 0 else 1.0
        norm = (K1 * (1 - B + B * lengths / average)).astype(np.float32)
        docs = np.empty(int(starts[-1]), dtype=np.int32)
        scores = np.empty(int(starts[-1]), dtype=np.float32)
        # Each chunk is sorted by (token, document) and chunks follow each other in document
        # order, so a posting's place is its token's next free slot plus its rank in the chunk:
        # a counting sort, without sorting 20 million postings again.
        free = starts[:-1].copy()
        while self.chunks:
            tokens, chunk_docs, wtf = self.chunks.pop(0)
            counts = np.bincount(tokens, minlength=vocabulary)
            first = np.cumsum(counts) - counts  # where each token's run begins in the chunk
            places = free[tokens] + (np.arange(len(tokens)) - first[tokens])
            docs[places] = chunk_docs
            scores[places] = idf[tokens] * wtf * (K1 + 1) / (wtf + norm[chunk_docs])
            free += counts
        by_name, name_rank, by_code, by_updated = self._orders()
        return IndexArrays(
            entries=self.entries,
            vocab=vocab,
            starts=starts,
            docs=docs,
            scores=scores,
            facet_codes={
                k: np.frombuffer(v, dtype=np.int32).copy() for k, v in self.facet_codes.items()
            },
            facet_values=self.facet_values,
            facet_labels=self.facet_labels,
            facet_index=self.facet_index,
            name_rank=name_rank,
            by_name=by_name,
            by_code=by_code,
            by_updated=by_updated,
        )

    def _orders(self) -> tuple[npt.NDArray[np.int32], ...]:
        entries = self.entries
        size = len(entries)

        def order(key: Callable[[int], tuple[str, str] | str]) -> npt.NDArray[np.int32]:
            return np.array(sorted(range(size), key=key), dtype=np.int32).reshape(size)

        by_name = order(lambda i: (entries[i].name, entries[i].code))
        name_rank = np.empty(size, dtype=np.int32)
        name_rank[by_name] = np.arange(size, dtype=np.int32)
        by_code = order(lambda i: entries[i].code)
        stamps = np.array([e.updated_at.timestamp() for e in entries], dtype=np.float64)
        by_updated = np.lexsort((name_rank, -stamps)).astype(np.int32)  # newest first
        return by_name, name_rank, by_code, by_updated
