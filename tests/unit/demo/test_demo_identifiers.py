"""ID numbers, credit codes, phones, plates and bank cards of the demo city, checked against
python-stdnum and the platform's standards."""

from __future__ import annotations

import random
import re
from datetime import date

from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.cn import ric, uscc

from rongshu.demo.identifiers import (
    BANK_BINS,
    SEQUENCE_CAPACITY,
    USCC_ALPHABET,
    IdSequenceAllocator,
    OrgCodeSequence,
    PlateSequence,
    bank_card,
    fixed_phone,
    make_ric,
    make_uscc,
    mobile_phone,
    org_code_check_char,
    ric_check_digit,
    ric_is_valid_checksum,
    uscc_check_char,
    uscc_is_valid,
    with_region,
)
from rongshu.standards import get_standard


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_ric_check_digit_agrees_with_stdnum(first17: str) -> None:
    assert ric_check_digit(first17) == ric.calc_check_digit(first17 + "0")


def test_made_id_numbers_are_valid_by_stdnum() -> None:
    number = make_ric("350102", date(1990, 3, 7), 123)
    assert ric.is_valid(number)
    assert ric.get_birth_date(number) == date(1990, 3, 7)
    assert ric_is_valid_checksum(number)


def test_known_real_format_example() -> None:
    # The example in GB 11643's explanations (and stdnum's doctest).
    assert ric_check_digit("36042619910101007") == "1"
    assert ric_is_valid_checksum("360426199101010071")
    assert not ric_is_valid_checksum("360426199101010072")


def test_with_region_recomputes_the_check_digit() -> None:
    number = with_region(make_ric("350182", date(2000, 1, 1), 11), "350112")
    assert number.startswith("350112")
    assert ric_is_valid_checksum(number)


def test_sequences_are_distinct_and_carry_gender_parity() -> None:
    allocator = IdSequenceAllocator()
    born = date(1985, 5, 5)
    men = [allocator.allocate("350104", born, True) for _ in range(SEQUENCE_CAPACITY)]
    women = [allocator.allocate("350104", born, False) for _ in range(SEQUENCE_CAPACITY)]
    assert len(set(men)) == SEQUENCE_CAPACITY and len(set(women)) == SEQUENCE_CAPACITY
    assert all(s is not None and s % 2 == 1 and 1 <= s <= 999 for s in men)
    assert all(s is not None and s % 2 == 0 and 2 <= s <= 998 for s in women)
    # The bucket is full: the caller must move on (the population uses the next day).
    assert allocator.allocate("350104", born, True) is None
    assert allocator.allocate("350104", date(1985, 5, 6), True) is not None


def test_organisation_code_check_matches_the_standard_example() -> None:
    # GB 11714's worked example: D2143569-X.
    assert org_code_check_char("D2143569") == "X"


def test_credit_codes_are_valid_by_stdnum_and_our_checker() -> None:
    codes = OrgCodeSequence(random.Random(1))
    made = [make_uscc("9", "1", "350102", codes.next_body(i % 2 == 0)) for i in range(2000)]
    assert len(set(made)) == len(made)
    for code in made:
        assert uscc.is_valid(code), code
        assert uscc_is_valid(code)
    assert any(code[8:10] == "MA" for code in made)


def test_a_wrong_check_character_is_caught() -> None:
    code = make_uscc("9", "1", "350102", "12345678")
    wrong = code[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(code[17]) + 1) % 31]
    assert not uscc.is_valid(wrong)
    assert not uscc_is_valid(wrong)
    assert uscc_check_char(code[:17]) == uscc.calc_check_digit(code)


def test_credit_code_with_bad_organisation_check_is_caught() -> None:
    code = make_uscc("9", "1", "350102", "12345678")
    body = code[:16] + ("0" if code[16] != "0" else "1")
    tampered = body + uscc_check_char(body)
    # stdnum checks only the final character; our checker also checks GB 11714's.
    assert uscc.is_valid(tampered)
    assert not uscc_is_valid(tampered)


def test_phones_look_like_phones() -> None:
    rng = random.Random(3)
    for _ in range(500):
        assert re.fullmatch(r"1[3-9]\d{9}", mobile_phone(rng))
        assert re.fullmatch(r"0591-[2368]\d{7}", fixed_phone(rng))


def test_plates_are_distinct_valid_ga36_plates_of_the_citys_office() -> None:
    plates = PlateSequence(random.Random(4))
    made = [plates.next_plate(large=i % 9 == 0, new_energy=i % 4 == 0) for i in range(30_000)]
    assert len({plate for plate, _ in made}) == len(made)
    standard = get_standard("plate")
    shapes = {
        "小型汽车": r"闽A[A-HJ-NP-Z0-9]{5}",
        "大型汽车": r"闽A[A-HJ-NP-Z0-9]{5}",
        "小型新能源汽车": r"闽A[DF][A-HJ-NP-Z0-9][0-9]{4}",
        "大型新能源汽车": r"闽A[0-9]{5}[DF]",
    }
    for plate, kind in made:
        assert standard.check(plate).ok, plate
        assert re.fullmatch(shapes[kind], plate), (plate, kind)
        assert sum(char.isalpha() for char in plate[2:]) <= 2
    assert {kind for _, kind in made} == set(shapes)
    # Ordinary serials mix digits and letters, but most carry a letter.
    ordinary = [plate for plate, kind in made if kind == "小型汽车"]
    lettered = sum(any(char.isalpha() for char in plate[2:]) for plate in ordinary)
    assert 0.7 < lettered / len(ordinary) < 0.95


def test_when_green_plates_run_out_new_energy_vehicles_get_ordinary_ones() -> None:
    plates = PlateSequence(random.Random(5))
    made = [plates.next_plate(large=True, new_energy=True) for _ in range(200_001)]
    assert {kind for _, kind in made[:-1]} == {"大型新能源汽车"}
    assert made[-1][1] == "大型汽车"
    assert len({plate for plate, _ in made}) == len(made)


def test_bank_cards_are_luhn_valid_unionpay_numbers() -> None:
    rng = random.Random(6)
    cards = [bank_card(rng) for _ in range(3_000)]
    lengths = {prefix: length for _, prefix, length, _ in BANK_BINS}
    standard = get_standard("bank_card")
    for bank, number in cards:
        assert luhn.is_valid(number), number
        assert standard.check(number).ok
        assert number.startswith("62") and len(number) == lengths[number[:6]]
        assert any(number.startswith(p) and bank == b for b, p, _, _ in BANK_BINS)
    assert sum(len(number) == 19 for _, number in cards) > 0.75 * len(cards)
    assert {len(number) for _, number in cards} == {16, 18, 19}
    assert len({number for _, number in cards}) == len(cards)
