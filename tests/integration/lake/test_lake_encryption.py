"""Encrypted fields at rest: the files hold SM4-GCM tokens, every reader with the field key sees
plain typed values, appends and merges keep the sealing, and rotation leaves old data readable."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rongshu.core.errors import ConfigurationError
from rongshu.core.keys import KeyPurpose, LocalKeyDirectory
from rongshu.lake.duckdb_engine import DuckDBEngine
from rongshu.lake.encryption import FieldCipher, sealed_columns
from rongshu.lake.tables import Lake

SCHEMA = pa.schema(
    [("id", pa.string()), ("id_number", pa.string()), ("born", pa.date32()), ("n", pa.int64())]
)


def rows(start: int, count: int) -> pa.Table:
    return pa.table(
        {
            "id": [f"k{i}" for i in range(start, start + count)],
            "id_number": [
                None if i % 7 == 0 else f"35010219900101{i:04d}"
                for i in range(start, start + count)
            ],
            "born": [date(1990, 1, 1 + i % 28) for i in range(start, start + count)],
            "n": list(range(start, start + count)),
        },
        schema=SCHEMA,
    )


@pytest.fixture
def keys(tmp_path: Path) -> LocalKeyDirectory:
    return LocalKeyDirectory(tmp_path / "keys")


@pytest.fixture
def lake(tmp_path: Path, keys: LocalKeyDirectory) -> Lake:
    return Lake(tmp_path / "lake", cipher=FieldCipher(keys))


def stored_values(lake: Lake, column: str) -> list[object]:
    files = lake.table("T").scan().files
    return [v for f in files for v in pq.read_table(f, columns=[column]).column(0).to_pylist()]


def test_sealed_columns_are_tokens_on_disk_and_plain_to_readers(lake: Lake) -> None:
    table = lake.table("T")
    data = rows(0, 500)
    table.commit(data.to_batches(), schema=SCHEMA, mode="overwrite", encrypt=["id_number", "born"])
    on_disk = stored_values(lake, "id_number")
    assert all(v is None or str(v).startswith("sm4gcm:v1:") for v in on_disk)
    assert not set(on_disk) & set(data.column("id_number").to_pylist()) - {None}
    assert sealed_columns(table.stored_schema()) == {"id_number": "string", "born": "date"}
    assert table.schema() == SCHEMA
    assert table.read().equals(data)
    with lake.work_engine() as engine:
        engine.register("t", table)
        seen = engine.query("SELECT * FROM t ORDER BY n")
    assert seen.column("born").to_pylist() == data.column("born").to_pylist()
    assert seen.column("id_number").to_pylist() == data.column("id_number").to_pylist()


def test_appends_and_merges_keep_the_sealing(lake: Lake) -> None:
    table = lake.table("T")
    table.commit(rows(0, 100).to_batches(), schema=SCHEMA, mode="overwrite", encrypt=["id_number"])
    table.commit(rows(100, 50).to_batches(), schema=SCHEMA, mode="append")
    changed = rows(120, 60)  # 30 of them replace appended rows, 30 are new
    table.commit(changed.to_batches(), schema=SCHEMA, mode="merge", key=["id"])
    assert all(v is None or str(v).startswith("sm4gcm:") for v in stored_values(lake, "id_number"))
    read = table.read().sort_by("n")
    assert read.num_rows == 180
    assert (
        read.column("id_number").to_pylist()
        == pa.concat_tables([rows(0, 120), changed]).column("id_number").to_pylist()
    )


def test_a_key_column_is_never_sealed(lake: Lake) -> None:
    table = lake.table("T")
    table.commit(rows(0, 10).to_batches(), schema=SCHEMA, mode="merge", key=["id"], encrypt=["id"])
    assert sealed_columns(table.stored_schema()) == {}


def test_without_the_field_key_nothing_is_read(lake: Lake, tmp_path: Path) -> None:
    lake.table("T").commit(
        rows(0, 10).to_batches(), schema=SCHEMA, mode="overwrite", encrypt=["id_number"]
    )
    keyless = Lake(tmp_path / "lake")
    with pytest.raises(ConfigurationError):
        keyless.table("T").read()
    with DuckDBEngine() as engine, pytest.raises(ConfigurationError):
        engine.register("t", keyless.table("T"))


def test_old_tokens_stay_readable_after_a_rotation(lake: Lake, keys: LocalKeyDirectory) -> None:
    table = lake.table("T")
    table.commit(rows(0, 40).to_batches(), schema=SCHEMA, mode="overwrite", encrypt=["id_number"])
    assert keys.rotate(KeyPurpose.FIELD) == 2
    table.commit(rows(40, 40).to_batches(), schema=SCHEMA, mode="append")
    versions = {str(v).split(":")[1] for v in stored_values(lake, "id_number") if v}
    assert versions == {"v1", "v2"}
    assert table.read().sort_by("n").equals(rows(0, 80))
