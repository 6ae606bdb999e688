"""Masking (脱敏) operators: as SQL the lake engine runs when data is read, and as a Python
reference implementation that defines what each operator means.

Every operator has both forms, side by side, and the property tests run both over random and
awkward values of every entity type: the SQL form is what serves consumers (vectorised inside
the engine, never a Python loop over rows), the Python form is the specification it must equal.

Operators:

- ``clear``: the value as stored.
- ``partial``: keep ``keep_start`` leading and ``keep_end`` trailing characters and write ``*``
  for each one between (``3501**********1234``, ``138****5678``, ``张*``); with ``before`` set
  (``@`` for e-mail), only the part before the first ``before`` is masked. A value no longer
  than what would be kept is all ``*``.
- ``redact``: a fixed text (``replacement``, ``***`` by default) for every present value.
- ``pseudonym``: keyed SM3-HMAC of the value, lower-case hex, ``length`` characters (32 by
  default): the same input gives the same token under the same key, so consumers can join.
- ``generalise``: ``to`` one of ``year`` (``1990``) or ``month`` (``1990-05``) of a date;
  ``age_band`` (``30-39``, from a date of birth or an ID number's birth date, ``width`` years);
  ``city`` (a region code's city, ``350102`` → ``350100``; an address up to its first 市);
  ``decimals`` (coordinates cut, not rounded, to ``digits`` decimals); ``ip_prefix``
  (``10.1.2.0`` for IPv4, the first three groups and ``::`` for IPv6).
- ``encrypt``: SM4-GCM under the masking key (``sm4gcm:v<version>:<base64>``), reversible only
  with that key.
- ``null``: NULL.

Absent values (NULL) stay NULL under every operator; an empty text is absent too (``clear``
shows it as stored).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa

from rongshu.catalog.schemas import FieldType, LabelledEnum
from rongshu.core.crypto import hmac_sm3
from rongshu.core.errors import ValidationFailed
from rongshu.lake.dialect import SqlDialect
from rongshu.security.entities import EntityType
from rongshu.standards.ric import ric_birth_date, ric_birth_date_sql


class MaskOperator(LabelledEnum):
    """How a masking rule shows a field."""

    CLEAR = "clear", "明文"
    PARTIAL = "partial", "部分遮盖"
    REDACT = "redact", "替换"
    PSEUDONYM = "pseudonym", "假名化 (SM3-HMAC)"
    GENERALISE = "generalise", "泛化"
    ENCRYPT = "encrypt", "加密 (SM4-GCM)"
    NULL = "null", "置空"


class Generalisation(LabelledEnum):
    """What ``generalise`` keeps."""

    YEAR = "year", "年份"
    MONTH = "month", "年月"
    AGE_BAND = "age_band", "年龄段"
    CITY = "city", "到市级"
    DECIMALS = "decimals", "保留小数位"
    IP_PREFIX = "ip_prefix", "网段"


_CALENDAR = (Generalisation.YEAR.value, Generalisation.MONTH.value)
#: SQL function names the engine must have for the keyed operators (``register_function``).
PSEUDONYM_FUNCTION = "rongshu_pseudonym"
PSEUDONYM_FULL_FUNCTION = "rongshu_pseudonym_full"
#: The default pseudonym's hex characters; ``PSEUDONYM_FUNCTION`` writes exactly these.
PSEUDONYM_LENGTH = 32
ENCRYPT_FUNCTION = "rongshu_encrypt"
ENCRYPTED_PREFIX = "sm4gcm"


@dataclass(frozen=True)
class Mask:
    """One operator with its parameters, checked once when built."""

    operator: MaskOperator
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_params(self.operator, self.params)

    def param(self, name: str) -> Any:
        return self.params.get(name, _DEFAULTS.get(self.operator, {}).get(name))


_DEFAULTS: Mapping[MaskOperator, Mapping[str, Any]] = {
    MaskOperator.PARTIAL: {"keep_start": 0, "keep_end": 0, "before": None},
    MaskOperator.REDACT: {"replacement": "***"},
    MaskOperator.PSEUDONYM: {"length": PSEUDONYM_LENGTH},
    MaskOperator.GENERALISE: {"to": None, "width": 10, "digits": 2},
}
_ALLOWED: Mapping[MaskOperator, frozenset[str]] = {
    operator: frozenset(_DEFAULTS.get(operator, {})) for operator in MaskOperator
}
# A replacement is shown to consumers as it is: keep it short and plain.
_PLAIN = re.compile(r"^[^\x00-\x1f'\\]{0,32}$")


def check_params(operator: MaskOperator, params: Mapping[str, Any]) -> None:
    """Refuse unknown parameters and out-of-range values, naming each problem."""
    problems: list[dict[str, Any]] = []
    for name in params:
        if name not in _ALLOWED[operator]:
            problems.append({"field": name, "reason": "unknown_parameter"})

    def number(name: str, low: int, high: int) -> None:
        value = params.get(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high
        ):
            problems.append({"field": name, "reason": "out_of_range", "min": low, "max": high})

    number("keep_start", 0, 64)
    number("keep_end", 0, 64)
    number("length", 8, 64)
    number("width", 1, 100)
    number("digits", 0, 8)
    before = params.get("before")
    if before is not None and (not isinstance(before, str) or len(before) != 1):
        problems.append({"field": "before", "reason": "one_character"})
    replacement = params.get("replacement")
    if replacement is not None and (
        not isinstance(replacement, str) or not _PLAIN.match(replacement)
    ):
        problems.append({"field": "replacement", "reason": "plain_text_up_to_32"})
    if operator is MaskOperator.GENERALISE:
        to = params.get("to")
        if to not in {g.value for g in Generalisation}:
            problems.append({"field": "to", "reason": "one_of", "allowed": list(Generalisation)})
    if problems:
        raise ValidationFailed(
            f"the {operator.value} masking operator cannot take these parameters",
            details=problems,
        )


# -- the Python reference ------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskKeys:
    """The keys of the keyed operators: the pseudonym key and the encryption key's version."""

    pseudonym: bytes
    encrypt: Callable[[str], str] | None = None


