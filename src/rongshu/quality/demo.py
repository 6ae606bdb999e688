"""``rongshu demo``'s quality step: what the runs after the loads found, and subject access.

Every load of the ingest step was checked by a quality run already (``rongshu.quality.hooks``);
this step turns on data-subject access for the household registry (公安 户籍人口: the ID number,
name and phone fields) so a resident can query and dispute their own record, and sums up the
league table and the correction tickets the runs opened.
"""

from __future__ import annotations

from pathlib import Path

from rongshu.core.errors import NotFound
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.steps import demo_step
from rongshu.quality import corrections, objections, scorecards
from rongshu.quality.correction_schemas import SubjectAccessIn

#: The resource whose data subjects the demo lets query their own rows, and its fields.
SUBJECT_RESOURCE = "350100-GA-0001"
SUBJECT_FIELDS = SubjectAccessIn(id_field="id_number", name_field="name", phone_field="phone")


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
