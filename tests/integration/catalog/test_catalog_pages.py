"""The catalog's web pages through the in-process client: search with facets, a resource's
fields and history, the steward's form, the review queue, import, and the public open catalog.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rongshu.catalog import service
from rongshu.catalog.schemas import (
    FieldSpec,
    FieldType,
    Grade,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM, DepartmentCreate
from rongshu.core.platform import Platform

from ..conftest import MakeUser, login

HTML = {"Accept": "text/html"}
HOUSEHOLD = "350100-GA-0001"
MIGRATION = "350100-GA-0002"
DRAFT = "350100-GA-0003"
COMPANIES = "350100-SCJ-0001"


def household(**changes: Any) -> ResourceSpec:
    values: dict[str, Any] = {
        "code": HOUSEHOLD,
        "name": "常住人口户籍信息",
        "catalog_type": "basic",
        "classification_code": "01-01-01",
        "department_code": "GA",
        "summary": "榕城市常住人口的户籍登记信息",
        "fields": [
            FieldSpec(
                name="公民身份号码",
                english_name="id_number",
                data_type=FieldType.STRING,
                length=18,
                is_key=True,
                is_personal=True,
                grade=Grade.GENERAL_3,
                rules=["not_null", "ric"],
            ),
            FieldSpec(
                name="姓名", english_name="name", data_type=FieldType.STRING, is_personal=True
            ),
        ],
        "share_type": ShareType.CONDITIONAL,
        "share_condition": "用于社会保障待遇资格认证",
        "share_methods": [ShareMethod.API],
        "open_type": OpenType.NONE,
        "legal_basis": "《中华人民共和国个人信息保护法》第二十八条",
        "update_cycle": UpdateCycle.DAILY,
        "related": [MIGRATION],
    }
    values.update(changes)
    return ResourceSpec(**values)


def simple(
    code: str, name: str, department: str, open_type: OpenType, **extra: Any
) -> ResourceSpec:
    return ResourceSpec(
        code=code,
        name=name,
        department_code=department,
        summary=extra.pop("summary", ""),
        fields=[FieldSpec(name="统计年度", english_name="year", data_type=FieldType.INTEGER)],
        share_type=ShareType.UNCONDITIONAL,
        share_methods=[ShareMethod.FILE],
        open_type=open_type,
        open_condition="签署数据使用协议" if open_type is OpenType.CONDITIONAL else "",
        **extra,
    )


def publish(session: Any, ctx: service.CatalogContext, spec: ResourceSpec) -> None:
    if service.existing_codes(session, [spec.code]):
        service.update_resource(session, code=spec.code, spec=spec, reason="增加户籍地址", ctx=ctx)
    else:
        service.create_resource(session, spec=spec, ctx=ctx)
    service.submit(session, code=spec.code, reason="", ctx=ctx)
    service.review(session, code=spec.code, approve=True, reason="同意", ctx=ctx)


@pytest.fixture
def catalog(platform: Platform) -> None:
    """Three departments; three published resources (one changed once) and one draft."""
    ctx = service.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="DSJ")
    with platform.db.session_scope() as session:
        for code, name in (
            ("GA", "榕城市公安局"),
            ("SCJ", "榕城市市场监督管理局"),
            ("DSJ", "榕城市大数据管理局"),
        ):
            identity.create_department(
                session,
                data=DepartmentCreate(code=code, name=name, region_code="350100"),
                actor=SYSTEM,
                ledger=platform.ledger,
            )
        publish(session, ctx, household())
        changed = household()
        changed.fields.append(
            FieldSpec(name="户籍地址", english_name="address", data_type=FieldType.STRING)
        )
        publish(session, ctx, changed.model_copy(update={"update_cycle": UpdateCycle.WEEKLY}))
        publish(
            session,
            ctx,
            simple(
                MIGRATION,
                "户籍迁移统计",
                "GA",
                OpenType.CONDITIONAL,
                summary="按年统计户籍迁入迁出",
                related=[HOUSEHOLD, COMPANIES],
            ),
        )
        publish(session, ctx, simple(COMPANIES, "企业登记信息", "SCJ", OpenType.UNCONDITIONAL))
        service.create_resource(
            session, spec=simple(DRAFT, "户籍业务草稿", "GA", OpenType.UNCONDITIONAL), ctx=ctx
        )


def total(page: str) -> int:
    found = re.search(r'data-testid="catalog-total" data-total="(\d+)"', page)
    assert found, "the results carry their total"
    return int(found.group(1))


def hits(page: str) -> list[str]:
    return re.findall(r'data-testid="catalog-hit" data-code="([^"]+)"', page)


def facet(page: str, name: str) -> str:
    found = re.search(rf'data-testid="catalog-facet-{name}".*?</section>', page, re.S)
    assert found, f"facet {name} is shown"
    return found.group(0)


# -- console search ---------------------------------------------------------------------------


@pytest.mark.usefixtures("catalog")
def test_console_search_finds_household_records_and_the_department_facet_narrows_it(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("dev", Role.DEVELOPER, department="SCJ")
    login(client, "dev")

    everything = client.get("/console/catalog")
    assert everything.status_code == 200
    assert total(everything.text) == 3  # published only: the draft is not in the shared catalog
    assert DRAFT not in hits(everything.text)

    found = client.get("/console/catalog", params={"q": "户籍"})
    assert total(found.text) == 2
    assert set(hits(found.text)) == {HOUSEHOLD, MIGRATION}
    assert "常住人口户籍信息" in found.text
    departments = facet(found.text, "department")
    assert "榕城市公安局" in departments and "榕城市市场监督管理局" not in departments
    # A facet link keeps the query and adds its value.
    link = re.search(r'href="([^"]*department=GA[^"]*)"', departments)
    assert link and "q=%E6%88%B7%E7%B1%8D" in link.group(1)

    narrowed = client.get("/console/catalog", params={"q": "户籍", "open_type": "conditional"})
    assert hits(narrowed.text) == [MIGRATION]
    # The open-type facet still offers the other value (disjunctive counts) to widen again.
    assert "不予开放" in facet(narrowed.text, "open-type")

    by_department = client.get("/console/catalog", params={"department": "SCJ"})
    assert hits(by_department.text) == [COMPANIES]
    assert 'form="catalog-search-form"' in by_department.text  # a new query keeps the filter

    nothing = client.get("/console/catalog", params={"q": "户籍", "department": "SCJ"})
    assert total(nothing.text) == 0 and 'data-testid="catalog-empty"' in nothing.text


@pytest.mark.usefixtures("catalog")
def test_htmx_gets_only_the_results_and_the_json_twin_agrees(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("dev", Role.DEVELOPER, department="SCJ")
    login(client, "dev")
    partial = client.get(
        "/console/catalog", params={"q": "户籍", "sort": "code"}, headers={"HX-Request": "true"}
    )
    assert partial.status_code == 200
    assert "<html" not in partial.text and 'id="catalog-results"' in partial.text
    assert hits(partial.text) == [HOUSEHOLD, MIGRATION]
    twin = re.search(r'href="([^"]+)" data-testid="catalog-json"', partial.text)
    assert twin
    data = client.get(twin.group(1).replace("&amp;", "&")).json()
    assert [hit["code"] for hit in data["hits"]] == [HOUSEHOLD, MIGRATION]


def test_console_catalog_needs_signing_in(client: TestClient) -> None:
    response = client.get("/console/catalog?q=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=/console/catalog")


# -- a resource --------------------------------------------------------------------------------


@pytest.mark.usefixtures("catalog")
def test_resource_page_shows_fields_rules_grade_and_history_with_a_diff(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("dev", Role.DEVELOPER, department="SCJ")
    login(client, "dev")
    page = client.get(f"/console/catalog/{HOUSEHOLD}").text

    fields = re.search(r'data-testid="resource-fields".*?</table>', page, re.S)
    assert fields
    for text in ("公民身份号码", "id_number", "户籍地址", ">ric<", ">not_null<", "一般数据3级"):
        assert text in fields.group(0), text
    assert "用于社会保障待遇资格认证" in page and "个人信息保护法" in page
    assert f'href="/console/catalog/{MIGRATION}"' in page  # related resources link
    assert 'data-testid="resource-actions"' not in page  # another department: read only

    history = re.search(r'data-testid="resource-history".*?</ol>', page, re.S)
    assert history
    events = re.findall(r'data-action="(\w+)"', history.group(0))
    assert events == ["publish", "submit", "update", "publish", "submit", "create"]
    assert "增加户籍地址" in history.group(0)  # the reason
    # The second publication's diff: the added field and the changed attribute, before → after.
    assert re.search(r"新增信息项.*?<ins[^>]*><strong>户籍地址</strong>", history.group(0), re.S)
    assert re.search(
        r"更新周期.*?<del[^>]*>每日</del>.*?<ins[^>]*>每周</ins>", history.group(0), re.S
    )


@pytest.mark.usefixtures("catalog")
def test_resource_page_speaks_english_on_request(client: TestClient, make_user: MakeUser) -> None:
    make_user("dev", Role.DEVELOPER, department="SCJ")
    login(client, "dev")
    client.cookies.set("rongshu_lang", "en")
    page = client.get(f"/console/catalog/{HOUSEHOLD}").text
    assert "Shared on conditions" in page and "Not open" in page and "General, level 3" in page
    assert "Field added" in page


# -- the steward -------------------------------------------------------------------------------


def form_values(page: str) -> dict[str, Any]:
    """What a browser would post for the edit form as shown (text, choices, ticked boxes)."""
    form = re.search(r'data-testid="resource-form".*?</form>', page, re.S)
    assert form
    html = form.group(0)
    data: dict[str, Any] = {}
    for tag in re.finditer(r"<input([^>]*)>", html):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', tag.group(1)))
        if "name" not in attrs or attrs.get("type") == "file":
            continue
        if attrs.get("type") == "checkbox":
            if " checked" in tag.group(1):
                data.setdefault(attrs["name"], []).append(attrs.get("value", "on"))
            continue
        if attrs.get("type") == "submit":
            continue
        data[attrs["name"]] = _unescape(attrs.get("value", ""))
    for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', select.group(2))
        data[select.group(1)] = chosen.group(1) if chosen else ""
    for area in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[area.group(1)] = _unescape(area.group(2))
    return data


def _unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"').replace("&amp;", "&")
    )


@pytest.mark.usefixtures("catalog")
def test_steward_edit_shows_the_rule_broken_next_to_the_input_then_saves_a_draft(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("ga_steward", Role.DATA_STEWARD, department="GA")
    csrf = login(client, "ga_steward")
    resource = client.get(f"/console/catalog/{HOUSEHOLD}").text
    assert 'data-testid="resource-edit"' in resource

    values = form_values(client.get(f"/console/catalog/{HOUSEHOLD}/edit").text)
    assert (
        values["fields[0].name"] == "公民身份号码" and values["fields[0].rules"] == "not_null、ric"
    )
    assert values["legal_basis"].startswith("《中华人民共和国个人信息保护法》")

    broken = {**values, "csrf_token": csrf, "legal_basis": "", "fields[1].data_type": ""}
    refused = client.post(f"/console/catalog/{HOUSEHOLD}/edit", data=broken)
    assert refused.status_code == 422
    assert 'data-testid="form-errors"' in refused.text
    legal = re.search(r'id="in-legal_basis-error">(.*?)</p>', refused.text, re.S)
    assert legal and "不予开放须注明法律、法规依据" in legal.group(1)
    field_type = re.search(r'id="f1-data_type-error">(.*?)</p>', refused.text, re.S)
    assert field_type and "信息项「姓名」缺少数据类型" in field_type.group(1)
    assert 'name="fields[1].name" id="f1-name" value="姓名"' in refused.text  # input kept
    assert 'aria-describedby="hint-legal_basis in-legal_basis-error"' in refused.text

    fixed = {
        **values,
        "csrf_token": csrf,
        "summary": "榕城市常住人口的户籍登记信息（含户籍地址）",
        "fields[3].name": "联系电话",
        "fields[3].data_type": "string",
        "fields[3].is_personal": "1",
        "fields[3].grade": "general_3",
        "fields[3].rules": "phone",
        "reason": "增加联系电话",
    }
    saved = client.post(f"/console/catalog/{HOUSEHOLD}/edit", data=fixed, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = client.get(saved.headers["location"]).text
    assert 'data-testid="resource-done"' in page
    assert 'data-testid="resource-status">草稿' in page
    pending = re.search(r'data-testid="resource-pending".*?</section>', page, re.S)
    assert pending and "联系电话" in pending.group(0) and "（含户籍地址）" in pending.group(0)
    assert "第 2 版" in pending.group(0)
    # Everyone else still sees published version 2 without the new field.
    client.cookies.clear()
    make_user("dev", Role.DEVELOPER, department="SCJ")
    login(client, "dev")
    assert "联系电话" not in client.get(f"/console/catalog/{HOUSEHOLD}").text


@pytest.mark.usefixtures("catalog")
def test_only_stewards_of_the_department_edit(client: TestClient, make_user: MakeUser) -> None:
    make_user("scj_steward", Role.DATA_STEWARD, department="SCJ")
    csrf = login(client, "scj_steward")
    assert client.get(f"/console/catalog/{HOUSEHOLD}/edit", headers=HTML).status_code == 403
    refused = client.post(
        f"/console/catalog/{HOUSEHOLD}/edit", data={"csrf_token": csrf, "name": "x"}, headers=HTML
    )
    assert refused.status_code == 403
    no_token = client.post(f"/console/catalog/{COMPANIES}/edit", data={"name": "x"}, headers=HTML)
    assert no_token.status_code == 403


@pytest.mark.usefixtures("catalog")
def test_steward_registers_a_new_resource_and_finds_it_in_their_work(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("ga_steward", Role.DATA_STEWARD, department="GA")
    csrf = login(client, "ga_steward")
    blank = client.get("/console/catalog/new").text
    assert re.search(r'class="static-value">榕城市公安局<', blank)  # their own department
    form = form_values(blank)
    assert form["share_type"] == "conditional" and "fields[2].name" in form

    more = client.post("/console/catalog/new", data={**form, "csrf_token": csrf, "add_rows": "1"})
    assert more.status_code == 200 and 'name="fields[7].name"' in more.text  # 3 + 5 rows
    row = client.get("/console/catalog/field-row", params={"index": 8})
    assert 'name="fields[8].name"' in row.text and "field-row?index=9" in row.text

    new = {
        **form,
        "csrf_token": csrf,
        "code": "350100-GA-0100",
        "name": "居住证办理信息",
        "share_condition": "用于公共服务资格核验",
        "share_methods": ["api", "batch"],
        "legal_basis": "《居住证暂行条例》",
        "fields[0].name": "居住证号",
        "fields[0].data_type": "string",
        "fields[0].is_key": "1",
        "fields[2].name": "签发日期",
        "fields[2].data_type": "date",
        "fields[2].length": "abc",
    }
    refused = client.post("/console/catalog/new", data=new)
    assert refused.status_code == 422
    assert re.search(r'id="f2-length-error">\s*<span>请填写正整数', refused.text)

    new["fields[2].length"] = ""
    created = client.post("/console/catalog/new", data=new, follow_redirects=False)
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/console/catalog/350100-GA-0100?done=created"
    mine = client.get("/console/catalog/mine").text
    drafts = re.search(r'data-testid="mine-draft".*?</section>', mine, re.S)
    assert drafts and "居住证办理信息" in drafts.group(0) and "户籍业务草稿" in drafts.group(0)
    page = client.get("/console/catalog/350100-GA-0100").text
    assert "居住证号" in page and "签发日期" in page and "接口、批量交换" in page

    again = client.post("/console/catalog/new", data=new)
    assert again.status_code == 422 and "already registered" in again.text


# -- review ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("catalog")
def test_review_queue_returns_with_reasons_then_approves_and_publishes(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("ga_steward", Role.DATA_STEWARD, department="GA")
    make_user("reviewer", Role.APPROVER, department="DSJ")
    make_user("ga_approver", Role.APPROVER, department="GA")

    csrf = login(client, "ga_steward")
    values = form_values(client.get(f"/console/catalog/{HOUSEHOLD}/edit").text)
    values.update({"csrf_token": csrf, "fields[1].name": "", "fields[1].english_name": ""})
    values.update({"fields[1].data_type": "", "fields[1].delete": "1", "reason": "去掉姓名"})
    assert client.post(f"/console/catalog/{HOUSEHOLD}/edit", data=values).status_code == 200
    submitted = client.post(
        f"/console/catalog/{HOUSEHOLD}/submit", data={"csrf_token": csrf, "reason": "请审核"}
    )
    assert submitted.status_code == 200 and "已提交大数据局审核" in submitted.text
    client.cookies.clear()

    login(client, "ga_approver")
    assert client.get("/console/catalog/review", headers=HTML).status_code == 403
    assert "/console/catalog/review" not in client.get("/console/catalog").text
    client.cookies.clear()

    csrf = login(client, "reviewer")
    queue = client.get("/console/catalog/review").text
    item = re.search(
        rf'data-testid="review-item" data-code="{HOUSEHOLD}".*?</li>\s*</ol>', queue, re.S
    )
    assert item, queue
    assert "与已发布的第 2 版相比" in item.group(0) and "ga_steward" in item.group(0)
    assert re.search(r"删除信息项.*?<del[^>]*><strong>姓名</strong>", item.group(0), re.S)
    assert "请审核" in item.group(0)

    url = f"/console/catalog/{HOUSEHOLD}/review"
    no_reason = client.post(url, data={"csrf_token": csrf, "decision": "return", "reason": " "})
    assert no_reason.status_code == 422 and "退回时请写明原因" in no_reason.text
    returned = client.post(
        url, data={"csrf_token": csrf, "decision": "return", "reason": "姓名不能删除"}
    )
    assert returned.status_code == 200 and f"{HOUSEHOLD} 已退回" in returned.text
    assert 'data-testid="review-empty"' in returned.text
    client.cookies.clear()

    csrf = login(client, "ga_steward")
    page = client.get(f"/console/catalog/{HOUSEHOLD}").text
    assert 'data-testid="resource-status">已退回' in page and "姓名不能删除" in page
    client.post(f"/console/catalog/{HOUSEHOLD}/submit", data={"csrf_token": csrf})
    client.cookies.clear()

    csrf = login(client, "reviewer")
    approved = client.post(url, data={"csrf_token": csrf, "decision": "approve", "reason": ""})
    assert approved.status_code == 200 and "已通过并发布" in approved.text
    page = client.get(f"/console/catalog/{HOUSEHOLD}").text
    assert "第 3 版" in page
    fields = re.search(r'data-testid="resource-fields".*?</table>', page, re.S)
    assert fields and "姓名" not in fields.group(0)


@pytest.mark.usefixtures("catalog")
def test_retiring_needs_a_reason_and_takes_the_resource_out_of_search(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("scj_steward", Role.DATA_STEWARD, department="SCJ")
    csrf = login(client, "scj_steward")
    url = f"/console/catalog/{COMPANIES}/retire"
    refused = client.post(url, data={"csrf_token": csrf, "reason": ""})
    assert refused.status_code == 422 and "请填写停用原因" in refused.text
    retired = client.post(url, data={"csrf_token": csrf, "reason": "并入企业信用信息"})
    assert retired.status_code == 200 and "资源已停用" in retired.text
    assert COMPANIES not in hits(client.get("/console/catalog").text)
    assert client.get(f"/catalog/{COMPANIES}").status_code == 404


# -- import ------------------------------------------------------------------------------------

CSV_HEADER = (
    "资源代码,资源名称,提供部门,共享类型,共享条件,共享方式,开放类型,法律依据,更新周期,"
    "信息项名称,英文名称,数据类型,是否个人信息"
)


@pytest.mark.usefixtures("catalog")
def test_import_page_shows_the_row_by_row_problem_report_then_imports(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("ga_steward", Role.DATA_STEWARD, department="GA")
    csrf = login(client, "ga_steward")
    assert 'data-testid="import-form"' in client.get("/console/catalog/import").text
    bad = "\n".join(
        [
            CSV_HEADER,
            "350100-GA-0200,暂住人员信息,榕城市公安局,随便共享,,接口,不予开放,《条例》,每日,姓名,name,字符型,是",
            "350100-GA-0200,暂住人员信息,榕城市公安局,随便共享,,接口,不予开放,《条例》,每日,证件号,id,字符型,是",
            f"{HOUSEHOLD},重复,榕城市公安局,无条件共享,,接口,不予开放,《条例》,每日,字段,f,字符型,否",
        ]
    )
    refused = client.post(
        "/console/catalog/import",
        data={"csrf_token": csrf},
        files={"file": ("目录.csv", bad.encode("gb18030"), "text/csv")},
    )
    assert refused.status_code == 422
    rows = re.findall(
        r'data-testid="import-problem">\s*<td>(.*?)</td>\s*<td class="num">(.*?)</td>\s*'
        r"<td>(.*?)</td>\s*<td[^>]*>(.*?)</td>",
        refused.text,
        re.S,
    )
    assert ("目录.csv", "2", "共享类型") in [r[:3] for r in rows], rows
    assert any(r[1] == "4" and "已登记" in r[3] for r in rows), rows
    assert "350100-GA-0200" not in client.get("/console/catalog/mine").text  # all or nothing

    good = "\n".join(
        [
            CSV_HEADER,
            "350100-GA-0200,暂住人员信息,榕城市公安局,有条件共享,仅限核验,接口,不予开放,《条例》,每日,姓名,name,字符型,是",
            "350100-GA-0200,暂住人员信息,榕城市公安局,有条件共享,仅限核验,接口,不予开放,《条例》,每日,证件号,id,字符型,是",
        ]
    )
    done = client.post(
        "/console/catalog/import",
        data={"csrf_token": csrf, "submit": "1"},
        files={"file": ("目录.csv", good.encode("utf-8"), "text/csv")},
    )
    assert done.status_code == 200 and 'data-testid="import-result"' in done.text
    assert "已导入 1 个资源、2 个信息项" in done.text
    mine = client.get("/console/catalog/mine").text
    submitted = re.search(r'data-testid="mine-submitted".*?</section>', mine, re.S)
    assert submitted and "暂住人员信息" in submitted.group(0)


# -- the public open catalog -------------------------------------------------------------------


@pytest.mark.usefixtures("catalog")
def test_public_catalog_hides_unopened_and_unpublished_resources(client: TestClient) -> None:
    home = client.get("/").text
    assert 'href="/catalog"' in home

    page = client.get("/catalog")
    assert page.status_code == 200
    assert set(hits(page.text)) == {MIGRATION, COMPANIES}  # not 不予开放, not the draft
    assert "常住人口户籍信息" not in page.text and "户籍业务草稿" not in page.text
    assert hits(client.get("/catalog", params={"q": "户籍"}).text) == [MIGRATION]
    assert 'href="/console/catalog' not in page.text

    for hidden in (HOUSEHOLD, DRAFT, "no-such-code"):
        response = client.get(f"/catalog/{hidden}")
        assert response.status_code == 404 and 'data-testid="error-page"' in response.text

    shown = client.get(f"/catalog/{MIGRATION}")
    assert shown.status_code == 200
    assert (
        "户籍迁移统计" in shown.text
        and "统计年度" in shown.text
        and "签署数据使用协议" in shown.text
    )
    assert "有条件开放" in shown.text
    assert f'href="/api/v1/open-catalog/resources/{MIGRATION}"' in shown.text
    # Related resources are linked only when the public may open them too.
    assert f'href="/catalog/{COMPANIES}"' in shown.text and HOUSEHOLD not in shown.text
