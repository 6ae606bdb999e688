"""The residents of 榕城, generated household by household, and their near-duplicate records.

People come in households (a couple, their children, sometimes grandparents) that share an
address and a household number, so the other departments' tables can link back to them: a
baby's mother, a couple's marriage, a head of household's flat. About 2 % of the registry's rows
are near-duplicates of earlier people, drawn from a bounded reservoir so memory stays flat.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from rongshu.demo import names
from rongshu.demo.addresses import Address, address_variant, home_address, random_district
from rongshu.demo.identifiers import IdSequenceAllocator, make_ric, mobile_phone
from rongshu.demo.regions import (
    ALL_REGIONS,
    MIGRANT_REGIONS,
    MIGRANT_WEIGHTS,
    District,
    issue_year,
)
from rongshu.demo.sampling import Weighted

#: "Today" in the demo city: ages, dates and time series are fixed relative to it.
REFERENCE_DATE = date(2024, 12, 31)
_REF_ORDINAL = REFERENCE_DATE.toordinal()

#: Share of the registry's rows that are near-duplicates of an earlier person.
NEAR_DUPLICATE_RATE = 0.02
RESERVOIR_SIZE = 5_000

_ETHNICITIES = Weighted(
    ("汉族", "畲族", "回族", "满族", "苗族", "土家族", "壮族", "蒙古族", "彝族", "高山族"),
    (97.6, 0.9, 0.4, 0.3, 0.2, 0.2, 0.15, 0.1, 0.05, 0.05),
)

# Household types: single young adult, couple, couple with children, three generations,
# elderly couple, elderly person alone, middle-aged person alone (mean size ≈ 2.7).
_HOUSEHOLD_TYPES = Weighted(
    ("single", "couple", "family", "three_gen", "old_couple", "old_single", "mid"),
    (0.14, 0.10, 0.38, 0.12, 0.14, 0.07, 0.05),
)


class Person:
    """One resident as the household registry knows them (true values, before any defect)."""

    __slots__ = (
        "address",
        "birth",
        "ethnicity",
        "household_no",
        "id_number",
        "male",
        "marital",
        "name",
        "person_id",
        "phone",
        "relation",
    )

    def __init__(
        self,
        person_id: str,
        household_no: str,
        relation: str,
        name: str,
        id_number: str,
        male: bool,
        birth: date,
        ethnicity: str,
        marital: str,
        address: Address,
        phone: str,
    ) -> None:
        self.person_id = person_id
        self.household_no = household_no
        self.relation = relation
        self.name = name
        self.id_number = id_number
        self.male = male
        self.birth = birth
        self.ethnicity = ethnicity
        self.marital = marital
        self.address = address
        self.phone = phone

    @property
    def gender(self) -> str:
        """男 or 女."""
        return "男" if self.male else "女"

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day``."""
        years = day.year - self.birth.year
        return years - ((day.month, day.day) < (self.birth.month, self.birth.day))

    def registry_row(self) -> list[object]:
        """The row of ``household_registry`` (column order of its spec)."""
        return [
            self.person_id,
            self.household_no,
            self.relation,
            self.name,
            self.id_number,
            self.gender,
            self.birth,
            self.ethnicity,
            self.marital,
            self.address.full,
            self.address.district.code,
            self.phone,
        ]


