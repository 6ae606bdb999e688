"""The console's catalog overview: resources and fields per department, type ratios, grades.

Its JSON twin is ``GET /api/v1/catalog/statistics``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from rongshu.catalog import service
from rongshu.catalog.pages import CONSOLE, ContextDep, _page
from rongshu.catalog.statistics import catalog_statistics
from rongshu.web.deps import SessionDep
from rongshu.web.pages import ConsoleUserDep

router = APIRouter(include_in_schema=False)


@router.get(f"{CONSOLE}/statistics")
def statistics_page(
    request: Request, who: ConsoleUserDep, ctx: ContextDep, session: SessionDep
) -> HTMLResponse:
    figures = catalog_statistics(service.published_resources(session))
    return _page(
        request,
        who,
        ctx,
        "catalog/statistics.html",
        {
            "stats": figures,
            "section": "statistics",
            "most": max((d.resources for d in figures.departments), default=1),
        },
    )
