"""Quality runs on small lake tables: each rule kind finds what it should, in ONE query."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rongshu.areas import load_hooks
from rongshu.catalog.schemas import FieldType, UpdateCycle
from rongshu.core.db import utcnow
from rongshu.core.errors import NotFound, ValidationFailed
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.ingest.models import IngestLoad, IngestSource
from rongshu.lake.duckdb_engine import DuckDBEngine
from rongshu.lake.tables import Lake
from rongshu.quality import rules, service
from rongshu.quality.failures import failures_table_name, row_key
from rongshu.quality.schemas import Dimension, RuleCreate, RuleKind, RunStatus

from ..conftest import Declare, Write, field

PEOPLE = "T-PEOPLE"
ORGS = "T-ORGS"

S, INT, DEC, DAY = FieldType.STRING, FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE

PEOPLE_FIELDS = [
    field("person_id", S, "not_null", "unique", key=True),
    field("name", S, "not_null", "length:2~4"),
    field("gender", S, "enum:男|女"),
    field("age", INT, "range:0~120"),
    field("visit_date", DAY, "range:2020-01-01~2024-12-31"),
    field("code", S, r"regex:[A-Z]{2}\d{3}"),
    field("org", S, f"referential:{ORGS}/org_code"),
    field("amount", DEC, "range", description="有效范围 0～1000"),
]
GOOD: dict[str, Any] = {
    "person_id": "P1",
    "name": "张三",
    "gender": "男",
    "age": 30,
    "visit_date": date(2021, 5, 1),
    "code": "AB123",
    "org": "ORG1",
    "amount": 10.0,
}


def person(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


#: Rows and, for each, the (field, reason) its check must report; P1 passes everything.
ROWS: list[tuple[dict[str, Any], set[tuple[str, str]]]] = [
    (GOOD, set()),
    (
        person(person_id="P2", name=None, age=200, visit_date=date(2019, 1, 1), code="ab123",
               org="ORG9", amount=2000.0),
        {("person_id", "unique.duplicate"), ("name", "not_null.missing"),
         ("age", "range.above_max"), ("visit_date", "range.below_min"),
         ("code", "regex.no_match"), ("org", "referential.missing"),
         ("amount", "range.above_max")},
    ),
    (
        person(person_id="P2", name="李", gender="未知", age=-1, visit_date=date(2025, 1, 1),
               code="AB12", amount=-5.0),
        {("person_id", "unique.duplicate"), ("name", "length.too_short"),
         ("gender", "enum.not_listed"), ("age", "range.below_min"),
         ("visit_date", "range.above_max"), ("code", "regex.no_match"),
         ("amount", "range.below_min")},
    ),
    (
        person(person_id="P4", name="王五五五五", gender="女", age=None, visit_date=None,
               code=None, org=None, amount=None),
        {("name", "length.too_long")},
    ),
    (person(person_id="P5", name="  "), {("name", "not_null.missing")}),
]  # fmt: skip


@pytest.fixture
def people(declare: Declare, write: Write) -> str:
    declare(ORGS, [field("org_code", S, key=True)])
    write(ORGS, [{"org_code": "ORG1"}])
    declare(PEOPLE, PEOPLE_FIELDS)
    write(PEOPLE, [row for row, _ in ROWS])
    return PEOPLE


def failure_rows(platform: Platform, code: str) -> list[dict[str, Any]]:
    table = Lake.from_settings(platform.settings).table(failures_table_name(code))
    return table.read().to_pylist() if table.exists() else []


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every query the lake engines run (``query`` and ``query_batches``) for a run;
    what other areas do once a run has finished (``AFTER_RUN`` hooks) is theirs, not counted."""
    load_hooks()
    monkeypatch.setattr(service, "AFTER_RUN", [])
    seen: list[str] = []
    query, batches = DuckDBEngine.query, DuckDBEngine.query_batches

    def counted_query(self: DuckDBEngine, sql: str, params: Any = ()) -> Any:
        seen.append(sql)
        return query(self, sql, params)

    def counted_batches(
        self: DuckDBEngine, sql: str, params: Any = (), batch_size: int = 65536
    ) -> Any:
        seen.append(sql)
        return batches(self, sql, params, batch_size)

    monkeypatch.setattr(DuckDBEngine, "query", counted_query)
    monkeypatch.setattr(DuckDBEngine, "query_batches", counted_batches)
    return seen


