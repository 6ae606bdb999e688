"""Motor-vehicle number plates (GA 36, with the 2016 new-energy plates).

A plate is the province's one-character abbreviation, the issuing office's letter (A-Z without
I and O) and then:

- five characters of digits and letters (without I and O): an ordinary plate, 闽A12345;
- six for a new-energy plate: small cars ``D``/``F`` then a digit or letter and four digits
  (闽AD12345, 闽AF1A234), large vehicles five digits then ``D``/``F`` (闽A12345D);
- four, then 挂 (trailer), 学 (driving school), 警 (police), 港/澳 (cross-border), 领
  (consulate), 试 (test) or 超 (over-size).

Embassy plates (使), military and armed-police plates follow other standards and fail here.
Letters are capitals; no spaces or dots (闽A·12345 is how a plate is printed, not stored).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pyarrow as pa

from rongshu.lake.dialect import SqlDialect
from rongshu.standards.base import OK, Join, Verdict, failed, first_failure

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"
_CHAR = f"[{_LETTER}0-9]"
PLATE = (
    f"[{PROVINCES}][{_LETTER}]"
    f"(?:{_CHAR}{{5}}|[DF]{_CHAR}[0-9]{{4}}|[0-9]{{5}}[DF]|{_CHAR}{{4}}[挂学警港澳领试超])"
)
_PLATE = re.compile(PLATE)
_PROVINCE = re.compile(f"[{PROVINCES}]")


class PlateStandard:
    """GA 36 vehicle number plates, new-energy plates included."""

    name = "plate"
    label = "机动车号牌（GA 36）"
    reasons: Mapping[str, tuple[str, str]] = {
        "plate.province": (
            "号牌首字不是省、自治区、直辖市简称",
            "the first character is no province abbreviation",
        ),
        "plate.format": ("号牌格式错误", "not a GA 36 plate number"),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        if not _PROVINCE.match(value):
            return failed("plate.province")
        return OK if _PLATE.fullmatch(value) else failed("plate.format")

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        return first_failure(
            expr,
            [
                (f"NOT {dialect.regex_match(expr, f'^[{PROVINCES}]')}", "plate.province"),
                (f"NOT {dialect.regex_match(expr, f'^(?:{PLATE})$')}", "plate.format"),
            ],
        )

    def lookups(self) -> Mapping[str, pa.Table]:
        return {}

    def joins(self, expr: str, dialect: SqlDialect) -> list[Join]:
        return []
