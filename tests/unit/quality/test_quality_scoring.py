"""Scores: per dimension 1 - failing / checked, overall the weighted mean, departments the mean."""

from __future__ import annotations

import pytest

from rongshu.quality.schemas import Dimension, RuleKind, RuleResult, Severity
from rongshu.quality.scoring import WEIGHTS, dimension_scores, mean_scores, overall_score


def result(dimension: Dimension, checked: int, failing: int) -> RuleResult:
    return RuleResult(
        rule_id=1, kind=RuleKind.NOT_NULL, field="a", params={}, severity=Severity.ERROR,
        dimension=dimension, checked=checked, failing=failing,
    )  # fmt: skip


def test_a_dimension_adds_up_its_rules_and_skipped_rules_do_not_count() -> None:
    scores = dimension_scores(
        [
            result(Dimension.COMPLETENESS, 100, 10),
            result(Dimension.COMPLETENESS, 100, 30),
            result(Dimension.VALIDITY, 100, 0),
            result(Dimension.UNIQUENESS, 0, 0),  # skipped: nothing checked
            result(Dimension.TIMELINESS, 1, 1),
        ]
    )
    assert scores == {
        Dimension.COMPLETENESS: pytest.approx(1 - 40 / 200),
        Dimension.VALIDITY: 1.0,
        Dimension.TIMELINESS: 0.0,
    }


def test_the_overall_score_weighs_the_dimensions_present() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    scores = {Dimension.COMPLETENESS: 0.8, Dimension.TIMELINESS: 0.0}
    assert overall_score(scores) == pytest.approx((0.2 * 0.8 + 0.1 * 0.0) / 0.3)
    assert overall_score({Dimension.VALIDITY: 0.5}) == 0.5
    assert overall_score({}) is None


def test_a_department_is_the_mean_of_its_resources() -> None:
    score, scores = mean_scores(
        [
            (0.9, {Dimension.COMPLETENESS: 0.9}),
            (0.5, {Dimension.COMPLETENESS: 0.7, Dimension.VALIDITY: 0.3}),
            (None, {}),
        ]
    )
    assert score == pytest.approx(0.7)
    assert scores == {Dimension.COMPLETENESS: pytest.approx(0.8), Dimension.VALIDITY: 0.3}
    assert mean_scores([]) == (None, {})
