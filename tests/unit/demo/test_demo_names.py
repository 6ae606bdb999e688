"""Names of the demo city's people: Fujian surnames, era-typical given names, clerks' typos."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from rongshu.demo import names


def test_chen_and_lin_lead_as_in_fujian() -> None:
    rng = random.Random(5)
    counts = Counter(names.surname(rng) for _ in range(20_000))
    top_two = {name for name, _ in counts.most_common(2)}
    assert top_two == {"陈", "林"}
    compound = sum(n for name, n in counts.items() if len(name) == 2)
    assert 0 < compound < 100  # 复姓 appear, rarely


def test_given_names_differ_by_era() -> None:
    rng = random.Random(6)
    old = Counter(ch for _ in range(3000) for ch in names.given_name(rng, False, 1945))
    young = Counter(ch for _ in range(3000) for ch in names.given_name(rng, False, 2015))
    assert "秀" in old and "秀" not in young
    assert "涵" in young and "涵" not in old


def test_given_names_have_one_or_two_characters() -> None:
    rng = random.Random(7)
    lengths = Counter(len(names.given_name(rng, True, 1990)) for _ in range(5000))
    assert set(lengths) == {1, 2}
    assert 0.5 < lengths[2] / 5000 < 0.7


def test_rare_name_characters_need_gb18030() -> None:
    for char in names.RARE_CHARACTERS:
        char.encode("gb18030")
        with pytest.raises(UnicodeEncodeError):
            char.encode("gbk")


def test_similar_name_changes_exactly_one_character() -> None:
    rng = random.Random(8)
    for name in ("陈伟", "林丽华", "黄明", "欧阳晨"):
        similar = names.similar_name(rng, name)
        assert similar is not None and len(similar) == len(name)
        assert sum(a != b for a, b in zip(name, similar, strict=True)) == 1
    assert names.similar_name(rng, "丁丁") is None
