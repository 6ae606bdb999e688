"""Chinese personal names: surnames by Fujian frequency, given names by era and gender.

Shipped as data (no Faker): it is fast, and the same seed gives the same names on every machine.
A few given names use characters outside GBK (e.g. 䶮), as real registries do, so a GB18030 file
cannot be read as GBK without loss.
"""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate

# (surname, weight per mille); Fujian's distribution puts 陈 and 林 far ahead.
_SURNAME_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("陈", 110), ("林", 100), ("黄", 60), ("郑", 40), ("王", 40), ("张", 35), ("李", 35),
    ("刘", 30), ("吴", 30), ("杨", 20), ("蔡", 15), ("许", 15), ("叶", 15), ("郭", 12),
    ("徐", 12), ("周", 12), ("江", 10), ("何", 10), ("朱", 10), ("谢", 10), ("曾", 10),
    ("游", 8), ("魏", 8), ("胡", 8), ("高", 8), ("罗", 8), ("苏", 7), ("潘", 6), ("余", 6),
    ("卓", 5), ("宋", 5), ("唐", 5), ("邓", 5), ("肖", 5), ("方", 5), ("邱", 5), ("韩", 4),
    ("冯", 4), ("曹", 4), ("彭", 4), ("卢", 4), ("钟", 4), ("廖", 4), ("詹", 4), ("翁", 4),
    ("洪", 4), ("田", 3), ("董", 3), ("袁", 3), ("蒋", 3), ("杜", 3), ("程", 3), ("吕", 3),
    ("丁", 3), ("沈", 3), ("姚", 3), ("施", 3), ("傅", 3), ("庄", 3), ("连", 3), ("于", 2),
    ("任", 2), ("姜", 2), ("谭", 2), ("陆", 2), ("汪", 2), ("范", 2), ("金", 2), ("石", 2),
    ("夏", 2), ("付", 2), ("邹", 2), ("熊", 2), ("薛", 2), ("严", 2), ("雷", 2), ("戴", 2),
    ("柯", 2), ("倪", 2), ("温", 2), ("欧", 2), ("池", 2), ("阮", 2), ("兰", 2), ("崔", 1),
    ("贾", 1), ("韦", 1), ("白", 1), ("孟", 1), ("秦", 1), ("尹", 1), ("侯", 1), ("龙", 1),
    ("陶", 1), ("黎", 1), ("贺", 1), ("顾", 1), ("毛", 1), ("郝", 1), ("龚", 1), ("邵", 1),
    ("万", 1), ("钱", 1), ("武", 1), ("莫", 1), ("孔", 1), ("汤", 1), ("官", 1),
    ("欧阳", 0.3), ("上官", 0.2), ("司徒", 0.1), ("司马", 0.1), ("诸葛", 0.05),
    ("东方", 0.05), ("皇甫", 0.05),
)  # fmt: skip

SURNAMES: tuple[str, ...] = tuple(name for name, _ in _SURNAME_WEIGHTS)
COMPOUND_SURNAMES: frozenset[str] = frozenset(name for name in SURNAMES if len(name) == 2)
_SURNAME_CUM: tuple[float, ...] = tuple(accumulate(weight for _, weight in _SURNAME_WEIGHTS))
_SURNAME_TOTAL = _SURNAME_CUM[-1]

# Given-name characters by era of birth (before 1960, 1960s-70s, 1980s-90s, 2000 on).
_MALE: tuple[str, ...] = (
    "国建华明德福金春生文志荣祥贵海宝忠清寿水仁义才林根发顺木炳昌",
    "建国军伟平强勇华明辉东斌峰林杰涛波刚敏宏文新志永春清雄",
    "伟磊杰斌鹏浩超凯鑫俊涛辉宇晨帅健亮翔毅彬炜锋航振龙飞哲晖",
    "子梓宇浩轩睿泽辰一铭航博皓俊熙逸霖宸晟昊嘉煜奕瑞诚启恒锦然安",
)
_FEMALE: tuple[str, ...] = (
    "秀玉英兰珍凤梅桂华淑芳金月春琴美花娥莲菊翠",
    "丽红华霞燕萍芳玲敏静艳娟琴英梅慧秀君云莉",
    "婷丽静敏燕娟颖琳倩雪晶洁莹丹佳瑶璐露欣怡薇蕾晓思",
    "梓涵欣子怡诗雨萱思悦可一诺佳琪依语桐芮若汐嘉妍彤馨晨茜",
)
# Share of two-character given names per era (single-character names peaked in the 1960s-90s).
_TWO_CHAR_SHARE: tuple[float, ...] = (0.75, 0.6, 0.6, 0.85)

#: Name characters outside GBK but inside GB18030 (real people carry them; few systems cope).
RARE_CHARACTERS: tuple[str, ...] = ("䶮", "𫖯", "㛃", "䜣")
RARE_NAME_RATE = 0.001

