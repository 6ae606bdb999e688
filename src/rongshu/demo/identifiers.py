"""Builders for the identifiers the demo city's people and organisations carry.

- ID numbers (GB 11643): region + birth date + sequence (odd = male) + ISO 7064 MOD 11-2 check.
- Unified social credit codes (GB 32100): authority + type + region + organisation code
  (GB 11714, with its own check character) + a MOD 31 check character.
- Mobile and fixed-line phone numbers.
- Number plates of the city's vehicle office (GA 36, 闽A), ordinary and new-energy.
- Bank card numbers: UnionPay BINs of the banks that pay social assistance, Luhn check digit.

Numbers are unique without remembering them: sequences come from per-bucket counters or from
affine permutations, so memory does not grow with the number of people.
"""

from __future__ import annotations

import random
from array import array
from datetime import date
from itertools import combinations

from rongshu.demo.regions import ALL_REGIONS
from rongshu.standards import ric, uscc
from rongshu.standards.bank_cards import luhn_valid

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


# ------------------------------------------------------------------------------- number plates

#: Province abbreviation and office letter of the city's vehicle office (Fuzhou's is 闽A).
PLATE_PREFIX = "闽A"
#: Letters a plate may carry: no I or O, which read as 1 and 0.
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_PLATE_CHARS = PLATE_LETTERS + "0123456789"
#: Coprime with every space below (their prime factors are 2, 3, 5 and 17), so
#: ``k -> (k * step + offset) % size`` permutes each of them.
_PLATE_STEP = 7_654_321


class _PlateSpace:
    """One family of serials, walked in a scattered order by an affine permutation."""

    def __init__(self, size: int, offset: int) -> None:
        self.size = size
        self.taken = 0
        self._offset = offset % size

    def next_index(self) -> int:
        index = (self.taken * _PLATE_STEP + self._offset) % self.size
        self.taken += 1
        return index


def _ordinary_serial(letters: int, index: int) -> str:
    """The ``index``-th five-character serial with ``letters`` letters (GA 36 allows two)."""
    patterns = list(combinations(range(5), letters))
    per_pattern = len(PLATE_LETTERS) ** letters * 10 ** (5 - letters)
    pattern, rest = divmod(index, per_pattern)
    chars = []
    for position in range(5):
        if position in patterns[pattern]:
            rest, letter = divmod(rest, len(PLATE_LETTERS))
            chars.append(PLATE_LETTERS[letter])
        else:
            rest, digit = divmod(rest, 10)
            chars.append(str(digit))
    return "".join(chars)


class PlateSequence:
    """Distinct plates of the city's office, as the vehicle registry hands them out.

    Ordinary plates have five characters with at most two letters (7.06 million of them), small
    new-energy plates ``D``/``F`` and five more (680 000), large new-energy plates five digits
    and ``D``/``F`` (200 000). When green plates run out a vehicle gets an ordinary one, as
    new-energy cars did before 2017.
    """

    #: Share of ordinary plates with no, one and two letters.
    _LETTER_SHARES = (0.15, 0.6, 0.25)

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._ordinary = [
            _PlateSpace(
                len(list(combinations(range(5), n))) * len(PLATE_LETTERS) ** n * 10 ** (5 - n),
                rng.getrandbits(32),
            )
            for n in range(3)
        ]
        self._green_small = _PlateSpace(2 * len(_PLATE_CHARS) * 10**4, rng.getrandbits(32))
        self._green_large = _PlateSpace(2 * 10**5, rng.getrandbits(32))

    @property
    def capacity(self) -> int:
        """Ordinary plates in all: every vehicle can have one."""
        return sum(space.size for space in self._ordinary)

    def next_plate(self, *, large: bool, new_energy: bool) -> tuple[str, str]:
        """A plate never handed out before, and its type (号牌种类)."""
        if new_energy:
            space = self._green_large if large else self._green_small
            if space.taken < space.size:
                index = space.next_index()
                if large:
                    serial = f"{index // 2:05d}{'DF'[index % 2]}"
                else:
                    kind, rest = divmod(index, len(_PLATE_CHARS) * 10**4)
                    char, digits = divmod(rest, 10**4)
                    serial = f"{'DF'[kind]}{_PLATE_CHARS[char]}{digits:04d}"
                return PLATE_PREFIX + serial, "大型新能源汽车" if large else "小型新能源汽车"
        wanted = self._rng.choices(range(3), self._LETTER_SHARES)[0]
        # A family that is used up passes its vehicles on to the next one.
        letters = next(
            (
                n % 3
                for n in range(wanted, wanted + 3)
                if self._ordinary[n % 3].taken < self._ordinary[n % 3].size
            ),
            None,
        )
        if letters is None:
            raise RuntimeError(f"all {self.capacity:,} ordinary plates of {PLATE_PREFIX} are taken")
        serial = _ordinary_serial(letters, self._ordinary[letters].next_index())
        return PLATE_PREFIX + serial, "大型汽车" if large else "小型汽车"


# ---------------------------------------------------------------------------------- bank cards

#: Debit-card BINs (UnionPay, 62...) of banks that pay out social assistance, with the length
#: of their card numbers and a weight: most are 19 digits.
BANK_BINS: tuple[tuple[str, str, int, float], ...] = (
    ("中国农业银行", "622848", 19, 20),
    ("中国建设银行", "621700", 19, 16),
    ("中国工商银行", "622202", 19, 14),
    ("中国工商银行", "621226", 19, 6),
    ("中国邮政储蓄银行", "621799", 19, 10),
    ("中国邮政储蓄银行", "622188", 19, 6),
    ("中国银行", "621661", 19, 8),
    ("交通银行", "622262", 19, 4),
    ("兴业银行", "622909", 18, 8),
    ("招商银行", "621483", 16, 5),
    ("招商银行", "622588", 16, 3),
)
_BIN_WEIGHTS = tuple(weight for *_, weight in BANK_BINS)


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body`` + digit pass the Luhn check."""
    return next(digit for digit in "0123456789" if luhn_valid(body + digit))


def bank_card(rng: random.Random) -> tuple[str, str]:
    """A debit card: the issuing bank's name and a Luhn-valid card number."""
    bank, bin_, length, _ = rng.choices(BANK_BINS, _BIN_WEIGHTS)[0]
    account = "".join(str(int(rng.random() * 10)) for _ in range(length - len(bin_) - 1))
    body = bin_ + account
    return bank, body + luhn_check_digit(body)
