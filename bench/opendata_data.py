"""The data of ``bench/opendata.py``: a portal of generated datasets, a sensor table of many
rows (air quality readings), and the same rows in a SQLite file for Datasette.

Everything goes through the platform's own paths: catalog resources registered, submitted
and approved; each opened with ``publishing.open_dataset``; the sensor rows committed to the
lake, scanned, opened and released with ``releases.release``.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from catalog_search import DEPARTMENTS, QUALIFIERS, SUBJECTS  # bench/ (scripts run from it)
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
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
from rongshu.lake.schema import arrow_schema
from rongshu.lake.tables import Lake
from rongshu.opendata import publishing, releases
from rongshu.opendata.schemas import DatasetSpec, Licence, ReleasePublic, Theme
from rongshu.security import service as security
from rongshu.security.schemas import Decision

BUREAU = ("DSJ", "榕城市大数据管理局")
#: Thirty departments of the catalog bench, each with the theme its datasets mostly have.
THEMES = {
    "GA": Theme.PUBLIC_SAFETY,
    "RS": Theme.SOCIAL,
    "SCJG": Theme.ECONOMY,
    "WJ": Theme.HEALTH,
    "MZ": Theme.SOCIAL,
    "ZJ": Theme.URBAN,
    "JY": Theme.EDUCATION,
    "SW": Theme.ECONOMY,
    "STHJ": Theme.ENVIRONMENT,
    "SL": Theme.ENVIRONMENT,
    "JT": Theme.TRANSPORT,
    "ZRZY": Theme.URBAN,
    "CZ": Theme.ECONOMY,
    "FGW": Theme.ECONOMY,
    "GXJ": Theme.ECONOMY,
    "NYNC": Theme.AGRICULTURE,
    "SW2": Theme.ECONOMY,
    "WHLY": Theme.EDUCATION,
    "YJGL": Theme.PUBLIC_SAFETY,
    "YBJ": Theme.HEALTH,
    "SFJ": Theme.GOVERNMENT,
    "TJJ": Theme.GOVERNMENT,
    "CGJ": Theme.URBAN,
    "GJJ": Theme.URBAN,
    "TYJ": Theme.EDUCATION,
    "TRS": Theme.SOCIAL,
    "LYJ": Theme.AGRICULTURE,
    "QX": Theme.ENVIRONMENT,
    "GL": Theme.GOVERNMENT,
    "TJ": Theme.GOVERNMENT,
}
PORTAL_DEPARTMENTS = [(code, name) for code, name in DEPARTMENTS if code in THEMES]
#: Tags every dataset draws from, besides its subject.
TAGS = (
    "人口 企业 环境 交通 医疗 教育 社保 住房 财政 农业 旅游 安全 气象 水务 信用 统计 民生 "
    "城市管理 法律服务 文化 就业 养老 应急 规划 税务 市场监管 公共服务 实时数据 年度数据 地图"
).split()
PLACES = ["榕城市", "鼓楼区", "台江区", "仓山区", "晋安区", "马尾区", "长乐区", "闽侯县"]
#: Non-personal information items a generated dataset lists (its catalog fields).
COLUMNS = [
    ("统计年度", "stat_year", FieldType.INTEGER),
    ("所属区县", "district", FieldType.STRING),
    ("所属街道", "street", FieldType.STRING),
    ("机构名称", "institution_name", FieldType.STRING),
    ("项目名称", "project_name", FieldType.STRING),
    ("办理状态", "case_status", FieldType.STRING),
    ("数量", "amount", FieldType.INTEGER),
    ("金额（万元）", "value_wan", FieldType.DECIMAL),
    ("经度", "longitude", FieldType.DECIMAL),
    ("纬度", "latitude", FieldType.DECIMAL),
    ("更新日期", "updated_on", FieldType.DATE),
    ("许可事项", "licensed_matter", FieldType.STRING),
    ("监测时间", "measured_at", FieldType.DATETIME),
    ("监测值", "measured_value", FieldType.DECIMAL),
    ("备注", "remarks", FieldType.STRING),
]
CYCLES = list(UpdateCycle)
LICENCES = list(Licence)


@dataclass(frozen=True)
class Generated:
    """One generated dataset: its resource code, department and what it is opened with."""

    code: str
    department: str
    name: str
    summary: str
    subject: str
    conditional: bool
    fields: list[FieldSpec]
    spec: DatasetSpec


def generate(count: int, seed: int) -> list[Generated]:
    """``count`` datasets of the thirty departments: titles of place, subject and qualifier,
    2–5 tags, mostly the department's theme, every licence, one in eight conditional."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        department, department_name = PORTAL_DEPARTMENTS[n % len(PORTAL_DEPARTMENTS)]
        subject = rng.choice(SUBJECTS)
        title = f"{rng.choice(PLACES)}{subject}{rng.choice(QUALIFIERS)}"
        if rng.random() < 0.3:
            title = f"{rng.randint(2019, 2026)}年{title}"
        tags = [subject, *rng.sample(TAGS, rng.randint(1, 4))]
        theme = THEMES[department] if rng.random() < 0.8 else rng.choice(list(Theme))
        picked = rng.sample(COLUMNS, rng.randint(3, 8))
        fields = [
            FieldSpec(name=label, english_name=column, data_type=kind)
            for label, column, kind in picked
        ]
        first = date(2019, 1, 1) + timedelta(days=rng.randint(0, 1500))
        summary = (
            f"{department_name}发布的{title}，包括{'、'.join(label for label, _, _ in picked)}"
            f"等{len(picked)}项信息，{rng.choice(CYCLES).label}更新。"
        )
        out.append(
            Generated(
                code=f"{department}-OD-{n:05d}",
                department=department,
                name=title,
                summary=summary,
                subject=subject,
                conditional=rng.random() < 0.125,
                fields=fields,
                spec=DatasetSpec(
                    title=title,
                    notes=summary,
                    tags=tags,
                    theme=theme,
                    licence=rng.choice(LICENCES),
                    temporal_start=first,
                    temporal_end=first + timedelta(days=rng.randint(30, 1500)),
                    spatial=rng.choice(PLACES),
                    featured=rng.random() < 0.01,
                ),
            )
        )
    return out


