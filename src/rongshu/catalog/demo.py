"""``rongshu demo``'s catalog step: register and publish the demo city's catalog.

The departments' catalog arrives as bureaus send it, an Excel workbook the generator writes
(``catalog/榕城市政务数据资源目录.xlsx``); it goes through the same import as any bureau's
file, then the big-data bureau approves every submission. Running the demo again changes
nothing: resources already registered are left as they are.
"""

from __future__ import annotations

from pathlib import Path

from rongshu.catalog import service
from rongshu.catalog.importer import import_catalog
from rongshu.catalog.reader import read_catalog
from rongshu.catalog.service import CatalogContext
from rongshu.core.errors import ValidationFailed
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.catalog_sheet import CATALOG_FILE, catalog_workbook, write_catalog
from rongshu.demo.steps import demo_step

REVIEW_REASON = "演示数据目录"


@demo_step("catalog", order=10)
def register_demo_catalog(platform: Platform, city_dir: Path) -> str:
    """Import the city's catalog workbook, submitted, and publish every resource in it."""
    path = Path(city_dir) / CATALOG_FILE
    if not path.is_file():
        write_catalog(city_dir)  # a city generated before the catalog was part of it
    data = path.read_bytes()
    declared, problems = read_catalog(data, path.name)
    if problems:
        raise ValidationFailed(
            f"{path.name}: the demo catalog cannot be read",
            details=[problem.model_dump() for problem in problems],
        )
    ctx = CatalogContext(
        actor=SYSTEM, ledger=platform.ledger, bureau=platform.settings.bureau_department
    )
    with platform.db.session_scope() as session:
        registered = service.existing_codes(session, [spec.code for spec in declared])
        if len(registered) == len(declared):
            return f"already registered ({len(declared)} resources)"
        if registered:
            # Import what is missing only: an import refuses codes that are registered.
            missing = [spec for spec in declared if spec.code not in registered]
            data = catalog_workbook(missing)
        report = import_catalog(session, data=data, filename=path.name, ctx=ctx, submit=True)
        for code in report.codes:
            service.review(session, code=code, approve=True, reason=REVIEW_REASON, ctx=ctx)
    summary = f"{report.resources} resources, {report.fields} fields registered and published"
    if registered:
        summary += f" ({len(registered)} were registered already)"
    return summary