#: Characters clerks confuse when typing a name (same or near pronunciation, similar shape).
SIMILAR_CHARACTERS: dict[str, tuple[str, ...]] = {
    "伟": ("玮", "炜", "韦"), "丽": ("莉", "俐", "立"), "军": ("君", "均"), "华": ("桦", "骅"),
    "明": ("铭", "名", "鸣"), "杰": ("洁", "捷"), "婷": ("亭", "庭"), "敏": ("民", "闽"),
    "峰": ("锋", "丰", "枫"), "磊": ("垒", "蕾"), "涛": ("滔", "焘"), "斌": ("彬", "滨"),
    "辉": ("晖", "挥"), "鑫": ("欣", "新"), "娟": ("涓", "鹃"), "燕": ("艳", "雁"),
    "霞": ("侠", "夏"),
    "红": ("虹", "宏", "洪"), "芳": ("方", "芬"), "萍": ("平", "苹"), "玲": ("铃", "琳", "伶"),
    "颖": ("莹", "英", "影"), "刚": ("钢", "纲"), "勇": ("永", "涌"), "平": ("萍", "坪"),
    "建": ("健", "剑"), "志": ("智", "治"), "宇": ("雨", "羽", "语"), "浩": ("皓", "昊", "灏"),
    "轩": ("萱", "宣"), "涵": ("函", "晗", "寒"), "梓": ("子", "紫"), "欣": ("新", "馨", "心"),
    "琪": ("琦", "淇", "棋"), "怡": ("宜", "仪", "依"), "晨": ("辰", "臣", "宸"),
    "彤": ("桐", "童"),
    "瑶": ("遥", "姚"), "佳": ("嘉", "家"), "俊": ("骏", "峻", "竣"), "博": ("波", "柏"),
    "文": ("雯", "闻"), "静": ("婧", "靖"), "慧": ("惠", "蕙"), "秀": ("绣", "琇"),
    "玉": ("钰", "毓"), "英": ("瑛", "莺"), "兰": ("岚", "澜"), "梅": ("枚", "玫"),
    "春": ("椿", "纯"), "林": ("琳", "霖", "淋"), "强": ("蔷",), "国": ("帼",),
    "东": ("冬", "栋"), "凯": ("恺", "锴"), "鹏": ("朋", "彭"), "超": ("潮",), "亮": ("靓",),
    "翔": ("祥", "想"), "航": ("杭", "行"), "睿": ("锐", "瑞"), "泽": ("择", "则"),
    "一": ("依", "伊"), "雨": ("宇", "语"), "思": ("斯", "丝"), "悦": ("月", "越"), "诺": ("娜",),
    "晓": ("小", "筱"), "倩": ("茜", "芊"), "雪": ("学",), "晶": ("菁", "京"), "洁": ("杰", "婕"),
    # Surnames a clerk may mishear; 黄/王 sound alike in Fuzhou-accented Mandarin.
    "黄": ("王",), "王": ("黄",), "张": ("章",), "刘": ("柳",), "吴": ("伍", "武"), "杨": ("阳",),
    "郑": ("正",), "徐": ("许",), "许": ("徐",), "陈": ("程",), "叶": ("业",),
}  # fmt: skip

_ERA_BOUNDS: tuple[int, ...] = (1960, 1980, 2000)


def era(birth_year: int) -> int:
    """Index of the naming era a birth year belongs to (0 = before 1960 ... 3 = 2000 on)."""
    return bisect(_ERA_BOUNDS, birth_year)


def surname(rng: random.Random) -> str:
    """A surname drawn by its frequency in Fujian."""
    return SURNAMES[bisect(_SURNAME_CUM, rng.random() * _SURNAME_TOTAL)]


def given_name(rng: random.Random, male: bool, birth_year: int) -> str:
    """A given name of one or two characters, typical of the person's gender and era."""
    index = era(birth_year)
    chars = _MALE[index] if male else _FEMALE[index]
    first = chars[int(rng.random() * len(chars))]
    if rng.random() >= _TWO_CHAR_SHARE[index]:
        return first
    if rng.random() < RARE_NAME_RATE:
        return first + RARE_CHARACTERS[int(rng.random() * len(RARE_CHARACTERS))]
    second = chars[int(rng.random() * len(chars))]
    return first + second


def similar_name(rng: random.Random, name: str) -> str | None:
    """The name with one character swapped for a similar one, or None if none is known."""
    positions = [i for i, char in enumerate(name) if char in SIMILAR_CHARACTERS]
    if not positions:
        return None
    # Prefer the given name: clerks usually have the surname right.
    given = [i for i in positions if i > 0]
    index = rng.choice(given) if given and rng.random() < 0.85 else rng.choice(positions)
    replacement = rng.choice(SIMILAR_CHARACTERS[name[index]])
    return name[:index] + replacement + name[index + 1 :]
