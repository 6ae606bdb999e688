"""Which source column feeds which catalog field, guessed from the columns' names.

Departments name columns in many ways: the field's English name (``id_number``, ``idNumber``,
``ID Number``), its Chinese name (``公民身份号码``), a synonym (``身份证号``), pinyin initials from
older systems (``sfzh``), a unit in brackets (``月缴费基数(元)``), or a merged Excel header
flattened in front of the label (``学生基本信息/姓名``). ``match_columns`` tries the strictest
reading first and only accepts a loose one when it points at exactly one field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rongshu.catalog.schemas import FieldSpec

_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_UNIT = re.compile(r"\([^()]*\)$")
_SEPARATORS = re.compile(r"[\s_\-.·]+")
_GROUP = re.compile(r"[/\\|>:：\-_·\s]+")

#: Names that mean the same field; written loosely, compared by ``column_key``.
ALIAS_GROUPS: tuple[tuple[str, ...], ...] = (
    ("公民身份号码", "身份证号", "身份证号码", "身份证件号", "身份证件号码", "证件号码", "证件号",
     "id_number", "id_no", "idcard", "id_card", "id_card_no", "sfzh", "sfzhm", "zjhm"),
    ("姓名", "名字", "xm", "name", "full_name", "person_name"),
    ("性别", "xb", "gender", "sex"),
    ("出生日期", "出生年月日", "生日", "csrq", "birth_date", "birthday", "date_of_birth", "dob"),
    ("民族", "mz", "ethnicity", "nation"),
    ("联系电话", "电话", "电话号码", "手机", "手机号", "手机号码", "联系方式", "联系号码", "lxdh",
     "sjhm", "phone", "telephone", "tel", "mobile", "phone_number"),
    ("统一社会信用代码", "社会信用代码", "信用代码", "tyshxydm", "shxydm", "credit_code", "uscc"),
    ("行政区划代码", "区划代码", "行政区划", "xzqhdm", "xzqh", "district_code", "region_code",
     "area_code", "division_code"),
    ("地址", "住址", "联系地址", "家庭住址", "dz", "address", "addr"),
    ("记录编号", "编号", "序号", "id", "record_id", "record_no"),
)  # fmt: skip


def column_key(name: str) -> str:
    """``name`` compared loosely: half-width, lower case, no unit in brackets, no separators."""
    text = name.translate(_FULLWIDTH).strip().lower()
    text = _UNIT.sub("", text).strip() or text
    return _SEPARATORS.sub("", text)


_ALIASES: dict[str, int] = {}
for _index, _group in enumerate(ALIAS_GROUPS):
    for _name in _group:
        _ALIASES.setdefault(column_key(_name), _index)


def _last_segment(name: str) -> str:
    """The label under a flattened group header: ``学生基本信息/姓名`` → ``姓名``."""
    text = name.translate(_FULLWIDTH).strip()
    parts = [part for part in _GROUP.split(_UNIT.sub("", text).strip() or text) if part]
    return parts[-1] if len(parts) > 1 else ""


def _field_keys(field: FieldSpec) -> set[str]:
    return {key for key in (column_key(field.english_name), column_key(field.name)) if key}


def _field_aliases(field: FieldSpec) -> set[int]:
    return {_ALIASES[key] for key in _field_keys(field) if key in _ALIASES}


Rule = Callable[[str, FieldSpec], bool]


def _exact_english(source: str, field: FieldSpec) -> bool:
    return bool(field.english_name) and source == field.english_name


def _exact_name(source: str, field: FieldSpec) -> bool:
    return source.strip() == field.name


def _loose(source: str, field: FieldSpec) -> bool:
    return column_key(source) in _field_keys(field)


def _alias(source: str, field: FieldSpec) -> bool:
    group = _ALIASES.get(column_key(source))
    return group is not None and group in _field_aliases(field)


def _segment_loose(source: str, field: FieldSpec) -> bool:
    segment = _last_segment(source)
    return bool(segment) and (_loose(segment, field) or _alias(segment, field))


#: (rule, whether it must point at exactly one field and one column), strictest first.
_RULES: tuple[tuple[Rule, bool], ...] = (
    (_exact_english, False),
    (_exact_name, False),
    (_loose, False),
    (_alias, True),
    (_segment_loose, True),
)


def match_columns(source_columns: Sequence[str], fields: Sequence[FieldSpec]) -> dict[str, str]:
    """Field english name → source column, for every field a column can be found for."""
    matched: dict[str, str] = {}
    used: set[str] = set()
    for rule, unique in _RULES:
        open_fields = [f for f in fields if f.english_name and f.english_name not in matched]
        open_sources = [s for s in source_columns if s not in used]
        for field in open_fields:
            candidates = [s for s in open_sources if s not in used and rule(s, field)]
            if not candidates:
                continue
            if unique:
                others = [f for f in open_fields if f is not field and rule(candidates[0], f)]
                if len(candidates) > 1 or others:
                    continue
            matched[field.english_name] = candidates[0]
            used.add(candidates[0])
    return matched
