"""公安 境外人员住宿登记: foreign guests (and overseas Chinese) registered by the city's hotels.

Guests are not residents, so the table stands on its own: a name in Latin letters as the
passport prints it (surname first), a nationality, and a passport number in that country's
format; the stays run through the reference year in check-in order. A guest still in the hotel
on the reference date has no check-out date yet.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from rongshu.demo import names
from rongshu.demo.pinyin import romanised_name
from rongshu.demo.population import REFERENCE_DATE

Rows = list[list[object]]
PassportMaker = Callable[[random.Random], str]

_YEAR_START = date(REFERENCE_DATE.year, 1, 1)
_LETTERS = string.ascii_uppercase


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(int(rng.random() * 10)) for _ in range(count))


def _letters(rng: random.Random, count: int, alphabet: str = _LETTERS) -> str:
    return "".join(alphabet[int(rng.random() * len(alphabet))] for _ in range(count))


def _chinese(rng: random.Random) -> str:
    """E + 8 digits (e-passports since 2012), E + letter + 7 when those ran out, older G + 8."""
    roll = rng.random()
    if roll < 0.45:
        return "E" + _digits(rng, 8)
    if roll < 0.9:
        return "E" + _letters(rng, 1, "ABCDEFGHJ") + _digits(rng, 7)
    return "G" + _digits(rng, 8)


def _germany(rng: random.Random) -> str:
    # Nine characters from the alphabet without vowels and look-alikes, starting C, F-H, J, K.
    return _letters(rng, 1, "CFGHJK") + _letters(rng, 8, "CFGHJKLMNPRTVWXYZ0123456789")


_PASSPORTS: dict[str, PassportMaker] = {
    "CHN": _chinese,
    "USA": lambda rng: _digits(rng, 9),
    "GBR": lambda rng: _digits(rng, 9),
    "JPN": lambda rng: rng.choice(("TK", "TR", "TS", "TZ", "MU", "MZ")) + _digits(rng, 7),
    "KOR": lambda rng: "M" + _digits(rng, 8),
    "MYS": lambda rng: rng.choice("AH") + _digits(rng, 8),
    "SGP": lambda rng: rng.choice("EK") + _digits(rng, 7) + _letters(rng, 1),
    "IDN": lambda rng: rng.choice("ABCX") + _digits(rng, 7),
    "PHL": lambda rng: "P" + _digits(rng, 7) + _letters(rng, 1),
    "THA": lambda rng: "A" + _letters(rng, 1) + _digits(rng, 7),
    "VNM": lambda rng: rng.choice("BCN") + _digits(rng, 7),
    "RUS": lambda rng: _digits(rng, 9),
    "DEU": _germany,
    "FRA": lambda rng: _digits(rng, 2) + _letters(rng, 2) + _digits(rng, 5),
    "AUS": lambda rng: rng.choice(("N", "E", "PA", "PB")) + _digits(rng, 7),
    "CAN": lambda rng: _letters(rng, 2) + _digits(rng, 6),
    "IND": lambda rng: _letters(rng, 1, "JKLMNPRSTUVWZ") + _digits(rng, 7),
}


@dataclass(frozen=True, slots=True)
class Nationality:
    """Guests of one country: how many come, their passports, and names as printed there."""

    code: str  # ISO 3166-1 alpha-3, as the passport's machine-readable zone has it
    name: str  # as the registration form writes it
    weight: float
    surnames: tuple[str, ...]
    male: tuple[str, ...]
    female: tuple[str, ...]


_ENGLISH_M = ("JAMES", "JOHN", "ROBERT", "MICHAEL", "DAVID", "WILLIAM", "THOMAS", "DANIEL")
_ENGLISH_F = ("MARY", "JENNIFER", "ELIZABETH", "SARAH", "EMILY", "JESSICA", "LAURA", "EMMA")

NATIONALITIES: tuple[Nationality, ...] = (
    Nationality(
        "JPN", "日本", 15,
        ("SATO", "SUZUKI", "TAKAHASHI", "TANAKA", "WATANABE", "ITO", "YAMAMOTO", "NAKAMURA"),
        ("HIROSHI", "TAKESHI", "KENJI", "DAISUKE", "SHOTA", "HARUTO", "RYOTA"),
        ("YUKI", "AYAKA", "HARUKA", "MISAKI", "SAKURA", "YUI", "NANAMI"),
    ),
    Nationality(
        "KOR", "韩国", 12,
        ("KIM", "LEE", "PARK", "CHOI", "JUNG", "KANG", "CHO", "YOON", "JANG"),
        ("MINJUN", "SEOJUN", "JIHO", "DOYUN", "JUNWOO", "HYUNWOO", "SUNGMIN"),
        ("SEOYEON", "JIWOO", "SOYEON", "HAEUN", "MINSEO", "JIYEON", "EUNJI"),
    ),
    Nationality(
        "USA", "美国", 10,
        ("SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "MILLER", "DAVIS", "GARCIA"),
        _ENGLISH_M, _ENGLISH_F,
    ),
    Nationality(
        "MYS", "马来西亚", 9,
        ("TAN", "LIM", "LEE", "WONG", "ONG", "NG", "CHONG", "TEH"),
        ("WEI MING", "KAH HOE", "CHEE KEONG", "JUN HAO"),
        ("SIEW LING", "MEI LING", "HUI YEE", "PEI SHAN"),
    ),
    Nationality(
        "IDN", "印度尼西亚", 7,
        ("SANTOSO", "WIJAYA", "HALIM", "GUNAWAN", "SETIAWAN", "KUSUMA"),
        ("BUDI", "ANDI", "AGUS", "HENDRA", "RUDI"),
        ("SITI", "DEWI", "RINA", "LINA", "MARIA"),
    ),
    Nationality(
        "SGP", "新加坡", 6,
        ("TAN", "LIM", "LEE", "NG", "ONG", "GOH", "CHUA"),
        ("JUN WEI", "WEI JIE", "ZHI HAO", "KOK LEONG"),
        ("HUI MIN", "XIN YI", "SHU TING", "LI TING"),
    ),
    Nationality(
        "GBR", "英国", 5,
        ("SMITH", "JONES", "WILLIAMS", "TAYLOR", "BROWN", "DAVIES", "EVANS", "WILSON"),
        ("OLIVER", "GEORGE", "HARRY", "JACK", "JAMES", "ANDREW", "PAUL"),
        ("OLIVIA", "AMELIA", "SOPHIE", "CHARLOTTE", "LUCY", "HANNAH", "EMILY"),
    ),
    Nationality(
        "PHL", "菲律宾", 5,
        ("SANTOS", "REYES", "CRUZ", "BAUTISTA", "GARCIA", "MENDOZA"),
        ("JOSE", "MARK", "JOHN PAUL", "MICHAEL"),
        ("MARIA", "ANGELICA", "KRISTINE", "MARY JOY"),
    ),
    Nationality(
        "THA", "泰国", 4,
        ("SRISAI", "WONGSUWAN", "CHAIYAPORN", "SUKSAWAT", "RATTANAKUL"),
        ("SOMCHAI", "ANAN", "KITTI", "PRASERT"),
        ("MALI", "PORNTIP", "SIRIPORN", "NARUMON"),
    ),
    Nationality(
        "VNM", "越南", 4,
        ("NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "VU"),
        ("VAN HUNG", "VAN NAM", "DUC ANH", "MINH TUAN"),
        ("THI LAN", "THI HOA", "THU HA", "NGOC ANH"),
    ),
    Nationality(
        "RUS", "俄罗斯", 4,
        ("IVANOV", "SMIRNOV", "KUZNETSOV", "POPOV", "PETROV", "SOKOLOV"),
        ("ALEXANDER", "DMITRY", "SERGEY", "ANDREY", "IVAN"),
        ("ANNA", "ELENA", "OLGA", "NATALIA", "TATIANA"),
    ),
    Nationality(
        "DEU", "德国", 4,
        ("MUELLER", "SCHMIDT", "SCHNEIDER", "FISCHER", "WEBER", "MEYER", "WAGNER"),
        ("THOMAS", "MICHAEL", "ANDREAS", "STEFAN", "LUKAS", "JONAS"),
        ("ANNA", "JULIA", "LAURA", "SABINE", "KATHARINA", "LENA"),
    ),
    Nationality(
        "AUS", "澳大利亚", 4,
        ("SMITH", "JONES", "WILLIAMS", "BROWN", "WILSON", "TAYLOR"),
        ("JACK", "NOAH", "OLIVER", "WILLIAM", "LIAM"),
        ("CHARLOTTE", "OLIVIA", "AMELIA", "ISLA", "MIA"),
    ),
    Nationality(
        "CAN", "加拿大", 4,
        ("SMITH", "BROWN", "TREMBLAY", "MARTIN", "ROY", "WILSON"),
        _ENGLISH_M, _ENGLISH_F,
    ),
    Nationality(
        "FRA", "法国", 3,
        ("MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "PETIT", "DURAND"),
        ("JEAN", "PIERRE", "NICOLAS", "LUCAS", "LOUIS"),
        ("MARIE", "CAMILLE", "JULIE", "LEA", "CHLOE"),
    ),
    Nationality(
        "IND", "印度", 3,
        ("SHARMA", "PATEL", "SINGH", "KUMAR", "GUPTA", "REDDY"),
        ("RAHUL", "AMIT", "RAJESH", "VIKRAM", "ARJUN"),
        ("PRIYA", "ANJALI", "POOJA", "NEHA", "DIVYA"),
    ),
    # Overseas Chinese (华侨) register as guests from abroad with a Chinese passport.
    Nationality("CHN", "中国", 6, (), (), ()),
)  # fmt: skip
_NATIONALITY_WEIGHTS = tuple(n.weight for n in NATIONALITIES)

#: The hotels that take foreign guests: (name, district code, floors).
HOTELS: tuple[tuple[str, str, int], ...] = (
    ("榕城香格里拉大酒店", "350102", 28), ("榕城温泉大饭店", "350102", 20),
    ("榕城西湖大酒店", "350102", 16), ("亚朵酒店(榕城三坊七巷店)", "350102", 9),
    ("榕城万达文华酒店", "350104", 30), ("海峡国际会展中心酒店", "350104", 18),
    ("汉庭酒店(榕城台江万达店)", "350103", 12), ("榕城闽江饭店", "350103", 22),
    ("马尾船政大酒店", "350105", 15), ("全季酒店(榕城火车站店)", "350111", 10),
    ("榕城泰禾希尔顿酒店", "350111", 32), ("长乐机场宾馆", "350112", 8),
    ("闽侯大学城酒店", "350121", 11), ("福清融侨酒店", "350181", 20),
    ("平潭海峡大酒店", "350128", 14), ("连江贵安温泉酒店", "350122", 12),
)  # fmt: skip


def _guest_name(rng: random.Random, nationality: Nationality, male: bool, born: date) -> str:
    """The name as the passport prints it: surname, then given names, in capitals."""
    if nationality.code == "CHN":
        chinese = names.surname(rng) + names.given_name(rng, male, born.year)
        surname, given = romanised_name(chinese)
        return f"{surname} {given}".upper()
    surname = rng.choice(nationality.surnames)
    if nationality.code == "RUS" and not male:
        surname += "A"  # Russian surnames agree with the bearer
    return f"{surname} {rng.choice(nationality.male if male else nationality.female)}"


def foreigner_stays(rng: random.Random, total: int, chunk: int) -> Iterator[Rows]:
    """``total`` registrations over the reference year, in check-in order, in chunks."""
    days = (REFERENCE_DATE - _YEAR_START).days + 1
    rows: Rows = []
    for index in range(total):
        nationality = rng.choices(NATIONALITIES, _NATIONALITY_WEIGHTS)[0]
        male = rng.random() < 0.6
        # A few children travel with their parents; the rest are working-age adults mostly.
        if rng.random() < 0.05:
            age = rng.randint(3, 17)
        else:
            age = max(18, min(78, int(rng.gauss(40, 12))))
        check_in = _YEAR_START + timedelta(days=index * days // total)
        born = check_in - timedelta(days=int((age + rng.random()) * 365.25))
        nights = 1 + int(rng.expovariate(1 / 2.5))
        if rng.random() < 0.05:  # long stays: work, study, family
            nights = rng.randint(30, 180)
        check_out = check_in + timedelta(days=nights)
        hotel, district, floors = HOTELS[int(rng.random() * len(HOTELS))]
        rows.append(
            [
                _guest_name(rng, nationality, male, born),
                "男" if male else "女",
                nationality.name,
                born,
                _PASSPORTS[nationality.code](rng),
                f"ZS{check_in:%Y%m%d}{index + 1:07d}",
                hotel,
                f"{rng.randint(2, floors)}{rng.randint(1, 40):02d}",
                check_in,
                check_out if check_out <= REFERENCE_DATE else None,
                district,
            ]
        )
        if len(rows) >= chunk:
            yield rows
            rows = []
    if rows:
        yield rows
