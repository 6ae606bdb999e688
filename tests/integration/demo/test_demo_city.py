"""The default demo city as later areas will meet it: real files, a real database, ground truth."""

from __future__ import annotations

import csv
import ipaddress
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import date

import openpyxl
import pytest
from stdnum import luhn
from stdnum.cn import uscc

from rongshu.demo.defects import RATES
from rongshu.demo.generator import CityManifest
from rongshu.demo.identifiers import ric_is_valid_checksum, uscc_is_valid
from rongshu.demo.names import RARE_CHARACTERS
from rongshu.demo.regions import region_valid_for_birth_year
from rongshu.demo.schema import TABLES, DefectKind
from rongshu.security.entities import EntityType
from rongshu.standards import get_standard

Records = list[dict[str, object]]
Source = Callable[[str], Records]
K = DefectKind
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")

RIC, USCC = get_standard("ric"), get_standard("uscc")


def _defects_by_cell(defects: list[dict[str, str]]) -> dict[tuple[str, str, str], str]:
    return {(d["table"], d["row_key"], d["column"]): d["kind"] for d in defects}


def test_every_table_is_written_with_the_rows_the_manifest_says(
    city: CityManifest, source: Source
) -> None:
    assert [t.key for t in city.tables] == [t.key for t in TABLES]
    for table in city.tables:
        assert table.rows > 0, table.key
        assert len(source(table.key)) == table.rows, table.key
        for path in table.paths:
            assert (city.out_dir / path).is_file()
    assert city.table("household_registry").rows == 20_000
    formats = {t.source for t in city.tables}
    assert formats == {"sqlite", "csv", "xlsx", "ndjson", "json"}


def test_manifest_file_matches_the_returned_manifest(city: CityManifest) -> None:
    written = json.loads((city.out_dir / "ground_truth/manifest.json").read_text(encoding="utf-8"))
    assert written == json.loads(city.model_dump_json())
    assert "elapsed_seconds" not in written and "out_dir" not in written
    assert written["seed"] == 20211 and written["city"] == "榕城市"


def test_defects_csv_matches_the_manifest_and_the_rates(
    city: CityManifest, defects: list[dict[str, str]]
) -> None:
    by_kind = Counter(d["kind"] for d in defects)
    by_table = Counter((d["table"], d["kind"]) for d in defects)
    for summary in city.defects:
        assert by_kind[summary.kind] == summary.count, summary.kind
        assert summary.configured_rate == RATES[summary.kind]
        expected = summary.cells * summary.configured_rate
        assert summary.count > 0, summary.kind
        assert abs(summary.count - expected) < 4 * expected**0.5 + 3, summary
    for table in city.tables:
        for kind, count in table.defects.items():
            assert by_table[(table.key, kind)] == count
    assert len(set(_defects_by_cell(defects))) == len(defects)  # one defect per cell


def _id_defects() -> set[str]:
    return {K.BAD_ID_CHECK_DIGIT, K.ID_REGION_INVALID, K.FULLWIDTH_DIGITS, K.MISSING_VALUE}


def test_id_numbers_are_valid_unless_listed(
    city: CityManifest, source: Source, defects: list[dict[str, str]]
) -> None:
    listed = _defects_by_cell(defects)
    checked = 0
    for table in city.tables:
        key_column = table.key_column
        for column in (c.name for c in table.columns if c.semantic == "ric"):
            for row in source(table.key):
                value = row[column]
                kind = listed.get((table.key, str(row[key_column]), column))
                if value is None:
                    assert kind == K.MISSING_VALUE or column == "father_id_number"
                    continue
                number = str(value)
                ours = ric_is_valid_checksum(number) and region_valid_for_birth_year(
                    number[:6], int(number[6:10])
                )
                assert ours == (kind not in _id_defects()), (table.key, row)
                # The platform's own GB 11643 check (its region table runs to 2025) agrees.
                assert RIC.check(number).ok == ours, number
                checked += 1
    assert checked > 50_000


