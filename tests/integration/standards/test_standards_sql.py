"""Each standard's SQL form gives the verdicts of its Python form, on 100,000+ inputs each.

Inputs are valid values from a generator per standard, most of them then mutated the way
real data goes wrong: a digit changed, two characters swapped, a wrong check character,
full-width digits, spaces, lower case, letters, one character too few or too many, impossible
dates, future births, codes out of their period. All inputs of a standard are checked in ONE
query through the lake's DuckDB engine, as a quality run does. Every reason code of every
standard must turn up, so a generator that stopped reaching a check fails the test.
"""

from __future__ import annotations

import random
import string
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

import pyarrow as pa
import pytest

from rongshu.lake.duckdb_engine import DuckDBEngine
from rongshu.standards import STANDARDS, Standard
from rongshu.standards import ric as ric_module
from rongshu.standards import uscc as uscc_module
from rongshu.standards.bank_cards import luhn_valid
from rongshu.standards.contact import EIGHT_DIGIT_AREAS
from rongshu.standards.plates import PROVINCES
from rongshu.standards.regions import region_table

INPUTS_PER_STANDARD = 100_000
FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
NOISE = string.ascii_letters + string.digits + " -/.@年月日闽京挂Ｘ０１\t"

Generator = Callable[[random.Random], str]


def mutate(rng: random.Random, value: str, alphabet: str) -> str:
    """One of the ways a value goes wrong in department data."""
    if not value:
        return value
    position = rng.randrange(len(value))
    kind = rng.randrange(11)
    if kind == 0:  # a character changed
        return value[:position] + rng.choice(alphabet) + value[position + 1 :]
    if kind == 1 and len(value) > 1:  # two neighbours swapped
        position = min(position, len(value) - 2)
        return value[:position] + value[position + 1] + value[position] + value[position + 2 :]
    if kind == 2:  # a wrong last (check) character
        return value[:-1] + rng.choice(alphabet)
    if kind == 3:
        return value.translate(FULLWIDTH)
    if kind == 4:
        return rng.choice([" " + value, value + " ", value[:position] + " " + value[position:]])
    if kind == 5:
        return value.lower()
    if kind == 6:
        return value[:position] + rng.choice(string.ascii_uppercase) + value[position + 1 :]
    if kind == 7:
        return value[:position] + value[position + 1 :]
    if kind == 8:
        return value[:position] + rng.choice(alphabet) + value[position:]
    if kind == 9:
        return "".join(rng.choice(NOISE) for _ in range(rng.randrange(1, 25)))
    return value


def inputs(rng: random.Random, valid: Generator, alphabet: str) -> list[str | None]:
    values: list[str | None] = []
    for _ in range(INPUTS_PER_STANDARD):
        value = valid(rng)
        roll = rng.random()
        if roll < 0.6:
            value = mutate(rng, value, alphabet)
        if roll < 0.1:
            value = mutate(rng, value, alphabet)
        values.append(value)
    values += [None, ""]
    return values


# -- valid-ish values per standard ------------------------------------------------------------

TABLE = region_table()
CODES = sorted({p.code for p in TABLE.periods})


def random_birth(rng: random.Random) -> date:
    roll = rng.random()
    if roll < 0.02:  # a birth in the future
        return date.today() + timedelta(days=rng.randrange(1, 3000))
    if roll < 0.04:  # implausibly old
        return date(rng.randrange(1800, 1900), rng.randrange(1, 13), rng.randrange(1, 29))
    return date(1900, 1, 1) + timedelta(days=rng.randrange(0, 46000))


def birth_text(rng: random.Random) -> str:
    """YYYYMMDD, now and then an impossible day (0229 in a common year, 31st of a short month)."""
    born = random_birth(rng)
    roll = rng.random()
    if roll < 0.03:
        year = rng.choice([1990, 1999, 2001, 2019, 1900, 2100])
        return f"{year:04d}0229"
    if roll < 0.05:
        return f"{born.year:04d}{rng.choice(['0431', '0631', '1331', '0001', '0100', '0230'])}"
    return born.strftime("%Y%m%d")


def ric_value(rng: random.Random) -> str:
    code = rng.choice(CODES) if rng.random() < 0.97 else f"{rng.randrange(10**6):06d}"
    first17 = f"{code}{birth_text(rng)}{rng.randrange(1000):03d}"
    return first17 + ric_module.check_char(first17)


