"""The registry: every standard under its name, reasons in both languages, errors named."""

from __future__ import annotations

import pytest

from rongshu.core.errors import NotFound
from rongshu.standards import STANDARDS, Standard, get_standard


def test_the_contract_names_are_all_there() -> None:
    expected = {"ric", "ric15", "uscc", "region", "mobile", "phone", "postcode", "email"}
    assert expected | {"plate", "bank_card", "date"} == set(STANDARDS)
    for name, standard in STANDARDS.items():
        assert isinstance(standard, Standard)
        assert standard.name == name and standard.label
        for code, (chinese, english) in standard.reasons.items():
            assert code.startswith(name + ".")
            assert chinese and english


def test_an_unknown_standard_is_not_found() -> None:
    with pytest.raises(NotFound, match="no standard is called 'idcard'.*ric"):
        get_standard("idcard")
