"""PII detection in lake tables: name each column's entity type, with a confidence.

No NLP model: each entity type has a **detector** made of what a data-security engineer checks
by hand, written as SQL the lake engine runs over the whole column at once:

- a **value test**: the national standards' own SQL for values with a check digit or a fixed
  grammar (GB 11643 ID numbers, GB 32100 credit codes, bank cards with the Luhn digit, phones,
  e-mail, GA 36 plates), patterns for the rest (passports, IP addresses, personal names with a
  surname from the common-surname list, addresses with a house number, coordinates inside
  China's extent);
- **column-name hints** (``身份证``, ``passport``, ``lat`` ...), matched against the lake column
  and the catalog field's Chinese name;
- **value statistics**: a name column has many distinct values (an enumeration such as 民族 or
  婚姻状况 has a handful), and a date column whose values equal the birth date inside the same
  row's ID number holds dates of birth.

A scan works in two passes: a *probe* of at most ``PROBE_ROWS`` evenly spread rows tries every
detector on every column and keeps each column's best candidate, then one query measures each
candidate's support over every scanned row (a sample of ``sample_rows``, or the whole version
when asked). The confidence is that support, raised half-way to 1 by a name hint; detectors
whose values alone are ambiguous (a passport number is just a few letters and digits) need the
hint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from rongshu.catalog.schemas import FieldType
from rongshu.lake.dialect import SqlDialect
from rongshu.lake.engine import LakeEngine
from rongshu.lake.tables import LakeTable
from rongshu.security.entities import EntityType
from rongshu.standards import STANDARDS, ric
from rongshu.standards.ric import ric_birth_date_sql

#: Rows the first pass tries every detector on.
PROBE_ROWS = 5_000
#: Rows a scan reads unless asked for the whole version.
SAMPLE_ROWS = 100_000
#: Least confidence for a column to be named.
MIN_CONFIDENCE = 0.8
#: Fewest distinct values (in the probe) for a column to hold personal names.
MIN_DISTINCT_NAMES = 20

_PROBE_ALIAS = "pii_probe"
_SCAN_ALIAS = "pii_scan"
_SAMPLE_ALIAS = "pii_sample"

# Common Chinese surnames (single characters, then compound ones): a value whose first
# character(s) are not among them is unlikely to be a personal name.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰"
    "焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁"
    "蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂"
    "全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠"
    "荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹"
    "井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰"
    "赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝"
    "智幸奉植衡富尧闭由洪"
)
_COMPOUND_SURNAMES = (
    "欧阳",
    "上官",
    "司徒",
    "司马",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "夏侯",
    "令狐",
    "端木",
    "轩辕",
)
_HAN = r"\x{4e00}-\x{9fa5}"
_IPV4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"({_IPV4_OCTET}\.){{3}}{_IPV4_OCTET}"
_H = "[0-9a-fA-F]{1,4}"
_IPV6 = (
    rf"(({_H}:){{7}}{_H}|({_H}:){{1,7}}:|({_H}:){{1,6}}(:{_H}){{1,6}}|:(:{_H}){{1,7}}|::"
    rf"|::ffff:{_IPV4})"
)
_PASSPORT = (
    r"(E[A-HJ-NP-Z0-9][0-9]{7}|[DEGPS][0-9]{7,8}|[A-Z]{1,2}[0-9]{6,8}|[0-9]{8,9}|[A-Z0-9]{9})"
)
_CHINESE_NAME = rf"[{_HAN}]{{2,4}}|[{_HAN}]{{1,8}}·[{_HAN}]{{1,8}}"
_LATIN_NAME = r"[A-Z][A-Za-z'\-]+( [A-Z][A-Za-z'\-]+){1,3}"
_HOUSE_NUMBER = r".*[0-9０-９]+(号|弄|栋|幢|室|单元|层|组|座).*"
_PLACE_AND_WAY = rf".*[{_HAN}]+(省|市|区|县).*(路|街|巷|大道|村|镇|乡).*"
_DOCUMENT_NUMBER = r"第[0-9０-９]+号$"
_COORDINATE_PAIR = r"-?[0-9]{1,3}\.[0-9]{3,}\s*[,， ]\s*-?[0-9]{1,3}\.[0-9]{3,}"


class ColumnKind:
    """What a detector can read: text (strings, and integers as text), numbers, dates."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"


