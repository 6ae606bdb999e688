"""GB 32100 unified social credit codes (统一社会信用代码) and GB 11714 organisation codes.

A code is 18 characters of ``0-9`` and the capitals except I, O, S, V and Z: the registration
authority (登记管理部门码), the institution type within it (机构类别码), the six-digit region
of the registering office (GB/T 2260, or 100000 for national bodies), the nine-character
organisation code (GB 11714: eight characters and a MOD 11 check character, 0-9 or X), and a
MOD 31 check character.

Authorities and their types follow the code list of the national credit-code centre
(GB 32100-2015 names 1, 5, 9 and Y; the others were assigned since): 1 机构编制, 2 外交,
3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会, 9 市场监管 (工商), A 中央军委改革和编制办公室,
N 农业农村, Y 其他.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from rongshu.core.kernels import kernel
from rongshu.lake.dialect import SqlDialect
from rongshu.standards import vectors
from rongshu.standards.base import (
    OK,
    Verdict,
    alphabet_value,
    failed,
    first_failure,
)
from rongshu.standards.regions import RegionLookup, RegionTable

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
#: GB 11714 characters and their values: digits, then A = 10 ... Z = 35.
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_CHECK_CHARS = "0123456789X"
#: Registration authority -> the institution types it assigns.
AUTHORITY_TYPES: Mapping[str, str] = {
    "1": "1239",
    "2": "19",
    "3": "123459",
    "4": "19",
    "5": "1239",
    "6": "129",
    "7": "129",
    "8": "19",
    "9": "123",
    "A": "19",
    "N": "1239",
    "Y": "1",
}
#: The region segment of codes assigned by national bodies.
NATIONAL_REGION = "100000"

_SHAPE = re.compile(f"[{ALPHABET}]{{18}}")
_SQL_SHAPE = f"^[{ALPHABET}]{{18}}$"
_VALUE = {char: index for index, char in enumerate(ALPHABET)}


def check_char(first17: str) -> str:
    """The GB 32100 MOD 31 check character of the first 17 characters."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_char(body8: str) -> str:
    """The GB 11714 check character of an eight-character organisation code body."""
    total = sum(ORG_ALPHABET.index(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    return ORG_CHECK_CHARS[(11 - total % 11) % 11]


def valid_check_chars(value: str) -> bool:
    """Whether a code has 18 characters of the alphabet and both check characters right."""
    return (
        _SHAPE.fullmatch(value) is not None
        and value[16] == org_check_char(value[8:16])
        and value[17] == check_char(value[:17])
    )


class UsccStandard(RegionLookup):
    """GB 32100 unified social credit codes."""

    name = "uscc"
    region_start = 3
    label = "统一社会信用代码（GB 32100）"
    reasons: Mapping[str, tuple[str, str]] = {
        "uscc.length": ("统一社会信用代码应为18位", "a credit code has 18 characters"),
        "uscc.format": (
            "含非法字符（只能是数字和除I、O、S、V、Z以外的大写字母）",
            "characters other than digits and capitals without I, O, S, V, Z",
        ),
        "uscc.check_char": ("校验码错误", "wrong check character (GB 32100 MOD 31)"),
        "uscc.org_check_char": (
            "组织机构代码校验码错误（GB 11714）",
            "wrong organisation-code check character (GB 11714)",
        ),
        "uscc.authority": ("登记管理部门码无效", "unknown registration authority"),
        "uscc.kind": (
            "机构类别码与登记管理部门不符",
            "institution type not assigned by this authority",
        ),
        "uscc.region": (
            "登记管理机关行政区划码不是GB/T 2260代码",
            "the registering office's region is no GB/T 2260 code",
        ),
    }

    def check(self, value: str | None) -> Verdict:
        if not value:
            return OK
        if len(value) != 18:
            return failed("uscc.length")
        if not _SHAPE.fullmatch(value):
            return failed("uscc.format")
        if value[17] != check_char(value[:17]):
            return failed("uscc.check_char")
        if value[16] != org_check_char(value[8:16]):
            return failed("uscc.org_check_char")
        kinds = AUTHORITY_TYPES.get(value[0])
        if kinds is None:
            return failed("uscc.authority")
        if value[1] not in kinds:
            return failed("uscc.kind")
        region = value[2:8]
        if region != NATIONAL_REGION and self.table.valid_years(region) is None:
            return failed("uscc.region")
        return OK

    def check_array(self, values: pa.Array) -> pa.Array:
        """``check`` over a column at once (``rongshu.standards.vectors``)."""
        return uscc_reasons_array(values, self.table)

    def sql(self, expr: str, dialect: SqlDialect) -> str:
        def char(position: int) -> str:
            return dialect.substring(expr, position, 1)

        total = " + ".join(
            f"{alphabet_value(char(i + 1), ALPHABET)} * {w}" for i, w in enumerate(WEIGHTS)
        )
        expected = f"substring('{ALPHABET}', CAST((31 - ({total}) % 31) % 31 AS INTEGER) + 1, 1)"
        org_total = " + ".join(
            f"{alphabet_value(char(i + 9), ORG_ALPHABET)} * {w}" for i, w in enumerate(ORG_WEIGHTS)
        )
        org_index = f"CAST((11 - ({org_total}) % 11) % 11 AS INTEGER) + 1"
        org_expected = f"substring('{ORG_CHECK_CHARS}', {org_index}, 1)"
        kind_ok = " OR ".join(
            f"({char(1)} = '{authority}' AND {char(2)} IN ({', '.join(repr(k) for k in kinds)}))"
            for authority, kinds in AUTHORITY_TYPES.items()
        )
        region = dialect.substring(expr, 3, 6)
        flag = self.table.year_flag_sql(region, "1")
        checks = [
            (f"{dialect.length(expr)} <> 18", "uscc.length"),
            (f"NOT {dialect.regex_match(expr, _SQL_SHAPE)}", "uscc.format"),
            (f"{char(18)} <> {expected}", "uscc.check_char"),
            (f"{char(17)} <> {org_expected}", "uscc.org_check_char"),
            (f"{char(1)} NOT IN ({', '.join(repr(a) for a in AUTHORITY_TYPES)})", "uscc.authority"),
            (f"NOT ({kind_ok})", "uscc.kind"),
            (f"{region} <> '{NATIONAL_REGION}' AND {flag} = 'u'", "uscc.region"),
        ]
        return first_failure(expr, checks)


# -- column at a time (rongshu.standards.vectors) -----------------------------------------------

_USCC_REASONS = (None, *UsccStandard.reasons)  # index 0: ok
_LENGTH, _FORMAT, _CHECK_CHAR, _ORG_CHECK_CHAR, _AUTHORITY, _KIND, _REGION = (
    _USCC_REASONS.index(f"uscc.{name}")
    for name in ("length", "format", "check_char", "org_check_char", "authority", "kind", "region")
)
#: Value of each byte in the alphabets; -1 for bytes outside.
_VALUES = np.full(256, -1, dtype=np.int64)
_VALUES[np.frombuffer(ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(ALPHABET))
_ORG_VALUES = np.full(256, -1, dtype=np.int64)
_ORG_VALUES[np.frombuffer(ORG_ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(ORG_ALPHABET))
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
_ORG_CHECK_BYTES = np.frombuffer(ORG_CHECK_CHARS.encode(), dtype=np.uint8)
#: Which (authority, institution type) byte pairs ``AUTHORITY_TYPES`` assigns.
_KINDS = np.zeros((256, 256), dtype=np.bool_)
for _authority, _types in AUTHORITY_TYPES.items():
    _KINDS[ord(_authority), np.frombuffer(_types.encode(), dtype=np.uint8)] = True
_AUTHORITIES = np.asarray(_KINDS.any(axis=1), dtype=np.bool_)
_NATIONAL = int(NATIONAL_REGION)
_WEIGHT_ARRAY = np.array(WEIGHTS, dtype=np.int64)
_ORG_WEIGHT_ARRAY = np.array(ORG_WEIGHTS, dtype=np.int64)


def uscc_reasons_array(values: pa.Array, table: RegionTable) -> pa.Array:
    """``UsccStandard.check`` over a column at once: NULL where ok, else the reason code."""
    index, _ = table.arrays()
    codes = _reasons_kernel(*vectors.text_buffers(values), index)
    return vectors.reasons(codes, _USCC_REASONS)


@kernel
def _reasons_kernel(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    valid: npt.NDArray[np.bool_],
    index: npt.NDArray[np.int32],
) -> npt.NDArray[np.int8]:
    """Reason indexes of each value, in the order ``UsccStandard.check`` tests them."""
    codes = np.zeros(len(valid), dtype=np.int8)
    for row in range(len(valid)):
        start, end = offsets[row], offsets[row + 1]
        size = end - start
        if not valid[row] or size == 0:  # None and "" are ok
            continue
        if vectors.char_count(data, start, end) != 18:
            codes[row] = _LENGTH
            continue
        shaped = size == 18  # 18 characters, all ASCII
        total = 0
        if shaped:
            for at in range(17):
                value = _VALUES[data[start + at]]
                if value < 0:
                    shaped = False
                    break
                total += value * _WEIGHT_ARRAY[at]
        if not shaped or _VALUES[data[start + 17]] < 0:
            codes[row] = _FORMAT
            continue
        if data[start + 17] != _ALPHABET_BYTES[(31 - total % 31) % 31]:
            codes[row] = _CHECK_CHAR
            continue
        org_total = 0
        for at in range(8):
            org_total += _ORG_VALUES[data[start + 8 + at]] * _ORG_WEIGHT_ARRAY[at]
        if data[start + 16] != _ORG_CHECK_BYTES[(11 - org_total % 11) % 11]:
            codes[row] = _ORG_CHECK_CHAR
        elif not _AUTHORITIES[data[start]]:
            codes[row] = _AUTHORITY
        elif not _KINDS[data[start], data[start + 1]]:
            codes[row] = _KIND
        else:
            region = vectors.digits_value(data, start + 2, 6)
            if region < 0 or (region != _NATIONAL and index[region] < 0):
                codes[row] = _REGION
    return codes
