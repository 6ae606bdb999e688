"""Reading bureaus' spreadsheets: title rows, merged headers, blank lines, CSV encodings."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
import xlsxwriter

from rongshu.catalog.columns import header_aliases
from rongshu.catalog.sheets import (
    SheetError,
    Table,
    cell_bool,
    cell_date,
    cell_int,
    cell_list,
    cell_text,
    decode_text,
    find_table,
    read_sheets,
)

ALIASES = header_aliases()


def workbook(build: Any) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    build(book)
    book.close()
    return buffer.getvalue()


def only_table(data: bytes, filename: str = "catalog.xlsx") -> Table:
    sheets = read_sheets(data, filename)
    table = find_table(sheets[0], ALIASES)
    assert table is not None
    return table


def test_title_row_merged_group_header_and_blank_lines() -> None:
    def build(book: Any) -> None:
        sheet = book.add_worksheet("2024年目录")
        sheet.merge_range(0, 0, 0, 3, "榕城市政务数据资源目录（2024年）")
        sheet.merge_range(1, 0, 1, 1, "资源信息")
        sheet.merge_range(1, 2, 1, 3, "信息项")
        sheet.write_row(2, 0, ["资源代码", "资源名称", "信息项名称", "数据类型"])
        sheet.write_row(3, 0, ["R1", "人口", "姓名", "字符型"])
        # row 5 is blank; row 6 has only spaces
        sheet.write_row(5, 0, ["  ", "", "\u3000"])
        sheet.write_row(6, 0, ["R1", "人口", "性别", "字符型"])

    table = only_table(workbook(build))
    assert table.sheet == "2024年目录"
    assert table.header_row == 3
    assert [row.number for row in table.rows] == [4, 7]
    assert table.rows[1].values == {
        "code": "R1",
        "name": "人口",
        "field_name": "性别",
        "data_type": "字符型",
    }


def test_two_row_header_with_vertically_merged_cells_and_merged_data() -> None:
    """资源代码 spans both header rows; a resource's cells are merged down over its fields."""

    def build(book: Any) -> None:
        sheet = book.add_worksheet()
        sheet.merge_range(0, 0, 1, 0, "资源代码")
        sheet.merge_range(0, 1, 1, 1, "资源名称")
        sheet.merge_range(0, 2, 0, 3, "信息项")
        sheet.write_row(1, 2, ["信息项名称", "数据类型"])
        sheet.merge_range(2, 0, 4, 0, "R1")
        sheet.merge_range(2, 1, 4, 1, "常住人口户籍信息")
        for offset, name in enumerate(["姓名", "性别", "出生日期"]):
            sheet.write_row(2 + offset, 2, [name, "字符型"])

    table = only_table(workbook(build))
    assert table.header_row == 2
    assert table.headers == {
        "code": "资源代码",
        "name": "资源名称",
        "field_name": "信息项名称",
        "data_type": "数据类型",
    }
    assert [(r.number, r.get("code"), r.get("name"), r.get("field_name")) for r in table.rows] == [
        (3, "R1", "常住人口户籍信息", "姓名"),
        (4, "R1", "常住人口户籍信息", "性别"),
        (5, "R1", "常住人口户籍信息", "出生日期"),
    ]


def test_headers_are_recognised_with_marks_breaks_notes_and_english_names() -> None:
    csv = (
        '*资源代码,"资源\n名称",Share_Type,开放类型（无条件开放/有条件开放/不予开放）,序号\n'
        "R1,人口,有条件共享,不予开放,1\n"
    )
    table = only_table(csv.encode(), "catalog.csv")
    assert table.headers == {
        "code": "*资源代码",
        "name": "资源名称",
        "share_type": "Share_Type",
        "open_type": "开放类型（无条件开放/有条件开放/不予开放）",
    }
    assert table.rows[0].values["share_type"] == "有条件共享"


def test_a_header_repeated_further_down_is_not_data() -> None:
    csv = "资源代码,资源名称\nR1,人口\n资源代码,资源名称\nR2,法人\n"
    table = only_table(csv.encode(), "catalog.csv")
    assert [(r.number, r.get("code")) for r in table.rows] == [(2, "R1"), (4, "R2")]