def departments(platform: Platform) -> None:
    """The bureau and the thirty departments."""
    with platform.db.session_scope() as session:
        for code, name in [BUREAU, *PORTAL_DEPARTMENTS]:
            identity.create_department(
                session,
                data=DepartmentCreate(code=code, name=name, region_code="350100"),
                actor=SYSTEM,
                ledger=platform.ledger,
            )


def _resource(platform: Platform, session: Session, item: Generated) -> None:
    ctx = catalog.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau=BUREAU[0])
    open_type = OpenType.CONDITIONAL if item.conditional else OpenType.UNCONDITIONAL
    catalog.create_resource(
        session,
        spec=ResourceSpec(
            code=item.code,
            name=item.name,
            department_code=item.department,
            summary=item.summary,
            fields=item.fields,
            share_type=ShareType.UNCONDITIONAL,
            share_methods=[ShareMethod.API],
            open_type=open_type,
            open_condition="用于科研或商业开发，需说明用途" if item.conditional else "",
        ),
        ctx=ctx,
    )
    catalog.submit(session, code=item.code, reason="", ctx=ctx)
    catalog.review(session, code=item.code, approve=True, reason="", ctx=ctx)


def publish_datasets(platform: Platform, items: list[Generated], *, batch: int = 250) -> float:
    """Register, approve and open every generated dataset (metadata only, no release), a
    batch to a transaction; the seconds it took."""
    started = time.perf_counter()
    for first in range(0, len(items), batch):
        chunk = items[first : first + batch]
        with platform.db.session_scope() as session:
            for item in chunk:
                _resource(platform, session, item)
        # Back-to-back write transactions starve the audit writer's thread of SQLite's write
        # lock (its busy handler sleeps through the gaps) until its 10 s timeout drops the
        # batch: let it commit the batch's entries first.
        platform.ledger.flush()
        with platform.db.session_scope() as session:
            for item in chunk:
                publishing.open_dataset(
                    platform, session, code=item.code, spec=item.spec, actor=SYSTEM
                )
        platform.ledger.flush()
    return time.perf_counter() - started


# -- the sensor table ------------------------------------------------------------------------