@dataclass(slots=True)
class Household:
    """People sharing a household number and address; ``husband``/``wife`` may be None."""

    household_no: str
    address: Address
    members: list[Person] = field(default_factory=list)
    husband: Person | None = None
    wife: Person | None = None
    children: list[Person] = field(default_factory=list)
    low_income: bool = False

    @property
    def district(self) -> District:
        """The household's district."""
        return self.address.district

    @property
    def head(self) -> Person:
        """The head of household (户主), always the first member."""
        return self.members[0]


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A near-duplicate registry row: which person it repeats and what differs."""

    original_id: str
    duplicate_id: str
    changes: tuple[tuple[str, str, str], ...]  # (column, original value, duplicate's value)


@dataclass(slots=True)
class PopulationChunk:
    """A batch of households, the registry rows they make, and the duplicates among them."""

    households: list[Household]
    registry_rows: list[list[object]]
    duplicates: list[Duplicate]


_DUPLICATE_CHANGES = Weighted(
    ("name", "phone", "address", "id_number", "household"), (0.35, 0.25, 0.2, 0.1, 0.1)
)


class Population:
    """Streams the residents in chunks; exactly ``rows`` registry rows in total."""

    def __init__(self, rng: random.Random, allocator: IdSequenceAllocator, rows: int) -> None:
        self._rng = rng
        self._allocator = allocator
        self._remaining = rows
        self._next_person = 1
        self._next_household = 1
        self._reservoir: list[Person] = []
        self._seen = 0
        self._migrant_cache: dict[int, Weighted[str]] = {}

    def chunks(self, size: int) -> Iterator[PopulationChunk]:
        """Chunks of about ``size`` registry rows until all rows are out."""
        while self._remaining > 0:
            yield self._chunk(min(size, self._remaining))

    # -- households ---------------------------------------------------------------------------

    def _chunk(self, size: int) -> PopulationChunk:
        households: list[Household] = []
        rows: list[list[object]] = []
        duplicates: list[Duplicate] = []
        rng = self._rng
        while len(rows) < size:
            household = self._household()
            kept: list[Person] = []
            for person in household.members:
                if len(rows) >= size:
                    break
                if self._reservoir and rng.random() < NEAR_DUPLICATE_RATE:
                    duplicate_row, duplicate = self._duplicate(rng.choice(self._reservoir))
                    rows.append(duplicate_row)
                    duplicates.append(duplicate)
                    if len(rows) >= size:
                        break
                rows.append(person.registry_row())
                kept.append(person)
                self._remember(person)
            if len(kept) < len(household.members):
                household.members = kept
                household.husband = household.husband if household.husband in kept else None
                household.wife = household.wife if household.wife in kept else None
                household.children = [child for child in household.children if child in kept]
            if kept:
                households.append(household)
        self._remaining -= len(rows)
        return PopulationChunk(households, rows, duplicates)

    def _household(self) -> Household:
        rng = self._rng
        district = random_district(rng)
        number = f"{district.code}{self._next_household:09d}"
        self._next_household += 1
        household = Household(number, home_address(rng, district))
        kind = _HOUSEHOLD_TYPES.pick(rng)
        if kind in ("single", "mid", "old_single"):
            low, high = {"single": (20, 38), "mid": (38, 60), "old_single": (62, 96)}[kind]
            male = rng.random() < (0.55 if kind != "old_single" else 0.35)
            if kind == "single":
                marital = "未婚" if rng.random() < 0.9 else "离婚"
            elif kind == "mid":
                marital = rng.choice(("离婚", "未婚", "丧偶"))
            else:
                marital = "丧偶" if rng.random() < 0.85 else "离婚"
            self._add(household, "户主", names.surname(rng), male, self._age(low, high), marital)
            household.low_income = rng.random() < 0.03
            return household
        if kind == "old_couple":
            husband_age = self._age(58, 90)
        elif kind == "couple":
            husband_age = self._age(22.5, 40)
        else:
            husband_age = self._age(27, 58)
        wife_age = max(20.5, husband_age - rng.uniform(-1, 5))  # both of legal age to marry
        surname = names.surname(rng)
        husband = self._add(household, "户主", surname, True, husband_age, "已婚")
        # His parents come from the same place (locals get this district's code).
        origin: str | None = husband.id_number[:6]
        if origin is not None and origin.startswith("3501"):
            origin = None
        wife = self._add(household, "配偶", names.surname(rng), False, wife_age, "已婚")
        household.husband, household.wife = husband, wife
        if kind in ("family", "three_gen"):
            count = 1 if rng.random() < 0.55 else 2 if rng.random() < 0.85 else 3
            for _ in range(count):
                child_age = wife_age - rng.uniform(22, 38)
                if child_age < 0:
                    continue
                male = rng.random() < 0.52
                child = self._add(
                    household, "子" if male else "女", surname, male, child_age, "未婚", local=True
                )
                household.children.append(child)
        if kind == "three_gen":
            father_age = min(99.0, husband_age + rng.uniform(24, 35))
            both = rng.random() < 0.6
            if both or rng.random() < 0.4:
                marital = "已婚" if both else "丧偶"
                self._add(household, "父亲", surname, True, father_age, marital, origin)
            if both or len(household.members) == len(household.children) + 2:
                marital = "已婚" if both else "丧偶"
                mother_age = max(50.0, father_age - rng.uniform(0, 5))
                self._add(household, "母亲", names.surname(rng), False, mother_age, marital)
        household.low_income = rng.random() < 0.015
        return household

    def _age(self, low: float, high: float) -> float:
        return self._rng.uniform(low, high)

    def _add(
        self,
        household: Household,
        relation: str,
        surname: str,
        male: bool,
        age: float,
        marital: str,
        origin: str | None = None,
        *,
        local: bool = False,
    ) -> Person:
        rng = self._rng
        birth = date.fromordinal(_REF_ORDINAL - int(age * 365.2425) - 1)
        given = names.given_name(rng, male, birth.year)
        year = issue_year(birth.year)
        if origin is not None and not ALL_REGIONS[origin].valid_in(year):
            origin = None  # a parent older than the code of the family's home town
        if origin is None and not local:
            origin = self._origin_region(year)
        region = origin or household.district.id_code(year)
        sequence = self._allocator.allocate(region, birth, male)
        while sequence is None:  # this day's numbers are all taken here: use the next day
            birth -= timedelta(days=1)
            sequence = self._allocator.allocate(region, birth, male)
        ethnicity = _ETHNICITIES.pick(rng)
        if relation in ("子", "女") and household.husband is not None:
            ethnicity = household.husband.ethnicity
        if age >= 12 or not household.members:
            phone = mobile_phone(rng)
            if age >= 78 and household.members and rng.random() < 0.5:
                phone = household.head.phone
        else:
            phone = household.head.phone
        person = Person(
            f"RK{self._next_person:010d}",
            household.household_no,
            relation,
            surname + given,
            make_ric(region, birth, sequence),
            male,
            birth,
            ethnicity,
            marital,
            household.address,
            phone,
        )
        self._next_person += 1
        household.members.append(person)
        return person

    def _origin_region(self, year: int) -> str | None:
        """A migrant's home region code (valid in the year of issue), or None for locals."""
        rng = self._rng
        if rng.random() >= 0.15:
            return None
        migrants = self._migrant_cache.get(year)
        if migrants is None:
            valid = [
                (region.code, weight)
                for region, weight in zip(MIGRANT_REGIONS, MIGRANT_WEIGHTS, strict=True)
                if region.valid_in(year)
            ]
            migrants = Weighted([code for code, _ in valid], [weight for _, weight in valid])
            self._migrant_cache[year] = migrants
        return migrants.pick(rng)

    # -- near-duplicates ----------------------------------------------------------------------

    def _remember(self, person: Person) -> None:
        self._seen += 1
        if len(self._reservoir) < RESERVOIR_SIZE:
            self._reservoir.append(person)
            return
        slot = int(self._rng.random() * self._seen)
        if slot < RESERVOIR_SIZE:
            self._reservoir[slot] = person

    def _duplicate(self, original: Person) -> tuple[list[object], Duplicate]:
        rng = self._rng
        row = original.registry_row()
        duplicate_id = f"RK{self._next_person:010d}"
        self._next_person += 1
        row[0] = duplicate_id
        count = 1 if rng.random() < 0.5 else 2 if rng.random() < 0.7 else 3
        kinds: list[str] = []
        while len(kinds) < count:
            kind = _DUPLICATE_CHANGES.pick(rng)
            # A move to a new household replaces the address: never both.
            if kind not in kinds and not {"address", "household"} <= {kind, *kinds}:
                kinds.append(kind)
        changes: list[tuple[str, str, str]] = []
        for kind in kinds:
            changes.extend(self._change(kind, original, row))
        return row, Duplicate(original.person_id, duplicate_id, tuple(changes))

    def _change(self, kind: str, original: Person, row: list[object]) -> list[tuple[str, str, str]]:
        rng = self._rng
        if kind == "name":
            similar = names.similar_name(rng, original.name)
            if similar is None or rng.random() < 0.15:
                surname_length = 2 if original.name[:2] in names.COMPOUND_SURNAMES else 1
                space = " " if rng.random() < 0.7 else "\u3000"
                name = original.name
                similar = name[:surname_length] + space + name[surname_length:]
            row[3] = similar
            return [("name", original.name, similar)]
        if kind == "phone":
            phone = original.phone
            if rng.random() < 0.3:
                changed = mobile_phone(rng)
            else:
                positions = [i for i in range(3, 10) if phone[i] != phone[i + 1]]
                if not positions:
                    changed = mobile_phone(rng)
                else:
                    i = rng.choice(positions)
                    changed = phone[:i] + phone[i + 1] + phone[i] + phone[i + 2 :]
            row[11] = changed
            return [("phone", phone, changed)]
        if kind == "address":
            changed = address_variant(rng, original.address.full)
            row[9] = changed
            return [("household_address", original.address.full, changed)]
        if kind == "id_number":
            # A second number issued to the same person (一人多号): valid, but different.
            region = original.id_number[:6]
            sequence = self._allocator.allocate(region, original.birth, original.male)
            if sequence is None:
                return self._change("name", original, row)
            changed = make_ric(region, original.birth, sequence)
            row[4] = changed
            return [("id_number", original.id_number, changed)]
        # Registered again at a new home while the old record was never cancelled.
        district = random_district(rng)
        household_no = f"{district.code}{self._next_household:09d}"
        self._next_household += 1
        address = home_address(rng, district)
        row[1], row[2], row[9], row[10] = household_no, "户主", address.full, district.code
        changes = [
            ("household_no", original.household_no, household_no),
            ("household_address", original.address.full, address.full),
            ("district_code", original.address.district.code, district.code),
        ]
        return [change for change in changes if change[1] != change[2]]
