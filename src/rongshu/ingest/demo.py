"""``rongshu demo``'s ingest step: attach every generated source system to its catalog resource,
then load them all into the lake.

The departments' files (CSV in UTF-8, UTF-8 with BOM and GB18030, Excel with a title row and
merged headers, NDJSON, an API-shaped JSON document) are attached with the connector options a
steward would leave as they are: the encoding, the header rows and the records are detected.
The SQLite department database is attached table by table, and so are the copies in PostgreSQL
or MariaDB that ``rongshu demo generate --to-db URL`` wrote, when they can be reached.

Each table loads in the mode that fits it (``TABLE_LOADS``): registries as snapshots, records
with a stable number by upsert, readings and payments incrementally past a watermark; the copies
in other databases merge into the same resource by its key, adding nothing new.

Running the demo again changes nothing: sources already attached are kept, and a source already
loaded since the city was generated is not loaded again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import sqlalchemy as sa

from rongshu.core.errors import NotFound, RongshuError
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.bootstrap import read_manifest
from rongshu.demo.catalog_resources import catalog_resources, table_resource
from rongshu.demo.generator import MANIFEST_FILE, CityManifest, TableSummary
from rongshu.demo.schema import TABLE_BY_KEY, SourceFormat
from rongshu.demo.steps import demo_step
from rongshu.ingest import service
from rongshu.ingest.connectors.base import SourceSpec, open_connector
from rongshu.ingest.runner import run_load
from rongshu.ingest.schemas import LoadMode, LoadPublic, LoadStatus, SourceCreate


@dataclass(frozen=True)
class TableLoad:
    """How a generated table becomes lake versions: the mode and, if incremental, its watermark."""

    mode: LoadMode
    watermark: str | None = None


#: Load mode per generated table; a table not listed loads as a snapshot. Registries are sent
#: whole; insurance, birth, marriage and hotel-stay records keep their number as they change (a
#: stay gets its check-out date); sensor readings, logins and monthly payments only grow, so
#: each load takes what is past the last one.
TABLE_LOADS: dict[str, TableLoad] = {
    "household_registry": TableLoad(LoadMode.SNAPSHOT),
    "enterprise_registry": TableLoad(LoadMode.SNAPSHOT),
    "tax_registration": TableLoad(LoadMode.SNAPSHOT),
    "property_registrations": TableLoad(LoadMode.SNAPSHOT),
    "student_status": TableLoad(LoadMode.SNAPSHOT),
    "vehicle_registrations": TableLoad(LoadMode.SNAPSHOT),
    "social_insurance": TableLoad(LoadMode.UPSERT),
    "birth_certificates": TableLoad(LoadMode.UPSERT),
    "marriage_registrations": TableLoad(LoadMode.UPSERT),
    "foreigner_accommodation": TableLoad(LoadMode.UPSERT),
    "subsidy_payments": TableLoad(LoadMode.INCREMENTAL, "payment_month"),
    "air_quality_readings": TableLoad(LoadMode.INCREMENTAL, "time"),
    "water_levels": TableLoad(LoadMode.INCREMENTAL, "time"),
    "parking_occupancy": TableLoad(LoadMode.INCREMENTAL, "updateTime"),
    "portal_login_log": TableLoad(LoadMode.INCREMENTAL, "login_time"),
}

#: How a URL shows a password it hides (``render_as_string(hide_password=True)``, the manifest).
_HIDDEN_PASSWORD = "***"  # noqa: S105 - a placeholder, not a password

_FILE_KINDS = {
    SourceFormat.CSV: "csv",
    SourceFormat.XLSX: "excel",
    SourceFormat.NDJSON: "json",
    SourceFormat.JSON: "json",
}


@dataclass(frozen=True)
class LoadFailure:
    """A demo source whose load failed, and why."""

    resource_code: str
    source_name: str
    error: str


@dataclass
class DemoIngest:
    """What the ingest step did: sources attached, loads run or skipped, what was left out."""

    sources: int = 0
    attached: int = 0
    already_loaded: int = 0
    loads: list[LoadPublic] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    databases_left_out: list[str] = field(default_factory=list)
    without_source: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the demo's output."""
        parts = [f"{self.sources} sources ({self.attached} attached now)"]
        if self.loads:
            resources = len({load.resource_code for load in self.loads})
            written = sum(load.rows_written for load in self.loads)
            rejected = sum(load.rows_rejected for load in self.loads)
            parts.append(
                f"{len(self.loads)} loads into {resources} resources: {written:,} rows written, "
                f"{rejected:,} rejected, {self.seconds:.1f} s"
            )
        if self.already_loaded:
            parts.append(f"{self.already_loaded} already loaded since the city was generated")
        parts += [f"FAILED {f.resource_code} ← {f.source_name}: {f.error}" for f in self.failures]
        parts += self.databases_left_out
        if self.without_source:
            parts.append(
                f"{len(self.without_source)} catalog resources have no source "
                "(the generator writes no data for them)"
            )
        return "; ".join(parts)


@demo_step("ingest", order=20)
def ingest_demo_step(platform: Platform, city_dir: Path) -> str:
    """Attach and load the city's sources; the summary line."""
    return load_demo_sources(platform, city_dir).summary()