def test_credit_codes_are_valid_unless_listed(
    city: CityManifest, source: Source, defects: list[dict[str, str]]
) -> None:
    listed = _defects_by_cell(defects)
    checked = 0
    for table in city.tables:
        for column in (c.name for c in table.columns if c.semantic == "uscc"):
            for row in source(table.key):
                if row[column] is None:
                    continue
                code = str(row[column])
                kind = listed.get((table.key, str(row[table.key_column]), column))
                assert uscc_is_valid(code) == (kind is None), code
                assert uscc.is_valid(code) == (kind is None), code
                assert USCC.check(code).ok == (kind is None), code
                checked += 1
    assert checked > 10_000


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    text = str(value)
    return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None


@pytest.mark.parametrize("key", ["household_registry", "student_status"])
def test_birth_date_and_gender_agree_with_the_id_unless_listed(
    key: str, city: CityManifest, source: Source, defects: list[dict[str, str]]
) -> None:
    listed = _defects_by_cell(defects)
    table = city.table(key)
    mismatches = Counter[str]()
    for row in source(key):
        row_key = str(row[table.key_column])
        number = str(row["id_number"]).translate(_FULLWIDTH) if row["id_number"] else None
        born = _as_date(row["birth_date"])
        if number is None:
            continue
        if born is not None:
            agrees = born.strftime("%Y%m%d") == number[6:14]
            flagged = listed.get((key, row_key, "birth_date")) == K.ID_BIRTHDATE_MISMATCH
            assert agrees != flagged, row
            mismatches["birth_date"] += flagged
        else:
            assert listed[(key, row_key, "birth_date")] == K.MIXED_DATE_FORMAT
        male = int(number[16]) % 2 == 1
        flagged = listed.get((key, row_key, "gender")) == K.ID_GENDER_MISMATCH
        assert (row["gender"] == "男") == (male != flagged), row
        mismatches["gender"] += flagged
    assert mismatches["birth_date"] > 0 and mismatches["gender"] > 0


