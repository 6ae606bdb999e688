"""``generate_city``: write the demo city's source systems and their ground truth.

Layout under ``out_dir``::

    sources/sources.db                          SQLite: the database-backed departments
    sources/<dept>/<table>.csv|xlsx|ndjson|json file-backed departments
    catalog/榕城市政务数据资源目录.xlsx          the departments' data-resource catalog (Excel)
    ground_truth/manifest.json                  what was written, and defect counts by kind
    ground_truth/defects.csv                    every injected defect with its original value
    ground_truth/duplicates.csv                 every near-duplicate person and what differs
    ground_truth/pii_columns.csv                every column holding personal or identifying
                                                information, and its entity type

The same ``seed`` and ``rows`` give byte-identical files; memory stays flat from ten thousand
to 25 million residents because every table is streamed in chunks.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel, Field

from rongshu.core.errors import ValidationFailed
from rongshu.demo.catalog_sheet import CATALOG_FILE, write_catalog
from rongshu.demo.defects import DESCRIPTIONS, RATES, DefectInjector, DefectLog
from rongshu.demo.departments import DEPARTMENT_BY_CODE
from rongshu.demo.foreigners import foreigner_stays
from rongshu.demo.identifiers import IdSequenceAllocator
from rongshu.demo.population import NEAR_DUPLICATE_RATE, REFERENCE_DATE, Duplicate, Population
from rongshu.demo.records import ProviderRecords
from rongshu.demo.regions import CITY_NAME, FIRST_ISSUE_YEAR
from rongshu.demo.schema import TABLES, DefectKind, SourceFormat, TableSpec
from rongshu.demo.sensors import air_quality, parking, water_levels
from rongshu.demo.writers import (
    XLSX_HEADER_ROWS,
    CsvSink,
    JsonApiSink,
    NdjsonSink,
    Sink,
    SqlAlchemySink,
    SqliteSink,
    XlsxSink,
)
from rongshu.security.entities import EntityType

#: Registry rows generated (and written) per step; everything in memory is about this big.
CHUNK_ROWS = 10_000
MIN_ROWS = 100
MAX_ROWS = 25_000_000
DEFAULT_ROWS = 20_000
DEFAULT_SEED = 20211
DATABASE_FILE = "sources/sources.db"
MANIFEST_FILE = "ground_truth/manifest.json"
PII_COLUMNS_FILE = "ground_truth/pii_columns.csv"

#: Size of the tables not drawn from the households, as a share of the registry's rows.
SERIES_SHARES: dict[str, float] = {
    "air_quality_readings": 0.5,
    "water_levels": 0.25,
    "parking_occupancy": 0.25,
    "foreigner_accommodation": 0.03,
}
#: How each of those tables is made: (rng, total rows, rows per chunk) -> chunks of rows.
_SERIES: dict[str, Callable[[random.Random, int, int], Iterator[list[list[object]]]]] = {
    "air_quality_readings": air_quality,
    "water_levels": water_levels,
    "parking_occupancy": parking,
    "foreigner_accommodation": foreigner_stays,
}

Progress = Callable[[str, int, int], None]


class ColumnInfo(BaseModel):
    """A column of a source table, as the manifest lists it."""

    name: str
    label: str
    type: str
    semantic: str | None
    defects: list[DefectKind]
    valid_range: tuple[float, float] | None = None
    pii: EntityType | None = None


class TableSummary(BaseModel):
    """One source table: who provides it, where it is, and what went into it."""

    key: str
    title: str
    department: str
    department_name: str
    source: SourceFormat
    paths: list[str] = Field(description="Files relative to the output directory.")
    encoding: str | None
    sql_table: str | None
    key_column: str
    header_rows: int = Field(description="Rows before the data (CSV 1, Excel 3, else 0).")
    rows: int
    columns: list[ColumnInfo]
    defects: dict[DefectKind, int]


class DefectSummary(BaseModel):
    """One defect kind: its configured rate, the cells it could hit, and how many it did."""

    kind: DefectKind
    description: str
    configured_rate: float
    cells: int
    count: int
    observed_rate: float


class CityManifest(BaseModel):
    """What ``generate_city`` wrote (``ground_truth/manifest.json`` without the last two)."""

    city: str = CITY_NAME
    seed: int
    rows: int = Field(description="Rows of the household registry (residents and duplicates).")
    reference_date: date
    database_path: str
    catalog_path: str = Field(
        CATALOG_FILE, description="The departments' catalog workbook (one row per field)."
    )
    defects_path: str = "ground_truth/defects.csv"
    duplicates_path: str = "ground_truth/duplicates.csv"
    pii_columns_path: str = Field(
        PII_COLUMNS_FILE, description="Every column with personal or identifying information."
    )
    databases: list[str] = Field(description="External databases written to (no passwords).")
    tables: list[TableSummary]
    defects: list[DefectSummary]
    duplicates: int
    near_duplicate_rate: float
    id_issue_year_floor: int = Field(
        FIRST_ISSUE_YEAR,
        description="ID region codes are valid in max(birth year, this year): the first issue.",
    )
    out_dir: Path = Field(exclude=True)
    elapsed_seconds: float = Field(exclude=True)

    def table(self, key: str) -> TableSummary:
        """The summary of one table by key."""
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


def _file_path(sources: Path, spec: TableSpec) -> Path:
    return sources / spec.department.lower() / f"{spec.key}.{spec.extension}"


def _clear_previous(out_dir: Path) -> None:
    """Remove files an earlier run wrote (only ours), so a rerun starts clean."""
    sources = out_dir / "sources"
    database = out_dir / DATABASE_FILE
    stale = [database, database.with_name(database.name + "-journal"), out_dir / CATALOG_FILE]
    for spec in TABLES:
        path = _file_path(sources, spec)
        stale.append(path)
        if spec.source is SourceFormat.XLSX and path.parent.exists():
            stale.extend(path.parent.glob(f"{spec.key}_[0-9][0-9][0-9].xlsx"))
    truth = out_dir / "ground_truth"
    stale += [out_dir / MANIFEST_FILE, truth / "defects.csv", truth / "duplicates.csv"]
    stale.append(out_dir / PII_COLUMNS_FILE)
    for path in stale:
        path.unlink(missing_ok=True)


def _sinks(
    spec: TableSpec, sources: Path, database: sqlite3.Connection, engines: Sequence[sa.Engine]
) -> list[Sink]:
    if spec.source is SourceFormat.SQLITE:
        sinks: list[Sink] = [SqliteSink(database, spec)]
        return sinks + [SqlAlchemySink(engine, spec) for engine in engines]
    path = _file_path(sources, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    if spec.source is SourceFormat.CSV:
        return [CsvSink(path, spec)]
    if spec.source is SourceFormat.NDJSON:
        return [NdjsonSink(path, spec)]
    if spec.source is SourceFormat.JSON:
        return [JsonApiSink(path, spec)]
    department = DEPARTMENT_BY_CODE[spec.department]
    title = f"{department.name} {spec.title} {REFERENCE_DATE.year}年"
    return [XlsxSink(path, spec, title)]


def _connect(urls: Sequence[str]) -> list[sa.Engine]:
    """Engines for the external databases, each tried once so a bad URL fails before any work."""
    engines: list[sa.Engine] = []
    for url in urls:
        try:
            shown = sa.make_url(url).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            raise ValidationFailed(
                "not a database URL", details=[{"field": "database_urls"}]
            ) from None
        try:
            engine = sa.create_engine(url)
            with engine.connect():
                pass
        except (sa.exc.SQLAlchemyError, ImportError) as exc:
            for opened in engines:
                opened.dispose()
            raise ValidationFailed(
                f"cannot use database {shown}: {type(exc).__name__}",
                details=[{"field": "database_urls", "url": shown}],
            ) from None
        engines.append(engine)
    return engines


def _duplicate_rows(duplicates: list[Duplicate]) -> Iterator[tuple[str, str, str, str]]:
    for duplicate in duplicates:
        columns = ";".join(dict.fromkeys(column for column, _, _ in duplicate.changes))
        details = "; ".join(f"{column}: {old} → {new}" for column, old, new in duplicate.changes)
        yield duplicate.original_id, duplicate.duplicate_id, columns, details


def generate_city(
    out_dir: Path,
    *,
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    database_urls: Sequence[str] = (),
    progress: Progress | None = None,
) -> CityManifest:
    """Write 榕城's source systems for ``rows`` registry rows, with defects and ground truth.

    ``database_urls`` (SQLAlchemy URLs) receive the database-backed tables too, dropped and
    recreated. ``progress(stage, done, total)`` is called after each chunk; ``stage`` is a
    table key (the people-linked tables all advance with ``household_registry``).
    """
    if not MIN_ROWS <= rows <= MAX_ROWS:
        raise ValidationFailed(
            f"rows must be between {MIN_ROWS:,} and {MAX_ROWS:,}",
            details=[{"field": "rows", "value": rows}],
        )
    started = time.perf_counter()
    engines = _connect(database_urls)
    out_dir = Path(out_dir)
    sources = out_dir / "sources"
    truth = out_dir / "ground_truth"
    _clear_previous(out_dir)
    sources.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, done, total: None)

    counts: Counter[str] = Counter()
    paths: dict[str, list[Path]] = {}
    duplicates = 0
    with ExitStack() as stack:
        for engine in engines:
            stack.callback(engine.dispose)
        database = sqlite3.connect(out_dir / DATABASE_FILE)
        stack.callback(database.close)
        database.execute("PRAGMA journal_mode = OFF")
        database.execute("PRAGMA synchronous = OFF")
        defects_file = stack.enter_context(
            (truth / "defects.csv").open("w", encoding="utf-8", newline="")
        )
        log = DefectLog(defects_file)
        sinks = {spec.key: _sinks(spec, sources, database, engines) for spec in TABLES}
        injectors = {
            spec.key: DefectInjector(spec, random.Random(f"{seed}:defects:{spec.key}"), log)
            for spec in TABLES
        }

        def emit(key: str, table_rows: list[list[object]]) -> None:
            injectors[key].inject(table_rows)
            for sink in sinks[key]:
                sink.write(table_rows)
            counts[key] += len(table_rows)

        duplicates_file = stack.enter_context(
            (truth / "duplicates.csv").open("w", encoding="utf-8", newline="")
        )
        duplicate_writer = csv.writer(duplicates_file, lineterminator="\n")
        duplicate_writer.writerow(
            ("original_person_id", "duplicate_person_id", "changed_columns", "details")
        )
        population = Population(random.Random(f"{seed}:population"), IdSequenceAllocator(), rows)
        records = ProviderRecords(seed, rows)
        for chunk in population.chunks(CHUNK_ROWS):
            emit("household_registry", chunk.registry_rows)
            for key, table_rows in records.derive(chunk).items():
                emit(key, table_rows)
            duplicate_writer.writerows(_duplicate_rows(chunk.duplicates))
            duplicates += len(chunk.duplicates)
            database.commit()
            report("household_registry", counts["household_registry"], rows)
        for key, make in _SERIES.items():
            total = max(1, int(rows * SERIES_SHARES[key]))
            for table_rows in make(random.Random(f"{seed}:{key}"), total, CHUNK_ROWS):
                emit(key, table_rows)
                report(key, counts[key], total)
        for key, table_sinks in sinks.items():
            paths[key] = [path for sink in table_sinks for path in sink.close()]
        database.commit()
    write_catalog(out_dir)
    write_pii_columns(out_dir / PII_COLUMNS_FILE)

    manifest = CityManifest(
        seed=seed,
        rows=rows,
        reference_date=REFERENCE_DATE,
        database_path=DATABASE_FILE,
        databases=[sa.make_url(url).render_as_string(hide_password=True) for url in database_urls],
        tables=[
            _table_summary(spec, out_dir, paths[spec.key], counts[spec.key], log) for spec in TABLES
        ],
        defects=_defect_summaries(log),
        duplicates=duplicates,
        near_duplicate_rate=NEAR_DUPLICATE_RATE,
        out_dir=out_dir,
        elapsed_seconds=0.0,
    )
    (out_dir / MANIFEST_FILE).write_text(
        manifest.model_dump_json(indent=2) + "\n", encoding="utf-8"
    )
    manifest.elapsed_seconds = round(time.perf_counter() - started, 3)
    return manifest


def write_pii_columns(path: Path) -> None:
    """``pii_columns.csv``: one row (table, column, entity) per column the schema marks."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(("table", "column", "entity"))
        writer.writerows(
            (spec.key, column.name, column.pii.value)
            for spec in TABLES
            for column in spec.columns
            if column.pii is not None
        )