def test_every_rule_kind_finds_its_rows_in_one_query(
    platform: Platform, people: str, queries: list[str]
) -> None:
    run = service.run_quality(platform, people)

    assert len(queries) == 1, queries  # every rule, one pass
    assert run.status is RunStatus.SUCCEEDED and (run.version, run.rows) == (0, len(ROWS))
    found: dict[str, set[tuple[str, str]]] = {}
    for failure in failure_rows(platform, people):
        assert failure["run_id"] == run.id
        found.setdefault(failure["row_key"], set()).add((failure["field"], failure["reason"]))
    # P2 is two rows with one key: their failures are listed under that key together
    expected: dict[str, set[tuple[str, str]]] = {}
    for row, reasons in ROWS:
        if reasons:
            expected.setdefault(row_key({"person_id": row["person_id"]}), set()).update(reasons)
    assert found == expected
    by_field = {(r.kind, r.field): r for r in run.results}
    for (kind, column), result in by_field.items():
        assert result.checked == len(ROWS)
        assert result.failing == sum(
            1
            for _, reasons in ROWS
            for f, reason in reasons
            if f == column and reason.startswith(kind)
        ), (kind, column)
    assert run.failing_rows == sum(1 for _, reasons in ROWS if reasons)


def test_failures_keep_the_value_rule_and_severity(platform: Platform, people: str) -> None:
    run = service.run_quality(platform, people)
    rows = failure_rows(platform, people)
    age = next(r for r in rows if r["reason"] == "range.above_max" and r["field"] == "age")
    rule = next(r for r in run.results if r.field == "age")
    assert (age["value"], age["rule"], age["rule_id"], age["severity"]) == (
        "200",
        "range",
        rule.rule_id,
        "warning",
    )
    missing = next(
        r
        for r in rows
        if r["reason"] == "not_null.missing" and r["row_key"] == '{"person_id":"P5"}'
    )
    assert missing["value"] == "  "
    assert service.failing_keys(platform, run.id, rule.rule_id) == {'{"person_id":"P2"}'}
    assert service.failing_keys(platform, run.id) == {
        '{"person_id":"P2"}',
        '{"person_id":"P4"}',
        '{"person_id":"P5"}',
    }


def test_scores_follow_the_documented_formula(platform: Platform, people: str) -> None:
    run = service.run_quality(platform, people)
    n = len(ROWS)
    # completeness: not_null person_id (0 failing) and name (P2, P5): 1 - 2 / (2 n)
    assert run.scores[Dimension.COMPLETENESS] == pytest.approx(1 - 2 / (2 * n))
    # uniqueness: both P2 rows fail
    assert run.scores[Dimension.UNIQUENESS] == pytest.approx(1 - 2 / n)
    # accuracy: three ranges, 2 + 2 + 2 failing
    assert run.scores[Dimension.ACCURACY] == pytest.approx(1 - 6 / (3 * n))
    # consistency: the referential rule, 1 failing
    assert run.scores[Dimension.CONSISTENCY] == pytest.approx(1 - 1 / n)
    # validity: length (2), enum (1), regex (2)
    assert run.scores[Dimension.VALIDITY] == pytest.approx(1 - 5 / (3 * n))
    assert Dimension.TIMELINESS not in run.scores  # irregular update cycle: no timeliness rule
    weights = {Dimension.COMPLETENESS: 0.2, Dimension.VALIDITY: 0.2, Dimension.ACCURACY: 0.15,
               Dimension.CONSISTENCY: 0.15, Dimension.UNIQUENESS: 0.15}  # fmt: skip
    expected = sum(w * run.scores[d] for d, w in weights.items()) / sum(weights.values())
    assert run.score == pytest.approx(expected)


def test_a_resource_without_key_fields_names_rows_by_position(
    platform: Platform, declare: Declare, write: Write
) -> None:
    declare("T-READINGS", [field("station", S, "not_null"), field("level", DEC, "range:0~10")])
    levels = [("A", 1.0), (None, 11.0), ("C", 2.0), ("D", -1.0)]
    write("T-READINGS", [{"station": station, "level": level} for station, level in levels])
    run = service.run_quality(platform, "T-READINGS")
    keys = {(r["row_key"], r["reason"]) for r in failure_rows(platform, "T-READINGS")}
    assert keys == {('{"_row":2}', "not_null.missing"), ('{"_row":2}', "range.above_max"),
                    ('{"_row":4}', "range.below_min")}  # fmt: skip
    assert run.failing_rows == 2


