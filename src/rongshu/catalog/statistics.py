"""Catalog statistics for the console: resources and fields per department, type ratios, grades.

Later areas add their own rows (records aggregated, calls served) beside these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel

from rongshu.catalog.schemas import Grade, LabelledEnum, OpenType, ResourcePublic, ShareType


class DepartmentFigures(BaseModel):
    department_code: str
    department_name: str
    resources: int
    fields: int


class Share(BaseModel):
    value: str
    label: str
    count: int
    ratio: float


class CatalogStatistics(BaseModel):
    resources: int
    fields: int
    departments: list[DepartmentFigures]
    share_types: list[Share]
    open_types: list[Share]
    grades: list[Share]


def catalog_statistics(resources: Iterable[ResourcePublic]) -> CatalogStatistics:
    """Figures over the published catalog."""
    items = list(resources)
    per_department: dict[str, DepartmentFigures] = {}
    for item in items:
        figures = per_department.setdefault(
            item.department_code,
            DepartmentFigures(
                department_code=item.department_code,
                department_name=item.department_name,
                resources=0,
                fields=0,
            ),
        )
        figures.resources += 1
        figures.fields += len(item.fields)
    return CatalogStatistics(
        resources=len(items),
        fields=sum(len(item.fields) for item in items),
        departments=sorted(
            per_department.values(), key=lambda d: (-d.resources, d.department_code)
        ),
        share_types=_shares(ShareType, (item.share_type for item in items), len(items)),
        open_types=_shares(OpenType, (item.open_type for item in items), len(items)),
        grades=_shares(Grade, (item.effective_grade for item in items), len(items)),
    )


def _shares(kind: type[LabelledEnum], values: Iterable[LabelledEnum], total: int) -> list[Share]:
    counts = Counter(values)
    return [
        Share(
            value=member.value,
            label=member.label,
            count=counts.get(member, 0),
            ratio=round(counts.get(member, 0) / total, 4) if total else 0.0,
        )
        for member in kind
    ]
