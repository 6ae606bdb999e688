"""Profiling a lake version and the rules it suggests."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from rongshu.demo.identifiers import make_ric
from rongshu.lake.tables import Lake
from rongshu.quality.profiling import RuleSuggestion, profile_table, shapes, suggest_rules

ROWS = 3_000


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


def people(rows: int, *, bad_ids: int) -> pa.Table:
    rng = random.Random(5)
    ids = [
        make_ric("350102", date(1960, 1, 1) + timedelta(days=rng.randrange(20_000)), 1 + i % 998)
        for i in range(rows)
    ]
    for i in range(bad_ids):  # a wrong check character
        ids[i * 7] = ids[i * 7][:17] + ("0" if ids[i * 7][17] != "0" else "1")
    return pa.table(
        {
            "person_id": ids,
            "mobile": [f"13{rng.randrange(10**9):09d}" for _ in range(rows)],
            "gender": [rng.choice(["男", "女"]) for _ in range(rows)],
            "note": [None if i % 3 else f"备注{i}" for i in range(rows)],
            "amount": pa.array([rng.randrange(100) for _ in range(rows)], pa.int64()),
        }
    )


def named(suggestion: RuleSuggestion) -> tuple[str | None, str]:
    """(field, the standard's name or the rule kind)."""
    rule = suggestion.rule
    return rule.field, str(rule.params.get("standard", rule.kind.value))


def test_profile_counts_nulls_distinct_values_and_shapes(lake: Lake, tmp_path: Path) -> None:
    table = lake.table("GA-0001")
    data = people(ROWS, bad_ids=0)
    table.commit(data.to_batches(max_chunksize=700), schema=data.schema, mode="overwrite")
    with lake.engine(tmp_path / "scratch") as engine:
        profile = profile_table(table, engine, sample_rows=1_000)
    assert (profile.version, profile.rows) == (0, ROWS)
    assert 990 <= profile.sample_rows <= 1_000  # every third row, spread over all batches
    columns = {c.name: c for c in profile.columns}
    note = columns["note"]
    assert note.nulls == ROWS - len(range(0, ROWS, 3)) and note.null_rate == pytest.approx(2 / 3)
    assert columns["person_id"].distinct == len(set(data.column("person_id").to_pylist()))
    assert columns["gender"].enum_values == ["女", "男"]
    assert columns["person_id"].enum_values is None
    assert columns["person_id"].shapes[0].value == "9" * 18
    assert {v.value for v in columns["gender"].top_values} == {"男", "女"}
    assert columns["person_id"].standards["ric"] == 1.0
    assert columns["mobile"].standards["mobile"] == pytest.approx(1.0)
    assert "amount" not in {n for n, c in columns.items() if c.standards}


def test_rules_are_suggested_where_the_data_supports_them(lake: Lake, tmp_path: Path) -> None:
    table = lake.table("GA-0001")
    data = people(ROWS, bad_ids=ROWS // 200)  # 0.5 % wrong check characters: still 99.5 % valid
    table.commit(data.to_batches(), schema=data.schema, mode="overwrite")
    with lake.engine(tmp_path / "scratch") as engine:
        suggested = {named(s): s for s in suggest_rules(profile_table(table, engine))}
    assert suggested[("person_id", "ric")].support == pytest.approx(0.995)
    assert ("person_id", "not_null") in suggested
    assert suggested[("gender", "enum")].rule.params == {"values": ["女", "男"]}
    assert ("mobile", "mobile") in suggested
    assert ("note", "not_null") not in suggested
    assert not any(field == "note" and kind != "unique" for field, kind in suggested)

    worse = people(ROWS, bad_ids=ROWS // 50)  # 2 % wrong: the ID rule is not suggested
    table.commit(worse.to_batches(), schema=worse.schema, mode="overwrite")
    with lake.engine(tmp_path / "scratch") as engine:
        kinds = {named(s) for s in suggest_rules(profile_table(table, engine))}
    assert ("person_id", "ric") not in kinds and ("person_id", "not_null") in kinds


def test_shapes_of_ids_names_and_plates() -> None:
    values = pa.array(["35010219900101123X", "张三", "闽A·12345", None, "ab-1"])
    assert shapes(values).to_pylist() == [
        "99999999999999999A",
        "汉汉",
        "汉A·99999",
        None,
        "aa-9",
    ]
