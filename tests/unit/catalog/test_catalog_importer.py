"""Reading catalog files of both shapes, and the row-by-row problem report (no database)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import xlsxwriter

from rongshu.catalog.importer import ImportProblem, parse_catalog, read_catalog
from rongshu.catalog.schemas import FieldType, Grade, OpenType, ShareMethod, ShareType, UpdateCycle

RESOURCE_HEADERS = [
    "资源代码",
    "资源名称",
    "提供部门",
    "部门编码",
    "共享类型",
    "共享条件",
    "共享方式",
    "开放类型",
    "法律依据",
    "更新周期",
    "发布日期",
]
FIELD_HEADERS = [
    "信息项名称",
    "数据类型",
    "数据长度",
    "是否主键",
    "是否个人信息",
    "信息项分级",
    "质量规则",
]

R1 = [
    "R1",
    "常住人口户籍信息",
    "榕城市公安局",
    "GAJ",
    "有条件共享",
    "仅限政务用途",
    "接口、批量交换",
]
R1 += ["不予开放", "《中华人民共和国居民身份证法》", "每日", "2024年1月2日"]
R2 = ["R2", "企业登记信息", "榕城市市场监督管理局", "SCJGJ", "无条件共享", "", "文件"]
R2 += ["无条件开放", "", "每月", "2024-03-01"]
R1_FIELDS = [
    ["公民身份号码", "字符型", 18, "是", "是", "一般数据4级", "not_null、ric"],
    ["姓名", "字符型", 50, "否", "是", "一般数据3级", "not_null"],
]
R2_FIELDS = [
    ["统一社会信用代码", "字符型", 18, "Y", "N", "一般数据1级", "uscc"],
    ["企业名称", "string", 200, "", "", "", ""],
]


def xlsx(sheets: dict[str, list[list[Any]]], *, title_rows: int = 0) -> bytes:
    """A workbook; each sheet gets ``title_rows`` merged title rows above its rows."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        width = max(2, *(len(r) for r in rows))
        for index in range(title_rows):
            sheet.merge_range(index, 0, index, width - 1, f"榕城市政务数据资源目录 {index}")
        for offset, cells in enumerate(rows):
            for col, value in enumerate(cells):
                if isinstance(value, date):
                    sheet.write_datetime(title_rows + offset, col, value)
                elif value not in (None, ""):
                    sheet.write(title_rows + offset, col, value)
    book.close()
    return buffer.getvalue()


def shape_a_rows() -> list[list[Any]]:
    rows = [RESOURCE_HEADERS + FIELD_HEADERS]
    rows += [R1 + f for f in R1_FIELDS]
    rows += [[]]  # a blank line between resources
    rows += [R2 + f for f in R2_FIELDS]
    return rows


def shape_a_with_group_header() -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("2024年目录")
    width = len(RESOURCE_HEADERS) + len(FIELD_HEADERS)
    sheet.merge_range(0, 0, 0, width - 1, "榕城市政务数据资源目录（2024年）")
    sheet.merge_range(1, 0, 1, len(RESOURCE_HEADERS) - 1, "资源信息")
    sheet.merge_range(1, len(RESOURCE_HEADERS), 1, width - 1, "信息项")
    for offset, cells in enumerate(shape_a_rows()):
        for col, value in enumerate(cells):
            if value not in (None, ""):
                sheet.write(2 + offset, col, value)
    book.close()
    return buffer.getvalue()


def problems_of(data: bytes, filename: str = "catalog.xlsx") -> list[tuple[str, int, str]]:
    return [(p.sheet, p.row, p.column) for p in read_catalog(data, filename)[1]]


