"""Opening resources as datasets: who may, what may be opened, and new versions released."""

from __future__ import annotations

import pytest

from rongshu.catalog.schemas import OpenType
from rongshu.core.errors import PermissionDenied, ValidationFailed
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.exchange import services as exchange_services
from rongshu.exchange.schemas import ServiceKind, ServiceStatus
from rongshu.opendata import hooks, publishing, releases, service
from rongshu.opendata.schemas import DatasetSpec

from .conftest import AIR, AIR_FIELDS, FIRMS, Portal, air_rows, publish


def _steward(department: str) -> Actor:
    return Actor(
        kind="user",
        name=f"steward-{department}",
        department=department,
        roles=frozenset({Role.DATA_STEWARD}),
    )


def test_only_the_owners_stewards_open_and_never_what_is_not_opened(portal: Portal) -> None:
    portal.air()
    platform = portal.platform
    with platform.db.session_scope() as session, pytest.raises(PermissionDenied):
        publishing.open_dataset(
            platform, session, code=AIR, spec=DatasetSpec(), actor=_steward("SL")
        )
    with platform.db.session_scope() as session:
        row = publishing.open_dataset(
            platform, session, code=AIR, spec=DatasetSpec(tags=["空气"]), actor=_steward("HB")
        )
        assert row.name == AIR.lower() and row.tags == ["空气"]

    publish(platform, "GA-9003", AIR_FIELDS, department="GA", open_type=OpenType.NONE, name="内部")
    with platform.db.session_scope() as session, pytest.raises(ValidationFailed) as refused:
        publishing.open_dataset(platform, session, code="GA-9003", spec=DatasetSpec(), actor=SYSTEM)
    assert "不予开放" in str(refused.value)


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_quasi_identifiers_must_be_opened_fields(portal: Portal) -> None:
    portal.air()
    with pytest.raises(ValidationFailed) as refused:
        portal.open(AIR, columns=["reading_id", "aqi"], quasi_identifiers=["district"])
    assert "district" in str(refused.value)


def test_a_conditional_dataset_gets_an_open_data_service_withdrawn_with_it(
    portal: Portal,
) -> None:
    portal.firms()
    name = portal.open(FIRMS)
    code = exchange_services.service_code(FIRMS, ServiceKind.OPEN_DATA)
    with portal.platform.db.session_scope() as session:
        row = exchange_services.get_service_row(session, code)
        assert row.status == ServiceStatus.PUBLISHED.value and "legal_rep" not in row.columns
        # the exchange's own service catalog keeps listing sharing services only
        listed = exchange_services.list_services(session, resource=FIRMS)
        assert ServiceKind.OPEN_DATA not in {s.kind for s in listed}
    with portal.platform.db.session_scope() as session:
        publishing.withdraw_dataset(
            portal.platform, session, name=name, reason="数据口径调整", actor=SYSTEM
        )
    with portal.platform.db.session_scope() as session:
        assert exchange_services.get_service_row(session, code).status == "withdrawn"
        assert name not in [d.name for d in service.list_datasets(session)]


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_new_lake_versions_are_released_by_the_hook_and_the_job(portal: Portal) -> None:
    portal.air(rows=40)
    name = portal.open(AIR)
    assert releases.release_new_versions(portal.platform, actor=SYSTEM) == [f"{name}@0"]
    assert releases.release_new_versions(portal.platform, actor=SYSTEM) == []

    version = portal.write(AIR, air_rows(60))

    class Load:
        resource_code = AIR

    load = Load()
    load.version = version  # type: ignore[attr-defined]
    hooks.release_after_load(portal.platform, load)  # type: ignore[arg-type]
    with portal.platform.db.session_scope() as session:
        shown = service.get_dataset(session, name)
    assert shown.latest is not None
    assert (shown.latest.version, shown.latest.rows) == (version, 60)
    assert [
        r.version
        for r in service.list_releases(portal.platform.db.session_scope().__enter__(), name)
    ][:1] == [version]
