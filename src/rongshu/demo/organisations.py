"""Employers of 榕城: public institutions (schools, hospitals, agencies, associations) and firms.

Institutions are created once per run; firms are created as their legal representatives turn
up in the population, and a bounded pool of recent firms serves as employers. A firm registers
a mailbox as Chinese firms do: on its own domain, a free mailbox named after it, or its legal
representative's own.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from typing import NamedTuple

from rongshu.demo.departments import DEPARTMENTS
from rongshu.demo.identifiers import OrgCodeSequence, make_uscc
from rongshu.demo.pinyin import initials, romanised_name, syllables
from rongshu.demo.regions import CITY_CODE, CITY_NAME, DISTRICTS, District


@dataclass(frozen=True, slots=True)
class Organisation:
    """An employer or registered body with a (valid) unified social credit code."""

    name: str
    credit_code: str
    district: District
    kind: str
    established: date


@dataclass(frozen=True, slots=True)
class Industry:
    """A GB/T 4754 section and words firms in it put in their names."""

    section: str
    words: tuple[str, ...]
    weight: float


INDUSTRIES: tuple[Industry, ...] = (
    Industry("F 批发和零售业", ("商贸", "贸易", "电子商务", "食品", "百货"), 35),
    Industry("L 租赁和商务服务业", ("企业管理咨询", "商务服务", "广告", "会展服务"), 15),
    Industry("C 制造业", ("机械制造", "电子", "纺织", "鞋业", "食品加工", "新材料"), 10),
    Industry("I 信息传输、软件和信息技术服务业", ("科技", "网络科技", "信息技术", "软件"), 8),
    Industry("E 建筑业", ("建设工程", "建筑工程", "装饰工程", "市政工程"), 8),
    Industry("H 住宿和餐饮业", ("餐饮管理", "酒店管理", "餐饮"), 8),
    Industry("M 科学研究和技术服务业", ("检测技术", "生物科技", "工程设计"), 5),
    Industry("O 居民服务、修理和其他服务业", ("家政服务", "汽车维修", "美容"), 4),
    Industry("K 房地产业", ("房地产开发", "物业管理", "房产经纪"), 3),
    Industry("G 交通运输、仓储和邮政业", ("物流", "运输", "供应链管理"), 3),
    Industry("R 文化、体育和娱乐业", ("文化传媒", "体育发展", "影视"), 2),
    Industry("A 农、林、牧、渔业", ("农业发展", "茶业", "水产养殖"), 1),
)
_INDUSTRY_CUM = tuple(accumulate(industry.weight for industry in INDUSTRIES))

_TRADE_NAME_CHARS = "鑫华泰盛源达恒信丰润瑞联创博宏远嘉和新正金海闽榕天中德安富隆兴旺顺祥凯宇星辰"
_SHOPS = ("小吃店", "便利店", "水果店", "理发店", "五金店", "茶叶店", "服装店", "干洗店", "粮油店")
_PRODUCTS = ("茶叶", "蔬菜", "水果", "食用菌", "水产", "花卉", "橄榄")

#: Kinds of firm a 市场监管 registry holds: (registration type digit, type name, weight).
ENTITY_KINDS: tuple[tuple[str, str, float], ...] = (
    ("1", "有限责任公司(自然人投资或控股)", 52),
    ("1", "有限责任公司(自然人独资)", 18),
    ("1", "股份有限公司(非上市、自然人投资或控股)", 3),
    ("1", "个人独资企业", 4),
    ("1", "普通合伙企业", 3),
    ("2", "个体工商户", 17),
    ("3", "农民专业合作社", 3),
)
_ENTITY_CUM = tuple(accumulate(kind[2] for kind in ENTITY_KINDS))


def pick_industry(rng: random.Random) -> Industry:
    """An industry section by its share of registered firms."""
    return INDUSTRIES[bisect(_INDUSTRY_CUM, rng.random() * _INDUSTRY_CUM[-1])]


def pick_entity_kind(rng: random.Random) -> tuple[str, str, float]:
    """A firm type by its share of registrations."""
    return ENTITY_KINDS[bisect(_ENTITY_CUM, rng.random() * _ENTITY_CUM[-1])]


class FirmName(NamedTuple):
    """A firm's registered name and the parts of it a mailbox is spelt from."""

    full: str
    #: The place in the name (榕城, 福建 ...; empty when the name has none).
    place: str = ""
    #: The trade name (字号) and the line of business (贸易, 网络科技 ...).
    trade: str = ""
    line: str = ""


