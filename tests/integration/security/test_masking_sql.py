"""The policy matrix test: every masking operator on every entity type gives, through DuckDB,
exactly what the Python reference gives, on valid, mutated and awkward values.

Values of each entity type come from the demo city's generators (valid ones) and are mutated
the way department data goes wrong (a character dropped or added, full-width digits, spaces,
Chinese text where digits belong, the empty text, NULL). Each entity type's values go through
one query holding every mask, as a masked read does. Encryption is compared by decrypting what
the SQL wrote with the key (its nonces are random, so the bytes differ every time).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

import pyarrow as pa
import pytest

from rongshu.core.crypto import LocalCryptoProvider
from rongshu.core.keys import KeyPurpose, LocalKeyDirectory
from rongshu.demo import identifiers
from rongshu.demo.addresses import home_address, random_district
from rongshu.demo.names import given_name, surname
from rongshu.lake.duckdb_engine import DuckDBEngine
from rongshu.security.entities import EntityType
from rongshu.security.masking import (
    ENCRYPTED_PREFIX,
    Generalisation,
    Mask,
    MaskKeys,
    MaskOperator,
    mask_sql,
    mask_value,
)
from rongshu.security.service import register_mask_functions

VALUES_PER_ENTITY = 3_000
E = EntityType


def _birth(rng: random.Random) -> date:
    return date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 95))


def _ric(rng: random.Random) -> str:
    return identifiers.make_ric("350102", _birth(rng), rng.randrange(1000))


def _plate(rng: random.Random) -> str:
    return f"闽A·{rng.randrange(100000):05d}"


VALID: dict[EntityType, Callable[[random.Random], str]] = {
    E.RESIDENT_ID: _ric,
    E.CREDIT_CODE: lambda rng: identifiers.make_uscc(
        "9", "1", "350102", f"{rng.randrange(10**8):08d}"
    ),
    E.PHONE: lambda rng: (
        identifiers.mobile_phone(rng) if rng.random() < 0.7 else identifiers.fixed_phone(rng)
    ),
    E.BANK_CARD: lambda rng: identifiers.bank_card(rng)[0],
    E.EMAIL: lambda rng: f"user{rng.randrange(10**5)}@{rng.choice(['163.com', 'qq.com'])}",
    E.PERSON_NAME: lambda rng: surname(rng) + given_name(rng, rng.random() < 0.5, 1990),
    E.ADDRESS: lambda rng: home_address(rng, random_district(rng)).full,
    E.VEHICLE_PLATE: _plate,
    E.PASSPORT: lambda rng: f"E{rng.randrange(10**8):08d}",
    E.IP_ADDRESS: lambda rng: (
        ".".join(str(rng.randrange(256)) for _ in range(4))
        if rng.random() < 0.8
        else ":".join(f"{rng.randrange(65536):x}" for _ in range(8))
    ),
    E.COORDINATES: lambda rng: f"{119 + rng.random():.6f}",
    E.BIRTH_DATE: lambda rng: _birth(rng).isoformat(),
}
NOISE = "0123456789Xx-:.@ 市区路号闽A·０１\t"


def mutate(rng: random.Random, value: str) -> str:
    """One of the ways a value goes wrong in department data."""
    kind = rng.randrange(7)
    position = rng.randrange(len(value) + 1)
    if kind == 0:
        return value[:position] + value[position + 1 :]
    if kind == 1:
        return value[:position] + rng.choice(NOISE) + value[position:]
    if kind == 2:
        return value[: rng.randrange(4)]
    if kind == 3:
        return value.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    if kind == 4:
        return " " + value + " "
    if kind == 5:
        return "".join(rng.choice(NOISE) for _ in range(rng.randrange(1, 25)))
    return value + value[::-1]


def values_of(entity: EntityType, rng: random.Random) -> list[str | None]:
    values: list[str | None] = [None, "", "*", "市", "@", "1", "1" * 64]
    while len(values) < VALUES_PER_ENTITY:
        value = VALID[entity](rng)
        values.append(mutate(rng, value) if rng.random() < 0.4 else value)
    return values


MASKS: list[Mask] = [
    Mask(MaskOperator.CLEAR),
    Mask(MaskOperator.NULL),
    Mask(MaskOperator.REDACT),
    Mask(MaskOperator.REDACT, {"replacement": "已脱敏"}),
    Mask(MaskOperator.PARTIAL, {"keep_start": 4, "keep_end": 4}),
    Mask(MaskOperator.PARTIAL, {"keep_start": 3, "keep_end": 4}),
    Mask(MaskOperator.PARTIAL, {"keep_start": 1}),
    Mask(MaskOperator.PARTIAL, {"keep_end": 2}),
    Mask(MaskOperator.PARTIAL, {"keep_start": 1, "before": "@"}),
    Mask(MaskOperator.PSEUDONYM),
    Mask(MaskOperator.PSEUDONYM, {"length": 64}),
    *[
        Mask(MaskOperator.GENERALISE, {"to": to.value})
        for to in Generalisation
        if to is not Generalisation.DECIMALS
    ],
    Mask(MaskOperator.GENERALISE, {"to": Generalisation.AGE_BAND.value, "width": 5}),
    Mask(MaskOperator.GENERALISE, {"to": Generalisation.DECIMALS.value, "digits": 2}),
    Mask(MaskOperator.ENCRYPT),
]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> LocalKeyDirectory:
    return LocalKeyDirectory(tmp_path_factory.mktemp("keys"))


def _decrypt(keys: LocalKeyDirectory, token: str) -> str:
    prefix, version, body = token.split(":", 2)
    assert prefix == ENCRYPTED_PREFIX
    key = keys.get(KeyPurpose.MASKING, int(version.removeprefix("v")))
    return LocalCryptoProvider().sm4_gcm_decrypt(key, bytes.fromhex(body)).decode()


@pytest.mark.parametrize("entity", list(EntityType), ids=str)
def test_every_operator_gives_the_reference_output_through_duckdb(
    entity: EntityType, keys: LocalKeyDirectory
) -> None:
    rng = random.Random(f"masking-{entity.value}")
    values = values_of(entity, rng)
    numeric = entity is EntityType.COORDINATES
    with DuckDBEngine() as engine:
        register_mask_functions(engine, keys)
        engine.register_arrow("v", pa.table({"value": pa.array(values, pa.string())}))
        selects = [
            f"{mask_sql('value', mask, engine.dialect, entity=entity)} AS m{index}"
            for index, mask in enumerate(MASKS)
            if numeric or mask.param("to") != Generalisation.DECIMALS
        ]
        sql = f"SELECT value, {', '.join(selects)}, CURRENT_DATE AS today FROM v"  # noqa: S608
        result = engine.query(sql)
    today = result.column("today")[0].as_py()
    reference_keys = MaskKeys(pseudonym=keys.current(KeyPurpose.PSEUDONYM)[1])
    checked = 0
    for index, mask in enumerate(MASKS):
        if f"m{index}" not in result.column_names:
            continue
        got = result.column(f"m{index}").to_pylist()
        for value, output in zip(result.column("value").to_pylist(), got, strict=True):
            if mask.operator is MaskOperator.ENCRYPT:
                # Encrypting keeps absent values absent, like every operator but clear.
                assert (output is None) == (value in (None, "")), value
                if output is not None:
                    assert _decrypt(keys, output) == value
            else:
                expected = mask_value(value, mask, reference_keys, entity=entity, today=today)
                assert output == expected, (mask, value)
            checked += 1
    assert checked >= VALUES_PER_ENTITY * (len(MASKS) - 1)


def test_partial_masks_match_the_issue_examples() -> None:
    keys = MaskKeys(pseudonym=b"k" * 32)
    ric = Mask(MaskOperator.PARTIAL, {"keep_start": 4, "keep_end": 4})
    phone = Mask(MaskOperator.PARTIAL, {"keep_start": 3, "keep_end": 4})
    name = Mask(MaskOperator.PARTIAL, {"keep_start": 1})
    assert mask_value("350102199001011234", ric, keys) == "3501**********1234"
    assert mask_value("13812345678", phone, keys) == "138****5678"
    assert mask_value("张三", name, keys) == "张*"


def test_the_same_value_gives_the_same_pseudonym_and_another_key_another() -> None:
    mask = Mask(MaskOperator.PSEUDONYM)
    one, two = MaskKeys(pseudonym=b"a" * 32), MaskKeys(pseudonym=b"b" * 32)
    assert mask_value("350102199001011234", mask, one) == mask_value(
        "350102199001011234", mask, one
    )
    assert mask_value("350102199001011234", mask, one) != mask_value(
        "350102199001011234", mask, two
    )


def test_date_columns_are_cut_to_year_and_month_like_their_text() -> None:
    rng = random.Random(11)
    days = [date(999, 12, 31), date(1900, 1, 1), None] + [
        date(1900, 1, 1) + timedelta(days=rng.randrange(60000)) for _ in range(2000)
    ]
    keys = MaskKeys(pseudonym=b"k" * 32)
    masks = [
        Mask(MaskOperator.GENERALISE, {"to": Generalisation.YEAR.value}),
        Mask(MaskOperator.GENERALISE, {"to": Generalisation.MONTH.value}),
    ]
    with DuckDBEngine() as engine:
        engine.register_arrow("d", pa.table({"day": pa.array(days, pa.date32())}))
        selects = [mask_sql("day", mask, engine.dialect, column_type=pa.date32()) for mask in masks]
        result = engine.query(f"SELECT {', '.join(selects)} FROM d")  # noqa: S608
    for index, mask in enumerate(masks):
        expected = [mask_value(day, mask, keys) for day in days]
        assert result.column(index).to_pylist() == expected