def ric_or_legacy(rng: random.Random) -> str:
    value = ric_value(rng)
    if rng.random() < 0.05:
        return value[:6] + value[8:17]
    if rng.random() < 0.03:
        return value[:17] + "x" if value[17] == "X" else value[:17] + "x"
    return value


def ric15_value(rng: random.Random) -> str:
    value = ric_value(rng)
    return value[:6] + value[8:17]


def uscc_value(rng: random.Random) -> str:
    alphabet = uscc_module.ALPHABET
    authorities = [*uscc_module.AUTHORITY_TYPES, "B", "0"]
    authority = rng.choice(authorities)
    kind = rng.choice(uscc_module.AUTHORITY_TYPES.get(authority, "123") + "9A")
    region = rng.choice([*rng.sample(CODES, 3), uscc_module.NATIONAL_REGION, "999999"])
    body = "".join(rng.choice(alphabet) for _ in range(8))
    first17 = authority + kind + region + body + uscc_module.org_check_char(body)
    if rng.random() < 0.05:  # a wrong organisation check character, the code's own right
        first17 = first17[:16] + rng.choice("0123456789X")
    return first17 + uscc_module.check_char(first17)


def region_value(rng: random.Random) -> str:
    return rng.choice(CODES) if rng.random() < 0.9 else f"{rng.randrange(10**6):06d}"


MOBILE_SEGMENTS = [f"1{a}{b}" for a in "0123456789" for b in "0123456789"]


def mobile_value(rng: random.Random) -> str:
    return rng.choice(MOBILE_SEGMENTS) + f"{rng.randrange(10**8):08d}"


AREAS = [*EIGHT_DIGIT_AREAS.replace("02[0-9]", "021|025|029").split("|"), "0593", "0734", "0100"]


