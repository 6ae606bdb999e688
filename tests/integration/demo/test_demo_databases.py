"""The database-backed departments also land in PostgreSQL and MariaDB when asked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from rongshu.demo.generator import generate_city


def _check_external_copy(url: str, out_dir: Path) -> None:
    manifest = generate_city(out_dir, rows=1_500, seed=5, database_urls=[url])
    # A rerun drops and recreates the tables instead of failing or appending.
    manifest = generate_city(out_dir, rows=1_500, seed=5, database_urls=[url])
    assert manifest.databases == [sa.make_url(url).render_as_string(hide_password=True)]
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        tables = [t for t in manifest.tables if t.sql_table]
        assert len(tables) == 5
        with (
            engine.connect() as connection,
            sqlite3.connect(out_dir / manifest.database_path) as db,
        ):
            for table in tables:
                name = str(table.sql_table)
                assert inspector.has_table(name)
                comments = {c["name"]: c.get("comment") for c in inspector.get_columns(name)}
                assert comments[table.columns[0].name] == table.columns[0].label
                count = connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar()  # noqa: S608
                assert count == table.rows
                # Same rows, same values (collations differ, so compare by key, not by order).
                key = [c.name for c in table.columns].index(table.key_column)
                query = f"SELECT * FROM {name}"  # noqa: S608
                external = {r[key]: tuple(r) for r in connection.execute(sa.text(query))}
                local = {r[key]: tuple(r) for r in db.execute(query)}
                assert external == local, name
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_tables_are_copied_into_postgresql(postgres_url: str, tmp_path: Path) -> None:
    _check_external_copy(postgres_url, tmp_path)


@pytest.mark.mysql
def test_tables_are_copied_into_mariadb(mysql_url: str, tmp_path: Path) -> None:
    _check_external_copy(mysql_url, tmp_path)
