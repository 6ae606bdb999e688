"""Console pages of data quality (治理): the dashboard (league table, scores per dimension,
trend, latest runs) and a run's counts per rule and failing rows; what the pages share. A
resource's page and its rule editor are ``rongshu.quality.resource_pages``.

Every page has a JSON twin under ``/api/v1/quality`` and works without scripts: the tables
carry every figure, and the charts (drawn by ``rongshu.js``) read the same figures from a
``data:`` URL in the page, so a chart never disagrees with its table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rongshu.catalog.links import register_resource_link
from rongshu.core.errors import RongshuError
from rongshu.core.i18n import translate
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Permission
from rongshu.core.platform import Platform
from rongshu.ingest import access
from rongshu.lake.tables import Lake
from rongshu.quality import failures, rules, scorecards, service
from rongshu.quality.messages import register_quality_messages
from rongshu.quality.reasons import describe
from rongshu.quality.schemas import (
    RESOURCE_KINDS,
    Dimension,
    RulePublic,
    RunPublic,
    RunStatus,
    TrendPoint,
)
from rongshu.quality.scoring import mean_scores
from rongshu.web.deps import PlatformDep, SessionDep
from rongshu.web.pages import ConsoleUser, ConsoleUserDep, render_console
from rongshu.web.templating import SHANGHAI, page_language, register_nav, register_templates

router = APIRouter(include_in_schema=False)
CONSOLE = "/console/quality"
#: Runs a list shows per page.
RUNS_PER_PAGE = 20
#: Failing rows a run's page shows per page.
FAILING_PER_PAGE = 50

register_quality_messages()
register_templates(Path(__file__).parent / "templates")
register_nav("nav.quality", CONSOLE, permission=Permission.VIEW_CONSOLE, order=40)
register_resource_link("quality.link.resource", CONSOLE + "/resources/{code}", order=20)


def resource_url(code: str, tail: str = "") -> str:
    return f"{CONSOLE}/resources/{quote(code, safe='')}{tail}"


def quality_page(
    request: Request,
    who: ConsoleUser,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    response = render_console(
        request,
        who,
        template,
        {"section": "", "done": _done(request), "resource_url": resource_url, **context},
    )
    response.status_code = status_code
    return response


def _done(request: Request) -> str:
    """The message of what a form just did (``?done=synced&added=2`` after a redirect)."""
    key = "quality.done." + request.query_params.get("done", "")
    counts = {
        name: value if value.isdigit() else "0"
        for name in ("added", "removed", "skipped", "count")
        for value in [request.query_params.get(name, "0")]
    }
    text = translate(page_language(request), key, **counts)
    return "" if text == key else text


def pages_of(total: int, page: int, size: int) -> dict[str, int]:
    return {"page": page, "pages": max(1, -(-total // size))}


def chart_data(labels: Sequence[str], values: Sequence[float | None]) -> str:
    """Figures for a ``data-chart`` element, as a ``data:`` URL: ``{"x": [...], "y": [...]}``."""
    figures = {"x": list(labels), "y": list(values)}
    body = json.dumps(figures, ensure_ascii=False, separators=(",", ":"))
    return "data:application/json," + quote(body, safe="")


def _percent(score: float | None) -> float | None:
    return None if score is None else round(score * 100, 1)


def dimension_chart(lang: str, scores: Mapping[Dimension, float]) -> str:
    dimensions = [d for d in Dimension if d in scores]
    return chart_data(
        [translate(lang, f"quality.dimension.{d.value}") for d in dimensions],
        [_percent(scores[d]) for d in dimensions],
    )


def trend_chart(points: Sequence[TrendPoint]) -> str:
    return chart_data(
        [f"#{p.run_id} " + _local(p.finished_at) for p in points],
        [_percent(p.score) for p in points],
    )


def _local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def find_rule(session: Session, code: str, rule_id: int) -> RulePublic | None:
    """Resource ``code``'s rule ``rule_id``; None when it has no such rule (now)."""
    found = rules.list_rules(session, resource_code=code)
    return next((rule for rule in found if rule.id == rule_id), None)


def _trend(runs: Sequence[RunPublic]) -> list[TrendPoint]:
    return [
        TrendPoint(
            run_id=r.id,
            version=r.version,
            finished_at=r.finished_at or r.started_at,
            score=r.score,
            scores=r.scores,
        )
        for r in reversed(runs)
    ]


# -- the dashboard -----------------------------------------------------------------------------


