"""A resource's rules: seeded from the catalog, synced, and changed by its stewards only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import FieldType, ResourceSpec, UpdateCycle
from rongshu.core.audit.models import AuditEntry
from rongshu.core.errors import Conflict, PermissionDenied, ValidationFailed
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.core.platform import Platform
from rongshu.quality import rules, service
from rongshu.quality.schemas import (
    Dimension,
    RuleCreate,
    RuleKind,
    RuleOrigin,
    RuleUpdate,
    Severity,
)

from ..conftest import Declare, Write, field

S, DAY = FieldType.STRING, FieldType.DATE
CODE = "T-RULES"
STEWARDS = frozenset({Role.DATA_STEWARD})
STEWARD = Actor(kind="user", name="ga-steward", roles=STEWARDS, department="GA")
OUTSIDER = Actor(kind="user", name="rs-steward", roles=STEWARDS, department="RS")


@pytest.fixture
def resource(declare: Declare) -> str:
    return declare(
        CODE,
        [
            field("person_id", S, "not_null", "unique", key=True),
            field("id_number", S, "ric", "not_null"),
            field("birth_date", DAY, "ric_birth_date:id_number", "range:1900-01-01~"),
            field("gender", S, "ric_gender:id_number", "enum:男|女|未知"),
            field("district", S, "region", "ric_region:id_number", "length:6~6"),
            field("note", S, "spelling", "range", "ric_gender", r"regex:^\d+$"),
        ],
        cycle=UpdateCycle.DAILY,
    )


def test_the_catalogs_rules_are_seeded_and_unknown_names_reported(
    platform: Platform, resource: str
) -> None:
    with platform.db.session_scope() as session:
        report = rules.sync_rules(
            session, resource_code=resource, actor=SYSTEM, ledger=platform.ledger
        )
    seeded = {
        (r.field, r.kind, json.dumps(r.params, sort_keys=True, ensure_ascii=False))
        for r in report.added
    }
    assert seeded == {
        ("person_id", RuleKind.NOT_NULL, "{}"),
        ("person_id", RuleKind.UNIQUE, "{}"),
        ("id_number", RuleKind.STANDARD, '{"standard": "ric"}'),
        ("id_number", RuleKind.NOT_NULL, "{}"),
        ("birth_date", RuleKind.RIC_BIRTH_DATE, '{"id_field": "id_number"}'),
        ("birth_date", RuleKind.RANGE, '{"min": "1900-01-01"}'),
        ("gender", RuleKind.RIC_GENDER, '{"id_field": "id_number"}'),
        ("gender", RuleKind.ENUM, '{"values": ["男", "女", "未知"]}'),
        ("district", RuleKind.STANDARD, '{"standard": "region"}'),
        ("district", RuleKind.RIC_REGION, '{"id_field": "id_number", "level": 6}'),
        ("district", RuleKind.LENGTH, '{"max": 6, "min": 6}'),
        ("note", RuleKind.REGEX, '{"pattern": "^\\\\d+$"}'),
        (None, RuleKind.TIMELINESS, "{}"),  # a daily resource
    }
    assert {r.origin for r in report.added} == {RuleOrigin.CATALOG}
    by_kind = {r.kind: r for r in report.added}
    assert by_kind[RuleKind.NOT_NULL].dimension is Dimension.COMPLETENESS
    assert by_kind[RuleKind.RIC_GENDER].dimension is Dimension.CONSISTENCY
    assert by_kind[RuleKind.RANGE].severity is Severity.WARNING
    assert {(s.field, s.rule) for s in report.skipped} == {
        ("note", "spelling"),
        ("note", "range"),  # no bounds given, none in the description
        ("note", "ric_gender"),  # no ID field named
    }
    assert "unknown rule 'spelling'" in next(
        s.reason for s in report.skipped if s.rule == "spelling"
    )


def test_sync_is_idempotent_and_follows_the_catalog(platform: Platform, resource: str) -> None:
    with platform.db.session_scope() as session:
        first = rules.sync_rules(
            session, resource_code=resource, actor=SYSTEM, ledger=platform.ledger
        )
        steward_rule = rules.add_rule(
            session,
            data=RuleCreate(resource_code=resource, field="note", kind=RuleKind.NOT_NULL),
            actor=STEWARD,
            ledger=platform.ledger,
            settings=platform.settings,
        )
        again = rules.sync_rules(
            session, resource_code=resource, actor=SYSTEM, ledger=platform.ledger
        )
    assert again.added == [] and again.removed == [] and again.kept == len(first.added)
    # the steward drops the regex from the catalog: sync removes it, keeps the steward's rule
    with platform.db.session_scope() as session:
        current = catalog.get_resource(session, code=resource, actor=SYSTEM)
        spec = ResourceSpec.model_validate(
            current.model_dump(include=set(ResourceSpec.model_fields))
        )
        for item in spec.fields:
            item.rules = [r for r in item.rules if not r.startswith("regex")]
        catalog.update_resource(
            session,
            code=resource,
            spec=spec,
            reason="no regex",
            ctx=catalog.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="DSJ"),
        )
        later = rules.sync_rules(
            session, resource_code=resource, actor=SYSTEM, ledger=platform.ledger
        )
        kinds = {(r.field, r.kind) for r in rules.list_rules(session, resource_code=resource)}
    assert [r.kind for r in later.removed] == [RuleKind.REGEX]
    assert ("note", RuleKind.REGEX) not in kinds and ("note", RuleKind.NOT_NULL) in kinds
    assert steward_rule.origin is RuleOrigin.STEWARD


def test_two_first_runs_seeding_at_once_keep_one_set_of_rules(
    platform: Platform, resource: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if platform.db.dialect == "sqlite":
        pytest.skip("SQLite refuses the later writer outright (its snapshot is stale)")
    real_store, raced = rules._store, []

    def store(*args: Any) -> Any:
        if not raced:  # another run seeds and commits just before this one writes its first
            raced.append(True)
            with platform.db.session_scope() as other:
                rules.sync_rules(other, resource_code=resource, actor=SYSTEM, ledger=None)
        return real_store(*args)

    monkeypatch.setattr(rules, "_store", store)
    with platform.db.session_scope() as session:
        rules.seed_rules(session, resource_code=resource)  # no IntegrityError escapes
    monkeypatch.undo()
    with platform.db.session_scope() as session:
        seeded = rules.list_rules(session, resource_code=resource)
        again = rules.sync_rules(session, resource_code=resource, actor=SYSTEM, ledger=None)
    assert raced and seeded and again.added == [] and again.kept == len(seeded)


def test_a_stewards_first_rule_comes_after_the_catalogs(platform: Platform, resource: str) -> None:
    with platform.db.session_scope() as session:
        rules.add_rule(
            session,
            data=RuleCreate(resource_code=resource, field="note", kind=RuleKind.NOT_NULL),
            actor=STEWARD,
            ledger=platform.ledger,
            settings=platform.settings,
        )
        listed = rules.list_rules(session, resource_code=resource)
    assert len(listed) == 14 and listed[-1].origin is RuleOrigin.STEWARD


def test_only_the_departments_stewards_change_its_rules(platform: Platform, resource: str) -> None:
    data = RuleCreate(resource_code=resource, field="note", kind=RuleKind.LENGTH, params={"max": 9})
    with platform.db.session_scope() as session:
        added = rules.add_rule(
            session, data=data, actor=STEWARD, ledger=platform.ledger, settings=platform.settings
        )
        with pytest.raises(Conflict, match="already has this length rule"):
            rules.add_rule(
                session,
                data=data,
                actor=STEWARD,
                ledger=platform.ledger,
                settings=platform.settings,
            )
    for attempt in (
        lambda s: rules.add_rule(
            s, data=data, actor=OUTSIDER, ledger=platform.ledger, settings=platform.settings
        ),
        lambda s: rules.update_rule(
            s,
            rule_id=added.id,
            data=RuleUpdate(enabled=False),
            actor=OUTSIDER,
            ledger=platform.ledger,
        ),
        lambda s: rules.delete_rule(s, rule_id=added.id, actor=OUTSIDER, ledger=platform.ledger),
        lambda s: rules.sync_rules(
            s, resource_code=resource, actor=OUTSIDER, ledger=platform.ledger
        ),
    ):
        with platform.db.session_scope() as session, pytest.raises(PermissionDenied):
            attempt(session)
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.outcome == "denied")
        ).all()
        assert actions.count("quality.rule_change") == 4
        updated = rules.update_rule(
            session,
            rule_id=added.id,
            data=RuleUpdate(enabled=False, severity=Severity.INFO, dimension=Dimension.ACCURACY),
            actor=STEWARD,
            ledger=platform.ledger,
        )
    assert (updated.enabled, updated.severity, updated.dimension) == (
        False, Severity.INFO, Dimension.ACCURACY
    )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"field": "salary", "kind": "not_null"}, "salary is not a field"),
        ({"field": "note", "kind": "standard", "params": {"standard": "iban"}}, "no standard iban"),
        ({"field": "gender", "kind": "ric_gender", "params": {"id_field": "idno"}}, "idno is not"),
        ({"field": "note", "kind": "referential", "params": {"resource": "T-NONE", "column": "a"}},
         "no resource T-NONE"),
        ({"field": "note", "kind": "referential", "params": {"resource": CODE, "column": "zz"}},
         "zz is not a field"),
    ],
)  # fmt: skip
def test_rules_naming_what_the_resource_lacks_are_refused(
    platform: Platform, resource: str, data: dict[str, object], problem: str
) -> None:
    with platform.db.session_scope() as session, pytest.raises(ValidationFailed) as refused:
        rules.add_rule(
            session,
            data=RuleCreate.model_validate({"resource_code": resource, **data}),
            actor=STEWARD,
            ledger=platform.ledger,
            settings=platform.settings,
        )
    assert problem in str(refused.value.details)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"kind": "not_null"}, "needs a field"),
        ({"kind": "timeliness", "field": "note"}, "checks the resource"),
        ({"kind": "range", "field": "note", "params": {}}, "needs min, max or both"),
        ({"kind": "range", "field": "note", "params": {"min": 5, "max": 1}}, "above max"),
        ({"kind": "range", "field": "note", "params": {"min": 1, "max": "2020-01-01"}}, "both be"),
        ({"kind": "regex", "field": "note", "params": {"pattern": "(unclosed"}}, "not a regular"),
        ({"kind": "enum", "field": "note", "params": {"values": []}}, "at least 1"),
        ({"kind": "not_null", "field": "note", "params": {"x": 1}}, "Extra inputs"),
    ],
)
def test_malformed_rules_are_refused_before_they_reach_the_service(
    data: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        RuleCreate.model_validate({"resource_code": CODE, **data})


def test_a_disabled_rule_is_not_checked(platform: Platform, resource: str, write: Write) -> None:
    write(resource, [{"person_id": "A", "id_number": None}, {"person_id": "A"}])
    first = service.run_quality(platform, resource)
    unique = next(r for r in first.results if r.kind is RuleKind.UNIQUE)
    assert unique.failing == 2
    with platform.db.session_scope() as session:
        rules.update_rule(
            session, rule_id=unique.rule_id, data=RuleUpdate(enabled=False), actor=STEWARD,
            ledger=platform.ledger,
        )  # fmt: skip
    second = service.run_quality(platform, resource)
    assert unique.rule_id not in {r.rule_id for r in second.results}
    assert len(second.results) == len(first.results) - 1
