"""Catalog search latency with facets over 100,000 generated resources (goal: p95 <= 50 ms).

Usage::

    python bench/catalog_search.py                          # 100,000 resources, 600 queries
    python bench/catalog_search.py --resources 20000 --queries 1000 --seed 3

What it does, in one process on one core:

* generates ``--resources`` realistic published resources (names from departments x subjects x
  qualifiers, summaries, 5-30 information items each from a vocabulary of common item names) as
  ``ResourcePublic`` objects (no database: the index is built from what
  ``service.published_resources`` returns, so this measures the index itself);
* builds ``CatalogIndex`` and reports the build time, the size of its arrays and the growth of
  the process's resident memory;
* runs a fixed, seeded mix of queries (1-4 character Chinese terms, common and rare; Latin codes;
  some empty browse queries and some without results; 0-2 facet filters; random pages and sorts;
  facets always on) and reports p50 / p95 / p99 latency per search call, result models included;
* times a naive baseline on a subset of the same queries: a Python linear scan with ``in`` over
  name + summary + field names, with the same disjunctive facet counts, and prints the speed-up.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from rongshu.catalog.rules import effective_grade
from rongshu.catalog.schemas import (
    CatalogType,
    FieldPublic,
    FieldSpec,
    FieldType,
    Grade,
    OpenType,
    ResourcePublic,
    ResourceSpec,
    ResourceStatus,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from rongshu.catalog.search import FACETS, CatalogIndex

DEPARTMENTS = [
    ("GA", "榕城市公安局"),
    ("RS", "榕城市人力资源和社会保障局"),
    ("SCJG", "榕城市市场监督管理局"),
    ("WJ", "榕城市卫生健康委员会"),
    ("MZ", "榕城市民政局"),
    ("ZJ", "榕城市住房和城乡建设局"),
    ("JY", "榕城市教育局"),
    ("SW", "国家税务总局榕城市税务局"),
    ("STHJ", "榕城市生态环境局"),
    ("SL", "榕城市水利局"),
    ("JT", "榕城市交通运输局"),
    ("ZRZY", "榕城市自然资源和规划局"),
    ("CZ", "榕城市财政局"),
    ("FGW", "榕城市发展和改革委员会"),
    ("GXJ", "榕城市工业和信息化局"),
    ("NYNC", "榕城市农业农村局"),
    ("SW2", "榕城市商务局"),
    ("WHLY", "榕城市文化和旅游局"),
    ("YJGL", "榕城市应急管理局"),
    ("YBJ", "榕城市医疗保障局"),
    ("SFJ", "榕城市司法局"),
    ("TJJ", "榕城市统计局"),
    ("CGJ", "榕城市城市管理局"),
    ("GJJ", "榕城市住房公积金中心"),
    ("TYJ", "榕城市体育局"),
    ("TRS", "榕城市退役军人事务局"),
    ("LYJ", "榕城市林业局"),
    ("QX", "榕城市气象局"),
    ("GL", "鼓楼区人民政府"),
    ("TJ", "台江区人民政府"),
    ("CS", "仓山区人民政府"),
    ("JA", "晋安区人民政府"),
    ("MW", "马尾区人民政府"),
    ("CL", "长乐区人民政府"),
]

SUBJECTS = (
    "常住人口 户籍 流动人口 出生医学证明 死亡医学证明 婚姻登记 收养登记 居民身份证 居住证 "
    "出入境证件 机动车 驾驶人 交通违法 交通事故 企业登记 个体工商户 农民专业合作社 "
    "食品经营许可 药品经营许可 特种设备 产品质量抽检 行政处罚 社会保险参保 养老保险 "
    "失业保险 工伤保险 就业登记 职业资格证书 技能人才 劳动合同备案 医疗机构 执业医师 "
    "执业护士 预防接种 传染病报告 医保结算 医保定点机构 低保对象 特困人员 残疾人 "
    "养老机构 社会组织 殡葬服务 房屋网签备案 商品房预售 建筑企业资质 施工许可 物业企业 "
    "学校 学籍 教师资格 学位证书 纳税人登记 增值税发票 税收缴纳 欠税公告 空气质量监测 "
    "水质监测 污染源 排污许可 环境影响评价 河道水位 雨量站 水库 道路运输经营许可 "
    "公交线路 出租汽车 网约车 营运车辆 不动产登记 土地出让 规划许可 财政预算 政府采购 "
    "项目审批 固定资产投资 工业企业 农业补贴 耕地保护 外商投资企业 旅游景区 文化市场 "
    "安全生产许可 危险化学品 应急物资 公积金缴存 公积金贷款 体育场馆 退役军人 林木采伐 "
    "气象预警 城市部件 占道经营 垃圾分类 法律援助 律师执业 公证 统计调查"
).split()

QUALIFIERS = (
    "信息 基本信息 登记信息 变更信息 注销信息 明细 台账 名册 目录 统计 汇总 年报 月报 "
    "许可信息 处罚信息 检查记录 办件信息 证照信息 档案 监测数据 核验 清单 备案信息"
).split()

PREFIXES = ["", "", "", "全市", "市本级", "区县", "历年", "2023年", "2024年", "重点"]

FIELDS = [
    ("公民身份号码", "id_number", True),
    ("姓名", "name", True),
    ("性别", "gender", True),
    ("民族", "ethnicity", True),
    ("出生日期", "birth_date", True),
    ("户籍地址", "household_address", True),
    ("现住址", "current_address", True),
    ("联系电话", "phone", True),
    ("手机号码", "mobile", True),
    ("婚姻状况", "marital_status", True),
    ("文化程度", "education", True),
    ("职业", "occupation", True),
    ("统一社会信用代码", "uscc", False),
    ("企业名称", "enterprise_name", False),
    ("法定代表人", "legal_representative", True),
    ("注册资本", "registered_capital", False),
    ("成立日期", "established_on", False),
    ("经营范围", "business_scope", False),
    ("登记机关", "registration_authority", False),
    ("企业类型", "enterprise_type", False),
    ("经营状态", "business_status", False),
    ("住所", "domicile", False),
    ("行政区划代码", "region_code", False),
    ("所属街道", "street", False),
    ("所属社区", "community", False),
    ("证照编号", "licence_number", False),
    ("证照名称", "licence_name", False),
    ("发证日期", "issued_on", False),
    ("有效期起", "valid_from", False),
    ("有效期至", "valid_until", False),
    ("发证机关", "issuing_authority", False),
    ("许可事项", "licensed_matter", False),
    ("处罚决定书文号", "penalty_number", False),
    ("处罚事由", "penalty_reason", False),
    ("处罚金额", "penalty_amount", False),
    ("号牌号码", "plate_number", False),
    ("车辆类型", "vehicle_type", False),
    ("车辆识别代号", "vin", False),
    ("准驾车型", "licence_class", False),
    ("违法时间", "violation_time", False),
    ("违法地点", "violation_place", False),
    ("参保状态", "insured_status", False),
    ("参保日期", "insured_on", False),
    ("缴费基数", "contribution_base", False),
    ("缴费月数", "contribution_months", False),
    ("单位名称", "employer_name", False),
    ("单位编号", "employer_number", False),
    ("就业状态", "employment_status", True),
    ("机构名称", "institution_name", False),
    ("机构等级", "institution_level", False),
    ("床位数", "beds", False),
    ("执业类别", "practice_category", False),
    ("执业地点", "practice_place", False),
    ("疫苗名称", "vaccine", False),
    ("接种日期", "vaccinated_on", True),
    ("诊断名称", "diagnosis", True),
    ("结算金额", "settlement_amount", False),
    ("救助类别", "assistance_type", False),
    ("救助金额", "assistance_amount", False),
    ("残疾类别", "disability_type", True),
    ("残疾等级", "disability_level", True),
    ("房屋坐落", "property_location", False),
    ("不动产单元号", "property_unit", False),
    ("建筑面积", "floor_area", False),
    ("合同编号", "contract_number", False),
    ("成交价格", "price", False),
    ("项目名称", "project_name", False),
    ("项目代码", "project_code", False),
    ("建设单位", "builder", False),
    ("学校名称", "school_name", False),
    ("学籍号", "student_number", True),
    ("入学年份", "enrolled_in", False),
    ("纳税人识别号", "taxpayer_id", False),
    ("税种", "tax_type", False),
    ("税额", "tax_amount", False),
    ("所属期", "tax_period", False),
    ("监测点名称", "station_name", False),
    ("监测时间", "measured_at", False),
    ("监测值", "measured_value", False),
    ("经度", "longitude", False),
    ("纬度", "latitude", False),
    ("水位", "water_level", False),
    ("降雨量", "rainfall", False),
    ("污染物名称", "pollutant", False),
    ("排放浓度", "concentration", False),
    ("线路名称", "route_name", False),
    ("站点名称", "stop_name", False),
    ("预算科目", "budget_item", False),
    ("预算金额", "budget_amount", False),
    ("采购方式", "procurement_method", False),
    ("中标单位", "winning_bidder", False),
    ("办件编号", "case_number", False),
    ("办理状态", "case_status", False),
    ("受理时间", "accepted_at", False),
    ("办结时间", "closed_at", False),
    ("数据来源", "source", False),
    ("数据更新时间", "updated_at", False),
    ("备注", "remarks", False),
    ("状态", "status", False),
    ("创建时间", "created_at", False),
]

PURPOSES = ["政务服务办理", "社会治理", "宏观决策分析", "市场监管", "公共服务", "应急指挥调度"]
FORMATS = ["table"] * 8 + ["file", "api", "stream"]


def _weighted(rng: random.Random, items: Sequence[Any], skew: float = 1.1) -> Any:
    """Zipf-like choice: the first items are common, the tail is rare."""
    rank = min(int(rng.paretovariate(skew)) - 1, len(items) - 1)
    return items[rank]


def generate(count: int, seed: int) -> list[ResourcePublic]:
    """``count`` published resources, the same for the same seed."""
    rng = random.Random(seed)
    subjects = SUBJECTS[:]
    rng.shuffle(subjects)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    grades = [Grade.GENERAL_1, Grade.GENERAL_2, Grade.GENERAL_3]
    out: list[ResourcePublic] = []
    for i in range(count):
        code, department = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]
        subject = _weighted(rng, subjects, 0.6)
        qualifier = rng.choice(QUALIFIERS)
        name = f"{rng.choice(PREFIXES)}{subject}{qualifier}"
        chosen = rng.sample(range(len(FIELDS)), rng.randint(5, 30))
        fields: list[FieldSpec] = []
        for position, index in enumerate(chosen, start=1):
            item, english, personal = FIELDS[index]
            grade = Grade.GENERAL_3 if personal else rng.choice(grades)
            if personal and rng.random() < 0.1:
                grade = Grade.GENERAL_4
            fields.append(
                FieldPublic.model_construct(
                    name=item,
                    english_name=english,
                    data_type=FieldType.STRING,
                    length=64,
                    description="",
                    is_key=position == 1,
                    is_personal=personal,
                    grade=grade,
                    rules=[],
                    position=position,
                )
            )
        items = "、".join(f.name for f in fields[:3])
        cycle = rng.choice(list(UpdateCycle))
        summary = (
            f"{department}归集的{subject}{qualifier}，包括{items}等{len(fields)}个信息项，"
            f"{cycle.label}更新，用于{rng.choice(PURPOSES)}。"
        )
        share = rng.choices(list(ShareType), weights=(5, 4, 1))[0]
        open_type = rng.choices(list(OpenType), weights=(2, 2, 6))[0]
        declared = Grade.IMPORTANT if rng.random() < 0.03 else None
        spec = ResourceSpec.model_construct(
            code=f"{code}-{i:06d}",
            name=name,
            catalog_type=rng.choices(list(CatalogType), weights=(1, 2, 7))[0],
            classification_code="",
            department_code=code,
            summary=summary,
            format=rng.choice(FORMATS),
            fields=fields,
            share_type=share,
            share_condition="",
            share_methods=[ShareMethod.API],
            open_type=open_type,
            open_condition="",
            legal_basis="",
            update_cycle=cycle,
            publish_date=None,
            related=[],
            grade=declared,
        )
        out.append(
            ResourcePublic.model_construct(
                **{k: getattr(spec, k) for k in ResourceSpec.model_fields},
                id=i + 1,
                department_name=department,
                status=ResourceStatus.PUBLISHED,
                effective_grade=effective_grade(spec),
                version=rng.randint(1, 5),
                updated_at=start + timedelta(minutes=rng.randrange(700 * 24 * 60)),
            )
        )
    return out


def make_queries(resources: list[ResourcePublic], count: int, seed: int) -> list[dict[str, Any]]:
    """A fixed mix of searches a console user would make."""
    rng = random.Random(seed + 1)
    common = ["信息", "人口", "户籍", "企业", "许可", "登记", "监测", "社会", "医", "税"]
    words = SUBJECTS + [f[0] for f in FIELDS] + [d[1][3:] for d in DEPARTMENTS]
    facet_values: dict[str, list[str]] = {
        "department": [d[0] for d in DEPARTMENTS],
        "catalog_type": [m.value for m in CatalogType],
        "share_type": [m.value for m in ShareType],
        "open_type": [m.value for m in OpenType],
        "grade": [m.value for m in Grade],
        "update_cycle": [m.value for m in UpdateCycle],
        "format": ["table", "file", "api", "stream"],
    }
    queries = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.10:
            q = ""
        elif roll < 0.30:
            q = rng.choice(common)
        elif roll < 0.85:  # a 1-4 character piece of a subject, item or department name
            word = rng.choice(words)
            size = min(len(word), rng.choice((1, 2, 2, 3, 4)))
            at = rng.randrange(len(word) - size + 1)
            q = word[at : at + size]
        elif roll < 0.90:
            q = rng.choice(resources).code
        elif roll < 0.95:
            q = rng.choice(DEPARTMENTS)[0]
        else:
            q = rng.choice(["鲸鱼", "量子", "火星基地", "zzz"])  # no results
        filters: dict[str, list[str]] = {}
        for facet in rng.sample(FACETS, rng.choice((0, 0, 1, 1, 2))):
            filters[facet] = rng.sample(facet_values[facet], rng.choice((1, 1, 2)))
        queries.append(
            {
                "q": q,
                "filters": filters,
                "sort": rng.choices(["relevance", "name", "updated", "code"], (7, 1, 1, 1))[0],
                "offset": 20 * rng.choice((0, 0, 0, 1, 2, 5)),
                "limit": 20,
            }
        )
    return queries


class NaiveCatalog:
    """The baseline: substring tests over every resource, facets counted in Python."""

    def __init__(self, resources: list[ResourcePublic]) -> None:
        self.rows = [
            (
                (r.name + "\n" + r.summary + "\n" + "\n".join(f.name for f in r.fields)).lower(),
                {
                    "department": r.department_code,
                    "catalog_type": r.catalog_type.value,
                    "share_type": r.share_type.value,
                    "open_type": r.open_type.value,
                    "grade": r.effective_grade.value,
                    "update_cycle": r.update_cycle.value,
                    "format": r.format,
                },
                r,
            )
            for r in resources
        ]

    def search(self, q: str, filters: dict[str, list[str]], offset: int, limit: int) -> Any:
        terms = q.lower().split()
        matched = [row for row in self.rows if all(t in row[0] for t in terms)]
        counts: dict[str, Counter[str]] = {facet: Counter() for facet in FACETS}
        selected = []
        for _, values, resource in matched:
            failing = [f for f, accepted in filters.items() if values[f] not in accepted]
            if not failing:
                selected.append(resource)
            for facet in FACETS:  # disjunctive: ignore the facet's own filter
                if not failing or failing == [facet]:
                    counts[facet][values[facet]] += 1
        selected.sort(key=lambda r: (r.name, r.code))
        return len(selected), selected[offset : offset + limit], counts


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--baseline-queries", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument(
        "--no-memory", dest="memory", action="store_false", help="skip the tracemalloc build"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    resources = generate(args.resources, args.seed)
    fields = sum(len(r.fields) for r in resources)
    print(
        f"generated {len(resources):,} resources, {fields:,} information items "
        f"in {time.perf_counter() - started:.1f} s"
    )

    gc.collect()
    started = time.perf_counter()
    index = CatalogIndex.build(resources)
    build = time.perf_counter() - started
    arrays = index._a  # the bench may look inside: report what the index holds
    array_bytes = sum(
        a.nbytes
        for a in (arrays.starts, arrays.docs, arrays.scores, arrays.name_rank, arrays.by_name)
    ) + sum(a.nbytes for a in (arrays.by_code, arrays.by_updated, *arrays.facet_codes.values()))
    print(
        f"index built in {build:.1f} s: {len(arrays.vocab):,} tokens, "
        f"{len(arrays.docs):,} postings, numpy arrays {array_bytes / 2**20:.0f} MiB"
    )
    if args.memory:
        # Build again under tracemalloc (slower, so not timed): what the index keeps, and the
        # peak while building. Strings and timestamps it shares with the resources are added.
        tracemalloc.start()
        traced = CatalogIndex.build(resources)
        kept, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        shared = sum(
            sys.getsizeof(e.code) + sys.getsizeof(e.name) + sys.getsizeof(e.updated_at)
            for e in traced._a.entries
        )
        del traced
        print(
            f"index memory: {(kept + shared) / 2**20:.0f} MiB kept "
            f"(of which {shared / 2**20:.0f} MiB strings shared with the resources), "
            f"{peak / 2**20:.0f} MiB peak while building"
        )

    queries = make_queries(resources, args.queries, args.seed)
    for query in queries[:20]:  # warm-up (first numpy calls, caches)
        index.search(**query)
    timings: list[float] = []
    kinds: dict[str, list[float]] = {}
    totals = []
    for query in queries:
        t0 = time.perf_counter()
        result = index.search(**query, facets=True)
        elapsed = (time.perf_counter() - t0) * 1000
        timings.append(elapsed)
        totals.append(result.total)
        q = query["q"]
        kind = "empty" if not q else "latin" if q.isascii() else f"{min(len(q), 4)}-char"
        kinds.setdefault(kind, []).append(elapsed)
    print(
        f"{len(queries)} searches with facets: p50 {percentile(timings, 0.5):.2f} ms, "
        f"p95 {percentile(timings, 0.95):.2f} ms, p99 {percentile(timings, 0.99):.2f} ms, "
        f"max {max(timings):.2f} ms (median hits {statistics.median(totals):,.0f})"
    )
    for kind in sorted(kinds):
        values = kinds[kind]
        print(
            f"  {kind:<7} {len(values):>4} queries: p50 {percentile(values, 0.5):6.2f} ms, "
            f"p95 {percentile(values, 0.95):6.2f} ms"
        )

    naive = NaiveCatalog(resources)
    subset = queries[: args.baseline_queries]
    naive_ms, index_ms = [], []
    for query in subset:
        t0 = time.perf_counter()
        total, _, _ = naive.search(query["q"], query["filters"], query["offset"], query["limit"])
        naive_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        result = index.search(**query)
        index_ms.append((time.perf_counter() - t0) * 1000)
        if result.total < total:
            raise SystemExit(f"index found more than a substring scan for {query}")
    print(
        f"naive linear scan on {len(subset)} of the searches: mean "
        f"{statistics.mean(naive_ms):.1f} ms, p95 {percentile(naive_ms, 0.95):.1f} ms; "
        f"index mean {statistics.mean(index_ms):.2f} ms: "
        f"{statistics.mean(naive_ms) / statistics.mean(index_ms):.0f}x faster"
    )


if __name__ == "__main__":
    main()
