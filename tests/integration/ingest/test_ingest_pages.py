"""The ingest console pages through the in-process client, as a steward uses them: attach a
source (upload, or a database address), preview and map it, run it, see its loads and rejected
rows, read a version's rows; and the console home's volumes and failing-source alerts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.core.audit.models import AuditEntry
from rongshu.core.identity.roles import Role
from rongshu.core.platform import Platform

from ..conftest import MakeUser, sign_in
from .test_ingest_api import BAD_DATE, REGISTRY, registry_csv

HTML = {"Accept": "text/html"}
SOURCE = f"/console/ingest/sources/{REGISTRY}/registry-file"


def steward(platform: Platform, client: TestClient, make_user: MakeUser) -> str:
    """Sign in GA's data steward; returns the CSRF token the forms carry."""
    headers = sign_in(platform, client, make_user("ga_steward", Role.DATA_STEWARD, department="GA"))
    return headers["X-CSRF-Token"]


def attach(
    client: TestClient,
    csrf: str,
    *,
    origin: str = "file",
    file: tuple[str, bytes] | None = None,
    **values: str,
) -> Any:
    form = {
        "csrf_token": csrf,
        "resource_code": REGISTRY,
        "name": "registry-file",
        "origin": origin,
        "mode": "snapshot",
        **values,
    }
    files = {"file": (file[0], file[1], "text/csv")} if file else None
    return client.post(
        "/console/ingest/attach", data=form, files=files, headers=HTML, follow_redirects=False
    )


def mapping_choices(page: str) -> dict[str, str]:
    """The column each field's select has chosen on the mapping page."""
    chosen = {}
    for name, body in re.findall(r'name="map\.([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        found = re.search(r'<option value="([^"]*)" selected>', body)
        chosen[name] = found.group(1) if found else ""
    return chosen


