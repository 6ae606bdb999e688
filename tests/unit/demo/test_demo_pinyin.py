"""Pinyin of the demo city's names: every character a name can hold, in its name reading."""

from __future__ import annotations

import random

import pytest

from rongshu.demo import names, organisations
from rongshu.demo.pinyin import PINYIN, initials, romanised_name, split_name


def test_every_character_of_a_name_or_trade_name_has_pinyin() -> None:
    used = "".join(names.SURNAMES) + "".join(names.RARE_CHARACTERS)
    rng = random.Random(14)
    used += "".join(names.given_name(rng, i % 2 == 0, 1950 + i % 70) for i in range(5_000))
    used += organisations._TRADE_NAME_CHARS
    used += "".join(word for industry in organisations.INDUSTRIES for word in industry.words)
    assert sorted(set(used) - set(PINYIN)) == []
    assert all(syllable.isascii() and syllable.islower() for syllable in PINYIN.values())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("陈伟", ("chen", "wei")),
        ("欧阳明宇", ("ouyang", "mingyu")),
        ("吕思涵", ("lv", "sihan")),
        ("曾晓婷", ("zeng", "xiaoting")),
        ("上官婉", None),  # 婉 is no character the generator uses
    ],
)
def test_names_are_romanised_surname_first(name: str, expected: tuple[str, str] | None) -> None:
    if expected is None:
        with pytest.raises(KeyError):
            romanised_name(name)
    else:
        assert romanised_name(name) == expected


def test_compound_surnames_stay_whole_and_abbreviations_take_initials() -> None:
    assert split_name("司马光") == ("司马", "光")
    assert split_name("马光") == ("马", "光")
    assert initials("福建鑫源贸易") == "fjxymy"