def load_demo_sources(platform: Platform, city_dir: Path) -> DemoIngest:
    """Attach every generated table of the city in ``city_dir`` to its resource and load it.

    Failed loads are reported, not raised: the rest of the demo still runs, and the failure is
    in the source's load records as it would be for a steward.
    """
    city_dir = Path(city_dir)
    manifest = read_manifest(city_dir)
    if manifest is None:
        raise NotFound(f"no demo city in {city_dir}: run `rongshu demo generate` first")
    generated = datetime.fromtimestamp((city_dir / MANIFEST_FILE).stat().st_mtime, UTC)
    report = DemoIngest()
    wanted = city_sources(manifest)
    for url in manifest.databases:
        sources, problem = database_sources(manifest, url)
        wanted += sources
        if problem:
            report.databases_left_out.append(problem)
    report.sources = len(wanted)
    report.attached = _attach(platform, wanted)

    started = time.perf_counter()
    for source in wanted:
        if _loaded_since(platform, source, generated):
            report.already_loaded += 1
            continue
        try:
            load = run_load(
                platform,
                resource_code=source.resource_code,
                source_name=source.name,
                triggered_by="demo",
            )
        except RongshuError as exc:
            report.failures.append(LoadFailure(source.resource_code, source.name, exc.message))
        else:
            report.loads.append(load)
    report.seconds = time.perf_counter() - started

    with platform.db.session_scope() as session:
        sourced = {s.resource_code for s in service.list_sources(session)}
    report.without_source = [r.code for r in catalog_resources() if r.code not in sourced]
    return report


# -- the sources of a generated city ---------------------------------------------------------


def city_sources(manifest: CityManifest) -> list[SourceCreate]:
    """Each file and SQLite table of the city as a source of its table's catalog resource."""
    sources = []
    for table in manifest.tables:
        if table.source is SourceFormat.SQLITE:
            path = manifest.out_dir / table.paths[0]
            url = sa.URL.create("sqlite", database=str(path.resolve()))
            sources.append(_sql_source(table, url))
            continue
        paths = [str((manifest.out_dir / part).resolve()) for part in table.paths]
        sources.append(
            _source(
                table,
                name=PurePosixPath(table.paths[0]).name,
                kind=_FILE_KINDS[table.source],
                options={"path": paths[0] if len(paths) == 1 else paths},
            )
        )
    return sources


def database_sources(manifest: CityManifest, url: str) -> tuple[list[SourceCreate], str | None]:
    """The tables written to the database at ``url`` (as the manifest shows it) as sources;
    none, with the reason, when the database cannot be used."""
    parsed = sa.make_url(url)
    tables = [t for t in manifest.tables if t.source is SourceFormat.SQLITE and t.sql_table]
    if not tables:
        return [], None
    if parsed.password == _HIDDEN_PASSWORD:
        return [], f"{url} left out: the manifest keeps no password (attach it with ingest attach)"
    try:
        open_connector(
            SourceSpec(kind="sql", options={"url": url, "table": tables[0].sql_table})
        ).columns()
    except RongshuError as exc:
        return [], f"{url} left out: {exc.message}"
    return [_sql_source(table, parsed) for table in tables], None


def _sql_source(table: TableSummary, url: sa.URL) -> SourceCreate:
    backend = url.get_backend_name()
    # A copy in another database merges by key into what the department's own system loaded.
    load = None if backend == "sqlite" else TableLoad(LoadMode.UPSERT)
    return _source(
        table,
        name=f"{backend}.{PurePosixPath(url.database or 'db').stem}",
        kind="sql",
        options={"url": url.render_as_string(hide_password=False), "table": table.sql_table},
        load=load,
    )


def _source(
    table: TableSummary,
    *,
    name: str,
    kind: str,
    options: dict[str, object],
    load: TableLoad | None = None,
) -> SourceCreate:
    load = load or TABLE_LOADS.get(table.key, TableLoad(LoadMode.SNAPSHOT))
    return SourceCreate(
        resource_code=table_resource(TABLE_BY_KEY[table.key]).code,
        name=name,
        kind=kind,
        options=options,
        mode=load.mode,
        watermark_column=load.watermark,
        key_fields=[table.key_column] if load.mode is LoadMode.UPSERT else [],
    )


# -- attaching and loading -------------------------------------------------------------------


def _attach(platform: Platform, sources: Sequence[SourceCreate]) -> int:
    """Attach the sources not attached yet; how many were."""
    with platform.db.session_scope() as session:
        existing = {(s.resource_code, s.name) for s in service.list_sources(session)}
        new = [s for s in sources if (s.resource_code, s.name) not in existing]
        for source in new:
            service.create_source(
                session, data=source, actor=SYSTEM, ledger=platform.ledger, secret=platform.secret
            )
    return len(new)


def _loaded_since(platform: Platform, source: SourceCreate, moment: datetime) -> bool:
    """Whether the source has a load that succeeded after ``moment``."""
    with platform.db.session_scope() as session:
        row = service.get_source(session, resource_code=source.resource_code, name=source.name)
        loads, _ = service.list_loads(
            session, source_id=row.id, status=LoadStatus.SUCCEEDED, limit=1
        )
    return bool(loads) and loads[0].started_at >= moment
