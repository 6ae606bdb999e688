"""A resource's quality page: its scorecard and trend, its runs and rules, and for the stewards
of its department the rule editor (add, change, remove, sync from the catalog, check now) and the
profile's suggested rules.

JSON twins: ``/api/v1/quality/resources/{code}/scorecard``, ``.../rules`` and ``.../runs``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.core.errors import NotFound, PermissionDenied, RongshuError
from rongshu.core.i18n import translate
from rongshu.core.identity import service as identity
from rongshu.core.platform import Platform
from rongshu.ingest import access
from rongshu.quality import rules, scorecards, service
from rongshu.quality.forms import RuleForm, member_of, text_of
from rongshu.quality.jobs import request_run
from rongshu.quality.pages import (
    CONSOLE,
    RUNS_PER_PAGE,
    dimension_chart,
    find_rule,
    pages_of,
    quality_page,
    resource_url,
    trend_chart,
)
from rongshu.quality.profiling import RuleSuggestion, TableProfile, profile_resource
from rongshu.quality.schemas import (
    RESOURCE_KINDS,
    Dimension,
    RuleCreate,
    RuleIn,
    RuleKind,
    RulePublic,
    RuleUpdate,
    RunPublic,
    Severity,
    parse_params,
)
from rongshu.standards import STANDARDS
from rongshu.web.deps import PlatformDep, SessionDep, check_csrf, get_queue
from rongshu.web.pages import ConsoleUser, ConsoleUserDep
from rongshu.web.templating import page_language

router = APIRouter(include_in_schema=False)


def _resource_page(
    request: Request,
    who: ConsoleUser,
    session: Session,
    code: str,
    *,
    form: RuleForm | None = None,
    editing: tuple[int, RuleForm] | None = None,
    errors: dict[str, str] | None = None,
    page: int = 1,
    status_code: int = 200,
) -> HTMLResponse:
    resource = rules.resource_of(session, code)
    card = scorecards.resource_scorecard(session, code)
    runs, total = service.list_runs(
        session, resource_code=code, offset=(page - 1) * RUNS_PER_PAGE, limit=RUNS_PER_PAGE
    )
    department = resource.department_code
    found = rules.list_rules(session, resource_code=code)
    edit_forms = {rule.id: RuleForm.of_rule(rule) for rule in found}
    if editing is not None:
        edit_forms[editing[0]] = editing[1]
    return quality_page(
        request,
        who,
        "quality/resource.html",
        {
            "resource": resource,
            "card": card,
            "dimension_chart": dimension_chart(
                page_language(request), card.run.scores if card.run else {}
            ),
            "trend_chart": trend_chart(card.trend),
            "rules": found,
            "fields": catalog.current_fields(session, code),
            "form": form or RuleForm.blank(),
            "edit_forms": edit_forms,
            "editing": editing[0] if editing else None,
            "errors": errors or {},
            "kinds": list(RuleKind),
            "severities": list(Severity),
            "dimensions": list(Dimension),
            "standards": list(STANDARDS),
            "resource_kinds": RESOURCE_KINDS,
            "steward": access.stewards(who.actor, department),
            "may_run": access.stewards(who.actor, department) or access.operates(who.actor),
            "may_profile": access.reads_rows(who.actor, department),
            "runs": runs,
            "total": total,
            "names": identity.department_names(session),
            "page_link": lambda n: resource_url(code) + f"?page={n}#runs",
            **pages_of(total, page, RUNS_PER_PAGE),
        },
        status_code=status_code,
    )


@router.get(CONSOLE + "/resources/{code}")
def resource_page(
    request: Request,
    code: str,
    who: ConsoleUserDep,
    session: SessionDep,
    kind: str = "",
    page: int = Query(1, ge=1, le=10_000),
) -> HTMLResponse:
    """A resource's scorecard, trend, runs and rules; ``?kind=`` opens the add form for it."""
    return _resource_page(
        request, who, session, code, form=RuleForm.blank(member_of(RuleKind, kind)), page=page
    )


