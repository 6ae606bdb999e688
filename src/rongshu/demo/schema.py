"""The demo city's source tables: who provides each, in what form, and its columns.

Columns carry an English ``name`` (database and JSON sources, the ground truth) and the Chinese
``label`` a department's CSV or Excel export puts in its header. ``semantic`` says what a column
holds so a catalog can attach rules (``ric``, ``uscc``, ``phone``, ``date`` ...); ``defects`` lists
the defect kinds the generator injects into it; ``pii`` names the personal or identifying
information it holds (the ground truth PII detection is scored against,
``ground_truth/pii_columns.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rongshu.demo.regions import LATITUDE_RANGE, LONGITUDE_RANGE
from rongshu.security.entities import EntityType


class DefectKind(StrEnum):
    """Kinds of defect injected into cells; each has a rate in ``rongshu.demo.defects.RATES``."""

    BAD_ID_CHECK_DIGIT = "bad_id_check_digit"
    ID_REGION_INVALID = "id_region_invalid"
    BAD_CREDIT_CODE_CHECK = "bad_credit_code_check"
    ID_BIRTHDATE_MISMATCH = "id_birthdate_mismatch"
    ID_GENDER_MISMATCH = "id_gender_mismatch"
    MIXED_DATE_FORMAT = "mixed_date_format"
    FULLWIDTH_DIGITS = "fullwidth_digits"
    INVALID_PHONE = "invalid_phone"
    MISSING_VALUE = "missing_value"
    OUT_OF_RANGE = "out_of_range"


class SourceFormat(StrEnum):
    """How a department's source system hands its table over."""

    SQLITE = "sqlite"
    CSV = "csv"
    XLSX = "xlsx"
    NDJSON = "ndjson"
    JSON = "json"


K = DefectKind
_ID = (K.BAD_ID_CHECK_DIGIT,)
_USCC = (K.BAD_CREDIT_CODE_CHECK,)
_PHONE = (K.MISSING_VALUE, K.FULLWIDTH_DIGITS, K.INVALID_PHONE)
_DATE = (K.MIXED_DATE_FORMAT,)
_MISSING = (K.MISSING_VALUE,)
_READING = (K.MISSING_VALUE, K.OUT_OF_RANGE)


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a source table."""

    name: str
    label: str
    type: str = "text"  # text | integer | real
    semantic: str | None = None
    defects: tuple[DefectKind, ...] = ()
    #: Plausible range of a numeric column; out-of-range defects fall outside it.
    valid_range: tuple[float, float] | None = None
    #: The column may be empty in good data (no employer, a gauge without a flow meter); the
    #: other columns are declared ``not_null`` in the demo catalog.
    optional: bool = False
    #: The entity type of the values (ground truth for PII detection); None for other data.
    pii: EntityType | None = None


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One department's source table and how it is delivered."""

    key: str
    department: str
    title: str
    source: SourceFormat
    key_column: str
    columns: tuple[Column, ...]
    encoding: str | None = None
    #: Excel: header groups as (label, number of columns), merged over the column labels.
    groups: tuple[tuple[str, int], ...] = ()
    #: CSV line ending (Windows exports end lines with CR LF).
    line_terminator: str = "\n"

    @property
    def sql_table(self) -> str:
        """Table name in the source databases, prefixed with the department's code."""
        return f"{self.department.lower()}_{self.key}"

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns' English names, in order."""
        return tuple(column.name for column in self.columns)

    @property
    def extension(self) -> str:
        """File extension of a file-delivered table."""
        return self.source.value

    def index(self, name: str) -> int:
        """Position of a column by name."""
        return self.column_names.index(name)