def test_steward_attaches_a_file_maps_it_runs_it_and_reads_the_version(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    csrf = steward(platform, client, make_user)
    form = client.get("/console/ingest/attach", headers=HTML)
    assert form.status_code == 200 and f'value="{REGISTRY}"' in form.text
    data, rows = registry_csv(city, bad_row=3)

    attached = attach(client, csrf, file=("户籍人口 2024.csv", data))
    assert attached.status_code == 303, attached.text
    assert attached.headers["location"] == f"{SOURCE}/mapping"
    stored = list((platform.settings.data_dir / "uploads" / "GA").iterdir())
    assert len(stored) == 1 and stored[0].name.endswith("-户籍人口_2024.csv")

    page = client.get(f"{SOURCE}/mapping", headers=HTML)
    assert page.status_code == 200
    assert f'<td class="nowrap">{rows[0]["person_id"]}</td>' in page.text  # the first rows
    choices = mapping_choices(page.text)
    assert choices["person_id"] == "person_id" and choices["birth_date"] == "birth_date"

    # Leave the phone out; a key field left without a column is refused beside its select.
    posted = {"csrf_token": csrf, **{f"map.{k}": v for k, v in choices.items()}, "map.phone": ""}
    refused = client.post(f"{SOURCE}/mapping", data={**posted, "map.person_id": ""}, headers=HTML)
    assert refused.status_code == 422
    assert "is required but has no source column" in refused.text
    saved = client.post(f"{SOURCE}/mapping", data=posted, headers=HTML, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"{SOURCE}?done=mapped"
    assert mapping_choices(client.get(f"{SOURCE}/mapping", headers=HTML).text)["phone"] == ""

    run = client.post(
        f"{SOURCE}/run", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert run.status_code == 303 and run.headers["location"].endswith("?done=ran")
    load = client.get(run.headers["location"], headers=HTML)
    assert load.status_code == 200 and 'data-testid="ingest-done"' in load.text
    assert f'data-testid="load-written">{len(rows) - 1:,}<' in load.text
    rejected = re.findall(r'<tr data-testid="rejected-row">(.*?)</tr>', load.text, re.S)
    assert len(rejected) == 1 and ">3<" in rejected[0] and BAD_DATE in rejected[0]

    source = client.get(SOURCE, headers=HTML)
    assert source.status_code == 200 and source.text.count('data-testid="load-row"') == 1
    assert "成功" in source.text  # 状态
    # After a queued "run now" the loads list polls until a load newer than `after` finished.
    assert 'hx-trigger="every 2s"' in client.get(f"{SOURCE}?after=999", headers=HTML).text
    assert 'hx-trigger="every 2s"' not in client.get(f"{SOURCE}?after=0", headers=HTML).text
    assert 'hx-trigger="every 2s"' not in source.text
    listing = client.get("/console/ingest", headers=HTML)
    assert "registry-file" in listing.text and 'data-testid="source-row"' in listing.text
    assert 'data-testid="load-row"' in client.get("/console/ingest/loads", headers=HTML).text

    versions = client.get(f"/console/ingest/resources/{REGISTRY}", headers=HTML)
    assert versions.text.count('data-testid="version-row"') == 1
    version = client.get(
        f"/console/ingest/resources/{REGISTRY}/versions/0", params={"page": 2}, headers=HTML
    )
    assert version.status_code == 200
    assert f"{len(rows) - 1:,}" in version.text  # the version's row count
    written = [r for i, r in enumerate(rows) if i != 2]
    assert written[50]["person_id"] in version.text and written[0]["person_id"] not in version.text

    home = client.get("/console", headers=HTML)
    assert (
        f'data-testid="volume-today" aria-labelledby="volume-today-label">{len(rows) - 1:,}<'
        in (home.text)
    )
    assert "榕城市公安局" in home.text and 'data-testid="failing-sources"' not in home.text


def test_a_bad_database_address_is_explained_in_the_form(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    csrf = steward(platform, client, make_user)
    unreachable = attach(
        client,
        csrf,
        origin="database",
        db_url="postgresql+psycopg://ga_reader:s3cret-Pa55@127.0.0.1:1/registry",
        db_table="ga_household_registry",
    )
    assert unreachable.status_code == 422
    assert "cannot reach the database" in unreachable.text
    assert "s3cret-Pa55" not in unreachable.text  # not even in the address shown again
    assert 'id="in-db_url-error"' in unreachable.text  # beside the address input
    malformed = attach(client, csrf, origin="database", db_url="ga-db:5432", db_table="t")
    assert malformed.status_code == 422 and "not a database URL" in malformed.text
    missing = attach(client, csrf, origin="database")
    assert missing.status_code == 422
    assert "请填写地址" in missing.text and "请填写表名或查询语句" in missing.text
    server_file = attach(
        client, csrf, origin="database", db_url="sqlite:////etc/passwd", db_table="t"
    )
    assert server_file.status_code == 422 and "SQLite" in server_file.text
    assert client.get("/api/v1/ingest/sources").json()["count"] == 0


def test_an_upload_over_the_limit_is_refused_in_the_form(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    csrf = steward(platform, client, make_user)
    platform.settings.ingest_upload_max_mb = 1
    refused = attach(client, csrf, file=("big.csv", b"a,b\n" + b"1,2\n" * 300_000))
    assert refused.status_code == 413 and "文件超过 1 MB" in refused.text
    uploads = platform.settings.data_dir / "uploads" / "GA"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert attach(client, csrf).status_code == 422  # no file chosen: said, not crashed


def test_another_departments_steward_is_refused_and_audited(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    csrf = steward(platform, client, make_user)
    data, _ = registry_csv(city)
    assert attach(client, csrf, file=("registry.csv", data)).status_code == 303
    client.post(f"{SOURCE}/run", data={"csrf_token": csrf}, headers=HTML)

    other = sign_in(platform, client, make_user("rs_steward", Role.DATA_STEWARD, department="RS"))
    token = other["X-CSRF-Token"]
    for method, url in (
        ("GET", SOURCE),
        ("GET", f"{SOURCE}/mapping"),
        ("POST", f"{SOURCE}/run"),
        ("GET", "/console/ingest/loads/1"),
        ("GET", f"/console/ingest/resources/{REGISTRY}/versions/0"),
    ):
        response = client.request(
            method, url, data={"csrf_token": token} if method == "POST" else None, headers=HTML
        )
        assert response.status_code == 403, (method, url)
        assert "没有权限" in response.text
    refused = attach(client, token, file=("registry.csv", data))
    assert refused.status_code == 403
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        denied = set(
            session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.actor == "rs_steward", AuditEntry.outcome == "denied"
                )
            )
        )
    assert denied == {
        "ingest.source_read",
        "ingest.mapping_save",
        "ingest.load_request",
        "ingest.load_read",
        "ingest.version_read",
        "ingest.source_create",
    }


def test_failing_sources_alert_their_stewards_on_the_console_home(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    csrf = steward(platform, client, make_user)
    data, _ = registry_csv(city)
    assert attach(client, csrf, file=("registry.csv", data)).status_code == 303
    stored = next((platform.settings.data_dir / "uploads" / "GA").iterdir())
    stored.unlink()  # the department's file went away before the load
    failed = client.post(
        f"{SOURCE}/run", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert failed.headers["location"] == f"{SOURCE}?done=failed"

    home = client.get("/console", headers=HTML).text
    alert = re.search(r'data-testid="failing-sources">(.*?)</section>', home, re.S)
    assert alert and f'href="{SOURCE}"' in alert.group(1) and "not found" in alert.group(1)
    sign_in(platform, client, make_user("ops", Role.PLATFORM_ADMIN, department="DSJ"))
    assert 'data-testid="failing-source"' in client.get("/console", headers=HTML).text
    sign_in(platform, client, make_user("rs_steward", Role.DATA_STEWARD, department="RS"))
    assert 'data-testid="failing-sources"' not in client.get("/console", headers=HTML).text


def test_pages_speak_english_on_request(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    steward(platform, client, make_user)
    client.cookies.set("rongshu_lang", "en")
    page = client.get("/console/ingest/attach", headers=HTML)
    assert "Attach a source" in page.text and "接入数据源" not in page.text
    assert "Data aggregated" in client.get("/console", headers=HTML).text
