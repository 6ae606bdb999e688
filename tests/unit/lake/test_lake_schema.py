"""Lake schemas from catalog fields, loads checked against them, names and disk errors."""

from __future__ import annotations

import errno
from pathlib import Path

import pyarrow as pa
import pytest

from rongshu.catalog.schemas import FieldSpec, FieldType
from rongshu.core.errors import ConfigurationError, Conflict, ValidationFailed
from rongshu.lake import FIELD_ARROW_TYPES, arrow_schema, key_columns
from rongshu.lake.errors import LakeStorageError
from rongshu.lake.schema import check_compatible, conform_batch
from rongshu.lake.storage import storage_error, storage_problem
from rongshu.lake.tables import directory_name


def field(name: str, column: str, data_type: FieldType | None, **extra: object) -> FieldSpec:
    return FieldSpec(name=name, english_name=column, data_type=data_type, **extra)  # type: ignore[arg-type]


def test_every_catalog_field_type_has_the_agreed_arrow_type() -> None:
    fields = [field(t.value, f"c_{t.value}", t) for t in FieldType]
    schema = arrow_schema(fields)
    assert {f.name: f.type for f in schema} == {
        "c_string": pa.string(),
        "c_integer": pa.int64(),
        "c_decimal": pa.float64(),
        "c_date": pa.date32(),
        "c_datetime": pa.timestamp("us", tz="UTC"),
        "c_boolean": pa.bool_(),
        "c_binary": pa.binary(),
    }
    assert set(FIELD_ARROW_TYPES) == set(FieldType)
    assert all(f.nullable for f in schema)


def test_columns_follow_the_field_order_and_keys_are_listed() -> None:
    fields = [
        field("姓名", "name", FieldType.STRING),
        field("公民身份号码", "id_number", FieldType.STRING, is_key=True),
        field("年份", "year", FieldType.INTEGER, is_key=True),
    ]
    assert arrow_schema(fields).names == ["name", "id_number", "year"]
    assert key_columns(fields) == ["id_number", "year"]


def test_fields_that_cannot_be_columns_are_all_reported() -> None:
    fields = [
        field("姓名", "", FieldType.STRING),
        field("年龄", "age", None),
        field("住址", "home address", FieldType.STRING),
        field("编号", "_id", FieldType.STRING),
        field("电话", "phone", FieldType.STRING),
        field("手机", "Phone", FieldType.STRING),
    ]
    with pytest.raises(ValidationFailed) as raised:
        arrow_schema(fields)
    problems = {d["field"]: d["problem"] for d in raised.value.details}
    assert set(problems) == {"姓名", "年龄", "住址", "编号", "手机"}
    assert "no english_name" in problems["姓名"]
    assert "no data type" in problems["年龄"]
    assert "space" in problems["住址"]
    assert "starts with '_'" in problems["编号"]
    assert "appears twice" in problems["手机"]


def test_no_fields_make_no_table() -> None:
    with pytest.raises(ValidationFailed, match="at least one field"):
        arrow_schema([])


def test_a_batch_is_reordered_and_cast_to_the_schema() -> None:
    schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
    batch = pa.record_batch(
        [pa.array(["a"], pa.large_string()), pa.array([1], pa.int16())], names=["name", "id"]
    )
    conformed = conform_batch(batch, schema)
    assert conformed.schema == schema
    assert conformed.to_pylist() == [{"id": 1, "name": "a"}]


def test_a_batch_that_cannot_be_cast_is_refused_with_the_column() -> None:
    schema = pa.schema([("id", pa.int64())])
    batch = pa.record_batch([pa.array(["x"])], names=["id"])
    with pytest.raises(ValidationFailed, match="column 'id' is string and cannot become int64"):
        conform_batch(batch, schema)


def test_loads_may_add_columns_but_not_drop_or_retype_them() -> None:
    current = pa.schema([("id", pa.int64()), ("name", pa.string())])
    assert check_compatible("t", current, current.append(pa.field("age", pa.int64()))) is True
    assert (
        check_compatible("t", current, pa.schema([("id", pa.int64()), ("name", pa.large_string())]))
        is False
    )
    with pytest.raises(Conflict, match="'name' is missing from the load"):
        check_compatible("t", current, pa.schema([("id", pa.int64())]))
    with pytest.raises(Conflict, match="'id' is int64 in the table but string in the load"):
        check_compatible("t", current, pa.schema([("id", pa.string()), ("name", pa.string())]))


def test_table_names_map_to_distinct_safe_directory_names() -> None:
    assert directory_name("GA-0001") == "GA-0001"
    names = ["GA/0001", "GA 0001", "GA_0001", "../GA-0001", "人口库", "人口", "."]
    directories = [directory_name(n) for n in names]
    assert len(set(directories)) == len(names)
    for directory in directories:
        assert "/" not in directory and not directory.startswith((".", "_"))
    assert directory_name("GA_0001") == "GA_0001"
    with pytest.raises(ValidationFailed):
        directory_name("  ")


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
        (OSError(errno.EROFS, "Read-only file system"), "read-only"),
        (Exception("Generic LocalFileSystem error: No space left on device (os error 28)"), "full"),
        (Exception("Failed to put: Read-only file system (os error 30)"), "read-only"),
        (Exception("Permission denied (os error 13)"), "may not be written"),
    ],
)
def test_disk_errors_are_explained(error: BaseException, words: str) -> None:
    problem = storage_problem(error)
    assert problem is not None and words in problem
    explained = storage_error(error, table="GA-0001", path=Path("/lake"), action="the commit")
    assert isinstance(explained, LakeStorageError) and isinstance(explained, ConfigurationError)
    assert "GA-0001" in explained.message and "unchanged" in explained.message


def test_other_errors_are_not_called_disk_errors() -> None:
    assert storage_problem(ValueError("bad value")) is None
    explained = storage_error(ValueError("bad value"), table="t", path=Path("/lake"), action="x")
    assert not isinstance(explained, LakeStorageError)
    assert "bad value" in explained.message