@dataclass(frozen=True)
class Detector:
    """How one entity type is recognised."""

    entity: EntityType
    #: Lower-case substrings of the catalog's Chinese field name, or tokens of the column name.
    hints: tuple[str, ...]
    #: SQL condition, TRUE where a present value looks like the entity, per column kind.
    tests: Mapping[str, Callable[[str, SqlDialect], str]]
    #: Least share of present values that must pass the test.
    min_support: float = 0.8
    #: The values alone are ambiguous: a name hint is required.
    needs_hint: bool = False
    #: Standards whose lookup tables the tests read (registered before the query).
    standards: tuple[str, ...] = ()
    #: Personal names: the column must have many distinct values.
    many_distinct: bool = False
    #: Shortest and longest text the entity can be written as: a cheap filter in the probe, so
    #: the costly tests run only on columns whose lengths fit.
    lengths: tuple[int, int] | None = None


def _passes(standard: str) -> Callable[[str, SqlDialect], str]:
    """A standard's verdict as a test: TRUE where the value passes it."""

    def test(expr: str, dialect: SqlDialect) -> str:
        return f"({STANDARDS[standard].sql(expr, dialect)}) IS NULL"

    return test


def _matches(pattern: str) -> Callable[[str, SqlDialect], str]:
    def test(expr: str, dialect: SqlDialect) -> str:
        return dialect.regex_match(expr, f"^({pattern})$")

    return test


def _any_of(*tests: Callable[[str, SqlDialect], str]) -> Callable[[str, SqlDialect], str]:
    def test(expr: str, dialect: SqlDialect) -> str:
        return "(" + " OR ".join(t(expr, dialect) for t in tests) + ")"

    return test


def _person_name(expr: str, dialect: SqlDialect) -> str:
    singles = ", ".join(dialect.string_literal(s) for s in _SURNAMES)
    doubles = ", ".join(dialect.string_literal(s) for s in _COMPOUND_SURNAMES)
    chinese = dialect.regex_match(expr, f"^({_CHINESE_NAME})$")
    return (
        f"({chinese} AND ({dialect.substring(expr, 1, 1)} IN ({singles})"
        f" OR {dialect.substring(expr, 1, 2)} IN ({doubles})))"
    )


def _latin_name_with_hint(expr: str, dialect: SqlDialect) -> str:
    return dialect.regex_match(expr, f"^({_LATIN_NAME})$")


def _address(expr: str, dialect: SqlDialect) -> str:
    """Chinese text with a house number or a place and a way, and not a document number
    (``闽(2023)榕城市不动产权第0012345号`` has a city and a 号, but it is a certificate)."""
    house, way = (dialect.regex_match(expr, f"^{p}$") for p in (_HOUSE_NUMBER, _PLACE_AND_WAY))
    han = dialect.regex_match(expr, f"^.*[{_HAN}].*$")
    document = dialect.regex_match(expr, _DOCUMENT_NUMBER)
    return f"({dialect.length(expr)} >= 6 AND {han} AND ({house} OR {way}) AND NOT {document})"


def _coordinate_number(expr: str, dialect: SqlDialect) -> str:
    """A longitude or latitude inside China's extent, given to at least four decimals."""
    number = dialect.safe_cast(expr, FieldType.DECIMAL)
    return (
        f"(({number} BETWEEN 73.4 AND 135.1 OR {number} BETWEEN 3.8 AND 53.6)"
        f" AND abs({number} * 1000 - round({number} * 1000)) > 1e-9)"
    )


def _any_date(expr: str, dialect: SqlDialect) -> str:
    """A plausible birth date: a real date since 1900, not in the future."""
    day = dialect.safe_cast(expr, FieldType.DATE)
    return f"({day} BETWEEN DATE '1900-01-01' AND CURRENT_DATE)"


