"""Vehicle registrations: residents' vehicles with valid, distinct plates of the city's office."""

from __future__ import annotations

import random
from datetime import date

import pytest

from rongshu.demo.generator import MAX_ROWS
from rongshu.demo.identifiers import IdSequenceAllocator, PlateSequence
from rongshu.demo.population import REFERENCE_DATE, Person, Population
from rongshu.demo.schema import VEHICLE_REGISTRATIONS
from rongshu.demo.vehicles import ELECTRIC_SHARE, VehicleRegistry
from rongshu.standards import get_standard

ROWS = 10_000


@pytest.fixture(scope="module")
def registered() -> tuple[list[dict[str, object]], dict[str, Person]]:
    population = Population(random.Random(8), IdSequenceAllocator(), ROWS)
    registry = VehicleRegistry(random.Random(9))
    people: dict[str, Person] = {}
    rows: list[dict[str, object]] = []
    for chunk in population.chunks(2_500):
        for household in chunk.households:
            people.update((p.id_number, p) for p in household.members)
        names = VEHICLE_REGISTRATIONS.column_names
        rows += [dict(zip(names, r, strict=True)) for r in registry.rows(chunk.households)]
    return rows, people


def test_owners_are_adult_residents_of_their_district(
    registered: tuple[list[dict[str, object]], dict[str, Person]],
) -> None:
    rows, people = registered
    for row in rows:
        owner = people[str(row["owner_id_number"])]
        assert row["owner_name"] == owner.name
        assert row["district_code"] == owner.address.district.code
        registered_on = row["registration_date"]
        assert isinstance(registered_on, date) and registered_on <= REFERENCE_DATE
        assert owner.age_on(registered_on) >= 18, row
        assert REFERENCE_DATE.year - registered_on.year <= 15


def test_plates_are_valid_distinct_and_green_only_for_new_energy_since_2017(
    registered: tuple[list[dict[str, object]], dict[str, Person]],
) -> None:
    rows, _ = registered
    plate = get_standard("plate")
    assert all(plate.check(str(row["plate_no"])).ok for row in rows)
    assert len({row["plate_no"] for row in rows}) == len(rows)
    assert len({row["registration_no"] for row in rows}) == len(rows)
    green = [row["registration_date"] for row in rows if "新能源" in str(row["plate_type"])]
    assert green and all(isinstance(d, date) and d.year >= min(ELECTRIC_SHARE) for d in green)
    assert 0.05 < len(green) / len(rows) < 0.25
    for row in rows:
        large = str(row["plate_type"]).startswith("大型")
        assert large == str(row["vehicle_type"]).startswith(("中型", "重型")), row


def test_every_vehicle_the_biggest_city_registers_gets_a_plate(
    registered: tuple[list[dict[str, object]], dict[str, Person]],
) -> None:
    rows, _ = registered
    per_row = len(rows) / ROWS
    assert 0.1 < per_row < 0.25  # about one resident in six owns a vehicle
    assert per_row * MAX_ROWS * 1.2 < PlateSequence(random.Random(0)).capacity