def phone_value(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        return mobile_value(rng)
    if roll < 0.5:
        return f"{rng.choice('48')}00-{rng.randrange(1000):03d}-{rng.randrange(10**4):04d}"
    digits = rng.choice([7, 8])
    subscriber = str(rng.randrange(2, 10)) + "".join(rng.choices("0123456789", k=digits - 1))
    area = rng.choice(AREAS)
    number = rng.choice(
        [f"{area}-{subscriber}", f"({area}){subscriber}", f"{area} {subscriber}", subscriber]
    )
    if rng.random() < 0.1:
        number += rng.choice(["-", "转"]) + str(rng.randrange(1, 9999))
    return number


def postcode_value(rng: random.Random) -> str:
    return f"{rng.randrange(10**6):06d}"


def email_value(rng: random.Random) -> str:
    def word(chars: str, low: int, high: int) -> str:
        return "".join(rng.choices(chars, k=rng.randrange(low, high)))

    local = ".".join(word(string.ascii_letters + string.digits + "_%+-", 1, 8) for _ in "ab")
    labels = [word(string.ascii_lowercase + string.digits + "-", 1, 10) for _ in range(2)]
    if rng.random() < 0.002:
        labels[0] = "a" * 250
    tld = word(string.ascii_lowercase, 1, 5)
    return f"{local}@{'.'.join(labels)}.{tld}"


PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def plate_value(rng: random.Random) -> str:
    head = rng.choice(PROVINCES) + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZIO")
    roll = rng.random()
    if roll < 0.4:
        tail = "".join(rng.choices(PLATE_CHARS, k=5))
    elif roll < 0.6:
        tail = rng.choice("DF") + rng.choice(PLATE_CHARS) + f"{rng.randrange(10**4):04d}"
    elif roll < 0.8:
        tail = f"{rng.randrange(10**5):05d}" + rng.choice("DF")
    else:
        tail = "".join(rng.choices(PLATE_CHARS, k=4)) + rng.choice("挂学警港澳领试超使")
    return head + tail


def bank_card_value(rng: random.Random) -> str:
    length = rng.randrange(12, 21)
    body = "".join(rng.choices("0123456789", k=length - 1))
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("some check digit always fits")


def date_value(rng: random.Random) -> str:
    born = birth_text(rng)
    year, month, day = born[:4], born[4:6], born[6:]
    shapes = [
        f"{year}-{month}-{day}",
        born,
        f"{year}/{int(month)}/{int(day)}",
        f"{year}.{month}.{day}",
        f"{year}年{int(month)}月{int(day)}日",
        f"{year}年{int(month)}月{int(day)}",
        f"{year}-{int(month)}/{day}",
        f"{year}-{month}-{day} 12:00",
        f"{day}/{month}/{year}",
    ]
    return rng.choice(shapes)


CASES: dict[str, tuple[Generator, str]] = {
    "ric": (ric_or_legacy, "0123456789X"),
    "ric15": (ric15_value, "0123456789"),
    "uscc": (uscc_value, uscc_module.ALPHABET + "IOSVZ"),
    "region": (region_value, "0123456789"),
    "mobile": (mobile_value, "0123456789"),
    "phone": (phone_value, "0123456789-()"),
    "postcode": (postcode_value, "0123456789"),
    "email": (email_value, "abcXYZ019.@-_+"),
    "plate": (plate_value, PLATE_CHARS + "IO"),
    "bank_card": (bank_card_value, "0123456789"),
    "date": (date_value, "0123456789-/."),
}


def test_every_standard_has_a_case() -> None:
    assert set(CASES) == set(STANDARDS)


@pytest.fixture(scope="module")
def engine() -> DuckDBEngine:
    return DuckDBEngine(threads=2)


def sql_verdicts(engine: DuckDBEngine, standard: Standard, values: list[str | None]) -> list[str]:
    for alias, table in standard.lookups().items():
        engine.register_arrow(alias, table)
    rows = pa.table({"row": range(len(values)), "value": pa.array(values, pa.string())})
    engine.register_arrow("standard_inputs", rows)
    value = engine.dialect.quote("value")
    expression = standard.sql(value, engine.dialect)
    joins = " ".join(join.sql() for join in standard.joins(value, engine.dialect))
    # A lookup's join may return rows in any order: put them back in input order.
    sql = f"SELECT {expression} AS reason FROM standard_inputs {joins} ORDER BY row"  # noqa: S608
    result = engine.query(sql)
    reasons: list[str] = result.column("reason").to_pylist()
    return reasons


@pytest.mark.parametrize("name", sorted(CASES))
def test_sql_and_python_agree(engine: DuckDBEngine, name: str) -> None:
    standard = STANDARDS[name]
    generator, alphabet = CASES[name]
    values = inputs(random.Random(f"standards-{name}"), generator, alphabet)
    python = [standard.check(value).reason for value in values]
    sql = sql_verdicts(engine, standard, values)
    disagreements = [(v, p, s) for v, p, s in zip(values, python, sql, strict=True) if p != s]
    assert not disagreements[:20], (
        f"{len(disagreements)} disagreements, first: {disagreements[:20]}"
    )
    seen = Counter(python)
    assert set(standard.reasons) <= set(seen), f"never reached: {set(standard.reasons) - set(seen)}"
    assert seen[None] > len(values) // 20, "too few valid inputs to test the ok path"


COLUMN_FORMS = sorted(name for name, s in STANDARDS.items() if hasattr(s, "check_array"))


def test_the_costly_standards_have_a_column_form() -> None:
    assert COLUMN_FORMS == ["phone", "region", "ric", "uscc"]


@pytest.mark.parametrize("name", COLUMN_FORMS)
def test_the_column_form_agrees_with_python(name: str) -> None:
    standard = STANDARDS[name]
    generator, alphabet = CASES[name]
    values = inputs(random.Random(f"standards-{name}"), generator, alphabet)
    python = [standard.check(value).reason for value in values]
    # Offset into a larger array, as a batch of a lake scan is: the kernels read raw buffers.
    column = pa.array(["padding", *values], pa.string()).slice(1)
    array = standard.check_array(column).to_pylist()  # type: ignore[attr-defined]
    disagreements = [(v, p, a) for v, p, a in zip(values, python, array, strict=True) if p != a]
    assert not disagreements[:20], (
        f"{len(disagreements)} disagreements, first: {disagreements[:20]}"
    )


def test_the_column_forms_of_the_id_parts_agree_with_python() -> None:
    rng = random.Random("standards-ric-parts")
    values = inputs(rng, ric_or_legacy, "0123456789Xx")
    column = pa.array(["padding", *values], pa.string()).slice(1)
    births = ric_module.ric_birth_date_array(column).to_pylist()
    genders = ric_module.ric_gender_array(column).to_pylist()
    regions = ric_module.ric_region_array(column).to_pylist()
    assert births == [ric_module.ric_birth_date(v) for v in values]
    assert genders == [ric_module.ric_gender(v) for v in values]
    assert regions == [ric_module.ric_region(v) for v in values]
    assert sum(b is not None for b in births) > len(values) // 4