def _redirect(code: str, done: str, **counts: int) -> RedirectResponse:
    query = urlencode({"done": done, **counts})
    return RedirectResponse(resource_url(code, f"?{query}#rules"), status_code=303)


@router.post(CONSOLE + "/resources/{code}/rules")
async def add_rule(
    request: Request, code: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    await check_csrf(request)
    posted = await request.form()
    kind = member_of(RuleKind, text_of(posted.get("kind")))
    form = RuleForm.from_form(posted, kind) if kind else RuleForm.blank()
    return await run_in_threadpool(_add_rule, request, who, session, platform, code, form)


def _add_rule(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    code: str,
    form: RuleForm,
) -> Response:
    if _saved(session, form, lambda rule: _add(session, who, platform, code, rule)):
        return _redirect(code, "added")
    if not form.has_errors:  # no kind chosen
        form.add("", translate(page_language(request), "quality.editor.kind_required"))
    return _resource_page(request, who, session, code, form=form, status_code=422)


@router.post(CONSOLE + "/resources/{code}/rules/{rule_id}")
async def change_rule(
    request: Request,
    code: str,
    rule_id: int,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    """Change a rule's severity, dimension, whether it runs and, for a steward's rule, its
    parameters."""
    await check_csrf(request)
    posted = await request.form()
    return await run_in_threadpool(
        _change_rule, request, who, session, platform, code, rule_id, posted
    )


def _add(session: Session, who: ConsoleUser, platform: Platform, code: str, rule: RuleIn) -> None:
    rules.add_rule(
        session,
        data=RuleCreate(resource_code=code, **rule.model_dump()),
        actor=who.actor,
        ledger=platform.ledger,
        settings=platform.settings,
    )


def _saved(session: Session, form: RuleForm, save: Callable[[RuleIn], None]) -> bool:
    """Whether the rule typed into ``form`` passed its checks and ``save`` stored it; if not,
    the problems are on the form (a refusal of the viewer's rights is not a form's problem)."""
    rule = form.checked()
    if rule is None:
        return False
    try:
        save(rule)
    except PermissionDenied:
        raise
    except RongshuError as exc:
        session.rollback()
        form.add_problems(exc.details, exc.message)
        return False
    return True


def _change_rule(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    code: str,
    rule_id: int,
    posted: Mapping[str, Any],
) -> Response:
    current = _rule_of(session, code, rule_id)
    form = RuleForm.for_change(posted, current)
    if _saved(session, form, lambda rule: _change(session, who, platform, current, rule)):
        return _redirect(code, "updated")
    return _resource_page(request, who, session, code, editing=(rule_id, form), status_code=422)


def _rule_of(session: Session, code: str, rule_id: int) -> RulePublic:
    found = find_rule(session, code, rule_id)
    if found is None:
        raise NotFound(f"{code} has no quality rule {rule_id}")
    return found


def _change(
    session: Session, who: ConsoleUser, platform: Platform, current: RulePublic, rule: RuleIn
) -> None:
    if parse_params(rule.kind, rule.params) == parse_params(current.kind, current.params):
        rules.update_rule(
            session,
            rule_id=current.id,
            data=RuleUpdate(severity=rule.severity, dimension=rule.dimension, enabled=rule.enabled),
            actor=who.actor,
            ledger=platform.ledger,
        )
        return
    # The services keep a rule's check (field, kind, parameters) as it was added: new
    # parameters are a new rule in its place, added first so that the resource is never left
    # without rules (which would seed the catalog's again), then the old one removed.
    _add(session, who, platform, current.resource_code, rule)
    rules.delete_rule(session, rule_id=current.id, actor=who.actor, ledger=platform.ledger)


@router.post(CONSOLE + "/resources/{code}/rules/{rule_id}/delete")
async def delete_rule(
    request: Request,
    code: str,
    rule_id: int,
    who: ConsoleUserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    await check_csrf(request)
    _rule_of(session, code, rule_id)
    rules.delete_rule(session, rule_id=rule_id, actor=who.actor, ledger=platform.ledger)
    return _redirect(code, "deleted")


@router.post(CONSOLE + "/resources/{code}/sync")
async def sync_rules(
    request: Request, code: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    await check_csrf(request)
    report = rules.sync_rules(session, resource_code=code, actor=who.actor, ledger=platform.ledger)
    return _redirect(
        code,
        "synced",
        added=len(report.added),
        removed=len(report.removed),
        skipped=len(report.skipped),
    )


@router.post(CONSOLE + "/resources/{code}/run")
async def run_now(
    request: Request, code: str, who: ConsoleUserDep, platform: PlatformDep
) -> Response:
    """Check the latest version now: queued when a job queue runs, else here (the page waits)."""
    await check_csrf(request)
    try:
        outcome = await run_in_threadpool(
            request_run, platform, get_queue(request), resource_code=code, actor=who.actor
        )
    except PermissionDenied:
        raise
    except RongshuError as exc:  # e.g. nothing loaded yet; a run that failed is listed too
        return await run_in_threadpool(_run_refused, request, who, platform, code, exc)
    if isinstance(outcome, RunPublic):
        return RedirectResponse(f"{CONSOLE}/runs/{outcome.id}?done=ran", status_code=303)
    return _redirect(code, "queued")


def _run_refused(
    request: Request, who: ConsoleUser, platform: Platform, code: str, exc: RongshuError
) -> HTMLResponse:
    # A session of its own: the run committed after the request's session began.
    with platform.db.session_scope() as session:
        return _resource_page(
            request,
            who,
            session,
            code,
            errors={"run": exc.message},
            status_code=min(exc.status, 500),
        )


# -- profiling -----------------------------------------------------------------------------------


def _require_reader(who: ConsoleUser, platform: Platform, department: str, code: str) -> None:
    access.require(
        access.reads_rows(who.actor, department),
        who.actor,
        platform.ledger,
        action="quality.profile_read",
        object_=f"resource:{code}",
        message=f"only stewards and approvers of {department} read its profile",
    )


@router.get(CONSOLE + "/resources/{code}/profile")
def profile_page(
    request: Request, code: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> HTMLResponse:
    """What each column holds (values included: for those who read the rows) and the rules
    the profile suggests, which the department's stewards may accept."""
    resource = rules.resource_of(session, code)
    _require_reader(who, platform, resource.department_code, code)
    profile: TableProfile | None = None
    suggestions: list[RuleSuggestion] = []
    error: str | None = None
    try:
        profile, suggestions = profile_resource(platform, code)
    except RongshuError as exc:  # nothing loaded yet
        error = exc.message
    else:
        platform.ledger.append(
            who.actor.audit("quality.profile_read", f"resource:{code}", row_count=profile.rows)
        )
    return quality_page(
        request,
        who,
        "quality/profile.html",
        {
            "resource": resource,
            "profile": profile,
            "suggestions": [
                (s, json.dumps(s.rule.model_dump(mode="json", include={"field", "kind", "params"})))
                for s in suggestions
            ],
            "error": error,
            "steward": access.stewards(who.actor, resource.department_code),
        },
        status_code=404 if error else 200,
    )


@router.post(CONSOLE + "/resources/{code}/profile")
async def accept_suggestions(
    request: Request, code: str, who: ConsoleUserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """Add the suggested rules the steward ticked (each checked by the rules service)."""
    await check_csrf(request)
    chosen = [str(value) for value in (await request.form()).getlist("accept")]
    return await run_in_threadpool(_accept, request, who, session, platform, code, chosen)


def _accept(
    request: Request,
    who: ConsoleUser,
    session: Session,
    platform: Platform,
    code: str,
    chosen: list[str],
) -> Response:
    try:
        for text in chosen:
            _add(session, who, platform, code, RuleIn.model_validate_json(text))
    except PermissionDenied:
        raise
    except (RongshuError, ValidationError) as exc:
        session.rollback()
        message = exc.message if isinstance(exc, RongshuError) else str(exc)
        return _resource_page(
            request, who, session, code, errors={"accept": message}, status_code=422
        )
    return _redirect(code, "accepted", count=len(chosen))