E = EntityType
#: The entity a column of each semantic holds. Dates say nothing by their semantic: only birth
#: dates are personal, and they say so themselves.
_SEMANTIC_PII: dict[str, EntityType] = {
    "ric": E.RESIDENT_ID,
    "uscc": E.CREDIT_CODE,
    "phone": E.PHONE,
    "person_name": E.PERSON_NAME,
    "address": E.ADDRESS,
    "bank_card": E.BANK_CARD,
    "email": E.EMAIL,
    "plate": E.VEHICLE_PLATE,
    "passport": E.PASSPORT,
    "ip": E.IP_ADDRESS,
    "longitude": E.COORDINATES,
    "latitude": E.COORDINATES,
}


def _c(
    name: str,
    label: str,
    type: str = "text",
    semantic: str | None = None,
    defects: tuple[DefectKind, ...] = (),
    valid_range: tuple[float, float] | None = None,
    *,
    optional: bool = False,
    pii: EntityType | None = None,
) -> Column:
    entity = pii or _SEMANTIC_PII.get(semantic or "")
    return Column(name, label, type, semantic, defects, valid_range, optional, entity)


def _birth_date(label: str, defects: tuple[DefectKind, ...] = ()) -> Column:
    return _c("birth_date", label, semantic="date", defects=defects, pii=E.BIRTH_DATE)


#: A station's longitude and latitude: six decimals, inside the city, the same in every reading.
_POSITION = (
    _c("longitude", "经度", "real", "longitude", valid_range=LONGITUDE_RANGE),
    _c("latitude", "纬度", "real", "latitude", valid_range=LATITUDE_RANGE),
)


HOUSEHOLD_REGISTRY = TableSpec(
    "household_registry",
    "GA",
    "户籍人口信息",
    SourceFormat.SQLITE,
    "person_id",
    (
        _c("person_id", "人员编号", semantic="key"),
        _c("household_no", "户号"),
        _c("relation", "与户主关系"),
        _c("name", "姓名", semantic="person_name"),
        _c("id_number", "公民身份号码", semantic="ric", defects=_ID + (K.ID_REGION_INVALID,)),
        _c("gender", "性别", semantic="gender", defects=(K.ID_GENDER_MISMATCH,)),
        _birth_date("出生日期", (K.ID_BIRTHDATE_MISMATCH,) + _DATE),
        _c("ethnicity", "民族", semantic="ethnicity", defects=_MISSING),
        _c("marital_status", "婚姻状况"),
        _c("household_address", "户籍地址", semantic="address", defects=_MISSING),
        _c("district_code", "户籍地行政区划代码", semantic="region"),
        _c("phone", "联系电话", semantic="phone", defects=_PHONE),
    ),
)

SOCIAL_INSURANCE = TableSpec(
    "social_insurance",
    "RS",
    "社会保险参保信息",
    SourceFormat.CSV,
    "record_no",
    (
        _c("record_no", "参保记录编号", semantic="key"),
        _c("name", "姓名", semantic="person_name"),
        _c("id_number", "公民身份号码", semantic="ric", defects=_ID),
        _c("insurance_type", "险种类型"),
        _c("employer_credit_code", "单位统一社会信用代码", "text", "uscc", _USCC, optional=True),
        _c("employer_name", "参保单位名称", semantic="org_name", optional=True),
        _c("start_date", "参保日期", semantic="date", defects=_DATE),
        _c("status", "参保状态"),
        _c("contribution_base", "月缴费基数(元)", "real", "amount", _MISSING, optional=True),
    ),
    encoding="utf-8",
)

ENTERPRISE_REGISTRY = TableSpec(
    "enterprise_registry",
    "SCJG",
    "市场主体登记信息",
    SourceFormat.SQLITE,
    "entity_id",
    (
        _c("entity_id", "主体身份代码", semantic="key"),
        _c("credit_code", "统一社会信用代码", semantic="uscc", defects=_USCC),
        _c("name", "企业名称", semantic="org_name"),
        _c("entity_type", "市场主体类型"),
        _c("legal_rep_name", "法定代表人", semantic="person_name"),
        _c("legal_rep_id_number", "法定代表人证件号码", semantic="ric", defects=_ID),
        _c("registered_capital", "注册资本(万元)", "real", "amount", _MISSING),
        _c("established_date", "成立日期", semantic="date", defects=_DATE),
        _c("industry", "行业门类"),
        _c("address", "住所", semantic="address", defects=_MISSING),
        _c("district_code", "登记机关区划代码", semantic="region"),
        _c("status", "登记状态"),
        _c("phone", "联系电话", semantic="phone", defects=_PHONE),
        # Sole traders and co-operatives often register no mailbox.
        _c("email", "电子邮箱", semantic="email", optional=True),
    ),
)