def mask_value(
    value: object,
    mask: Mask,
    keys: MaskKeys,
    *,
    entity: EntityType | None = None,
    today: date | None = None,
) -> object:
    """The reference: ``value`` as ``mask`` shows it (``entity`` tells an ID number's birth date
    apart from a date of birth for ``age_band``)."""
    operator = mask.operator
    if operator is MaskOperator.CLEAR:
        return value
    if value is None or value == "":
        return None
    if operator is MaskOperator.NULL:
        return None
    if operator is MaskOperator.REDACT:
        return str(mask.param("replacement"))
    text = _text(value)
    if operator is MaskOperator.GENERALISE and mask.param("to") == Generalisation.DECIMALS:
        if not _NUMBER.fullmatch(text):
            return None
        scale = 10.0 ** int(mask.param("digits"))
        return math.floor(float(text) * scale) / scale
    if operator is MaskOperator.PARTIAL:
        return _partial(
            text, mask.param("keep_start"), mask.param("keep_end"), mask.param("before")
        )
    if operator is MaskOperator.PSEUDONYM:
        return hmac_sm3(keys.pseudonym, text.encode()).hex()[: mask.param("length")]
    if operator is MaskOperator.ENCRYPT:
        if keys.encrypt is None:
            raise ValidationFailed("no encryption key is configured for masking")
        return keys.encrypt(text)
    return _generalise(text, mask, entity, today or date.today())


