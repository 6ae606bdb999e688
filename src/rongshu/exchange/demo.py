"""The demo's exchange step: every shareable resource with data publishes its services; the
human-resources department's verification app holds grants (one approved by the owner's
approver, one granted at once for unconditional data), one application waits for approval and
one was refused with a reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import ShareType
from rongshu.core.db import utcnow
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import DEMO_APP, ensure_app
from rongshu.demo.steps import demo_step
from rongshu.exchange import applications, services, serving
from rongshu.exchange.schemas import (
    ApplicationCreate,
    ApprovalAction,
    ApprovalDecision,
    ServiceStatus,
)
from rongshu.lake.tables import Lake
from rongshu.security.schemas import MaskingProfile

#: (service, columns, purpose, legal basis, profile, decider (username, department) or None)
_RS_APPLICATIONS = (
    (
        "350100-GA-0001.verify",
        ["id_number", "name", "birth_date", "household_address"],
        "社保待遇领取资格认证：核验参保人身份号码与姓名、出生日期、户籍地址是否一致",
        "《中华人民共和国社会保险法》第七十四条",
        MaskingProfile.STANDARD,
        ("approver", "GA", ApprovalAction.APPROVE, "同意，仅限核验，不返回数据"),
    ),
    (
        "350100-SCJG-0001.query",
        None,
        "参保单位登记信息比对",
        "《社会保险登记管理暂行办法》",
        MaskingProfile.STANDARD,
        None,  # unconditional: granted at once
    ),
    (
        "350100-GA-0003.batch",
        None,
        "工伤认定中核对事故车辆登记信息",
        "《工伤保险条例》第十九条",
        MaskingProfile.ANALYTICS,
        None,  # conditional: waits for the public-security approver
    ),
)
#: Resources whose query and verification go by a field consumers hold, not the internal key.
_LOOKUPS = {"350100-GA-0001": ["id_number"]}
_REFUSED = (
    "350100-GA-0006.query",
    "婚姻登记时查询当事人住宿记录",
    "《婚姻登记条例》",
    "用途与境外人员住宿登记无关，且超出最小必要范围；请改用出入境证件核验服务",
)


def _user(username: str, department: str, role: Role) -> Actor:
    return Actor(kind="user", name=username, department=department, roles=frozenset({role}))


def _apply(
    platform: Platform,
    app_id: int,
    applicant: Actor,
    service_code: str,
    columns: list[str] | None,
    purpose: str,
    basis: str,
    profile: MaskingProfile,
) -> str:
    with platform.db.session_scope() as session:
        service = services.get_service_row(session, service_code)
        made = applications.apply(
            session,
            data=ApplicationCreate(
                service=service_code,
                app_id=app_id,
                columns=columns or list(service.columns),
                purpose=purpose,
                legal_basis=basis,
                scenario="演示",
                expected_daily_calls=50_000,
                valid_until=utcnow() + timedelta(days=365),
                masking_profile=profile,
            ),
            actor=applicant,
            ledger=platform.ledger,
            settings=platform.settings,
        )
        return made.number


def _decide(
    platform: Platform, number: str, decider: Actor, action: ApprovalAction, reason: str
) -> None:
    with platform.db.session_scope() as session:
        applications.decide(
            session,
            number=number,
            decision=ApprovalDecision(action=action, reason=reason),
            actor=decider,
            ledger=platform.ledger,
            settings=platform.settings,
        )


def _try_it(lake: Lake) -> str:
    """A verification to try with the demo app's key, on a real resident of the demo city."""
    table = lake.table("350100-GA-0001")
    for batch in table.batches(columns=["id_number", "name"], batch_size=16):
        person = batch.to_pylist()[0]
        return (
            "try it: RONGSHU_API_KEY=<the key below> rongshu exchange call "
            f"350100-GA-0001.verify --key id_number={person['id_number']} "
            f"--claim name={person['name']}"
        )
    return ""


@demo_step("exchange", order=50)
def exchange_demo_step(platform: Platform, city_dir: Path) -> str:
    """Publish services, then file the demo applications (once: later runs keep them)."""
    lake = Lake.from_settings(platform.settings)
    with platform.db.session_scope() as session:
        shareable = [
            r.code
            for r in catalog.published_resources(session)
            if r.share_type is not ShareType.NONE and lake.table(r.code).version() is not None
        ]
    published = 0
    for code in shareable:
        with platform.db.session_scope() as session:
            found = services.publish_services(
                session,
                code=code,
                actor=SYSTEM,
                ledger=platform.ledger,
                lookup=_LOOKUPS.get(code),
            )
            published += sum(s.status is ServiceStatus.PUBLISHED for s in found)
    with platform.db.session_scope() as session:
        filed = applications.list_applications(session, actor=SYSTEM, bureau="").count
    rs_app = ensure_app(platform, *DEMO_APP)
    if not filed:
        developer = _user("developer", "RS", Role.DEVELOPER)
        for code, columns, purpose, basis, profile, decision in _RS_APPLICATIONS:
            number = _apply(platform, rs_app, developer, code, columns, purpose, basis, profile)
            if decision is not None:
                username, department, action, reason = decision
                _decide(
                    platform, number, _user(username, department, Role.APPROVER), action, reason
                )
        mz_app = ensure_app(platform, "婚姻登记核验", "MZ", "民政局婚姻登记窗口核验系统")
        code, purpose, basis, reason = _REFUSED
        number = _apply(
            platform,
            mz_app,
            _user("demo-mz-developer", "MZ", Role.DEVELOPER),
            code,
            None,
            purpose,
            basis,
            MaskingProfile.STANDARD,
        )
        _decide(
            platform,
            number,
            _user("approver", "GA", Role.APPROVER),
            ApprovalAction.REFUSE,
            reason,
        )
    for code, *_ in _RS_APPLICATIONS[:2]:
        serving.build(platform, code.rsplit(".", 1)[0])
    return (
        f"{published} services published for {len(shareable)} shareable resources; "
        "demo app 社保资格核验 may verify 350100-GA-0001 by ID number and query "
        "350100-SCJG-0001, "
        "one application waits for the public-security approver, one was refused\n" + _try_it(lake)
    )