def test_a_sheet_without_a_header_row_has_no_table() -> None:
    def build(book: Any) -> None:
        book.add_worksheet("填表说明").write_column(0, 0, ["资源代码：资源的唯一编码", "资源名称"])

    assert find_table(read_sheets(workbook(build), "x.xlsx")[0], ALIASES) is None


def test_hidden_sheets_are_not_read() -> None:
    def build(book: Any) -> None:
        book.add_worksheet("目录").write_row(0, 0, ["资源代码", "资源名称"])
        book.add_worksheet("代码表").hide()

    assert [sheet.name for sheet in read_sheets(workbook(build), "x.xlsx")] == ["目录"]


CSV_TEXT = "榕城市政务数据资源目录\n资源代码,资源名称,提供部门\nR1,常住人口户籍信息,榕城市公安局\n"


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (CSV_TEXT.encode("utf-8"), "UTF-8"),
        (CSV_TEXT.encode("utf-8-sig"), "UTF-8"),
        (CSV_TEXT.encode("gb18030"), "GB18030"),
        (CSV_TEXT.encode("gbk"), "GB18030"),
    ],
)
def test_csv_in_utf8_or_gb18030_reads_the_same(encoded: bytes, encoding: str) -> None:
    sheet = read_sheets(encoded, "目录.csv")[0]
    assert sheet.encoding == encoding
    table = find_table(sheet, ALIASES)
    assert table is not None
    assert table.header_row == 2
    assert table.rows[0].values == {
        "code": "R1",
        "name": "常住人口户籍信息",
        "department": "榕城市公安局",
    }


def test_tab_separated_text_is_read() -> None:
    table = only_table("资源代码\t资源名称\nR1\t人口\n".encode(), "catalog.txt")
    assert table.rows[0].values == {"code": "R1", "name": "人口"}


@pytest.mark.parametrize(
    "encoded",
    [
        "资源代码,资源名称\nR1,Größe €\n".encode("cp1252", errors="replace"),
        "code,name\nR1,Größe €\n".encode("cp1252"),
        CSV_TEXT.encode("utf-16"),
    ],
)
def test_csv_that_is_neither_utf8_nor_gb18030_is_refused(encoded: bytes) -> None:
    with pytest.raises(SheetError, match="GB18030"):
        read_sheets(encoded, "catalog.csv")


def test_old_xls_and_broken_xlsx_are_refused() -> None:
    with pytest.raises(SheetError, match=r"\.xls"):
        read_sheets(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "catalog.xls")
    with pytest.raises(SheetError, match="not a valid .xlsx"):
        read_sheets(b"PK\x03\x04 not really a zip", "catalog.xlsx")


def test_decode_text_names_the_encoding() -> None:
    assert decode_text("资源".encode("gb18030")) == ("资源", "GB18030")
    assert decode_text("资源".encode()) == ("资源", "UTF-8")


@pytest.mark.parametrize(
    "cell",
    [
        "2024-01-02",
        "2024/1/2",
        "2024.1.2",
        "2024年1月2日",
        "20240102",
        20240102,
        datetime(2024, 1, 2),
        date(2024, 1, 2),
        "2024-01-02 00:00:00",
    ],
)
def test_dates_in_every_form_bureaus_write(cell: Any) -> None:
    assert cell_date(cell) == date(2024, 1, 2)


@pytest.mark.parametrize("cell", ["2024-02-30", "下周一", "2024-1"])
def test_a_date_that_is_not_a_date_says_which_forms_are_accepted(cell: str) -> None:
    with pytest.raises(ValueError, match="2024年1月2日"):
        cell_date(cell)


def test_yes_no_cells() -> None:
    assert [cell_bool(v) for v in ["是", "Y", "true", "1", 1, True, None]] == [True] * 6 + [False]
    assert [cell_bool(v) for v in ["否", "n", "FALSE", "0", 0.0]] == [False] * 5
    with pytest.raises(ValueError, match="是/否"):
        cell_bool("也许")


def test_numbers_lists_and_text() -> None:
    assert cell_int(18.0) == 18
    assert cell_int("18") == 18
    with pytest.raises(ValueError, match="not a whole number"):
        cell_int("十八")
    assert cell_list("接口、批量交换，文件; api") == ["接口", "批量交换", "文件", "api"]
    assert cell_text(350100.0) == "350100"
    assert cell_text(datetime(2024, 1, 2)) == "2024-01-02"