def _text(value: object) -> str:
    """A value as the SQL form's ``CAST(... AS VARCHAR)`` writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date) else str(value)


def _partial(text: str, keep_start: int, keep_end: int, before: str | None) -> str:
    if before is not None and before in text:
        head, tail = text.split(before, 1)
        return _partial(head, keep_start, keep_end, None) + before + tail
    if len(text) <= keep_start + keep_end:
        return "*" * len(text)
    return (
        text[:keep_start] + "*" * (len(text) - keep_start - keep_end) + text[len(text) - keep_end :]
    )


# A plain decimal number, as both Python's float() and the engine's cast read it alike.
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")
_IPV4_LAST = re.compile(r"\.[0-9]+\Z")
_IPV6_HEAD = re.compile(r"^([0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4})")


def _generalise(text: str, mask: Mask, entity: EntityType | None, today: date) -> object:
    to = Generalisation(mask.param("to"))
    if to is Generalisation.YEAR:
        return text[:4] if _ISO_DATE.match(text) else None
    if to is Generalisation.MONTH:
        return text[:7] if _ISO_DATE.match(text) else None
    if to is Generalisation.AGE_BAND:
        born = _birth(text, entity)
        if born is None:
            return None
        age = today.year - born.year - ((born.month, born.day) > (today.month, today.day))
        width = int(mask.param("width"))
        low = age // width * width
        return f"{low}-{low + width - 1}"
    if to is Generalisation.CITY:
        if re.fullmatch(r"[0-9]{6}", text):
            return text[:4] + "00"
        at = text.find("市")
        return text[: at + 1] if at >= 0 else None
    if to is Generalisation.IP_PREFIX:
        if ":" in text:
            head = _IPV6_HEAD.match(text)
            return head.group(1) + "::" if head else None
        return _IPV4_LAST.sub(".0", text)
    raise ValidationFailed(f"generalising to {to.value} is for numbers, not text")


def _birth(text: str, entity: EntityType | None) -> date | None:
    if entity is EntityType.RESIDENT_ID:
        return ric_birth_date(text)
    if not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


# -- the SQL form ----------------------------------------------------------------------------------


def mask_sql(
    expr: str,
    mask: Mask,
    dialect: SqlDialect,
    *,
    entity: EntityType | None = None,
    column_type: pa.DataType | None = None,
) -> str:
    """SQL for ``expr`` as ``mask`` shows it; keyed operators call ``PSEUDONYM_FUNCTION`` and
    ``ENCRYPT_FUNCTION``, which the caller registers on the engine with the keys. With the
    column's ``column_type``, dates are cut to their year or month without going through text."""
    operator = mask.operator
    to = mask.param("to")
    temporal = column_type is not None and (
        pa.types.is_date(column_type) or pa.types.is_timestamp(column_type)
    )
    if operator is MaskOperator.GENERALISE and temporal and to in _CALENDAR:
        # Four-digit years (all real ones) and two-digit months by a plain cast: padding every
        # value with lpad costs twice as much.
        y, m = f"EXTRACT(YEAR FROM {expr})", f"EXTRACT(MONTH FROM {expr})"
        year = (
            f"(CASE WHEN {y} >= 1000 THEN CAST({y} AS VARCHAR)"
            f" ELSE lpad(CAST({y} AS VARCHAR), 4, '0') END)"
        )
        if to == Generalisation.YEAR:
            return year
        return f"{year} || (CASE WHEN {m} >= 10 THEN '-' ELSE '-0' END) || CAST({m} AS VARCHAR)"
    if operator is MaskOperator.CLEAR:
        return expr
    if operator is MaskOperator.NULL:
        return "NULL"
    text = f"NULLIF({dialect.cast(expr, FieldType.STRING)}, '')"
    if operator is MaskOperator.GENERALISE and mask.param("to") == Generalisation.DECIMALS:
        scale = float(10 ** int(mask.param("digits")))
        number = dialect.safe_cast(text, FieldType.DECIMAL)
        is_number = dialect.regex_match(text, f"^({_NUMBER.pattern})$")
        return f"(CASE WHEN {is_number} THEN floor({number} * {scale!r}) / {scale!r} END)"
    if operator is MaskOperator.REDACT:
        replacement = dialect.string_literal(str(mask.param("replacement")))
        return f"(CASE WHEN {text} IS NULL THEN NULL ELSE {replacement} END)"
    if operator is MaskOperator.PARTIAL:
        return _partial_sql(text, mask, dialect)
    if operator is MaskOperator.PSEUDONYM:
        length = int(mask.param("length"))
        if length == PSEUDONYM_LENGTH:
            return f"{PSEUDONYM_FUNCTION}({text})"
        return dialect.substring(f"{PSEUDONYM_FULL_FUNCTION}({text})", 1, length)
    if operator is MaskOperator.ENCRYPT:
        return f"{ENCRYPT_FUNCTION}({text})"
    return _generalise_sql(text, mask, dialect, entity)