def test_standards_read_in_arrow_and_in_sql_find_the_same_rows(
    platform: Platform, declare: Declare, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No key: the rows are named by position, which the stream numbers itself.
    declare(
        "T-HOLDERS",
        [
            field("id_number", S, "ric"),
            field("birth_date", DAY, "ric_birth_date:id_number"),
            field("gender", S, "ric_gender:id_number"),
            field("credit_code", S, "uscc"),
        ],
    )
    good = {"id_number": "11010519491231002X", "birth_date": date(1949, 12, 31), "gender": "女"}
    rows = [
        {**good, "credit_code": "91350100M000100Y43"},
        {**good, "id_number": "110105194912310021", "gender": "男"},  # check digit, gender
        {**good, "birth_date": date(1950, 1, 1), "credit_code": "91350100M000100Y44"},
        {"id_number": None, "birth_date": None, "gender": None, "credit_code": ""},
        {**good, "gender": " 2 "},  # GB/T 2261.1 code for 女, spaces trimmed
        {**good, "gender": "9"},  # 未说明的性别: nothing to compare
        {**good, "gender": "女士"},  # no spelling of a gender
        {**good, "id_number": "11010519491231002", "gender": "女士"},  # and no ID to read
    ]
    write("T-HOLDERS", rows)

    def findings() -> set[tuple[str, str, str]]:
        run = service.run_quality(platform, "T-HOLDERS")
        return {
            (r["row_key"], r["field"], r["reason"])
            for r in failure_rows(platform, "T-HOLDERS")
            if r["run_id"] == run.id
        }

    in_arrow = findings()
    monkeypatch.setattr(service, "STREAM_ALIAS", None)  # every rule in plain SQL
    assert (
        findings()
        == in_arrow
        == {
            ('{"_row":2}', "id_number", "ric.check_digit"),
            ('{"_row":2}', "gender", "ric_gender.mismatch"),
            ('{"_row":3}', "birth_date", "ric_birth_date.mismatch"),
            ('{"_row":3}', "credit_code", "uscc.check_char"),
            ('{"_row":7}', "gender", "ric_gender.unreadable"),
            ('{"_row":8}', "id_number", "ric.length"),
        }
    )


def test_custom_sql_rules_run_with_the_others(
    platform: Platform, people: str, queries: list[str]
) -> None:
    with platform.db.session_scope() as session:
        rule = rules.add_rule(
            session,
            data=RuleCreate(
                resource_code=people,
                kind=RuleKind.CUSTOM_SQL,
                params={"predicate": "age >= 18 OR gender = '女'"},
            ),
            actor=SYSTEM,
            ledger=platform.ledger,
            settings=platform.settings,
        )
    queries.clear()  # checking the predicate binds it once; the run is one query
    run = service.run_quality(platform, people)
    assert len(queries) == 1
    result = next(r for r in run.results if r.rule_id == rule.id)
    # only P2's second row (age -1, gender 未知) breaks it; NULL ages (P4) pass, as in CHECK
    assert result.failing == 1
    keys = {r["row_key"] for r in failure_rows(platform, people) if r["rule_id"] == rule.id}
    assert keys == {'{"person_id":"P2"}'}


@pytest.mark.parametrize(
    ("predicate", "problem"),
    [
        ("age > 1; DROP TABLE x", "';'"),
        ("age IN (SELECT 1)", "SELECT is not allowed"),
        ('(FROM "_source") IS NULL', "FROM may only appear"),
        ("other_table.age > 1", "refers to another table"),
        ("salary > 1", "salary is not a column"),
        ("age + 1", "true or false"),
        ("age > 'x' AND", "does not run"),
    ],
)
def test_custom_sql_that_is_not_one_predicate_is_refused(
    platform: Platform, people: str, predicate: str, problem: str
) -> None:
    with platform.db.session_scope() as session, pytest.raises(ValidationFailed) as refused:
        rules.add_rule(
            session,
            data=RuleCreate(
                resource_code=people, kind=RuleKind.CUSTOM_SQL, params={"predicate": predicate}
            ),
            actor=SYSTEM,
            ledger=platform.ledger,
            settings=platform.settings,
        )
    assert problem in refused.value.message + json.dumps(refused.value.details)


def test_rules_that_cannot_run_on_the_version_are_skipped_and_said(
    platform: Platform, declare: Declare, write: Write
) -> None:
    declare("T-LOOKUPS", [field("org", S, "referential:T-NOWHERE/org_code", key=True),
                          field("note", S, "range:1~5")])  # fmt: skip
    declare("T-NOWHERE", [field("org_code", S)])  # never loaded
    write("T-LOOKUPS", [{"org": "ORG1", "note": "7"}, {"org": "ORG2", "note": "x"}])
    run = service.run_quality(platform, "T-LOOKUPS")
    referential = next(r for r in run.results if r.kind is RuleKind.REFERENTIAL)
    assert (referential.checked, referential.failing) == (0, 0)
    assert "T-NOWHERE.org_code has no lake version" in referential.note
    # a number range over a text column reads the text as numbers: 7 is above, x unreadable
    note = next(r for r in run.results if r.kind is RuleKind.RANGE)
    assert note.failing == 2
    assert Dimension.CONSISTENCY not in run.scores


def test_each_version_can_be_checked_and_unknown_versions_are_refused(
    platform: Platform, people: str, write: Write
) -> None:
    write(PEOPLE, [GOOD])
    latest = service.run_quality(platform, people)
    first = service.run_quality(platform, people, version=0)
    assert (latest.version, latest.failing_rows) == (1, 0)
    assert (first.version, first.rows) == (0, len(ROWS))
    assert latest.score == 1.0 and first.score is not None and first.score < 1.0
    with pytest.raises(NotFound, match="no version 7"):
        service.run_quality(platform, people, version=7)
    with platform.db.session_scope() as session:
        assert service.latest_run(session, people).id == first.id  # type: ignore[union-attr]
        assert service.latest_run(session, people, version=1).id == latest.id  # type: ignore[union-attr]
        runs, count = service.list_runs(session, resource_code=people)
    assert count == 2 and [r.id for r in runs] == [first.id, latest.id]  # newest first


def test_a_resource_never_loaded_cannot_be_checked(platform: Platform, declare: Declare) -> None:
    declare("T-EMPTY", [field("a", S, "not_null")])
    with pytest.raises(NotFound, match="no lake version"):
        service.run_quality(platform, "T-EMPTY")


def test_a_failed_run_is_recorded_with_its_error(
    platform: Platform, people: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> Any:
        raise OSError("disk unplugged")

    monkeypatch.setattr(DuckDBEngine, "query_batches", broken)
    with pytest.raises(OSError, match="disk unplugged"):
        service.run_quality(platform, people)
    with platform.db.session_scope() as session:
        runs, _ = service.list_runs(session, resource_code=people)
    assert runs[0].status is RunStatus.FAILED and "disk unplugged" in runs[0].error
    assert failure_rows(platform, people) == []


def _load_record(platform: Platform, code: str, hours_ago: float) -> None:
    """A succeeded load of ``code`` that finished ``hours_ago`` hours ago."""
    with platform.db.session_scope() as session:
        source = IngestSource(
            resource_code=code, department_code="GA", name="s", kind="csv", options={},
            mapping={}, mode="snapshot", key_fields=[], created_by="test",
        )  # fmt: skip
        session.add(source)
        session.flush()
        finished = utcnow() - timedelta(hours=hours_ago)
        session.add(
            IngestLoad(
                source_id=source.id, resource_code=code, department_code="GA",
                status="succeeded", started_at=finished - timedelta(minutes=1),
                finished_at=finished, triggered_by="test",
            )
        )  # fmt: skip


@pytest.mark.parametrize(
    ("hours_ago", "failing", "said"),
    [(None, 1, "never loaded"), (2.0, 0, "2.0 h ago"), (30.0, 1, "30.0 h ago; 24 h allowed")],
)
def test_timeliness_compares_the_last_load_with_the_update_cycle(
    platform: Platform,
    declare: Declare,
    write: Write,
    hours_ago: float | None,
    failing: int,
    said: str,
) -> None:
    declare("T-DAILY", [field("a", S)], cycle=UpdateCycle.DAILY)
    write("T-DAILY", [{"a": "x"}])
    if hours_ago is not None:
        _load_record(platform, "T-DAILY", hours_ago)
    run = service.run_quality(platform, "T-DAILY")
    (timeliness,) = run.results
    assert timeliness.kind is RuleKind.TIMELINESS
    assert (timeliness.checked, timeliness.failing) == (1, failing)
    assert said in timeliness.note
    assert run.scores == {Dimension.TIMELINESS: 1.0 - failing}
    with platform.db.session_scope() as session:
        loads = session.scalars(select(IngestLoad)).all()
    assert len(loads) == (0 if hours_ago is None else 1)  # read, never written
