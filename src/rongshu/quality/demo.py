"""``rongshu demo``'s quality steps: stewards' own rules, what the runs found, subject access.

Before the loads, the stewards add the rules a catalog cannot declare: fields that are required
only in some rows (a contribution base when there is an employer, a flow where the gauge measures
one). Every load of the ingest step is then checked by a quality run (``rongshu.quality.hooks``);
the last step turns on data-subject access for the household registry (公安 户籍人口: the ID number,
name and phone fields) so a resident can query and dispute their own record, and sums up the
league table and the correction tickets the runs opened.
"""

from __future__ import annotations

from pathlib import Path

from rongshu.core.errors import Conflict, NotFound
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.sensors import LEVEL_ONLY_GAUGES
from rongshu.demo.steps import demo_step
from rongshu.quality import corrections, objections, rules, scorecards
from rongshu.quality.correction_schemas import SubjectAccessIn
from rongshu.quality.schemas import RuleCreate, RuleKind

#: The resource whose data subjects the demo lets query their own rows, and its fields.
SUBJECT_RESOURCE = "350100-GA-0001"
SUBJECT_FIELDS = SubjectAccessIn(id_field="id_number", name_field="name", phone_field="phone")


_GAUGE_NAMES = ", ".join(f"'{name}'" for name in LEVEL_ONLY_GAUGES)
#: Conditionally required fields, as the stewards of 人社 and 水利 write them (custom SQL).
STEWARD_RULES = (
    RuleCreate(
        resource_code="350100-RS-0001",
        field="contribution_base",
        kind=RuleKind.CUSTOM_SQL,
        params={"predicate": "contribution_base IS NOT NULL OR employer_credit_code IS NULL"},
    ),
    RuleCreate(
        resource_code="350100-SL-0001",
        field="flow_m3s",
        kind=RuleKind.CUSTOM_SQL,
        params={"predicate": f"flow_m3s IS NOT NULL OR station_name IN ({_GAUGE_NAMES})"},
    ),
)


@demo_step("quality rules", order=15)
def steward_rules_step(platform: Platform, city_dir: Path) -> str:
    """Add the stewards' conditional rules before the loads, so the first runs apply them."""
    added = 0
    for rule in STEWARD_RULES:
        try:
            with platform.db.session_scope() as session:
                rules.add_rule(
                    session,
                    data=rule,
                    actor=SYSTEM,
                    ledger=platform.ledger,
                    settings=platform.settings,
                )
            added += 1
        except (Conflict, NotFound):  # added by an earlier run, or not in this catalog
            continue
    return f"{added} steward rules added (required only in some rows)"


@demo_step("quality", order=30)
def quality_demo_step(platform: Platform, city_dir: Path) -> str:
    """Switch on subject access for the household registry; the summary line."""
    with platform.db.session_scope() as session:
        try:
            objections.set_subject_access(
                session,
                resource_code=SUBJECT_RESOURCE,
                data=SUBJECT_FIELDS,
                actor=SYSTEM,
                platform=platform,
            )
        except NotFound:
            return "the household registry is not in the catalog; nothing checked"
        league = scorecards.league_table(session)
        _, tickets = corrections.list_tickets(
            session,
            actor=SYSTEM,
            ledger=platform.ledger,
            bureau=platform.settings.bureau_department,
        )
    checked = sum(row.resources for row in league.data)
    failing = sum(row.failing_rows for row in league.data)
    leader = league.data[0].department_name if league.data else "—"
    return (
        f"{checked} resources checked, {failing:,} rows failing a rule, "
        f"{tickets} correction tickets opened; best department {leader}; "
        f"residents of {SUBJECT_RESOURCE} may query their record (/api/v1/quality/objections)"
    )
