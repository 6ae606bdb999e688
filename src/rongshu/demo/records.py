"""The departments' records about the residents: insurance, firms, births, marriages and more.

Each chunk of households yields rows for every people-linked table; identifiers are the true
ones (defects are injected later), so the same person or firm links across departments. Vehicle
registrations (``vehicles``) and the portal's login log (``portal``) are made here too.
"""

from __future__ import annotations

import random
from collections import deque
from datetime import date, timedelta

from rongshu.demo.addresses import business_address, home_address, random_district
from rongshu.demo.identifiers import (
    OrgCodeSequence,
    bank_card,
    fixed_phone,
    make_uscc,
    mobile_phone,
)
from rongshu.demo.organisations import (
    Institutions,
    Organisation,
    build_institutions,
    firm_email,
    firm_name,
    pick_entity_kind,
    pick_industry,
)
from rongshu.demo.population import REFERENCE_DATE, Household, Person, PopulationChunk
from rongshu.demo.portal import PortalLogins
from rongshu.demo.regions import CITY_NAME
from rongshu.demo.vehicles import VehicleRegistry

Rows = list[list[object]]

_REF_ORDINAL = REFERENCE_DATE.toordinal()
_SCHOOL_YEAR_START = date(REFERENCE_DATE.year, 9, 1)
_GRADES = (
    *("一年级", "二年级", "三年级", "四年级", "五年级", "六年级"),
    *("七年级", "八年级", "九年级", "高一", "高二", "高三"),
)
_SUBSIDY_MONTHS = tuple(f"{REFERENCE_DATE.year}{month:02d}" for month in (10, 11, 12))
_BIRTH_LETTERS = {2019: "T", 2020: "U", 2021: "V", 2022: "W", 2023: "X", 2024: "Y"}
_CAPITALS = (3, 10, 30, 50, 100, 100, 200, 300, 500, 500, 1000, 2000, 5000)
#: Employers pool: recent firms that hire (bounded, so memory does not grow with the city).
EMPLOYER_POOL_SIZE = 4_000


