"""What a correction ticket reads of a run's failing rows, counted in the lake engine: the
same as sets of the keys in Python."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa

from rongshu.lake.tables import Lake
from rongshu.quality.failures import FAILURES_SCHEMA, RuleKeys, rule_keys, write_failures

RESOURCE = "rk-test"


def failing(run: int, rows: list[tuple[int, str]]) -> pa.RecordBatch:
    """The failures of one run: (rule id, row key) pairs."""
    count = len(rows)
    return pa.RecordBatch.from_pydict(
        {
            "run_id": [run] * count,
            "rule_id": [rule for rule, _ in rows],
            "rule": ["regex"] * count,
            "severity": ["error"] * count,
            "field": ["name"] * count,
            "row_key": [key for _, key in rows],
            "value": ["x"] * count,
            "reason": ["regex.no_match"] * count,
        },
        schema=FAILURES_SCHEMA,
    )


def test_counts_samples_and_rows_still_failing_are_those_of_the_key_sets(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    chooser = random.Random(7)
    keys = [f'{{"id":"{chooser.choice("甲乙AbZ")}{n}"}}' for n in range(400)]
    first = [(rule, chooser.choice(keys)) for rule in (1, 2, 3) for _ in range(150)]
    second = [(rule, chooser.choice(keys)) for rule in (1, 2) for _ in range(150)]
    second += second[:40]  # a (row, rule) pair twice: one key
    write_failures(lake, RESOURCE, 1, [failing(1, first)])
    write_failures(lake, RESOURCE, 2, [failing(2, second)])

    with lake.work_engine() as engine:
        found = rule_keys(lake, engine, RESOURCE, 2, {1: 1, 2: None, 3: 1, 4: 1}, 5)

    def of(rows: list[tuple[int, str]], rule: int) -> set[str]:
        return {key for r, key in rows if r == rule}

    now, before = of(second, 1), of(first, 1)
    assert found[1] == RuleKeys(len(now), sorted(now)[:5], len(now & before))
    assert found[2] == RuleKeys(len(of(second, 2)), sorted(of(second, 2))[:5], None)
    assert 3 not in found and 4 not in found  # no failing rows in run 2


def test_a_resource_without_failures_has_no_keys(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    with lake.work_engine() as engine:
        assert rule_keys(lake, engine, RESOURCE, 1, {1: None}, 5) == {}