def _stars(count: str) -> str:
    return f"repeat('*', CAST({count} AS INTEGER))"


def _kept(text: str, start: int, end: int, dialect: SqlDialect) -> str:
    length = dialect.length(text)
    tail = dialect.substring(text, f"{length} - {end} + 1", end) if end else "''"
    head = dialect.substring(text, 1, start) if start else "''"
    return (
        f"(CASE WHEN {length} <= {start + end} THEN {_stars(length)}"
        f" ELSE {head} || {_stars(f'{length} - {start + end}')} || {tail} END)"
    )


def _partial_sql(text: str, mask: Mask, dialect: SqlDialect) -> str:
    start, end, before = mask.param("keep_start"), mask.param("keep_end"), mask.param("before")
    if before is None:
        return _kept(text, start, end, dialect)
    at = f"position({dialect.string_literal(before)} IN {text})"
    head = dialect.substring(text, 1, f"{at} - 1")
    rest = dialect.substring(text, at, f"{dialect.length(text)} - {at} + 1")
    return (
        f"(CASE WHEN {at} > 0 THEN {_kept(head, start, end, dialect)} || {rest}"
        f" ELSE {_kept(text, start, end, dialect)} END)"
    )


def _generalise_sql(text: str, mask: Mask, dialect: SqlDialect, entity: EntityType | None) -> str:
    to = Generalisation(mask.param("to"))
    iso = dialect.regex_match(text, "^[0-9]{4}-[0-9]{2}-[0-9]{2}")
    if to is Generalisation.YEAR:
        return f"(CASE WHEN {iso} THEN {dialect.substring(text, 1, 4)} END)"
    if to is Generalisation.MONTH:
        return f"(CASE WHEN {iso} THEN {dialect.substring(text, 1, 7)} END)"
    if to is Generalisation.AGE_BAND:
        day = dialect.safe_cast(dialect.substring(text, 1, 10), FieldType.DATE)
        born = (
            ric_birth_date_sql(text, dialect)
            if entity is EntityType.RESIDENT_ID
            else f"(CASE WHEN {iso} THEN {day} END)"
        )
        age = (
            f"(EXTRACT(YEAR FROM CURRENT_DATE) - EXTRACT(YEAR FROM {born})"
            f" - (CASE WHEN EXTRACT(MONTH FROM {born}) * 100 + EXTRACT(DAY FROM {born})"
            " > EXTRACT(MONTH FROM CURRENT_DATE) * 100 + EXTRACT(DAY FROM CURRENT_DATE)"
            " THEN 1 ELSE 0 END))"
        )
        width = int(mask.param("width"))
        low = f"(CAST(floor({age} / {width}) AS BIGINT) * {width})"
        return (
            f"(CASE WHEN {born} IS NOT NULL THEN CAST({low} AS VARCHAR) || '-' ||"
            f" CAST({low} + {width - 1} AS VARCHAR) END)"
        )
    if to is Generalisation.CITY:
        # Up to the first 市 by position, not by a regex: a third of the cost.
        at = f"position('市' IN {text})"
        city = f"(CASE WHEN {at} > 0 THEN {dialect.substring(text, 1, at)} END)"
        code = dialect.regex_match(text, "^[0-9]{6}$")
        return (
            f"(CASE WHEN {dialect.length(text)} = 6 AND {code}"
            f" THEN {dialect.substring(text, 1, 4)} || '00' ELSE {city} END)"
        )
    if to is Generalisation.IP_PREFIX:
        head = dialect.regex_extract(
            text, "^([0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4})", 1
        )
        v4 = f"regexp_replace({text}, '\\.[0-9]+$', '.0')"
        return (
            f"(CASE WHEN position(':' IN {text}) > 0 THEN NULLIF({head}, '') || '::' ELSE {v4} END)"
        )
    raise ValidationFailed(f"generalising to {to.value} is for numbers, not text")
