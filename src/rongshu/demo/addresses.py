"""Street addresses in the demo city: apartments in town, villages in the counties.

A household's address is kept as its parts, so each department can write it the way its own
system does: 公安 with province and city, 住建 from the district on, 市场监管 with the city.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from rongshu.demo.regions import CITY_NAME, DISTRICTS, PROVINCE_NAME, District
from rongshu.demo.sampling import Weighted

_COMPOUND_PREFIXES = (
    "金榕", "融侨", "榕城", "闽江", "三盛", "正祥", "世茂", "泰禾", "阳光", "金辉", "福晟", "建发",
    "中庚", "名城", "锦江", "江滨", "左海", "西湖", "乌山", "屏山", "温泉", "鼓山", "东湖", "南湖",
    "金山", "橘园", "龙湖", "海峡", "闽都", "三迪", "冠城", "香江", "紫阳", "福新", "桂湖", "凤凰",
)  # fmt: skip
_COMPOUND_SUFFIXES = (
    "花园", "新村", "小区", "苑", "公寓", "华庭", "家园", "新城", "广场", "府", "里", "雅居",
)  # fmt: skip
_VILLAGE_FIRST = "上下东西南北前后新大中高"
_VILLAGE_SECOND = (
    "洋",
    "厝",
    "坑",
    "山",
    "溪",
    "头",
    "岭",
    "埔",
    "林",
    "塘",
    "垅",
    "坂",
    "岐",
    "墩",
)
_BUILDINGS = ("大厦", "中心", "广场", "商务楼", "写字楼")


@dataclass(frozen=True, slots=True)
class Address:
    """An address as parts: its district and what follows the district's name."""

    district: District
    body: str

    @property
    def full(self) -> str:
        """Province, city, district and the rest, as the household registry writes it."""
        return f"{PROVINCE_NAME}{CITY_NAME}{self.district.name}{self.body}"

    @property
    def in_city(self) -> str:
        """City, district and the rest, as business registrations write it."""
        return f"{CITY_NAME}{self.district.name}{self.body}"

    @property
    def located(self) -> str:
        """District and the rest, as a property register's 坐落 reads."""
        return f"{self.district.name}{self.body}"


def home_address(rng: random.Random, district: District) -> Address:
    """A home: an apartment on a road, or a house in a village outside town."""
    if district.urban or rng.random() < 0.45:
        road = rng.choice(district.roads)
        compound = rng.choice(_COMPOUND_PREFIXES) + rng.choice(_COMPOUND_SUFFIXES)
        number = int(rng.random() * 380) + 1
        building = int(rng.random() * 24) + 1
        floor = int(rng.random() * 28) + 1
        room = f"{floor}{int(rng.random() * 6) + 1:02d}"
        if rng.random() < 0.6:
            return Address(district, f"{road}{number}号{compound}{building}号楼{room}室")
        unit = int(rng.random() * 3) + 1
        return Address(district, f"{road}{number}号{compound}{building}座{unit}单元{room}")
    town = rng.choice(district.towns)
    village = rng.choice(_VILLAGE_FIRST) + rng.choice(_VILLAGE_SECOND)
    return Address(district, f"{town}{village}村{int(rng.random() * 260) + 1}号")


def business_address(rng: random.Random, district: District) -> Address:
    """Premises: a unit in an office building, or a shop front on a road."""
    road = rng.choice(district.roads)
    number = int(rng.random() * 380) + 1
    if rng.random() < 0.55:
        name = rng.choice(_COMPOUND_PREFIXES) + rng.choice(_BUILDINGS)
        floor = int(rng.random() * 30) + 1
        return Address(
            district, f"{road}{number}号{name}{floor}层{floor:d}{rng.randrange(1, 20):02d}单元"
        )
    return Address(district, f"{road}{number}号{rng.randrange(1, 4)}层")


def random_district(rng: random.Random) -> District:
    """A district drawn by its share of residents."""
    return _DISTRICTS.pick(rng)


_DISTRICTS = Weighted(DISTRICTS, [district.weight for district in DISTRICTS])


def address_variant(rng: random.Random, full: str) -> str:
    """The same address written differently (prefix dropped, 号楼 as 栋 or #, no 室)."""
    options = []
    if full.startswith(PROVINCE_NAME):
        options.append(full[len(PROVINCE_NAME) :])
        options.append(full[len(PROVINCE_NAME) + len(CITY_NAME) :])
    if "号楼" in full:
        options.append(full.replace("号楼", "栋"))
        options.append(full.replace("号楼", "#楼"))
    if full.endswith("室"):
        options.append(full[:-1])
    if "单元" in full:
        options.append(full.replace("单元", "单元 "))
    if not options:
        return full + "附近"
    return rng.choice(options)
