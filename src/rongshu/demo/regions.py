"""Region codes (GB/T 2260) of the demo city 榕城, which borrows Fuzhou's real districts.

Every code carries the years it was in force, so an ID number can carry a code that was valid when
the number was first issued. Numbers were first issued in 1984 (first-generation cards); people
born earlier carry the code of where they were registered in 1984, so the year that must match is
``issue_year(birth_year) == max(birth_year, 1984)``. Fuzhou's codes changed twice in that time:
长乐县 350126 → 长乐市 350182 (1995) → 长乐区 350112 (2017) and 福清县 350127 → 福清市 359003
(1990) → 350181 (1995), as the GB/T 2260 table of ``rongshu.standards`` has them; people keep the
code their number was issued with, so all of these appear in the data.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The city's own code: departments of 榕城 are city-level (福州市 is 350100).
CITY_CODE = "350100"
CITY_NAME = "榕城市"
PROVINCE_NAME = "福建省"

#: First year ID numbers were issued; people born earlier carry a code valid in this year.
FIRST_ISSUE_YEAR = 1984


@dataclass(frozen=True, slots=True)
class Region:
    """One GB/T 2260 county-level code and the years (inclusive) it was in force."""

    code: str
    name: str
    start: int | None = None
    end: int | None = None

    def valid_in(self, year: int) -> bool:
        """Whether the code was in force in ``year``."""
        return (self.start is None or year >= self.start) and (self.end is None or year <= self.end)


@dataclass(frozen=True, slots=True)
class District:
    """A current district or county of 榕城 with its share of residents and its streets."""

    code: str
    name: str
    weight: float
    urban: bool
    roads: tuple[str, ...]
    towns: tuple[str, ...]
    #: Codes an ID number issued here carries, by the year of issue (oldest first).
    id_codes: tuple[Region, ...]

    @property
    def short_name(self) -> str:
        """The name without its 区/县/市 suffix, as used in shop and station names."""
        return self.name[:-1] if len(self.name) > 2 else self.name

    def id_code(self, year: int) -> str:
        """The region code an ID number issued here in ``year`` carries."""
        for region in self.id_codes:
            if region.valid_in(year):
                return region.code
        return self.id_codes[-1].code


def _codes(*regions: Region) -> tuple[Region, ...]:
    return regions


# Weights follow the 2020 census population of each district (in 10 000s, roughly).
DISTRICTS: tuple[District, ...] = (
    District(
        "350102",
        "鼓楼区",
        69,
        True,
        (
            "五一北路",
            "八一七北路",
            "东街",
            "杨桥东路",
            "杨桥中路",
            "湖东路",
            "北大路",
            "乌山路",
            "铜盘路",
            "工业路",
            "温泉路",
            "华林路",
            "鼓屏路",
            "白马北路",
            "五四路",
            "通湖路",
            "西洪路",
            "斗池路",
            "西二环中路",
            "福飞南路",
        ),
        ("东街街道", "南街街道", "温泉街道", "水部街道", "五凤街道", "洪山镇"),
        _codes(Region("350102", "鼓楼区", 1983)),
    ),
    District(
        "350103",
        "台江区",
        44,
        True,
        (
            "五一中路",
            "八一七中路",
            "广达路",
            "国货西路",
            "国货东路",
            "台江路",
            "上海路",
            "群众路",
            "宁化路",
            "达江路",
            "鳌峰路",
            "六一中路",
            "交通路",
            "江滨中大道",
            "学军路",
            "德化路",
        ),
        ("茶亭街道", "上海街道", "洋中街道", "鳌峰街道", "宁化街道", "义洲街道"),
        _codes(Region("350103", "台江区", 1983)),
    ),
    District(
        "350104",
        "仓山区",
        80,
        True,
        (
            "上渡路",
            "南江滨西大道",
            "则徐大道",
            "金山大道",
            "建新北路",
            "浦上大道",
            "首山路",
            "盘屿路",
            "仓前路",
            "对湖路",
            "麦园路",
            "福湾路",
            "林浦路",
            "南台大道",
            "连江中路",
            "梅峰路",
        ),
        ("仓山镇", "金山街道", "建新镇", "盖山镇", "城门镇", "螺洲镇", "下渡街道"),
        _codes(Region("350104", "仓山区", 1983)),
    ),
    District(
        "350105",
        "马尾区",
        23,
        True,
        ("罗星路", "江滨东大道", "儒江西路", "君竹路", "沿山西路", "星发路", "马江路"),
        ("罗星街道", "马尾镇", "亭江镇", "琅岐镇"),
        _codes(Region("350105", "马尾区", 1983)),
    ),
    District(
        "350111",
        "晋安区",
        95,
        True,
        (
            "福飞路",
            "鹤林路",
            "岳峰路",
            "连江北路",
            "晋连路",
            "福马路",
            "秀峰路",
            "长乐北路",
            "远洋路",
            "前横路",
            "化工路",
            "王庄路",
            "东浦路",
            "新店路",
            "战坂路",
            "象园路",
        ),
        ("茶园街道", "王庄街道", "象园街道", "鼓山镇", "新店镇", "岳峰镇", "宦溪镇"),
        _codes(Region("350111", "晋安区", 1983)),
    ),
    District(
        "350112",
        "长乐区",
        76,
        True,
        ("吴航路", "郑和中路", "郑和西路", "东关路", "会堂路", "爱心路", "首占路", "航城路"),
        ("吴航街道", "航城街道", "营前街道", "首占镇", "潭头镇", "金峰镇", "漳港街道"),
        _codes(
            Region("350126", "长乐县", 1983, 1994),
            Region("350182", "长乐市", 1995, 2017),
            Region("350112", "长乐区", 2017),
        ),
    ),
    District(
        "350121",
        "闽侯县",
        96,
        False,
        ("乌龙江大道", "学府路", "高新大道", "昙石山大道", "溪源宫路", "江滨大道", "荆溪路"),
        ("甘蔗街道", "上街镇", "南屿镇", "荆溪镇", "青口镇", "南通镇", "白沙镇"),
        _codes(Region("350121", "闽侯县")),
    ),
    District(
        "350122",
        "连江县",
        57,
        False,
        ("丹凤西路", "江滨路", "玉荷西路", "东湖路", "凤城路", "贵安路"),
        ("凤城镇", "敖江镇", "琯头镇", "潘渡乡", "黄岐镇", "官坂镇"),
        _codes(Region("350122", "连江县", 1983)),
    ),
    District(
        "350123",
        "罗源县",
        22,
        False,
        ("凤山路", "西兰路", "罗川路", "滨江路"),
        ("凤山镇", "松山镇", "起步镇", "碧里乡"),
        _codes(Region("350123", "罗源县", 1983)),
    ),
    District(
        "350124",
        "闽清县",
        24,
        False,
        ("台山路", "解放大街", "梅溪路", "滨江路"),
        ("梅城镇", "梅溪镇", "白樟镇", "坂东镇"),
        _codes(Region("350124", "闽清县", 1983)),
    ),
    District(
        "350125",
        "永泰县",
        25,
        False,
        ("城关路", "南湖路", "樟城路", "环城路"),
        ("樟城镇", "城峰镇", "清凉镇", "嵩口镇"),
        _codes(Region("350125", "永泰县", 1983)),
    ),
    District(
        "350128",
        "平潭县",
        36,
        False,
        ("金井湾大道", "西航路", "万宝路", "麒麟路", "北厝路"),
        ("潭城镇", "苏澳镇", "北厝镇", "澳前镇", "流水镇"),
        _codes(Region("350128", "平潭县", 1983)),
    ),
    District(
        "350181",
        "福清市",
        136,
        True,
        ("清昌大道", "清荣大道", "福唐路", "一拂路", "西环路", "龙江路", "福百大道", "利桥街"),
        ("玉屏街道", "龙山街道", "音西街道", "宏路街道", "龙田镇", "江阴镇", "渔溪镇"),
        _codes(
            Region("350127", "福清县", 1983, 1990),
            Region("359003", "福清市", 1990, 1995),  # a provincially numbered city until 1995
            Region("350181", "福清市", 1995),
        ),
    ),
)

DISTRICT_BY_CODE: dict[str, District] = {d.code: d for d in DISTRICTS}

#: The city's extent in degrees (CGCS2000), west to east and south to north. 榕城 is a compact
#: Fuzhou: its outer counties sit at the edge of this box nearest their real county seats.
LONGITUDE_RANGE: tuple[float, float] = (119.0, 119.6)
LATITUDE_RANGE: tuple[float, float] = (25.8, 26.3)

#: Where each district's monitoring stations cluster: (longitude, latitude) of its seat.
DISTRICT_CENTRES: dict[str, tuple[float, float]] = {
    "350102": (119.296, 26.081),  # 鼓楼区
    "350103": (119.314, 26.053),  # 台江区
    "350104": (119.273, 26.017),  # 仓山区
    "350105": (119.455, 25.989),  # 马尾区
    "350111": (119.328, 26.117),  # 晋安区
    "350112": (119.523, 25.963),  # 长乐区
    "350121": (119.131, 26.150),  # 闽侯县
    "350122": (119.539, 26.197),  # 连江县
    "350123": (119.520, 26.270),  # 罗源县 (Fuzhou's is at 26.49 N)
    "350124": (119.040, 26.220),  # 闽清县 (118.86 E)
    "350125": (119.045, 25.865),  # 永泰县 (118.93 E)
    "350128": (119.565, 25.835),  # 平潭县 (119.79 E, 25.50 N)
    "350181": (119.384, 25.835),  # 福清市 (25.72 N)
}

#: Codes an ID number of a migrant may carry: real codes of other cities, in force since 1983.
MIGRANT_REGIONS: tuple[Region, ...] = (
    Region("350203", "厦门市思明区", 1983),
    Region("350302", "莆田市城厢区", 1983),
    Region("350322", "仙游县", 1983),
    Region("350502", "泉州市鲤城区", 1985),
    Region("350583", "南安市", 1995),  # 359002 in 1993–1994
    Region("350702", "南平市延平区", 1994),
    Region("350802", "龙岩市新罗区", 1996),
    Region("350902", "宁德市蕉城区", 1999),
    Region("360102", "南昌市东湖区", 1983),
    Region("360121", "南昌县"),
    Region("360426", "德安县", 1983),
    Region("330106", "杭州市西湖区", 1983),
    Region("320106", "南京市鼓楼区", 1983),
    Region("110105", "北京市朝阳区"),
    Region("310104", "上海市徐汇区"),
    Region("420106", "武汉市武昌区", 1983),
    Region("410105", "郑州市金水区", 1983),
    Region("370102", "济南市历下区", 1983),
    Region("610113", "西安市雁塔区", 1983),
    Region("440106", "广州市天河区", 1985),
)

#: Fujian's migrants are mostly from elsewhere in the province: these weights favour it.
MIGRANT_WEIGHTS: tuple[float, ...] = tuple(
    4.0 if region.code.startswith("35") else 1.0 for region in MIGRANT_REGIONS
)

#: Every code that can appear in an ID number, with its validity (for checks and tests).
ALL_REGIONS: dict[str, Region] = {
    **{region.code: region for district in DISTRICTS for region in district.id_codes},
    **{region.code: region for region in MIGRANT_REGIONS},
}

#: Codes used to make an ID number whose region was not in force when it was issued.
OUT_OF_PERIOD_CODES: tuple[str, ...] = ("350112", "350182", "350126", "350127")


def issue_year(birth_year: int) -> int:
    """The year a person's ID number was first issued: their birth year, or 1984 if earlier."""
    return max(birth_year, FIRST_ISSUE_YEAR)


def region_valid_for_birth_year(code: str, birth_year: int) -> bool:
    """Whether an ID number with this region code and birth year is consistent (see module doc)."""
    region = ALL_REGIONS.get(code)
    return region is not None and region.valid_in(issue_year(birth_year))


def district_name(code: str) -> str:
    """The name of a current district of the city, or of any known code."""
    district = DISTRICT_BY_CODE.get(code)
    if district is not None:
        return district.name
    region = ALL_REGIONS.get(code)
    return region.name if region is not None else code
