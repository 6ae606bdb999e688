"""Bank card numbers: 13 to 19 digits whose last digit is the Luhn (ISO/IEC 7812) check digit."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pyarrow as pa

from rongshu.lake.dialect import SqlDialect
from rongshu.standards.base import DIGITS, OK, Join, Verdict, failed, first_failure

MIN_LENGTH, MAX_LENGTH = 13, 19
_SHAPE = re.compile(f"[0-9]{{{MIN_LENGTH},{MAX_LENGTH}}}")
#: The Luhn value of a doubled digit, as the position of the digit in this string.
_DOUBLED = "0516273849"


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (every second digit from the right,
    starting with the one left of the check digit, doubled, its digits summed)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        total += _DOUBLED.index(char) if index % 2 else int(char)
    return total % 10 == 0


class BankCardStandard:
    """Bank card numbers (Luhn check digit)."""

    name = "bank_card"
    label = "银行卡号"
    reasons: Mapping[str, tuple[str, str]] = {
        "bank_card.format": (
            f"银行卡号应为{MIN_LENGTH}-{MAX_LENGTH}位数字",
            f"{MIN_LENGTH} to {MAX_LENGTH} digits",
        ),
        "bank_card.check_digit": ("校验位错误（Luhn）", "wrong Luhn check digit"),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        if not _SHAPE.fullmatch(value):
            return failed("bank_card.format")
        return OK if luhn_valid(value) else failed("bank_card.check_digit")

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        # Zeros in front change no Luhn sum: pad to 19 digits and use fixed positions.
        padded = dialect.substring(
            f"('{'0' * MAX_LENGTH}' || {expr})", f"{dialect.length(expr)} + 1", MAX_LENGTH
        )
        terms = []
        for position in range(1, MAX_LENGTH + 1):
            char = dialect.substring(padded, position, 1)
            doubled = (MAX_LENGTH + 1 - position) % 2 == 0
            terms.append(f"(position({char} IN '{_DOUBLED if doubled else DIGITS}') - 1)")
        total = " + ".join(terms)
        return first_failure(
            expr,
            [
                (
                    f"NOT {dialect.regex_match(expr, f'^[0-9]{{{MIN_LENGTH},{MAX_LENGTH}}}$')}",
                    "bank_card.format",
                ),
                (f"({total}) % 10 <> 0", "bank_card.check_digit"),
            ],
        )

    def lookups(self) -> Mapping[str, pa.Table]:
        return {}

    def joins(self, expr: str, dialect: SqlDialect) -> list[Join]:
        return []
