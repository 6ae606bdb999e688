"""Builders for the identifiers the demo city's people and organisations carry.

- ID numbers (GB 11643): region + birth date + sequence (odd = male) + ISO 7064 MOD 11-2 check.
- Unified social credit codes (GB 32100): authority + type + region + organisation code
  (GB 11714, with its own check character) + a MOD 31 check character.
- Mobile and fixed-line phone numbers.

Numbers are unique without remembering them: sequences come from per-bucket counters or from
affine permutations, so memory does not grow with the number of people.
"""

from __future__ import annotations

import random
from array import array
from datetime import date

from rongshu.demo.regions import ALL_REGIONS
from rongshu.standards import ric, uscc

# ---------------------------------------------------------------- GB 11643 citizen ID numbers

#: The characters an ID number's check position can hold, in order.
RIC_CHECK_CHARS = "".join(sorted(ric.CHECK_CHARS))
ric_check_digit = ric.check_char
ric_is_valid_checksum = ric.valid_check_char


def make_ric(region: str, birth: date, sequence: int) -> str:
    """An ID number; ``sequence`` is 1..999 and odd for men, even for women."""
    first17 = f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{sequence:03d}"
    return first17 + ric_check_digit(first17)


def with_region(number: str, region: str) -> str:
    """The same ID number with another region code and a recomputed check digit."""
    first17 = region + number[6:17]
    return first17 + ric_check_digit(first17)


_EPOCH = date(1900, 1, 1)
_DAYS = (date(2031, 1, 1) - _EPOCH).days
#: Sequences per (region, birth date, gender): odd 001-997 for men, even 002-998 for women.
SEQUENCE_CAPACITY = 499
_SEQUENCE_STEP = 173  # coprime with 499, so k -> (k * step + offset) % 499 is a permutation


class IdSequenceAllocator:
    """Hands out distinct sequence numbers per (region, birth date, gender) in constant memory."""

    def __init__(self) -> None:
        self._region_index = {code: i for i, code in enumerate(sorted(ALL_REGIONS))}
        self._counts = array("H", [0]) * (len(self._region_index) * _DAYS * 2)

    def allocate(self, region: str, birth: date, male: bool) -> int | None:
        """The next unused sequence number, or None when this bucket is full."""
        bucket = ((self._region_index[region] * _DAYS) + (birth - _EPOCH).days) * 2 + male
        taken = self._counts[bucket]
        if taken >= SEQUENCE_CAPACITY:
            return None
        self._counts[bucket] = taken + 1
        slot = (taken * _SEQUENCE_STEP + bucket * 7919) % SEQUENCE_CAPACITY
        return slot * 2 + (1 if male else 2)


# ---------------------------------------------------------- GB 32100 unified social credit codes

USCC_ALPHABET = uscc.ALPHABET
org_code_check_char = uscc.org_check_char
uscc_check_char = uscc.check_char
uscc_is_valid = uscc.valid_check_chars


def make_uscc(authority: str, kind: str, region: str, body8: str) -> str:
    """A credit code from its parts; the two check characters are computed."""
    first17 = f"{authority}{kind}{region}{body8}{org_code_check_char(body8)}"
    return first17 + uscc_check_char(first17)


class OrgCodeSequence:
    """Distinct organisation-code bodies: 8 digits (older) or ``MA`` + 6 characters (2016 on).

    Each is an affine permutation of a counter, so codes look scattered yet never repeat.
    """

    _DIGIT_SPACE = 10**8
    _MA_SPACE = 31**6

    def __init__(self, rng: random.Random) -> None:
        self._digit_offset = rng.randrange(self._DIGIT_SPACE)
        self._ma_offset = rng.randrange(self._MA_SPACE)
        self._digits = 0
        self._ma = 0

    def next_body(self, new_style: bool) -> str:
        """The next body; ``new_style`` gives the ``MA`` form used since the 2015 reform."""
        if new_style:
            value = (self._ma * 7_654_321 + self._ma_offset) % self._MA_SPACE
            self._ma += 1
            chars = []
            for _ in range(6):
                value, digit = divmod(value, 31)
                chars.append(USCC_ALPHABET[digit])
            return "MA" + "".join(chars)
        value = (self._digits * 7_654_321 + self._digit_offset) % self._DIGIT_SPACE
        self._digits += 1
        return f"{value:08d}"


# ------------------------------------------------------------------------------- phone numbers

#: Mainland mobile prefixes of the three carriers (China Mobile, Unicom, Telecom).
MOBILE_PREFIXES: tuple[str, ...] = (
    "134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158", "159",
    "172", "178", "182", "183", "184", "187", "188", "195", "197", "198",
    "130", "131", "132", "145", "155", "156", "166", "175", "176", "185", "186", "196",
    "133", "149", "153", "173", "177", "180", "181", "189", "190", "191", "193", "199",
)  # fmt: skip


def mobile_phone(rng: random.Random) -> str:
    """An 11-digit mobile number with a real carrier prefix."""
    prefix = MOBILE_PREFIXES[int(rng.random() * len(MOBILE_PREFIXES))]
    return f"{prefix}{int(rng.random() * 100_000_000):08d}"


def fixed_phone(rng: random.Random) -> str:
    """A Fuzhou fixed line, ``0591-`` and eight digits."""
    return f"0591-{rng.choice('2368')}{int(rng.random() * 10_000_000):07d}"
