"""Aggregation through its JSON API on the demo city (the ``city`` fixture): a steward uploads a
department's file, previews it, maps it, runs it, and reads back loads, rejected rows, versions
and volumes; everyone else sees only what their role and department allow, and refusals are
audited."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rongshu.areas import load_jobs
from rongshu.core.audit.models import AuditEntry
from rongshu.core.identity.roles import Role
from rongshu.core.jobs import create_queue
from rongshu.core.platform import Platform
from rongshu.ingest import service
from rongshu.web.app import create_app

from ..conftest import MakeUser, sign_in

REGISTRY = "350100-GA-0001"
BAD_DATE = "2020年13月1日"


def registry_csv(city: Path, *, bad_row: int | None = None) -> tuple[bytes, list[dict[str, Any]]]:
    """The household registry as a department exports it (UTF-8 CSV); ``bad_row`` (1-based)
    gets a birth date no calendar has."""
    with sqlite3.connect(city / "sources" / "sources.db") as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM ga_household_registry ORDER BY rowid")]
    if bad_row is not None:
        rows[bad_row - 1]["birth_date"] = BAD_DATE
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8"), rows


def upload(client: TestClient, headers: dict[str, str], data: bytes, name: str = "户籍.csv") -> Any:
    return client.post(
        "/api/v1/ingest/uploads", files={"file": (name, data, "text/csv")}, headers=headers
    )


def attach_file(
    client: TestClient, headers: dict[str, str], data: bytes, name: str = "registry-file"
) -> dict[str, Any]:
    stored = upload(client, headers, data)
    assert stored.status_code == 201, stored.text
    created = client.post(
        "/api/v1/ingest/sources",
        json={
            "resource_code": REGISTRY,
            "name": name,
            "kind": stored.json()["kind"],
            "options": {"path": stored.json()["path"]},
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    source: dict[str, Any] = created.json()
    return source


def audit_entries(platform: Platform, **where: str) -> list[AuditEntry]:
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        query = select(AuditEntry).order_by(AuditEntry.seq)
        for column, value in where.items():
            query = query.where(getattr(AuditEntry, column) == value)
        entries = list(session.scalars(query))
        session.expunge_all()
    return entries


def test_steward_uploads_previews_maps_runs_and_reads_back(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    headers = sign_in(platform, client, make_user("ga_steward", Role.DATA_STEWARD, department="GA"))
    data, rows = registry_csv(city, bad_row=3)
    stored = upload(client, headers, data).json()
    assert Path(stored["path"]).parent == platform.settings.data_dir / "uploads" / "GA"
    assert stored["kind"] == "csv" and stored["size"] == len(data)
    assert Path(stored["path"]).read_bytes() == data

    source = client.post(
        "/api/v1/ingest/sources",
        json={
            "resource_code": REGISTRY,
            "name": "registry-file",
            "kind": "csv",
            "options": {"path": stored["path"]},
        },
        headers=headers,
    )
    assert source.status_code == 201, source.text
    base = f"/api/v1/ingest/sources/{REGISTRY}/registry-file"

    preview = client.get(f"{base}/preview", params={"rows": 5}).json()
    assert preview["columns"] == list(rows[0])
    assert [row[0] for row in preview["rows"]] == [r["person_id"] for r in rows[:5]]
    assert preview["saved"] is False
    suggested = {c["target"]: c["source"] for c in preview["suggested"]["columns"]}
    assert suggested["person_id"] == "person_id" and suggested["birth_date"] == "birth_date"

    # The steward leaves the phone out; the saved mapping is what the next load uses.
    mapping = preview["suggested"]
    for column in mapping["columns"]:
        if column["target"] == "phone":
            column["source"] = None
    saved = client.put(f"{base}/mapping", json=mapping, headers=headers)
    assert saved.status_code == 200, saved.text
    assert client.get(f"{base}/preview").json()["saved"] is True

    first = client.post(f"{base}/loads", headers=headers)
    assert first.status_code == 201, first.text  # no job queue here: it ran in the request
    load = first.json()["load"]
    assert (load["status"], load["version"], load["rows_read"]) == ("succeeded", 0, len(rows))
    assert (load["rows_written"], load["rows_rejected"]) == (len(rows) - 1, 1)

    rejected = client.get(f"/api/v1/ingest/loads/{load['id']}/rejected").json()
    assert rejected["total"] == 1
    cell = rejected["rows"][0]
    assert (cell["row_number"], cell["column"], cell["value"]) == (3, "birth_date", BAD_DATE)
    assert BAD_DATE in cell["reason"] and cell["raw"]["person_id"] == rows[2]["person_id"]

    second = client.post(f"{base}/loads", headers=headers).json()["load"]
    assert second["version"] == 1
    versions = client.get(f"/api/v1/ingest/resources/{REGISTRY}/versions").json()
    assert [(v["version"], v["load_id"]) for v in versions] == [(1, second["id"]), (0, load["id"])]

    page = client.get(
        f"/api/v1/ingest/resources/{REGISTRY}/versions/0/rows", params={"offset": 10, "limit": 5}
    ).json()
    assert page["total"] == len(rows) - 1 and len(page["rows"]) == 5
    written = [r for i, r in enumerate(rows) if i != 2]
    assert [r["person_id"] for r in page["rows"]] == [r["person_id"] for r in written[10:15]]
    assert {r["phone"] for r in page["rows"]} == {None}  # unmapped, as saved
    assert client.get(f"/api/v1/ingest/resources/{REGISTRY}/versions/7/rows").status_code == 404

    listed = client.get("/api/v1/ingest/loads", params={"resource": REGISTRY}).json()
    assert listed["count"] == 2 and [x["id"] for x in listed["data"]] == [second["id"], load["id"]]
    assert client.get("/api/v1/ingest/loads", params={"status": "failed"}).json()["count"] == 0

    volumes = client.get("/api/v1/ingest/volumes").json()
    assert [(v["department_code"], v["loads"], v["rows_written"]) for v in volumes] == [
        ("GA", 2, 2 * (len(rows) - 1))
    ]

    reads = {
        e.action: e.row_count
        for e in audit_entries(platform, actor="ga_steward", outcome="ok")
        if e.action.endswith(("preview", "_read"))
    }
    assert reads == {"ingest.preview": 20, "ingest.rejected_read": 1, "ingest.version_read": 5}
    changes = [e.action for e in audit_entries(platform, actor="ga_steward", outcome="ok")]
    for action in ("ingest.upload", "ingest.source_create", "ingest.mapping_save"):
        assert action in changes


def test_other_departments_and_roles_see_only_what_they_may(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    headers = sign_in(platform, client, make_user("ga_steward", Role.DATA_STEWARD, department="GA"))
    data, rows = registry_csv(city)
    attach_file(client, headers, data)
    base = f"/api/v1/ingest/sources/{REGISTRY}/registry-file"
    load = client.post(f"{base}/loads", headers=headers).json()["load"]
    version_rows = f"/api/v1/ingest/resources/{REGISTRY}/versions/0/rows"

    other = sign_in(platform, client, make_user("rs_steward", Role.DATA_STEWARD, department="RS"))
    for method, url in (
        ("GET", base),
        ("GET", f"{base}/preview"),
        ("GET", f"/api/v1/ingest/loads/{load['id']}"),
        ("GET", f"/api/v1/ingest/loads/{load['id']}/rejected"),
        ("GET", f"/api/v1/ingest/resources/{REGISTRY}/versions"),
        ("GET", version_rows),
        ("GET", "/api/v1/ingest/loads?department=GA"),
        ("POST", f"{base}/loads"),
        ("PUT", f"{base}/mapping"),
    ):
        response = client.request(method, url, headers=other, json={"columns": []})
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["error"] == "permission_denied"
    assert client.get("/api/v1/ingest/sources").json() == {"data": [], "count": 0}
    denied = {e.action for e in audit_entries(platform, actor="rs_steward", outcome="denied")}
    assert denied == {
        "ingest.source_read",
        "ingest.preview",
        "ingest.load_read",
        "ingest.rejected_read",
        "ingest.versions_read",
        "ingest.version_read",
        "ingest.loads_read",
        "ingest.load_request",
        "ingest.mapping_save",
    }

    # The department's approver reads its rows but neither runs nor maps its sources.
    approver = sign_in(platform, client, make_user("ga_approver", Role.APPROVER, department="GA"))
    assert client.get(version_rows).json()["total"] == len(rows)
    assert client.post(f"{base}/loads", headers=approver).status_code == 403

    # The platform admin sees every source and load, but reads no department's rows.
    sign_in(platform, client, make_user("ops", Role.PLATFORM_ADMIN, department="DSJ"))
    assert [s["name"] for s in client.get("/api/v1/ingest/sources").json()["data"]] == [
        "registry-file"
    ]
    assert client.get("/api/v1/ingest/loads", params={"department": "GA"}).json()["count"] == 1
    assert client.get(f"/api/v1/ingest/resources/{REGISTRY}/versions").status_code == 200
    assert client.get(version_rows).status_code == 403
    assert client.get(f"{base}/preview").status_code == 403

    # Someone with neither a department's data nor the platform to run sees no sources at all.
    sign_in(platform, client, make_user("dev", Role.DEVELOPER, department="RS"))
    assert client.get("/api/v1/ingest/sources").status_code == 403
    assert client.get("/api/v1/ingest/volumes").status_code == 200  # the indicator is public


def test_credentials_are_never_returned(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    headers = sign_in(platform, client, make_user("ga_steward", Role.DATA_STEWARD, department="GA"))
    url = f"sqlite:///{city / 'sources' / 'sources.db'}"
    created = client.post(
        "/api/v1/ingest/sources",
        json={
            "resource_code": REGISTRY,
            "name": "registry-db",
            "kind": "sql",
            "options": {"url": url.replace("sqlite", "postgresql+psycopg", 1), "table": "t"},
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    shown = client.get(f"/api/v1/ingest/sources/{REGISTRY}/registry-db").json()
    assert shown["secret_options"] == ["url"] and "url" not in shown["options"]
    assert "sources.db" not in client.get("/api/v1/ingest/sources").text


@pytest.mark.parametrize(
    ("kind", "options", "field"),
    [
        ("csv", {"path": "/etc/passwd"}, "path"),
        ("sql", {"url": "sqlite:////var/lib/rongshu/rongshu.db", "table": "app_user"}, "url"),
    ],
)
def test_people_attach_only_their_own_uploads_and_no_server_files(
    city: Path,
    platform: Platform,
    client: TestClient,
    make_user: MakeUser,
    kind: str,
    options: dict[str, str],
    field: str,
) -> None:
    headers = sign_in(platform, client, make_user("ga_steward", Role.DATA_STEWARD, department="GA"))
    response = client.post(
        "/api/v1/ingest/sources",
        json={"resource_code": REGISTRY, "name": "sneaky", "kind": kind, "options": options},
        headers=headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == field
    assert client.get("/api/v1/ingest/sources").json()["count"] == 0


def test_uploads_are_limited_in_size_and_kind(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    headers = sign_in(platform, client, make_user("ga_steward", Role.DATA_STEWARD, department="GA"))
    platform.settings.ingest_upload_max_mb = 1
    too_big = b"a,b\n" + b"1,2\n" * (1024 * 1024 // 4)
    refused = upload(client, headers, too_big)
    assert refused.status_code == 413 and refused.json()["error"] == "payload_too_large"
    uploads = platform.settings.data_dir / "uploads" / "GA"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert upload(client, headers, b"MZ\x90\x00", name="setup.exe").status_code == 422
    assert upload(client, headers, too_big[: 1024 * 1024]).status_code == 201
    other = sign_in(platform, client, make_user("ga_approver", Role.APPROVER, department="GA"))
    assert upload(client, other, b"a\n1\n").status_code == 403


def test_a_failed_load_is_recorded_and_the_lake_is_unchanged(
    city: Path, platform: Platform, client: TestClient, make_user: MakeUser
) -> None:
    headers = sign_in(platform, client, make_user("ga_steward", Role.DATA_STEWARD, department="GA"))
    data, rows = registry_csv(city)
    source = attach_file(client, headers, data)
    base = f"/api/v1/ingest/sources/{REGISTRY}/{source['name']}"
    assert client.post(f"{base}/loads", headers=headers).json()["load"]["version"] == 0
    Path(source["options"]["path"]).write_bytes(b"\xff\xfe\x00garbage\x81\x82")
    failed = client.post(f"{base}/loads", headers=headers)
    assert failed.status_code >= 400 and failed.json()["ok"] is False
    loads = client.get("/api/v1/ingest/loads", params={"status": "failed"}).json()
    assert loads["count"] == 1 and loads["data"][0]["error"]
    versions = client.get(f"/api/v1/ingest/resources/{REGISTRY}/versions").json()
    assert [v["version"] for v in versions] == [0]
    page = client.get(f"/api/v1/ingest/resources/{REGISTRY}/versions/0/rows").json()
    assert page["total"] == len(rows)


def test_run_now_goes_through_the_job_queue_when_the_app_has_one(
    city: Path, platform: Platform, make_user: MakeUser
) -> None:
    load_jobs()
    queue = create_queue(platform.settings, context_factory=lambda _: {"platform": platform})
    app = create_app(platform.settings, platform=platform, queue=queue)
    with TestClient(app) as client:
        headers = sign_in(
            platform, client, make_user("ga_steward", Role.DATA_STEWARD, department="GA")
        )
        source = attach_file(client, headers, registry_csv(city)[0])
        queued = client.post(
            f"/api/v1/ingest/sources/{REGISTRY}/{source['name']}/loads", headers=headers
        )
        assert queued.status_code == 202, queued.text
        assert queued.json()["job_id"] and queued.json()["load"] is None
        assert client.get("/api/v1/ingest/loads").json()["count"] == 0  # not run in the request
        queue.start_in_process(workers=1)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with platform.db.session_scope() as session:
                    loads, count = service.list_loads(session, resource_code=REGISTRY)
                if count and loads[0].finished_at is not None:
                    break
                time.sleep(0.2)
        finally:
            queue.close()
    assert count == 1 and loads[0].status.value == "succeeded"
    assert loads[0].triggered_by == "ga_steward"
