"""Loads through the real load path (``run_load``) from real sources, in every load mode.

The sources are the demo city's: a GB18030 CSV, an Excel workbook with merged header cells, the
household registry table in SQLite, MariaDB and PostgreSQL, and a paged JSON API served on
127.0.0.1. Each load is checked against the source as a plain reader (csv, openpyxl, SQL) sees it.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from rongshu.core.platform import Platform
from rongshu.demo.generator import generate_city
from rongshu.ingest import service
from rongshu.ingest.runner import rejected_table_name, run_load
from rongshu.ingest.schemas import LoadMode, LoadPublic, LoadStatus, SourcePublic
from rongshu.lake.tables import Lake, LakeTable

REGISTRY = "350100-GA-0001"  # household registry: SQLite, MariaDB and PostgreSQL tables
MARRIAGES = "350100-MZ-0001"  # marriage registrations: a GB18030 CSV
STUDENTS = "350100-JY-0001"  # student status: Excel, a title row and merged group headers
PARKING = "350100-JT-0001"  # parking occupancy: the transport bureau's JSON feed
REGISTRY_TABLE = "ga_household_registry"

Attach = Callable[..., SourcePublic]  # the attach fixture (conftest.py)

# Metadata on SQLite only: these tests vary the sources; test_ingest_runner runs loads on both
# metadata databases.
pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)


def lake_table(platform: Platform, code: str) -> LakeTable:
    return Lake.from_settings(platform.settings).table(code)


def load(platform: Platform, code: str, source: str) -> LoadPublic:
    result = run_load(platform, resource_code=code, source_name=source)
    assert result.status is LoadStatus.SUCCEEDED
    assert result.rows_written + result.rows_rejected <= result.rows_read
    return result


def saved_watermark(platform: Platform, code: str, source: str) -> str | None:
    with platform.db.session_scope() as session:
        return service.get_source(session, resource_code=code, name=source).last_watermark


def by_key(table: LakeTable, key: str, version: int | None = None) -> dict[Any, dict[str, Any]]:
    rows = table.read(version).to_pylist()
    keyed = {row[key]: row for row in rows}
    assert len(keyed) == len(rows), f"duplicate {key} values in the lake table"
    return keyed


# --- a GB18030 CSV ------------------------------------------------------------------------------


def marriage_file(city: Path) -> Path:
    return city / "sources" / "mz" / "marriage_registrations.csv"


def read_gb18030(path: Path) -> tuple[list[str], list[list[str]]]:
    header, *rows = csv.reader(io.StringIO(path.read_bytes().decode("gb18030"), newline=""))
    return header, rows


def add_rows(path: Path, rows: list[list[str]]) -> None:
    """Append rows as the department's system writes them: GB18030, CRLF."""
    with path.open("a", encoding="gb18030", newline="") as handle:
        csv.writer(handle).writerows(rows)


def marriage(template: list[str], number: str, day: str) -> list[str]:
    """A registration like ``template`` with another number and registration date."""
    return [number, *template[1:5], day, *template[6:]]


