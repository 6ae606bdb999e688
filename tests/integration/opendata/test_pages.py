"""The portal's pages as a visitor sees them: search with facets, a dataset's page (fields,
preview, chart, downloads, counts), conditional data kept behind an application, the home page,
and English through the language switch."""

from __future__ import annotations

import hashlib
import json
import re
from statistics import mean

import pytest
from fastapi.testclient import TestClient

from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM
from rongshu.opendata import charts, releases, service
from rongshu.opendata.models import OpenAccount
from rongshu.opendata.schemas import Theme

from ..conftest import MakeUser, sign_in
from ..exchange.conftest import make_app
from .conftest import AIR, CONDITION, FIRMS, Portal, grant_firms

pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)


def _two_datasets(portal: Portal) -> tuple[str, str]:
    """Air quality (HB, open to all, environment) and the firms (SC, conditional, economy)."""
    portal.air(rows=400)
    air = portal.open(AIR, tags=["空气质量", "环境监测"], featured=True)
    releases.release(portal.platform, air, actor=SYSTEM)
    portal.firms(rows=80)
    firms = portal.open(FIRMS, theme=Theme.ECONOMY, tags=["企业登记"])
    releases.release(portal.platform, firms, actor=SYSTEM)
    return air, firms


def _testid(html: str, testid: str) -> str:
    """The text inside the first element carrying ``data-testid``."""
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)<', html, re.S)
    assert found, f"no element {testid}"
    return found.group(1).strip()


def _hits(html: str) -> list[str]:
    return re.findall(r'data-testid="dataset-hit" data-name="([^"]+)"', html)


def _facet_counts(html: str, facet: str) -> dict[str, int]:
    section = re.search(rf'data-testid="facet-{facet}"(.*?)</section>', html, re.S)
    assert section, f"no facet {facet}"
    pairs = re.findall(
        r'data-value="([^"]+)".*?data-testid="facet-count">([\d,]+)<', section.group(1), re.S
    )
    return {value: int(count.replace(",", "")) for value, count in pairs}


