"""The departments' records link back to real residents and obey the rules of their domain."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest

from rongshu.demo.identifiers import IdSequenceAllocator, ric_is_valid_checksum, uscc_is_valid
from rongshu.demo.population import REFERENCE_DATE, Person, Population
from rongshu.demo.records import ProviderRecords
from rongshu.demo.schema import TABLE_BY_KEY
from rongshu.standards import get_standard

Tables = dict[str, list[dict[str, object]]]


@pytest.fixture(scope="module")
def derived() -> tuple[Tables, dict[str, Person]]:
    population = Population(random.Random(21), IdSequenceAllocator(), 8_000)
    records = ProviderRecords(21, 8_000)
    tables: Tables = {}
    people: dict[str, Person] = {}
    for chunk in population.chunks(2_000):
        for household in chunk.households:
            people.update((p.id_number, p) for p in household.members)
        for key, rows in records.derive(chunk).items():
            names = TABLE_BY_KEY[key].column_names
            assert all(len(row) == len(names) for row in rows), key
            tables.setdefault(key, []).extend(dict(zip(names, r, strict=True)) for r in rows)
    return tables, people


def test_every_people_linked_table_has_rows(derived: tuple[Tables, dict[str, Person]]) -> None:
    tables, _ = derived
    sizes = {key: len(rows) for key, rows in tables.items()}
    assert all(size > 20 for size in sizes.values()), sizes
    assert sizes["social_insurance"] > sizes["property_registrations"] > sizes["student_status"]


def test_id_numbers_point_at_residents(derived: tuple[Tables, dict[str, Person]]) -> None:
    tables, people = derived
    columns = {
        "social_insurance": ("id_number",),
        "enterprise_registry": ("legal_rep_id_number",),
        "birth_certificates": ("mother_id_number", "father_id_number"),
        "marriage_registrations": ("husband_id_number", "wife_id_number"),
        "subsidy_payments": ("id_number",),
        "property_registrations": ("owner_id_number",),
        "student_status": ("id_number",),
        "vehicle_registrations": ("owner_id_number",),
    }
    for key, names in columns.items():
        for row in tables[key]:
            for name in names:
                assert row[name] in people, (key, name)


def test_credit_codes_are_valid_everywhere(derived: tuple[Tables, dict[str, Person]]) -> None:
    tables, _ = derived
    codes = [r["credit_code"] for r in tables["enterprise_registry"]]
    codes += [r["taxpayer_id"] for r in tables["tax_registration"]]
    codes += [r["employer_credit_code"] for r in tables["social_insurance"]]
    present = [str(code) for code in codes if code]
    assert len(present) > 1000
    assert all(uscc_is_valid(code) for code in present)
    authorities = {code[:2] for code in present}
    assert {"91", "92", "12", "51"} <= authorities


def test_taxpayers_are_registered_firms_or_institutions(
    derived: tuple[Tables, dict[str, Person]],
) -> None:
    tables, _ = derived
    firms = {r["credit_code"]: r for r in tables["enterprise_registry"]}
    for row in tables["tax_registration"]:
        firm = firms.get(row["taxpayer_id"])
        if firm is None:
            assert str(row["taxpayer_id"])[0] in "15"
            continue
        assert row["taxpayer_name"] == firm["name"]
        assert isinstance(row["registration_date"], date)
        assert row["registration_date"] >= firm["established_date"]  # type: ignore[operator]


def test_births_have_a_mother_of_child_bearing_age(
    derived: tuple[Tables, dict[str, Person]],
) -> None:
    tables, people = derived
    for row in tables["birth_certificates"]:
        mother = people[str(row["mother_id_number"])]
        born = row["birth_date"]
        assert isinstance(born, date) and 2019 <= born.year <= REFERENCE_DATE.year
        assert not mother.male and 16 <= mother.age_on(born) <= 50
        assert 1500 <= int(row["birth_weight_g"]) <= 5500  # type: ignore[call-overload]


def test_marriages_respect_the_legal_age(derived: tuple[Tables, dict[str, Person]]) -> None:
    tables, people = derived
    for row in tables["marriage_registrations"]:
        husband = people[str(row["husband_id_number"])]
        wife = people[str(row["wife_id_number"])]
        married = row["registration_date"]
        assert isinstance(married, date)
        assert husband.age_on(married) >= 22 and wife.age_on(married) >= 20
        assert husband.male and not wife.male
        assert re.fullmatch(r"J\d{6}-\d{4}-\d{7}", str(row["registration_no"]))


def test_students_sit_in_the_grade_of_their_age(derived: tuple[Tables, dict[str, Person]]) -> None:
    tables, people = derived
    primary = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")
    for row in tables["student_status"]:
        child = people[str(row["id_number"])]
        assert row["student_no"] == "G" + child.id_number
        age = child.age_on(date(REFERENCE_DATE.year, 9, 1))
        assert 6 <= age <= 17
        assert (row["grade"] in primary) == (age <= 11)
        assert ric_is_valid_checksum(str(row["id_number"]))


def test_property_certificates_have_the_official_shape(
    derived: tuple[Tables, dict[str, Person]],
) -> None:
    tables, _ = derived
    for row in tables["property_registrations"]:
        assert re.fullmatch(
            r"闽\(20(1[6-9]|2[0-4])\)榕城市不动产权第\d{7}号", str(row["certificate_no"])
        )
        assert len(str(row["unit_no"])) == 28
        assert 10 <= float(row["building_area"]) <= 300  # type: ignore[arg-type]


def test_firms_register_real_looking_mailboxes(derived: tuple[Tables, dict[str, Person]]) -> None:
    tables, _ = derived
    email = get_standard("email")
    firms = tables["enterprise_registry"]
    mailboxes = [str(row["email"]) for row in firms if row["email"] is not None]
    assert all(email.check(box).ok for box in mailboxes), mailboxes
    assert all(box == box.lower() and box.isascii() for box in mailboxes)
    # Only sole traders and co-operatives leave the mailbox out.
    for row in firms:
        if row["email"] is None:
            assert row["entity_type"] in ("个体工商户", "农民专业合作社"), row
    assert 0.7 < len(mailboxes) / len(firms) < 0.97
    domains = {box.partition("@")[2] for box in mailboxes}
    assert {"163.com", "qq.com", "126.com"} <= domains
    assert any(d.endswith(".com.cn") for d in domains) and any(d.endswith(".cn") for d in domains)
    assert any(re.fullmatch(r"[1-9]\d{4,9}@qq\.com", box) for box in mailboxes)


def test_each_recipient_is_paid_into_one_bank_card(
    derived: tuple[Tables, dict[str, Person]],
) -> None:
    tables, _ = derived
    card = get_standard("bank_card")
    cards: dict[str, set[tuple[object, object]]] = {}
    for row in tables["subsidy_payments"]:
        assert card.check(str(row["bank_card"])).ok, row
        cards.setdefault(str(row["id_number"]), set()).add((row["bank"], row["bank_card"]))
    assert all(len(held) == 1 for held in cards.values())
    numbers = [number for held in cards.values() for _, number in held]
    assert len(set(numbers)) == len(numbers)