AIR_CODE = "STHJ-AIR-0001"
AIR_NAME = publishing.dataset_name(AIR_CODE)
AIR_FIELDS = [
    FieldSpec(name="记录编号", english_name="reading_id", data_type=FieldType.INTEGER, is_key=True),
    FieldSpec(name="监测站编码", english_name="station_code", data_type=FieldType.STRING),
    FieldSpec(name="监测站名称", english_name="station_name", data_type=FieldType.STRING),
    FieldSpec(name="所属区县", english_name="district", data_type=FieldType.STRING),
    FieldSpec(name="监测时间", english_name="time", data_type=FieldType.DATETIME),
    FieldSpec(name="PM2.5浓度", english_name="pm25", data_type=FieldType.DECIMAL),
    FieldSpec(name="空气质量指数", english_name="aqi", data_type=FieldType.INTEGER),
    FieldSpec(name="空气质量级别", english_name="quality_level", data_type=FieldType.STRING),
]
DISTRICTS = ["鼓楼区", "台江区", "仓山区", "晋安区", "马尾区", "长乐区", "闽侯县", "连江县"]
SITES = "五四北 紫阳 师大 快安 罗星 吴航 上街 凤城 东湖 西湖 洪山桥 金山 盖山 岳峰 琅岐".split()
STATIONS = 60
STATION_CODES = [f"S{n:03d}" for n in range(1, STATIONS + 1)]
STATION_DISTRICTS = [DISTRICTS[n % len(DISTRICTS)] for n in range(STATIONS)]
#: Names as bureaus write them (district without 区/县, then the site): distinct, since the 8
#: districts and 15 sites only repeat together after 120 stations.
STATION_NAMES = [f"{STATION_DISTRICTS[n][:2]}{SITES[n % len(SITES)]}" for n in range(STATIONS)]
#: HJ 633 levels by AQI: ≤ 50, ≤ 100, ≤ 150, ≤ 200, ≤ 300, above.
LEVELS = ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"]
LEVEL_TOPS = np.array([50, 100, 150, 200, 300])
FIRST_READING = np.datetime64("2023-01-01T00:00:00", "us")
#: Each station reports every ten minutes.
STEP = np.timedelta64(10 * 60 * 1_000_000, "us")
CHUNK = 1_000_000


