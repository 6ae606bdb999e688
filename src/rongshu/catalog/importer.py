"""Importing a catalog spreadsheet, all or nothing.

``reader.read_catalog`` reads the file (either shape, see ``reader.py``) and finds every problem
it can without a database; ``import_catalog`` adds what needs one (departments by code or name,
codes already registered, the steward's own department) and registers every resource, or
nothing when there is a single problem.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from rongshu.catalog import service
from rongshu.catalog.reader import (
    CatalogEntry,
    CatalogFile,
    DepartmentClaim,
    ImportProblem,
    parse_catalog,
    read_catalog,
)
from rongshu.catalog.service import CatalogContext
from rongshu.core.errors import ValidationFailed
from rongshu.core.identity import service as identity
from rongshu.core.identity.schemas import DepartmentPublic

__all__ = [
    "CatalogEntry",
    "CatalogFile",
    "ImportProblem",
    "ImportReport",
    "import_catalog",
    "parse_catalog",
    "read_catalog",
]


class ImportReport(BaseModel):
    """What an import registered."""

    resources: int
    fields: int
    codes: list[str]
    problems: list[ImportProblem] = Field(default_factory=list)


def import_catalog(
    session: Session,
    *,
    data: bytes,
    filename: str,
    ctx: CatalogContext,
    submit: bool = False,
) -> ImportReport:
    """Register every resource of a catalog file as a draft (submitted, with ``submit``).

    All or nothing: any problem raises ``ValidationFailed`` whose details are the problems
    (sheet, row, column, reason), and nothing is written. The caller owns the transaction.
    """
    parsed = parse_catalog(data, filename)
    problems = list(parsed.problems)
    departments = identity.list_departments(session)
    by_code = {d.code: d for d in departments}
    by_name: dict[str, list[str]] = {}
    for department in departments:
        by_name.setdefault(department.name.strip(), []).append(department.code)

    resolved: dict[str, str] = {}
    for resource_code, claim in parsed.departments.items():
        code = _resolve_department(claim, by_code, by_name, problems)
        if code is None:
            continue
        resolved[resource_code] = code
        if not ctx.may_edit(code):
            problems.append(
                claim.origin.problem(
                    "department_code",
                    f"无权登记部门 {code} 的资源 (you may only register resources of your own "
                    "department)",
                )
            )
    for code in sorted(service.existing_codes(session, parsed.codes)):
        place = parsed.codes[code]
        problems.append(
            place.model_copy(update={"reason": f"资源代码 {code} 已登记 (already registered)"})
        )

    if problems:
        problems = parsed.sort(problems)
        raise ValidationFailed(
            f"{filename}: nothing was imported, the file has {len(problems)} problems",
            details=[p.model_dump() for p in problems],
        )
    reason = f"imported from {filename}"
    for entry in parsed.entries:
        entry.spec = entry.spec.model_copy(update={"department_code": resolved[entry.spec.code]})
        service.create_resource(session, spec=entry.spec, ctx=ctx)
        if submit:
            service.submit(session, code=entry.spec.code, reason=reason, ctx=ctx)
    return ImportReport(
        resources=len(parsed.entries),
        fields=sum(len(entry.spec.fields) for entry in parsed.entries),
        codes=[entry.spec.code for entry in parsed.entries],
    )


def _resolve_department(
    claim: DepartmentClaim,
    by_code: dict[str, DepartmentPublic],
    by_name: dict[str, list[str]],
    problems: list[ImportProblem],
) -> str | None:
    code, name = claim.code, claim.name
    if code:
        department = by_code.get(code)
        if department is None:
            problems.append(
                claim.origin.problem(
                    "department_code", f"没有编码为 {code} 的部门 (unknown department)"
                )
            )
            return None
        if name and name != department.name:
            problems.append(
                claim.origin.problem(
                    "department",
                    f"提供部门「{name}」与部门编码 {code}（{department.name}）不一致 "
                    "(department name and code disagree)",
                )
            )
            return None
        return code
    codes = by_name.get(name, [])
    if not codes:
        problems.append(
            claim.origin.problem("department", f"没有名为「{name}」的部门 (unknown department)")
        )
        return None
    if len(codes) > 1:
        problems.append(
            claim.origin.problem(
                "department",
                f"有多个部门名为「{name}」，请填写部门编码 (several departments have this name; "
                "give the department code)",
            )
        )
        return None
    return codes[0]
