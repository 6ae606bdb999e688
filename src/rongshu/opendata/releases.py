"""Releases: the data of one lake version as the public gets it, and its download files.

A release reads the version through the security area's masking (inside the lake engine's SQL,
with the dataset's masking profile), only the opened columns, after two checks:

1. **No personal information.** The version is scanned afresh (a spread sample, the security
   area's detectors); a column the catalog marks personal, or that the scan or the classification
   in force names as a person's identifier, refuses the release (recorded with the reasons; the
   previous release stays the current one).
2. **k-anonymity** over the dataset's quasi-identifiers: each combination must be shared by at
   least k rows. Rows in rarer combinations have their quasi-identifier cells blanked (NULL), so
   they join one group of "suppressed" rows; if that group is itself smaller than k, those rows
   are left out. The counts are recorded.

The rows are written to ``<data dir>/opendata/<dataset>/v<version>/data.parquet`` and from it
the download files: CSV (UTF-8 with BOM), CSV in GB18030, JSON, Parquet and, up to Excel's
1,048,575 rows, Excel, each with its size and SHA-256; and the datastore's copy of the rows
(``datastore.build_store``). Everything is written under a temporary
directory renamed into place at the end, so a failed release leaves nothing half-written. A
release is made once per lake version; asking again returns it.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import FieldSpec
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import NotFound, ValidationFailed
from rongshu.core.identity.schemas import SYSTEM, Actor
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.lake.engine import LakeEngine
from rongshu.lake.formats import (
    EXCEL_MAX_ROWS,
    FileWriter,
    csv_chunks,
    json_chunks,
    xlsx_chunks,
)
from rongshu.lake.tables import Lake, LakeTable
from rongshu.opendata.datastore import build_store
from rongshu.opendata.models import OpenDataset, OpenRelease
from rongshu.opendata.publishing import column_of, dataset_row, personal_columns
from rongshu.opendata.schemas import (
    DatasetState,
    DownloadFormat,
    ReleaseField,
    ReleaseFile,
    ReleasePublic,
    ReleaseState,
)
from rongshu.security import detection
from rongshu.security import service as security
from rongshu.security.schemas import MaskingProfile

log = logging.getLogger("rongshu.opendata")

#: A scan finding this sure names what a column holds.
FINDING_CONFIDENCE: Final = 0.9
_ALIAS: Final = "opendata_source"
_GROUP: Final = "rs_group_size"
_BATCH_ROWS: Final = 65_536
_HASH_CHUNK: Final = 1 << 20
DATA_FILE: Final = "data.parquet"


@dataclass(frozen=True)
class FileKind:
    """One download file of a release: its key, format, encoding, file name, and how it is
    made: written from the release's rows, re-encoded from another file (``source``), or
    neither (the release's own Parquet file)."""

    key: str
    format: DownloadFormat
    encoding: str
    filename: str
    writer: FileWriter | None = None
    source: str | None = None


FILE_KINDS: Final[tuple[FileKind, ...]] = (
    FileKind("csv", DownloadFormat.CSV, "utf-8", "data.csv", csv_chunks),
    FileKind("csv-gb18030", DownloadFormat.CSV, "gb18030", "data.gb18030.csv", source="csv"),
    FileKind("xlsx", DownloadFormat.XLSX, "", "data.xlsx", xlsx_chunks),
    FileKind("json", DownloadFormat.JSON, "utf-8", "data.json", json_chunks),
    FileKind("parquet", DownloadFormat.PARQUET, "", DATA_FILE),
)
FILE_KEYS: Final = {kind.key: kind for kind in FILE_KINDS}


def file_key(format_: DownloadFormat, encoding: str = "utf-8") -> str:
    """The release file holding ``format_`` (in ``encoding`` for CSV)."""
    if format_ is DownloadFormat.CSV and encoding.lower().replace("-", "") == "gb18030":
        return "csv-gb18030"
    return format_.value


def opendata_root(settings: Settings) -> Path:
    return settings.data_dir / "opendata"


def release_dir(settings: Settings, name: str, version: int) -> Path:
    return opendata_root(settings) / name / f"v{version}"


def release_public(row: OpenRelease, *, base_url: str = "") -> ReleasePublic:
    name = row.dataset.name
    files = [
        ReleaseFile(
            format=DownloadFormat(info["format"]),
            encoding=info["encoding"],
            size=info["size"],
            sha256=info["sha256"],
            url=f"{base_url}/datasets/{name}/versions/{row.lake_version}/download/{key}",
        )
        for key, info in row.files.items()
    ]
    return ReleasePublic(
        version=row.lake_version,
        state=ReleaseState(row.state),
        rows=row.rows,
        suppressed_rows=row.suppressed_rows,
        dropped_rows=row.dropped_rows,
        fields=[ReleaseField.model_validate(f) for f in row.fields],
        files=files,
        error=row.error,
        created_at=row.created_at,
    )


@dataclass(frozen=True)
class _Plan:
    dataset_id: int
    name: str
    code: str
    columns: list[str]
    quasi: list[str]
    k: int
    profile: MaskingProfile


def release(
    platform: Platform, name: str, *, actor: Actor, version: int | None = None
) -> ReleasePublic:
    """Release ``version`` (default: the latest) of dataset ``name``; once per version."""
    with platform.db.session_scope() as session:
        dataset = dataset_row(session, name, active_only=True)
        plan = _Plan(
            dataset.id,
            dataset.name,
            dataset.resource_code,
            list(dataset.columns),
            list(dataset.quasi_identifiers),
            dataset.k_anonymity,
            MaskingProfile(dataset.masking_profile),
        )
        labels = {column_of(f): f for f in catalog.current_fields(session, plan.code)}
    lake = Lake.from_settings(platform.settings)
    table = lake.table(plan.code)
    version = table.version() if version is None else version
    if version is None:
        raise NotFound(f"resource {plan.code} has no data in the lake yet: load it first")
    with platform.db.session_scope() as session:
        done = _release_row(session, plan.dataset_id, version)
        if done is not None and done.state == ReleaseState.READY.value:
            return release_public(done)
    missing = [c for c in plan.columns if c not in table.schema(version).names]
    if missing:
        return _refuse(platform, plan, version, actor, f"the lake table lacks {', '.join(missing)}")
    with platform.db.session_scope() as session:
        scanned = bool(security.classifications(session, plan.code))
    if not scanned:  # masking keys on the stewards' scan: make the first one, as the platform
        security.scan_resource(platform, plan.code, actor=SYSTEM)
    with lake.work_engine() as engine:
        _, findings = detection.scan_table(
            table, engine, version, {c: f.name for c, f in labels.items()}
        )
    found = {
        f.column: f.entity
        for f in findings
        if f.entity is not None and f.confidence >= FINDING_CONFIDENCE
    }
    found.update(detection.embedded_resident_ids(table, version, plan.columns))
    with platform.db.session_scope() as session:
        reasons = personal_columns(session, plan.code, plan.columns, found=found)
        masks = security.column_masks(session, plan.code, plan.profile, plan.columns)
    if reasons:
        return _refuse(platform, plan, version, actor, "; ".join(reasons.values()))

    final = release_dir(platform.settings, plan.name, version)
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".v{version}-", dir=final.parent))
    try:
        with lake.work_engine() as engine:
            counts = _write_data(platform, engine, table, version, plan, masks, work / DATA_FILE)
            build_store(engine, work / DATA_FILE)
        fields = _fields(work / DATA_FILE, labels)
        files = _write_files(work, counts.rows)
        if final.exists():  # left by a release whose record was never committed
            shutil.rmtree(final)
        os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    with platform.db.session_scope() as session:
        row = _release_row(session, plan.dataset_id, version) or OpenRelease(
            dataset_id=plan.dataset_id, lake_version=version
        )
        row.state = ReleaseState.READY.value
        row.rows, row.suppressed_rows = counts.rows, counts.suppressed
        row.dropped_rows, row.error = counts.dropped, ""
        row.fields, row.files = fields, files
        row.created_at = utcnow()
        session.add(row)
        session.get_one(OpenDataset, plan.dataset_id).updated_at = row.created_at
        session.flush()
        audit_on_commit(
            session,
            platform.ledger,
            actor.audit(
                "opendata.release",
                f"dataset:{plan.name}@{version}",
                purpose=f"{counts.suppressed} suppressed, {counts.dropped} left out",
                row_count=counts.rows,
            ),
        )
        session.refresh(row)
        return release_public(row)


