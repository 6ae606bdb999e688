"""`rongshu quality run | report | rules | validate` as an operator runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rongshu.catalog.schemas import FieldType
from rongshu.cli import app
from rongshu.core.platform import Platform
from rongshu.standards import get_standard

from ..conftest import Declare, Write, field

CODE = "T-CLI"
#: The commands open the data directory themselves: SQLite's.
sqlite_only = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def rongshu(platform: Platform, *args: str, code: int = 0) -> str:
    return invoke(*args, "--data-dir", str(platform.settings.data_dir), code=code)


@pytest.fixture
def resource(declare: Declare, write: Write) -> str:
    declare(CODE, [field("id", FieldType.STRING, "not_null", "unique", key=True),
                   field("name", FieldType.STRING, "not_null")])  # fmt: skip
    write(CODE, [{"id": "1", "name": "甲"}, {"id": "2", "name": None}, {"id": "2", "name": "乙"}])
    return CODE


@sqlite_only
def test_rules_are_listed_and_synced(platform: Platform, resource: str) -> None:
    assert "no rules yet" in rongshu(platform, "quality", "rules", resource)
    out = rongshu(platform, "quality", "rules", "sync", resource)
    assert f"{resource}: 3 rules added, 0 removed, 0 kept" in out
    listed = json.loads(rongshu(platform, "quality", "rules", resource, "--json"))
    assert [(r["field"], r["kind"]) for r in listed] == [
        ("id", "not_null"), ("id", "unique"), ("name", "not_null")
    ]  # fmt: skip
    again = json.loads(rongshu(platform, "quality", "rules", "sync", resource, "--json"))
    assert (again["added"], again["kept"]) == ([], 3)
    assert "no resource with code T-NONE" in rongshu(platform, "quality", "rules", "T-NONE", code=4)
    assert "sync RESOURCE" in rongshu(platform, "quality", "rules", "a", "b", "c", code=2)


@sqlite_only
def test_run_then_report(platform: Platform, resource: str) -> None:
    out = rongshu(platform, "quality", "run", resource)
    assert f"{resource} version 0: 3 rows, 2 failing at least one rule" in out
    assert "完整性" in out and "unique" in out
    run = json.loads(rongshu(platform, "quality", "run", resource, "--version", "0", "--json"))
    assert (run["rows"], run["failing_rows"], run["status"]) == (3, 2, "succeeded")
    card = json.loads(rongshu(platform, "quality", "report", resource, "--json"))
    assert card["run"]["id"] == run["id"] and len(card["trend"]) == 2
    assert "trend: v0" in rongshu(platform, "quality", "report", resource)
    league = json.loads(rongshu(platform, "quality", "report", "--json"))
    (row,) = league["league"]["data"]
    assert (row["rank"], row["department_code"], row["resources"]) == (1, "GA", 1)
    assert row["score"] == pytest.approx(run["score"])
    assert league["departments"][0]["resources"][0]["resource_code"] == resource
    text = rongshu(platform, "quality", "report")
    assert "league table" in text and "GA 局" in text
    assert "has no version 5" in rongshu(
        platform, "quality", "run", resource, "--version", "5", code=4
    )


def test_validate_values_against_a_standard() -> None:
    good, bad = "11010519491231002X", "110105194912310021"
    out = invoke("quality", "validate", "--standard", "ric", good, bad, code=1)
    zh, en = get_standard("ric").reasons["ric.check_digit"]
    assert f"{good}  ok" in out and f"{bad}  ric.check_digit  {zh} ({en})" in out
    assert f"{good}  ok" in invoke("quality", "validate", "--standard", "ric", good)
    verdicts = json.loads(
        invoke("quality", "validate", "--standard", "ric", good, bad, "--json", code=1)
    )
    assert [(v["ok"], v["reason"]) for v in verdicts] == [(True, None), (False, "ric.check_digit")]
    unknown = invoke("quality", "validate", "--standard", "iban", "x", code=4)
    assert "iban" in unknown and "Traceback" not in unknown


@sqlite_only
def test_profile_suggests_rules_and_accepts_them(
    platform: Platform, declare: Declare, write: Write
) -> None:
    declare("T-PROFILE", [field("person_id", FieldType.STRING, key=True),
                          field("gender", FieldType.STRING)])  # fmt: skip
    ric = get_standard("ric")
    firsts = [f"11010519491231{n:03d}" for n in range(1, 41)]  # 17 characters each
    valid = [f + next(c for c in "0123456789X" if ric.check(f + c).ok) for f in firsts]
    write("T-PROFILE", [{"person_id": v, "gender": "男女"[i % 2]} for i, v in enumerate(valid)])
    out = rongshu(platform, "quality", "profile", "T-PROFILE")
    assert "T-PROFILE version 0: 40 rows" in out
    assert "suggested: person_id ric" in out and "suggested: gender enum" in out
    assert "add them with --accept" in out
    added = json.loads(rongshu(platform, "quality", "profile", "T-PROFILE", "--accept", "--json"))
    kinds = {(r["field"], r["kind"], r["params"].get("standard")) for r in added["added"]}
    assert ("person_id", "standard", "ric") in kinds and ("gender", "enum", None) in kinds
    again = json.loads(rongshu(platform, "quality", "profile", "T-PROFILE", "--json"))
    assert again["suggestions"] == []  # what was accepted is not suggested again
    assert "no data in the lake" in rongshu(platform, "quality", "profile", CODE, code=4)
