"""Downloads as the public gets them: every version's files hold that version's lake rows,
with checksums a client can check, resumable, counted once; conditional data only with a grant."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from urllib.parse import quote

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.core.audit.models import AuditEntry
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.lake.tables import Lake
from rongshu.opendata import releases
from rongshu.opendata.models import OpenAccount
from rongshu.opendata.schemas import ReleasePublic

from ..conftest import MakeUser, sign_in
from ..exchange.conftest import make_app
from .conftest import AIR, FIRMS, Portal, air_rows, grant_firms

ERROR_KEYS = {"ok", "status", "error", "message", "request_id", "details"}
COLUMNS = ["reading_id", "station_name", "time", "pm25", "aqi"]


def _two_versions(portal: Portal) -> tuple[str, ReleasePublic, ReleasePublic]:
    portal.air(rows=120)
    name = portal.open(AIR, columns=COLUMNS)
    v1 = releases.release(portal.platform, name, actor=SYSTEM)
    portal.write(AIR, air_rows(180, start=500))
    v2 = releases.release(portal.platform, name, actor=SYSTEM)
    assert v1.version != v2.version
    return name, v1, v2


def _lake_rows(platform: Platform, version: int) -> list[tuple[int, str, int]]:
    table = Lake.from_settings(platform.settings).table(AIR).read(version)
    return sorted((r["reading_id"], r["station_name"], r["aqi"]) for r in table.to_pylist())


def _csv_rows(body: bytes, encoding: str = "utf-8-sig") -> list[tuple[int, str, int]]:
    reader = csv.DictReader(io.StringIO(body.decode(encoding)))
    return sorted((int(r["reading_id"]), r["station_name"], int(r["aqi"])) for r in reader)


def _downloads(client: TestClient, name: str) -> int:
    response = client.get(f"/api/v1/opendata/datasets/{name}")
    assert response.status_code == 200, response.text
    return int(response.json()["downloads"])


def _assert_error(response, status: int, code: str) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS and (body["status"], body["error"]) == (status, code)
    return str(body["message"])


def test_every_version_downloads_its_own_lake_rows_with_checksums(
    portal: Portal, client: TestClient
) -> None:
    name, v1, v2 = _two_versions(portal)
    for made in (v1, v2):
        want = _lake_rows(portal.platform, made.version)
        url = f"/datasets/{name}/versions/{made.version}/download"
        got = client.get(f"{url}/csv")
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "text/csv; charset=utf-8"
        assert got.content.startswith(b"\xef\xbb\xbf")  # so Excel reads it as UTF-8
        assert _csv_rows(got.content) == want
        sha = hashlib.sha256(got.content).hexdigest()
        assert got.headers["x-checksum-sha256"] == sha
        assert got.headers["etag"] == f'"{sha}"'
        digest = base64.b64encode(hashlib.sha256(got.content).digest()).decode()
        assert got.headers["digest"] == f"sha-256={digest}"
        disposition = got.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert f'filename="hb-9001-v{made.version}.csv"' in disposition
        assert "filename*=UTF-8''" + quote(f"空气质量监测数据-v{made.version}.csv") in disposition

        parquet = client.get(f"{url}/parquet")
        assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
        table = pq.read_table(io.BytesIO(parquet.content))
        assert table.column_names == COLUMNS
        rows = sorted((r["reading_id"], r["station_name"], r["aqi"]) for r in table.to_pylist())
        assert rows == want
        assert parquet.headers["x-checksum-sha256"] == hashlib.sha256(parquet.content).hexdigest()
        for key, kind in (("json", "application/json"), ("xlsx", "spreadsheetml")):
            other = client.get(f"{url}/{key}")
            assert other.status_code == 200 and kind in other.headers["content-type"]
            assert other.headers["x-checksum-sha256"] == hashlib.sha256(other.content).hexdigest()

        sums = client.get(f"/datasets/{name}/versions/{made.version}/SHA256SUMS")
        assert sums.status_code == 200
        listed = dict(reversed(line.split("  ")) for line in sums.text.splitlines())
        assert listed[f"hb-9001-v{made.version}.csv"] == sha
        assert set(listed) >= {f"hb-9001-v{made.version}.{e}" for e in ("json", "parquet")}

    latest = client.get(f"/datasets/{name}/download/csv")
    assert latest.headers["x-rongshu-version"] == str(v2.version)
    assert _csv_rows(latest.content) == _lake_rows(portal.platform, v2.version)
    assert _downloads(client, name) == 9  # two versions × four files, and the latest csv
    assert _downloads(client, name) == 9  # reading the dataset is not a download


def test_a_resumed_download_gets_the_rest_and_is_counted_once(
    portal: Portal, client: TestClient
) -> None:
    portal.air(rows=200)
    name = portal.open(AIR)
    made = releases.release(portal.platform, name, actor=SYSTEM)
    url = f"/datasets/{name}/versions/{made.version}/download/csv"
    whole = client.get(url).content
    head = client.head(url)
    assert head.status_code == 200 and head.headers["accept-ranges"] == "bytes"
    assert int(head.headers["content-length"]) == len(whole)

    rest = client.get(url, headers={"Range": "bytes=1000-"})
    assert rest.status_code == 206
    assert rest.content == whole[1000:]
    assert rest.headers["content-range"] == f"bytes 1000-{len(whole) - 1}/{len(whole)}"
    assert rest.headers["x-checksum-sha256"] == hashlib.sha256(whole).hexdigest()
    assert _downloads(client, name) == 1

    first = client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.content == whole[:100]
    assert _downloads(client, name) == 2  # a download started over in parts counts once

    etag = client.head(url).headers["etag"]
    unchanged = client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert _downloads(client, name) == 2


def test_csv_in_gb18030_on_request(portal: Portal, client: TestClient) -> None:
    portal.air(rows=40)
    name = portal.open(AIR)
    made = releases.release(portal.platform, name, actor=SYSTEM)
    utf8 = client.get(f"/datasets/{name}/download/csv").content
    gb = client.get(f"/datasets/{name}/download/csv", params={"encoding": "GB18030"})
    assert gb.status_code == 200
    assert gb.headers["content-type"] == "text/csv; charset=gb18030"
    assert "鼓楼五四北".encode("gb18030") in gb.content
    assert gb.content.decode("gb18030") == utf8.decode("utf-8-sig")
    assert ".gb18030.csv" in gb.headers["content-disposition"]
    files = {f.encoding: f.sha256 for f in made.files if f.format.value == "csv"}
    assert gb.headers["x-checksum-sha256"] == files["gb18030"]
    message = _assert_error(
        client.get(f"/datasets/{name}/download/csv", params={"encoding": "latin1"}),
        422,
        "validation_failed",
    )
    assert "gb18030" in message


def test_unknown_dataset_version_or_file_is_a_clear_error(
    portal: Portal, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal.air(rows=60)
    name = portal.open(AIR)
    monkeypatch.setattr(releases, "EXCEL_MAX_ROWS", 50)  # a sheet too small for the rows
    made = releases.release(portal.platform, name, actor=SYSTEM)
    assert "xlsx" not in {f.format.value for f in made.files}

    excel = _assert_error(client.get(f"/datasets/{name}/download/xlsx"), 404, "not_found")
    assert "CSV" in excel and "Parquet" in excel
    assert "no open dataset" in _assert_error(
        client.get("/datasets/no-such-set/download/csv"), 404, "not_found"
    )
    assert "version 999" in _assert_error(
        client.get(f"/datasets/{name}/versions/999/download/csv"), 404, "not_found"
    )
    assert "csv-gb18030" in _assert_error(
        client.get(f"/datasets/{name}/download/pdf"), 422, "validation_failed"
    )
    assert _downloads(client, name) == 0


def _audit(platform: Platform, action: str) -> list[AuditEntry]:
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_conditional_data_downloads_only_with_a_grant(
    portal: Portal, client: TestClient, make_user: MakeUser
) -> None:
    rows = portal.firms(rows=80)
    name = portal.open(FIRMS)
    made = releases.release(portal.platform, name, actor=SYSTEM)
    url = f"/datasets/{name}/versions/{made.version}/download/csv"

    anonymous = _assert_error(client.get(url), 401, "not_authenticated")
    assert f"/datasets/{name}/apply" in anonymous
    app_id, api_key, _ = make_app(portal.platform, "GXQ", "产业地图")
    _assert_error(client.get(url, headers={"X-API-Key": api_key}), 403, "permission_denied")

    grant_firms(portal.platform, app_id, columns=["entity_id", "firm_name"])
    partial = client.get(url, headers={"Authorization": api_key})  # as CKAN clients send it
    assert "datastore" in _assert_error(partial, 403, "permission_denied")

    grant_firms(portal.platform, app_id)
    granted = client.get(url, headers={"Authorization": f"ApiKey {api_key}"})
    assert granted.status_code == 200, granted.text
    got = {r["entity_id"] for r in csv.DictReader(io.StringIO(granted.text.lstrip("\ufeff")))}
    assert got == {r["entity_id"] for r in rows}
    assert "legal_rep" not in granted.text.splitlines()[0]
    calls = [e for e in _audit(portal.platform, "exchange.open_data") if e.outcome == "ok"]
    assert [(c.actor, c.row_count) for c in calls] == [(f"app:{app_id}", len(rows))]
    assert _downloads(client, name) == 1

    # A member of the public, signed in: their account's app needs the grant too.
    make_user("citizen", Role.PUBLIC_USER)
    public_app, _, _ = make_app(portal.platform, "GXQ", "公众账户应用")
    with portal.platform.db.session_scope() as session:
        session.add(
            OpenAccount(
                user_id=identity.get_user(session, "citizen").id,
                contact="citizen@example.cn",
                contact_kind="email",
                app_id=public_app,
            )
        )
    sign_in(portal.platform, client, "citizen")
    refused = _assert_error(client.get(url), 403, "permission_denied")
    assert f"/datasets/{name}/apply" in refused
    grant_firms(portal.platform, public_app)
    signed_in = client.get(url)
    assert signed_in.status_code == 200 and signed_in.content == granted.content
    downloads = _audit(portal.platform, "opendata.download")
    assert [(e.actor, e.outcome) for e in downloads] == [("citizen", "denied"), ("citizen", "ok")]
    assert downloads[-1].row_count == len(rows)


def test_an_unconditional_dataset_needs_no_key(portal: Portal, client: TestClient) -> None:
    portal.air(rows=20)
    name = portal.open(AIR)
    releases.release(portal.platform, name, actor=SYSTEM)
    assert client.get(f"/datasets/{name}/download/json").status_code == 200
    assert _audit(portal.platform, "exchange.open_data") == []
