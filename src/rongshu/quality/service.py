"""Quality runs: one lake version of a resource checked against its rules in ONE SQL pass.

``run_quality`` records the run before any work starts and finishes it whatever happens. The
version is registered in a lake engine with whatever the rules look up (other resources'
tables, standards' code tables), every row-level rule is compiled into one query
(``rongshu.quality.compiler``), and its output, only the failing (row, rule) pairs, is streamed
in Arrow batches into the resource's failures table (``<code>.failures``, one commit per run)
while each rule's failing rows are counted. Nothing is done row by row in Python. Resource-level
rules (timeliness) are answered from the load records (``rongshu.ingest.service``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import UpdateCycle
from rongshu.core.db import newest_page, utcnow
from rongshu.core.errors import NotFound
from rongshu.core.platform import Platform
from rongshu.ingest import service as ingest
from rongshu.ingest.pipeline import read_ahead
from rongshu.ingest.schemas import LoadStatus
from rongshu.lake.engine import LakeEngine
from rongshu.lake.schema import key_columns
from rongshu.lake.tables import Lake, LakeTable
from rongshu.quality import failures
from rongshu.quality.compiler import Reference, RuleSpec, RunQuery, compile_run
from rongshu.quality.failures import ROW_NUMBER_KEY
from rongshu.quality.models import QualityResult, QualityRule, QualityRun
from rongshu.quality.rules import SOURCE_ALIAS, enabled_rules, resource_of
from rongshu.quality.schemas import (
    Dimension,
    ReferentialParams,
    RuleKind,
    RuleResult,
    RunPublic,
    RunStatus,
    Severity,
    TimelinessParams,
)
from rongshu.quality.scoring import dimension_scores, overall_score

#: What the run's query scans when standards' column forms add columns to the version's batches.
STREAM_ALIAS = "_checked_stream"
#: Rows per batch of that scan: large, so the column forms' numpy work outweighs their calls.
SCAN_BATCH = 262_144
#: Hours a resource may go without a successful load, by its update cycle (timeliness).
CYCLE_HOURS: dict[UpdateCycle, float] = {
    UpdateCycle.REALTIME: 1,
    UpdateCycle.DAILY: 24,
    UpdateCycle.WEEKLY: 7 * 24,
    UpdateCycle.MONTHLY: 31 * 24,
    UpdateCycle.QUARTERLY: 92 * 24,
    UpdateCycle.YEARLY: 366 * 24,
}
#: Seconds a run waits for another writer of the failures table (a second run) to finish.
FAILURES_LOCK_WAIT = 300.0

#: Called with the failing (row, rule) pairs found so far.
Progress = Callable[[int], None]


@dataclass
class _Plan:
    """What a run needs from the metadata database, read once before the work starts."""

    run_id: int
    version: int
    rules: list[QualityRule]
    keys: list[str]
    update_cycle: UpdateCycle


@dataclass
class _Tally:
    failing: np.ndarray  # failing rows per compiled check
    failing_rows: int = 0


def run_quality(
    platform: Platform,
    resource_code: str,
    version: int | None = None,
    *,
    triggered_by: str = "system",
    progress: Progress | None = None,
) -> RunPublic:
    """Check one version (the latest by default) of a resource; returns the run's record."""
    lake = Lake.from_settings(platform.settings)
    lake.lock_timeout = FAILURES_LOCK_WAIT
    table = lake.table(resource_code)
    plan = _plan(platform, resource_code, version, table.version(), triggered_by)
    try:
        rows = table.count(plan.version)
        specs = [RuleSpec(r.id, RuleKind(r.kind), r.field, dict(r.params)) for r in plan.rules]
        with Lake.from_settings(platform.settings).work_engine() as engine:
            query = _compile(engine, lake, resource_code, plan, specs)
            tally = _Tally(failing=np.zeros(len(query.checks), dtype=np.int64))
            if query.sql is not None:
                for alias, lookup in query.lookups.items():
                    engine.register_arrow(alias, lookup)
                if query.computed:
                    engine.register_stream(STREAM_ALIAS, _computed_scan(table, plan, query))
                batches = _failing_rows(engine, query, plan, tally, progress)
                failures.write_failures(lake, resource_code, plan.run_id, batches)
        with platform.db.session_scope() as session:
            timeliness = _timeliness(session, resource_code, plan)
            record = _finish(session, plan, rows, query, tally, timeliness)
    except Exception as exc:
        with platform.db.session_scope() as session:
            run = session.get(QualityRun, plan.run_id)
            if run is not None:
                run.status, run.finished_at = RunStatus.FAILED.value, utcnow()
                run.error = str(exc)[:4000]
        raise
    _after_run(platform, record)
    return record


