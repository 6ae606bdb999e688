"""The SQL connector on real databases: the demo city's SQLite sources.db, PostgreSQL and MariaDB
tables streamed through server-side cursors, watermark pushdown, and clear errors for wrong
credentials, unreachable hosts and missing tables, with passwords never shown.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from rongshu.core.errors import ValidationFailed
from rongshu.demo.generator import generate_city
from rongshu.ingest.connectors import (
    Connector,
    SourceCredentialsRefused,
    SourceNotFound,
    SourceSpec,
    SourceUnavailable,
    WatermarkFilter,
    open_connector,
)

PASSWORD = "S3cret-Pa55"


@pytest.fixture(scope="module")
def sources_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    manifest = generate_city(out, rows=500, seed=1)
    return out / manifest.database_path


def _sql(url: str, **options: object) -> Connector:
    return open_connector(SourceSpec(kind="sql", options={"url": url, **options}))


def _close(batches: Iterator[pa.RecordBatch]) -> None:
    # A half-read stream holds its connection (and the table's metadata lock) until closed.
    close = getattr(batches, "close", None)
    if close is not None:
        close()


def _all(connector: Connector, **kwargs: object) -> pa.Table:
    batches = list(connector.batches(**kwargs))  # type: ignore[arg-type]
    return pa.Table.from_batches(batches) if batches else pa.table({})


# --- SQLite -----------------------------------------------------------------------------------


def test_sqlite_demo_table_reads_every_row_as_stored(sources_db: Path) -> None:
    url = f"sqlite:///{sources_db}"
    connector = _sql(url, table="ga_household_registry")
    with sqlite3.connect(sources_db) as db:
        stored = db.execute("SELECT * FROM ga_household_registry ORDER BY rowid").fetchall()
        names = [d[0] for d in db.execute("SELECT * FROM ga_household_registry").description]
    assert connector.columns() == names
    sizes = [b.num_rows for b in connector.batches(batch_rows=128)]
    assert max(sizes) == 128
    table = _all(connector)
    assert [tuple(row.values()) for row in table.to_pylist()] == stored
    assert connector.preview(3).num_rows == 3


def test_sqlite_query_with_percent_signs_and_a_watermark(sources_db: Path) -> None:
    url = f"sqlite:///{sources_db}"
    query = "SELECT person_id, name FROM ga_household_registry WHERE name LIKE '林%';"
    connector = _sql(url, query=query)
    assert connector.columns() == ["person_id", "name"]
    rows = _all(connector).to_pylist()
    assert rows and all(str(r["name"]).startswith("林") for r in rows)
    pivot = sorted(str(r["person_id"]) for r in rows)[2]
    later = _all(connector, watermark=WatermarkFilter("person_id", pivot))
    expected = sorted(str(r["person_id"]) for r in rows if str(r["person_id"]) > pivot)
    assert sorted(later.column("person_id").to_pylist()) == expected
    assert len(expected) == len(rows) - 3


def test_sqlite_fingerprint_follows_the_data(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (id INTEGER, changed TEXT)")
        db.execute("INSERT INTO t VALUES (1, '2024-01-01')")
    connector = _sql(f"sqlite:///{path}", table="t", watermark_column="changed")
    before = connector.fingerprint()
    assert connector.fingerprint() == before
    with sqlite3.connect(path) as db:
        db.execute("UPDATE t SET changed = '2024-01-02'")
    assert connector.fingerprint() != before


def test_sqlite_column_with_mixed_values_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "mixed.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (code)")
        db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)] + [("A7",), (None,)])
    values = [
        v
        for b in _sql(f"sqlite:///{path}", table="t").batches(batch_rows=5)
        for v in b["code"].to_pylist()
    ]
    assert [str(v) if v is not None else None for v in values] == [
        "0",
        "1",
        "2",
        "3",
        "4",
        "A7",
        None,
    ]


def test_sqlite_missing_file_and_missing_table(tmp_path: Path, sources_db: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(SourceNotFound, match="SQLite database file not found"):
        _sql(f"sqlite:///{missing}", table="t")
    assert not missing.exists()
    with pytest.raises(SourceNotFound, match="table no_such_table not found"):
        _sql(f"sqlite:///{sources_db}", table="no_such_table").columns()


def test_statement_errors_are_domain_errors(sources_db: Path) -> None:
    with pytest.raises(ValidationFailed, match="refused the statement"):
        _sql(f"sqlite:///{sources_db}", query="SELECT nonsense( FROM x").columns()


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def pg_table(postgres_url: str) -> Iterator[str]:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                CREATE TABLE registry (
                    id bigint PRIMARY KEY, name text, amount numeric(12, 2), born date,
                    updated timestamp, seen timestamptz, active boolean, extra jsonb)
                """
            )
        )
        conn.execute(
            sa.text(
                """
                INSERT INTO registry
                SELECT g, '居民' || g, g / 4.0, date '1980-01-01' + g,
                       timestamp '2024-01-01' + g * interval '1 second',
                       timestamptz '2024-01-01 00:00:00+08' + g * interval '1 second',
                       g % 2 = 0, CASE WHEN g % 10 = 0 THEN jsonb_build_object('k', g) END
                FROM generate_series(1, 20000) g
                """
            )
        )
    engine.dispose()
    yield postgres_url