def release_new_versions(
    platform: Platform, *, actor: Actor, resource_code: str | None = None
) -> list[str]:
    """Release the latest lake version of every active dataset (of ``resource_code`` only, if
    given) that has no release of it yet; a dataset that fails is logged and the rest go on."""
    with platform.db.session_scope() as session:
        query = select(OpenDataset).where(OpenDataset.state == DatasetState.ACTIVE.value)
        if resource_code is not None:
            query = query.where(OpenDataset.resource_code == resource_code)
        datasets = [
            (row.name, row.resource_code, {r.lake_version for r in row.releases})
            for row in session.scalars(query)
        ]
    lake = Lake.from_settings(platform.settings)
    made = []
    for name, code, released in datasets:
        version = lake.table(code).version()
        if version is None or version in released:
            continue
        try:
            result = release(platform, name, actor=actor, version=version)
        except Exception:
            log.exception("releasing dataset %s version %s failed", name, version)
            continue
        made.append(f"{name}@{result.version}")
    return made


def _release_row(session: Session, dataset_id: int, version: int) -> OpenRelease | None:
    return session.scalar(
        select(OpenRelease).where(
            OpenRelease.dataset_id == dataset_id, OpenRelease.lake_version == version
        )
    )


def _refuse(platform: Platform, plan: _Plan, version: int, actor: Actor, why: str) -> ReleasePublic:
    """Record that ``version`` was not released, and why; the previous release stays current."""
    log.warning("dataset %s version %s not released: %s", plan.name, version, why)
    with platform.db.session_scope() as session:
        row = _release_row(session, plan.dataset_id, version) or OpenRelease(
            dataset_id=plan.dataset_id, lake_version=version
        )
        row.state = ReleaseState.REFUSED.value
        row.rows = row.suppressed_rows = row.dropped_rows = 0
        row.fields, row.files, row.error = [], {}, why
        row.created_at = utcnow()
        session.add(row)
        session.flush()
        audit_on_commit(
            session,
            platform.ledger,
            actor.audit(
                "opendata.release", f"dataset:{plan.name}@{version}", outcome="refused", purpose=why
            ),
        )
        session.refresh(row)
        return release_public(row)


