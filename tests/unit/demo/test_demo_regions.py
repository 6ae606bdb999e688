"""The demo's region codes and their validity periods agree with GB/T 2260 as
``rongshu.standards`` has it (its table runs to 2025; see docs/standards.md for where it and
python-stdnum's, which ends in 2014, differ)."""

from __future__ import annotations

from datetime import date

import pytest

from rongshu.demo.identifiers import make_ric
from rongshu.demo.regions import (
    ALL_REGIONS,
    DISTRICT_BY_CODE,
    DISTRICTS,
    FIRST_ISSUE_YEAR,
    OUT_OF_PERIOD_CODES,
    issue_year,
    region_valid_for_birth_year,
)
from rongshu.standards import get_standard

YEARS = range(FIRST_ISSUE_YEAR, 2025)


def _standard_accepts(code: str, year: int) -> bool:
    return get_standard("ric").check(make_ric(code, date(year, 6, 15), 1)).ok


def test_the_thirteen_fuzhou_districts_are_there() -> None:
    assert [d.code for d in DISTRICTS] == [
        "350102", "350103", "350104", "350105", "350111", "350112", "350121",
        "350122", "350123", "350124", "350125", "350128", "350181",
    ]  # fmt: skip
    assert DISTRICT_BY_CODE["350112"].name == "长乐区"


@pytest.mark.parametrize("code", sorted(ALL_REGIONS))
def test_validity_periods_agree_with_the_standard(code: str) -> None:
    # From 1984 on the issue year is the birth year.
    for year in YEARS:
        assert region_valid_for_birth_year(code, year) == _standard_accepts(code, year), year


def test_districts_issue_codes_in_force_in_every_year() -> None:
    for district in DISTRICTS:
        for year in YEARS:
            assert _standard_accepts(district.id_code(year), year), (district.name, year)


def test_changle_codes_follow_its_history() -> None:
    changle = DISTRICT_BY_CODE["350112"]
    assert changle.id_code(1990) == "350126"  # 长乐县
    assert changle.id_code(2000) == "350182"  # 长乐市
    assert changle.id_code(2020) == "350112"  # 长乐区
    assert DISTRICT_BY_CODE["350181"].id_code(1985) == "350127"  # 福清县


def test_people_born_before_1984_carry_a_code_valid_in_1984() -> None:
    assert issue_year(1950) == 1984
    assert region_valid_for_birth_year("350102", 1950)
    assert not region_valid_for_birth_year("350112", 1950)


def test_every_birth_year_has_an_out_of_period_code() -> None:
    for year in range(1920, 2025):
        assert any(not region_valid_for_birth_year(c, year) for c in OUT_OF_PERIOD_CODES)