def test_shape_a_with_title_merged_group_header_and_blank_lines() -> None:
    specs, problems = read_catalog(shape_a_with_group_header(), "目录.xlsx")
    assert problems == []
    assert [s.code for s in specs] == ["R1", "R2"]
    r1, r2 = specs
    assert r1.name == "常住人口户籍信息"
    assert r1.department_code == "GAJ"
    assert r1.share_type is ShareType.CONDITIONAL
    assert r1.share_methods == [ShareMethod.API, ShareMethod.BATCH]
    assert r1.open_type is OpenType.NONE
    assert r1.update_cycle is UpdateCycle.DAILY
    assert r1.publish_date == date(2024, 1, 2)
    assert [f.name for f in r1.fields] == ["公民身份号码", "姓名"]
    id_number = r1.fields[0]
    assert (id_number.data_type, id_number.length, id_number.is_key, id_number.is_personal) == (
        FieldType.STRING,
        18,
        True,
        True,
    )
    assert id_number.grade is Grade.GENERAL_4
    assert id_number.rules == ["not_null", "ric"]
    assert r2.publish_date == date(2024, 3, 1)
    assert r2.fields[0].is_key and not r2.fields[0].is_personal
    assert r2.fields[1].data_type is FieldType.STRING  # the code works as well as the label
    assert r2.fields[1].grade is Grade.GENERAL_1  # a blank grade is the lowest


def test_the_department_name_alone_is_carried_for_the_import_to_resolve() -> None:
    rows = [[c for i, c in enumerate(r) if i != 3] for r in shape_a_rows()]
    parsed = parse_catalog(xlsx({"目录": rows}), "目录.xlsx")
    assert parsed.problems == []
    assert [(e.spec.department_code, e.department_name) for e in parsed.entries] == [
        ("", "榕城市公安局"),
        ("", "榕城市市场监督管理局"),
    ]


def test_shape_b_reads_the_same_as_shape_a() -> None:
    resources = [RESOURCE_HEADERS, R1, [], R2]
    fields = [["资源代码"] + FIELD_HEADERS] + [["R1"] + f for f in R1_FIELDS]
    fields += [["R2"] + f for f in R2_FIELDS]
    data = xlsx({"填表说明": [["请按说明填写"]], "资源": resources, "信息项": fields}, title_rows=1)
    specs, problems = read_catalog(data, "目录.xlsx")
    assert problems == []
    assert specs == read_catalog(shape_a_with_group_header(), "目录.xlsx")[0]


def test_shape_b_is_recognised_by_its_columns_when_the_sheets_have_other_names() -> None:
    resources = [RESOURCE_HEADERS, R1]
    fields = [["资源代码"] + FIELD_HEADERS] + [["R1"] + f for f in R1_FIELDS]
    specs, problems = read_catalog(xlsx({"Sheet1": resources, "Sheet2": fields}), "x.xlsx")
    assert problems == []
    assert [len(s.fields) for s in specs] == [2]


def test_shape_b_problems_point_at_the_sheet_they_are_in() -> None:
    resources = [RESOURCE_HEADERS, R1, R2, R1]
    fields = [["资源代码"] + FIELD_HEADERS] + [["R1"] + f for f in R1_FIELDS]
    fields += [["R9", "姓名", "字符型"], ["R2", "企业名称", "文本"]]
    problems = read_catalog(xlsx({"资源目录": resources, "fields": fields}), "x.xlsx")[1]
    assert [(p.sheet, p.row, p.column) for p in problems] == [
        ("资源目录", 4, "资源代码"),  # R1 twice
        ("fields", 4, "资源代码"),  # R9 has no row in the resources sheet
        ("fields", 5, "数据类型"),  # 文本 is not a type
    ]
    assert "duplicate code" in problems[0].reason
    assert "资源目录" in problems[1].reason


def test_shape_b_with_a_resources_sheet_missing_a_column() -> None:
    resources = [[c for i, c in enumerate(r) if i != 1] for r in [RESOURCE_HEADERS, R1]]
    fields = [["资源代码"] + FIELD_HEADERS] + [["R1"] + f for f in R1_FIELDS]
    problems = read_catalog(xlsx({"资源": resources, "信息项": fields}), "x.xlsx")[1]
    assert [(p.sheet, p.row, p.column) for p in problems] == [("资源", 1, "资源名称")]


