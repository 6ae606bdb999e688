"""Rules from the catalog: what the names in a field's ``rules`` list stand for.

A name is a rule kind, optionally with an argument after a colon:

- ``not_null``, ``unique``
- any standard of ``rongshu.standards`` (``ric``, ``uscc``, ``region``, ``phone``, ``date``, ...)
- ``range:LOW~HIGH`` (numbers or ISO dates; either side may be left out); a bare ``range``
  takes its bounds from the field's description when it says ``有效范围 LOW～HIGH``
- ``length:MIN~MAX``, ``enum:A|B|C``, ``regex:PATTERN``
- ``ric_birth_date:ID_FIELD``, ``ric_gender:ID_FIELD``, ``ric_region:ID_FIELD`` (on the birth
  date, gender or district field, naming the field that holds the ID number)
- ``referential:RESOURCE/COLUMN``

A resource with a regular update cycle also gets a ``timeliness`` rule. Names that say none of
these are reported, not guessed.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Any

from pydantic import ValidationError

from rongshu.catalog.schemas import FieldSpec, FieldType, UpdateCycle
from rongshu.quality.schemas import RuleCreate, RuleKind, Severity, SkippedRule

_DESCRIBED_RANGE = re.compile(r"有效范围\s*(-?[\d.]+)\s*[～~]\s*(-?[\d.]+)")
#: Kinds whose argument names the ID-number field.
_ID_KINDS = {RuleKind.RIC_BIRTH_DATE, RuleKind.RIC_GENDER, RuleKind.RIC_REGION}
#: Kinds a catalog may name; custom SQL and timeliness are not field rules of a catalog.
_CATALOG_KINDS = {
    RuleKind.NOT_NULL,
    RuleKind.UNIQUE,
    RuleKind.RANGE,
    RuleKind.LENGTH,
    RuleKind.ENUM,
    RuleKind.REGEX,
    RuleKind.REFERENTIAL,
    *_ID_KINDS,
}
#: Kinds whose failures are worth a look rather than certainly wrong.
_WARNING_KINDS = {RuleKind.RANGE, RuleKind.TIMELINESS}


def fingerprint(field: str | None, kind: RuleKind, params: dict[str, Any]) -> str:
    """What a rule checks, as a short stable text (the same check is never stored twice)."""
    text = json.dumps([field, kind.value, params], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def catalog_rules(
    resource_code: str, fields: list[FieldSpec], update_cycle: UpdateCycle
) -> tuple[list[RuleCreate], list[SkippedRule]]:
    """The rules the catalog declares for a resource, and the names that made none."""
    from rongshu.standards import STANDARDS

    rules: list[RuleCreate] = []
    skipped: list[SkippedRule] = []
    for spec in fields:
        column = spec.english_name.strip()
        for name in spec.rules:
            try:
                kind, params = _parse(name, spec, STANDARDS)
                rules.append(
                    RuleCreate(
                        resource_code=resource_code,
                        field=column,
                        kind=kind,
                        params=params,
                        severity=Severity.WARNING if kind in _WARNING_KINDS else Severity.ERROR,
                    )
                )
            except (ValueError, ValidationError) as exc:
                reason = _first_error(exc)
                skipped.append(SkippedRule(field=column or spec.name, rule=name, reason=reason))
    if update_cycle is not UpdateCycle.IRREGULAR:
        rules.append(
            RuleCreate(
                resource_code=resource_code,
                kind=RuleKind.TIMELINESS,
                severity=Severity.WARNING,
            )
        )
    return rules, skipped


def _parse(name: str, spec: FieldSpec, standards: Any) -> tuple[RuleKind, dict[str, Any]]:
    word, _, argument = name.strip().partition(":")
    word = word.strip()
    if word in standards:
        if spec.data_type in (FieldType.DATE, FieldType.DATETIME):
            raise ValueError(
                f"a {spec.data_type.label} field holds typed dates, and standards check text"
            )
        return RuleKind.STANDARD, {"standard": word}
    try:
        kind = RuleKind(word)
    except ValueError:
        raise ValueError(f"unknown rule {word!r}") from None
    if kind not in _CATALOG_KINDS:
        raise ValueError(f"{word} rules are added by stewards, not declared in the catalog")
    if kind in _ID_KINDS:
        if not argument:
            raise ValueError(f"write {word}:ID_FIELD, naming the field with the ID number")
        return kind, {"id_field": argument.strip()}
    if kind is RuleKind.RANGE:
        return kind, _range(argument, spec.description)
    if kind is RuleKind.LENGTH:
        low, high = _bounds(argument, "length:MIN~MAX")
        return kind, {"min": int(low) if low else None, "max": int(high) if high else None}
    if kind is RuleKind.ENUM:
        return kind, {"values": [v.strip() for v in argument.split("|") if v.strip()]}
    if kind is RuleKind.REGEX:
        return kind, {"pattern": argument}
    if kind is RuleKind.REFERENTIAL:
        resource, slash, column = argument.partition("/")
        if not slash:
            raise ValueError("write referential:RESOURCE/COLUMN")
        return kind, {"resource": resource.strip(), "column": column.strip()}
    if argument:
        raise ValueError(f"{word} takes no argument")
    return kind, {}


def _range(argument: str, description: str) -> dict[str, Any]:
    if argument:
        low, high = _bounds(argument, "range:LOW~HIGH")
    else:
        described = _DESCRIBED_RANGE.search(description)
        if described is None:
            raise ValueError("write range:LOW~HIGH, or state 有效范围 LOW～HIGH in the description")
        low, high = described.groups()
    return {"min": _bound(low), "max": _bound(high)}


def _bounds(argument: str, form: str) -> tuple[str, str]:
    low, tilde, high = argument.replace("～", "~").partition("~")
    if not tilde:
        raise ValueError(f"write {form}")
    return low.strip(), high.strip()


def _bound(text: str) -> float | str | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return float(text)  # ValueError names a bound that is neither


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return str(exc)
