"""Catalog search over an in-memory index: Chinese full-text, facets, filters, sorting, paging."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rongshu.catalog.rules import effective_grade
from rongshu.catalog.schemas import (
    CatalogType,
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
from rongshu.catalog.search import FACETS, CatalogIndex, SearchResult
from rongshu.catalog.tokens import index_tokens, query_tokens
from rongshu.core.errors import ValidationFailed

DEPARTMENTS = {
    "GA": "榕城市公安局",
    "RS": "榕城市人力资源和社会保障局",
    "SCJG": "榕城市市场监督管理局",
}
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def resource(
    code: str,
    name: str,
    *,
    fields: tuple[str | tuple[str, str], ...] = ("备注",),
    summary: str = "",
    department: str = "GA",
    updated: int = 0,
    **attributes: Any,
) -> ResourcePublic:
    items = [(f, "") if isinstance(f, str) else f for f in fields]
    values: dict[str, Any] = {
        "code": code,
        "name": name,
        "department_code": department,
        "summary": summary,
        "fields": [
            {"name": n, "english_name": e, "data_type": FieldType.STRING, "position": i + 1}
            for i, (n, e) in enumerate(items)
        ],
        "share_type": ShareType.UNCONDITIONAL,
        "share_methods": [ShareMethod.API],
        "open_type": OpenType.NONE,
        "legal_basis": "《个人信息保护法》",
    }
    values.update(attributes)
    spec = ResourceSpec.model_validate(values)
    return ResourcePublic(
        **values,
        id=abs(hash(code)) % 10**6,
        department_name=DEPARTMENTS[department],
        status=ResourceStatus.PUBLISHED,
        effective_grade=effective_grade(spec),
        version=1,
        updated_at=T0 + timedelta(days=updated),
    )


@pytest.fixture(scope="module")
def catalog() -> CatalogIndex:
    return CatalogIndex.build(
        [
            resource(
                "GA-0001",
                "常住人口户籍信息",
                fields=(("公民身份号码", "id_number"), ("姓名", "name"), "户籍地址"),
                summary="榕城市常住人口的户籍登记信息",
                updated=5,
            ),
            resource(
                "GA-0002",
                "户籍人口统计",
                fields=("行政区划代码", "人口数"),
                summary="按区县汇总的人口信息",
                updated=9,
                update_cycle=UpdateCycle.MONTHLY,
            ),
            resource(
                "SCJG-0001",
                "企业登记信息",
                fields=(("统一社会信用代码", "uscc"), "企业名称", "法定代表人", "注册资本"),
                summary="市场主体登记",
                department="SCJG",
                updated=1,
                share_type=ShareType.CONDITIONAL,
                share_condition="用于市场监管",
                format="api",
            ),
            resource(
                "RS-0001",
                "社会保险参保信息",
                fields=("公民身份号码", "参保状态", "缴费基数"),
                summary="职工参保登记，含户籍所在地",
                department="RS",
                updated=3,
                catalog_type=CatalogType.BASIC,
            ),
            resource("RS-0002", "就业登记台账", fields=("姓名", "单位名称"), department="RS"),
        ]
    )


def codes(result: SearchResult) -> list[str]:
    return [hit.code for hit in result.hits]


# -- full text -------------------------------------------------------------------------------


def test_a_chinese_word_finds_the_resource_whose_name_contains_it(catalog: CatalogIndex) -> None:
    result = catalog.search(q="户籍")
    assert "GA-0001" in codes(result)
    assert codes(result)[0] in ("GA-0001", "GA-0002"), "name matches rank before summary ones"
    assert "SCJG-0001" not in codes(result)
    hit = next(h for h in result.hits if h.code == "GA-0001")
    assert hit.name == "常住人口户籍信息"
    assert hit.department_name == "榕城市公安局"
    assert hit.matched_fields == ["户籍地址"]
    assert hit.score > 0


def test_name_matches_rank_above_summary_only_matches(catalog: CatalogIndex) -> None:
    result = catalog.search(q="户籍")
    assert set(codes(result)) == {"GA-0001", "GA-0002", "RS-0001"}
    assert codes(result)[-1] == "RS-0001", "户籍 only in RS-0001's summary"


def test_every_bigram_of_the_query_must_occur(catalog: CatalogIndex) -> None:
    # 常住人口户籍信息 holds 人口户籍; 户籍人口统计 holds 户籍 and 人口 but not 口户.
    assert codes(catalog.search(q="人口户籍")) == ["GA-0001"]
    assert catalog.search(q="户籍鲸鱼").total == 0


def test_a_single_character_query_works(catalog: CatalogIndex) -> None:
    result = catalog.search(q="籍", sort="code")
    assert codes(result) == ["GA-0001", "GA-0002", "RS-0001"]
    assert catalog.search(q="鲸").total == 0


def test_a_query_that_matches_a_field_name_only(catalog: CatalogIndex) -> None:
    result = catalog.search(q="代表人")
    assert codes(result) == ["SCJG-0001"]
    assert result.hits[0].matched_fields == ["法定代表人"]


def test_field_matches_are_listed_per_term(catalog: CatalogIndex) -> None:
    result = catalog.search(q="身份 姓名")
    assert codes(result) == ["GA-0001"]
    assert result.hits[0].matched_fields == ["公民身份号码", "姓名"]


def test_latin_words_and_codes(catalog: CatalogIndex) -> None:
    assert codes(catalog.search(q="GA-0001")) == ["GA-0001"]
    assert codes(catalog.search(q="ga-0001")) == ["GA-0001"]
    assert codes(catalog.search(q="ＧＡ－０００１")) == ["GA-0001"], "full-width is normalised"
    assert codes(catalog.search(q="ga", sort="code")) == ["GA-0001", "GA-0002"]
    assert codes(catalog.search(q="0001", sort="code")) == ["GA-0001", "RS-0001", "SCJG-0001"]
    assert codes(catalog.search(q="uscc")) == ["SCJG-0001"]
    english = catalog.search(q="id_number")
    assert codes(english) == ["GA-0001"]
    assert english.hits[0].matched_fields == ["公民身份号码"]


def test_a_department_name_is_searchable(catalog: CatalogIndex) -> None:
    assert codes(catalog.search(q="市场监督", sort="code")) == ["SCJG-0001"]


def test_an_empty_query_lists_everything_by_name(catalog: CatalogIndex) -> None:
    result = catalog.search()
    assert result.total == 5
    assert [h.name for h in result.hits] == sorted(h.name for h in result.hits)
    assert all(h.score == 0 for h in result.hits)
    assert catalog.search(q="  ，。 ").total == 5, "punctuation alone is no query"


def test_tokens() -> None:
    assert index_tokens("户籍A-1") == ["户", "籍", "户籍", "a", "1", "a-1"]
    parsed = query_tokens("常住人口 GA-0001")
    assert parsed.required == ("常住", "住人", "人口", "ga", "0001")
    assert parsed.boost == ("ga-0001",)
    assert query_tokens("户").required == ("户",)


def test_long_summaries_are_shortened_in_hits() -> None:
    index = CatalogIndex.build([resource("X-1", "长摘要资源", summary="数据" * 100)])
    hit = index.search().hits[0]
    assert len(hit.summary) == 80 and hit.summary.endswith("…")


def test_an_empty_catalog_answers_with_nothing() -> None:
    result = CatalogIndex.build([]).search(q="户籍", filters={"department": ["GA"]})
    assert result.total == 0 and result.hits == []
    listed = [f.model_dump() for f in result.facets["department"]]
    assert listed == [{"value": "GA", "label": "GA", "count": 0}]


# -- filters, facets ---------------------------------------------------------------------------


def test_filters_are_or_within_a_facet_and_across_facets(catalog: CatalogIndex) -> None:
    both = catalog.search(filters={"department": ["GA", "RS"]}, sort="code")
    assert codes(both) == ["GA-0001", "GA-0002", "RS-0001", "RS-0002"]
    narrowed = catalog.search(
        filters={"department": ["GA", "RS"], "update_cycle": ["monthly"]}, sort="code"
    )
    assert codes(narrowed) == ["GA-0002"]
    by_label = catalog.search(filters={"share_type": ["有条件共享"]})
    assert codes(by_label) == ["SCJG-0001"]
    single = catalog.search(filters={"department": "RS"}, sort="code")  # one value, not a list
    assert codes(single) == ["RS-0001", "RS-0002"]


def test_facets_count_the_others_while_one_is_selected(catalog: CatalogIndex) -> None:
    result = catalog.search(q="户籍", filters={"department": ["GA"]})
    assert result.total == 2
    departments = {f.value: (f.label, f.count) for f in result.facets["department"]}
    assert departments == {"GA": ("榕城市公安局", 2), "RS": ("榕城市人力资源和社会保障局", 1)}
    cycles = {f.value: f.count for f in result.facets["update_cycle"]}
    assert cycles == {"monthly": 1, "irregular": 1}, "other facets count the selection"
    assert [f.label for f in result.facets["update_cycle"]] == ["每月", "不定期"]


def test_selected_values_without_results_stay_listed(catalog: CatalogIndex) -> None:
    result = catalog.search(q="企业", filters={"grade": ["core"], "department": ["JT"]})
    assert result.total == 0
    grades = {f.value: f.count for f in result.facets["grade"]}
    assert grades["core"] == 0
    assert {"value": "JT", "label": "JT", "count": 0} in [
        f.model_dump() for f in result.facets["department"]
    ]


def test_facets_can_be_left_out(catalog: CatalogIndex) -> None:
    assert catalog.search(q="户籍", facets=False).facets == {}


def test_format_labels(catalog: CatalogIndex) -> None:
    formats = {f.value: f.label for f in catalog.search().facets["format"]}
    assert formats == {"table": "库表", "api": "接口"}


WORDS = ["户籍", "人口", "企业", "登记", "信息", "参保", "车辆", "学校", "医疗", "税务"]
ITEMS = ["姓名", "公民身份号码", "企业名称", "号牌号码", "参保状态", "学校名称", "税额", "备注"]


def random_catalog(seed: int, size: int) -> list[ResourcePublic]:
    rng = random.Random(seed)
    out = []
    for i in range(size):
        share = rng.choice(list(ShareType))
        grade = rng.choice([Grade.GENERAL_1, Grade.GENERAL_2, Grade.IMPORTANT])
        out.append(
            resource(
                f"R-{i:04d}",
                "".join(rng.sample(WORDS, 2)),
                fields=tuple(rng.sample(ITEMS, rng.randint(1, 4))),
                summary="".join(rng.sample(WORDS, 3)),
                department=rng.choice(list(DEPARTMENTS)),
                updated=rng.randrange(100),
                catalog_type=rng.choice(list(CatalogType)),
                share_type=share,
                share_condition="条件" if share is ShareType.CONDITIONAL else "",
                share_methods=[] if share is ShareType.NONE else [ShareMethod.API],
                open_type=rng.choice([OpenType.NONE, OpenType.CONDITIONAL]),
                open_condition="条件",
                update_cycle=rng.choice(list(UpdateCycle)),
                format=rng.choice(["table", "file", "api"]),
                grade=grade,
            )
        )
    return out


def facet_value(r: ResourcePublic, facet: str) -> str:
    if facet == "department":
        return r.department_code
    if facet == "grade":
        return r.effective_grade.value
    if facet == "format":
        return r.format
    value: str = getattr(r, facet).value
    return value


def texts(r: ResourcePublic) -> list[str]:
    return [r.name, r.summary, r.department_name, *(f.name for f in r.fields)]


@pytest.mark.parametrize(
    ("q", "filters"),
    [
        ("", {}),
        ("户籍", {}),
        ("企", {"department": ["GA", "SCJG"]}),
        ("信息", {"share_type": ["conditional"], "grade": ["important", "general_2"]}),
        ("", {"format": ["api"], "catalog_type": ["basic"], "update_cycle": ["daily", "yearly"]}),
        ("姓名", {"open_type": ["conditional"]}),
    ],
)
def test_facet_counts_match_a_brute_force_count(q: str, filters: dict[str, list[str]]) -> None:
    corpus = random_catalog(7, 400)
    index = CatalogIndex.build(corpus)
    result = index.search(q=q, filters=filters, limit=100)

    def passes(r: ResourcePublic, skip: str | None = None) -> bool:
        if q and not any(q in t for t in texts(r)):  # 1-2 characters: substring semantics
            return False
        return all(facet_value(r, f) in v for f, v in filters.items() if f != skip)

    expected_total = sum(passes(r) for r in corpus)
    assert result.total == expected_total
    assert set(codes(result)) <= {r.code for r in corpus if passes(r)}
    for facet in FACETS:
        expected = Counter(facet_value(r, facet) for r in corpus if passes(r, skip=facet))
        got = {f.value: f.count for f in result.facets[facet] if f.count}
        assert got == dict(expected), facet


# -- sorting, paging ------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["relevance", "name", "updated", "code"])
def test_pages_walk_through_every_result_once_in_order(sort: str) -> None:
    corpus = random_catalog(11, 230)
    index = CatalogIndex.build(corpus)
    by_code = {r.code: r for r in corpus}
    q = "" if sort == "name" else "信息"
    first = index.search(q=q, sort=sort, limit=50)
    seen = []
    for offset in range(0, first.total + 50, 50):
        page = index.search(q=q, sort=sort, offset=offset, limit=50, facets=False)
        assert page.total == first.total and page.offset == offset
        seen.extend(page.hits)
    assert len(seen) == first.total == len({h.code for h in seen}) > 100
    if sort == "relevance":
        keys: list[Any] = [(-h.score, h.name) for h in seen]
    elif sort == "name":
        keys = [(h.name, h.code) for h in seen]
    elif sort == "updated":
        keys = [-by_code[h.code].updated_at.timestamp() for h in seen]
    else:
        keys = [h.code for h in seen]
    assert keys == sorted(keys)
    assert index.search(q=q, sort=sort, offset=first.total, limit=20).hits == []


def test_limit_zero_gives_only_counts(catalog: CatalogIndex) -> None:
    result = catalog.search(q="户籍", limit=0)
    assert result.total == 3 and result.hits == [] and result.facets["department"]


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"sort": "popular"}, "unknown sort 'popular'; use one of relevance, name, updated, code"),
        ({"limit": 101}, "limit must be between 0 and 100, not 101"),
        ({"offset": -1}, "offset cannot be negative"),
        ({"filters": {"colour": ["red"]}}, "unknown facet 'colour'"),
        ({"filters": {"share_type": ["sometimes"]}}, "'sometimes' is not one of 无条件共享"),
        ({"q": "户" * 201}, "longer than 200 characters"),
    ],
)
def test_malformed_searches_are_refused_clearly(
    catalog: CatalogIndex, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationFailed, match="cannot search the catalog") as caught:
        catalog.search(**arguments)
    assert message in caught.value.message
    assert caught.value.details, "details name the parameter"


def test_hits_carry_the_resource_attributes(catalog: CatalogIndex) -> None:
    hit = catalog.search(q="企业登记").hits[0]
    assert hit.code == "SCJG-0001"
    assert hit.share_type is ShareType.CONDITIONAL
    assert hit.format == "api"
    assert hit.grade is Grade.GENERAL_1
    assert hit.updated_at == T0 + timedelta(days=1)
