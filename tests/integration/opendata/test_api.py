"""The portal's JSON API: anyone reads datasets, releases and figures; the owning department's
stewards open, release and withdraw."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM
from rongshu.opendata import releases

from ..conftest import MakeUser, sign_in
from .conftest import AIR, FIRMS, Portal, air_rows

API = "/api/v1/opendata"


def test_anyone_reads_datasets_releases_and_figures(portal: Portal, client: TestClient) -> None:
    portal.air(rows=30)
    air = portal.open(AIR, tags=["空气质量"])
    releases.release(portal.platform, air, actor=SYSTEM)
    portal.firms(rows=30)
    firms = portal.open(FIRMS)

    listed = client.get(f"{API}/datasets")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["count"] == 2 and {d["name"] for d in body["data"]} == {air, firms}
    only = client.get(f"{API}/datasets", params={"access": "conditional"}).json()
    assert [d["name"] for d in only["data"]] == [firms]
    tagged = client.get(f"{API}/datasets", params={"tag": "空气质量"}).json()
    assert [d["name"] for d in tagged["data"]] == [air]
    bad = client.get(f"{API}/datasets", params={"theme": "weather"})
    assert bad.status_code == 422 and bad.json()["error"] == "validation_failed"

    one = client.get(f"{API}/datasets/{air}").json()
    assert one["title"] == "空气质量监测数据" and one["department_code"] == "HB"
    assert one["latest"]["rows"] == 30
    urls = {f["format"] + "/" + f["encoding"]: f["url"] for f in one["latest"]["files"]}
    csv_url = urls["csv/utf-8"]
    assert csv_url.startswith(f"http://testserver/datasets/{air}/versions/")
    assert client.get(csv_url).status_code == 200
    assert client.get(f"{API}/datasets/{firms}").json()["latest"] is None
    assert client.get(f"{API}/datasets/nothing").json()["error"] == "not_found"

    history = client.get(f"{API}/datasets/{air}/releases").json()
    assert history["count"] == 1 and history["data"][0]["state"] == "ready"

    stats = client.get(f"{API}/stats").json()
    assert stats == {"datasets": 2, "departments": 2, "downloads": 1, "calls": 0}

    spec = client.get("/api/v1/openapi.json").json()
    for path in (f"{API}/datasets", f"{API}/datasets/{{name}}/release", f"{API}/stats"):
        assert path in spec["paths"]
    assert "/datasets/{name}/versions/{version}/download/{key}" in spec["paths"]


def test_stewards_of_the_owner_open_release_and_withdraw(
    portal: Portal, client: TestClient, make_user: MakeUser
) -> None:
    portal.air(rows=30)
    payload = {"code": AIR, "spec": {"tags": ["空气"], "theme": "environment", "k_anonymity": 5}}
    anonymous = client.post(f"{API}/datasets", json=payload)
    assert anonymous.status_code == 401

    make_user("gxq-steward", Role.DATA_STEWARD, department="GXQ")
    headers = sign_in(portal.platform, client, "gxq-steward")
    other = client.post(f"{API}/datasets", json=payload, headers=headers)
    assert other.status_code == 403 and "another department" in other.json()["message"]

    make_user("hb-steward", Role.DATA_STEWARD, department="HB")
    headers = sign_in(portal.platform, client, "hb-steward")
    opened = client.post(f"{API}/datasets", json=payload, headers=headers)
    assert opened.status_code == 200, opened.text
    name = opened.json()["name"]
    assert opened.json()["tags"] == ["空气"] and opened.json()["latest"] is None
    unpublished = client.post(f"{API}/datasets", json={"code": FIRMS}, headers=headers)
    assert unpublished.status_code == 404  # not in the published catalog: nothing to open

    made = client.post(f"{API}/datasets/{name}/release", headers=headers)
    assert made.status_code == 200, made.text
    first = made.json()
    assert first["state"] == "ready" and first["rows"] == 30
    assert all(f["url"].startswith("http://testserver/datasets/") for f in first["files"])
    again = client.post(f"{API}/datasets/{name}/release", json={}, headers=headers).json()
    assert again["version"] == first["version"]  # once per version

    version = portal.write(AIR, air_rows(45))
    newer = client.post(
        f"{API}/datasets/{name}/release", json={"version": version}, headers=headers
    )
    assert newer.json()["version"] == version and newer.json()["rows"] == 45
    assert client.get(f"{API}/datasets/{name}").json()["latest"]["version"] == version

    no_reason = client.post(f"{API}/datasets/{name}/withdraw", json={"reason": ""}, headers=headers)
    assert no_reason.status_code == 422
    withdrawn = client.post(
        f"{API}/datasets/{name}/withdraw", json={"reason": "监测点位调整"}, headers=headers
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert client.get(f"{API}/datasets/{name}").status_code == 404
    assert client.get(f"{API}/datasets").json()["count"] == 0
    assert client.get(f"/datasets/{name}/download/csv").status_code == 404


def test_only_the_owner_releases(portal: Portal, client: TestClient, make_user: MakeUser) -> None:
    portal.air(rows=10)
    name = portal.open(AIR)
    make_user("gxq-steward", Role.DATA_STEWARD, department="GXQ")
    headers = sign_in(portal.platform, client, "gxq-steward")
    refused = client.post(f"{API}/datasets/{name}/release", headers=headers)
    assert refused.status_code == 403
    assert client.get(f"{API}/datasets/{name}/releases").json()["count"] == 0