def test_gb18030_csv_snapshot_decodes_every_row_and_keeps_rejects_with_reasons(
    platform: Platform, city: Path, attach: Attach
) -> None:
    path = marriage_file(city)
    _, rows = read_gb18030(path)
    add_rows(path, [marriage(rows[0], "J-E2E-BAD", "2024年13月1日")])
    header, rows = read_gb18030(path)
    attach(MARRIAGES, "files", "csv", {"path": str(path)})

    first = load(platform, MARRIAGES, "files")

    assert first.version == 0 and first.rows_read == len(rows)
    assert first.rows_written + first.rows_rejected == first.rows_read
    loaded = by_key(lake_table(platform, MARRIAGES), "registration_no")
    assert len(loaded) == first.rows_written
    source = {row[0]: row for row in rows}
    names = {no: unicodedata.normalize("NFKC", source[no][1]).strip() for no in loaded}
    assert {no: row["husband_name"] for no, row in loaded.items()} == names
    assert "J-E2E-BAD" not in loaded
    rejected = lake_table(platform, rejected_table_name(MARRIAGES)).read().to_pylist()
    assert len({r["row_number"] for r in rejected}) == first.rows_rejected >= 1
    for record in rejected:
        assert record["reason"] and record["value"] in rows[record["row_number"] - 1]
    bad = [r for r in rejected if r["value"] == "2024年13月1日"]
    assert bad and bad[0]["column"] == "registration_date" and "日期" in bad[0]["reason"]
    assert bad[0]["row_number"] == len(rows) and "J-E2E-BAD" in bad[0]["raw"]

    # A second snapshot replaces the table; the first stays readable (time travel).
    kept = rows[:10]
    with path.open("w", encoding="gb18030", newline="") as handle:
        csv.writer(handle).writerows([header, *kept])
    second = load(platform, MARRIAGES, "files")
    assert second.version == 1 and second.rows_read == 10
    now = by_key(lake_table(platform, MARRIAGES), "registration_no")
    assert len(now) == second.rows_written and set(now) <= {r[0] for r in kept}
    assert by_key(lake_table(platform, MARRIAGES), "registration_no", version=0) == loaded


def test_gb18030_csv_incremental_compares_dates_as_dates_whatever_the_spelling(
    platform: Platform, city: Path, attach: Attach
) -> None:
    path = marriage_file(city)
    _, rows = read_gb18030(path)
    template = rows[0]
    # "2030/1/9" is before 2030-01-10, though as text it sorts after it.
    add_rows(
        path,
        [marriage(template, "J-E2E-1", "2030-01-10"), marriage(template, "J-E2E-2", "2030/1/9")],
    )
    attach(
        MARRIAGES,
        "files",
        "csv",
        {"path": str(path)},
        LoadMode.INCREMENTAL,
        watermark_column="registration_date",
    )
    table = lake_table(platform, MARRIAGES)

    first = load(platform, MARRIAGES, "files")
    assert saved_watermark(platform, MARRIAGES, "files") == "2030-01-10"
    assert {"J-E2E-1", "J-E2E-2"} <= set(by_key(table, "registration_no"))

    again = load(platform, MARRIAGES, "files")
    assert again.rows_written == 0  # the same input adds nothing
    assert again.version is None and table.version() == first.version  # and makes no version
    assert table.count() == first.rows_written

    add_rows(
        path,
        [
            marriage(template, "J-E2E-3", "2030年1月11日"),
            marriage(template, "J-E2E-4", "20300112"),
            marriage(template, "J-E2E-5", "2030/1/2"),  # older than the watermark: not loaded
        ],
    )
    third = load(platform, MARRIAGES, "files")
    assert third.rows_written == 2
    added = set(by_key(table, "registration_no")) - set(by_key(table, "registration_no", 0))
    assert added == {"J-E2E-3", "J-E2E-4"}
    assert saved_watermark(platform, MARRIAGES, "files") == "2030-01-12"
    assert table.count(version=first.version) == first.rows_written


# --- Excel with merged header cells -------------------------------------------------------------


def test_excel_with_merged_group_headers_loads_the_columns_of_every_group(
    platform: Platform, city: Path, attach: Attach
) -> None:
    path = city / "sources" / "jy" / "student_status.xlsx"
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        sheet = workbook.active
        assert sheet is not None
        cells = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    title, groups, labels, *rows = cells
    assert {"学生基本信息", "学籍信息", "监护人信息"} <= set(groups)  # merged over their columns
    attach(STUDENTS, "workbook", "excel", {"path": str(path)})

    result = load(platform, STUDENTS, "workbook")

    # The planted defects (date spellings, full-width digits, ...) are all readable.
    assert (result.rows_read, result.rows_written, result.rows_rejected) == (
        len(rows),
        len(rows),
        0,
    )
    loaded = by_key(lake_table(platform, STUDENTS), "student_no")
    column = {label: position for position, label in enumerate(labels)}
    assert set(loaded) == {row[column["全国学籍号"]] for row in rows}
    for row in rows:
        student = loaded[row[column["全国学籍号"]]]
        assert student["name"] == row[column["姓名"]]  # first group
        assert student["school"] == row[column["学校名称"]]  # second group
        assert student["guardian_name"] == row[column["监护人姓名"]]  # third group
        born = row[column["出生日期"]]
        if isinstance(born, datetime):
            assert student["birth_date"] == born.date()


