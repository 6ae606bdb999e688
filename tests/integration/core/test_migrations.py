"""The one Alembic history of the metadata database, on SQLite, PostgreSQL and MariaDB.

Each test body runs once per engine; the PostgreSQL and MariaDB runs get a fresh database from
the ``postgres_url`` / ``mysql_url`` fixtures and are skipped when the service is absent (unless
RONGSHU_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError

from rongshu.core.db import Database, alembic_config
from rongshu.core.models import metadata

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
GENESIS_HASH = "0" * 64

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", id="mariadb", marks=pytest.mark.mysql),
]


def _url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'rongshu.db'}"
    return str(request.getfixturevalue(f"{kind}_url"))


@pytest.fixture(params=ENGINES)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty metadata database on each engine."""
    db = Database(_url(request.param, request, tmp_path))
    yield db
    db.dispose()


@pytest.fixture
def db(empty_db: Database) -> Database:
    """A metadata database brought to head by the migrations (not by ``create_all``)."""
    empty_db.upgrade()
    return empty_db


def downgrade(db: Database, revision: str) -> None:
    """What ``alembic downgrade <revision>`` does, on the packaged history."""
    with db.engine.begin() as connection:
        config = alembic_config(db.url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def append_only_triggers(connection: Connection) -> set[str]:
    """Names of the triggers guarding ``audit_entry`` (and PostgreSQL's trigger function)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entry'"
    elif dialect == "postgresql":
        sql = (
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
            "UNION SELECT proname FROM pg_proc WHERE proname = 'audit_entry_append_only'"
        )
    else:
        sql = (
            "SELECT trigger_name FROM information_schema.triggers "
            "WHERE trigger_schema = DATABASE() AND event_object_table = 'audit_entry'"
        )
    return {str(name) for (name,) in connection.exec_driver_sql(sql)}


def insert_entry(connection: Connection, seq: int) -> None:
    connection.execute(
        text(
            "INSERT INTO audit_entry (seq, ts, actor, department, app, action, object, purpose,"
            " outcome, row_count, request_id, prev_hash, hash) VALUES (:seq, 0, 'alice', 'GA',"
            " '', 'query', 'resource:1', '', 'ok', 3, '', :prev, :hash)"
        ),
        {"seq": seq, "prev": GENESIS_HASH, "hash": "a" * 64},
    )


def test_upgrade_builds_every_table_at_the_head_revision(empty_db: Database) -> None:
    assert empty_db.current_revision() is None
    empty_db.upgrade()

    assert empty_db.current_revision() == HEAD
    tables = set(inspect(empty_db.engine).get_table_names())
    missing = set(metadata.tables) - tables
    assert not missing, f"tables the models declare but the migrations never create: {missing}"
    with empty_db.engine.connect() as conn:
        head = conn.execute(text("SELECT id, seq, hash FROM audit_head")).all()
    assert [tuple(row) for row in head] == [(1, 0, GENESIS_HASH)]


def test_upgrade_twice_changes_nothing(db: Database) -> None:
    with db.engine.begin() as conn:
        insert_entry(conn, 1)
    db.upgrade()
    assert db.current_revision() == HEAD
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM audit_head")).scalar_one() == 1


def test_migrated_schema_matches_the_models(db: Database) -> None:
    # Autogenerate's own comparison, with the options env.py uses; any difference means a
    # model was changed without a migration (or the reverse). MariaDB reports none today, so
    # nothing is filtered.
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_audit_entries_refuse_update_and_delete(db: Database) -> None:
    with db.engine.begin() as conn:
        insert_entry(conn, 1)
        insert_entry(conn, 2)

    for statement in (
        "UPDATE audit_entry SET row_count = 0 WHERE seq = 1",
        "DELETE FROM audit_entry WHERE seq = 2",
        "DELETE FROM audit_entry",
    ):
        with (
            pytest.raises(DBAPIError, match="audit entries are append-only"),
            db.engine.begin() as conn,
        ):
            conn.execute(text(statement))

    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, row_count FROM audit_entry ORDER BY seq")).all()
    assert [tuple(row) for row in rows] == [(1, 3), (2, 3)]


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds_it(db: Database) -> None:
    downgrade(db, "base")

    assert db.current_revision() is None
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    with db.engine.connect() as conn:
        assert append_only_triggers(conn) == set()

    db.upgrade()
    assert db.current_revision() == HEAD
    assert set(metadata.tables) <= set(inspect(db.engine).get_table_names())
    with db.engine.connect() as conn:
        assert append_only_triggers(conn)
        assert conn.execute(text("SELECT hash FROM audit_head")).scalar_one() == GENESIS_HASH
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        insert_entry(conn, 1)
        conn.execute(text("DELETE FROM audit_entry"))