# -- after a run (extension point) ---------------------------------------------------------

#: Called with each succeeded run once it is committed (e.g. correction tickets are opened and
#: verified, ``rongshu.quality.corrections``); modules listed in ``rongshu.areas.HOOK_MODULES``
#: append to it. A hook's failure is logged, never the run's.
AfterRun = Callable[[Platform, RunPublic], None]
AFTER_RUN: list[AfterRun] = []

log = logging.getLogger("rongshu.quality")


def _after_run(platform: Platform, record: RunPublic) -> None:
    from rongshu.areas import load_hooks

    load_hooks()
    for hook in list(AFTER_RUN):
        try:
            hook(platform, record)
        except Exception as exc:  # noqa: BLE001 - the run itself succeeded and is committed
            log.warning(
                "after quality run %d of %s, %s failed: %s",
                record.id,
                record.resource_code,
                getattr(hook, "__qualname__", hook),
                exc,
            )


def _plan(
    platform: Platform,
    resource_code: str,
    version: int | None,
    latest: int | None,
    triggered_by: str,
) -> _Plan:
    with platform.db.session_scope() as session:
        resource = resource_of(session, resource_code)
        if latest is None:
            raise NotFound(f"{resource_code} has no lake version to check yet (load it first)")
        if version is not None and not 0 <= version <= latest:
            raise NotFound(f"{resource_code} has no version {version} (latest: {latest})")
        rules = enabled_rules(session, resource_code=resource_code)
        run = QualityRun(
            resource_code=resource_code,
            department_code=resource.department_code,
            version=latest if version is None else version,
            status=RunStatus.RUNNING.value,
            triggered_by=triggered_by[:64],
            scores={},
        )
        session.add(run)
        session.flush()
        return _Plan(
            run_id=run.id,
            version=run.version,
            rules=rules,
            keys=key_columns(catalog.current_fields(session, resource_code)),
            update_cycle=resource.update_cycle,
        )


def _compile(
    engine: LakeEngine, lake: Lake, resource_code: str, plan: _Plan, specs: list[RuleSpec]
) -> RunQuery:
    """Register the version and the tables referential rules read; compile the query."""
    table = lake.table(resource_code)
    engine.register(SOURCE_ALIAS, table, plan.version)
    references: dict[int, Reference | None] = {}
    for spec in specs:
        if spec.kind is not RuleKind.REFERENTIAL:
            continue
        target = lake.table(ReferentialParams.model_validate(spec.params).resource)
        if not target.exists():
            references[spec.id] = None
            continue
        alias = f"_ref{spec.id}"
        engine.register(alias, target)
        references[spec.id] = Reference(alias, target.schema())
    return compile_run(
        specs,
        source=SOURCE_ALIAS,
        schema=table.schema(plan.version),
        keys=plan.keys,
        dialect=engine.dialect,
        references=references,
        stream=STREAM_ALIAS,
    )


def _computed_scan(table: LakeTable, plan: _Plan, query: RunQuery) -> pa.RecordBatchReader:
    """The version's batches (the columns the query reads), each with the computed columns
    added: the standards' column forms run here, over large batches, while the engine checks
    the batches before."""
    schema = table.schema(plan.version)
    if query.columns is not None:
        schema = pa.schema([schema.field(name) for name in query.columns])
    computed = [(c.name, c.function, schema.get_field_index(c.argument)) for c in query.computed]
    sample = pa.RecordBatch.from_pylist([], schema=schema)
    for name, function, index in computed:
        schema = schema.append(pa.field(name, function(sample.column(index)).type))
    if query.numbers_rows:
        schema = schema.append(pa.field(ROW_NUMBER_KEY, pa.int64()))

    def batches() -> Iterator[pa.RecordBatch]:
        seen = 0
        for batch in table.batches(plan.version, columns=query.columns, batch_size=SCAN_BATCH):
            extra = [function(batch.column(index)) for _, function, index in computed]
            if query.numbers_rows:
                extra.append(pa.array(np.arange(seen + 1, seen + batch.num_rows + 1)))
            seen += batch.num_rows
            yield pa.RecordBatch.from_arrays([*batch.columns, *extra], schema=schema)

    def ahead() -> Iterator[pa.RecordBatch]:
        # The column forms (NumPy, which lets go of the GIL) run in a thread of their own,
        # a few batches ahead of the engine checking the ones before.
        with read_ahead(batches(), depth=2) as computed_batches:
            yield from computed_batches

    return pa.RecordBatchReader.from_batches(schema, ahead())


