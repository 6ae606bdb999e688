"""Field mapping: suggesting a mapping, and mapping batches into good rows and rejected cells."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rongshu.catalog.schemas import FieldSpec, FieldType
from rongshu.core.errors import ValidationFailed
from rongshu.demo.catalog_resources import table_resource
from rongshu.demo.schema import TABLES
from rongshu.ingest.mapping import (
    REJECTED_SCHEMA,
    REQUIRED_REASON,
    ColumnMapping,
    FieldMapping,
    Mapper,
    target_schema,
)

FIELDS = [
    FieldSpec(name="人员编号", english_name="person_id", data_type=FieldType.STRING, is_key=True),
    FieldSpec(name="姓名", english_name="name", data_type=FieldType.STRING),
    FieldSpec(name="出生日期", english_name="birth_date", data_type=FieldType.DATE),
    FieldSpec(name="登记时间", english_name="registered_at", data_type=FieldType.DATETIME),
    FieldSpec(name="家庭人数", english_name="members", data_type=FieldType.INTEGER),
    FieldSpec(name="补贴金额", english_name="amount", data_type=FieldType.DECIMAL),
    FieldSpec(name="是否低保", english_name="on_relief", data_type=FieldType.BOOLEAN),
    FieldSpec(
        name="联系电话", english_name="phone", data_type=FieldType.STRING, rules=["not_null"]
    ),
]
SOURCE = ["编号", "姓名", "出生日期", "登记时间", "人数", "金额", "低保", "电话"]


def mapping() -> FieldMapping:
    targets = [field.english_name for field in FIELDS]
    return FieldMapping(
        columns=[ColumnMapping(source=s, target=t) for s, t in zip(SOURCE, targets, strict=True)]
    )


def batch(*rows: tuple[Any, ...]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(SOURCE)
    return pa.RecordBatch.from_arrays(
        [pa.array(list(column), pa.string()) for column in columns], names=SOURCE
    )


GOOD_ROW = (
    "P1",
    "　张三 ",
    "2020年1月2日",
    "2020-01-02 08:30",
    "３",
    "1,234.50",
    "是",
    "１３５５０６４９０８６",
)


def test_a_clean_row_is_typed_renamed_and_normalised() -> None:
    mapped = Mapper(mapping(), FIELDS).map(batch(GOOD_ROW), first_row=1)
    assert mapped.good.schema == target_schema(FIELDS)
    assert mapped.good.to_pylist() == [
        {
            "person_id": "P1",
            "name": "张三",
            "birth_date": date(2020, 1, 2),
            "registered_at": datetime(2020, 1, 2, 0, 30, tzinfo=UTC),
            "members": 3,
            "amount": 1234.5,
            "on_relief": True,
            "phone": "13550649086",
        }
    ]
    assert mapped.rejected.num_rows == 0
    assert mapped.rejected.schema == REJECTED_SCHEMA


def test_target_schema_follows_the_catalog_types() -> None:
    schema = target_schema(FIELDS)
    assert schema.names == [field.english_name for field in FIELDS]
    assert [str(t) for t in schema.types] == [
        "string", "string", "date32[day]", "timestamp[us, tz=UTC]", "int64", "double", "bool",
        "string",
    ]  # fmt: skip


def test_unreadable_cells_are_rejected_with_reason_value_and_whole_row() -> None:
    bad = ("P2", "李四", "2020年13月1日", "", "三人", "", "", "13550649086")
    mapped = Mapper(mapping(), FIELDS).map(batch(GOOD_ROW, bad, GOOD_ROW), first_row=101)
    assert mapped.good.column("person_id").to_pylist() == ["P1", "P1"]
    rejected = mapped.rejected.to_pylist()
    assert [(r["row_number"], r["column"], r["value"]) for r in rejected] == [
        (102, "birth_date", "2020年13月1日"),
        (102, "members", "三人"),
    ]
    assert rejected[0]["reason"] == "日期无法识别 (unrecognised date): 2020年13月1日"
    assert rejected[1]["reason"] == "整数无法识别 (not an integer): 三人"
    raw = json.loads(rejected[0]["raw"])
    assert raw == dict(zip(SOURCE, bad, strict=True))


def test_an_empty_required_field_rejects_the_row_an_optional_one_is_null() -> None:
    no_phone = ("P3", "", "", "", "", "", "", "　")
    no_key = (None, *GOOD_ROW[1:])
    strict = mapping()
    strict.columns[-1].required = True
    mapped = Mapper(strict, FIELDS).map(batch(no_phone, no_key), first_row=1)
    assert mapped.good.num_rows == 0
    assert [(r["row_number"], r["column"], r["reason"]) for r in mapped.rejected.to_pylist()] == [
        (1, "phone", REQUIRED_REASON),
        (2, "person_id", REQUIRED_REASON),
    ]
    # By default only the key is required: a not_null field's gap is kept for the quality run.
    kept = Mapper(mapping(), FIELDS).map(batch(no_phone, no_key), first_row=1)
    assert [r["column"] for r in kept.rejected.to_pylist()] == ["person_id"]
    row = kept.good.to_pylist()[0]
    assert row["phone"] is None and row["name"] is None and row["birth_date"] is None


def test_per_column_steps_and_a_field_left_empty() -> None:
    custom = mapping()
    custom.columns[1].skip = ["halfwidth"]
    custom.columns[7].normalise = ["no_spaces"]
    custom.columns[5] = ColumnMapping(source=None, target="amount")
    row = ("P1", "ＡＢ", "2020-01-02", "", "1", "99", "否", "135 5064 9086")
    good = Mapper(custom, FIELDS).map(batch(row), first_row=1).good.to_pylist()[0]
    assert good["name"] == "ＡＢ"
    assert good["phone"] == "13550649086"
    assert good["amount"] is None
    assert good["on_relief"] is False


def test_date_formats_override_for_day_first_sources() -> None:
    custom = mapping()
    custom.columns[2].date_formats = ["%d/%m/%Y"]
    row = ("P1", "A", "02/01/2020", "", "", "", "", "1")
    good = Mapper(custom, FIELDS).map(batch(row), first_row=1).good.to_pylist()[0]
    assert good["birth_date"] == date(2020, 1, 2)


def test_the_mapping_is_plain_json_to_save_with_the_source() -> None:
    saved = mapping().model_dump(mode="json")
    assert FieldMapping.model_validate(json.loads(json.dumps(saved))) == mapping()
    assert saved["defaults"] == ["halfwidth", "trim", "empty_to_null"]


def test_every_problem_in_a_mapping_is_reported_at_once() -> None:
    broken = FieldMapping(
        columns=[
            ColumnMapping(source="编号", target="person_id", normalise=["shout"]),
            ColumnMapping(source="x", target="nonexistent"),
            ColumnMapping(source="出生日期", target="birth_date", date_formats=["%Y-%q"]),
            ColumnMapping(source="出生日期", target="birth_date"),
            ColumnMapping(source=None, target="phone", required=True),
        ],
        timezone="Mars/Olympus",
    )
    with pytest.raises(ValidationFailed) as caught:
        Mapper(broken, FIELDS, source_columns=["编号"])
    problems = {(d["field"], d["message"]) for d in caught.value.details}
    assert ("person_id", "unknown normalisation step shout") in problems
    assert ("nonexistent", "is not a field of the resource") in problems
    assert ("birth_date", "is mapped twice") in problems
    assert ("timezone", "unknown time zone Mars/Olympus") in problems
    assert ("phone", "is required but has no source column") in problems
    assert ("出生日期", "is not a column of the source") in problems
    assert any(f == "birth_date" and "%q" in m for f, m in problems)


def test_a_batch_without_a_mapped_column_is_refused() -> None:
    mapper = Mapper(mapping(), FIELDS)
    short = batch(GOOD_ROW).drop_columns(["电话"])
    with pytest.raises(ValidationFailed, match="电话"):
        mapper.map(short, first_row=1)


def test_fields_without_a_column_name_or_type_cannot_form_a_table() -> None:
    with pytest.raises(ValidationFailed):
        target_schema([FieldSpec(name="无名", english_name="", data_type=FieldType.STRING)])
    with pytest.raises(ValidationFailed):
        target_schema([FieldSpec(name="无类型", english_name="x", data_type=None)])


# -- suggest ----------------------------------------------------------------------------------


def test_suggest_matches_english_chinese_loose_and_alias_names() -> None:
    columns = ["PERSON_ID", "姓名", "出生日期 ", "registeredAt", "家庭人数(人)", "Amount",
               "是否低保", "手机号码", "备注"]  # fmt: skip
    suggested = FieldMapping.suggest(columns, FIELDS)
    assert {c.target: c.source for c in suggested.columns} == {
        "person_id": "PERSON_ID",
        "name": "姓名",
        "birth_date": "出生日期 ",
        "registered_at": "registeredAt",
        "members": "家庭人数(人)",
        "amount": "Amount",
        "on_relief": "是否低保",
        "phone": "手机号码",
    }
    assert suggested.ignored == ["备注"]
    assert suggested.unmatched_fields == []


def test_suggest_reads_pinyin_initials_and_flattened_merged_headers() -> None:
    fields = [
        FieldSpec(name="公民身份号码", english_name="id_number", data_type=FieldType.STRING),
        FieldSpec(name="姓名", english_name="name", data_type=FieldType.STRING),
        FieldSpec(name="入学日期", english_name="enrollment_date", data_type=FieldType.DATE),
    ]
    suggested = FieldMapping.suggest(["sfzh", "学生基本信息/姓名", "学籍信息_入学日期"], fields)
    assert [c.source for c in suggested.columns] == [
        "sfzh",
        "学生基本信息/姓名",
        "学籍信息_入学日期",
    ]


def test_suggest_does_not_guess_between_two_fields_a_synonym_could_mean() -> None:
    fields = [
        FieldSpec(name="母亲身份证号", english_name="mother_id", data_type=FieldType.STRING),
        FieldSpec(name="父亲身份证号", english_name="father_id", data_type=FieldType.STRING),
    ]
    suggested = FieldMapping.suggest(["身份证号"], fields)
    assert suggested.unmatched_fields == ["mother_id", "father_id"]
    assert suggested.ignored == ["身份证号"]


@pytest.mark.parametrize("table", TABLES, ids=[t.key for t in TABLES])
def test_suggest_maps_every_column_of_every_demo_table(table: Any) -> None:
    fields = table_resource(table).fields
    layouts = {
        "english": list(table.column_names),
        "chinese": [column.label for column in table.columns],
        "merged": [f"信息/{column.label}" for column in table.columns],
    }
    for layout, columns in layouts.items():
        suggested = FieldMapping.suggest(columns, fields)
        expected = {name: columns[i] for i, name in enumerate(table.column_names)}
        assert {c.target: c.source for c in suggested.columns} == expected, layout
        assert suggested.ignored == []
        Mapper(suggested, fields, source_columns=columns)  # and it is a valid mapping


# -- nothing is ever dropped ------------------------------------------------------------------

CELLS = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "2020-01-02", "2020-02-30", "2020年1月2日", "43832", "20200102",
                     "1,234", "１２", "是", "否", "x", "2020-01-02 08:30:00", "1735657200000"]),
    st.text(max_size=12),
)  # fmt: skip
TYPES = st.sampled_from(list(FieldType))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(CELLS, CELLS, CELLS), max_size=40),
    types=st.tuples(TYPES, TYPES, TYPES),
    required=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    first_row=st.integers(min_value=1, max_value=10**9),
)
def test_every_input_row_is_either_good_or_rejected(
    rows: list[tuple[str | None, ...]],
    types: tuple[FieldType, ...],
    required: tuple[bool, ...],
    first_row: int,
) -> None:
    fields = [FieldSpec(name="序号", english_name="seq", data_type=FieldType.INTEGER)] + [
        FieldSpec(name=f"列{i}", english_name=f"c{i}", data_type=t) for i, t in enumerate(types)
    ]
    columns = [ColumnMapping(source="seq", target="seq")] + [
        ColumnMapping(source=f"c{i}", target=f"c{i}", required=r) for i, r in enumerate(required)
    ]
    source = pa.RecordBatch.from_arrays(
        [pa.array(range(len(rows)), pa.int64())]
        + [pa.array([row[i] for row in rows], pa.string()) for i in range(3)],
        names=["seq", "c0", "c1", "c2"],
    )
    mapped = Mapper(FieldMapping(columns=columns), fields).map(source, first_row=first_row)

    good = mapped.good.column("seq").to_pylist()
    rejected = {n - first_row for n in mapped.rejected.column("row_number").to_pylist()}
    assert set(good).isdisjoint(rejected)
    assert sorted([*good, *rejected]) == list(range(len(rows)))
    assert mapped.good.schema == target_schema(fields)
    for record in mapped.rejected.to_pylist():
        assert record["reason"]
        assert json.loads(record["raw"])["seq"] == record["row_number"] - first_row
