"""Grades suggested from what a column holds (GB/T 35273, GB/T 43697), and 就高从严.

GB/T 35273-2020 (个人信息安全规范) sorts personal information into personal information and
*sensitive* personal information (Annex B: identity document numbers, bank accounts, precise
location, ...). GB/T 43697-2024 (数据分类分级规则) grades data as core, important, or general
in levels. The mapping we suggest, which a steward confirms or overrides:

- sensitive personal information → 一般数据4级 (``general_4``);
- other personal information (name, phone, e-mail, address, date of birth, IP address, plate)
  → 一般数据3级 (``general_3``);
- identifiers of organisations, which are public by law (统一社会信用代码) → 一般数据2级;
- anything else keeps the declared grade.

Coordinates are a person's precise location only when the same table identifies people; a
monitoring station's longitude is not personal. A resource takes the highest grade of its fields
(就高从严), and sensitive personal information of at least ``IMPORTANT_DATA_PEOPLE`` rows makes it
important data (GB/T 43697 Annex G: personal information reaching a scale that threatens national
security or the public interest when leaked).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rongshu.catalog.schemas import Grade
from rongshu.security.entities import EntityType

#: Rows of sensitive personal information from which a resource is suggested as important data.
IMPORTANT_DATA_PEOPLE = 1_000_000

SENSITIVE: frozenset[EntityType] = frozenset(
    {EntityType.RESIDENT_ID, EntityType.BANK_CARD, EntityType.PASSPORT, EntityType.COORDINATES}
)
PERSONAL: frozenset[EntityType] = SENSITIVE | {
    EntityType.PERSON_NAME,
    EntityType.PHONE,
    EntityType.EMAIL,
    EntityType.ADDRESS,
    EntityType.BIRTH_DATE,
    EntityType.IP_ADDRESS,
    EntityType.VEHICLE_PLATE,
}
#: Entity types that identify a person (coordinates next to them locate that person).
IDENTIFYING: frozenset[EntityType] = frozenset(
    {
        EntityType.RESIDENT_ID,
        EntityType.PERSON_NAME,
        EntityType.PHONE,
        EntityType.PASSPORT,
        EntityType.BANK_CARD,
        EntityType.VEHICLE_PLATE,
    }
)


@dataclass(frozen=True)
class FieldGrade:
    """The grade suggested for one field, and why."""

    grade: Grade
    is_personal: bool
    is_sensitive: bool
    basis: str


def field_grade(
    entity: EntityType | None, table_entities: Iterable[EntityType | None]
) -> FieldGrade:
    """The suggestion for a field holding ``entity``, in a table whose columns hold
    ``table_entities`` (to tell a person's location from a station's)."""
    if entity is None:
        return FieldGrade(Grade.GENERAL_1, False, False, "no personal information found")
    if entity is EntityType.COORDINATES and not IDENTIFYING & set(table_entities):
        return FieldGrade(
            Grade.GENERAL_1, False, False, "coordinates of things, not of identified people"
        )
    if entity in SENSITIVE:
        return FieldGrade(
            Grade.GENERAL_4,
            True,
            True,
            f"{entity.label}: sensitive personal information (GB/T 35273-2020 Annex B)",
        )
    if entity in PERSONAL:
        return FieldGrade(
            Grade.GENERAL_3, True, False, f"{entity.label}: personal information (GB/T 35273-2020)"
        )
    return FieldGrade(
        Grade.GENERAL_2, False, False, f"{entity.label}: an organisation's public identifier"
    )


def resource_grade(field_grades: Iterable[Grade], *, sensitive_rows: int) -> Grade:
    """就高从严: the highest field grade, raised to important data when sensitive personal
    information covers at least ``IMPORTANT_DATA_PEOPLE`` rows."""
    highest = max(field_grades, key=lambda g: g.rank, default=Grade.GENERAL_1)
    if sensitive_rows >= IMPORTANT_DATA_PEOPLE and highest.rank < Grade.IMPORTANT.rank:
        return Grade.IMPORTANT
    return highest
