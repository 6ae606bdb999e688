"""Scorecards (质量评分卡) per version, resource and department, trends, and the league table.

A resource's scorecard is its latest succeeded run (or the latest of a chosen version) and the
trend of its succeeded runs; a department's is the mean of its resources' latest runs; the
league table ranks departments by that mean (``rongshu.quality.scoring`` has the formulas).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.core.errors import NotFound
from rongshu.core.identity import service as identity
from rongshu.quality.models import QualityRun
from rongshu.quality.rules import resource_of
from rongshu.quality.schemas import (
    DepartmentScorecard,
    Dimension,
    LeagueRow,
    LeagueTable,
    ResourceScore,
    ResourceScorecard,
    RunPublic,
    RunStatus,
    TrendPoint,
)
from rongshu.quality.scoring import mean_scores
from rongshu.quality.service import latest_run, succeeded_runs

#: Runs a trend shows at most (the latest ones).
TREND_RUNS = 60


def resource_scorecard(
    session: Session, resource_code: str, *, version: int | None = None
) -> ResourceScorecard:
    """A resource's latest succeeded run (of ``version`` if given) and its trend."""
    resource = resource_of(session, resource_code)
    return ResourceScorecard(
        resource_code=resource_code,
        resource_name=resource.name,
        department_code=resource.department_code,
        run=latest_run(session, resource_code, version=version),
        trend=trend(session, resource_code),
    )


def trend(session: Session, resource_code: str, *, limit: int = TREND_RUNS) -> list[TrendPoint]:
    """The scores of a resource's latest succeeded runs, oldest first."""
    runs = session.scalars(
        select(QualityRun)
        .where(
            QualityRun.resource_code == resource_code,
            QualityRun.status == RunStatus.SUCCEEDED.value,
        )
        .order_by(QualityRun.id.desc())
        .limit(limit)
    )
    points = [
        TrendPoint(
            run_id=run.id,
            version=run.version,
            finished_at=run.finished_at or run.started_at,
            score=run.score,
            scores={Dimension(d): s for d, s in run.scores.items()},
        )
        for run in runs
    ]
    return points[::-1]


def department_scorecard(session: Session, department_code: str) -> DepartmentScorecard:
    """A department's scores: the mean of its resources' latest succeeded runs."""
    names = identity.department_names(session)
    if department_code not in names:
        raise NotFound(f"no department with code {department_code}")
    runs = [r for r in succeeded_runs(session) if r.department_code == department_code]
    score, scores = mean_scores([(r.score, r.scores) for r in runs])
    return DepartmentScorecard(
        department_code=department_code,
        department_name=names[department_code],
        score=score,
        scores=scores,
        resources=[_resource_score(session, run) for run in runs],
    )


def league_table(session: Session) -> LeagueTable:
    """Departments ranked by their mean score (departments with no run are left out)."""
    names = identity.department_names(session)
    by_department: dict[str, list[RunPublic]] = {}
    for run in succeeded_runs(session):
        by_department.setdefault(run.department_code, []).append(run)
    rows = []
    for code, runs in by_department.items():
        score, scores = mean_scores([(r.score, r.scores) for r in runs])
        rows.append(
            LeagueRow(
                rank=0,
                department_code=code,
                department_name=names.get(code, code),
                resources=len(runs),
                rows=sum(r.rows for r in runs),
                failing_rows=sum(r.failing_rows for r in runs),
                score=score,
                scores=scores,
            )
        )
    rows.sort(key=lambda r: (r.score is None, -(r.score or 0.0), r.department_code))
    for rank, row in enumerate(rows, start=1):
        row.rank = rank
    return LeagueTable(data=rows, count=len(rows))


def _resource_score(session: Session, run: RunPublic) -> ResourceScore:
    try:
        name = resource_of(session, run.resource_code).name
    except NotFound:  # removed from the catalog since it was checked
        name = run.resource_code
    return ResourceScore(
        resource_code=run.resource_code,
        resource_name=name,
        run_id=run.id,
        version=run.version,
        rows=run.rows,
        failing_rows=run.failing_rows,
        score=run.score,
        scores=run.scores,
        finished_at=run.finished_at or run.started_at,
    )