def test_a_file_with_a_header_and_nothing_below_it() -> None:
    assert problems_of(xlsx({"目录": [RESOURCE_HEADERS + FIELD_HEADERS, []]}, title_rows=1)) == [
        ("目录", 2, "")
    ]


def test_bad_enum_values_are_reported_where_they_are_with_the_allowed_values() -> None:
    rows = shape_a_rows()
    rows[1][4] = rows[2][4] = "部分共享"  # 共享类型 of R1, sheet rows 2 and 3
    rows[5][len(RESOURCE_HEADERS) + 1] = "文本"  # 数据类型 of R2's second field, sheet row 6
    specs, problems = read_catalog(xlsx({"目录": rows}), "目录.xlsx")
    assert [(p.sheet, p.row, p.column) for p in problems] == [
        ("目录", 2, "共享类型"),
        ("目录", 6, "数据类型"),
    ]
    assert "无条件共享、有条件共享、不予共享" in problems[0].reason
    assert "「部分共享」" in problems[0].reason
    assert "字符型" in problems[1].reason and "string" in problems[1].reason
    assert specs == []  # neither resource could be read


def test_the_column_is_named_as_written_in_the_file() -> None:
    rows = shape_a_rows()
    rows[0][4] = "*共享类型\n（必填）"
    rows[1][4] = rows[2][4] = "部分共享"
    assert problems_of(xlsx({"目录": rows})) == [("目录", 2, "*共享类型（必填）")]


def test_a_code_used_for_two_resources_in_one_file() -> None:
    rows = shape_a_rows()
    rows += [[]] + [R1 + R1_FIELDS[0]] * 2  # R1 again, after R2
    problems = read_catalog(xlsx({"目录": rows}), "目录.xlsx")[1]
    assert [(p.sheet, p.row, p.column) for p in problems] == [("目录", 8, "资源代码")]
    assert "第 2 行" in problems[0].reason


def test_the_same_code_on_two_sheets_is_a_duplicate() -> None:
    rows = shape_a_rows()
    data = xlsx({"公安": rows[:3], "市场监管": [rows[0], rows[1]]})
    problems = read_catalog(data, "目录.xlsx")[1]
    assert [(p.sheet, p.row) for p in problems] == [("市场监管", 2)]


def test_missing_required_columns_are_reported_on_the_header_row() -> None:
    rows = [
        [c for i, c in enumerate(r) if i not in (4, len(RESOURCE_HEADERS) + 1)]
        for r in shape_a_rows()
    ]
    specs, problems = read_catalog(xlsx({"目录": rows}, title_rows=2), "目录.xlsx")
    assert specs == []
    assert [(p.sheet, p.row, p.column) for p in problems] == [
        ("目录", 3, "共享类型"),
        ("目录", 3, "数据类型"),
    ]
    assert all("missing required column" in p.reason for p in problems)


def test_a_file_without_any_department_column() -> None:
    rows = [[c for i, c in enumerate(r) if i not in (2, 3)] for r in shape_a_rows()]
    assert problems_of(xlsx({"目录": rows})) == [("目录", 1, "提供部门")]


def test_resource_columns_that_disagree_between_rows_of_a_resource() -> None:
    rows = shape_a_rows()
    rows[2][1] = "户籍信息"  # R1's name on its second row
    problems = read_catalog(xlsx({"目录": rows}), "目录.xlsx")[1]
    assert [(p.row, p.column) for p in problems] == [(3, "资源名称")]
    assert "第 2 行" in problems[0].reason and "常住人口户籍信息" in problems[0].reason


