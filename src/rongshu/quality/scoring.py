"""Scores of a run, on the GB/T 36344 dimensions, and of a department.

For a run, each rule that was checked contributes ``checked`` (rows of the version for a
row-level rule, 1 for a resource-level rule such as timeliness) and ``failing``. The score of a
dimension is

    score(d) = 1 - Σ failing(r) / Σ checked(r)      over the checked rules r of dimension d

so with row-level rules it is the mean pass rate of the dimension's rules. The overall score is
the weighted mean of the dimensions that have a score:

    score = Σ weight(d) · score(d) / Σ weight(d)

with ``WEIGHTS`` below. Severity does not change a score: it orders the work of fixing. A
department's scores are the plain means of its resources' latest succeeded runs (each
dimension over the resources that have it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from rongshu.quality.schemas import Dimension, RuleResult

#: Weight of each dimension in the overall score (they add up to 1).
WEIGHTS: Final[Mapping[Dimension, float]] = {
    Dimension.COMPLETENESS: 0.20,
    Dimension.VALIDITY: 0.20,
    Dimension.ACCURACY: 0.15,
    Dimension.CONSISTENCY: 0.15,
    Dimension.UNIQUENESS: 0.15,
    Dimension.TIMELINESS: 0.10,
    Dimension.ACCESSIBILITY: 0.05,
}


def dimension_scores(results: Iterable[RuleResult]) -> dict[Dimension, float]:
    """The score of each dimension that had at least one checked rule."""
    checked: dict[Dimension, int] = {}
    failing: dict[Dimension, int] = {}
    for result in results:
        if result.checked <= 0:
            continue
        checked[result.dimension] = checked.get(result.dimension, 0) + result.checked
        failing[result.dimension] = failing.get(result.dimension, 0) + result.failing
    return {d: 1 - failing[d] / checked[d] for d in Dimension if d in checked}


def overall_score(scores: Mapping[Dimension, float]) -> float | None:
    """The weighted mean of the dimension scores; None when there are none."""
    if not scores:
        return None
    total = sum(WEIGHTS[d] for d in scores)
    return sum(WEIGHTS[d] * score for d, score in scores.items()) / total


def mean_scores(
    cards: Sequence[tuple[float | None, Mapping[Dimension, float]]],
) -> tuple[float | None, dict[Dimension, float]]:
    """The mean overall score and mean dimension scores of several resources' runs."""
    overall = [score for score, _ in cards if score is not None]
    dimensions = {d: [scores[d] for _, scores in cards if d in scores] for d in Dimension}
    return (
        sum(overall) / len(overall) if overall else None,
        {d: sum(values) / len(values) for d, values in dimensions.items() if values},
    )