DETECTORS: tuple[Detector, ...] = (
    Detector(
        EntityType.RESIDENT_ID,
        ("身份证", "身份号码", "证件号", "id_number", "idcard", "id_no", "sfzh"),
        {ColumnKind.TEXT: _any_of(_passes("ric"), _passes("ric15"))},
        standards=("ric", "ric15"),
        lengths=(15, 18),
    ),
    Detector(
        EntityType.CREDIT_CODE,
        ("信用代码", "纳税人识别号", "credit_code", "uscc", "taxpayer_id"),
        {ColumnKind.TEXT: _passes("uscc")},
        standards=("uscc",),
        lengths=(18, 18),
    ),
    Detector(
        EntityType.PHONE,
        ("电话", "手机", "联系方式", "phone", "mobile", "tel", "telephone"),
        {ColumnKind.TEXT: _any_of(_passes("mobile"), _passes("phone"))},
        standards=("mobile", "phone"),
        lengths=(7, 20),
    ),
    Detector(
        EntityType.BANK_CARD,
        ("银行卡", "卡号", "银行账号", "bank", "card", "card_no", "account"),
        {ColumnKind.TEXT: _passes("bank_card")},
        standards=("bank_card",),
        lengths=(12, 19),
    ),
    Detector(
        EntityType.EMAIL,
        ("邮箱", "电子邮件", "email", "mail", "e_mail"),
        {ColumnKind.TEXT: _passes("email")},
        standards=("email",),
        lengths=(5, 254),
    ),
    Detector(
        EntityType.VEHICLE_PLATE,
        ("号牌", "车牌", "plate", "plate_no", "license_plate"),
        {ColumnKind.TEXT: _passes("plate")},
        standards=("plate",),
        lengths=(7, 9),
    ),
    Detector(
        EntityType.PASSPORT,
        ("护照", "passport"),
        {ColumnKind.TEXT: _matches(_PASSPORT)},
        needs_hint=True,
        lengths=(7, 10),
    ),
    Detector(
        EntityType.IP_ADDRESS,
        ("ip", "ip地址", "ip_address", "client_ip", "ipaddr"),
        {ColumnKind.TEXT: _matches(f"{_IPV4}|{_IPV6}")},
        lengths=(2, 45),
    ),
    Detector(
        EntityType.PERSON_NAME,
        ("姓名", "名字", "法定代表人", "权利人", "监护人", "name"),
        {ColumnKind.TEXT: _person_name},
        many_distinct=True,
        lengths=(2, 40),
    ),
    Detector(
        EntityType.ADDRESS,
        ("地址", "住址", "住所", "坐落", "address", "addr", "located"),
        {ColumnKind.TEXT: _address},
        min_support=0.7,
        lengths=(6, 500),
    ),
    Detector(
        EntityType.COORDINATES,
        ("经度", "纬度", "坐标", "经纬", "longitude", "latitude", "lng", "lon", "lat"),
        {
            ColumnKind.NUMBER: _coordinate_number,
            ColumnKind.TEXT: _any_of(_matches(_COORDINATE_PAIR), _coordinate_number),
        },
        needs_hint=True,
    ),
    Detector(
        EntityType.BIRTH_DATE,
        ("出生", "生日", "birth", "dob", "birthday"),
        {ColumnKind.DATE: _any_date, ColumnKind.TEXT: _any_date},
        needs_hint=True,
    ),
)
DETECTOR_BY_ENTITY: Mapping[EntityType, Detector] = {d.entity: d for d in DETECTORS}

# A Latin-letter personal name (foreigners' registrations) counts only with a name hint.
_LATIN_NAMES = Detector(
    EntityType.PERSON_NAME,
    DETECTOR_BY_ENTITY[EntityType.PERSON_NAME].hints,
    {ColumnKind.TEXT: _latin_name_with_hint},
    needs_hint=True,
    many_distinct=True,
)


