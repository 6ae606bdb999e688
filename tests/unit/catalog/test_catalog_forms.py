"""The edit form's reading and the search page's links, without a database or a server."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from rongshu.catalog.browse import SearchView
from rongshu.catalog.forms import ResourceForm, split_list
from rongshu.catalog.schemas import (
    FieldType,
    Grade,
    OpenType,
    ResourceEventPublic,
    ResourcePublic,
    ResourceStatus,
    ShareMethod,
)
from rongshu.core.i18n import translate

POSTED = {
    "code": " 350100-GA-0009 ",
    "name": "暂住人员信息",
    "catalog_type": "departmental",
    "share_type": "conditional",
    "share_condition": "仅限核验",
    "open_type": "none",
    "legal_basis": "《居住证暂行条例》",
    "update_cycle": "daily",
    "related": "350100-GA-0001、350100-GA-0002, 350100-GA-0003",
    "grade": "",
    "fields[0].name": "姓名",
    "fields[0].data_type": "string",
    "fields[0].is_personal": "1",
    "fields[0].grade": "general_3",
    "fields[0].rules": "not_null、name",
    "fields[1].name": "",  # a blank row
    "fields[2].name": "旧字段",
    "fields[2].data_type": "string",
    "fields[2].delete": "1",
    "fields[3].name": "证件号",
    "fields[3].data_type": "",
    "fields[3].length": "18",
}


def read(posted: dict[str, str], methods: list[str] | None = None) -> ResourceForm:
    return ResourceForm.from_form(posted, methods if methods is not None else ["api"])


def test_a_posted_form_becomes_a_declaration_without_blank_or_removed_rows() -> None:
    form = read(POSTED, ["api", "file"])
    spec = form.to_spec(department_code="GA", lang="zh-CN")
    assert spec is not None and not form.has_errors
    assert spec.code == "350100-GA-0009" and spec.department_code == "GA"
    assert [f.name for f in spec.fields] == ["姓名", "证件号"]
    assert spec.fields[0].rules == ["not_null", "name"] and spec.fields[0].is_personal
    assert spec.fields[1].data_type is None and spec.fields[1].length == 18
    assert spec.share_methods == [ShareMethod.API, ShareMethod.FILE]
    assert spec.open_type is OpenType.NONE and spec.grade is None
    assert spec.related == ["350100-GA-0001", "350100-GA-0002", "350100-GA-0003"]
    # The removed row is gone from the form; the blank one stays for the person to fill.
    assert [row.name for row in form.rows] == ["姓名", "", "证件号"]


def test_a_rule_about_a_field_lands_on_the_row_the_person_sees() -> None:
    form = read(POSTED)
    form.to_spec(department_code="GA", lang="zh-CN")
    # The declaration's second field came from the form's third row (after the blank one).
    form.add_problems([{"field": "fields[1].data_type", "reason": "缺少数据类型"}])
    form.add_problems([{"field": "legal_basis", "reason": "须注明法律依据"}])
    assert form.field_errors(2, "data_type") == ["缺少数据类型"]
    assert form.errors_in_row(2) and not form.errors_in_row(0)
    assert form.anchor("fields[2].data_type") == "f2-data_type"
    assert form.anchor("legal_basis") == "in-legal_basis"

    def t(key: str, **params: object) -> str:
        return translate("zh-CN", key, **params)

    assert form.describe("fields[2].data_type", t) == "第 3 行 数据类型"
    # The summary lists problems in the order of the form: resource inputs, then the rows.
    assert [name for name, _ in form.summary] == ["legal_basis", "fields[2].data_type"]


def test_unreadable_values_are_problems_and_the_rest_is_still_checked() -> None:
    posted = {**POSTED, "fields[3].length": "十八", "publish_date": "2024/13/01", "name": ""}
    form = read(posted)
    spec = form.to_spec(department_code="GA", lang="en")
    assert spec is None  # the empty name makes no declaration
    assert form.field_errors(2, "length") == ["Write a whole number above zero"]
    assert form.errors["publish_date"] == ["Write the date as 2024-01-31"]
    assert form.errors["name"] == ["Required"]

    form = read({**POSTED, "fields[3].length": "0"})
    spec = form.to_spec(department_code="GA", lang="zh-CN")
    assert spec is not None and spec.fields[1].length is None  # left out, so rules still run
    assert form.has_errors and form.field_errors(2, "length") == ["请填写正整数"]


def test_an_unknown_choice_is_reported_on_its_input() -> None:
    form = read({**POSTED, "share_type": "sometimes"}, ["api", "fax"])
    assert form.to_spec(department_code="GA", lang="zh-CN") is None
    assert form.errors["share_type"] == ["请从列表中选择"]
    assert form.errors["share_methods"] == ["请从列表中选择"]


def test_editing_shows_the_declaration_with_one_blank_row_and_adding_rows_adds_five() -> None:
    form = read(POSTED)
    spec = form.to_spec(department_code="GA", lang="zh-CN")
    assert spec is not None
    public = ResourcePublic(
        **spec.model_dump(exclude={"fields"}),
        fields=[{**f.model_dump(), "position": i + 1} for i, f in enumerate(spec.fields)],
        id=1,
        department_name="榕城市公安局",
        status=ResourceStatus.DRAFT,
        effective_grade=Grade.GENERAL_3,
        version=0,
        updated_at="2024-01-01T00:00:00Z",
    )
    shown = ResourceForm.from_resource(public)
    assert [row.name for row in shown.rows] == ["姓名", "证件号", ""]
    assert shown.rows[0].rules == "not_null、name" and shown.rows[0].is_personal
    assert shown.value("related") == "350100-GA-0001、350100-GA-0002、350100-GA-0003"
    assert shown.rows[1].data_type == "" and FieldType.STRING.value == shown.rows[0].data_type
    shown.add_rows()
    assert len(shown.rows) == 8


def test_split_list_takes_the_separators_bureaus_write() -> None:
    assert split_list(" a、b，c;d；e, f\ng ") == ["a", "b", "c", "d", "e", "f", "g"]
    assert split_list("  ") == []


def query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def test_search_links_keep_the_query_and_other_filters_and_go_back_to_page_one() -> None:
    view = SearchView.from_query(
        [
            ("q", "户籍"),
            ("department", "GA"),
            ("department", "GA"),
            ("grade", "core"),
            ("sort", "name"),
            ("page", "3"),
            ("bogus", "x"),
        ],
        base="/catalog",
        api="/api/v1/open-catalog/resources",
    )
    assert view.filters == {"department": ["GA"], "grade": ["core"]}
    assert view.offset == 40
    added = query(view.toggle_url("department", "DSJ"))
    assert added == [
        ("q", "户籍"),
        ("department", "GA"),
        ("department", "DSJ"),
        ("grade", "core"),
        ("sort", "name"),
    ]
    removed = query(view.toggle_url("department", "GA"))
    assert ("department", "GA") not in removed and ("q", "户籍") in removed
    assert query(view.clear_url()) == [("q", "户籍"), ("sort", "name")]
    assert ("page", "2") in query(view.page_url(2))
    assert query(view.sort_url("relevance")) == [
        ("q", "户籍"),
        ("department", "GA"),
        ("grade", "core"),
    ]
    twin = query(view.json_url)
    assert ("offset", "40") in twin and ("limit", "20") in twin and ("page", "3") not in twin
    assert view.json_url.startswith("/api/v1/open-catalog/resources?")


def test_a_bad_sort_or_page_falls_back_to_the_defaults() -> None:
    view = SearchView.from_query([("sort", "random"), ("page", "-2")], base="/catalog", api="/api")
    assert (view.sort, view.page) == ("relevance", 1)
    assert view.url == "/catalog"


def event(action: str) -> ResourceEventPublic:
    return ResourceEventPublic(
        at="2024-01-01T00:00:00Z",
        actor="x",
        action=action,
        status_from="",
        status_to="",
        reason="",
        version=1,
        changes=[],
    )