def _table_summary(
    spec: TableSpec, out_dir: Path, paths: list[Path], rows: int, log: DefectLog
) -> TableSummary:
    department = DEPARTMENT_BY_CODE[spec.department]
    sql = spec.source is SourceFormat.SQLITE
    header_rows = {SourceFormat.CSV: 1, SourceFormat.XLSX: XLSX_HEADER_ROWS}.get(spec.source, 0)
    return TableSummary(
        key=spec.key,
        title=spec.title,
        department=spec.department,
        department_name=department.name,
        source=spec.source,
        paths=[DATABASE_FILE] if sql else [p.relative_to(out_dir).as_posix() for p in paths],
        encoding=spec.encoding,
        sql_table=spec.sql_table if sql else None,
        key_column=spec.key_column,
        header_rows=header_rows,
        rows=rows,
        columns=[
            ColumnInfo(
                name=c.name,
                label=c.label,
                type=c.type,
                semantic=c.semantic,
                defects=list(c.defects),
                valid_range=c.valid_range,
                pii=c.pii,
            )
            for c in spec.columns
        ],
        defects={
            kind: count for (table, kind), count in sorted(log.counts.items()) if table == spec.key
        },
    )


def _defect_summaries(log: DefectLog) -> list[DefectSummary]:
    summaries = []
    for kind in DefectKind:
        cells = sum(count for (_, k), count in log.cells.items() if k is kind)
        count = sum(n for (_, k), n in log.counts.items() if k is kind)
        summaries.append(
            DefectSummary(
                kind=kind,
                description=DESCRIPTIONS[kind],
                configured_rate=RATES[kind],
                cells=cells,
                count=count,
                observed_rate=round(count / cells, 6) if cells else 0.0,
            )
        )
    return summaries
