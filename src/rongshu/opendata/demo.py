"""The demo's open-data step: every resource of the demo city whose open type allows it is
opened on the portal, and those with data are released (air quality, water levels, parking; the
enterprise registry without its legal representatives, as conditional open data that the
public applies for, with rare district × enterprise-type combinations suppressed)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from rongshu.core.identity.models import User
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.catalog_resources import table_resource
from rongshu.demo.schema import TABLES
from rongshu.demo.steps import demo_step
from rongshu.opendata import accounts, publishing
from rongshu.opendata.releases import release_new_versions
from rongshu.opendata.schemas import DatasetSpec, Licence, Theme

#: The demo's member of the public, who signs in at /account/login to apply for data.
DEMO_CITIZEN = "citizen"
DEMO_CITIZEN_CONTACT = "citizen@rongcheng.example"
#: Themes by owner department (the bureau's own resources and others: 机构团体).
_THEMES = {
    "GA": Theme.PUBLIC_SAFETY,
    "RS": Theme.SOCIAL,
    "MZ": Theme.SOCIAL,
    "SCJG": Theme.ECONOMY,
    "SW": Theme.ECONOMY,
    "WJ": Theme.HEALTH,
    "JY": Theme.EDUCATION,
    "ZJ": Theme.URBAN,
    "STHJ": Theme.ENVIRONMENT,
    "SL": Theme.ENVIRONMENT,
    "JT": Theme.TRANSPORT,
}
#: The demo city's generated tables that are opened, by table: tags and what else differs.
_OPENED: dict[str, dict[str, object]] = {
    "air_quality_readings": {"tags": ["空气质量", "PM2.5", "环境监测"], "featured": True},
    "water_levels": {"tags": ["水位", "防汛", "河流"], "featured": True},
    "parking_occupancy": {"tags": ["停车", "泊位", "智慧交通"], "featured": True},
    "enterprise_registry": {
        "tags": ["市场主体", "企业登记"],
        "quasi_identifiers": ["district_code", "entity_type"],
        "k_anonymity": 5,
        "licence": Licence.GOV_OPEN,
    },
}


@demo_step("open data", order=60)
def opendata_demo_step(platform: Platform, city_dir: Path) -> str:
    """Open every openable resource, then release those with data."""
    tables = {table_resource(t).code: t.key for t in TABLES if t.key in _OPENED}
    opened = 0
    with platform.db.session_scope() as session:
        for resource in publishing.open_resources(session):
            extra = dict(_OPENED.get(tables.get(resource.code, ""), {}))
            spec = DatasetSpec(
                theme=_THEMES.get(resource.department_code, Theme.GOVERNMENT),
                spatial="榕城市",
                **extra,
            )
            publishing.open_dataset(platform, session, code=resource.code, spec=spec, actor=SYSTEM)
            opened += 1
    released = release_new_versions(platform, actor=SYSTEM)
    with platform.db.session_scope() as session:
        citizen = session.scalar(select(User).where(User.username == DEMO_CITIZEN))
        if citizen is not None and accounts.account_of(session, citizen.id) is None:
            accounts.attach_account(
                platform, session, user=citizen, contact=DEMO_CITIZEN_CONTACT, kind="email"
            )
    conditional = next(code for code, key in tables.items() if key == "enterprise_registry")
    return (
        f"{opened} datasets opened on the portal, {len(released)} with data released; "
        f"sign in as {DEMO_CITIZEN} at /account/login and apply for the conditional enterprise "
        f"registry at /datasets/{conditional.lower()}"
    )