def test_search_with_facets_narrows_results_and_counts(portal: Portal, client: TestClient) -> None:
    air, firms = _two_datasets(portal)

    everything = client.get("/datasets")
    assert everything.status_code == 200
    assert sorted(_hits(everything.text)) == sorted([air, firms])
    assert 'data-testid="dataset-search"' in everything.text
    assert _facet_counts(everything.text, "organization") == {"HB": 1, "SC": 1}
    # Departments are shown by name, and the conditional one carries its badge.
    assert "HB 局" in everything.text and "有条件开放" in everything.text

    narrowed = client.get("/datasets", params={"organization": "HB"})
    assert _hits(narrowed.text) == [air]
    assert _testid(narrowed.text, "dataset-total").startswith("共 1 个")
    assert _facet_counts(narrowed.text, "groups") == {"environment": 1}
    chip = re.search(r'class="chip chip-remove" href="([^"]+)"', narrowed.text)
    assert chip and "organization" not in chip.group(1)  # removing the filter drops it

    both = client.get("/datasets?organization=HB&organization=SC&groups=economy")
    assert _hits(both.text) == [firms]  # OR within a facet, AND across facets

    by_words = client.get("/datasets", params={"q": "空气"})
    assert _hits(by_words.text) == [air]

    nothing = client.get("/datasets", params={"q": "空气", "access": "conditional"})
    assert _hits(nothing.text) == [] and 'data-testid="dataset-empty"' in nothing.text

    twin = client.get("/datasets.json", params={"access": "conditional"}).json()
    assert twin["count"] == 1 and [d["name"] for d in twin["datasets"]] == [firms]
    organizations = {i["value"]: i for i in twin["facets"]["organization"]}
    assert organizations["SC"]["label"] == "SC 局" and organizations["SC"]["count"] == 1

    fragment = client.get("/datasets?organization=SC", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and _hits(fragment.text) == [firms]


def test_dataset_page_shows_fields_preview_chart_downloads_and_counts_views(
    portal: Portal, client: TestClient
) -> None:
    rows = portal.air(rows=400)
    name = portal.open(AIR, tags=["空气质量"])
    made = releases.release(portal.platform, name, actor=SYSTEM)

    page = client.get(f"/datasets/{name}")
    assert page.status_code == 200
    html = page.text
    assert _testid(html, "dataset-title") == "空气质量监测数据"
    assert _testid(html, "dataset-department") == "HB 局"
    fields = re.search(r'data-testid="dataset-fields"(.*?)</table>', html, re.S)
    assert fields and "PM2.5浓度" in fields.group(1) and "<code>pm25</code>" in fields.group(1)

    preview = re.search(r'data-testid="dataset-preview"(.*?)</table>', html, re.S)
    assert preview, "an open dataset shows its first rows"
    body = preview.group(1).split("<tbody>")[1]
    assert body.count("<tr>") == 20
    assert "鼓楼五四北" in body and "台江紫阳" in body

    chart = re.search(r'<div class="chart" data-testid="dataset-chart"[^>]*>', html, re.S)
    assert chart and 'data-chart-type="line"' in chart.group(0)
    assert "vendor/echarts.min.js" in html

    for key in ("csv", "xlsx", "json", "parquet", "csv-gb18030"):
        link = re.search(rf'href="([^"]+)" download data-testid="download-{key}"', html)
        assert link and link.group(1) == f"/datasets/{name}/versions/{made.version}/download/{key}"
    csv_file = next(f for f in made.files if f.format.value == "csv" and f.encoding == "utf-8")
    assert csv_file.sha256 in html
    assert f"package_show?id={name}" in html and "datastore_search" in html
    assert "import requests" in html

    assert _testid(html, "count-views") == "1"
    again = client.get(f"/datasets/{name}")
    assert _testid(again.text, "count-views") == "2"
    with portal.platform.db.session_scope() as session:
        assert service.get_dataset(session, name).views == 2
    twin = client.get(f"/datasets/{name}.json").json()
    assert twin["name"] == name and twin["views"] == 2 and twin["latest"]["rows"] == 400

    # The chart: PM2.5 averaged per hour over the four stations (100 hours of readings).
    points = client.get(f"/datasets/{name}/chart.json").json()
    assert points["kind"] == "line" and points["measure"] == "pm25"
    assert points["bucket"] == "hour" and len(points["x"]) == 100
    assert points["x"][0] == "2026-10-01 08:00"  # 00:00 UTC is 08:00 in Beijing
    assert points["y"][0] == round(mean(r["pm25"] for r in rows[:4]), 2)
    aqi = client.get(f"/datasets/{name}/chart.json", params={"measure": "aqi"}).json()
    assert aqi["measure"] == "aqi" and aqi["y"][1] == round(mean(r["aqi"] for r in rows[4:8]), 2)


def test_chart_suits_the_data_or_is_left_out(portal: Portal) -> None:
    """Without a time column, a small category column gives bars; nothing suitable, nothing."""
    portal.firms(rows=80)
    name = portal.open(FIRMS)
    made = releases.release(portal.platform, name, actor=SYSTEM)
    path = releases.release_file(portal.platform.settings, name, made.version, "parquet")
    plan = charts.plan_chart(path, made.fields)
    assert plan is not None and plan.kind == "bar" and not plan.measures
    bars = charts.chart_data(path, plan)
    assert bars["aggregate"] == "count" and sum(bars["y"]) == 80
    assert 2 <= len(bars["x"]) <= charts.MAX_CATEGORIES

    unique_names = [f for f in made.fields if f.name in ("entity_id", "firm_name")]
    assert charts.plan_chart(path, unique_names) is None


def test_conditional_dataset_hides_rows_from_anonymous_visitors(
    portal: Portal, client: TestClient, make_user: MakeUser
) -> None:
    portal.firms(rows=80)
    name = portal.open(FIRMS)
    releases.release(portal.platform, name, actor=SYSTEM)

    page = client.get(f"/datasets/{name}")
    assert page.status_code == 200
    html = page.text
    assert CONDITION in html
    assert f'href="/datasets/{name}/apply" data-testid="apply"' in html
    assert 'data-testid="dataset-preview"' not in html
    assert 'data-testid="download-csv"' not in html
    assert 'data-testid="dataset-chart"' not in html
    assert "请登录并申请" in _testid(html, "preview-hidden")
    assert 'data-testid="dataset-fields"' in html  # the field dictionary stays public
    refused = client.get(f"/datasets/{name}/chart.json")
    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"

    # A member whose account's app holds a grant in force reads the rows.
    make_user("reader", Role.PUBLIC_USER)
    app_id, _, _ = make_app(portal.platform, "GXQ", "公众账户应用")
    with portal.platform.db.session_scope() as session:
        user_id = identity.get_user(session, "reader").id
        session.add(
            OpenAccount(
                user_id=user_id, contact="r@example.cn", contact_kind="email", app_id=app_id
            )
        )
    sign_in(portal.platform, client, "reader")
    assert 'data-testid="dataset-preview"' not in client.get(f"/datasets/{name}").text
    grant_firms(portal.platform, app_id)
    granted = client.get(f"/datasets/{name}").text
    assert 'data-testid="dataset-preview"' in granted and 'data-testid="download-csv"' in granted


def test_portal_home_shows_counts_and_featured_datasets(portal: Portal, client: TestClient) -> None:
    air, firms = _two_datasets(portal)
    home = client.get("/")
    assert home.status_code == 200
    assert _testid(home.text, "stat-datasets") == "2"
    assert _testid(home.text, "stat-open-apis") == "2"
    featured = re.findall(r'data-testid="featured-dataset" data-name="([^"]+)"', home.text)
    assert featured[0] == air and set(featured) == {air, firms}
    assert 'href="/objection"' in home.text and 'href="/datasets"' in home.text


def test_pages_speak_english_after_the_language_switch(portal: Portal, client: TestClient) -> None:
    air, _ = _two_datasets(portal)
    chinese = client.get(f"/datasets/{air}")
    assert '<html lang="zh-CN"' in chinese.text and "数据项" in chinese.text
    switched = client.get(f"/prefs?lang=en&next=/datasets/{air}")
    assert switched.url.path == f"/datasets/{air}"
    english = switched.text
    assert '<html lang="en"' in english
    assert "Field dictionary" in english and "Downloads" in english and "Preview" in english
    assert "Environment and resources" in english and "数据项" not in english
    search = client.get("/datasets").text
    assert "Department" in search and "Conditional (apply to use)" in search


def test_dataset_page_carries_schema_org_dataset_markup(portal: Portal, client: TestClient) -> None:
    air, _ = _two_datasets(portal)
    page = client.get(f"/datasets/{air}")
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page.text, re.S)
    assert found, "the page embeds JSON-LD"
    described = json.loads(found.group(1))
    assert (described["@context"], described["@type"]) == ("https://schema.org/", "Dataset")
    assert described["url"].endswith(f"/datasets/{air}") and described["isAccessibleForFree"]
    assert described["license"].startswith("https://")
    downloads = {d["encodingFormat"]: d for d in described["distribution"]}
    assert {"CSV", "Excel", "JSON", "Parquet"} <= set(downloads)
    csv_file = client.get(downloads["CSV"]["contentUrl"].replace("http://testserver", ""))
    assert csv_file.status_code == 200
    assert hashlib.sha256(csv_file.content).hexdigest() in {
        d["sha256"] for d in described["distribution"]
    }