@router.get(CONSOLE)
def dashboard(
    request: Request,
    who: ConsoleUserDep,
    session: SessionDep,
    page: int = Query(1, ge=1, le=10_000),
    department: str = "",
) -> HTMLResponse:
    lang = page_language(request)
    league = scorecards.league_table(session)
    ranked = {row.department_code: row.department_name for row in league.data}
    chosen = department if department in ranked else ""
    if chosen:
        card = scorecards.department_scorecard(session, chosen)
        scores, resources = card.scores, card.resources
    else:
        _, scores = mean_scores([(r.score, r.scores) for r in service.succeeded_runs(session)])
        resources = None
    runs, total = service.list_runs(
        session,
        department=chosen or None,
        offset=(page - 1) * RUNS_PER_PAGE,
        limit=RUNS_PER_PAGE,
    )
    latest, _ = service.list_runs(
        session, department=chosen or None, status=RunStatus.SUCCEEDED, limit=scorecards.TREND_RUNS
    )
    trend = _trend(latest)
    query = {"department": chosen} if chosen else {}
    return quality_page(
        request,
        who,
        "quality/dashboard.html",
        {
            "league": league.data,
            "league_chart": chart_data(
                [row.department_name for row in league.data],
                [_percent(row.score) for row in league.data],
            ),
            "department": chosen,
            "department_name": ranked.get(chosen, ""),
            "scores": scores,
            "dimensions": list(Dimension),
            "dimension_chart": dimension_chart(lang, scores),
            "resources": resources,
            "trend": trend,
            "trend_chart": trend_chart(trend),
            "runs": runs,
            "total": total,
            "names": identity.department_names(session),
            "page_link": lambda n: CONSOLE + "?" + urlencode({**query, "page": n}),
            "json_url": "/api/v1/quality/league",
            "section": "dashboard",
            **pages_of(total, page, RUNS_PER_PAGE),
        },
    )


# -- a run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailingRow:
    """One failing (row, rule) of a run, as its page shows it."""

    rule_id: int
    rule: str
    field: str | None
    row_key: str
    value: str | None
    reason: str
    message: str

    @property
    def key_text(self) -> str:
        """The row's key as people read it: ``person_id=RK0034`` (``_row=7``: its position)."""
        try:
            key = json.loads(self.row_key)
        except ValueError:
            return self.row_key
        if not isinstance(key, dict):
            return self.row_key
        return ", ".join(f"{name}={value}" for name, value in key.items())


def read_failing_rows(
    platform: Platform,
    run: RunPublic,
    *,
    rule_id: int | None,
    lang: str,
    offset: int,
    limit: int,
) -> list[FailingRow]:
    """A page of a run's failing rows (one rule's, or every rule's), with each reason in the
    page's language."""
    found = failures.failing_rows(
        Lake.from_settings(platform.settings),
        run.resource_code,
        run.id,
        rule_id=rule_id,
        offset=offset,
        limit=limit,
    )
    english = lang == "en"
    return [
        FailingRow(**row, message=describe(row["reason"])[1 if english else 0]) for row in found
    ]


@router.get(CONSOLE + "/runs/{run_id}")
def run_page(
    request: Request,
    run_id: int,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
    page: int = Query(1, ge=1, le=1_000_000),
    rule: int | None = Query(None, ge=1),
) -> HTMLResponse:
    lang = page_language(request)
    run = service.get_run(session, run_id)
    row_level = [r for r in run.results if r.kind not in RESOURCE_KINDS]
    chosen = next((r for r in row_level if r.rule_id == rule), None)
    total = chosen.failing if chosen else sum(r.failing for r in row_level)
    failing: list[FailingRow] | None = None
    if total and access.reads_rows(who.actor, run.department_code):
        failing = read_failing_rows(
            platform,
            run,
            rule_id=chosen.rule_id if chosen else None,
            lang=lang,
            offset=(page - 1) * FAILING_PER_PAGE,
            limit=FAILING_PER_PAGE,
        )
        platform.ledger.append(
            who.actor.audit(
                "quality.failures_read", f"quality_run:{run_id}", row_count=len(failing)
            )
        )
    query = {"rule": chosen.rule_id} if chosen else {}
    return quality_page(
        request,
        who,
        "quality/run.html",
        {
            "run": run,
            "resource_name": _resource_name(session, run.resource_code),
            "department_name": identity.department_names(session).get(run.department_code, ""),
            "dimension_chart": dimension_chart(lang, run.scores),
            "rule": chosen.rule_id if chosen else None,
            "row_level": row_level,
            "resource_kinds": RESOURCE_KINDS,
            "failing": failing,
            "total": total,
            "page_size": FAILING_PER_PAGE,
            "page_link": lambda n: (
                f"{CONSOLE}/runs/{run_id}?" + urlencode({**query, "page": n}) + "#failing"
            ),
            **pages_of(total, page, FAILING_PER_PAGE),
        },
    )


def _resource_name(session: Session, code: str) -> str:
    try:
        return rules.resource_of(session, code).name
    except RongshuError:  # removed from the catalog since it was checked
        return code
