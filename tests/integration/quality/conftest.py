"""Fixtures for quality tests: departments, a catalog resource, and its lake versions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from rongshu.catalog import service as catalog
from rongshu.catalog.demo import register_demo_catalog
from rongshu.catalog.schemas import (
    FieldSpec,
    FieldType,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from rongshu.core.identity import service as identity
from rongshu.core.identity.schemas import SYSTEM, DepartmentCreate
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import bootstrap
from rongshu.demo.generator import generate_city
from rongshu.ingest import service as ingest
from rongshu.ingest.schemas import LoadMode, SourceCreate
from rongshu.lake.schema import arrow_schema
from rongshu.lake.tables import Lake

Declare = Callable[..., str]
Write = Callable[..., int]


def field(
    english: str,
    data_type: FieldType = FieldType.STRING,
    *rules: str,
    key: bool = False,
    description: str = "",
) -> FieldSpec:
    """A catalog field named after its column, with the rule names given."""
    return FieldSpec(
        name=f"{english} 信息项",
        english_name=english,
        data_type=data_type,
        is_key=key,
        rules=list(rules),
        description=description,
    )


@pytest.fixture
def declare(platform: Platform) -> Declare:
    """Register a catalog resource: ``declare(code, fields, department="GA", cycle=...)``."""

    def make(
        code: str,
        fields: Sequence[FieldSpec],
        *,
        department: str = "GA",
        cycle: UpdateCycle = UpdateCycle.IRREGULAR,
    ) -> str:
        with platform.db.session_scope() as session:
            if department not in {d.code for d in identity.list_departments(session)}:
                identity.create_department(
                    session,
                    data=DepartmentCreate(
                        code=department, name=f"{department} 局", region_code="350100"
                    ),
                    actor=SYSTEM,
                    ledger=platform.ledger,
                )
            catalog.create_resource(
                session,
                spec=ResourceSpec(
                    code=code,
                    name=f"资源 {code}",
                    department_code=department,
                    fields=list(fields),
                    share_type=ShareType.UNCONDITIONAL,
                    share_methods=[ShareMethod.API],
                    open_type=OpenType.NONE,
                    legal_basis="测试",
                    update_cycle=cycle,
                ),
                ctx=catalog.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau="DSJ"),
            )
        return code

    return make


@pytest.fixture
def write(platform: Platform) -> Write:
    """Commit rows as a new version of a resource's lake table (typed as its catalog fields)."""

    def commit(code: str, rows: list[dict[str, Any]], mode: str = "overwrite") -> int:
        with platform.db.session_scope() as session:
            schema = arrow_schema(catalog.current_fields(session, code))
        table = pa.Table.from_pylist(rows, schema=schema)
        result = (
            Lake.from_settings(platform.settings)
            .table(code)
            .commit(
                table.to_batches(),
                schema=schema,
                mode=mode,  # type: ignore[arg-type]
            )
        )
        return result.version

    return commit


#: The demo city's household registry (公安 户籍人口), for tests through real loads and runs.
REGISTRY = "350100-GA-0001"


def registry_city(platform: Platform, out: Path, *, rows: int = 300, seed: int = 7) -> Path:
    """Generate the demo city into ``out``, register its catalog, and attach the household
    registry's SQLite table as the source ``registry`` (snapshot loads)."""
    generate_city(out, rows=rows, seed=seed)
    bootstrap(platform)
    register_demo_catalog(platform, out)
    with platform.db.session_scope() as session:
        ingest.create_source(
            session,
            data=SourceCreate(
                resource_code=REGISTRY,
                name="registry",
                kind="sql",
                options={
                    "url": f"sqlite:///{out / 'sources' / 'sources.db'}",
                    "table": "ga_household_registry",
                },
                mode=LoadMode.SNAPSHOT,
            ),
            actor=SYSTEM,
            ledger=platform.ledger,
            secret=platform.secret,
        )
    return out
