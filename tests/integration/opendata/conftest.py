"""Fixtures for the open-data portal: published, loaded and scanned resources that may be
opened (sensor readings, an enterprise registry with personal fields) and a way to open them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import (
    FieldSpec,
    FieldType,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
)
from rongshu.core.db import utcnow
from rongshu.core.identity import service as identity
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.exchange import grants, services
from rongshu.exchange.schemas import Condition, ServiceKind
from rongshu.opendata import publishing
from rongshu.opendata.schemas import DatasetSpec, Theme
from rongshu.security import service as security
from rongshu.security.schemas import MaskingProfile

from ..conftest import Write
from ..exchange.conftest import ensure_department

AIR = "HB-9001"
CONDITION = "用于科研或商业开发，需说明用途"
FIRMS = "SC-9002"

AIR_FIELDS = [
    FieldSpec(name="记录编号", english_name="reading_id", data_type=FieldType.INTEGER, is_key=True),
    FieldSpec(name="监测站编码", english_name="station_code", data_type=FieldType.STRING),
    FieldSpec(name="监测站名称", english_name="station_name", data_type=FieldType.STRING),
    FieldSpec(name="所属区县", english_name="district", data_type=FieldType.STRING),
    FieldSpec(name="监测时间", english_name="time", data_type=FieldType.DATETIME),
    FieldSpec(name="PM2.5浓度", english_name="pm25", data_type=FieldType.DECIMAL),
    FieldSpec(name="空气质量指数", english_name="aqi", data_type=FieldType.INTEGER),
]
FIRM_FIELDS = [
    FieldSpec(name="主体编号", english_name="entity_id", data_type=FieldType.STRING, is_key=True),
    FieldSpec(name="企业名称", english_name="firm_name", data_type=FieldType.STRING),
    FieldSpec(name="行业", english_name="industry", data_type=FieldType.STRING),
    FieldSpec(name="所属区县", english_name="district", data_type=FieldType.STRING),
    FieldSpec(name="企业类型", english_name="entity_type", data_type=FieldType.STRING),
    FieldSpec(
        name="法定代表人", english_name="legal_rep", data_type=FieldType.STRING, is_personal=True
    ),
    FieldSpec(name="备注", english_name="remark", data_type=FieldType.STRING),
]
_STATIONS = [("S01", "鼓楼五四北"), ("S02", "台江紫阳"), ("S03", "仓山师大"), ("S04", "晋安快安")]
_DISTRICTS = ["350102", "350103", "350104", "350111"]
_INDUSTRIES = ["软件和信息技术服务业", "批发业", "零售业", "餐饮业"]
_SURNAMES = "王李张刘陈杨黄赵吴周"
_CHECK = "10X98765432"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def air_rows(count: int, *, start: int = 0) -> list[dict[str, Any]]:
    """Hourly readings of four stations."""
    first = datetime(2026, 10, 1, tzinfo=UTC)
    rows = []
    for n in range(start, start + count):
        code, name = _STATIONS[n % 4]
        rows.append(
            {
                "reading_id": n + 1,
                "station_code": code,
                "station_name": name,
                "district": _DISTRICTS[n % 4],
                "time": first + timedelta(hours=n // 4),
                "pm25": round(10 + (n * 7 % 60) + 0.5, 1),
                "aqi": 20 + n * 13 % 120,
            }
        )
    return rows


def resident_id(n: int) -> str:
    body = f"350102{1960 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return body + _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def firm_rows(count: int, *, rare: int = 0, remark_ids: bool = False) -> list[dict[str, Any]]:
    """Firms in four districts × four industries; ``rare`` more are the only sole traders of
    their district and industry (rare quasi-identifier combinations); ``remark_ids`` puts the
    legal representative's ID number into the free-text remark."""
    rows = []
    for n in range(count + rare):
        is_rare = n >= count
        rows.append(
            {
                "entity_id": f"E{n:06d}",
                "firm_name": f"榕城{n}号商贸有限公司",
                "industry": f"稀有行业{n}" if is_rare else _INDUSTRIES[n % 4],
                "district": _DISTRICTS[(n // 4) % 4],
                "entity_type": "个体工商户" if is_rare else "有限责任公司",
                "legal_rep": _SURNAMES[n % 10] + "某",
                "remark": f"法人身份证 {resident_id(n)}" if remark_ids else f"第{n}号备注",
            }
        )
    return rows


def publish(
    platform: Platform,
    code: str,
    fields: Sequence[FieldSpec],
    *,
    department: str,
    open_type: OpenType,
    name: str,
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
                name=name,
                department_code=department,
                summary=f"{name}，供公众下载使用。",
                fields=list(fields),
                share_type=ShareType.UNCONDITIONAL,
                share_methods=[ShareMethod.API],
                open_type=open_type,
                open_condition=CONDITION if open_type is OpenType.CONDITIONAL else "",
                legal_basis="《中华人民共和国数据安全法》" if open_type is OpenType.NONE else "",
            ),
            ctx=ctx,
        )
        catalog.submit(session, code=code, reason="", ctx=ctx)
        catalog.review(session, code=code, approve=True, reason="", ctx=ctx)


def grant_firms(
    platform: Platform,
    app_id: int,
    columns: list[str] | None = None,
    conditions: Sequence[Condition] = (),
) -> None:
    """Grant app ``app_id`` the enterprise registry's open-data service for 30 days (every
    opened field unless ``columns`` says which; the rows ``conditions`` allow)."""
    with platform.db.session_scope() as session:
        service = services.get_service_row(
            session, services.service_code(FIRMS, ServiceKind.OPEN_DATA)
        )
        grants.create_grant(
            session,
            app=identity.get_app(session, app_id),
            service=service,
            columns=columns if columns is not None else list(service.columns),
            conditions=list(conditions),
            purpose="企业经营研究",
            profile=MaskingProfile.STANDARD,
            daily_quota=1000,
            rate_per_second=100,
            expires_at=utcnow() + timedelta(days=30),
            actor=SYSTEM,
            ledger=platform.ledger,
        )


@dataclass
class Portal:
    platform: Platform
    write: Write

    def air(self, rows: int = 400) -> list[dict[str, Any]]:
        """The air-quality resource published, loaded and scanned."""
        publish(
            self.platform,
            AIR,
            AIR_FIELDS,
            department="HB",
            open_type=OpenType.UNCONDITIONAL,
            name="空气质量监测数据",
        )
        data = air_rows(rows)
        self.write(AIR, data)
        security.scan_resource(self.platform, AIR, actor=SYSTEM)
        return data

    def firms(self, rows: int = 160, **kwargs: Any) -> list[dict[str, Any]]:
        """The enterprise registry (conditional open) published, loaded and scanned."""
        publish(
            self.platform,
            FIRMS,
            FIRM_FIELDS,
            department="SC",
            open_type=OpenType.CONDITIONAL,
            name="企业登记信息",
        )
        data = firm_rows(rows, **kwargs)
        self.write(FIRMS, data)
        security.scan_resource(self.platform, FIRMS, actor=SYSTEM)
        return data

    def open(self, code: str, **spec: Any) -> str:
        """Open ``code`` as a dataset; returns its name."""
        spec.setdefault("theme", Theme.ENVIRONMENT)
        with self.platform.db.session_scope() as session:
            row = publishing.open_dataset(
                self.platform, session, code=code, spec=DatasetSpec(**spec), actor=SYSTEM
            )
            return row.name


MakePortal = Callable[[], Portal]


@pytest.fixture
def portal(platform: Platform, write: Write) -> Portal:
    return Portal(platform, write)