@pytest.mark.postgres
def test_postgres_table_streams_with_native_types(pg_table: str) -> None:
    connector = _sql(pg_table, table="registry")
    assert connector.columns() == [
        "id",
        "name",
        "amount",
        "born",
        "updated",
        "seen",
        "active",
        "extra",
    ]
    batches = connector.batches(batch_rows=5000)
    try:
        first = next(batches)
        # The read goes through a server-side cursor: the session is fetching from it.
        watcher = sa.create_engine(pg_table)
        with watcher.connect() as conn:
            statements = (
                conn.execute(
                    sa.text(
                        "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                )
                .scalars()
                .all()
            )
        watcher.dispose()
        assert any("FETCH" in q.upper() for q in statements), statements
        rest = sum(b.num_rows for b in batches)
    finally:
        _close(batches)
    assert first.num_rows == 5000 and rest == 15000
    schema = first.schema
    assert schema.field("id").type == pa.int64()
    assert pa.types.is_decimal(schema.field("amount").type)
    assert schema.field("born").type == pa.date32()
    assert schema.field("updated").type == pa.timestamp("us")
    assert schema.field("active").type == pa.bool_()
    row = first.slice(9, 1).to_pylist()[0]
    assert row["amount"] == Decimal("2.50")
    assert row["born"] == date(1980, 1, 11)
    assert row["extra"] == '{"k": 10}'


@pytest.mark.postgres
def test_postgres_watermark_is_pushed_down_as_value_or_text(pg_table: str) -> None:
    connector = _sql(pg_table, table="registry")
    by_value = _all(connector, watermark=WatermarkFilter("updated", datetime(2024, 1, 1, 5, 0)))
    by_text = _all(connector, watermark=WatermarkFilter("updated", "2024-01-01 05:00:00"))
    assert by_value.num_rows == by_text.num_rows == 20000 - 5 * 3600
    query = _sql(pg_table, query="SELECT id, name FROM registry WHERE id % 2 = 0")
    assert _all(query, watermark=WatermarkFilter("id", 19990)).column("id").to_pylist() == [
        19992,
        19994,
        19996,
        19998,
        20000,
    ]


@pytest.mark.postgres
def test_postgres_unknown_role_is_refused_credentials_with_the_password_hidden(
    postgres_url: str,
) -> None:
    url = make_url(postgres_url).set(username="nobody_here", password=PASSWORD)
    connector = _sql(url.render_as_string(hide_password=False), table="registry")
    with pytest.raises(SourceCredentialsRefused, match="refused the credentials") as caught:
        connector.columns()
    assert PASSWORD not in caught.value.message
    assert PASSWORD not in str(caught.value.details)
    assert "***" in caught.value.message


@pytest.mark.postgres
def test_postgres_unreachable_port_and_missing_table(postgres_url: str) -> None:
    closed = make_url(postgres_url).set(port=1, password=PASSWORD)
    connector = _sql(closed.render_as_string(hide_password=False), table="t", connect_timeout=2)
    with pytest.raises(SourceUnavailable, match="cannot reach the database") as caught:
        connector.columns()
    assert PASSWORD not in caught.value.message
    with pytest.raises(SourceNotFound, match="no_table"):
        _sql(postgres_url, table="no_table").columns()


# --- MariaDB ----------------------------------------------------------------------------------


@pytest.fixture
def maria_table(mysql_url: str) -> Iterator[str]:
    engine = sa.create_engine(mysql_url)
    with engine.begin() as conn:
        conn.execute(sa.text("SET SESSION sql_mode = ''"))
        conn.execute(
            sa.text(
                """
                CREATE TABLE registry (
                    id BIGINT PRIMARY KEY, name VARCHAR(50), amount DECIMAL(12, 2),
                    born DATE, updated DATETIME, big BIGINT UNSIGNED, ratio DOUBLE,
                    note TEXT, raw BLOB, flag TINYINT(1)) CHARACTER SET utf8mb4
                """
            )
        )
        conn.execute(
            sa.text(
                """
                INSERT INTO registry
                SELECT seq, CONCAT('居民', seq), seq / 4, DATE_ADD('1980-01-01', INTERVAL seq DAY),
                       DATE_ADD('2024-01-01', INTERVAL seq SECOND), 18446744073709551615 - seq,
                       seq / 3, IF(seq % 10 = 0, NULL, CONCAT('备注', seq)), UNHEX('00FF'),
                       seq % 2
                FROM seq_1_to_200000
                """
            )
        )
        conn.execute(sa.text("UPDATE registry SET born = '0000-00-00' WHERE id = 7"))
    engine.dispose()
    yield mysql_url


@pytest.mark.mysql
def test_mariadb_table_streams_unbuffered_with_native_types(maria_table: str) -> None:
    connector = _sql(maria_table, table="registry")
    batches = connector.batches(batch_rows=4000)
    try:
        first = next(batches)
        # Unbuffered: the server is still sending (the table is far larger than the socket
        # buffers) while the first batch is in our hands.
        watcher = sa.create_engine(maria_table)
        with watcher.connect() as conn:
            running = (
                conn.execute(
                    sa.text(
                        "SELECT info FROM information_schema.processlist "
                        "WHERE command = 'Query' AND id <> CONNECTION_ID()"
                    )
                )
                .scalars()
                .all()
            )
        watcher.dispose()
        assert any(q and "registry" in q for q in running), running
        rest = sum(b.num_rows for b in batches)
    finally:
        _close(batches)
    assert first.num_rows == 4000 and rest == 196000
    schema = first.schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("amount").type == pa.decimal128(38, 2)
    assert schema.field("born").type == pa.date32()
    assert schema.field("updated").type == pa.timestamp("us")
    assert schema.field("big").type == pa.uint64()
    assert schema.field("raw").type == pa.binary()
    rows = first.slice(0, 10).to_pylist()
    assert rows[0]["name"] == "居民1"
    assert rows[0]["amount"] == Decimal("0.25")
    assert rows[0]["updated"] == datetime(2024, 1, 1, 0, 0, 1)
    assert rows[0]["big"] == 18446744073709551614
    assert rows[0]["raw"] == b"\x00\xff"
    assert rows[6]["born"] is None  # '0000-00-00' is MySQL's "no date"
    assert rows[9]["note"] is None and rows[8]["note"] == "备注9"


@pytest.mark.mysql
def test_mariadb_watermark_pushdown_and_query(maria_table: str) -> None:
    connector = _sql(maria_table, table="registry")
    newer = _all(connector, watermark=WatermarkFilter("updated", "2024-01-02 00:00:00"))
    assert newer.num_rows == 200000 - 86400
    query = _sql(maria_table, query="SELECT id, name FROM registry WHERE name LIKE '居民1%'")
    ids = _all(query, watermark=WatermarkFilter("id", 190000)).column("id").to_pylist()
    assert ids == list(range(190001, 200000))
    assert query.preview(2).to_pylist()[0] == {"id": "1", "name": "居民1"}


@pytest.mark.mysql
def test_mariadb_wrong_password_is_refused_with_the_password_hidden(mysql_url: str) -> None:
    url = make_url(mysql_url).set(password=PASSWORD).render_as_string(hide_password=False)
    for read in (lambda c: c.columns(), lambda c: list(c.batches())):
        with pytest.raises(SourceCredentialsRefused, match="Access denied") as caught:
            read(_sql(url, table="registry"))
        assert PASSWORD not in caught.value.message
        assert PASSWORD not in str(caught.value.details)


@pytest.mark.mysql
def test_mariadb_unreachable_port_and_missing_table(mysql_url: str) -> None:
    closed = make_url(mysql_url).set(port=1).render_as_string(hide_password=False)
    with pytest.raises(SourceUnavailable, match="cannot reach the database"):
        list(_sql(closed, table="registry", connect_timeout=2).batches())
    with pytest.raises(SourceNotFound, match="no_table"):
        list(_sql(mysql_url, table="no_table").batches())
