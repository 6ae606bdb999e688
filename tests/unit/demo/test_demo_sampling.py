"""Weighted draws follow their weights."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from rongshu.demo.sampling import Weighted


def test_items_are_drawn_in_proportion_to_their_weights() -> None:
    weighted = Weighted(["a", "b", "c"], [1, 3, 0])
    rng = random.Random(1)
    counts = Counter(weighted.pick(rng) for _ in range(20_000))
    assert counts["c"] == 0
    assert 2.7 < counts["b"] / counts["a"] < 3.3


def test_weights_must_match_items() -> None:
    with pytest.raises(ValueError, match="as many weights"):
        Weighted(["a"], [1, 2])
