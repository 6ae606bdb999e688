"""Lake tables on real files: write modes, time travel, version records, schemas, atomicity."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pytest

from rongshu.core.errors import Conflict, NotFound, ValidationFailed
from rongshu.lake import Lake, LakeTable
from rongshu.lake.storage import data_files, write_lock

PEOPLE = pa.schema([("id", pa.int64()), ("name", pa.string()), ("city", pa.string())])


def people(rows: Sequence[tuple[int, str, str]]) -> pa.RecordBatch:
    ids, names, cities = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.record_batch(
        [pa.array(ids, pa.int64()), pa.array(names, pa.string()), pa.array(cities, pa.string())],
        schema=PEOPLE,
    )


def rows_of(table: pa.Table) -> list[tuple[object, ...]]:
    return sorted(tuple(row.values()) for row in table.to_pylist())


def numbered(count: int, *, start: int = 0, per_batch: int = 1000) -> Iterator[pa.RecordBatch]:
    for first in range(start, start + count, per_batch):
        last = min(first + per_batch, start + count)
        yield people([(i, f"person {i}", "福州") for i in range(first, last)])


BASE = [(1, "张三", "福州"), (2, "李四", "厦门")]


@pytest.fixture
def table(lake: Lake) -> LakeTable:
    table = lake.table("GA-0001")
    table.commit([people(BASE)], schema=PEOPLE, mode="overwrite", metadata={"load_id": "L0"})
    return table


def test_a_new_table_has_no_versions(lake: Lake) -> None:
    table = lake.table("GA-0001")
    assert not table.exists()
    assert table.version() is None
    assert table.versions() == []
    with pytest.raises(NotFound, match="no versions yet"):
        table.read()


def test_overwrite_replaces_the_rows_and_records_what_it_removed(table: LakeTable) -> None:
    result = table.commit([people([(3, "王五", "泉州")])], schema=PEOPLE, mode="overwrite")
    assert (result.version, result.rows_written, result.rows_removed) == (1, 1, 2)
    assert result.files == 1 and result.bytes > 0
    assert rows_of(table.read()) == [(3, "王五", "泉州")]
    assert table.versions()[-1].operation == "overwrite"
    assert table.versions()[-1].rows_removed == 2


def test_append_adds_rows(table: LakeTable) -> None:
    result = table.commit([people([(3, "王五", "泉州")])], schema=PEOPLE, mode="append")
    assert (result.version, result.rows_written, result.rows_removed) == (1, 1, 0)
    assert [r[0] for r in rows_of(table.read())] == [1, 2, 3]


@pytest.mark.parametrize("in_memory_rows", [1_000_000, 0], ids=["deltalake-merge", "rewrite"])
def test_merge_updates_matching_keys_and_inserts_new_ones(
    tmp_path: Path, in_memory_rows: int
) -> None:
    table = Lake(tmp_path / "lake", merge_in_memory_rows=in_memory_rows).table("GA-0001")
    table.commit([people(BASE)], schema=PEOPLE, mode="overwrite")
    change = [(2, "李四", "福州"), (3, "王五", "泉州")]

    result = table.commit([people(change)], schema=PEOPLE, mode="merge", key=["id"])

    assert (result.version, result.rows_written, result.rows_removed) == (1, 2, 1)
    expected = [(1, "张三", "福州"), (2, "李四", "福州"), (3, "王五", "泉州")]
    assert rows_of(table.read()) == expected
    info = table.versions()[-1]
    assert (info.operation, info.rows_added, info.rows_removed) == ("merge", 2, 1)

    again = table.commit([people(change)], schema=PEOPLE, mode="merge", key=["id"])
    assert again.version == 2
    assert rows_of(table.read()) == expected  # the same input twice: no duplicates


@pytest.mark.parametrize("in_memory_rows", [1_000_000, 0], ids=["deltalake-merge", "rewrite"])
def test_merge_keeps_the_last_row_of_a_key_repeated_in_the_input(
    tmp_path: Path, in_memory_rows: int
) -> None:
    table = Lake(tmp_path / "lake", merge_in_memory_rows=in_memory_rows).table("GA-0001")
    table.commit([people(BASE)], schema=PEOPLE, mode="overwrite")
    batches = [people([(2, "李四", "莆田"), (9, "新", "宁德")]), people([(2, "李四", "三明")])]

    table.commit(batches, schema=PEOPLE, mode="merge", key=["id"])
    table.commit(batches, schema=PEOPLE, mode="merge", key=["id"])

    assert rows_of(table.read()) == [(1, "张三", "福州"), (2, "李四", "三明"), (9, "新", "宁德")]


def test_merge_into_a_new_table_deduplicates_and_supports_compound_keys(lake: Lake) -> None:
    table = lake.table("new")
    rows = [(1, "a", "福州"), (1, "a", "厦门"), (1, "b", "福州"), (1, "a", "泉州")]
    result = table.commit(
        [people(rows)], schema=PEOPLE, mode="merge", key=["id", "name"], metadata={"n": "1"}
    )
    assert result.version == 0 and result.rows_written == 2
    assert rows_of(table.read()) == [(1, "a", "泉州"), (1, "b", "福州")]
    assert table.versions()[0].metadata == {"n": "1"}


def test_merge_refuses_empty_keys_and_writes_nothing(table: LakeTable) -> None:
    batch = pa.record_batch(
        [pa.array([5, None], pa.int64()), pa.array(["x", "y"]), pa.array(["a", "b"])],
        schema=PEOPLE,
    )
    with pytest.raises(ValidationFailed, match="1 input rows have an empty key"):
        table.commit([batch], schema=PEOPLE, mode="merge", key=["id"])
    assert table.version() == 0
    assert rows_of(table.read()) == sorted(BASE)


def test_merge_needs_a_key_of_the_table(table: LakeTable) -> None:
    with pytest.raises(ValidationFailed, match="needs key columns"):
        table.commit([people(BASE)], schema=PEOPLE, mode="merge")
    with pytest.raises(ValidationFailed, match="not columns: \\['nope'\\]"):
        table.commit([people(BASE)], schema=PEOPLE, mode="merge", key=["nope"])


def test_time_travel_reads_every_earlier_version(table: LakeTable) -> None:
    table.commit([people([(3, "王五", "泉州")])], schema=PEOPLE, mode="append")
    table.commit([people([(4, "赵六", "漳州")])], schema=PEOPLE, mode="overwrite")

    assert table.version() == 2
    assert rows_of(table.read(0)) == sorted(BASE)
    assert [r[0] for r in rows_of(table.read(1))] == [1, 2, 3]
    assert rows_of(table.read()) == [(4, "赵六", "漳州")]
    assert table.count(1) == 3
    with pytest.raises(NotFound, match="no version 7"):
        table.read(7)


def test_versions_record_time_mode_rows_and_the_callers_metadata(table: LakeTable) -> None:
    table.commit(
        [people([(3, "王五", "泉州")])],
        schema=PEOPLE,
        mode="append",
        metadata={"load_id": "L1", "source_fingerprint": "sha256:ab"},
    )
    first, second = table.versions()
    assert (first.version, first.operation, first.rows_added) == (0, "overwrite", 2)
    assert first.metadata == {"load_id": "L0"}
    assert (second.version, second.operation, second.rows_added) == (1, "append", 1)
    assert second.metadata == {"load_id": "L1", "source_fingerprint": "sha256:ab"}
    assert second.committed_at >= first.committed_at
    assert second.committed_at.tzinfo is not None


def test_an_overwrite_with_no_rows_is_an_empty_version(table: LakeTable) -> None:
    result = table.commit(iter([]), schema=PEOPLE, mode="overwrite")
    assert result.version == 1 and result.rows_written == 0 and result.files == 0
    assert table.read().num_rows == 0
    assert table.read().schema.names == ["id", "name", "city"]
    assert table.count(0) == 2


def test_append_may_add_a_column_and_earlier_rows_read_it_as_null(table: LakeTable) -> None:
    wider = PEOPLE.append(pa.field("age", pa.int64()))
    batch = pa.record_batch(
        [pa.array([3]), pa.array(["王五"]), pa.array(["泉州"]), pa.array([40])], schema=wider
    )
    table.commit([batch], schema=wider, mode="append")
    assert table.schema().names == ["id", "name", "city", "age"]
    assert table.schema(0).names == ["id", "name", "city"]
    ages = {row["id"]: row["age"] for row in table.read().to_pylist()}
    assert ages == {1: None, 2: None, 3: 40}


def test_append_refuses_a_changed_column_type(table: LakeTable) -> None:
    other = pa.schema([("id", pa.string()), ("name", pa.string()), ("city", pa.string())])
    batch = pa.record_batch([pa.array(["3"]), pa.array(["x"]), pa.array(["y"])], schema=other)
    with pytest.raises(Conflict, match="column 'id' is int64 in the table but string"):
        table.commit([batch], schema=other, mode="append")
    assert table.version() == 0


def test_overwrite_may_change_the_schema(table: LakeTable) -> None:
    narrow = pa.schema([("id", pa.int64()), ("label", pa.string())])
    batch = pa.record_batch([pa.array([7]), pa.array(["x"])], schema=narrow)
    table.commit([batch], schema=narrow, mode="overwrite")
    assert table.read().to_pylist() == [{"id": 7, "label": "x"}]
    assert table.schema(0).names == ["id", "name", "city"]


def test_batches_are_cast_to_the_schema_or_refused(lake: Lake) -> None:
    table = lake.table("casts")
    loose = pa.record_batch(
        [pa.array(["a"]), pa.array([1], pa.int32()), pa.array(["c"])],
        names=["name", "id", "city"],
    )
    table.commit([loose], schema=PEOPLE, mode="overwrite")
    assert table.read().to_pylist() == [{"id": 1, "name": "a", "city": "c"}]
    wrong = pa.record_batch([pa.array([1]), pa.array(["a"])], names=["id", "name"])
    with pytest.raises(ValidationFailed, match="missing \\['city'\\]"):
        table.commit([wrong], schema=PEOPLE, mode="append")
    assert table.version() == 0


def test_unknown_modes_and_bad_column_names_are_refused(lake: Lake) -> None:
    table = lake.table("t")
    with pytest.raises(ValidationFailed, match="unknown write mode"):
        table.commit([people(BASE)], schema=PEOPLE, mode="upsert")  # type: ignore[arg-type]
    bad = pa.schema([("first name", pa.string())])
    with pytest.raises(ValidationFailed, match="has a space"):
        table.commit([], schema=bad, mode="overwrite")
    assert not table.exists()


def test_table_names_become_safe_distinct_directories(lake: Lake) -> None:
    plain, slashed, chinese = lake.table("GA-0001"), lake.table("GA/0001"), lake.table("人口库")
    assert plain.path.name == "GA-0001"
    assert slashed.path.parent == lake.root and "/" not in slashed.path.name
    assert chinese.path.parent == lake.root and chinese.path.name != slashed.path.name
    for table in (plain, slashed, chinese):
        table.commit([people(BASE)], schema=PEOPLE, mode="overwrite")
    assert lake.tables() == sorted(["GA-0001", "GA/0001", "人口库"])


def test_commit_streams_files_to_disk_before_the_input_ends(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake", target_file_size=64 * 1024)
    table = lake.table("stream")
    seen_on_disk: list[int] = []

    def batches() -> Iterator[pa.RecordBatch]:
        for number, batch in enumerate(numbered(200_000, per_batch=10_000)):
            if number == 15:
                seen_on_disk.append(len(data_files(table.path)))
            yield batch

    result = table.commit(batches(), schema=PEOPLE, mode="overwrite")
    assert seen_on_disk[0] > 0  # files were written while the input was still being read
    assert result.rows_written == 200_000 and result.files > 1
    assert table.count() == 200_000


def test_an_input_that_fails_midway_leaves_no_version_and_no_files(table: LakeTable) -> None:
    before = data_files(table.path)

    def failing() -> Iterator[pa.RecordBatch]:
        yield from numbered(50_000, start=100)
        raise UnicodeDecodeError("gb18030", b"\xff", 0, 1, "illegal multibyte sequence")

    for mode in ("append", "overwrite", "merge"):
        with pytest.raises(UnicodeDecodeError, match="illegal multibyte"):
            table.commit(failing(), schema=PEOPLE, mode=mode, key=["id"])  # type: ignore[arg-type]
        assert table.version() == 0
        assert len(table.versions()) == 1
        assert rows_of(table.read()) == sorted(BASE)
        assert data_files(table.path) == before
        assert not (table.path / "_staging").exists() or not any(
            (table.path / "_staging").iterdir()
        )


def test_a_second_writer_is_refused_while_a_load_holds_the_table(table: LakeTable) -> None:
    with write_lock(table.path, table=table.name, timeout=0):
        with pytest.raises(Conflict, match="being written by another load"):
            table.commit([people(BASE)], schema=PEOPLE, mode="append")
    assert table.version() == 0
    assert table.commit([people(BASE)], schema=PEOPLE, mode="append").version == 1
