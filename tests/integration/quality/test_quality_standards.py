"""Standard and cross-field rules in a run: national standards' SQL, ID numbers against the
birth date, gender and district fields."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from rongshu.areas import load_hooks
from rongshu.catalog.schemas import FieldType
from rongshu.core.platform import Platform
from rongshu.lake.duckdb_engine import DuckDBEngine
from rongshu.lake.tables import Lake
from rongshu.quality import service
from rongshu.quality.failures import failures_table_name
from rongshu.quality.schemas import RuleKind
from rongshu.standards import get_standard

from ..conftest import Declare, Write, field

CODE = "T-PERSONS"
S, DAY = FieldType.STRING, FieldType.DATE
WOMAN = "11010519491231002X"  # born 1949-12-31 in 110105, sequence digit 2: a woman
MAN = "350102198507234434"  # born 1985-07-23 in 350102, a man
BAD_CHECK_DIGIT = "110105194912310021"
CREDIT_CODE = "91350100M000100Y43"

FIELDS = [
    field("person_id", S, key=True),
    field("id_number", S, "ric"),
    field("birth_date", DAY, "ric_birth_date:id_number"),
    field("gender", S, "ric_gender:id_number"),
    field("district", S, "region", "ric_region:id_number"),
    field("credit_code", S, "uscc"),
    field("mobile", S, "mobile"),
]


def row(person_id: str, **values: Any) -> dict[str, Any]:
    good = {"id_number": WOMAN, "birth_date": date(1949, 12, 31), "gender": "女",
            "district": "110105", "credit_code": CREDIT_CODE, "mobile": "13912345678"}  # fmt: skip
    return {"person_id": person_id, **good, **values}


#: Rows and the (field, reason) each must fail with.
ROWS: list[tuple[dict[str, Any], set[tuple[str, str]]]] = [
    (row("ok"), set()),
    (row("ok-man", id_number=MAN, birth_date=date(1985, 7, 23), gender="1",
         district="350102"), set()),
    (row("ok-coded", gender="2"), set()),  # GB/T 2261.1 code for 女
    (row("ok-unstated", gender="9", district=None, birth_date=None), set()),
    (row("birth", birth_date=date(1950, 1, 1)), {("birth_date", "ric_birth_date.mismatch")}),
    (row("gender", gender="男"), {("gender", "ric_gender.mismatch")}),
    (row("gender-x", gender="x"), {("gender", "ric_gender.unreadable")}),
    (row("moved", district="350102"), {("district", "ric_region.mismatch")}),
    (row("nowhere", district="999999"),
     {("district", "region.unknown"), ("district", "ric_region.mismatch")}),
    (row("check", id_number=BAD_CHECK_DIGIT), {("id_number", "ric.check_digit")}),
    (row("credit", credit_code=CREDIT_CODE[:-1] + "4"), {("credit_code", "uscc.check_char")}),
    (row("mobile", mobile="12345"), {("mobile", "mobile.format")}),
]  # fmt: skip


@pytest.fixture
def persons(declare: Declare, write: Write) -> str:
    declare(CODE, FIELDS)
    write(CODE, [r for r, _ in ROWS])
    return CODE


def test_standards_and_cross_field_rules_find_their_rows_in_one_query(
    platform: Platform, persons: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_hooks()
    monkeypatch.setattr(service, "AFTER_RUN", [])  # other areas' work after the run is theirs
    calls: list[str] = []
    batches = DuckDBEngine.query_batches

    def counted(self: DuckDBEngine, sql: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(sql)
        return batches(self, sql, *args, **kwargs)

    monkeypatch.setattr(DuckDBEngine, "query_batches", counted)
    monkeypatch.setattr(DuckDBEngine, "query", lambda *_: pytest.fail("a second query"))
    run = service.run_quality(platform, persons)
    assert len(calls) == 1
    failures = Lake.from_settings(platform.settings).table(failures_table_name(persons)).read()
    found: dict[str, set[tuple[str, str]]] = {}
    for failure in failures.to_pylist():
        found.setdefault(failure["row_key"], set()).add((failure["field"], failure["reason"]))
    expected = {f'{{"person_id":"{r["person_id"]}"}}': reasons for r, reasons in ROWS if reasons}
    assert found == expected
    kinds = {r.kind for r in run.results}
    assert {RuleKind.STANDARD, RuleKind.RIC_BIRTH_DATE, RuleKind.RIC_GENDER} <= kinds


def test_the_reasons_match_the_standards_own_verdicts(platform: Platform, persons: str) -> None:
    service.run_quality(platform, persons)
    failures = Lake.from_settings(platform.settings).table(failures_table_name(persons)).read()
    for failure in failures.to_pylist():
        if failure["rule"] == "standard":
            name = {"id_number": "ric", "district": "region", "credit_code": "uscc",
                    "mobile": "mobile"}[failure["field"]]  # fmt: skip
            verdict = get_standard(name).check(failure["value"])
            assert (verdict.ok, verdict.reason) == (False, failure["reason"])