@dataclass(frozen=True)
class _Counts:
    rows: int
    suppressed: int
    dropped: int


def _write_data(
    platform: Platform,
    engine: LakeEngine,
    table: LakeTable,
    version: int,
    plan: _Plan,
    masks: Sequence[security.ColumnMask],
    out: Path,
) -> _Counts:
    """The masked, k-anonymous rows of ``version`` into a Parquet file at ``out``."""
    engine.register(_ALIAS, table, version)
    security.register_mask_functions(engine, security.key_provider(platform))
    masked = security.masked_select(engine, _ALIAS, masks, table.schema(version))
    sql, suppressed, dropped = _k_anonymous(engine, masked, plan)
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for batch in engine.query_batches(sql, (), _BATCH_ROWS):
            if writer is None:
                writer = pq.ParquetWriter(out, batch.schema)
            writer.write_batch(batch)
            rows += batch.num_rows
        if writer is None:  # no rows: an empty file with the columns
            schema = engine.query(f"SELECT * FROM ({sql}) AS empty LIMIT 0").schema  # noqa: S608
            writer = pq.ParquetWriter(out, schema)
    finally:
        if writer is not None:
            writer.close()
    return _Counts(rows, suppressed, dropped)


def _k_anonymous(engine: LakeEngine, masked: str, plan: _Plan) -> tuple[str, int, int]:
    """The release's ``SELECT``, and the rows it suppresses and leaves out (k-anonymity)."""
    if not plan.quasi:
        return masked, 0, 0
    q = engine.dialect.quote
    partition = ", ".join(q(c) for c in plan.quasi)
    counted = (
        f"SELECT *, COUNT(*) OVER (PARTITION BY {partition}) AS {_GROUP} "  # noqa: S608
        f"FROM ({masked}) AS m"
    )
    rare_sql = f"SELECT COUNT(*) AS rare FROM ({counted}) AS c WHERE {_GROUP} < ?"  # noqa: S608
    rare = int(engine.query(rare_sql, (plan.k,)).column(0)[0].as_py())
    if rare == 0:
        return masked, 0, 0
    quasi = set(plan.quasi)
    if rare >= plan.k:  # blanked, the rare rows make one group of at least k
        parts = [
            f"CASE WHEN {_GROUP} < {int(plan.k)} THEN NULL ELSE {q(c)} END AS {q(c)}"
            if c in quasi
            else q(c)
            for c in plan.columns
        ]
        return f"SELECT {', '.join(parts)} FROM ({counted}) AS c", rare, 0  # noqa: S608
    kept = ", ".join(q(c) for c in plan.columns)
    sql = f"SELECT {kept} FROM ({counted}) AS c WHERE {_GROUP} >= {int(plan.k)}"  # noqa: S608
    return sql, 0, rare


