"""JSON API of data quality (治理): rules, runs, scorecards and the department league table.

Console users read runs, rules, scorecards and the league table (counts and scores, no rows);
stewards of a resource's department change its rules and have its data checked (platform admins
may have it checked too). Every change is in the audit ledger.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.core.identity.service import require
from rongshu.core.platform import Platform
from rongshu.quality import rules, scorecards, service
from rongshu.quality.jobs import request_run
from rongshu.quality.schemas import (
    DepartmentScorecard,
    LeagueTable,
    ResourceScorecard,
    RuleCreate,
    RuleIn,
    RuleList,
    RulePublic,
    RuleUpdate,
    RunList,
    RunPublic,
    RunRequested,
    RunStatus,
    SyncReport,
)
from rongshu.web.deps import ActorDep, PlatformDep, QueueDep, SessionDep

router = APIRouter(prefix="/quality", tags=["quality"])

Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=200)]


def _reader(actor: Actor, platform: Platform, what: str) -> None:
    require(actor, Permission.VIEW_CONSOLE, platform.ledger, object_=f"quality.{what}")


# -- runs ----------------------------------------------------------------------------------


@router.get("/runs", response_model=RunList, summary="Quality runs, newest first")
def list_runs(
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    resource: str | None = Query(None, description="Resource code."),
    department: str | None = Query(None, description="Department code."),
    run_status: RunStatus | None = Query(None, alias="status"),
    offset: Offset = 0,
    limit: Limit = 50,
) -> RunList:
    _reader(actor, platform, "runs")
    data, count = service.list_runs(
        session,
        resource_code=resource,
        department=department,
        status=run_status,
        offset=offset,
        limit=limit,
    )
    return RunList(data=data, count=count)


@router.get("/runs/{run_id}", response_model=RunPublic, summary="One run with each rule's counts")
def show_run(run_id: int, session: SessionDep, actor: ActorDep, platform: PlatformDep) -> RunPublic:
    _reader(actor, platform, "runs")
    return service.get_run(session, run_id)


@router.post(
    "/resources/{code}/runs",
    response_model=RunRequested,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Check a version now: queued (202), or run at once when no job queue runs (201)",
)
async def run_now(
    code: str,
    response: Response,
    actor: ActorDep,
    platform: PlatformDep,
    queue: QueueDep,
    version: int | None = Query(None, ge=0, description="Lake version (default: latest)."),
) -> RunRequested:
    outcome = await run_in_threadpool(
        request_run, platform, queue, resource_code=code, version=version, actor=actor
    )
    if isinstance(outcome, RunPublic):
        response.status_code = status.HTTP_201_CREATED
        return RunRequested(run=outcome)
    return RunRequested(job_id=outcome)


# -- rules ---------------------------------------------------------------------------------


@router.get("/resources/{code}/rules", response_model=RuleList, summary="A resource's rules")
def list_rules(code: str, session: SessionDep, actor: ActorDep, platform: PlatformDep) -> RuleList:
    _reader(actor, platform, "rules")
    rules.resource_of(session, code)
    data = rules.list_rules(session, resource_code=code)
    return RuleList(data=data, count=len(data))


@router.post(
    "/resources/{code}/rules",
    response_model=RulePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a rule (stewards of the resource's department)",
)
def add_rule(
    code: str, data: RuleIn, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> RulePublic:
    rule = RuleCreate(resource_code=code, **data.model_dump())
    return rules.add_rule(
        session, data=rule, actor=actor, ledger=platform.ledger, settings=platform.settings
    )


@router.post(
    "/resources/{code}/rules/sync",
    response_model=SyncReport,
    summary="Bring the catalog's rules in step with the fields' rules lists (stewards)",
)
def sync_rules(
    code: str, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> SyncReport:
    return rules.sync_rules(session, resource_code=code, actor=actor, ledger=platform.ledger)


@router.patch("/rules/{rule_id}", response_model=RulePublic, summary="Change a rule (stewards)")
def update_rule(
    rule_id: int, data: RuleUpdate, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> RulePublic:
    return rules.update_rule(
        session, rule_id=rule_id, data=data, actor=actor, ledger=platform.ledger
    )


@router.delete(
    "/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a rule (stewards)"
)
def delete_rule(
    rule_id: int, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> Response:
    rules.delete_rule(session, rule_id=rule_id, actor=actor, ledger=platform.ledger)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- scorecards ----------------------------------------------------------------------------


@router.get(
    "/resources/{code}/scorecard",
    response_model=ResourceScorecard,
    summary="A resource's latest run (or a version's) and the trend of its scores",
)
def resource_scorecard(
    code: str,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
    version: int | None = Query(None, ge=0),
) -> ResourceScorecard:
    _reader(actor, platform, "scorecards")
    return scorecards.resource_scorecard(session, code, version=version)


@router.get(
    "/departments/{code}/scorecard",
    response_model=DepartmentScorecard,
    summary="A department's scores: the mean of its resources' latest runs",
)
def department_scorecard(
    code: str, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> DepartmentScorecard:
    _reader(actor, platform, "scorecards")
    return scorecards.department_scorecard(session, code)


@router.get("/league", response_model=LeagueTable, summary="Departments ranked by their scores")
def league(session: SessionDep, actor: ActorDep, platform: PlatformDep) -> LeagueTable:
    _reader(actor, platform, "scorecards")
    return scorecards.league_table(session)
