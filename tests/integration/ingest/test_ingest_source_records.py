"""Sources keep credentials encrypted; loads are recorded and add up to daily volumes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from rongshu.catalog.demo import register_demo_catalog
from rongshu.core.db import utcnow
from rongshu.core.errors import PermissionDenied, ValidationFailed
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.catalog_sheet import write_catalog
from rongshu.ingest import service
from rongshu.ingest.models import IngestLoad, IngestSource
from rongshu.ingest.schemas import LoadMode, LoadStatus, SourceCreate

from ..conftest import MakeUser

URL = "postgresql+psycopg://ga_reader:s3cret-Pa55@db.ga.internal/registry"


@pytest.fixture
def catalog(platform: Platform, tmp_path: Path) -> Platform:
    bootstrap(platform)
    write_catalog(tmp_path / "city")
    register_demo_catalog(platform, tmp_path / "city")
    return platform


def sql_source(**changes: object) -> SourceCreate:
    values: dict[str, object] = {
        "resource_code": "350100-GA-0001",
        "name": "registry-db",
        "kind": "sql",
        "options": {"url": URL, "table": "ga_household_registry"},
        "mode": LoadMode.UPSERT,
        "key_fields": ["person_id"],
    }
    values.update(changes)
    return SourceCreate(**values)  # type: ignore[arg-type]


def test_credentials_are_stored_encrypted_and_never_shown(catalog: Platform) -> None:
    with catalog.db.session_scope() as session:
        public = service.create_source(
            session, data=sql_source(), actor=SYSTEM, ledger=catalog.ledger, secret=catalog.secret
        )
    assert "s3cret" not in public.model_dump_json()
    assert public.secret_options == ["url"] and public.schedule == "0 2 * * *"  # 每日
    with catalog.db.session_scope() as session:
        row = session.scalars(select(IngestSource)).one()
        assert row.secret is not None and b"s3cret" not in row.secret
        assert "url" not in row.options
        options = service.connector_options(row, secret=catalog.secret)
        assert options == {"url": URL, "table": "ga_household_registry"}
        # The ciphertext is bound to its source and to the installation secret.
        with pytest.raises(ValidationFailed):
            service.connector_options(row, secret=b"another installation's secret key!")
        row.name = "moved"
        with pytest.raises(ValidationFailed):
            service.connector_options(row, secret=catalog.secret)
        session.rollback()


def test_only_the_departments_stewards_attach_sources(
    catalog: Platform, make_user: MakeUser
) -> None:
    make_user("rs_steward", Role.DATA_STEWARD, department="RS")
    with catalog.db.session_scope() as session:
        actor = identity.user_actor(identity.get_user(session, "rs_steward"))
        with pytest.raises(PermissionDenied, match="stewards of GA"):
            service.create_source(
                session,
                data=sql_source(),
                actor=actor,
                ledger=catalog.ledger,
                secret=catalog.secret,
            )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mode": LoadMode.INCREMENTAL}, "watermark_column"),
        ({"mode": LoadMode.INCREMENTAL, "watermark_column": "no_such_field"}, "watermark_column"),
        ({"key_fields": []}, "key_fields"),
        ({"key_fields": ["no_such_field"]}, "key_fields"),
    ],
)
def test_load_settings_are_checked(
    catalog: Platform, changes: dict[str, object], field: str
) -> None:
    with catalog.db.session_scope() as session, pytest.raises(ValidationFailed) as caught:
        service.create_source(
            session,
            data=sql_source(**changes),
            actor=SYSTEM,
            ledger=catalog.ledger,
            secret=catalog.secret,
        )
    assert caught.value.details[0]["field"] == field


def test_loads_add_up_to_daily_volumes_per_department(catalog: Platform) -> None:
    with catalog.db.session_scope() as session:
        service.create_source(
            session, data=sql_source(), actor=SYSTEM, ledger=catalog.ledger, secret=catalog.secret
        )
        source = service.get_source(session, resource_code="350100-GA-0001", name="registry-db")
        ids = [service.start_load(session, source=source, triggered_by="test").id for _ in range(3)]
    with catalog.db.session_scope() as session:
        service.finish_load(
            session,
            load_id=ids[0],
            status=LoadStatus.SUCCEEDED,
            rows_written=100,
            rows_rejected=2,
            version=0,
        )
        service.finish_load(
            session, load_id=ids[1], status=LoadStatus.SUCCEEDED, rows_written=50, version=1
        )
        failed = service.finish_load(
            session, load_id=ids[2], status=LoadStatus.FAILED, error="boom"
        )
        assert failed.status is LoadStatus.FAILED and failed.seconds is not None
        old = session.get(IngestLoad, ids[1])
        assert old is not None
        old.started_at = utcnow() - timedelta(days=40)  # outside the 30-day window
    with catalog.db.session_scope() as session:
        rows = service.volumes(session, days=30)
    assert [(r.department_code, r.loads, r.rows_written, r.rows_rejected) for r in rows] == [
        ("GA", 1, 100, 2)
    ]