def air_batch(start: int, rows: int, seed: int) -> pa.RecordBatch:
    """Readings ``start`` to ``start + rows``: row ``i`` is station ``i % 60`` at slot
    ``i // 60``, PM2.5 gamma-distributed, AQI from it with noise, the level from the AQI."""
    gen = np.random.default_rng([seed, start])
    index = np.arange(start, start + rows, dtype=np.int64)
    station = pa.array(index % STATIONS)
    pm25 = np.round(gen.gamma(2.0, 18.0, rows), 1)
    aqi = np.clip(np.rint(pm25 * 1.4 + gen.normal(0, 6, rows)), 5, 500).astype(np.int64)
    level = np.searchsorted(LEVEL_TOPS, aqi, side="left")
    return pa.record_batch(
        {
            "reading_id": pa.array(index + 1),
            "station_code": pa.array(STATION_CODES).take(station),
            "station_name": pa.array(STATION_NAMES).take(station),
            "district": pa.array(STATION_DISTRICTS).take(station),
            "time": pa.array(FIRST_READING + (index // STATIONS) * STEP).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "pm25": pa.array(pm25),
            "aqi": pa.array(aqi),
            "quality_level": pa.array(LEVELS).take(pa.array(level)),
        }
    )


def air_rows_of(station: str, rows: int) -> int:
    """How many of ``rows`` readings are of ``station`` (the bench checks the totals)."""
    n = STATION_CODES.index(station)
    return rows // STATIONS + (1 if n < rows % STATIONS else 0)


def load_air(platform: Platform, rows: int, seed: int) -> float:
    """Publish the air-quality resource, commit ``rows`` readings as one lake version, scan
    and open it; the seconds it took."""
    started = time.perf_counter()
    ctx = catalog.CatalogContext(actor=SYSTEM, ledger=platform.ledger, bureau=BUREAU[0])
    with platform.db.session_scope() as session:
        catalog.create_resource(
            session,
            spec=ResourceSpec(
                code=AIR_CODE,
                name="空气质量监测数据",
                department_code="STHJ",
                summary="全市60个空气质量自动监测站每10分钟的PM2.5浓度、空气质量指数和级别。",
                fields=AIR_FIELDS,
                share_type=ShareType.UNCONDITIONAL,
                share_methods=[ShareMethod.API],
                open_type=OpenType.UNCONDITIONAL,
                update_cycle=UpdateCycle.REALTIME,
            ),
            ctx=ctx,
        )
        catalog.submit(session, code=AIR_CODE, reason="", ctx=ctx)
        catalog.review(session, code=AIR_CODE, approve=True, reason="", ctx=ctx)
        schema = arrow_schema(catalog.current_fields(session, AIR_CODE))

    def batches() -> Iterator[pa.RecordBatch]:
        for first in range(0, rows, CHUNK):
            yield air_batch(first, min(CHUNK, rows - first), seed).cast(schema)

    Lake.from_settings(platform.settings).table(AIR_CODE).commit(
        batches(), schema=schema, mode="overwrite"
    )
    security.scan_resource(platform, AIR_CODE, actor=SYSTEM)
    overridden = steward_decisions(platform)
    if overridden:
        print(f"setup: the steward overrode the scan's {overridden} (a sensor table)")
    with platform.db.session_scope() as session:
        publishing.open_dataset(
            platform,
            session,
            code=AIR_CODE,
            spec=DatasetSpec(
                title="榕城市空气质量监测数据",
                tags=["环境", "空气质量", "实时数据", "PM2.5"],
                theme=Theme.ENVIRONMENT,
                spatial="榕城市",
            ),
            actor=SYSTEM,
        )
    return time.perf_counter() - started


def steward_decisions(platform: Platform) -> dict[str, str]:
    """What a steward does after the scan of a sensor table: no field holds personal
    information, so any entity the scan suggests is overridden (the release masks by the
    classification in force). Returns the suggestions overridden."""
    with platform.db.session_scope() as session:
        suggested = {
            c.column: c.effective_entity.value
            for c in security.classifications(session, AIR_CODE)
            if c.effective_entity is not None
        }
    for column in suggested:
        security.decide(
            platform,
            AIR_CODE,
            column,
            Decision(accept=False, is_personal=False, reason="监测站自动编号，不含个人信息"),
            actor=SYSTEM,
        )
    return suggested


def release_air(platform: Platform) -> tuple[ReleasePublic, float]:
    """Release the air-quality dataset's version; the release and its seconds."""
    started = time.perf_counter()
    made = releases.release(platform, AIR_NAME, actor=SYSTEM)
    seconds = time.perf_counter() - started
    if made.error or made.rows == 0:
        raise SystemExit(f"the air-quality release was refused: {made.error}")
    return made, seconds


# -- the same rows for Datasette -------------------------------------------------------------

SQLITE_TABLE = "air"
#: The columns a Datasette publisher would index for the filters the bench asks about
#: (``sqlite-utils create-index``); without them every filtered count scans the table.
SQLITE_INDEXES = ("station_code", "quality_level")


def write_sqlite(parquet: Path, out: Path) -> tuple[int, float]:
    """The release's rows (its Parquet file) into a SQLite table ``air`` with ``reading_id``
    as the row id, and the indexes; rows written and seconds."""
    started = time.perf_counter()
    schema = pq.read_schema(parquet)
    connection = sqlite3.connect(out)
    try:
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        types = {
            "reading_id": "INTEGER PRIMARY KEY",
            "pm25": "REAL",
            "aqi": "INTEGER",
        }
        columns = ", ".join(f"[{c}] {types.get(c, 'TEXT')}" for c in schema.names)
        connection.execute(f"CREATE TABLE {SQLITE_TABLE} ({columns})")
        marks = ", ".join("?" for _ in schema.names)
        insert = f"INSERT INTO {SQLITE_TABLE} VALUES ({marks})"  # noqa: S608 - our own names
        rows = 0
        for batch in pq.ParquetFile(parquet).iter_batches(batch_size=200_000):
            values = []
            for field, column in zip(batch.schema, batch.columns, strict=True):
                if pa.types.is_timestamp(field.type):
                    column = pc.strftime(column, "%Y-%m-%dT%H:%M:%S")
                values.append(column.to_pylist())
            connection.executemany(insert, zip(*values, strict=True))
            rows += batch.num_rows
        connection.commit()
        for column in SQLITE_INDEXES:
            connection.execute(f"CREATE INDEX idx_{column} ON {SQLITE_TABLE} ([{column}])")
        connection.commit()
    finally:
        connection.close()
    return rows, time.perf_counter() - started
