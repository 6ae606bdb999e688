"""Tokens for catalog search: Chinese as character n-grams, Latin and digits as words.

Chinese has no spaces, and a dictionary tokenizer would split 常住人口户籍信息 in ways a query
such as 户籍 or 籍信 may not follow. Overlapping character bigrams find any substring of two or
more characters (every bigram of the query must occur), and single characters are indexed too so
that a one-character query works. Latin letters and digits form lowercased words; a compound such
as ``GA-0001`` or ``id_number`` is indexed whole as well as by its parts.

Text is NFKC-normalised first, so full-width ``ＧＡ－０００１`` matches ``GA-0001``.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# CJK unified ideographs (basic, extension A, compatibility, extensions B-F).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_RUN = re.compile(f"[{_CJK}]+|[0-9a-z]+(?:[-_./][0-9a-z]+)*")
_WORD = re.compile(r"[0-9a-z]+")


def _runs(text: str) -> list[str]:
    return _RUN.findall(unicodedata.normalize("NFKC", text).lower())


def _is_cjk(run: str) -> bool:
    return run[0] > "\u007f"


def index_tokens(text: str) -> list[str]:
    """Every token of ``text`` as the index stores it (repeats kept: they count as frequency)."""
    out: list[str] = []
    for run in _runs(text):
        if _is_cjk(run):
            out.extend(run)
            out.extend(map(operator.add, run, run[1:]))
        else:
            parts = _WORD.findall(run)
            out.extend(parts)
            if len(parts) > 1:
                out.append(run)
    return out


@dataclass(frozen=True)
class QueryTokens:
    """A parsed query: tokens every match must contain, and tokens that only lift the score."""

    required: tuple[str, ...]
    boost: tuple[str, ...]
    terms: tuple[frozenset[str], ...]
    """The required tokens of each term the user typed (to tell which field names matched)."""

    def __bool__(self) -> bool:
        return bool(self.required)


def query_tokens(text: str) -> QueryTokens:
    """Tokens of a query: the bigrams of each Chinese run (or its one character), and words.

    A compound such as ``GA-0001`` requires its parts and prefers documents holding it whole.
    """
    required: dict[str, None] = {}
    boost: dict[str, None] = {}
    terms: list[frozenset[str]] = []
    for run in _runs(text):
        if _is_cjk(run):
            grams = [run] if len(run) == 1 else list(map(operator.add, run, run[1:]))
        else:
            grams = _WORD.findall(run)
            if len(grams) > 1:
                boost[run] = None
        required.update(dict.fromkeys(grams))
        terms.append(frozenset(grams))
    return QueryTokens(tuple(required), tuple(boost), tuple(terms))


@lru_cache(maxsize=65_536)
def token_set(text: str) -> frozenset[str]:
    """The distinct index tokens of a short text (field names repeat across resources)."""
    return frozenset(index_tokens(text))