TAX_REGISTRATION = TableSpec(
    "tax_registration",
    "SW",
    "税务登记信息",
    SourceFormat.SQLITE,
    "registration_id",
    (
        _c("registration_id", "登记序号", semantic="key"),
        _c("taxpayer_id", "纳税人识别号", semantic="uscc", defects=_USCC),
        _c("taxpayer_name", "纳税人名称", semantic="org_name"),
        _c("taxpayer_type", "纳税人资格类型"),
        _c("legal_rep_name", "法定代表人", semantic="person_name", optional=True),
        _c("tax_office", "主管税务机关"),
        _c("registration_date", "税务登记日期", semantic="date", defects=_DATE),
        _c("status", "纳税人状态"),
    ),
)

BIRTH_CERTIFICATES = TableSpec(
    "birth_certificates",
    "WJ",
    "出生医学证明信息",
    SourceFormat.CSV,
    "certificate_no",
    (
        _c("certificate_no", "出生医学证明编号", semantic="key"),
        _c("baby_name", "新生儿姓名", semantic="person_name"),
        _c("baby_gender", "新生儿性别", semantic="gender"),
        _birth_date("出生日期", _DATE),
        _c("birth_weight_g", "出生体重(克)", "integer", None, _READING, (500, 6000)),
        _c("hospital", "接生机构", semantic="org_name"),
        _c("mother_name", "母亲姓名", semantic="person_name"),
        _c("mother_id_number", "母亲身份证号", semantic="ric", defects=_ID),
        _c("father_name", "父亲姓名", semantic="person_name"),
        _c("father_id_number", "父亲身份证号", semantic="ric", defects=_ID + _MISSING),
        _c("district_code", "出生地区划代码", semantic="region"),
    ),
    encoding="utf-8-sig",
)

MARRIAGE_REGISTRATIONS = TableSpec(
    "marriage_registrations",
    "MZ",
    "婚姻登记信息",
    SourceFormat.CSV,
    "registration_no",
    (
        _c("registration_no", "结婚证字号", semantic="key"),
        _c("husband_name", "男方姓名", semantic="person_name"),
        _c("husband_id_number", "男方身份证号", semantic="ric", defects=_ID),
        _c("wife_name", "女方姓名", semantic="person_name"),
        _c("wife_id_number", "女方身份证号", semantic="ric", defects=_ID),
        _c("registration_date", "登记日期", semantic="date", defects=_DATE),
        _c("registration_office", "登记机关"),
        _c("business_type", "业务类别"),
    ),
    encoding="gb18030",
    line_terminator="\r\n",
)

SUBSIDY_PAYMENTS = TableSpec(
    "subsidy_payments",
    "MZ",
    "社会救助和补贴发放信息",
    SourceFormat.CSV,
    "payment_no",
    (
        _c("payment_no", "发放流水号", semantic="key"),
        _c("name", "姓名", semantic="person_name"),
        _c("id_number", "身份证号码", semantic="ric", defects=_ID + (K.FULLWIDTH_DIGITS,)),
        _c("subsidy_type", "补贴类型"),
        _c("amount", "发放金额(元)", "real", "amount"),
        _c("payment_month", "发放年月", semantic="year_month"),
        _c("bank", "开户银行"),
        _c("bank_card", "银行卡号", semantic="bank_card"),
        _c("district_code", "区划代码", semantic="region"),
        _c("phone", "联系电话", semantic="phone", defects=_PHONE),
    ),
    encoding="gb18030",
    line_terminator="\r\n",
)

