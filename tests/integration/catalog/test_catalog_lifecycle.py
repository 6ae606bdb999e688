"""A resource's life: draft, submit, return with reasons, resubmit, publish, change, retire."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from rongshu.catalog import service
from rongshu.catalog.schemas import (
    FieldSpec,
    FieldType,
    Grade,
    OpenType,
    ResourceSpec,
    ResourceStatus,
    ShareMethod,
    ShareType,
)
from rongshu.core.audit.models import AuditEntry
from rongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.platform import Platform

from ..conftest import MakeUser


def spec(**changes: Any) -> ResourceSpec:
    values: dict[str, Any] = {
        "code": "350100-GA-0001",
        "name": "常住人口户籍信息",
        "department_code": "GA",
        "summary": "榕城市常住人口的户籍登记信息",
        "fields": [
            FieldSpec(
                name="公民身份号码",
                english_name="id_number",
                data_type=FieldType.STRING,
                is_key=True,
                is_personal=True,
                grade=Grade.GENERAL_3,
                rules=["ric"],
            ),
            FieldSpec(
                name="姓名", english_name="name", data_type=FieldType.STRING, is_personal=True
            ),
        ],  # fmt: skip
        "share_type": ShareType.CONDITIONAL,
        "share_condition": "用于社会保障待遇资格认证",
        "share_methods": [ShareMethod.API],
        "open_type": OpenType.NONE,
        "legal_basis": "《中华人民共和国个人信息保护法》第二十八条",
    }
    values.update(changes)
    return ResourceSpec(**values)


@pytest.fixture
def people(platform: Platform, make_user: MakeUser) -> dict[str, service.CatalogContext]:
    """A GA steward, an RS steward, a bureau approver, a GA approver, an RS developer."""
    users = {
        "steward": make_user("ga_steward", Role.DATA_STEWARD, department="GA"),
        "other_steward": make_user("rs_steward", Role.DATA_STEWARD, department="RS"),
        "reviewer": make_user("dsj_approver", Role.APPROVER, department="DSJ"),
        "ga_approver": make_user("ga_approver", Role.APPROVER, department="GA"),
        "developer": make_user("rs_dev", Role.DEVELOPER, department="RS"),
    }
    contexts = {}
    with platform.db.session_scope() as session:
        for key, username in users.items():
            actor = identity.user_actor(identity.get_user(session, username))
            contexts[key] = service.CatalogContext(
                actor=actor, ledger=platform.ledger, bureau="DSJ"
            )
    return contexts


def test_lifecycle_with_a_returned_submission(
    platform: Platform, people: dict[str, service.CatalogContext]
) -> None:
    steward, reviewer = people["steward"], people["reviewer"]
    with platform.db.session_scope() as session:
        draft = service.create_resource(session, spec=spec(), ctx=steward)
        assert (draft.status, draft.version, draft.effective_grade) == (
            ResourceStatus.DRAFT, 0, Grade.GENERAL_3,
        )  # fmt: skip
        service.submit(session, code=draft.code, reason="首次编目", ctx=steward)
    with platform.db.session_scope() as session, pytest.raises(ValidationFailed, match="reasons"):
        service.review(session, code=draft.code, approve=False, reason=" ", ctx=reviewer)
    with platform.db.session_scope() as session:
        returned = service.review(
            session, code=draft.code, approve=False, reason="共享条件过宽，请细化", ctx=reviewer
        )
        assert returned.status is ResourceStatus.RETURNED
        fixed = spec(share_condition="仅用于本市社会保障待遇资格认证，按次核验")
        service.update_resource(
            session, code=draft.code, spec=fixed, reason="按审核意见修改", ctx=steward
        )
        service.submit(session, code=draft.code, reason="", ctx=steward)
        published = service.review(
            session, code=draft.code, approve=True, reason="同意", ctx=reviewer
        )
        assert (published.status, published.version) == (ResourceStatus.PUBLISHED, 1)
        assert published.publish_date is not None
    # A change drafts version 2 while version 1 stays what everyone else sees.
    with platform.db.session_scope() as session:
        changed = spec(
            share_condition=fixed.share_condition,
            fields=[
                *spec().fields,
                FieldSpec(name="户籍地址", data_type=FieldType.STRING, is_personal=True),
            ],
        )
        service.update_resource(
            session, code=draft.code, spec=changed, reason="增加户籍地址", ctx=steward
        )
        seen_by_others = service.get_resource(
            session, code=draft.code, actor=people["developer"].actor
        )
        assert [f.name for f in seen_by_others.fields] == ["公民身份号码", "姓名"]
        assert seen_by_others.status is ResourceStatus.PUBLISHED
        # Readers outside GA see the history only up to the publication, not the pending change.
        outside = service.history(session, code=draft.code, actor=people["developer"].actor)
        assert outside[0].action == "publish"
        inside = service.history(session, code=draft.code, actor=steward.actor)
        assert (inside[0].action, inside[0].reason) == ("update", "增加户籍地址")
        own = service.get_resource(session, code=draft.code, actor=steward.actor)
        assert own.status is ResourceStatus.DRAFT and len(own.fields) == 3
        service.submit(session, code=draft.code, reason="", ctx=steward)
        assert (
            service.review(session, code=draft.code, approve=True, reason="", ctx=reviewer).version
            == 2
        )
        events = service.history(session, code=draft.code, actor=people["developer"].actor)
    actions = [(e.action, e.actor, e.reason) for e in reversed(events)]
    assert actions[:4] == [
        ("create", "ga_steward", ""),
        ("submit", "ga_steward", "首次编目"),
        ("return", "dsj_approver", "共享条件过宽，请细化"),
        ("update", "ga_steward", "按审核意见修改"),
    ]
    last_publish = events[0]
    assert (last_publish.action, last_publish.version) == ("publish", 2)
    assert [(c.kind, c.field) for c in last_publish.changes] == [("added", "户籍地址")]


def test_permissions(platform: Platform, people: dict[str, service.CatalogContext]) -> None:
    steward = people["steward"]
    with platform.db.session_scope() as session:
        service.create_resource(session, spec=spec(), ctx=steward)
        service.submit(session, code="350100-GA-0001", reason="", ctx=steward)
    with platform.db.session_scope() as session:
        with pytest.raises(PermissionDenied, match="stewards of RS"):
            service.create_resource(
                session, spec=spec(code="X-1", department_code="RS"), ctx=steward
            )
        with pytest.raises(PermissionDenied, match="stewards of GA"):
            service.update_resource(
                session, code="350100-GA-0001", spec=spec(), reason="", ctx=people["other_steward"]
            )
        with pytest.raises(PermissionDenied, match="big-data bureau"):
            service.review(
                session, code="350100-GA-0001", approve=True, reason="", ctx=people["ga_approver"]
            )
        with pytest.raises(PermissionDenied, match="big-data bureau"):
            service.review(session, code="350100-GA-0001", approve=True, reason="", ctx=steward)
        # Not yet published: other departments and the public do not see it at all.
        with pytest.raises(NotFound):
            service.get_resource(session, code="350100-GA-0001", actor=people["developer"].actor)
        service.review(
            session, code="350100-GA-0001", approve=True, reason="", ctx=people["reviewer"]
        )
    with platform.db.session_scope() as session:
        assert service.get_resource(session, code="350100-GA-0001", actor=people["developer"].actor)
        with pytest.raises(NotFound):  # 不予开放: never in the public catalog
            service.get_resource(session, code="350100-GA-0001", actor=None)
        assert service.published_resources(session, open_only=True) == []
    platform.ledger.flush()
    with platform.db.session_scope() as session:
        denied = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.outcome == "denied").order_by(AuditEntry.seq)
        ).all()
        written = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.action.like("catalog.%"), AuditEntry.outcome == "ok"
            )
        ).all()
    assert denied == ["ga_steward", "rs_steward", "ga_approver", "ga_steward"]
    assert sorted(written) == ["catalog.create", "catalog.publish", "catalog.submit"]


def test_codes_are_unique_and_rules_checked_on_create(
    platform: Platform, people: dict[str, service.CatalogContext]
) -> None:
    with platform.db.session_scope() as session:
        service.create_resource(session, spec=spec(), ctx=people["steward"])
    with (
        platform.db.session_scope() as session,
        pytest.raises(Conflict, match="already registered"),
    ):
        service.create_resource(session, spec=spec(), ctx=people["steward"])
    with platform.db.session_scope() as session, pytest.raises(ValidationFailed) as caught:
        service.create_resource(
            session, spec=spec(code="X-2", open_type=OpenType.UNCONDITIONAL), ctx=people["steward"]
        )
    assert {d["field"] for d in caught.value.details} == {
        "fields[0].is_personal",
        "fields[1].is_personal",
    }


def test_submitted_resources_cannot_be_edited_and_retired_ones_disappear(
    platform: Platform, people: dict[str, service.CatalogContext]
) -> None:
    steward, reviewer = people["steward"], people["reviewer"]
    with platform.db.session_scope() as session:
        service.create_resource(session, spec=spec(), ctx=steward)
        service.submit(session, code="350100-GA-0001", reason="", ctx=steward)
        with pytest.raises(Conflict, match="cannot be edited"):
            service.update_resource(
                session, code="350100-GA-0001", spec=spec(name="改"), reason="", ctx=steward
            )
        service.review(session, code="350100-GA-0001", approve=True, reason="", ctx=reviewer)
        with pytest.raises(ValidationFailed, match="reason"):
            service.retire(session, code="350100-GA-0001", reason="", ctx=steward)
        service.retire(session, code="350100-GA-0001", reason="数据已并入新资源", ctx=steward)
        assert service.published_resources(session) == []
        with pytest.raises(NotFound):
            service.get_resource(session, code="350100-GA-0001", actor=people["developer"].actor)