def test_blank_resource_columns_after_the_first_row_continue_the_resource() -> None:
    rows = [RESOURCE_HEADERS + FIELD_HEADERS, R1 + R1_FIELDS[0]]
    rows += [[""] * len(RESOURCE_HEADERS) + R1_FIELDS[1]]
    specs, problems = read_catalog(xlsx({"目录": rows}), "目录.xlsx")
    assert problems == []
    assert [f.name for f in specs[0].fields] == ["公民身份号码", "姓名"]


def test_guide_rules_are_reported_at_the_cell_to_fix() -> None:
    rows = shape_a_rows()
    rows[1][8] = rows[2][8] = ""  # R1 不予开放 without 法律依据
    rows[5][len(RESOURCE_HEADERS) + 1] = ""  # R2's 企业名称 without a type
    rows[4][len(RESOURCE_HEADERS) + 4] = "是"  # R2 opens a personal field unconditionally
    specs, problems = read_catalog(xlsx({"目录": rows}), "目录.xlsx")
    assert [(p.row, p.column) for p in problems] == [
        (2, "法律依据"),
        (5, "是否个人信息"),
        (6, "数据类型"),
    ]
    assert "不予开放须注明法律、法规依据" in problems[0].reason
    assert problems[0].reason.startswith("资源 R1")
    assert "不得无条件开放" in problems[1].reason
    assert "缺少数据类型" in problems[2].reason
    # The declarations are still returned: the rules concern what they say, not how it is read.
    assert [s.code for s in specs] == ["R1", "R2"]


def test_cells_that_do_not_read_are_each_reported() -> None:
    rows = shape_a_rows()
    rows[1][10] = rows[2][10] = "下周"  # 发布日期
    rows[2][len(RESOURCE_HEADERS) + 2] = "五十"  # 数据长度
    rows[4][len(RESOURCE_HEADERS) + 3] = "可能"  # 是否主键
    rows[5][0] = ""  # no code, but resource columns present
    problems = problems_of(xlsx({"目录": rows}))
    assert problems == [
        ("目录", 2, "发布日期"),
        ("目录", 3, "数据长度"),
        ("目录", 5, "是否主键"),
        ("目录", 6, "资源代码"),
    ]


GB_CSV = "\n".join(
    [
        "榕城市政务数据资源目录（2024年）",
        ",".join(RESOURCE_HEADERS + FIELD_HEADERS),
        "",
        ",".join(str(c) for c in R1 + R1_FIELDS[0]),
        ",".join(str(c) for c in R1 + R1_FIELDS[1]),
    ]
)


def test_gb18030_csv_reads_like_utf8() -> None:
    from_gb = read_catalog(GB_CSV.encode("gb18030"), "目录.csv")
    from_utf8 = read_catalog(GB_CSV.encode("utf-8-sig"), "目录.csv")
    assert from_gb[1] == []
    assert from_gb == from_utf8
    assert from_gb[0][0].name == "常住人口户籍信息"


def test_csv_that_is_neither_utf8_nor_gb18030_is_reported_not_guessed() -> None:
    data = GB_CSV.encode("gb18030")[:-1] + b"\x80"
    specs, problems = read_catalog(data, "目录.csv")
    assert specs == []
    assert len(problems) == 1
    assert problems[0].row == 0
    assert "neither UTF-8 nor GB18030" in problems[0].reason


def test_csv_in_another_encoding_that_happens_to_decode_finds_no_header() -> None:
    data = GB_CSV.encode("big5", errors="replace")
    specs, problems = read_catalog(data, "目录.csv")
    assert specs == []
    assert [(p.sheet, p.row) for p in problems] == [("目录.csv", 0)]
    assert "GB18030" in problems[0].reason and "no header row" in problems[0].reason


def test_problems_are_plain_data_for_the_error_report() -> None:
    problem = ImportProblem(sheet="目录", row=2, column="共享类型", reason="…")
    assert problem.model_dump() == {"sheet": "目录", "row": 2, "column": "共享类型", "reason": "…"}