def _day_between(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return date.fromordinal(first.toordinal() + int(rng.random() * (last - first).days))


def _birthday(person: Person, age: int) -> date:
    birth = person.birth
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:  # 29 February
        return birth.replace(year=birth.year + age, day=28)


class ProviderRecords:
    """Makes the people-linked tables of every provider from chunks of households.

    ``rows`` is the size of the whole registry: the login log spreads it over its quarter.
    """

    def __init__(self, seed: int, rows: int) -> None:
        def rng(purpose: str) -> random.Random:
            return random.Random(f"{seed}:{purpose}")

        self._rng = {
            key: rng(key)
            for key in (
                "enterprise_registry",
                "tax_registration",
                "social_insurance",
                "birth_certificates",
                "marriage_registrations",
                "subsidy_payments",
                "property_registrations",
                "student_status",
                # Columns with streams of their own draw nothing from their table's stream.
                "enterprise_email",
                "bank_cards",
            )
        }
        self._vehicles = VehicleRegistry(rng("vehicle_registrations"))
        self._logins = PortalLogins(rng("portal_login_log"), rows)
        self._codes = OrgCodeSequence(rng("org_codes"))
        self.institutions: Institutions = build_institutions(rng("institutions"), self._codes)
        self._employers: deque[Organisation] = deque(maxlen=EMPLOYER_POOL_SIZE)
        self._public_employers = self.institutions.employers
        self._counters: dict[str, int] = {}
        self._first_chunk = True

    def _next(self, key: str) -> int:
        value = self._counters.get(key, 0) + 1
        self._counters[key] = value
        return value

    def derive(self, chunk: PopulationChunk) -> dict[str, Rows]:
        """Rows of every people-linked table for the households of one chunk."""
        taxes = self._institution_taxes() if self._first_chunk else []
        self._first_chunk = False
        enterprises, firm_taxes = self._enterprises(chunk.households)
        taxes += firm_taxes
        return {
            "social_insurance": self._social_insurance(chunk.households),
            "enterprise_registry": enterprises,
            "tax_registration": taxes,
            "birth_certificates": self._births(chunk.households),
            "marriage_registrations": self._marriages(chunk.households),
            "subsidy_payments": self._subsidies(chunk.households),
            "property_registrations": self._properties(chunk.households),
            "student_status": self._students(chunk.households),
            "vehicle_registrations": self._vehicles.rows(chunk.households),
            "portal_login_log": self._logins.rows(chunk.households, len(chunk.registry_rows)),
        }

    # -- 市场监管 and 税务 ------------------------------------------------------------------------

    def _enterprises(self, households: list[Household]) -> tuple[Rows, Rows]:
        rng = self._rng["enterprise_registry"]
        tax_rng = self._rng["tax_registration"]
        rows: Rows = []
        taxes: Rows = []
        for household in households:
            for person in household.members:
                age = person.age_on(REFERENCE_DATE)
                if not 22 <= age <= 70 or rng.random() >= 0.1:
                    continue
                kind_digit, entity_type, _ = pick_entity_kind(rng)
                industry = pick_industry(rng)
                district = household.district if rng.random() < 0.6 else random_district(rng)
                first = max(_birthday(person, 22), date(1995, 1, 1))
                # Registrations grew fast after 2014: skew the founding year to recent ones.
                span = (REFERENCE_DATE - first).days
                established = date.fromordinal(
                    _REF_ORDINAL - 10 - int((rng.random() ** 1.8) * max(span - 10, 0))
                )
                new_style = established.year >= 2016
                code = make_uscc("9", kind_digit, district.code, self._codes.next_body(new_style))
                firm = firm_name(rng, entity_type, industry, district, person.name[0])
                name = firm.full
                if kind_digit == "2":
                    capital: float | None = float(rng.choice((1, 2, 3, 5, 10, 20, 50)))
                else:
                    capital = float(rng.choice(_CAPITALS))
                roll = rng.random()
                closed_share = min(0.35, (REFERENCE_DATE.year - established.year) * 0.02)
                status = (
                    "注销"
                    if roll < closed_share
                    else "吊销"
                    if roll < closed_share + 0.04
                    else ("存续" if rng.random() < 0.93 else "在业")
                )
                address = (
                    household.address if kind_digit != "1" and rng.random() < 0.5 else None
                ) or business_address(rng, district)
                phone = mobile_phone(rng) if rng.random() < 0.6 else fixed_phone(rng)
                entity_id = f"3501{self._next('entity'):012d}"
                rows.append(
                    [
                        entity_id,
                        code,
                        name,
                        entity_type,
                        person.name,
                        person.id_number,
                        capital,
                        established,
                        industry.section,
                        address.in_city,
                        district.code,
                        status,
                        phone,
                        firm_email(self._rng["enterprise_email"], firm, person.name, person.birth),
                    ]
                )
                organisation = Organisation(name, code, district, entity_type, established)
                if status in ("存续", "在业") and kind_digit == "1":
                    self._employers.append(organisation)
                register = 0.9 if status in ("存续", "在业") else 0.6
                if tax_rng.random() < register:
                    taxes.append(self._tax_row(tax_rng, organisation, person.name, status))
        return rows, taxes

    def _tax_row(
        self, rng: random.Random, organisation: Organisation, legal_rep: str, status: str
    ) -> list[object]:
        general = organisation.kind.startswith(("有限", "股份")) and rng.random() < 0.3
        if status in ("注销",):
            tax_status = "注销"
        elif status == "吊销":
            tax_status = "非正常"
        else:
            tax_status = "正常" if rng.random() < 0.95 else "非正常"
        # Tax registration as we know it dates from the 1994 tax-sharing reform.
        first = max(organisation.established, date(1994, 1, 1))
        registered = first + timedelta(days=int(rng.random() * 60))
        return [
            f"SW{self._next('tax'):010d}",
            organisation.credit_code,
            organisation.name,
            "一般纳税人" if general else "小规模纳税人",
            legal_rep,
            f"国家税务总局{CITY_NAME}{organisation.district.name}税务局",
            min(registered, REFERENCE_DATE),
            tax_status,
        ]

    def _institution_taxes(self) -> Rows:
        rng = self._rng["tax_registration"]
        rows: Rows = []
        for organisation in self.institutions.taxpayers:
            row = self._tax_row(rng, organisation, "", "存续")
            row[3] = "非增值税纳税人" if organisation.credit_code[0] == "1" else "小规模纳税人"
            row[4] = None
            rows.append(row)
        return rows

    # -- 人社 --------------------------------------------------------------------------------------

    def _employer(self, rng: random.Random) -> Organisation:
        if self._employers and rng.random() < 0.85:
            return self._employers[int(rng.random() * len(self._employers))]
        return self._public_employers[int(rng.random() * len(self._public_employers))]

    def _social_insurance(self, households: list[Household]) -> Rows:
        rng = self._rng["social_insurance"]
        rows: Rows = []

        def add(person: Person, kind: str, employer: Organisation | None, start: date) -> None:
            base = None
            if employer is not None:
                base = float(round(rng.uniform(4_100, 22_000) / 10) * 10)
            roll = rng.random()
            status = "正常参保" if roll < 0.88 else "暂停缴费" if roll < 0.97 else "终止参保"
            if kind == "退休":
                kind, status = "企业职工基本养老保险", "待遇领取"
            rows.append(
                [
                    f"SB{self._next('insurance'):010d}",
                    person.name,
                    person.id_number,
                    kind,
                    employer.credit_code if employer else None,
                    employer.name if employer else None,
                    start,
                    status,
                    base,
                ]
            )

        for household in households:
            for person in household.members:
                age = person.age_on(REFERENCE_DATE)
                if age < 18:
                    if rng.random() < 0.8:
                        start = _day_between(rng, person.birth + timedelta(days=30), REFERENCE_DATE)
                        add(person, "城乡居民基本医疗保险", None, start)
                    continue
                retire_age = 60 if person.male else 55
                if age < retire_age and rng.random() < 0.7:
                    employer = self._employer(rng)
                    first = max(_birthday(person, 18), employer.established)
                    start = _day_between(rng, first, REFERENCE_DATE)
                    public = employer.credit_code[0] == "1"
                    pension = "机关事业单位养老保险" if public else "企业职工基本养老保险"
                    add(person, pension, employer, start)
                    add(person, "职工基本医疗保险", employer, start)
                    if rng.random() < 0.6:
                        add(person, "失业保险", employer, start)
                elif age >= retire_age and rng.random() < 0.45:
                    # Contributions count from the 1992 pension reform at the earliest.
                    first = max(_birthday(person, 20), date(1992, 1, 1))
                    start = _day_between(rng, first, max(_birthday(person, 45), first))
                    add(person, "退休", None, start)
                else:
                    start = _day_between(
                        rng, max(_birthday(person, 18), date(2010, 1, 1)), REFERENCE_DATE
                    )
                    add(person, "城乡居民基本医疗保险", None, start)
                    if rng.random() < 0.5:
                        add(person, "城乡居民基本养老保险", None, start)
        return rows

    # -- 卫健 --------------------------------------------------------------------------------------

    def _births(self, households: list[Household]) -> Rows:
        rng = self._rng["birth_certificates"]
        institutions = self.institutions
        rows: Rows = []
        for household in households:
            mother, father = household.wife, household.husband
            if mother is None:
                continue
            for child in household.children:
                year = child.birth.year
                if year not in _BIRTH_LETTERS:
                    continue
                roll = rng.random()
                if roll < 0.3:
                    hospital = institutions.maternity
                elif roll < 0.75:
                    local = [h for h in institutions.hospitals if h.district is household.district]
                    hospital = local[0] if local else institutions.hospitals[0]
                else:
                    hospital = rng.choice(institutions.hospitals)
                weight = int(min(5200, max(1600, rng.gauss(3300, 450))))
                rows.append(
                    [
                        f"{_BIRTH_LETTERS[year]}35{self._next('birth'):08d}",
                        child.name,
                        child.gender,
                        child.birth,
                        weight,
                        hospital.name,
                        mother.name,
                        mother.id_number,
                        father.name if father else None,
                        father.id_number if father else None,
                        household.district.code,
                    ]
                )
        return rows

    # -- 民政 --------------------------------------------------------------------------------------

    def _marriages(self, households: list[Household]) -> Rows:
        rng = self._rng["marriage_registrations"]
        rows: Rows = []
        for household in households:
            husband, wife = household.husband, household.wife
            if husband is None or wife is None or rng.random() >= 0.9:
                continue
            legal = max(_birthday(husband, 22), _birthday(wife, 20))
            if legal > REFERENCE_DATE - timedelta(days=3):
                continue
            if household.children:
                eldest = min(child.birth for child in household.children)
                married = eldest - timedelta(days=rng.randrange(200, 1200))
            else:
                married = _birthday(wife, rng.randrange(22, 31))
            married = min(max(married, legal), REFERENCE_DATE - timedelta(days=3))
            if married.year < 1980:  # paper records before 1980 were never keyed in
                continue
            district = household.district
            reissue = rng.random() < 0.05
            rows.append(
                [
                    f"J{district.code}-{married.year}-{self._next('marriage'):07d}",
                    husband.name,
                    husband.id_number,
                    wife.name,
                    wife.id_number,
                    married,
                    f"{CITY_NAME}{district.name}民政局婚姻登记处",
                    "补发结婚证" if reissue else "结婚登记",
                ]
            )
        return rows

    def _subsidies(self, households: list[Household]) -> Rows:
        rng = self._rng["subsidy_payments"]
        rows: Rows = []
        # One card per recipient, into which every payment to them goes.
        cards: dict[str, tuple[str, str]] = {}

        def pay(person: Person, kind: str, amount: float, district: str) -> None:
            card = cards.get(person.id_number)
            if card is None:
                card = cards[person.id_number] = bank_card(self._rng["bank_cards"])
            for month in _SUBSIDY_MONTHS:
                payment_no = f"MZBT{self._next('subsidy'):010d}"
                rows.append([payment_no, person.name, person.id_number, kind, amount, month,
                             *card, district, person.phone])  # fmt: skip

        for household in households:
            code = household.district.code
            if household.low_income:
                pay(household.head, "最低生活保障金", 950.0 * len(household.members), code)
            for person in household.members:
                age = person.age_on(REFERENCE_DATE)
                if age >= 80:
                    pay(
                        person,
                        "高龄津贴",
                        100.0 if age < 90 else 300.0 if age < 100 else 1000.0,
                        code,
                    )
                if len(household.members) == 1 and age >= 60 and rng.random() < 0.08:
                    pay(person, "特困人员救助供养金", 1_520.0, code)
                if rng.random() < 0.008:
                    kind = rng.choice(("困难残疾人生活补贴", "重度残疾人护理补贴"))
                    pay(person, kind, 95.0 if kind.startswith("困难") else 100.0, code)
        return rows

    # -- 住建 --------------------------------------------------------------------------------------

    def _properties(self, households: list[Household]) -> Rows:
        rng = self._rng["property_registrations"]
        rows: Rows = []

        def register(owner: Person, located: str, district: str, usage: str, area: float) -> None:
            first = max(_birthday(owner, 22), date(2016, 1, 1))
            if first >= REFERENCE_DATE:
                return
            registered = _day_between(rng, first, REFERENCE_DATE)
            number = self._next("property")
            unit = (
                f"{district}{rng.randrange(1, 21):03d}{rng.randrange(1, 31):03d}"
                f"GB{number % 100_000:05d}F{rng.randrange(1, 10**8):08d}"
            )
            rows.append([
                f"闽({registered.year}){CITY_NAME}不动产权第{number:07d}号", unit, owner.name,
                owner.id_number, located, usage, round(area, 2), registered, district,
            ])  # fmt: skip

        for household in households:
            head = household.head
            if head.age_on(REFERENCE_DATE) < 22:
                continue
            owner = household.wife if household.wife and rng.random() < 0.3 else head
            code = household.district.code
            if rng.random() < 0.62:
                area = min(260.0, max(35.0, rng.gauss(95, 30)))
                register(owner, household.address.located, code, "住宅", area)
                if "号楼" in household.address.body and rng.random() < 0.2:
                    level, bay = rng.randrange(1, 3), rng.randrange(1, 400)
                    space = f"{household.address.located}地下车位B{level}-{bay}"
                    register(owner, space, code, "车位", rng.uniform(11.5, 16))
            if rng.random() < 0.06:
                shop = business_address(rng, household.district)
                register(owner, shop.located, code, "商业", rng.uniform(20, 300))
            if rng.random() < 0.08:
                district = random_district(rng)
                flat = home_address(rng, district)
                register(owner, flat.located, district.code, "住宅", rng.uniform(45, 180))
        return rows

    # -- 教育 --------------------------------------------------------------------------------------

    def _students(self, households: list[Household]) -> Rows:
        rng = self._rng["student_status"]
        schools = self.institutions.schools
        rows: Rows = []
        for household in households:
            guardian = household.husband or household.wife or household.head
            for child in household.children:
                grade = child.age_on(_SCHOOL_YEAR_START) - 6
                if not 0 <= grade < len(_GRADES):
                    continue
                level, start_grade = (
                    ("primary", 0) if grade < 6 else ("junior", 6) if grade < 9 else ("senior", 9)
                )
                school = rng.choice(schools[(household.district.code, level)])
                enrolled = date(_SCHOOL_YEAR_START.year - (grade - start_grade), 9, 1)
                rows.append(
                    [
                        child.name,
                        child.gender,
                        child.birth,
                        child.id_number,
                        child.ethnicity,
                        "G" + child.id_number,
                        school.name,
                        _GRADES[grade],
                        f"({rng.randrange(1, 13)})班",
                        enrolled,
                        guardian.name,
                        guardian.phone,
                        household.address.in_city,
                    ]
                )
        return rows