# --- database tables: SQLite, MariaDB, PostgreSQL -----------------------------------------------


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("mariadb", marks=pytest.mark.mysql),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def registry_url(request: pytest.FixtureRequest, city: Path, tmp_path: Path) -> str:
    """A database holding the demo city's household registry table."""
    if request.param == "sqlite":
        return f"sqlite:///{city / 'sources' / 'sources.db'}"
    url: str = request.getfixturevalue(
        "mysql_url" if request.param == "mariadb" else "postgres_url"
    )
    generate_city(tmp_path / "city-db", rows=400, seed=7, database_urls=[url])
    return url


def source_rows(url: str, **where: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        table = sa.Table(REGISTRY_TABLE, sa.MetaData(), autoload_with=engine)
        query = sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
    finally:
        engine.dispose()


def change_rows(url: str, *, insert: list[dict[str, Any]], update: dict[str, Any]) -> None:
    """Insert rows, and set values on the rows matching ``update["person_id"]``."""
    engine = sa.create_engine(url)
    try:
        table = sa.Table(REGISTRY_TABLE, sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            if insert:
                conn.execute(table.insert(), insert)
            if update:
                values = {k: v for k, v in update.items() if k != "person_id"}
                key = table.c.person_id == update["person_id"]
                conn.execute(table.update().where(key).values(**values))
    finally:
        engine.dispose()


def test_database_table_incremental_by_a_text_date_column(
    platform: Platform, city: Path, attach: Attach, registry_url: str
) -> None:
    options = {"url": registry_url, "table": REGISTRY_TABLE}
    attach(REGISTRY, "db", "sql", options, LoadMode.INCREMENTAL, watermark_column="birth_date")
    table = lake_table(platform, REGISTRY)

    first = load(platform, REGISTRY, "db")
    assert first.rows_read == 400
    mark = date.fromisoformat(saved_watermark(platform, REGISTRY, "db") or "")
    again = load(platform, REGISTRY, "db")
    assert again.rows_written == 0 and table.count() == first.rows_written

    template = source_rows(registry_url, person_id=next(iter(by_key(table, "person_id"))))[0]
    later, latest, earlier = (mark + timedelta(days=n) for n in (1, 2, -1))
    spelled = {
        "RK9000000001": f"{later.year}年{later.month}月{later.day}日",
        "RK9000000002": latest.strftime("%Y%m%d"),
        # Before the watermark; as text ("2024/12/27" > "2024-12-28") the database lets it by.
        "RK9000000003": f"{earlier.year}/{earlier.month}/{earlier.day}",
    }
    new = [{**template, "person_id": k, "birth_date": v} for k, v in spelled.items()]
    change_rows(registry_url, insert=new, update={})

    third = load(platform, REGISTRY, "db")
    assert third.rows_written == 2
    added = set(by_key(table, "person_id")) - set(by_key(table, "person_id", first.version))
    assert added == {"RK9000000001", "RK9000000002"}
    assert saved_watermark(platform, REGISTRY, "db") == latest.isoformat()


def test_database_table_upsert_replaces_changed_rows_without_duplicates(
    platform: Platform, city: Path, attach: Attach, registry_url: str
) -> None:
    options = {"url": registry_url, "table": REGISTRY_TABLE}
    attach(REGISTRY, "db", "sql", options, LoadMode.UPSERT, key_fields=["person_id"])
    table = lake_table(platform, REGISTRY)

    first = load(platform, REGISTRY, "db")
    again = load(platform, REGISTRY, "db")
    assert (first.version, again.version) == (0, 1)
    assert table.count() == first.rows_written  # the same input twice: no duplicates
    before = by_key(table, "person_id")
    person = next(iter(before))
    template = source_rows(registry_url, person_id=person)[0]
    change_rows(
        registry_url,
        insert=[{**template, "person_id": "RK9000000001", "name": "新落户"}],
        update={"person_id": person, "name": "改名测试", "phone": "13800000000"},
    )

    third = load(platform, REGISTRY, "db")

    after = by_key(table, "person_id")
    assert len(after) == len(before) + 1
    assert (after[person]["name"], after[person]["phone"]) == ("改名测试", "13800000000")
    assert after["RK9000000001"]["name"] == "新落户"
    unchanged = {k: v for k, v in after.items() if k not in (person, "RK9000000001")}
    assert unchanged == {k: v for k, v in before.items() if k != person}
    assert by_key(table, "person_id", version=again.version)[person] == before[person]
    assert third.version == 2


# --- a paged HTTP JSON API ----------------------------------------------------------------------


def parking_records(city: Path) -> list[dict[str, Any]]:
    document = json.loads((city / "sources" / "jt" / "parking_occupancy.json").read_text("utf-8"))
    records: list[dict[str, Any]] = document["data"]
    return records


def test_paged_api_append_adds_every_run_as_new_events(
    platform: Platform, city: Path, attach: Attach, department_api: Any
) -> None:
    department_api.records = parking_records(city)
    assert len(department_api.records) > 50  # more than one page
    attach(PARKING, "feed", "http", department_api.options(), LoadMode.APPEND)
    table = lake_table(platform, PARKING)

    first = load(platform, PARKING, "feed")
    second = load(platform, PARKING, "feed")

    assert first.rows_read == second.rows_read == len(department_api.records)
    assert first.rows_written == len(department_api.records)
    assert (first.version, second.version) == (0, 1)
    assert table.count() == 2 * first.rows_written
    assert table.count(version=0) == first.rows_written
    ids = sorted(r["recordId"] for r in table.read(0).to_pylist())
    assert ids == sorted(r["recordId"] for r in department_api.records)


def test_paged_api_incremental_asks_for_and_loads_only_new_records(
    platform: Platform, city: Path, attach: Attach, department_api: Any
) -> None:
    # Numbered from 500, so that the next ids (1000...) sort before the newest as text.
    records = [{**r, "recordId": 500 + n} for n, r in enumerate(parking_records(city))]
    department_api.records = list(records)
    options = department_api.options(watermark_param="after")
    attach(PARKING, "feed", "http", options, LoadMode.INCREMENTAL, watermark_column="recordId")
    table = lake_table(platform, PARKING)
    newest = max(r["recordId"] for r in records)

    first = load(platform, PARKING, "feed")
    assert first.rows_written == len(records)
    assert saved_watermark(platform, PARKING, "feed") == str(newest)
    again = load(platform, PARKING, "feed")
    assert again.rows_written == 0 and department_api.afters[-1] == str(newest)

    # The API's ids are text to the connector; these sort before the watermark as text
    # ("1000" < "5xx") but come after it as the integers the field holds.
    fresh = [{**records[0], "recordId": 1000 + n} for n in range(3)]
    assert all(str(r["recordId"]) < str(newest) for r in fresh)
    department_api.records += fresh
    third = load(platform, PARKING, "feed")
    assert third.rows_read == third.rows_written == 3
    assert table.count() == len(records) + 3
    assert saved_watermark(platform, PARKING, "feed") == str(fresh[-1]["recordId"])
