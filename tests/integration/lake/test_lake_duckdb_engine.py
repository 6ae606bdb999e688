"""The DuckDB lake engine on real tables: queries, parameters, streaming, errors, offline."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from rongshu.catalog.schemas import FieldSpec, FieldType
from rongshu.lake import Lake, LakeEngine, LakeQueryError, LakeStorageError, LakeTable, arrow_schema
from rongshu.lake.duckdb_engine import DuckDBEngine

FIELDS = [
    FieldSpec(
        name="公民身份号码", english_name="id_number", data_type=FieldType.STRING, is_key=True
    ),
    FieldSpec(name="姓名", english_name="name", data_type=FieldType.STRING),
    FieldSpec(name="年龄", english_name="age", data_type=FieldType.INTEGER),
    FieldSpec(name="收入", english_name="income", data_type=FieldType.DECIMAL),
    FieldSpec(name="出生日期", english_name="birth_date", data_type=FieldType.DATE),
    FieldSpec(name="登记时间", english_name="registered_at", data_type=FieldType.DATETIME),
    FieldSpec(name="在世", english_name="alive", data_type=FieldType.BOOLEAN),
    FieldSpec(name="照片", english_name="photo", data_type=FieldType.BINARY),
]
SCHEMA = arrow_schema(FIELDS)
ROWS = [
    {
        "id_number": "350102199001011234",
        "name": "张三",
        "age": 35,
        "income": 1234.5,
        "birth_date": dt.date(1990, 1, 1),
        "registered_at": dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.UTC),
        "alive": True,
        "photo": b"\x89PNG",
    },
    {
        "id_number": "35020319851231002X",
        "name": "李四",
        "age": None,
        "income": None,
        "birth_date": dt.date(1985, 12, 31),
        "registered_at": None,
        "alive": False,
        "photo": None,
    },
]


@pytest.fixture
def people(lake: Lake) -> LakeTable:
    table = lake.table("GA-0001")
    table.commit([pa.RecordBatch.from_pylist(ROWS, schema=SCHEMA)], schema=SCHEMA, mode="overwrite")
    return table


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    with DuckDBEngine(memory_limit="512MB", threads=2) as engine:
        yield engine


def test_duckdb_engine_is_a_lake_engine(engine: DuckDBEngine) -> None:
    assert isinstance(engine, LakeEngine)
    assert engine.dialect.name == "duckdb"


def test_a_registered_table_reads_back_with_catalog_types(
    engine: DuckDBEngine, people: LakeTable
) -> None:
    engine.register("people", people)
    result = engine.query("SELECT * FROM people ORDER BY id_number")
    assert result.to_pylist() == ROWS
    assert result.schema.field("registered_at").type == pa.timestamp("us", tz="UTC")
    assert result.schema.field("birth_date").type == pa.date32()
    assert engine.count("people") == 2


def test_positional_and_named_parameters(engine: DuckDBEngine, people: LakeTable) -> None:
    engine.register("people", people)
    by_position = engine.query("SELECT name FROM people WHERE age > ?", [30])
    assert by_position.column("name").to_pylist() == ["张三"]
    param = engine.dialect.param("born")
    by_name = engine.query(
        f"SELECT name FROM people WHERE birth_date < {param}",  # noqa: S608
        {"born": dt.date(1989, 1, 1)},
    )
    assert by_name.column("name").to_pylist() == ["李四"]


def test_time_travel_through_the_engine(engine: DuckDBEngine, people: LakeTable) -> None:
    extra = [dict(ROWS[0], id_number="350102200001011111", name="王五")]
    people.commit([pa.RecordBatch.from_pylist(extra, schema=SCHEMA)], schema=SCHEMA, mode="append")
    engine.register("now", people)
    engine.register("before", people, version=0)
    assert (engine.count("now"), engine.count("before")) == (3, 2)
    added = engine.query("SELECT name FROM now EXCEPT SELECT name FROM before")
    assert added.column("name").to_pylist() == ["王五"]


def test_streaming_returns_bounded_batches_while_other_queries_run(
    engine: DuckDBEngine, lake: Lake
) -> None:
    table = lake.table("big")
    schema = pa.schema([("id", pa.int64())])
    batches = (
        pa.record_batch([pa.array(range(i, i + 50_000), pa.int64())], schema=schema)
        for i in range(0, 300_000, 50_000)
    )
    table.commit(batches, schema=schema, mode="overwrite")
    engine.register("big", table)

    sizes, total = [], 0
    for batch in engine.query_batches("SELECT id FROM big", batch_size=10_000):
        sizes.append(batch.num_rows)
        total += pa.compute.sum(batch.column("id")).as_py()
        assert engine.count("big") == 300_000  # another query between two batches
    assert sum(sizes) == 300_000 and max(sizes) <= 10_000 and len(sizes) >= 30
    assert total == sum(range(300_000))


def test_an_empty_version_and_a_column_added_later(engine: DuckDBEngine, lake: Lake) -> None:
    table = lake.table("evolving")
    narrow = pa.schema([("id", pa.int64())])
    table.commit([], schema=narrow, mode="overwrite")
    table.commit([pa.record_batch([pa.array([1])], schema=narrow)], schema=narrow, mode="append")
    wide = narrow.append(pa.field("note", pa.string()))
    table.commit([pa.record_batch([[2], ["新"]], schema=wide)], schema=wide, mode="append")

    engine.register("empty", table, version=0)
    assert engine.count("empty") == 0
    assert engine.query("SELECT * FROM empty").schema.names == ["id"]
    engine.register("evolving", table)
    rows = engine.query("SELECT id, note FROM evolving ORDER BY id").to_pylist()
    assert rows == [{"id": 1, "note": None}, {"id": 2, "note": "新"}]


def test_sql_errors_name_the_sql_and_the_tables(engine: DuckDBEngine, people: LakeTable) -> None:
    engine.register("people", people)
    with pytest.raises(LakeQueryError) as raised:
        engine.query("SELECT nickname FROM people")
    message = raised.value.message
    assert "SELECT nickname FROM people" in message
    assert "people = GA-0001 @ version 0" in message
    assert "nickname" in message
    with pytest.raises(LakeQueryError, match="Conversion Error"):
        list(engine.query_batches("SELECT CAST(name AS INTEGER) FROM people"))
    with pytest.raises(LakeQueryError, match="no lake table is registered as 'ghost'"):
        engine.count("ghost")


def test_a_missing_data_file_is_a_storage_error(engine: DuckDBEngine, people: LakeTable) -> None:
    engine.register("people", people)
    for path in people.scan().files:
        path.unlink()
    with pytest.raises(LakeStorageError, match="GA-0001"):
        engine.query("SELECT count(*) FROM people")


def test_the_dialect_renders_sql_that_duckdb_runs(engine: DuckDBEngine, people: LakeTable) -> None:
    d = engine.dialect
    engine.register("people", people)
    ric = d.regex_match("id_number", r"^\d{17}[\dX]$")
    # Every identifier and literal below is rendered by the dialect.
    sql = (
        f"SELECT {d.quote('name')} AS name, {ric} AS valid, {d.length('name')} AS chars, "  # noqa: S608
        f"{d.substring('id_number', 1, 6)} AS region, "
        f"{d.safe_cast(d.literal('abc'), FieldType.INTEGER)} AS bad, "
        f"{d.safe_cast(d.literal('42'), FieldType.INTEGER)} AS good, "
        f"{d.literal('it' + chr(39) + 's')} AS quoted, "
        f"{d.literal(dt.date(2020, 1, 2))} AS day, "
        f"{d.literal(dt.datetime(2020, 1, 2, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))))} AS t "
        "FROM people ORDER BY name"
    )
    rows = engine.query(sql).to_pylist()
    assert [(r["name"], r["valid"], r["chars"], r["region"]) for r in rows] == [
        ("张三", True, 2, "350102"),
        ("李四", True, 2, "350203"),
    ]
    assert rows[0]["bad"] is None and rows[0]["good"] == 42 and rows[0]["quoted"] == "it's"
    assert rows[0]["day"] == dt.date(2020, 1, 2)
    assert rows[0]["t"] == dt.datetime(2020, 1, 2, 0, tzinfo=dt.UTC)


OFFLINE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from rongshu.lake import Lake, LakeQueryError
    from rongshu.lake.duckdb_engine import DuckDBEngine

    lake, extensions = Lake(Path(sys.argv[1])), Path(sys.argv[2])
    engine = DuckDBEngine(extension_directory=extensions)
    engine.register("people", lake.table("GA-0001"))
    report = {"count": engine.count("people")}
    loaded = engine.query("SELECT extension_name FROM duckdb_extensions() WHERE loaded")
    report["loaded"] = sorted(loaded.column("extension_name").to_pylist())
    try:
        engine.query("SELECT * FROM read_parquet('https://example.invalid/a.parquet')")
    except LakeQueryError as exc:
        report["remote"] = exc.message
    print(json.dumps(report))
    """
)


