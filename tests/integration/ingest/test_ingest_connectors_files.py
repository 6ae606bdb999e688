"""File connectors on real files: the demo city's GB18030 CSV, BOM CSV, Excel with a title row and
merged group headers, NDJSON, API-shaped JSON, and Parquet; and their errors.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from rongshu.core.errors import ValidationFailed
from rongshu.demo.generator import generate_city
from rongshu.ingest.connectors import (
    Connector,
    SourceNotFound,
    SourceSpec,
    SourceUnreadable,
    WatermarkFilter,
    open_connector,
)
from rongshu.ingest.connectors.delimited import CsvConnector
from rongshu.ingest.connectors.jsonfile import JsonConnector


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate_city(out, rows=500, seed=1)
    return out / "sources"


def _open(kind: str, **options: object) -> Connector:
    return open_connector(SourceSpec(kind=kind, options=dict(options)))


def _rows(connector: Connector, **kwargs: object) -> list[dict[str, object]]:
    return [row for batch in connector.batches(**kwargs) for row in batch.to_pylist()]  # type: ignore[arg-type]


def _truth(city: Path, key: str) -> dict[str, object]:
    manifest = json.loads((city.parent / "ground_truth" / "manifest.json").read_text("utf-8"))
    return next(t for t in manifest["tables"] if t["key"] == key)


# --- CSV --------------------------------------------------------------------------------------


def test_gb18030_csv_is_detected_and_read_in_full(city: Path) -> None:
    path = city / "mz" / "marriage_registrations.csv"
    connector = _open("csv", path=str(path))
    assert connector.columns()[:3] == ["结婚证字号", "男方姓名", "男方身份证号"]
    rows = _rows(connector, batch_rows=50)
    assert len(rows) == _truth(city, "marriage_registrations")["rows"]
    assert all(isinstance(v, str | None) for row in rows for v in row.values())
    first_line = path.read_bytes().split(b"\n")[1].decode("gb18030")
    assert rows[0]["男方姓名"] == first_line.split(",")[1]
    assert connector.bytes_read == path.stat().st_size


def test_batches_never_exceed_batch_rows(city: Path) -> None:
    connector = _open("csv", path=str(city / "rs" / "social_insurance.csv"))
    sizes = [b.num_rows for b in connector.batches(batch_rows=100)]
    assert max(sizes) <= 100
    assert sum(sizes) == _truth(city, "social_insurance")["rows"]


def test_utf8_bom_csv_has_a_clean_first_column_name(city: Path) -> None:
    connector = _open("csv", path=str(city / "wj" / "birth_certificates.csv"))
    assert connector.columns()[0] == "出生医学证明编号"
    preview = connector.preview(3)
    assert preview.num_rows == 3
    assert preview.schema.names == connector.columns()


def test_empty_cells_are_nulls_and_values_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("编号,金额,日期\n001,,2020年1月2日\n002,１２,20200102\n", encoding="utf-8")
    rows = _rows(_open("csv", path=str(path)))
    assert rows == [
        {"编号": "001", "金额": None, "日期": "2020年1月2日"},
        {"编号": "002", "金额": "１２", "日期": "20200102"},
    ]


def test_title_row_and_grouped_header_in_a_gbk_csv(tmp_path: Path) -> None:
    path = tmp_path / "婚姻.csv"
    text = (
        "榕城市民政局婚姻登记信息（2024年）,,,,\n"
        "结婚证字号,男方,,女方,\n"
        ",姓名,身份证号,姓名,身份证号\n"
        "J1,黄振浩,350121199209215618,林怡静,350121199511049585\n"
        'J2,"余,寿",350127195604077577,黄梅云,420106196002263947\n'
    )
    path.write_bytes(text.encode("gbk"))
    connector = _open("csv", path=str(path))
    assert connector.columns() == [
        "结婚证字号",
        "男方_姓名",
        "男方_身份证号",
        "女方_姓名",
        "女方_身份证号",
    ]
    rows = _rows(connector)
    assert [r["男方_姓名"] for r in rows] == ["黄振浩", "余,寿"]


def test_tsv_and_explicit_header_row(tmp_path: Path) -> None:
    path = tmp_path / "levels.tsv"
    path.write_text(
        "报表\n单位\t水利局\n站点\t水位\n竹岐\t4.91\n解放大桥\t1.42\n", encoding="utf-8"
    )
    connector = _open("csv", path=str(path), header_row=3)
    assert connector.columns() == ["站点", "水位"]
    assert _rows(connector)[1] == {"站点": "解放大桥", "水位": "1.42"}


def test_several_files_are_read_in_turn_and_must_share_columns(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    first.write_text("id,name\n1,甲\n", encoding="utf-8")
    second.write_bytes("id,name\n2,乙\n".encode("gb18030"))
    other.write_text("id,other\n3,丙\n", encoding="utf-8")
    connector = _open("csv", path=[str(first), str(second)])
    assert _rows(connector) == [{"id": "1", "name": "甲"}, {"id": "2", "name": "乙"}]
    assert connector.bytes_read == first.stat().st_size + second.stat().st_size
    with pytest.raises(SourceUnreadable, match="other columns"):
        _rows(_open("csv", path=[str(first), str(other)]))


def test_watermark_filters_file_rows(city: Path) -> None:
    connector = _open("csv", path=str(city / "sl" / "water_levels.csv"))
    rows = _rows(connector, watermark=WatermarkFilter("记录编号", 100))
    assert [int(str(r["记录编号"])) for r in rows] == list(range(101, 126))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFound, match="source file not found: .*nope.csv"):
        _open("csv", path=str(tmp_path / "nope.csv"))


def test_undecodable_file_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"id,name\n1,caf\xe9\xff\n")
    with pytest.raises(SourceUnreadable, match=r"byte offset 13 \(line 2\)") as caught:
        _open("csv", path=str(path)).columns()
    assert caught.value.details[0]["offset"] == 13


def test_bad_byte_past_the_sample_fails_the_read_with_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    line = "1,黄振浩,榕城市鼓楼区五四路1号\n".encode()
    good = line * (3 * 1024 * 1024 // len(line))
    path.write_bytes(b"id,name,address\n" + good + b"2,\xff\xfe,x\n" + line)
    offset = len(b"id,name,address\n" + good) + 2
    connector = _open("csv", path=str(path))
    assert connector.columns() == ["id", "name", "address"]
    with pytest.raises(SourceUnreadable, match=f"byte offset {offset:,}") as caught:
        _rows(connector)
    assert caught.value.details[0]["line"] == 2 + good.count(b"\n")


def test_bad_byte_in_a_gb18030_stream_names_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "late_gb.csv"
    line = "1,黄振浩,榕城市鼓楼区五四路1号\n".encode("gb18030")
    good = line * (2 * 1024 * 1024 // len(line))
    path.write_bytes(b"id,name,address\n" + good + b"2,\x81\x20,x\n")
    offset = len(b"id,name,address\n" + good) + 2
    connector = _open("csv", path=str(path), encoding="gbk")
    with pytest.raises(SourceUnreadable, match=f"byte offset {offset:,}.*gb18030"):
        _rows(connector)


def test_row_with_extra_fields_stops_the_read_or_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("id,name\n1,甲\n2,乙,多余\n3,丙\n", encoding="utf-8")
    with pytest.raises(SourceUnreadable, match="Expected 2 columns, got 3.*bad_rows"):
        _rows(_open("csv", path=str(path)))
    connector = _open("csv", path=str(path), bad_rows="reject")
    assert isinstance(connector, CsvConnector)
    assert [r["id"] for r in _rows(connector)] == ["1", "3"]
    assert [(b.actual_columns, b.text) for b in connector.bad_rows] == [(3, "2,乙,多余")]


def test_fingerprint_changes_with_the_content(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("id\n1\n", encoding="utf-8")
    connector = _open("csv", path=str(path))
    before = connector.fingerprint()
    assert before == connector.fingerprint()
    path.write_text("id\n2\n", encoding="utf-8")
    assert connector.fingerprint() != before


# --- Excel ------------------------------------------------------------------------------------


def test_demo_workbook_with_title_and_merged_headers(city: Path) -> None:
    connector = _open("excel", path=str(city / "jy" / "student_status.xlsx"))
    truth = _truth(city, "student_status")
    assert connector.columns() == [c["label"] for c in truth["columns"]]
    rows = _rows(connector, batch_rows=10)
    assert len(rows) == truth["rows"]
    # Compare with what openpyxl reads from the same cells: date cells as ISO dates, dates typed
    # as Excel serial numbers as whole numbers, text as text, empty cells as nulls.
    workbook = openpyxl.load_workbook(city / "jy" / "student_status.xlsx", read_only=True)
    try:
        cells = list(workbook.active.iter_rows(min_row=4, values_only=True))
    finally:
        workbook.close()  # a read-only workbook keeps its file open until closed
    expected = []
    for values in cells:
        expected.append(
            [
                None
                if v is None
                else v.date().isoformat()
                if isinstance(v, datetime)
                else str(int(v))
                if isinstance(v, int | float)
                else str(v)
                for v in values
            ]
        )
    assert [list(row.values()) for row in rows] == expected
    assert any(str(r["出生日期"]).isdigit() for r in rows)


def test_workbook_cells_become_text_as_a_person_would_read_them(tmp_path: Path) -> None:
    path = tmp_path / "cells.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("数据")
    workbook.add_worksheet("说明")
    sheet.merge_range(1, 1, 1, 5, "榕城市 测试表")
    sheet.write_row(2, 1, ["电话", "金额", "日期", "在职", "备注"])
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_number(3, 1, 13800000001)
    sheet.write_number(3, 2, 1234.5)
    sheet.write_datetime(3, 3, datetime(2020, 1, 2, 3, 4, 5), stamp)
    sheet.write_boolean(3, 4, True)
    sheet.write_number(4, 1, 13800000002)
    sheet.write_number(4, 3, 43831)
    sheet.write_string(4, 5, "  ")
    workbook.close()
    connector = _open("excel", path=str(path))
    assert connector.columns() == ["电话", "金额", "日期", "在职", "备注"]
    assert _rows(connector) == [
        {
            "电话": "13800000001",
            "金额": "1234.5",
            "日期": "2020-01-02 03:04:05",
            "在职": "true",
            "备注": None,
        },
        {"电话": "13800000002", "金额": None, "日期": "43831", "在职": None, "备注": "  "},
    ]
    assert _open("excel", path=str(path), sheet="说明").columns() == []
    with pytest.raises(SourceNotFound, match="no sheet '统计'.*数据, 说明"):
        _open("excel", path=str(path), sheet="统计").columns()


def test_a_file_that_is_not_a_workbook_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("id,name\n1,甲\n", encoding="utf-8")
    with pytest.raises(SourceUnreadable, match="not a readable Excel workbook"):
        _open("excel", path=str(path)).columns()


# --- JSON -------------------------------------------------------------------------------------


def test_api_shaped_json_file_with_and_without_records_path(city: Path) -> None:
    path = city / "jt" / "parking_occupancy.json"
    truth = _truth(city, "parking_occupancy")
    for options in ({}, {"records_path": "data"}):
        connector = _open("json", path=str(path), **options)
        assert connector.columns() == [c["name"] for c in truth["columns"]]
        rows = _rows(connector, batch_rows=40)
        assert len(rows) == truth["rows"]
        assert rows[0]["updateTime"] is not None and str(rows[0]["updateTime"]).isdigit()


def test_ndjson_is_streamed_line_by_line(city: Path) -> None:
    path = city / "sthj" / "air_quality_readings.ndjson"
    connector = _open("json", path=str(path))
    rows = _rows(connector, batch_rows=64)
    assert len(rows) == _truth(city, "air_quality_readings")["rows"]
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert rows[1]["station_name"] == lines[1]["station_name"]
    assert rows[1]["pm10"] == (None if lines[1]["pm10"] is None else repr(lines[1]["pm10"]))
    assert connector.bytes_read == path.stat().st_size


def test_array_and_nested_paths_and_nested_objects(tmp_path: Path) -> None:
    array = tmp_path / "a.json"
    array.write_text(json.dumps([{"id": 1, "loc": {"lat": 26.08}}, {"id": 2, "tags": ["x"]}]))
    assert _rows(_open("json", path=str(array))) == [
        {"id": "1", "loc.lat": "26.08", "tags": None},
        {"id": "2", "loc.lat": None, "tags": '["x"]'},
    ]
    nested = tmp_path / "n.json"
    nested.write_text(
        json.dumps({"code": 0, "result": {"page": 1, "items": [{"id": 5}, {"id": 6}]}, "msg": "ok"})
    )
    assert _rows(_open("json", path=str(nested), records_path="result.items")) == [
        {"id": "5"},
        {"id": "6"},
    ]
    with pytest.raises(SourceUnreadable, match="no records at 'result.rows'"):
        _rows(_open("json", path=str(nested), records_path="result.rows"))


def test_broken_json_is_a_clear_error_and_bad_ndjson_lines_can_be_set_aside(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [{"id": 1}, {"id": 2,}]}')
    with pytest.raises(SourceUnreadable, match="invalid JSON"):
        _rows(_open("json", path=str(broken)))
    lines = tmp_path / "x.ndjson"
    lines.write_text('{"id": 1}\n{"id": 2\n\n{"id": 3}\n', encoding="utf-8")
    with pytest.raises(SourceUnreadable, match="line 2 is not valid JSON"):
        _rows(_open("json", path=str(lines)))
    connector = _open("json", path=str(lines), bad_rows="reject")
    assert [r["id"] for r in _rows(connector)] == ["1", "3"]
    assert isinstance(connector, JsonConnector)
    assert [(b.line, b.text) for b in connector.bad_rows] == [(2, '{"id": 2')]


def test_gb18030_json_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "gb.json"
    path.write_bytes(json.dumps([{"名称": "鼓楼区"}], ensure_ascii=False).encode("gb18030"))
    assert _rows(_open("json", path=str(path))) == [{"名称": "鼓楼区"}]


def test_large_json_array_streams_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("w", encoding="utf-8") as out:
        out.write('{"code": 0, "data": [')
        out.write(",".join(json.dumps({"id": i, "name": f"名{i}"}) for i in range(50_000)))
        out.write('], "total": 50000}')
    sizes = [b.num_rows for b in _open("json", path=str(path)).batches(batch_rows=8192)]
    assert sum(sizes) == 50_000
    assert max(sizes) == 8192


# --- Parquet ----------------------------------------------------------------------------------


@pytest.fixture
def parquet_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "t.parquet"
    table = pa.table(
        {
            "id": pa.array(range(1, 1001), pa.int64()),
            "district": pa.array(["鼓楼区", "台江区"] * 500).dictionary_encode(),
            "updated": pa.array([datetime(2024, 1, 1, 0, 0, i % 60) for i in range(1000)]),
        }
    )
    pq.write_table(table, path, row_group_size=100)
    yield path


def test_parquet_keeps_types_and_pushes_the_watermark_down(parquet_file: Path) -> None:
    connector = _open("parquet", path=str(parquet_file))
    assert connector.columns() == ["id", "district", "updated"]
    batches = list(connector.batches(batch_rows=300, watermark=WatermarkFilter("id", 900)))
    assert sum(b.num_rows for b in batches) == 100
    assert batches[0].schema.field("id").type == pa.int64()
    assert batches[0].schema.field("district").type == pa.string()
    assert all(v == "string" for v in (str(f.type) for f in connector.preview(2).schema))


def test_a_file_that_is_not_parquet_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_text("not parquet")
    with pytest.raises(SourceUnreadable, match="Parquet"):
        _open("parquet", path=str(path)).columns()


def test_options_for_files_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    with pytest.raises(ValidationFailed, match="delimiter"):
        _open("csv", path=str(path), delimiter=";;")
    with pytest.raises(ValidationFailed, match="path"):
        _open("csv", path="")
    assert codecs.lookup("gb18030")
