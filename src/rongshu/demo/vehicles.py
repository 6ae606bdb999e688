"""公安 vehicle registrations: the residents' cars and trucks, with plates of the city's office.

Owners are adults of the household registry (so the owner's name and ID number link back to
them); a vehicle still on the register was mostly registered in the last few years, and the
newer it is the likelier it is a new-energy vehicle with a green plate (issued since 2017).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from rongshu.demo.identifiers import PlateSequence
from rongshu.demo.population import REFERENCE_DATE, Household, Person

Rows = list[list[object]]


@dataclass(frozen=True, slots=True)
class VehicleKind:
    """A vehicle type (GA 802) as the registry names it, and what goes with it."""

    name: str
    weight: float
    large: bool
    usage: tuple[str, ...]
    brands: tuple[str, ...]
    #: How likely a vehicle of this kind is new-energy, relative to a car (0: never).
    electric: float = 0.0
    electric_brands: tuple[str, ...] = ()


_CAR_BRANDS = (
    *("大众牌", "丰田牌", "本田牌", "日产牌", "别克牌", "吉利牌", "长安牌", "哈弗牌", "东南牌"),
    *("奇瑞牌", "宝马牌", "奔驰牌", "奥迪牌", "马自达牌", "现代牌"),
)
_ELECTRIC_CAR_BRANDS = (
    *("比亚迪牌", "特斯拉牌", "五菱牌", "广汽埃安牌", "蔚来牌", "理想牌", "小鹏牌", "问界牌"),
    "极氪牌",
)
_PRIVATE = ("非营运",) * 24 + ("预约出租客运",)

VEHICLE_KINDS: tuple[VehicleKind, ...] = (
    VehicleKind("小型轿车", 48, False, _PRIVATE, _CAR_BRANDS, 1.0, _ELECTRIC_CAR_BRANDS),
    VehicleKind("小型普通客车", 34, False, _PRIVATE, _CAR_BRANDS, 1.0, _ELECTRIC_CAR_BRANDS),
    VehicleKind("小型越野客车", 6, False, ("非营运",), ("丰田牌", "哈弗牌", "坦克牌", "吉普牌")),
    VehicleKind(
        "轻型普通货车", 7, False, ("货运",), ("五菱牌", "福田牌", "江淮牌", "东风牌", "长城牌"),
        0.3, ("五菱牌", "福田牌"),
    ),
    VehicleKind(
        "中型普通客车", 1, True, ("旅游客运", "非营运"), ("金龙牌", "宇通牌", "金旅牌"),
        0.5, ("金龙牌", "宇通牌", "比亚迪牌"),
    ),
    VehicleKind("重型厢式货车", 2.5, True, ("货运",), ("解放牌", "东风牌", "豪沃牌", "陕汽牌")),
    VehicleKind("重型半挂牵引车", 1.5, True, ("货运",), ("解放牌", "东风牌", "豪沃牌", "陕汽牌")),
)  # fmt: skip
_KIND_WEIGHTS = tuple(kind.weight for kind in VEHICLE_KINDS)

#: Share of new cars registered each year that were new-energy (green plates began in 2017).
ELECTRIC_SHARE: dict[int, float] = {
    2017: 0.02, 2018: 0.03, 2019: 0.04, 2020: 0.06, 2021: 0.12, 2022: 0.22, 2023: 0.3, 2024: 0.4,
}  # fmt: skip
#: Mean age in years of a vehicle still on the register; none is older than the limit.
_MEAN_AGE, _MAX_AGE = 5.5, 15
#: The city's register: 12-digit certificate numbers starting with the city's prefix.
_CERTIFICATE_PREFIX = "3501"


def _adult_from(person: Person) -> date:
    """The day the person turned 18 and could first register a vehicle."""
    birth = person.birth
    try:
        return birth.replace(year=birth.year + 18)
    except ValueError:  # born on 29 February
        return birth.replace(year=birth.year + 18, day=28)


class VehicleRegistry:
    """Registers the residents' vehicles chunk by chunk, each with a plate never used before."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._plates = PlateSequence(rng)
        self._registered = 0

    def rows(self, households: list[Household]) -> Rows:
        """The ``vehicle_registrations`` rows of the households' adults."""
        rng = self._rng
        rows: Rows = []
        for household in households:
            for person in household.members:
                age = person.age_on(REFERENCE_DATE)
                if not 18 <= age <= 80:
                    continue
                owns = 0.25 if 25 <= age <= 60 else 0.08
                if rng.random() >= owns:
                    continue
                rows.append(self._register(person, household.district.code))
                if rng.random() < 0.05:
                    rows.append(self._register(person, household.district.code))
        return rows

    def _register(self, owner: Person, district: str) -> list[object]:
        rng = self._rng
        kind = rng.choices(VEHICLE_KINDS, _KIND_WEIGHTS)[0]
        years = min(rng.expovariate(1 / _MEAN_AGE), _MAX_AGE)
        registered = REFERENCE_DATE - timedelta(days=int(years * 365.25))
        first = _adult_from(owner)
        if registered < first:
            registered = first + timedelta(days=int(rng.random() * (REFERENCE_DATE - first).days))
        share = ELECTRIC_SHARE.get(registered.year, 0.0) * kind.electric
        electric = rng.random() < share
        plate, plate_type = self._plates.next_plate(large=kind.large, new_energy=electric)
        brand = rng.choice(kind.electric_brands if electric else kind.brands)
        self._registered += 1
        return [
            f"{_CERTIFICATE_PREFIX}{self._registered:08d}",
            plate,
            plate_type,
            kind.name,
            brand,
            owner.name,
            owner.id_number,
            registered,
            rng.choice(kind.usage),
            district,
        ]
