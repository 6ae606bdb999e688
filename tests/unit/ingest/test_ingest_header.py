"""Header detection: title rows skipped, grouped headers flattened, explicit rows honoured."""

from __future__ import annotations

import pytest

from rongshu.core.errors import ValidationFailed
from rongshu.ingest.connectors.header import detect_header

LABELS = ["姓名", "性别", "出生日期", "学校名称", "年级", "监护人姓名", "监护人联系电话"]
DATA = ["许安辰", "男", "2018-04-24", "榕城市福清第一中心小学", "一年级", "许宇健", "15374083199"]


def test_plain_header_is_the_first_row() -> None:
    layout = detect_header([LABELS, DATA])
    assert layout.names == LABELS
    assert layout.data_start == 1


def test_title_row_above_the_labels_is_skipped() -> None:
    title = ["榕城市教育局 中小学学生学籍信息 2024年", "", "", "", "", "", ""]
    layout = detect_header([title, [""] * 7, LABELS, DATA])
    assert layout.names == LABELS
    assert layout.data_start == 3


def test_excel_group_row_from_merged_cells_gives_way_to_the_labels() -> None:
    # The demo workbook: title merged over A1:G1, groups merged on row 2, labels on row 3.
    title = ["榕城市教育局 学籍信息", None, None, None, None, None, None]
    groups = ["学生基本信息", None, None, "学籍信息", None, "监护人信息", None]
    merged = [(0, 0, 0, 6), (1, 0, 1, 2), (1, 3, 1, 4), (1, 5, 1, 6)]
    layout = detect_header([title, groups, LABELS, DATA], merged=merged)
    assert layout.names == LABELS
    assert layout.data_start == 3


def test_repeated_labels_take_their_group_as_prefix_and_others_stay_short() -> None:
    groups = ["结婚证字号", "男方", "", "女方", ""]
    labels = ["", "姓名", "身份证号", "姓名", "身份证号"]
    data = ["J350121-2024-0000001", "黄振浩", "350121199209215618", "林怡静", "350121199511049585"]
    merged = [(0, 0, 1, 0), (0, 1, 0, 2), (0, 3, 0, 4)]
    layout = detect_header([groups, labels, data], merged=merged)
    assert layout.names == [
        "结婚证字号",
        "男方_姓名",
        "男方_身份证号",
        "女方_姓名",
        "女方_身份证号",
    ]
    assert layout.data_start == 2


def test_csv_group_row_is_recognised_by_its_gaps() -> None:
    groups = ["结婚证字号", "男方", "", "女方", ""]
    labels = ["", "姓名", "身份证号", "姓名", "身份证号"]
    data = ["J350121-2024-0000001", "黄振浩", "350121199209215618", "林怡静", "350121199511049585"]
    layout = detect_header([groups, labels, data])
    assert layout.names == [
        "结婚证字号",
        "男方_姓名",
        "男方_身份证号",
        "女方_姓名",
        "女方_身份证号",
    ]


def test_header_with_a_blank_label_is_not_taken_for_a_group_row() -> None:
    header = ["编号", "姓名", "", "备注"]
    data = ["1", "张三", "x", "无"]
    layout = detect_header([header, data])
    assert layout.names == ["编号", "姓名", "column_3", "备注"]
    assert layout.data_start == 1


def test_explicit_header_row_and_skip_rows() -> None:
    rows = [["报表"], ["填报单位", "民政局"], ["a", "b"], ["1", "2"]]
    assert detect_header(rows, header_row=3).names == ["a", "b"]
    assert detect_header(rows, skip_rows=2).data_start == 3
    no_header = detect_header(rows[2:], header_row=0)
    assert no_header.names == ["column_1", "column_2"]
    assert no_header.data_start == 0


def test_conflicting_header_row_and_skip_rows_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="header_row or skip_rows"):
        detect_header([["a"], ["1"]], header_row=1, skip_rows=3)
    with pytest.raises(ValidationFailed, match="past the end"):
        detect_header([["a"], ["1"]], header_row=5)


def test_duplicate_and_blank_labels_are_made_unique() -> None:
    layout = detect_header([["金额", "金额", "", "金额"], ["1", "2", "3", "4"]])
    assert layout.names == ["金额", "金额_2", "column_3", "金额_3"]