def test_dates_come_in_mixed_formats(city: CityManifest, defects: list[dict[str, str]]) -> None:
    mixed = [d["injected"] for d in defects if d["kind"] == K.MIXED_DATE_FORMAT]
    assert any(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", v) for v in mixed)
    assert any(re.fullmatch(r"\d{8}", v) for v in mixed)
    assert any(re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", v) for v in mixed)
    assert any(re.fullmatch(r"\d{5}", v) for v in mixed)  # Excel serials, in the workbook only


def test_civil_affairs_files_are_gb18030_not_utf8(city: CityManifest) -> None:
    for key in ("marriage_registrations", "subsidy_payments"):
        table = city.table(key)
        assert table.encoding == "gb18030"
        data = (city.out_dir / table.paths[0]).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        text = data.decode("gb18030")
        assert text.startswith("结婚证字号" if key.startswith("marriage") else "发放流水号")
        assert "\r\n" in text
    marriages = (city.out_dir / city.table("marriage_registrations").paths[0]).read_bytes()
    # Names with characters outside GBK: a reader that guesses GBK loses them.
    assert any(char in marriages.decode("gb18030") for char in RARE_CHARACTERS)
    with pytest.raises(UnicodeDecodeError):
        marriages.decode("gbk")


def test_birth_certificates_have_a_byte_order_mark(city: CityManifest) -> None:
    path = city.out_dir / city.table("birth_certificates").paths[0]
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_student_workbook_has_a_title_row_and_merged_headers(city: CityManifest) -> None:
    table = city.table("student_status")
    workbook = openpyxl.load_workbook(city.out_dir / table.paths[0])
    sheet = workbook.active
    merged = {str(cell_range) for cell_range in sheet.merged_cells.ranges}
    assert merged == {"A1:M1", "A2:E2", "F2:J2", "K2:M2"}
    assert sheet["A1"].value == "榕城市教育局 中小学学生学籍信息 2024年"
    assert [sheet.cell(2, c).value for c in (1, 6, 11)] == [
        "学生基本信息",
        "学籍信息",
        "监护人信息",
    ]
    assert [cell.value for cell in sheet[3]] == [c.label for c in table.columns]
    assert sheet.max_row == table.header_rows + table.rows
    kinds = Counter(type(sheet.cell(row, 3).value).__name__ for row in range(4, sheet.max_row + 1))
    assert kinds["datetime"] > 0.9 * table.rows
    assert kinds["int"] > 0 and kinds["str"] > 0  # Excel serials and text dates


def test_sqlite_database_holds_the_database_backed_tables(city: CityManifest) -> None:
    with sqlite3.connect(city.out_dir / city.database_path) as connection:
        names = {
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        expected = {t.sql_table for t in city.tables if t.source == "sqlite"}
        assert (
            names
            == expected
            == {
                "ga_household_registry",
                "ga_vehicle_registrations",
                "scjg_enterprise_registry",
                "sw_tax_registration",
                "zj_property_registrations",
            }
        )
        for table in city.tables:
            if table.sql_table:
                query = f'SELECT count(*) FROM "{table.sql_table}"'  # noqa: S608
                count = connection.execute(query).fetchone()
                assert count[0] == table.rows


def test_duplicates_are_listed_with_what_changed(
    city: CityManifest, source: Source, defects: list[dict[str, str]]
) -> None:
    with (city.out_dir / city.duplicates_path).open(encoding="utf-8", newline="") as file:
        pairs = list(csv.DictReader(file))
    assert len(pairs) == city.duplicates
    assert 0.01 < city.duplicates / city.rows < 0.03
    people = {str(row["person_id"]): row for row in source("household_registry")}
    defective = {(d["row_key"], d["column"]) for d in defects if d["table"] == "household_registry"}
    changed_kinds = Counter[str]()
    for pair in pairs:
        first, second = pair["original_person_id"], pair["duplicate_person_id"]
        original, duplicate = people[first], people[second]
        assert first < second
        listed = set(pair["changed_columns"].split(";"))
        changed_kinds.update(listed)
        differing = {c for c in original if original[c] != duplicate[c]}
        explained = listed | {"person_id", "relation"}
        explained |= {c for c in original if (first, c) in defective or (second, c) in defective}
        assert differing <= explained, pair
        assert listed & differing, pair  # what is listed did change
    assert {"name", "phone", "id_number", "household_address"} <= set(changed_kinds)


def test_sensor_sources_read_like_api_payloads(city: CityManifest, source: Source) -> None:
    readings = source("air_quality_readings")
    assert set(readings[0]) == {c.name for c in city.table("air_quality_readings").columns}
    assert city.table("air_quality_readings").rows == city.rows // 2
    lots = source("parking_occupancy")
    assert isinstance(lots[0]["updateTime"], int)
    assert all(row["recordId"] == i + 1 for i, row in enumerate(lots))


E = EntityType
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f"
#: What a value of each entity looks like, in the shapes the city writes them.
SHAPES: dict[EntityType, str] = {
    E.RESIDENT_ID: r"\d{17}[\dX]",
    E.CREDIT_CODE: r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}",
    E.PHONE: r"1\d{10}|0591-\d{8}",
    E.BANK_CARD: r"62\d{14,17}",
    E.EMAIL: r"[a-z0-9._]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.(com|cn)",
    E.PERSON_NAME: rf"[{_HAN}]{{2,4}}|[A-Z]+( [A-Z]+)+",
    E.ADDRESS: rf"[{_HAN}\w()-]*[区县市][{_HAN}\w()-]*\d+号[{_HAN}\w()-]*",
    E.VEHICLE_PLATE: r"闽A[0-9A-HJ-NP-Z]{5,6}",
    E.PASSPORT: r"[A-Z0-9]{8,9}",
}


def _pii_columns(city: CityManifest) -> list[dict[str, str]]:
    with (city.out_dir / city.pii_columns_path).open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_pii_ground_truth_lists_every_marked_column_and_every_entity_type(
    city: CityManifest,
) -> None:
    listed = _pii_columns(city)
    assert city.pii_columns_path == "ground_truth/pii_columns.csv"
    marked = [
        {"table": table.key, "column": column.name, "entity": column.pii.value}
        for table in TABLES
        for column in table.columns
        if column.pii is not None
    ]
    assert listed == marked
    assert {row["entity"] for row in listed} == {entity.value for entity in EntityType}
    in_manifest = [
        {"table": table.key, "column": column.name, "entity": column.pii.value}
        for table in city.tables
        for column in table.columns
        if column.pii is not None
    ]
    assert in_manifest == listed
    births = {(row["table"], row["column"]) for row in listed if row["entity"] == "birth_date"}
    assert births == {
        ("household_registry", "birth_date"),
        ("student_status", "birth_date"),
        ("birth_certificates", "birth_date"),
        ("foreigner_accommodation", "birth_date"),
    }
    names = {(r["table"], r["column"]) for r in listed if r["entity"] == "person_name"}
    assert ("enterprise_registry", "name") not in names  # a firm's name is no person's


def _as_text(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def test_every_pii_cell_holds_what_the_ground_truth_says(
    city: CityManifest, source: Source, defects: list[dict[str, str]]
) -> None:
    listed = _defects_by_cell(defects)
    # Near-duplicate people are typed in carelessly (a space in the name ...): left out here.
    with (city.out_dir / city.duplicates_path).open(encoding="utf-8", newline="") as file:
        careless = {row["duplicate_person_id"] for row in csv.DictReader(file)}
    checked: Counter[str] = Counter()
    for row in _pii_columns(city):
        table = city.table(row["table"])
        entity = EntityType(row["entity"])
        for record in source(table.key):
            value, key = record[row["column"]], str(record[table.key_column])
            if value is None or (table.key, key, row["column"]) in listed or key in careless:
                continue
            text = _as_text(value)
            if entity in SHAPES:
                assert re.fullmatch(SHAPES[entity], text), (row, text)
            elif entity is E.IP_ADDRESS:
                assert ipaddress.ip_address(text).is_global, text
            elif entity is E.COORDINATES:
                bounds = (119.0, 119.6) if row["column"] == "longitude" else (25.8, 26.3)
                assert re.fullmatch(r"\d{2,3}\.\d{6}", text), text  # six decimals, as written
                assert bounds[0] <= float(text) <= bounds[1], text
            else:
                born = _as_date(value)
                assert born is not None and date(1900, 1, 1) < born <= city.reference_date
            checked[entity.value] += 1
    assert set(checked) == {entity.value for entity in EntityType}
    assert min(checked.values()) >= 500, checked


def test_bank_cards_plates_passports_and_mailboxes_pass_their_standards(
    city: CityManifest, source: Source
) -> None:
    cards = [str(r["bank_card"]) for r in source("subsidy_payments")]
    assert cards and all(luhn.is_valid(card) and card.startswith("62") for card in cards)
    assert sum(len(card) == 19 for card in cards) > 0.75 * len(cards)
    plate = get_standard("plate")
    plates = [str(r["plate_no"]) for r in source("vehicle_registrations")]
    assert plates and all(plate.check(number).ok for number in plates)
    assert len(set(plates)) == len(plates)
    assert any(re.fullmatch(r"闽AD[0-9A-HJ-NP-Z]\d{4}", number) for number in plates)
    email = get_standard("email")
    mailboxes = [str(r["email"]) for r in source("enterprise_registry") if r["email"]]
    assert mailboxes and all(email.check(box).ok for box in mailboxes)
    formats = {"中国": r"E\d{8}|E[A-Z]\d{7}|G\d{8}", "美国": r"\d{9}", "日本": r"[A-Z]{2}\d{7}"}
    stays = source("foreigner_accommodation")
    for stay in stays:
        wanted = formats.get(str(stay["nationality"]), r"[A-Z0-9]{8,9}")
        assert re.fullmatch(wanted, str(stay["passport_no"])), stay
    assert {str(stay["nationality"]) for stay in stays} >= set(formats)


def test_the_login_log_is_in_time_order_with_ipv4_and_ipv6_clients(
    city: CityManifest, source: Source
) -> None:
    logins = source("portal_login_log")
    assert len(logins) == city.table("portal_login_log").rows > city.rows // 3
    times = [str(row["login_time"]) for row in logins]
    assert times == sorted(times) and times[0] >= "2024-10-01" and times[-1] < "2025-01-01"
    versions = Counter(ipaddress.ip_address(str(row["client_ip"])).version for row in logins)
    assert 0.05 < versions[6] / len(logins) < 0.15
