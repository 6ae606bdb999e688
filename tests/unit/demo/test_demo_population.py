"""The residents: households that hang together, valid IDs that agree with the other columns."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest

from rongshu.demo.identifiers import IdSequenceAllocator, ric_is_valid_checksum
from rongshu.demo.population import (
    NEAR_DUPLICATE_RATE,
    REFERENCE_DATE,
    Population,
    PopulationChunk,
)
from rongshu.demo.regions import region_valid_for_birth_year
from rongshu.demo.schema import HOUSEHOLD_REGISTRY

ROWS = 6_000
COLUMNS = HOUSEHOLD_REGISTRY.column_names


@pytest.fixture(scope="module")
def chunks() -> list[PopulationChunk]:
    population = Population(random.Random(11), IdSequenceAllocator(), ROWS)
    return list(population.chunks(1_000))


def _rows(chunks: list[PopulationChunk]) -> list[dict[str, object]]:
    return [dict(zip(COLUMNS, row, strict=True)) for c in chunks for row in c.registry_rows]


def test_exactly_the_requested_rows_in_chunks(chunks: list[PopulationChunk]) -> None:
    assert [len(c.registry_rows) for c in chunks] == [1_000] * 6
    ids = [row["person_id"] for row in _rows(chunks)]
    assert len(set(ids)) == ROWS


def test_id_numbers_agree_with_birth_date_gender_and_region(chunks: list[PopulationChunk]) -> None:
    for row in _rows(chunks):
        number = str(row["id_number"])
        birth = row["birth_date"]
        assert isinstance(birth, date)
        assert ric_is_valid_checksum(number)
        assert number[6:14] == birth.strftime("%Y%m%d")
        assert (int(number[16]) % 2 == 1) == (row["gender"] == "男")
        assert region_valid_for_birth_year(number[:6], birth.year), number


def test_distinct_people_have_distinct_id_numbers(chunks: list[PopulationChunk]) -> None:
    people = [p for c in chunks for h in c.households for p in h.members]
    assert len({p.id_number for p in people}) == len(people)


def test_households_hang_together(chunks: list[PopulationChunk]) -> None:
    households = [h for c in chunks for h in c.households]
    sizes = [len(h.members) for h in households]
    assert 2.3 < sum(sizes) / len(sizes) < 3.2
    for household in households:
        assert household.head.relation == "户主"
        assert {p.household_no for p in household.members} == {household.household_no}
        assert len({p.address.full for p in household.members}) == 1
        if household.husband and household.wife:
            assert household.husband.male and not household.wife.male
            for child in household.children:
                assert child.name[0] == household.husband.name[0]  # the father's surname
                assert child.birth > household.wife.birth


def test_ages_look_like_a_chinese_city(chunks: list[PopulationChunk]) -> None:
    people = [p for c in chunks for h in c.households for p in h.members]
    ages = [p.age_on(REFERENCE_DATE) for p in people]
    assert 0.08 < sum(a < 15 for a in ages) / len(ages) < 0.25
    assert 0.10 < sum(a >= 60 for a in ages) / len(ages) < 0.35
    assert max(ages) < 105
    migrants = sum(not p.id_number.startswith("3501") for p in people)
    assert 0.05 < migrants / len(people) < 0.25


def test_near_duplicates_at_the_configured_rate(chunks: list[PopulationChunk]) -> None:
    duplicates = [d for c in chunks for d in c.duplicates]
    assert abs(len(duplicates) / ROWS - NEAR_DUPLICATE_RATE) < 0.01
    rows = {row["person_id"]: row for row in _rows(chunks)}
    kinds: Counter[str] = Counter()
    for duplicate in duplicates:
        original, copy = rows[duplicate.original_id], rows[duplicate.duplicate_id]
        changed = {column for column, _, _ in duplicate.changes}
        kinds.update(changed)
        differing = {c for c in COLUMNS if original[c] != copy[c]} - {"person_id", "relation"}
        assert differing == changed, duplicate
        for column, old, new in duplicate.changes:
            assert original[column] == old and copy[column] == new and old != new
        assert copy["birth_date"] == original["birth_date"]
    assert {"name", "phone", "household_address", "id_number"} <= set(kinds)
