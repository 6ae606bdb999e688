"""GB 11643 ID numbers: reasons, the 15-digit form, and the helpers cross-field rules use."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rongshu.standards import (
    get_standard,
    ric15_to_18,
    ric_birth_date,
    ric_gender,
    ric_region,
)
from rongshu.standards.ric import check_char, today

RIC = get_standard("ric")


def number(region: str = "110105", born: str = "19491231", sequence: str = "002") -> str:
    first17 = region + born + sequence
    return first17 + check_char(first17)


def test_the_standards_example_is_valid() -> None:
    assert number() == "11010519491231002X"
    assert RIC.check("11010519491231002X").ok
    assert RIC.check(None).ok and RIC.check("").ok


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("11010519491231002", "ric.length"),
        ("110105491231002", "ric.legacy_15"),
        ("11010519491231002x", "ric.lowercase_x"),
        ("１1010519491231002X", "ric.format"),
        ("11010519491231002 ", "ric.format"),
        ("110105194912310021", "ric.check_digit"),
        (number(born="20210229"), "ric.birth_date"),
        (number(born="18991231"), "ric.birth_implausible"),
        (number(region="350100", born="19900101"), None),  # a prefecture code: accepted
    ],
)
def test_reasons(value: str, reason: str | None) -> None:
    assert RIC.check(value).reason == reason
    assert reason is None or reason in RIC.reasons


def test_a_birth_after_today_fails() -> None:
    tomorrow = today() + timedelta(days=1)
    assert RIC.check(number(born=tomorrow.strftime("%Y%m%d"))).reason == "ric.birth_future"
    assert RIC.check(number(region="350112", born=today().strftime("%Y%m%d"))).ok


def test_legacy_numbers_convert_to_18() -> None:
    assert ric15_to_18("110105491231002") == "11010519491231002X"
    assert get_standard("ric15").check("110105491231002").ok
    assert get_standard("ric15").check("110105492331002").reason == "ric15.birth_date"
    with pytest.raises(ValueError, match="15-digit"):
        ric15_to_18("11010519491231002X")


def test_helpers_read_both_forms() -> None:
    assert ric_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert ric_birth_date("110105491231002") == date(1949, 12, 31)
    assert ric_birth_date(number(born="20210229")) is None
    assert ric_gender("11010519491231002X") == "女"
    assert ric_gender(number(sequence="001")) == "男"
    assert ric_gender("110105491231001") == "男"
    assert ric_region("11010519491231002X") == "110105"
    assert ric_birth_date("not a number") is None and ric_gender(None) is None
    assert ric_region("１10105491231002") is None
