"""The demo city's data-resource catalog: what each department declares about its data.

One resource per generated source table, whose fields are exactly the table's columns (labels,
names, types, keys, personal-information flags, grades and quality rules derived from the
columns' semantics), and the departments' other resources that have no generated data
(``catalog_others``). Every declaration obeys the cataloguing guide
(``rongshu.catalog.rules.check_resource``).
"""

from __future__ import annotations

from dataclasses import dataclass

from rongshu.catalog.rules import effective_grade
from rongshu.catalog.schemas import (
    CatalogType,
    FieldSpec,
    Grade,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from rongshu.demo.catalog_fields import (
    API,
    BASIC,
    BATCH,
    DAILY,
    DAY,
    DEC,
    DEPARTMENTAL,
    G1,
    G2,
    G3,
    G4,
    IMPORTANT,
    INT,
    MINORS,
    MOMENT,
    MONTHLY,
    OPEN_ALL,
    OPEN_IF,
    OPEN_NONE,
    PIPL_SENSITIVE,
    PIPL_STATE,
    PUBLISH_DATE,
    REALTIME,
    REGION,
    RIC,
    SHARE_ALL,
    SHARE_IF,
    THEMATIC,
    USCC,
    S,
    code,
)
from rongshu.demo.catalog_others import other_resources
from rongshu.demo.departments import DEPARTMENTS
from rongshu.demo.schema import TABLES, Column, TableSpec

# -- resources of the generated source tables ------------------------------------------------


@dataclass(frozen=True)
class TableEntry:
    """What a department declares about a generated table beyond its columns."""

    seq: int
    catalog_type: CatalogType
    classification: str
    summary: str
    format: str
    share_type: ShareType
    share_methods: tuple[ShareMethod, ...]
    open_type: OpenType
    update_cycle: UpdateCycle
    share_condition: str = ""
    open_condition: str = ""
    legal_basis: str = ""
    related: tuple[str, ...] = ()
    grade: Grade | None = None
    #: Column grades above what the column's semantics give (e.g. ID numbers of everyone).
    column_grades: tuple[tuple[str, Grade], ...] = ()


#: Semantics that make a column personal information in a table about people.
_PERSONAL = {
    *("person_name", "ric", "phone", "address", "gender", "ethnicity"),
    *("bank_card", "email", "plate", "passport", "ip", "longitude", "latitude"),
}
#: Semantics that are personal whoever the table is about: a legal representative's name and ID
#: number, a firm's mailbox (mostly the representative's own), a card or passport number.
_ALWAYS_PERSONAL = {"person_name", "ric", "email", "bank_card", "passport"}
#: Columns about a person that no semantic marks.
_PERSONAL_COLUMNS = {"marital_status", "nationality"}
#: Tables whose subjects are organisations or sensors: addresses and phones there are not a
#: person's (a legal representative's name and ID number still are).
_NOT_ABOUT_PEOPLE = {
    "enterprise_registry",
    "tax_registration",
    "air_quality_readings",
    "water_levels",
    "parking_occupancy",
}
#: Grades by semantic. Sensitive personal information (GB/T 35273: ID, bank card and passport
#: numbers, a person's precise whereabouts) is general level 4, other personal information 3.
_SEMANTIC_GRADE = {
    "ric": G4,
    "bank_card": G4,
    "passport": G4,
    "longitude": G4,
    "latitude": G4,
    "phone": G3,
    "email": G3,
    "person_name": G3,
    "address": G3,
    "plate": G3,
    "ip": G3,
    "ethnicity": G3,
    "gender": G2,
    "amount": G3,
}
#: Semantics that are sensitive only when they are about a person (a station's position is not).
_GRADED_WHEN_PERSONAL = {"address", "phone", "amount", "longitude", "latitude"}
_SEMANTIC_RULES = {
    "ric": "ric",
    "uscc": "uscc",
    "phone": "phone",
    "region": "region",
    "bank_card": "bank_card",
    "email": "email",
    "plate": "plate",
}
_SEMANTIC_DESCRIPTION = {
    "ric": RIC,
    "uscc": USCC,
    "region": REGION,
    "phone": "手机号码或固定电话号码",
    "bank_card": "银行卡号，13～19位数字，末位为 Luhn 校验位",
    "email": "电子邮箱地址",
    "plate": "机动车号牌号码（GA 36），不含间隔符",
    "passport": "护照号码，按签发国格式",
    "ip": "IPv4 或 IPv6 地址",
    "longitude": "经度（CGCS2000，度），6位小数",
    "latitude": "纬度（CGCS2000，度），6位小数",
    "date": "日期，格式 YYYY-MM-DD",
    "datetime": "日期时间，格式 YYYY-MM-DDTHH:MM:SS",
    "year_month": "年月，格式 YYYY-MM",
    "timestamp_ms": "Unix 时间戳（毫秒）",
    "key": "记录的唯一标识",
}
_TYPES = {"text": S, "integer": INT, "real": DEC}
#: The person's own ID number column, and the columns that must agree with it (cross-field rules).
_ID_COLUMN = "id_number"
_AGREES_WITH_ID = {"birth_date": "ric_birth_date", "gender": "ric_gender"}
_LENGTHS = {
    "ric": 18,
    "uscc": 18,
    "region": 6,
    "phone": 20,
    "person_name": 50,
    "org_name": 200,
    "address": 200,
    "year_month": 7,
    "gender": 2,
    "ethnicity": 20,
    "bank_card": 19,
    "email": 100,
    "plate": 10,
    "passport": 20,
    "ip": 39,
}


def _column_field(table: TableSpec, column: Column, entry: TableEntry) -> FieldSpec:
    semantic = column.semantic or ""
    about_people = table.key not in _NOT_ABOUT_PEOPLE
    is_key = column.name == table.key_column
    is_birth_date = column.name.endswith("birth_date")
    personal = semantic in _ALWAYS_PERSONAL or (
        about_people
        and (semantic in _PERSONAL or is_birth_date or column.name in _PERSONAL_COLUMNS)
    )
    grade = _SEMANTIC_GRADE.get(semantic, G2 if about_people else G1)
    if not personal and semantic in _GRADED_WHEN_PERSONAL:
        grade = G1
    if personal and (is_birth_date or column.name in _PERSONAL_COLUMNS):
        grade = G3
    grade = dict(entry.column_grades).get(column.name, grade)
    if semantic in ("date", "datetime"):
        data_type = DAY if semantic == "date" else MOMENT
    else:
        data_type = _TYPES[column.type]
    rules: list[str] = [] if column.optional else ["not_null"]
    if is_key:
        rules.append("unique")
    if semantic in _SEMANTIC_RULES:
        rules.append(_SEMANTIC_RULES[semantic])
    elif semantic in ("date", "datetime"):
        rules.append("date")
    if _ID_COLUMN in table.column_names and column.name in _AGREES_WITH_ID:
        rules.append(f"{_AGREES_WITH_ID[column.name]}:{_ID_COLUMN}")
    description = _SEMANTIC_DESCRIPTION.get(semantic, "")
    if column.valid_range is not None:
        rules.append("range")
        low, high = column.valid_range
        description = "；".join(filter(None, (description, f"有效范围 {low:g}～{high:g}")))
    length = _LENGTHS.get(semantic, 50 if data_type is S else None)
    return FieldSpec(
        name=column.label,
        english_name=column.name,
        data_type=data_type,
        length=length,
        description=description,
        is_key=is_key,
        is_personal=personal,
        grade=grade,
        rules=rules,
    )


TABLE_ENTRIES: dict[str, TableEntry] = {
    "household_registry": TableEntry(
        1,
        BASIC,
        "01-01-01",
        "全市户籍人口的身份、户籍和联系信息，由公安户籍管理系统每日同步，是人口基础库的权威来源。",
        "table",
        SHARE_IF,
        (API, BATCH),
        OPEN_NONE,
        DAILY,
        share_condition="依法履职需要核验或使用户籍信息的政务部门，经市公安局审批后通过接口"
        "查询或核验，不得超出授权用途使用",
        legal_basis=f"{PIPL_SENSITIVE}；《中华人民共和国居民身份证法》第六条",
        related=(code("WJ", 1), code("MZ", 1), code("JY", 1), code("RS", 1), code("DSJ", 1)),
        grade=IMPORTANT,
        column_grades=(("id_number", IMPORTANT),),
    ),
    "social_insurance": TableEntry(
        1,
        DEPARTMENTAL,
        "03-02-01",
        "参保人员的险种、参保单位、参保日期、状态和缴费基数，由社保经办系统每日导出。",
        "file",
        SHARE_IF,
        (API, BATCH),
        OPEN_NONE,
        DAILY,
        share_condition="用于社保待遇资格认证、就业补贴和人才政策审核，须经市人社局审批",
        legal_basis=f"《中华人民共和国社会保险法》第八十一条；{PIPL_STATE}",
        related=(code("GA", 1), code("SCJG", 1), code("RS", 2)),
    ),
    "enterprise_registry": TableEntry(
        1,
        BASIC,
        "01-02-01",
        "在本市登记的市场主体的名称、统一社会信用代码、类型、法定代表人、注册资本、住所和登记状态。",
        "table",
        SHARE_ALL,
        (API, BATCH),
        OPEN_IF,
        DAILY,
        open_condition="公开名称、统一社会信用代码、类型、住所和登记状态等公示信息；法定代表人"
        "证件号码、联系电话和电子邮箱仅向说明用途并经审核的申请人提供",
        related=(code("SW", 1), code("SCJG", 2), code("SCJG", 4), code("RS", 1)),
    ),
    "tax_registration": TableEntry(
        1,
        DEPARTMENTAL,
        "03-08-01",
        "纳税人的识别号、名称、资格类型、主管税务机关、登记日期和状态。",
        "table",
        SHARE_IF,
        (API,),
        OPEN_NONE,
        DAILY,
        share_condition="用于市场主体准入准营、政府采购和招投标资格审核，须经市税务局审批",
        legal_basis="《中华人民共和国税收征收管理法》第八条",
        related=(code("SCJG", 1), code("SW", 2)),
    ),
    "birth_certificates": TableEntry(
        1,
        DEPARTMENTAL,
        "03-04-01",
        "新生儿出生医学证明：新生儿、出生体重、接生机构和父母身份，支撑“出生一件事”联办。",
        "file",
        SHARE_IF,
        (API,),
        OPEN_NONE,
        DAILY,
        share_condition="用于出生登记落户、医保参保和生育津贴等“出生一件事”联办，须经市卫健委审批",
        legal_basis=f"{PIPL_SENSITIVE}；{MINORS}",
        related=(code("GA", 1), code("WJ", 2)),
    ),
    "marriage_registrations": TableEntry(
        1,
        DEPARTMENTAL,
        "03-05-01",
        "结婚、离婚登记的双方身份、登记日期和登记机关。",
        "file",
        SHARE_IF,
        (API,),
        OPEN_NONE,
        DAILY,
        share_condition="用于户籍变更、住房保障和公积金提取等业务中的婚姻状况核验，须经市民政局审批",
        legal_basis=PIPL_STATE,
        related=(code("GA", 1),),
    ),
    "subsidy_payments": TableEntry(
        2,
        THEMATIC,
        "02-02-01",
        "最低生活保障、特困供养、高龄津贴等社会救助和补贴的逐月发放记录及收款银行卡。",
        "file",
        SHARE_IF,
        (BATCH, API),
        OPEN_NONE,
        MONTHLY,
        share_condition="用于社会救助对象家庭经济状况核对、防止重复发放，须经市民政局审批",
        legal_basis=f"{PIPL_SENSITIVE}；{PIPL_STATE}",
        related=(code("GA", 1), code("RS", 1), code("ZJ", 1)),
    ),
    "property_registrations": TableEntry(
        1,
        DEPARTMENTAL,
        "03-06-01",
        "不动产权证书、单元、权利人、坐落、用途、面积和登记日期。",
        "table",
        SHARE_IF,
        (API,),
        OPEN_NONE,
        DAILY,
        share_condition="用于购房资格、住房保障和税费征收审核，按权利人查询，须经审批",
        legal_basis=f"《不动产登记暂行条例》第二十八条；{PIPL_STATE}",
        related=(code("GA", 1), code("ZJ", 2)),
    ),
    "student_status": TableEntry(
        1,
        DEPARTMENTAL,
        "03-07-01",
        "全市中小学学生的学籍、学校、年级班级和监护人信息，由学籍系统每月导出。",
        "file",
        SHARE_IF,
        (API, BATCH),
        OPEN_NONE,
        MONTHLY,
        share_condition="用于入学资格审核、学生资助和入学接种证查验，须经市教育局审批",
        legal_basis=f"{PIPL_SENSITIVE}；{MINORS}",
        related=(code("GA", 1), code("JY", 2), code("WJ", 2)),
    ),
    "air_quality_readings": TableEntry(
        1,
        THEMATIC,
        "02-04-01",
        "全市空气质量自动监测站的位置和逐小时的六项污染物浓度、AQI、级别和首要污染物。",
        "stream",
        SHARE_ALL,
        (API,),
        OPEN_ALL,
        REALTIME,
        related=(code("STHJ", 2),),
    ),
    "water_levels": TableEntry(
        1,
        THEMATIC,
        "02-10-01",
        "主要河道水文测站的位置、实时水位、警戒水位和流量，用于防汛预警。",
        "stream",
        SHARE_ALL,
        (API,),
        OPEN_ALL,
        REALTIME,
        related=(code("SL", 2),),
    ),
    "parking_occupancy": TableEntry(
        1,
        THEMATIC,
        "02-05-02",
        "公共停车场的总泊位、已占用和空余泊位数，供停车诱导和出行服务使用。",
        "api",
        SHARE_ALL,
        (API,),
        OPEN_ALL,
        REALTIME,
        related=(code("JT", 2),),
    ),
    "vehicle_registrations": TableEntry(
        3,
        DEPARTMENTAL,
        "03-01-03",
        "本市登记的机动车号牌、号牌种类、车辆类型、品牌、所有人、注册登记日期和使用性质，"
        "由机动车登记系统每日同步。",
        "table",
        SHARE_IF,
        (API, BATCH),
        OPEN_NONE,
        DAILY,
        share_condition="用于交通执法、车辆购置税核查和保险理赔核验，须经市公安局审批",
        legal_basis=f"《中华人民共和国道路交通安全法》第八条；{PIPL_STATE}",
        related=(code("GA", 1),),
    ),
    "foreigner_accommodation": TableEntry(
        6,
        DEPARTMENTAL,
        "03-01-06",
        "旅馆报送的境外人员住宿登记：英文姓名、国籍、护照号码、出生日期、住宿旅馆和入住、"
        "退房日期。",
        "file",
        SHARE_IF,
        (API,),
        OPEN_NONE,
        DAILY,
        share_condition="仅向出入境管理、国家安全等依法履职部门提供核验，须经市公安局审批",
        legal_basis=f"《中华人民共和国出境入境管理法》第三十九条；{PIPL_SENSITIVE}",
        related=(code("GA", 2),),
        grade=IMPORTANT,
    ),
    "portal_login_log": TableEntry(
        2,
        DEPARTMENTAL,
        "03-12-01",
        "政务服务网（网站、App、小程序）的用户登录日志：账号、时间、客户端IP地址、渠道、"
        "认证方式和结果，留存不少于六个月。",
        "file",
        SHARE_IF,
        (API,),
        OPEN_NONE,
        DAILY,
        share_condition="仅在公安机关依法调查网络安全事件时提供，须经市大数据局审批",
        legal_basis=f"《中华人民共和国网络安全法》第二十一条；{PIPL_STATE}",
        related=(code("DSJ", 1),),
    ),
}


def table_resource(table: TableSpec) -> ResourceSpec:
    """The catalog resource of a generated table; its fields are the table's columns."""
    entry = TABLE_ENTRIES[table.key]
    return ResourceSpec(
        code=code(table.department, entry.seq),
        name=table.title,
        catalog_type=entry.catalog_type,
        classification_code=entry.classification,
        department_code=table.department,
        summary=entry.summary,
        format=entry.format,
        fields=[_column_field(table, column, entry) for column in table.columns],
        share_type=entry.share_type,
        share_condition=entry.share_condition,
        share_methods=list(entry.share_methods),
        open_type=entry.open_type,
        open_condition=entry.open_condition,
        legal_basis=entry.legal_basis,
        update_cycle=entry.update_cycle,
        publish_date=PUBLISH_DATE,
        related=list(entry.related),
        grade=entry.grade,
    )


def catalog_resources() -> list[ResourceSpec]:
    """The demo city's whole catalog, department by department, in code order.

    Every resource states its grade, as bureaus' sheets do: the declared one, or else its most
    sensitive field's.
    """
    resources = [table_resource(table) for table in TABLES] + other_resources()
    order = {department.code: index for index, department in enumerate(DEPARTMENTS)}
    resources.sort(key=lambda r: (order[r.department_code], r.code))
    return [r.model_copy(update={"grade": effective_grade(r)}) for r in resources]
