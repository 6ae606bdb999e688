"""CKAN's Action API: the envelope, each action, CKAN's error form, fq and facets, the
datastore's paging, and conditional datasets behind the exchange gateway."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from rongshu.core.audit.models import AuditEntry
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.exchange.schemas import Condition
from rongshu.opendata import releases
from rongshu.opendata import service as opendata
from rongshu.opendata.ckan_shapes import ckan_id
from rongshu.opendata.schemas import Licence, Theme
from rongshu.web.app import create_app

from ..exchange.conftest import make_app
from .conftest import AIR, FIRMS, Portal, grant_firms

ACTION = "/api/3/action"


@dataclass
class Site:
    platform: Platform
    client: TestClient
    air: str
    firms: str
    air_rows: list[dict[str, Any]]


def open_site(portal: Portal) -> Iterator[Site]:
    air_rows = portal.air(rows=120)
    air = portal.open(
        AIR,
        title="空气质量小时监测数据",
        tags=["空气质量", "环境"],
        theme=Theme.ENVIRONMENT,
        licence=Licence.CC_BY_4,
        spatial="榕城市",
    )
    portal.firms(rows=40)
    firms = portal.open(
        FIRMS,
        title="企业登记信息",
        tags=["企业", "环境"],
        theme=Theme.ECONOMY,
        licence=Licence.CC_ZERO,
    )
    for name in (air, firms):
        releases.release(portal.platform, name, actor=SYSTEM)
    with TestClient(create_app(portal.platform.settings, platform=portal.platform)) as client:
        yield Site(portal.platform, client, air, firms, air_rows)


@pytest.fixture
def site(portal: Portal) -> Iterator[Site]:
    yield from open_site(portal)


def ok(response: Response, action: str) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["help"].endswith(f"/api/3/action/help_show?name={action}")
    return body["result"]


def failed(response: Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and "help" in body
    assert "ok" not in body and "Traceback" not in response.text  # CKAN's form, not rongshu's
    assert body["error"]["__type"] == kind
    error: dict[str, Any] = body["error"]
    return error


def test_each_action_answers_in_ckans_envelope(site: Site) -> None:
    client = site.client
    status = ok(client.get(f"{ACTION}/status_show"), "status_show")
    assert status["ckan_version"].startswith("2.10") and "datastore" in status["extensions"]
    assert status["locale_default"] == "zh_Hans_CN"

    assert ok(client.get(f"{ACTION}/package_list"), "package_list") == sorted(
        [site.air, site.firms]
    )
    assert ok(
        client.post(f"{ACTION}/package_list", json={"limit": 1, "offset": 1}), "package_list"
    ) == [sorted([site.air, site.firms])[1]]

    pkg = ok(client.get(f"{ACTION}/package_show", params={"id": site.air}), "package_show")
    assert pkg["id"] == ckan_id("package", site.air) and pkg["name"] == site.air
    assert (pkg["title"], pkg["type"], pkg["state"], pkg["private"]) == (
        "空气质量小时监测数据",
        "dataset",
        "active",
        False,
    )
    assert pkg["organization"]["name"] == "hb" and pkg["organization"]["is_organization"]
    assert pkg["owner_org"] == pkg["organization"]["id"]
    assert pkg["groups"][0]["name"] == "environment" and pkg["groups"][0]["title"] == "资源环境"
    assert [t["name"] for t in pkg["tags"]] == ["空气质量", "环境"] and pkg["num_tags"] == 2
    assert pkg["license_id"] == "cc-by-4.0" and pkg["license_url"].startswith("https://")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", pkg["metadata_modified"])
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["access"] == "unconditional" and extras["spatial_text"] == "榕城市"
    assert extras["rows"] == "120"
    by_id = {r["id"]: r for r in pkg["resources"]}
    csv = by_id[f"{site.air}.csv"]
    assert pkg["num_resources"] == len(pkg["resources"]) >= 4
    assert (csv["format"], csv["mimetype"], csv["name"]) == (
        "CSV",
        "text/csv",
        "空气质量小时监测数据 (CSV)",
    )
    assert csv["url"].startswith("http://testserver/datasets/")
    assert re.search(rf"/{site.air}/versions/\d+/download/csv$", csv["url"])
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", csv["hash"]) and csv["size"] > 0
    assert [r["id"] for r in pkg["resources"] if r["datastore_active"]] == [f"{site.air}.csv"]
    assert {r["format"] for r in pkg["resources"]} == {"CSV", "XLSX", "JSON", "Parquet"}

    for ident in (pkg["id"], AIR):  # the id and the resource code find it too
        assert (
            ok(client.post(f"{ACTION}/package_show", json={"id": ident}), "package_show")["name"]
            == site.air
        )

    resource = ok(client.get(f"{ACTION}/resource_show?id={site.air}.xlsx"), "resource_show")
    assert resource["format"] == "XLSX" and resource["package_id"] == pkg["id"]

    # by title (the default sort): "HB 局" before "SC 局"
    assert ok(client.get(f"{ACTION}/organization_list"), "organization_list") == ["hb", "sc"]
    orgs = ok(
        client.get(f"{ACTION}/organization_list?all_fields=true&sort=name%20asc"),
        "organization_list",
    )
    assert [(o["name"], o["package_count"]) for o in orgs] == [("hb", 1), ("sc", 1)]
    org = ok(
        client.get(f"{ACTION}/organization_show?id=hb&include_datasets=true"), "organization_show"
    )
    assert org["package_count"] == 1 and [p["name"] for p in org["packages"]] == [site.air]

    assert ok(client.get(f"{ACTION}/group_list?sort=name"), "group_list") == [
        "economy",
        "environment",
    ]
    themes = ok(client.get(f"{ACTION}/group_list?all_fields=1"), "group_list")
    assert {(g["name"], g["title"], g["package_count"]) for g in themes} == {
        ("economy", "经济建设", 1),
        ("environment", "资源环境", 1),
    }
    assert ok(client.get(f"{ACTION}/tag_list"), "tag_list") == sorted(["空气质量", "环境", "企业"])
    assert ok(client.get(f"{ACTION}/tag_list", params={"query": "空气"}), "tag_list") == [
        "空气质量"
    ]
    help_text = ok(client.get(f"{ACTION}/help_show?name=datastore_search"), "help_show")
    assert "resource_id" in help_text


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_package_search_filters_counts_facets_and_pages(site: Site) -> None:
    client = site.client

    def search(**params: Any) -> dict[str, Any]:
        result: dict[str, Any] = ok(
            client.get(f"{ACTION}/package_search", params=params), "package_search"
        )
        return result

    def names(result: dict[str, Any]) -> list[str]:
        return [p["name"] for p in result["results"]]

    everything = search()
    assert everything["count"] == 2 and everything["sort"] == "score desc, metadata_modified desc"
    assert names(search(q="空气")) == [site.air]
    assert names(search(q="*:*", sort="name desc")) == sorted([site.air, site.firms], reverse=True)
    assert names(search(fq="organization:hb")) == [site.air]
    assert names(search(fq="+owner_org:" + ckan_id("organization", "SC"))) == [site.firms]
    assert search(fq='tags:"环境"')["count"] == 2
    assert names(search(fq="tags:环境 AND tags:企业")) == [site.firms]  # every clause holds
    assert search(fq="tags:(空气质量 OR 企业)")["count"] == 2
    assert names(search(fq="tags:环境", fq_list="tags:企业")) == [site.firms]
    assert names(search(fq="groups:environment res_format:XLSX")) == [site.air]
    assert names(search(fq="access:conditional")) == [site.firms]
    assert search(fq="organization:hb organization:sc")["count"] == 0
    assert search(fq="dataset_type:dataset license_id:cc-zero")["count"] == 1

    paged = search(sort="name asc", rows=1, start=1)
    assert paged["count"] == 2 and names(paged) == [sorted([site.air, site.firms])[1]]

    faceted = search(
        **{"facet.field": json.dumps(["organization", "tags", "res_format", "access"])},
        fq="tags:环境",
    )
    facets = faceted["facets"]
    assert facets["organization"] == {"hb": 1, "sc": 1}
    assert facets["tags"] == {"环境": 2, "空气质量": 1, "企业": 1}
    assert facets["res_format"]["XLSX"] == 2 and facets["access"]["conditional"] == 1
    orgs = {i["name"]: i for i in faceted["search_facets"]["organization"]["items"]}
    assert orgs["hb"]["display_name"] == "HB 局" and orgs["hb"]["count"] == 1
    access = {i["name"]: i["display_name"] for i in faceted["search_facets"]["access"]["items"]}
    assert access == {"unconditional": "无条件开放", "conditional": "有条件开放"}

    narrowed = ok(
        client.post(
            f"{ACTION}/package_search",
            json={"q": "企业", "facet.field": ["organization"], "facet.limit": 5},
        ),
        "package_search",
    )
    assert narrowed["count"] == 1 and narrowed["facets"]["organization"] == {"sc": 1}


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_errors_come_in_ckans_form(site: Site) -> None:
    client = site.client
    missing = failed(
        client.get(f"{ACTION}/package_show?id=no-such-dataset"), 404, "Not Found Error"
    )
    assert missing["message"].startswith("Not found: ") and "no-such-dataset" in missing["message"]
    failed(client.get(f"{ACTION}/resource_show?id={site.air}.docx"), 404, "Not Found Error")
    failed(client.get(f"{ACTION}/organization_show?id=nope"), 404, "Not Found Error")

    bad_fq = failed(client.get(f"{ACTION}/package_search?fq=name:foo"), 409, "Validation Error")
    assert "name" in bad_fq["fq"][0]
    failed(client.get(f'{ACTION}/package_search?fq=tags:"unclosed'), 409, "Validation Error")
    rows = failed(client.get(f"{ACTION}/package_search?rows=1001"), 409, "Validation Error")
    assert "1000" in rows["rows"][0]
    failed(client.get(f"{ACTION}/package_search?rows=ten"), 409, "Validation Error")
    sort = failed(client.get(f"{ACTION}/package_search?sort=secret%20asc"), 409, "Validation Error")
    assert "secret" in sort["sort"][0]
    facet = failed(
        client.get(f"{ACTION}/package_search", params={"facet.field": '["nope"]'}),
        409,
        "Validation Error",
    )
    assert "nope" in facet["facet.field"][0]
    assert failed(client.get(f"{ACTION}/package_show"), 409, "Validation Error")["id"]

    unknown = failed(client.get(f"{ACTION}/package_delete"), 400, "Bad Request")
    assert unknown["message"] == "Bad request - Action name not known: package_delete"
    broken = failed(
        client.post(
            f"{ACTION}/package_list",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        ),
        400,
        "Bad Request",
    )
    assert "JSON" in broken["message"]

    too_many = failed(
        client.get(f"{ACTION}/datastore_search?resource_id={site.air}.csv&limit=32001"),
        409,
        "Validation Error",
    )
    assert "32000" in too_many["limit"][0]
    failed(
        client.get(f"{ACTION}/datastore_search", params={"resource_id": site.air, "filters": "{x"}),
        409,
        "Validation Error",
    )
    failed(client.get(f"{ACTION}/datastore_search?resource_id=nothing.csv"), 404, "Not Found Error")


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_datastore_search_filters_pages_and_counts_calls(site: Site) -> None:
    client = site.client
    resource = f"{site.air}.csv"

    first = ok(
        client.get(f"{ACTION}/datastore_search", params={"resource_id": resource, "limit": 50}),
        "datastore_search",
    )
    assert first["total"] == 120 and len(first["records"]) == 50
    assert first["fields"][0] == {"id": "_id", "type": "int"}
    assert [r["reading_id"] for r in first["records"]] == [
        r["reading_id"] for r in site.air_rows[:50]
    ]
    assert (
        first["_links"]["start"]
        == f"/api/3/action/datastore_search?resource_id={resource}&limit=50"
    )
    assert first["_links"]["next"].endswith("&offset=50")
    second = ok(client.get(first["_links"]["next"]), "datastore_search")
    assert second["offset"] == 50 and second["records"][0]["_id"] == 51

    filtered = ok(
        client.get(
            f"{ACTION}/datastore_search",
            params={
                "resource_id": site.air,  # the dataset's name works too
                "filters": json.dumps({"station_code": ["S01", "S02"]}),
                "q": json.dumps({"station_name": "紫阳"}),
                "fields": "reading_id,station_code,aqi",
                "sort": "aqi desc",
            },
        ),
        "datastore_search",
    )
    want = sorted((r for r in site.air_rows if r["station_code"] == "S02"), key=lambda r: -r["aqi"])
    assert filtered["total"] == len(want) == 30
    assert [r["aqi"] for r in filtered["records"]] == [r["aqi"] for r in want]
    assert list(filtered["records"][0]) == ["reading_id", "station_code", "aqi"]
    assert filtered["filters"] == {"station_code": ["S01", "S02"]}

    posted = ok(
        client.post(
            f"{ACTION}/datastore_search",
            json={
                "resource_id": resource,
                "filters": {"district": "350103"},
                "q": "紫阳",
                "limit": 5,
                "offset": 5,
                "include_total": False,
            },
        ),
        "datastore_search",
    )
    assert "total" not in posted and len(posted["records"]) == 5
    assert all(r["station_name"] == "台江紫阳" for r in posted["records"])
    assert "offset=10" in posted["_links"]["next"] and "resource_id=" in posted["_links"]["next"]

    with site.platform.db.session_scope() as session:
        assert opendata.get_dataset(session, site.air).calls == 4


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_conditional_data_needs_a_granted_key(site: Site) -> None:
    client, platform = site.client, site.platform
    shown = ok(client.get(f"{ACTION}/package_show?id={site.firms}"), "package_show")
    assert shown["access"] == "conditional"  # the metadata is open to everyone
    resource = next(r["id"] for r in shown["resources"] if r["datastore_active"])
    url = f"{ACTION}/datastore_search?resource_id={resource}&limit=10"

    refused = failed(client.get(url), 403, "Authorization Error")
    assert f"/datasets/{site.firms}" in refused["message"]

    app_id, api_key, _ = make_app(platform, department="MZ", name="企业研究")
    denied = failed(client.get(url, headers={"Authorization": api_key}), 403, "Authorization Error")
    assert "grant" in denied["message"] and f"/datasets/{site.firms}" in denied["message"]
    failed(client.get(url, headers={"Authorization": "rsk_x_y"}), 403, "Authorization Error")

    grant_firms(platform, app_id)
    granted = ok(client.get(url, headers={"Authorization": api_key}), "datastore_search")
    assert granted["total"] == 40 and len(granted["records"]) == 10
    assert "legal_rep" not in {f["id"] for f in granted["fields"]}
    also = ok(client.get(url, headers={"X-API-Key": api_key}), "datastore_search")
    assert also["records"] == granted["records"]

    platform.ledger.flush()
    with platform.db.session_scope() as session:
        outcomes = list(
            session.scalars(
                select(AuditEntry.outcome).where(
                    AuditEntry.action == "exchange.open_data", AuditEntry.app == "企业研究"
                )
            )
        )
        calls = opendata.get_dataset(session, site.firms).calls
    assert outcomes.count("ok") == 2 and "denied" in outcomes
    assert calls == 2


def test_a_grant_of_some_fields_and_rows_sees_only_those(site: Site) -> None:
    client, platform = site.client, site.platform
    app_id, api_key, _ = make_app(platform, department="MZ", name="鼓楼企业研究")
    district = Condition(column="district", value="350102")
    grant_firms(platform, app_id, ["entity_id", "firm_name", "district"], [district])
    headers = {"Authorization": api_key}
    url = f"{ACTION}/datastore_search?resource_id={site.firms}"

    page = ok(client.get(url, headers=headers), "datastore_search")
    assert [f["id"] for f in page["fields"]] == ["_id", "entity_id", "firm_name", "district"]
    in_district = sum(1 for n in range(40) if (n // 4) % 4 == 0)  # firm_rows' districts
    assert page["total"] == in_district and {r["district"] for r in page["records"]} == {"350102"}
    # The other rows do not answer a filter or a search either.
    elsewhere = f'{url}&filters={{"district":"350103"}}'
    assert ok(client.get(elsewhere, headers=headers), "datastore_search")["total"] == 0
    # Fields outside the grant can be neither read nor used to filter, search or sort.
    for asked in (
        "&fields=entity_id,industry",
        '&filters={"industry":"批发业"}',
        '&q={"industry":"批发"}',
        "&sort=industry desc",
    ):
        failed(client.get(url + asked, headers=headers), 409, "Validation Error")
    searched = ok(client.get(f"{url}&q=批发", headers=headers), "datastore_search")
    assert searched["total"] == 0  # industry is not searched for this caller
