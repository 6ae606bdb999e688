"""Fixtures for the exchange area: a published, scanned, shareable resource with data, its
services, a consuming department's app with an API key, and a way to grant it a service."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import (
    FieldSpec,
    FieldType,
    Grade,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
)
from rongshu.core.db import utcnow
from rongshu.core.identity import service as identity
from rongshu.core.identity.schemas import SYSTEM, AppCreate, DepartmentCreate
from rongshu.core.platform import Platform
from rongshu.exchange import grants, services
from rongshu.exchange.models import ExchangeService
from rongshu.exchange.schemas import Condition, ServiceKind
from rongshu.security import service as security
from rongshu.security.schemas import MaskingProfile

from ..conftest import Write

CODE = "GA-9001"
OWNER = "GA"
CONSUMER = "MZ"

FIELDS = [
    FieldSpec(
        name="公民身份号码", english_name="id_number", data_type=FieldType.STRING, is_key=True
    ),
    FieldSpec(name="姓名", english_name="name", data_type=FieldType.STRING, is_personal=True),
    FieldSpec(name="出生日期", english_name="birth_date", data_type=FieldType.DATE),
    FieldSpec(name="联系电话", english_name="phone", data_type=FieldType.STRING),
    FieldSpec(name="所属区县", english_name="district", data_type=FieldType.STRING),
    FieldSpec(name="住址", english_name="address", data_type=FieldType.STRING),
    FieldSpec(
        name="户籍备注",
        english_name="remark",
        data_type=FieldType.STRING,
        grade=Grade.IMPORTANT,
    ),
]
_SURNAMES = "王李张刘陈杨黄赵吴周"
_GIVEN = "伟芳娜敏静丽强磊军洋"
_DISTRICTS = ["350102", "350103", "350104", "350105"]
_CHECK = "10X98765432"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(region: str, born: date, sequence: int) -> str:
    """A GB 11643 ID number with a correct check character."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def people(count: int) -> list[dict[str, Any]]:
    """``count`` residents with valid ID numbers, names, phones and addresses."""
    rows = []
    for n in range(count):
        district = _DISTRICTS[n % len(_DISTRICTS)]
        born = date(1950, 1, 1) + timedelta(days=(n * 97) % 25000)
        rows.append(
            {
                "id_number": resident_id(district, born, n % 1000),
                "name": _SURNAMES[n % 10] + _GIVEN[(n // 10) % 10],
                "birth_date": born,
                "phone": f"138{n:08d}",
                "district": district,
                "address": f"福建省福州市鼓楼区东街{n % 300 + 1}号",
                "remark": f"备注{n}",
            }
        )
    return rows


@dataclass
class Shared:
    """The shared resource, its rows, and the consuming app."""

    platform: Platform
    code: str
    rows: list[dict[str, Any]]
    app_id: int
    api_key: str
    key_id: str

    def grant(
        self,
        kind: ServiceKind,
        columns: Sequence[str] | None = None,
        *,
        profile: MaskingProfile = MaskingProfile.STANDARD,
        conditions: Sequence[Condition] = (),
        daily_quota: int = 1_000_000,
        rate_per_second: int = 100_000,
        days: float = 30,
        app_id: int | None = None,
    ) -> int:
        """Grant the app a service of the resource directly (no application); returns its id."""
        with self.platform.db.session_scope() as session:
            service = services.get_service_row(session, services.service_code(self.code, kind))
            app = identity.get_app(session, app_id or self.app_id)
            made = grants.create_grant(
                session,
                app=app,
                service=service,
                columns=list(columns) if columns is not None else list(service.columns),
                conditions=list(conditions),
                purpose="测试用途",
                profile=profile,
                daily_quota=daily_quota,
                rate_per_second=rate_per_second,
                expires_at=utcnow() + timedelta(days=days),
                actor=SYSTEM,
                ledger=self.platform.ledger,
            )
            return made.id


def ensure_department(platform: Platform, code: str) -> None:
    with platform.db.session_scope() as session:
        if code not in {d.code for d in identity.list_departments(session)}:
            identity.create_department(
                session,
                data=DepartmentCreate(code=code, name=f"{code} 局", region_code="350100"),
                actor=SYSTEM,
                ledger=platform.ledger,
            )


def publish_resource(
    platform: Platform,
    code: str,
    fields: Sequence[FieldSpec],
    *,
    department: str = OWNER,
    share_type: ShareType = ShareType.CONDITIONAL,
) -> None:
    """Register, submit and publish a catalog resource (the bureau approves at once)."""
    ensure_department(platform, department)
    ensure_department(platform, "DSJ")
    ctx = catalog.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="DSJ")
    with platform.db.session_scope() as session:
        catalog.create_resource(
            session,
            spec=ResourceSpec(
                code=code,
                name=f"人口信息 {code}",
                department_code=department,
                fields=list(fields),
                share_type=share_type,
                share_condition="用于核验身份" if share_type is ShareType.CONDITIONAL else "",
                share_methods=[ShareMethod.API, ShareMethod.BATCH],
                open_type=OpenType.NONE,
                legal_basis="《中华人民共和国个人信息保护法》",
            ),
            ctx=ctx,
        )
        catalog.submit(session, code=code, reason="", ctx=ctx)
        catalog.review(session, code=code, approve=True, reason="", ctx=ctx)


def make_app(
    platform: Platform, department: str = CONSUMER, name: str = "核验应用"
) -> tuple[int, str, str]:
    """A consuming app with one API key: (app id, API key, key id)."""
    ensure_department(platform, department)
    with platform.db.session_scope() as session:
        app = identity.create_app(
            session,
            data=AppCreate(name=name, department_code=department),
            actor=SYSTEM,
            ledger=platform.ledger,
        )
        issued = identity.issue_api_key(
            session,
            app_id=app.id,
            secret=platform.secret,
            keys=platform.data_keys,
            actor=SYSTEM,
            ledger=platform.ledger,
        )
    return app.id, issued.api_key, issued.key_id


MakeShared = Callable[..., Shared]


@pytest.fixture
def make_shared(platform: Platform, write: Write) -> MakeShared:
    """``make_shared(rows=200, share_type=...)``: the resource published, loaded, scanned, its
    services published, and an app of another department with an API key."""

    def make(rows: int = 200, share_type: ShareType = ShareType.CONDITIONAL) -> Shared:
        publish_resource(platform, CODE, FIELDS, share_type=share_type)
        data = people(rows)
        write(CODE, data)
        security.scan_resource(platform, CODE, actor=SYSTEM)
        with platform.db.session_scope() as session:
            services.publish_services(session, code=CODE, actor=SYSTEM, ledger=platform.ledger)
        app_id, api_key, key_id = make_app(platform)
        return Shared(platform, CODE, data, app_id, api_key, key_id)

    return make


__all__ = ["CODE", "ExchangeService", "MakeShared", "Shared", "make_app", "people"]