def firm_name(
    rng: random.Random, entity_type: str, industry: Industry, district: District, surname: str
) -> FirmName:
    """A plausible registered name for a firm of this type."""
    trade = rng.choice(_TRADE_NAME_CHARS) + rng.choice(_TRADE_NAME_CHARS)
    if entity_type == "个体工商户":
        return FirmName(f"{CITY_NAME}{district.name}{surname}记{rng.choice(_SHOPS)}")
    if entity_type == "农民专业合作社":
        product = rng.choice(_PRODUCTS)
        return FirmName(f"{CITY_NAME}{district.short_name}{trade}{product}专业合作社")
    prefix = rng.choice((CITY_NAME[:2], CITY_NAME[:2], "福建", "福建省", ""))
    word = rng.choice(industry.words)
    if entity_type == "个人独资企业":
        place = prefix or CITY_NAME[:2]
        return FirmName(f"{place}{trade}{word}商行", place, trade, word)
    if entity_type == "普通合伙企业":
        place = prefix or CITY_NAME[:2]
        return FirmName(f"{place}{trade}{word}合伙企业(普通合伙)", place, trade, word)
    suffix = "股份有限公司" if entity_type.startswith("股份") else "有限公司"
    return FirmName(f"{prefix}{trade}{word}{suffix}", prefix, trade, word)


#: Free mail services and how often firms' registrations name them.
_FREE_MAIL = ("163.com", "qq.com", "126.com", "sina.com", "139.com", "foxmail.com")
_FREE_MAIL_WEIGHTS = (32, 30, 18, 6, 8, 6)
_COMPANY_SUFFIXES = (".com.cn", ".cn", ".com")
_COMPANY_SUFFIX_WEIGHTS = (45, 30, 25)
_ROLE_MAILBOXES = ("info", "admin", "service", "office", "hr", "sales", "contact", "finance")


def _free_domain(rng: random.Random) -> str:
    return rng.choices(_FREE_MAIL, _FREE_MAIL_WEIGHTS)[0]


def _personal_mailbox(rng: random.Random, name: str, born: date) -> str:
    """A person's own mailbox: a QQ number, or their name in pinyin with a birth year or not."""
    if rng.random() < 0.3:
        return f"{rng.randrange(10_000, 3_000_000_000)}@qq.com"
    surname, given = romanised_name(name)
    local = rng.choice(
        (
            surname + given,
            f"{surname}.{given}",
            given + surname,
            f"{surname}{given}{born.year}",
            f"{surname}{given}{born.year % 100:02d}",
            f"{surname}{given}{rng.randrange(1, 1000)}",
            f"{initials(name)}{rng.randrange(100_000, 1_000_000)}",
        )
    )
    return f"{local}@{_free_domain(rng)}"


def firm_email(rng: random.Random, firm: FirmName, legal_rep: str, born: date) -> str | None:
    """The mailbox a firm registers, or None: sole traders and co-operatives often give none."""
    if not firm.trade:
        return None if rng.random() < 0.5 else _personal_mailbox(rng, legal_rep, born)
    roll = rng.random()
    if roll < 0.4 and firm.full.endswith("公司"):
        trade = "".join(syllables(firm.trade))
        place = initials(firm.place[:2]) if firm.place else ""
        domain = rng.choice((trade, trade + initials(firm.line), place + trade))
        suffix = rng.choices(_COMPANY_SUFFIXES, _COMPANY_SUFFIX_WEIGHTS)[0]
        return f"{rng.choice(_ROLE_MAILBOXES)}@{domain}{suffix}"
    if roll < 0.7:
        # The firm's abbreviation: 福建鑫源贸易 → fjxymy, often with a number to make it free.
        local = initials(firm.place[:2] + firm.trade + firm.line)
        if rng.random() < 0.6:
            local += str(rng.choice((rng.randrange(1, 100), rng.randrange(1990, 2025))))
        return f"{local}@{_free_domain(rng)}"
    return _personal_mailbox(rng, legal_rep, born)


