"""JSON API of data security: PII scans and decisions, the masking matrix, masked previews.

Console users read scans and the matrix; stewards of a resource's department scan it and decide
on its fields; only the security admin changes the matrix. Every change is in the audit ledger.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from rongshu.core.errors import NotFound
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.service import require
from rongshu.security import service
from rongshu.security.masking import Mask
from rongshu.security.schemas import (
    Decision,
    FieldClassificationPublic,
    MaskingMatrix,
    MaskingProfile,
    MaskingRuleIn,
    MaskingRulePublic,
    ScanPublic,
    ScanRequest,
)
from rongshu.web.deps import ActorDep, PlatformDep, SessionDep

router = APIRouter(prefix="/security", tags=["security"])


class MaskedPreview(BaseModel):
    profile: MaskingProfile
    columns: list[str]
    rows: list[dict[str, Any]]


@router.post(
    "/resources/{code}/scans",
    response_model=ScanPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Scan a resource's latest version for personal information (stewards)",
)
async def scan(
    code: str, request: ScanRequest, actor: ActorDep, platform: PlatformDep
) -> ScanPublic:
    return await run_in_threadpool(
        service.scan_resource,
        platform,
        code,
        actor=actor,
        full=request.full,
        sample_rows=request.sample_rows,
    )


@router.get(
    "/resources/{code}/scan",
    response_model=ScanPublic,
    summary="The latest scan of a resource, with each field's suggestion and decision",
)
def latest_scan(
    code: str, session: SessionDep, actor: ActorDep, platform: PlatformDep
) -> ScanPublic:
    require(actor, Permission.VIEW_CONSOLE, platform.ledger, object_=f"security.scan:{code}")
    found = service.latest_scan(session, code)
    if found is None:
        raise NotFound(f"resource {code} has not been scanned")
    return found


@router.post(
    "/resources/{code}/fields/{column}/decision",
    response_model=FieldClassificationPublic,
    summary="Accept or override a field's suggested entity type and grade (stewards)",
)
def decide(
    code: str, column: str, decision: Decision, actor: ActorDep, platform: PlatformDep
) -> FieldClassificationPublic:
    return service.decide(platform, code, column, decision, actor=actor)


@router.get("/masking-rules", response_model=MaskingMatrix, summary="The masking policy matrix")
def masking_rules(session: SessionDep, actor: ActorDep, platform: PlatformDep) -> MaskingMatrix:
    require(actor, Permission.VIEW_CONSOLE, platform.ledger, object_="masking_policy")
    return MaskingMatrix(data=service.list_masking_rules(session))


@router.put(
    "/masking-rules/{profile}/{target}",
    response_model=MaskingRulePublic,
    summary="Set one cell of the masking matrix (security admin)",
)
def set_masking_rule(
    profile: MaskingProfile,
    target: str,
    rule: MaskingRuleIn,
    session: SessionDep,
    actor: ActorDep,
    platform: PlatformDep,
) -> MaskingRulePublic:
    require(actor, Permission.MANAGE_MASKING_POLICY, platform.ledger, object_="masking_policy")
    return service.set_masking_rule(
        platform, session, profile, target, Mask(rule.operator, rule.params), actor=actor
    )


@router.get(
    "/resources/{code}/preview",
    response_model=MaskedPreview,
    summary="The first rows of a resource as a masking profile shows them (security admin)",
)
async def preview(
    code: str,
    actor: ActorDep,
    platform: PlatformDep,
    profile: MaskingProfile = MaskingProfile.STANDARD,
    rows: Annotated[int, Query(ge=1, le=100)] = 10,
) -> MaskedPreview:
    require(actor, Permission.MANAGE_MASKING_POLICY, platform.ledger, object_=f"resource:{code}")
    table = await run_in_threadpool(service.masked_preview, platform, code, profile, rows)
    platform.ledger.append(
        actor.audit("security.preview", f"resource:{code}", row_count=table.num_rows)
    )
    return MaskedPreview(profile=profile, columns=table.column_names, rows=table.to_pylist())