PROPERTY_REGISTRATIONS = TableSpec(
    "property_registrations",
    "ZJ",
    "不动产登记信息",
    SourceFormat.SQLITE,
    "certificate_no",
    (
        _c("certificate_no", "不动产权证书号", semantic="key"),
        _c("unit_no", "不动产单元号"),
        _c("owner_name", "权利人", semantic="person_name"),
        _c("owner_id_number", "权利人证件号码", semantic="ric", defects=_ID),
        _c("located", "坐落", semantic="address", defects=_MISSING),
        _c("usage", "用途"),
        _c("building_area", "建筑面积(平方米)", "real", None, _READING, (1, 2000)),
        _c("registration_date", "登记日期", semantic="date", defects=_DATE),
        _c("district_code", "区划代码", semantic="region"),
    ),
)

STUDENT_STATUS = TableSpec(
    "student_status",
    "JY",
    "中小学学生学籍信息",
    SourceFormat.XLSX,
    "student_no",
    (
        _c("name", "姓名", semantic="person_name"),
        _c("gender", "性别", semantic="gender", defects=(K.ID_GENDER_MISMATCH,)),
        _birth_date("出生日期", (K.ID_BIRTHDATE_MISMATCH,) + _DATE),
        _c("id_number", "身份证件号", semantic="ric", defects=_ID),
        _c("ethnicity", "民族", semantic="ethnicity", defects=_MISSING),
        _c("student_no", "全国学籍号", semantic="key"),
        _c("school", "学校名称", semantic="org_name"),
        _c("grade", "年级"),
        _c("class_name", "班级"),
        _c("enrollment_date", "入学日期", semantic="date", defects=_DATE),
        _c("guardian_name", "监护人姓名", semantic="person_name"),
        _c("guardian_phone", "监护人联系电话", semantic="phone", defects=_PHONE),
        _c("address", "家庭住址", semantic="address", defects=_MISSING),
    ),
    groups=(("学生基本信息", 5), ("学籍信息", 5), ("监护人信息", 3)),
)

AIR_QUALITY = TableSpec(
    "air_quality_readings",
    "STHJ",
    "空气质量小时监测数据",
    SourceFormat.NDJSON,
    "reading_id",
    (
        _c("reading_id", "记录编号", "integer", "key"),
        _c("station_code", "站点编码"),
        _c("station_name", "站点名称"),
        *_POSITION,
        _c("district_code", "区划代码", semantic="region"),
        _c("time", "监测时间", semantic="datetime"),
        _c("pm25", "PM2.5(μg/m³)", "real", None, _READING, (0, 1000)),
        _c("pm10", "PM10(μg/m³)", "real", None, _READING, (0, 1500)),
        _c("so2", "SO2(μg/m³)", "real", valid_range=(0, 2000)),
        _c("no2", "NO2(μg/m³)", "real", valid_range=(0, 2000)),
        _c("o3", "O3(μg/m³)", "real", None, _READING, (0, 1200)),
        _c("co", "CO(mg/m³)", "real", valid_range=(0, 60)),
        _c("aqi", "AQI", "integer", valid_range=(0, 500)),
        _c("quality_level", "空气质量级别"),
        _c("primary_pollutant", "首要污染物"),
    ),
    encoding="utf-8",
)

WATER_LEVELS = TableSpec(
    "water_levels",
    "SL",
    "河道水位监测数据",
    SourceFormat.CSV,
    "record_id",
    (
        _c("record_id", "记录编号", "integer", "key"),
        _c("station_code", "测站编码"),
        _c("station_name", "测站名称"),
        *_POSITION,
        _c("district_code", "区划代码", semantic="region"),
        _c("river", "河流名称"),
        _c("time", "观测时间", semantic="datetime"),
        _c("water_level_m", "水位(m)", "real", None, _READING, (-5, 200)),
        _c("warning_level_m", "警戒水位(m)", "real"),
        _c("flow_m3s", "流量(m³/s)", "real", None, _MISSING, (0, 40000), optional=True),
    ),
    encoding="utf-8",
)