def _fields(data: Path, labels: Mapping[str, FieldSpec]) -> list[dict[str, object]]:
    schema = pq.read_schema(data)
    out = []
    for field in schema:
        spec = labels.get(field.name)
        out.append(
            ReleaseField(
                name=field.name,
                label=spec.name if spec else field.name,
                type=str(field.type),
                description=spec.description if spec else "",
            ).model_dump()
        )
    return out


def _batches(data: Path) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(data).iter_batches(batch_size=_BATCH_ROWS)


def _write_files(work: Path, rows: int) -> dict[str, dict[str, object]]:
    """Every download file of the release in ``work``, with its size and SHA-256."""
    data = work / DATA_FILE
    schema = pq.read_schema(data)
    files: dict[str, dict[str, object]] = {}
    for kind in FILE_KINDS:
        path = work / kind.filename
        if kind.format is DownloadFormat.XLSX and rows > EXCEL_MAX_ROWS:
            continue  # too many rows for a sheet: CSV and Parquet hold them
        if kind.writer is None and kind.source is None:
            digest, size = _digest(path)
        else:
            chunks = (
                kind.writer(_batches(data), schema, work)
                if kind.writer is not None
                else _reencoded(work / FILE_KEYS[str(kind.source)].filename, kind.encoding)
            )
            digest, size = hashlib.sha256(), 0
            with path.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
        files[kind.key] = {
            "format": kind.format.value,
            "encoding": kind.encoding,
            "filename": kind.filename,
            "size": size,
            "sha256": digest.hexdigest(),
        }
    return files


def _reencoded(utf8: Path, encoding: str) -> Iterator[bytes]:
    """A UTF-8 file (its BOM dropped) in ``encoding``, chunk by chunk; GB18030 covers all of
    Unicode, so nothing is lost, and no row is formatted twice."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with utf8.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            yield decoder.decode(chunk).encode(encoding)
    yield decoder.decode(b"", final=True).encode(encoding)


def _digest(path: Path) -> tuple[hashlib._Hash, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest, size


def release_file(settings: Settings, name: str, version: int, key: str) -> Path:
    """The path of one download file of a release."""
    kind = FILE_KEYS.get(key)
    if kind is None:
        raise ValidationFailed(
            f"unknown download {key!r}; use one of {', '.join(FILE_KEYS)}",
            details=[{"field": "format", "reason": "unknown", "value": key}],
        )
    return release_dir(settings, name, version) / kind.filename