def test_the_engine_needs_no_network_and_installs_no_extension(
    people: LakeTable, tmp_path: Path
) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare is not installed, so the network cannot be taken away")
    script = tmp_path / "offline.py"
    script.write_text(OFFLINE, encoding="utf-8")
    extensions = tmp_path / "extensions"
    extensions.mkdir()
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {probe.stderr.decode().strip()}")

    done = subprocess.run(
        [unshare, "--net", sys.executable, str(script), str(people.path.parent), str(extensions)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )

    report = json.loads(done.stdout)
    assert report["count"] == 2
    assert set(report["loaded"]) <= {"core_functions", "icu", "json", "parquet"}
    assert "requires the extension httpfs" in report["remote"]  # refused, not downloaded
    assert list(extensions.rglob("*")) == []


def test_a_saved_table_reads_back_in_order_from_another_engine(
    engine: DuckDBEngine, tmp_path: Path
) -> None:
    count = 300_000  # several of DuckDB's row groups, scanned in parallel
    engine.register_arrow("numbers", pa.table({"n": pa.array(range(count), pa.int64())}))
    saved = tmp_path / "numbers.store"
    assert engine.save_table(saved, "SELECT n, n % 7 AS r FROM numbers WHERE n >= ?", [5]) == (
        count - 5
    )
    with pytest.raises(LakeStorageError, match="written once"):
        engine.save_table(saved, "SELECT 1 AS n")
    with DuckDBEngine() as reader, DuckDBEngine() as other:
        reader.register_saved("kept", saved)
        other.register_saved("kept", saved)  # two readers of one file
        page = reader.query("SELECT n FROM kept WHERE r = ? LIMIT 4 OFFSET 20000", [3])
        assert (
            page.column("n").to_pylist()
            == [n for n in range(5, count) if n % 7 == 3][20_000:20_004]
        )
        assert other.query("SELECT count(*) AS c FROM kept").column("c")[0].as_py() == count - 5