PARKING_OCCUPANCY = TableSpec(
    "parking_occupancy",
    "JT",
    "公共停车场泊位数据",
    SourceFormat.JSON,
    "recordId",
    (
        _c("recordId", "记录编号", "integer", "key"),
        _c("lotId", "停车场编号"),
        _c("lotName", "停车场名称"),
        _c("districtCode", "区划代码", semantic="region"),
        _c("totalSpaces", "总泊位数", "integer"),
        _c("occupiedSpaces", "已占用泊位数", "integer", None, _READING, (0, 5000)),
        _c("freeSpaces", "空余泊位数", "integer"),
        _c("updateTime", "更新时间", "integer", "timestamp_ms"),
    ),
    encoding="utf-8",
)

VEHICLE_REGISTRATIONS = TableSpec(
    "vehicle_registrations",
    "GA",
    "机动车登记信息",
    SourceFormat.SQLITE,
    "registration_no",
    (
        _c("registration_no", "机动车登记证书编号", semantic="key"),
        _c("plate_no", "号牌号码", semantic="plate"),
        _c("plate_type", "号牌种类"),
        _c("vehicle_type", "车辆类型"),
        _c("brand", "中文品牌"),
        _c("owner_name", "所有人", semantic="person_name"),
        _c("owner_id_number", "所有人身份证明号码", semantic="ric"),
        _c("registration_date", "注册登记日期", semantic="date"),
        _c("usage", "使用性质"),
        _c("district_code", "区划代码", semantic="region"),
    ),
)

FOREIGNER_ACCOMMODATION = TableSpec(
    "foreigner_accommodation",
    "GA",
    "境外人员住宿登记",
    SourceFormat.XLSX,
    "record_no",
    (
        _c("name", "英文姓名", semantic="person_name"),
        _c("gender", "性别", semantic="gender"),
        _c("nationality", "国籍"),
        _birth_date("出生日期"),
        _c("passport_no", "护照号码", semantic="passport"),
        _c("record_no", "住宿登记单号", semantic="key"),
        _c("hotel", "住宿旅馆", semantic="org_name"),
        _c("room_no", "房间号"),
        _c("check_in_date", "入住日期", semantic="date"),
        # Guests still in their rooms on the reference date have not checked out.
        _c("check_out_date", "退房日期", semantic="date", optional=True),
        _c("district_code", "旅馆所在地区划代码", semantic="region"),
    ),
    groups=(("境外人员信息", 5), ("住宿登记信息", 6)),
)

PORTAL_LOGIN_LOG = TableSpec(
    "portal_login_log",
    "DSJ",
    "政务服务网用户登录日志",
    SourceFormat.NDJSON,
    "log_id",
    (
        _c("log_id", "日志编号", "integer", "key"),
        _c("account", "登录账号", semantic="phone"),
        _c("login_time", "登录时间", semantic="datetime"),
        _c("client_ip", "客户端IP地址", semantic="ip"),
        _c("channel", "登录渠道"),
        _c("auth_method", "认证方式"),
        _c("result", "登录结果"),
    ),
    encoding="utf-8",
)

#: Every source table, in the order the generator writes them.
TABLES: tuple[TableSpec, ...] = (
    HOUSEHOLD_REGISTRY,
    SOCIAL_INSURANCE,
    ENTERPRISE_REGISTRY,
    TAX_REGISTRATION,
    BIRTH_CERTIFICATES,
    MARRIAGE_REGISTRATIONS,
    SUBSIDY_PAYMENTS,
    PROPERTY_REGISTRATIONS,
    STUDENT_STATUS,
    AIR_QUALITY,
    WATER_LEVELS,
    PARKING_OCCUPANCY,
    VEHICLE_REGISTRATIONS,
    FOREIGNER_ACCOMMODATION,
    PORTAL_LOGIN_LOG,
)

TABLE_BY_KEY: dict[str, TableSpec] = {table.key: table for table in TABLES}