def _failing_rows(
    engine: LakeEngine,
    query: RunQuery,
    plan: _Plan,
    tally: _Tally,
    progress: Progress | None,
) -> Iterator[pa.RecordBatch]:
    """The query's output as rows of the failures table, counted per rule on the way."""
    sql = query.sql or ""
    checks = query.checks
    rule_ids = pa.array([c.id for c in checks], pa.int64())
    kinds = pa.array([c.kind.value for c in checks], pa.string())
    severities = {r.id: r.severity for r in plan.rules}
    severity = pa.array([severities[c.id] for c in checks], pa.string())
    fields = pa.array([c.field for c in checks], pa.string())
    key_aliases = [f"_k{i}" for i in range(len(query.key_names))]
    for batch in engine.query_batches(sql):
        index = batch.column("_i").cast(pa.int64())
        tally.failing += np.bincount(index.to_numpy(), minlength=len(checks))
        firsts = pc.sum(pc.equal(index, batch.column("_first").cast(pa.int64()))).as_py()
        tally.failing_rows += int(firsts or 0)
        keys = failures.row_keys(query.key_names, [batch.column(k) for k in key_aliases])
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(np.full(batch.num_rows, plan.run_id, dtype=np.int64)),
                pc.take(rule_ids, index),
                pc.take(kinds, index),
                pc.take(severity, index),
                pc.take(fields, index),
                keys,
                batch.column("value").cast(pa.string()),
                batch.column("reason").cast(pa.string()),
            ],
            schema=failures.FAILURES_SCHEMA,
        )
        if progress is not None:
            progress(int(tally.failing.sum()))


@dataclass(frozen=True)
class _Timeliness:
    failing: int | None  # None: not checked
    note: str


def _timeliness(session: Session, resource_code: str, plan: _Plan) -> dict[int, _Timeliness]:
    """Whether the resource's last successful load is within its update cycle, per rule."""
    answers: dict[int, _Timeliness] = {}
    rules = [r for r in plan.rules if r.kind == RuleKind.TIMELINESS.value]
    if not rules:
        return answers
    loads, _ = ingest.list_loads(
        session, resource_code=resource_code, status=LoadStatus.SUCCEEDED, limit=1
    )
    now = utcnow()
    for rule in rules:
        hours = TimelinessParams.model_validate(rule.params).max_age_hours
        hours = hours or CYCLE_HOURS.get(plan.update_cycle)
        if hours is None:
            answers[rule.id] = _Timeliness(None, "不定期更新，不检查时效 (no regular update cycle)")
        elif not loads:
            answers[rule.id] = _Timeliness(1, "从未成功汇聚 (never loaded successfully)")
        else:
            loaded: datetime = loads[0].finished_at or loads[0].started_at
            age = (now - loaded).total_seconds() / 3600
            answers[rule.id] = _Timeliness(
                int(age > hours),
                f"上次成功汇聚于 {age:.1f} 小时前，允许 {hours:g} 小时 "
                f"(last successful load {age:.1f} h ago; {hours:g} h allowed)",
            )
    return answers


def _finish(
    session: Session,
    plan: _Plan,
    rows: int,
    query: RunQuery,
    tally: _Tally,
    timeliness: dict[int, _Timeliness],
) -> RunPublic:
    run = session.get(QualityRun, plan.run_id)
    if run is None:
        raise NotFound(f"quality run {plan.run_id} was deleted while it ran")
    counted = {check.id: int(n) for check, n in zip(query.checks, tally.failing, strict=True)}
    for rule in plan.rules:
        checked, failing, note = rows, counted.get(rule.id, 0), ""
        if rule.id in timeliness:
            answer = timeliness[rule.id]
            checked, note = (0 if answer.failing is None else 1), answer.note
            failing = answer.failing or 0
        elif rule.id in query.skipped:
            checked, note = 0, query.skipped[rule.id]
        run.results.append(
            QualityResult(
                rule_id=rule.id,
                kind=rule.kind,
                field=rule.field,
                params=rule.params,
                severity=rule.severity,
                dimension=rule.dimension,
                checked=checked,
                failing=failing,
                note=note,
            )
        )
    results = [result_public(r) for r in run.results]
    scores = dimension_scores(results)
    run.rows = rows
    run.failing_rows = tally.failing_rows
    run.scores = {d.value: s for d, s in scores.items()}
    run.score = overall_score(scores)
    run.status = RunStatus.SUCCEEDED.value
    run.finished_at = utcnow()
    session.flush()
    return run_public(run)


