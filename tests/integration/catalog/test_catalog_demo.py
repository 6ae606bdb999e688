"""`rongshu demo`'s catalog step: the generated workbook is imported, reviewed and published."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from rongshu.areas import load_demo_steps
from rongshu.catalog import service
from rongshu.catalog.demo import REVIEW_REASON, register_demo_catalog
from rongshu.catalog.importer import import_catalog
from rongshu.catalog.models import CatalogEvent, CatalogVersion
from rongshu.catalog.schemas import ResourceSpec
from rongshu.catalog.service import CatalogContext
from rongshu.cli import app
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.catalog_resources import catalog_resources
from rongshu.demo.catalog_sheet import CATALOG_FILE, catalog_workbook
from rongshu.demo.generator import generate_city
from rongshu.demo.schema import TABLES
from rongshu.demo.steps import DEMO_STEPS


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate_city(out, rows=200, seed=11)
    return out


def counts(platform: Platform) -> tuple[int, int]:
    with platform.db.session_scope() as session:
        events = session.scalar(select(func.count()).select_from(CatalogEvent)) or 0
        versions = session.scalar(select(func.count()).select_from(CatalogVersion)) or 0
    return events, versions


def test_the_generator_writes_the_catalog_workbook(city_dir: Path) -> None:
    assert (city_dir / CATALOG_FILE).read_bytes() == catalog_workbook()


def test_the_demo_registers_and_publishes_the_whole_catalog(
    platform: Platform, city_dir: Path
) -> None:
    bootstrap(platform)
    declared = catalog_resources()
    fields = sum(len(r.fields) for r in declared)

    summary = register_demo_catalog(platform, city_dir)

    assert summary == f"{len(declared)} resources, {fields} fields registered and published"
    with platform.db.session_scope() as session:
        published = service.published_resources(session)
        opened = service.published_resources(session, open_only=True)
        household = service.history(session, code="350100-GA-0001", actor=SYSTEM)
    assert [r.code for r in published] == sorted(r.code for r in declared)
    by_code = {r.code: r for r in published}
    for spec in declared:
        shown = by_code[spec.code]
        assert shown.version == 1 and shown.status == "published"
        assert ResourceSpec.model_validate(shown.model_dump()) == spec  # as the sheet declares
    assert {r.department_name for r in published} >= {"榕城市公安局", "榕城市生态环境局"}
    titles = {r.name for r in published}
    assert {table.title for table in TABLES} <= titles
    assert "户籍人口信息" not in {r.name for r in opened}  # 不予开放: not in the open catalog
    assert "空气质量小时监测数据" in {r.name for r in opened}
    assert [e.action for e in household] == ["publish", "submit", "create"]
    assert household[0].reason == REVIEW_REASON


def test_running_the_demo_again_changes_nothing(platform: Platform, city_dir: Path) -> None:
    bootstrap(platform)
    register_demo_catalog(platform, city_dir)
    before = counts(platform)

    summary = register_demo_catalog(platform, city_dir)

    assert summary == f"already registered ({len(catalog_resources())} resources)"
    assert counts(platform) == before


def test_resources_registered_before_are_skipped(platform: Platform, city_dir: Path) -> None:
    bootstrap(platform)
    ctx = CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="DSJ")
    first_two = catalog_resources()[:2]
    with platform.db.session_scope() as session:
        import_catalog(session, data=catalog_workbook(first_two), filename="a.xlsx", ctx=ctx)

    summary = register_demo_catalog(platform, city_dir)

    total = len(catalog_resources())
    assert summary.startswith(f"{total - 2} resources, ")
    assert summary.endswith("(2 were registered already)")
    with platform.db.session_scope() as session:
        published = {r.code for r in service.published_resources(session)}
        drafts = service.list_working(session, actor=SYSTEM, status=None)
    assert len(published) == total - 2
    assert {r.code for r in drafts if r.status == "draft"} == {r.code for r in first_two}


def test_a_city_generated_before_the_catalog_gets_its_workbook(
    platform: Platform, tmp_path: Path, city_dir: Path
) -> None:
    bootstrap(platform)
    older = tmp_path / "older-city"
    older.mkdir()  # the step needs only the workbook, which it writes when it is missing

    summary = register_demo_catalog(platform, older)

    assert (older / CATALOG_FILE).read_bytes() == catalog_workbook()
    assert summary.startswith(f"{len(catalog_resources())} resources")


def test_rongshu_demo_loads_the_catalog_step() -> None:
    load_demo_steps()
    assert [step.name for step in DEMO_STEPS if step.name == "catalog"] == ["catalog"]
    step = next(step for step in DEMO_STEPS if step.name == "catalog")
    assert step.run is register_demo_catalog


def test_rongshu_demo_prints_what_the_catalog_step_did(tmp_path: Path) -> None:
    total = len(catalog_resources())
    fields = sum(len(r.fields) for r in catalog_resources())
    argv = ["demo", "--no-serve", "--rows", "200", "--data-dir", str(tmp_path)]
    first = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert f"✓ catalog: {total} resources, {fields} fields registered and published" in first.output
    again = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert f"✓ catalog: already registered ({total} resources)" in again.output