@dataclass(frozen=True)
class ColumnInfo:
    """A column to scan: its lake name, the catalog's Chinese name, and its Arrow type."""

    name: str
    label: str
    type: pa.DataType

    @property
    def kind(self) -> str | None:
        """Which detectors apply (None: none, e.g. booleans and binary)."""
        t = self.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t):
            return ColumnKind.TEXT
        if pa.types.is_floating(t) or pa.types.is_decimal(t):
            return ColumnKind.NUMBER
        if pa.types.is_date(t) or pa.types.is_timestamp(t):
            return ColumnKind.DATE
        return None

    def hinted(self, detector: Detector) -> bool:
        """Whether the column's names suggest the detector's entity type."""
        label = self.label.lower()
        tokens = set(_tokens(self.name))
        return any(hint in label or hint in tokens for hint in detector.hints)


@dataclass(frozen=True)
class ColumnFinding:
    """What a scan concluded about one column."""

    column: str
    entity: EntityType | None
    confidence: float
    #: Share of the scanned present values that pass the entity's test.
    support: float
    hinted: bool
    present: int
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    detector: Detector
    hinted: bool
    support: float
    #: A date column matching the row's ID number's birth date (no hint needed then).
    matches_id: bool = False


def _tokens(name: str) -> list[str]:
    """``guardianPhone`` and ``guardian_phone`` both give ``guardian``, ``phone``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    parts = [p for p in re.split(r"[^0-9A-Za-z\u4e00-\u9fff]+", spaced.lower()) if p]
    return parts + ["_".join(parts)]


def confidence(support: float, hinted: bool) -> float:
    """The support, raised half-way to 1 when the column's name suggests the entity."""
    return support + (1.0 - support) / 2 if hinted else support


def scan_table(
    table: LakeTable,
    engine: LakeEngine,
    version: int,
    labels: Mapping[str, str],
    *,
    sample_rows: int | None = SAMPLE_ROWS,
) -> tuple[int, list[ColumnFinding]]:
    """Scan ``version`` of ``table``: the rows read and a finding per column.

    ``labels`` maps lake columns to the catalog's Chinese field names (hints); ``sample_rows``
    None reads the whole version.
    """
    schema = table.schema(version)
    columns = [ColumnInfo(f.name, labels.get(f.name, ""), f.type) for f in schema]
    for name in {s for d in DETECTORS for s in d.standards}:
        for alias, lookup in STANDARDS[name].lookups().items():
            engine.register_arrow(alias, lookup)
    alias = _SCAN_ALIAS if sample_rows is None else _SAMPLE_ALIAS
    if sample_rows is None:
        engine.register(alias, table, version)
        rows = table.count(version)
        probe = table.spread_sample(version, PROBE_ROWS)
    else:
        sample = table.spread_sample(version, sample_rows)
        rows = sample.num_rows
        engine.register_arrow(alias, sample)
        probe = sample.take(_spread(rows, PROBE_ROWS))
    engine.register_arrow(_PROBE_ALIAS, probe)
    candidates = _probe(engine, columns, probe)
    return rows, _measure(engine, alias, columns, candidates)