def result_public(row: QualityResult) -> RuleResult:
    return RuleResult(
        rule_id=row.rule_id,
        kind=RuleKind(row.kind),
        field=row.field,
        params=row.params,
        severity=Severity(row.severity),
        dimension=Dimension(row.dimension),
        checked=row.checked,
        failing=row.failing,
        note=row.note,
    )


def run_public(row: QualityRun) -> RunPublic:
    seconds = (row.finished_at - row.started_at).total_seconds() if row.finished_at else None
    return RunPublic(
        id=row.id,
        resource_code=row.resource_code,
        department_code=row.department_code,
        version=row.version,
        rows=row.rows,
        status=RunStatus(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        seconds=seconds,
        triggered_by=row.triggered_by,
        failing_rows=row.failing_rows,
        score=row.score,
        scores={Dimension(d): s for d, s in row.scores.items()},
        results=[result_public(r) for r in row.results],
        error=row.error,
    )


# -- reading runs --------------------------------------------------------------------------


def get_run(session: Session, run_id: int) -> RunPublic:
    run = session.get(QualityRun, run_id)
    if run is None:
        raise NotFound(f"no quality run {run_id}")
    return run_public(run)


def latest_run(
    session: Session, resource_code: str, *, version: int | None = None
) -> RunPublic | None:
    """The latest succeeded run of a resource (of one version if given), None if never run."""
    query = select(QualityRun).where(
        QualityRun.resource_code == resource_code,
        QualityRun.status == RunStatus.SUCCEEDED.value,
    )
    if version is not None:
        query = query.where(QualityRun.version == version)
    run = session.scalar(query.order_by(QualityRun.id.desc()).limit(1))
    return run_public(run) if run is not None else None


def latest_scores(session: Session, resource_codes: Sequence[str]) -> dict[str, float | None]:
    """The overall score (0–1) of each resource's latest succeeded run, in one statement; a
    resource never checked is absent."""
    newest = (
        select(QualityRun.resource_code, func.max(QualityRun.id).label("id"))
        .where(QualityRun.status == RunStatus.SUCCEEDED.value)
        .group_by(QualityRun.resource_code)
    )
    if len(resource_codes) <= 1000:  # else every resource's: cheaper than a huge IN list
        newest = newest.where(QualityRun.resource_code.in_(resource_codes))
    latest = newest.subquery()
    rows = session.execute(
        select(QualityRun.resource_code, QualityRun.score).join(
            latest, QualityRun.id == latest.c.id
        )
    )
    return {str(row[0]): row[1] for row in rows}


def list_runs(
    session: Session,
    *,
    resource_code: str | None = None,
    department: str | None = None,
    status: RunStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[RunPublic], int]:
    """Runs matching the filters, newest first, and how many match in all."""
    conditions = []
    if resource_code:
        conditions.append(QualityRun.resource_code == resource_code)
    if department:
        conditions.append(QualityRun.department_code == department)
    if status is not None:
        conditions.append(QualityRun.status == status.value)
    runs, count = newest_page(session, QualityRun, conditions, offset=offset, limit=limit)
    return [run_public(run) for run in runs], count


def failing_keys(platform: Platform, run_id: int, rule_id: int | None = None) -> set[str]:
    """Row keys (JSON text, see ``rongshu.quality.failures``) that failed in a run."""
    with platform.db.session_scope() as session:
        run = get_run(session, run_id)
    with Lake.from_settings(platform.settings).work_engine() as engine:
        return failures.failing_keys(
            Lake.from_settings(platform.settings), engine, run.resource_code, run_id, rule_id
        )


def succeeded_runs(
    session: Session, resource_codes: Sequence[str] | None = None
) -> list[RunPublic]:
    """The latest succeeded run of each resource (of ``resource_codes``, or every resource)."""
    latest = (
        select(func.max(QualityRun.id))
        .where(QualityRun.status == RunStatus.SUCCEEDED.value)
        .group_by(QualityRun.resource_code)
    )
    query = select(QualityRun).where(QualityRun.id.in_(latest))
    if resource_codes is not None:
        query = query.where(QualityRun.resource_code.in_(list(resource_codes)))
    return [run_public(run) for run in session.scalars(query.order_by(QualityRun.resource_code))]
