"""Core and important fields are encrypted at rest from the load on; the platform's own work
(quality runs, scans, masked reads) sees plain values; a field key rotation re-encrypts."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rongshu.catalog.schemas import FieldSpec, FieldType, Grade
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.keys import KeyPurpose
from rongshu.core.platform import Platform
from rongshu.demo.identifiers import make_ric
from rongshu.ingest import service as ingest
from rongshu.ingest.runner import run_load
from rongshu.ingest.schemas import LoadMode, SourceCreate
from rongshu.lake.tables import Lake
from rongshu.quality import rules
from rongshu.quality.service import run_quality
from rongshu.security import service
from rongshu.security.encryption import field_key_versions, reencrypt_fields
from rongshu.security.schemas import MaskingProfile

from ..conftest import Declare

# The metadata database is incidental here (SQLite and PostgreSQL are covered by
# test_security_service): one engine keeps the suite fast.
pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)

CODE = "350100-GA-9005"


@pytest.fixture
def loaded(platform: Platform, declare: Declare, tmp_path: Path) -> list[str]:
    declare(
        CODE,
        [
            FieldSpec(name="编号", english_name="no", data_type=FieldType.STRING, is_key=True),
            FieldSpec(
                name="公民身份号码",
                english_name="id_number",
                data_type=FieldType.STRING,
                grade=Grade.IMPORTANT,
                is_personal=True,
                rules=["ric"],
            ),
        ],
    )
    numbers = [make_ric("350102", date(1980, 1, 1) + timedelta(days=i), i) for i in range(300)]
    database = tmp_path / "source.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE people (no TEXT, id_number TEXT)")
        connection.executemany(
            "INSERT INTO people VALUES (?, ?)", [(f"N{i}", n) for i, n in enumerate(numbers)]
        )
    with platform.db.session_scope() as session:
        ingest.create_source(
            session,
            data=SourceCreate(
                resource_code=CODE,
                name="people",
                kind="sql",
                options={"url": f"sqlite:///{database}", "table": "people"},
                mode=LoadMode.SNAPSHOT,
            ),
            actor=SYSTEM,
            ledger=platform.ledger,
            secret=platform.secret,
        )
        rules.sync_rules(session, resource_code=CODE, actor=SYSTEM, ledger=platform.ledger)
    run_load(platform, resource_code=CODE, source_name="people", after_load=False)
    return numbers


def on_disk(platform: Platform) -> list[str]:
    files = Lake.from_settings(platform.settings).table(CODE).scan().files
    return [v for f in files for v in pq.read_table(f, columns=["id_number"]).column(0).to_pylist()]


def test_an_important_field_is_stored_encrypted_and_checked_in_clear(
    platform: Platform, loaded: list[str]
) -> None:
    stored = on_disk(platform)
    assert len(stored) == 300 and all(v.startswith("sm4gcm:v1:") for v in stored)
    run = run_quality(platform, CODE)
    assert run.rows == 300
    assert all(result.failing == 0 for result in run.results)  # every ID number valid in clear
    service.scan_resource(platform, CODE, actor=SYSTEM)
    clear = pa.Table.from_batches(
        list(service.masked_batches(platform, CODE, MaskingProfile.CLEAR))
    )
    assert sorted(clear.column("id_number").to_pylist()) == sorted(loaded)
    shown = pa.Table.from_batches(
        list(service.masked_batches(platform, CODE, MaskingProfile.STANDARD))
    )
    assert all("*" * 10 in v for v in shown.column("id_number").to_pylist())


def test_a_field_key_rotation_re_encrypts_the_table(platform: Platform, loaded: list[str]) -> None:
    lake = Lake.from_settings(platform.settings)
    before = lake.table(CODE).version()
    assert field_key_versions(lake, CODE) == {1}
    assert reencrypt_fields(platform, actor=SYSTEM) == []  # nothing under an older key
    service.key_provider(platform).rotate(KeyPurpose.FIELD)
    done = reencrypt_fields(platform, actor=SYSTEM)
    assert [(d.resource_code, d.rows, d.columns) for d in done] == [(CODE, 300, ["id_number"])]
    assert field_key_versions(lake, CODE) == {2}
    assert all(v.startswith("sm4gcm:v2:") for v in on_disk(platform))
    assert sorted(lake.table(CODE).read().column("id_number").to_pylist()) == sorted(loaded)
    old = lake.table(CODE).read(before)  # the version before, still under key v1
    assert sorted(old.column("id_number").to_pylist()) == sorted(loaded)
