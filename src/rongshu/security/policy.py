"""The masking policy matrix: for each masking profile, how each kind of field is shown.

A grant names a profile; a field's kind is its entity type (the steward's decision, or the
latest scan's suggestion until one is made), else its grade (``grade:general_4``). The entity's
rule wins over the grade's, and a field with neither rule is shown as stored. The security
admin edits the matrix; ``DEFAULT_MATRIX`` is what a new installation starts with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rongshu.catalog.schemas import Grade
from rongshu.security.entities import EntityType
from rongshu.security.masking import Generalisation, Mask, MaskOperator
from rongshu.security.schemas import MaskingProfile

E, P, Op = EntityType, MaskingProfile, MaskOperator


def _m(operator: MaskOperator, **params: Any) -> Mask:
    return Mask(operator, params)


def grade_target(grade: Grade) -> str:
    """The matrix target of fields with no entity type but this grade."""
    return f"grade:{grade.value}"


_PARTIAL: Mapping[EntityType, Mask] = {
    E.RESIDENT_ID: _m(Op.PARTIAL, keep_start=4, keep_end=4),
    E.PHONE: _m(Op.PARTIAL, keep_start=3, keep_end=4),
    E.PERSON_NAME: _m(Op.PARTIAL, keep_start=1),
    E.BANK_CARD: _m(Op.PARTIAL, keep_start=6, keep_end=4),
    E.EMAIL: _m(Op.PARTIAL, keep_start=1, before="@"),
    E.PASSPORT: _m(Op.PARTIAL, keep_start=1, keep_end=3),
    E.VEHICLE_PLATE: _m(Op.PARTIAL, keep_start=2, keep_end=2),
    E.ADDRESS: _m(Op.GENERALISE, to=Generalisation.CITY.value),
    E.BIRTH_DATE: _m(Op.GENERALISE, to=Generalisation.YEAR.value),
    E.IP_ADDRESS: _m(Op.GENERALISE, to=Generalisation.IP_PREFIX.value),
    E.COORDINATES: _m(Op.GENERALISE, to=Generalisation.DECIMALS.value, digits=2),
}
_PSEUDONYMS = (E.RESIDENT_ID, E.PHONE, E.PERSON_NAME, E.BANK_CARD, E.EMAIL, E.PASSPORT)

#: (profile, target) → mask. ``clear`` has no rules: everything as stored.
DEFAULT_MATRIX: Mapping[tuple[MaskingProfile, str], Mask] = {
    **{(P.STANDARD, entity.value): mask for entity, mask in _PARTIAL.items()},
    (P.STANDARD, grade_target(Grade.CORE)): _m(Op.REDACT),
    (P.STANDARD, grade_target(Grade.IMPORTANT)): _m(Op.REDACT),
    **{(P.ANALYTICS, entity.value): _m(Op.PSEUDONYM) for entity in _PSEUDONYMS},
    (P.ANALYTICS, E.VEHICLE_PLATE.value): _m(Op.PSEUDONYM),
    (P.ANALYTICS, E.ADDRESS.value): _m(Op.GENERALISE, to=Generalisation.CITY.value),
    (P.ANALYTICS, E.BIRTH_DATE.value): _m(Op.GENERALISE, to=Generalisation.AGE_BAND.value),
    (P.ANALYTICS, E.IP_ADDRESS.value): _m(Op.GENERALISE, to=Generalisation.IP_PREFIX.value),
    (P.ANALYTICS, E.COORDINATES.value): _m(
        Op.GENERALISE, to=Generalisation.DECIMALS.value, digits=2
    ),
    (P.ANALYTICS, grade_target(Grade.CORE)): _m(Op.NULL),
    (P.ANALYTICS, grade_target(Grade.IMPORTANT)): _m(Op.NULL),
    **{(P.STRICT, entity.value): _m(Op.REDACT) for entity in E},
    (P.STRICT, E.RESIDENT_ID.value): _m(Op.ENCRYPT),
    (P.STRICT, E.BANK_CARD.value): _m(Op.ENCRYPT),
    (P.STRICT, E.PASSPORT.value): _m(Op.ENCRYPT),
    (P.STRICT, grade_target(Grade.GENERAL_4)): _m(Op.NULL),
    (P.STRICT, grade_target(Grade.IMPORTANT)): _m(Op.NULL),
    (P.STRICT, grade_target(Grade.CORE)): _m(Op.NULL),
}


def mask_for(
    matrix: Mapping[tuple[MaskingProfile, str], Mask],
    profile: MaskingProfile,
    entity: EntityType | None,
    grade: Grade,
) -> Mask:
    """The mask ``profile`` puts on a field holding ``entity`` (if known) with ``grade``."""
    if entity is not None and (profile, entity.value) in matrix:
        return matrix[(profile, entity.value)]
    return matrix.get((profile, grade_target(grade)), Mask(MaskOperator.CLEAR))
