"""The vocabulary of the demo city's catalog: codes, legal bases and information-item builders.

Shared by the resources of the generated tables (``catalog_resources``) and the departments'
other resources (``catalog_others``), so that the same kind of item is declared the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from rongshu.catalog.schemas import (
    CatalogType,
    FieldSpec,
    FieldType,
    Grade,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from rongshu.demo.regions import CITY_CODE

BASIC, THEMATIC, DEPARTMENTAL = CatalogType.BASIC, CatalogType.THEMATIC, CatalogType.DEPARTMENTAL
G1, G2, G3, G4 = Grade.GENERAL_1, Grade.GENERAL_2, Grade.GENERAL_3, Grade.GENERAL_4
IMPORTANT, CORE = Grade.IMPORTANT, Grade.CORE
S, INT, DEC = FieldType.STRING, FieldType.INTEGER, FieldType.DECIMAL
DAY, MOMENT = FieldType.DATE, FieldType.DATETIME
API, BATCH, FILE = ShareMethod.API, ShareMethod.BATCH, ShareMethod.FILE
SHARE_ALL, SHARE_IF, SHARE_NONE = ShareType.UNCONDITIONAL, ShareType.CONDITIONAL, ShareType.NONE
OPEN_ALL, OPEN_IF, OPEN_NONE = OpenType.UNCONDITIONAL, OpenType.CONDITIONAL, OpenType.NONE
REALTIME, DAILY, MONTHLY = UpdateCycle.REALTIME, UpdateCycle.DAILY, UpdateCycle.MONTHLY
QUARTERLY, YEARLY, IRREGULAR = UpdateCycle.QUARTERLY, UpdateCycle.YEARLY, UpdateCycle.IRREGULAR

PIPL_SENSITIVE = "《中华人民共和国个人信息保护法》第二十八条"
PIPL_STATE = "《中华人民共和国个人信息保护法》第三十四条"
MINORS = "《中华人民共和国未成年人保护法》第七十二条"
HEALTH = "《中华人民共和国基本医疗卫生与健康促进法》第九十二条"
DATA_SECURITY = "《中华人民共和国数据安全法》第二十一条"

#: Descriptions of the items that follow a national standard.
RIC = "18位公民身份号码（GB 11643），末位为校验码"
USCC = "18位统一社会信用代码（GB 32100）"
REGION = "6位县级以上行政区划代码（GB/T 2260）"

#: Publish date of the 2024 catalog (the title year); every resource was published that day.
PUBLISH_DATE = date(2024, 3, 15)


def code(department: str, seq: int) -> str:
    """A resource code: ``<region>-<department>-<sequence>``, e.g. ``350100-GA-0001``."""
    return f"{CITY_CODE}-{department}-{seq:04d}"


def item(
    name: str,
    english: str,
    data_type: FieldType,
    length: int | None = None,
    *,
    key: bool = False,
    unique: bool = True,
    personal: bool = False,
    grade: Grade = G1,
    rules: Sequence[str] = (),
    description: str = "",
) -> FieldSpec:
    """An information item; a key is not null and (unless part of a compound key) unique."""
    key_rules = (["not_null", "unique"] if unique else ["not_null"]) if key else []
    return FieldSpec(
        name=name,
        english_name=english,
        data_type=data_type,
        length=length,
        description=description,
        is_key=key,
        is_personal=personal,
        grade=grade,
        rules=key_rules + list(rules),
    )


def ric(name: str = "公民身份号码", english: str = "id_number", grade: Grade = G4) -> FieldSpec:
    """A resident ID number: personal, general level 4 unless said otherwise."""
    return item(name, english, S, 18, personal=True, grade=grade, rules=["ric"], description=RIC)


def person(name: str = "姓名", english: str = "name") -> FieldSpec:
    """A person's name: personal, general level 3."""
    return item(name, english, S, 50, personal=True, grade=G3)


def uscc(
    name: str = "统一社会信用代码", english: str = "credit_code", *, key: bool = False
) -> FieldSpec:
    """A unified social credit code."""
    return item(name, english, S, 18, key=key, rules=["uscc"], description=USCC)


def region(name: str = "区划代码", english: str = "district_code") -> FieldSpec:
    """A GB/T 2260 region code."""
    return item(name, english, S, 6, rules=["region"], description=REGION)


def day(name: str, english: str, grade: Grade = G1) -> FieldSpec:
    """A date."""
    return item(name, english, DAY, grade=grade, rules=["date"])


def text(name: str, english: str, length: int = 50, grade: Grade = G1) -> FieldSpec:
    """A text item."""
    return item(name, english, S, length, grade=grade)


def amount(name: str, english: str, low: float, high: float, grade: Grade = G1) -> FieldSpec:
    """A decimal with the range it must fall in."""
    return item(
        name, english, DEC, grade=grade, rules=["range"], description=f"有效范围 {low:g}～{high:g}"
    )


def declare(
    department: str,
    seq: int,
    name: str,
    catalog_type: CatalogType,
    classification: str,
    summary: str,
    fields: list[FieldSpec],
    *,
    share: ShareType,
    methods: tuple[ShareMethod, ...] = (API,),
    open: OpenType,
    cycle: UpdateCycle,
    format: str = "table",
    share_condition: str = "",
    open_condition: str = "",
    legal_basis: str = "",
    related: tuple[str, ...] = (),
    grade: Grade | None = None,
) -> ResourceSpec:
    """A resource of ``department`` published with the 2024 catalog."""
    return ResourceSpec(
        code=code(department, seq),
        name=name,
        catalog_type=catalog_type,
        classification_code=classification,
        department_code=department,
        summary=summary,
        format=format,
        fields=fields,
        share_type=share,
        share_condition=share_condition,
        share_methods=list(methods) if share is not SHARE_NONE else [],
        open_type=open,
        open_condition=open_condition,
        legal_basis=legal_basis,
        update_cycle=cycle,
        publish_date=PUBLISH_DATE,
        related=list(related),
        grade=grade,
    )
