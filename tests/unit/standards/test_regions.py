"""GB/T 2260 validity: codes retired, re-used, created after 2014; the table's sources."""

from __future__ import annotations

import pytest

from rongshu.standards.regions import RegionStandard, region_table
from rongshu.standards.ric import RicStandard, check_char

TABLE = region_table()


def ric(region: str, born: str) -> str:
    first17 = f"{region}{born}123"
    return first17 + check_char(first17)


def test_the_table_runs_from_1980_past_2014() -> None:
    assert TABLE.first_year == 1980
    assert TABLE.last_year >= 2024
    assert len({p.code for p in TABLE.periods}) > 4000


@pytest.mark.parametrize(
    ("code", "year", "in_force"),
    [
        ("350126", 1993, True),  # 长乐县 until it became a city in 1994
        ("350126", 1995, False),
        ("350182", 1996, True),  # 长乐市, retired when it became 长乐区 in 2017
        ("350182", 2017, True),  # the year of the change accepts both codes
        ("350182", 2018, False),
        ("350112", 2016, False),  # 长乐区, created after 2014
        ("350112", 2018, True),
        ("220184", 2021, True),  # 公主岭市 moved to a new code in 2020
        ("220381", 2021, False),
    ],
)
def test_codes_are_in_force_in_their_years(code: str, year: int, in_force: bool) -> None:
    assert TABLE.valid_in(code, year) is in_force


def test_a_reused_code_has_periods_under_each_name() -> None:
    names = [p.name for p in TABLE.names("440106")]
    assert names == ["芳村区", "天河区"]  # 440106 was 芳村区, then 广州市天河区


def test_region_standard_tells_retired_from_unknown() -> None:
    standard = RegionStandard()
    assert standard.check("350112").ok
    assert standard.check("350182").reason == "region.retired"
    assert standard.check("359999").reason == "region.unknown"
    assert standard.check("35011２").reason == "region.format"


@pytest.mark.parametrize(
    ("region", "born", "reason"),
    [
        ("350112", "20180101", None),  # created 2017, born after
        ("350112", "19900101", "ric.region_period"),  # created after the number was issued
        ("350182", "20000101", None),
        ("350182", "20200101", "ric.region_period"),  # retired before the birth
        ("350126", "19700101", None),  # born before 1984: the code in force in 1984
        ("350182", "19700101", "ric.region_period"),  # not yet in force in 1984
        ("350000", "19900101", "ric.region"),  # a province, no county
        ("359999", "19900101", "ric.region"),
    ],
)
def test_id_region_must_be_in_force_when_issued(region: str, born: str, reason: str | None) -> None:
    assert RicStandard().check(ric(region, born)).reason == reason