@dataclass(frozen=True, slots=True)
class Institutions:
    """Public bodies of the city, created once per run."""

    schools: dict[tuple[str, str], tuple[Organisation, ...]]  # (district code, level)
    hospitals: tuple[Organisation, ...]
    maternity: Organisation
    agencies: tuple[Organisation, ...]
    associations: tuple[Organisation, ...]

    @property
    def employers(self) -> tuple[Organisation, ...]:
        """Institutions that employ people (and so pay social insurance for them)."""
        schools = tuple(school for group in self.schools.values() for school in group)
        return schools + self.hospitals + self.agencies + self.associations

    @property
    def taxpayers(self) -> tuple[Organisation, ...]:
        """Institutions registered with the tax bureau (not government agencies)."""
        schools = tuple(school for group in self.schools.values() for school in group)
        return schools + self.hospitals + self.associations


def build_institutions(rng: random.Random, codes: OrgCodeSequence) -> Institutions:
    """Schools in every district, hospitals, agencies and associations, with valid codes."""

    def body(name: str, district: District, authority: str, kind: str, org: str) -> Organisation:
        region = CITY_CODE if name.startswith(CITY_NAME + "第") else district.code
        code = make_uscc(authority, kind, region, codes.next_body(False))
        year = rng.randrange(1950, 2010)
        return Organisation(name, code, district, org, date(year, rng.randrange(1, 13), 1))

    schools: dict[tuple[str, str], tuple[Organisation, ...]] = {}
    middle = 1
    for district in DISTRICTS:
        short = district.short_name
        primary = tuple(
            body(f"{CITY_NAME}{short}{label}小学", district, "1", "2", "school")
            for label in ("实验", "第一中心", "第二中心")
        )
        junior = []
        for _ in range(2):
            junior.append(body(f"{CITY_NAME[:2]}第{middle}中学", district, "1", "2", "school"))
            middle += 1
        senior = (body(f"{CITY_NAME}{short}第一高级中学", district, "1", "2", "school"),)
        schools[(district.code, "primary")] = primary
        schools[(district.code, "junior")] = tuple(junior)
        schools[(district.code, "senior")] = senior
    gulou = DISTRICTS[0]
    hospitals = tuple(
        body(f"{CITY_NAME}{name}", district, "1", "2", "hospital")
        for name, district in (
            ("第一医院", gulou),
            ("第二医院", DISTRICTS[2]),
            ("中医院", gulou),
        )
    ) + tuple(
        body(f"{CITY_NAME}{district.name}医院", district, "1", "2", "hospital")
        for district in DISTRICTS
    )
    maternity = body(f"{CITY_NAME}妇幼保健院", gulou, "1", "2", "hospital")
    private = body(f"{CITY_NAME[:2]}和美妇产医院", DISTRICTS[4], "5", "2", "hospital")
    agencies = tuple(
        Organisation(dept.name, dept.credit_code, gulou, "agency", date(1990, 1, 1))
        for dept in DEPARTMENTS
    ) + tuple(
        body(f"{CITY_NAME}{district.name}人民政府", district, "1", "1", "agency")
        for district in DISTRICTS
    )
    associations = tuple(
        body(f"{CITY_NAME}{name}", gulou, "5", kind, "association")
        for name, kind in (
            ("个体劳动者协会", "1"),
            ("餐饮行业协会", "1"),
            ("软件行业协会", "1"),
            ("福清商会", "1"),
            ("慈善总会", "1"),
            ("老年人体育协会", "1"),
            ("教育发展基金会", "3"),
            ("阳光养老院", "2"),
            ("新启航职业培训学校", "2"),
        )
    )
    return Institutions(schools, hospitals + (private,), maternity, agencies, associations)
