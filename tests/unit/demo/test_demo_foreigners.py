"""Foreign guests' registrations: passports in their country's format, stays in date order."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest

from rongshu.demo.foreigners import NATIONALITIES, foreigner_stays
from rongshu.demo.population import REFERENCE_DATE
from rongshu.demo.schema import FOREIGNER_ACCOMMODATION

#: Passport number formats by the nationality the form writes (ICAO 9303 books as issued).
PASSPORT_FORMATS = {
    "中国": r"E\d{8}|E[A-Z]\d{7}|G\d{8}",
    "美国": r"\d{9}",
    "英国": r"\d{9}",
    "日本": r"[A-Z]{2}\d{7}",
    "韩国": r"M\d{8}",
    "马来西亚": r"[AH]\d{8}",
    "新加坡": r"[EK]\d{7}[A-Z]",
    "印度尼西亚": r"[A-Z]\d{7}",
    "菲律宾": r"P\d{7}[A-Z]",
    "泰国": r"[A-Z]{2}\d{7}",
    "越南": r"[A-Z]\d{7}",
    "俄罗斯": r"\d{9}",
    "德国": r"[CFGHJK][CFGHJKLMNPRTVWXYZ0-9]{8}",
    "法国": r"\d{2}[A-Z]{2}\d{5}",
    "澳大利亚": r"[A-Z]{1,2}\d{7}",
    "加拿大": r"[A-Z]{2}\d{6}",
    "印度": r"[A-Z]\d{7}",
}


@pytest.fixture(scope="module")
def stays() -> list[dict[str, object]]:
    names = FOREIGNER_ACCOMMODATION.column_names
    return [
        dict(zip(names, row, strict=True))
        for chunk in foreigner_stays(random.Random(13), 4_000, 1_000)
        for row in chunk
    ]


def test_passports_follow_their_countrys_format(stays: list[dict[str, object]]) -> None:
    assert {n.name for n in NATIONALITIES} == set(PASSPORT_FORMATS)
    for stay in stays:
        number = str(stay["passport_no"])
        assert re.fullmatch(PASSPORT_FORMATS[str(stay["nationality"])], number), stay
        assert 8 <= len(number) <= 9
    assert len({stay["passport_no"] for stay in stays}) > 0.99 * len(stays)
    chinese = [str(s["passport_no"]) for s in stays if s["nationality"] == "中国"]
    assert {number[0] + number[1].isdigit() * "9" for number in chinese} == {"E9", "E", "G9"}


def test_names_are_in_latin_capitals_surname_first(stays: list[dict[str, object]]) -> None:
    for stay in stays:
        assert re.fullmatch(r"[A-Z]+( [A-Z]+)+", str(stay["name"])), stay
    women = [str(s["name"]) for s in stays if (s["nationality"], s["gender"]) == ("俄罗斯", "女")]
    assert women and all(name.split()[0].endswith("A") for name in women)


def test_stays_run_through_the_year_in_check_in_order(stays: list[dict[str, object]]) -> None:
    days = [day for stay in stays if isinstance(day := stay["check_in_date"], date)]
    assert len(days) == len(stays) and days == sorted(days)
    assert days[0] == date(REFERENCE_DATE.year, 1, 1) and days[-1] == REFERENCE_DATE
    assert len({stay["record_no"] for stay in stays}) == len(stays)
    for stay in stays:
        check_in, check_out = stay["check_in_date"], stay["check_out_date"]
        born = stay["birth_date"]
        assert isinstance(check_in, date) and isinstance(born, date) and born < check_in
        if check_out is None:  # still in the hotel on the reference date
            assert (REFERENCE_DATE - check_in).days < 181
        else:
            assert isinstance(check_out, date) and check_in < check_out <= REFERENCE_DATE