def _spread(rows: int, limit: int) -> pa.Array:
    step = max(1, -(-rows // limit)) if rows else 1
    return pa.array(range(0, rows, step), pa.int64())


def _text(column: ColumnInfo, dialect: SqlDialect, alias: str) -> str:
    expr = f"{dialect.quote(alias)}.{dialect.quote(column.name)}"
    if column.kind == ColumnKind.TEXT and not pa.types.is_string(column.type):
        return f"CAST({expr} AS {dialect.type_name(FieldType.STRING)})"
    return expr


def _present(expr: str, column: ColumnInfo) -> str:
    if column.kind == ColumnKind.TEXT:
        return f"NULLIF({expr}, '') IS NOT NULL"
    return f"{expr} IS NOT NULL"


def _tests_of(column: ColumnInfo, probe: pa.Table) -> list[Detector]:
    """The detectors worth trying on a column: those for its kind whose text lengths fit
    (cheap, in Arrow) at least half as often as their tests must pass."""
    kind = column.kind
    if kind is None:
        return []
    found = [d for d in DETECTORS if kind in d.tests]
    if pa.types.is_integer(column.type):
        # Integer columns are keys, counters and amounts far more often than phone or card
        # numbers: a sequence of 7- and 8-digit keys reads as local fixed-line numbers. Only
        # a column named for the entity is tried.
        found = [d for d in found if column.hinted(d)]
    if kind in _LATIN_NAMES.tests and column.hinted(_LATIN_NAMES):
        found.append(_LATIN_NAMES)
    if kind != ColumnKind.TEXT:
        return found
    lengths = pc.utf8_length(pc.cast(probe.column(column.name), pa.string()))
    present = pc.sum(pc.greater(lengths, 0)).as_py() or 0
    if not present:
        return []

    def fits(detector: Detector) -> bool:
        if detector.lengths is None:
            return True
        low, high = detector.lengths
        inside = pc.sum(pc.and_(pc.greater_equal(lengths, low), pc.less_equal(lengths, high)))
        return (inside.as_py() or 0) >= present * detector.min_support / 2

    return [d for d in found if fits(d)]


def _count(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _id_columns(columns: Sequence[ColumnInfo], found: Mapping[str, _Candidate]) -> list[str]:
    return [
        c.name
        for c in columns
        if c.name in found and found[c.name].detector.entity is EntityType.RESIDENT_ID
    ]


def _probe(
    engine: LakeEngine, columns: Sequence[ColumnInfo], probe: pa.Table
) -> dict[str, _Candidate]:
    """Every detector on every column of the probe; each column's best candidate."""
    dialect = engine.dialect
    parts: list[str] = []
    keys: list[tuple[ColumnInfo, Detector | None]] = []
    for column in columns:
        detectors = _tests_of(column, probe)
        if not detectors:
            continue
        expr = _text(column, dialect, _PROBE_ALIAS)
        is_present = _present(expr, column)
        parts += [_count(is_present), f"COUNT(DISTINCT {expr})"]
        keys.append((column, None))
        for option in detectors:
            test = option.tests[column.kind or ""](expr, dialect)
            parts.append(_count(f"{is_present} AND {test}"))
            keys.append((column, option))
    if not parts:
        return {}
    joins = _joins(dialect, _PROBE_ALIAS, [(c, d) for c, d in keys if d is not None])
    values = _counts(engine, parts, _PROBE_ALIAS, joins)
    best: dict[str, _Candidate] = {}
    position = 0
    present = distinct = 0
    for column, tried in keys:
        if tried is None:
            present, distinct = values[position], values[position + 1]
            position += 2
            continue
        detector, passing = tried, values[position]
        position += 1
        if not present or (detector.many_distinct and distinct < MIN_DISTINCT_NAMES):
            continue
        candidate = _Candidate(detector, column.hinted(detector), passing / present)
        if not _acceptable(candidate):
            continue
        current = best.get(column.name)
        if current is None or _score(candidate) > _score(current):
            best[column.name] = candidate
    return best


def _counts(engine: LakeEngine, parts: Sequence[str], alias: str, joins: str) -> list[int]:
    """The single row of ``SELECT parts FROM alias joins``, by position."""
    quote = engine.dialect.quote
    # Identifiers are quoted by the dialect; values never enter the SQL.
    result = engine.query(f"SELECT {', '.join(parts)} FROM {quote(alias)}{joins}")  # noqa: S608
    return [int(result.column(i)[0].as_py() or 0) for i in range(result.num_columns)]


def _joins(dialect: SqlDialect, alias: str, tested: Sequence[tuple[ColumnInfo, Detector]]) -> str:
    """The standards' lookup joins the tests read (once each)."""
    joins: list[str] = []
    for column, detector in tested:
        if column.kind == ColumnKind.TEXT:
            expr = _text(column, dialect, alias)
            for name in detector.standards:
                for join in STANDARDS[name].joins(expr, dialect):
                    if join.sql() not in joins:
                        joins.append(join.sql())
    return "".join(f" {j}" for j in joins)


def _score(candidate: _Candidate) -> float:
    return confidence(candidate.support, candidate.hinted or candidate.matches_id)


def _acceptable(candidate: _Candidate) -> bool:
    detector = candidate.detector
    if detector.needs_hint and not (candidate.hinted or candidate.matches_id):
        return False
    return candidate.support >= detector.min_support and _score(candidate) >= MIN_CONFIDENCE


def _measure(
    engine: LakeEngine,
    alias: str,
    columns: Sequence[ColumnInfo],
    candidates: Mapping[str, _Candidate],
) -> list[ColumnFinding]:
    """Each candidate's support over every scanned row, in one query; and dates of birth that
    equal the birth date in an ID number of the same row (no name hint needed for those)."""
    dialect = engine.dialect
    ids = _id_columns(columns, candidates)
    by_name = {c.name: c for c in columns}
    parts: list[str] = []
    keys: list[tuple[str, str]] = []
    for name, candidate in candidates.items():
        column = by_name[name]
        expr = _text(column, dialect, alias)
        is_present = _present(expr, column)
        test = candidate.detector.tests[column.kind or ""](expr, dialect)
        parts += [_count(is_present), _count(f"{is_present} AND {test}")]
        keys.append((name, ""))
    date_columns = [c for c in columns if c.kind == ColumnKind.DATE and c.name not in candidates]
    for column in date_columns:
        day = dialect.safe_cast(_text(column, dialect, alias), FieldType.DATE)
        for id_column in ids:
            born = ric_birth_date_sql(_text(by_name[id_column], dialect, alias), dialect)
            parts += [_count(f"{day} IS NOT NULL"), _count(f"{day} = {born}")]
            keys.append((column.name, id_column))
    counts: list[int] = []
    if parts:
        tested = [(by_name[name], c.detector) for name, c in candidates.items()]
        joins = _joins(dialect, alias, tested)
        counts = _counts(engine, parts, alias, joins)
    measured: dict[str, ColumnFinding] = {}
    for index, (name, id_column) in enumerate(keys):
        present, passing = counts[2 * index], counts[2 * index + 1]
        support = passing / present if present else 0.0
        if id_column:
            found = _Candidate(DETECTOR_BY_ENTITY[EntityType.BIRTH_DATE], False, support, True)
            note = f"{support:.1%} of dates equal the birth date in {id_column} of the same row"
        else:
            found = candidates[name]
            found = _Candidate(found.detector, found.hinted, support)
            note = f"{support:.1%} of {present:,} present values pass the {found.detector.entity}"
            note += " test"
        if not _acceptable(found):
            continue
        previous = measured.get(name)
        score = _score(found)
        if previous is not None and previous.confidence >= score:
            continue
        evidence = [note]
        if found.hinted:
            evidence.append("the column's name suggests it")
        measured[name] = ColumnFinding(
            name, found.detector.entity, score, support, found.hinted, present, evidence
        )
    return [
        measured.get(c.name) or ColumnFinding(c.name, None, 0.0, 0.0, False, 0) for c in columns
    ]


#: 18 characters of an ID number somewhere in a text, and the number itself between non-digits.
_RIC_DIGITS = r"[0-9]{17}[0-9Xx]"
_RIC_IN_TEXT = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")


def embedded_resident_ids(
    table: LakeTable, version: int, columns: Sequence[str]
) -> dict[str, EntityType]:
    """Text columns of ``columns`` where a spread sample holds a resident ID number inside
    other text (a remark, an address line): the column scan looks at whole values only."""
    schema = table.schema(version)
    text = [
        f.name
        for f in schema
        if f.name in columns and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    if not text:
        return {}
    sample = table.spread_sample(version, SAMPLE_ROWS).select(text)
    found: dict[str, EntityType] = {}
    for column in text:
        values = sample.column(column)
        candidates = pc.filter(values, pc.match_substring_regex(values, _RIC_DIGITS))
        for value in candidates.to_pylist():
            if any(_is_resident_id(m.group(0)) for m in _RIC_IN_TEXT.finditer(value)):
                found[column] = EntityType.RESIDENT_ID
                break
    return found


def _is_resident_id(value: str) -> bool:
    return ric.valid_check_char(value.upper()) and ric.ric_birth_date(value.upper()) is not None
