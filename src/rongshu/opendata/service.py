"""Reading the portal: datasets as the public sees them, their releases, and the counters.

Publishing (``publishing``) and releasing (``releases``) change datasets; everything here reads,
except the counters (views, downloads, API calls), which are one ``UPDATE`` each.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import OpenType, ResourcePublic, UpdateCycle
from rongshu.core.errors import NotFound
from rongshu.core.identity import service as identity
from rongshu.opendata.models import OpenComment, OpenDataset, OpenRelease
from rongshu.opendata.publishing import dataset_row
from rongshu.opendata.releases import release_public
from rongshu.opendata.schemas import (
    DatasetPublic,
    DatasetState,
    Licence,
    ReleasePublic,
    ReleaseState,
    Theme,
)
from rongshu.quality import service as quality
from rongshu.security.schemas import MaskingProfile


class Unset:
    """Marks an argument the caller did not give (None is a real value there)."""


UNSET = Unset()


def latest_release(session: Session, dataset_id: int) -> OpenRelease | None:
    """The newest release that can be downloaded."""
    return session.scalar(
        select(OpenRelease)
        .where(
            OpenRelease.dataset_id == dataset_id,
            OpenRelease.state == ReleaseState.READY.value,
        )
        .order_by(OpenRelease.lake_version.desc())
        .limit(1)
    )


def _ratings(session: Session, dataset_ids: Sequence[int]) -> dict[int, tuple[float, int]]:
    if not dataset_ids:
        return {}
    rows = session.execute(
        select(OpenComment.dataset_id, func.avg(OpenComment.rating), func.count(OpenComment.rating))
        .where(OpenComment.dataset_id.in_(dataset_ids), OpenComment.rating.is_not(None))
        .group_by(OpenComment.dataset_id)
    )
    return {d: (round(float(avg), 2), int(n)) for d, avg, n in rows if n}


def dataset_public(
    session: Session,
    row: OpenDataset,
    *,
    resource: ResourcePublic | None = None,
    names: dict[str, str] | None = None,
    rating: tuple[float, int] | None = None,
    score: float | None | Unset = UNSET,
    latest: OpenRelease | None | Unset = UNSET,
    base_url: str = "",
) -> DatasetPublic:
    """One dataset with its latest release, quality score and rating (each looked up unless
    the caller, listing many, passes what it fetched for all of them at once)."""
    names = names if names is not None else identity.department_names(session)
    resource = resource or catalog.published_resource(session, row.resource_code)
    if rating is None:
        rating = _ratings(session, [row.id]).get(row.id)
    if isinstance(score, Unset):
        score = quality.latest_scores(session, [row.resource_code]).get(row.resource_code)
    if isinstance(latest, Unset):
        latest = latest_release(session, row.id)
    return DatasetPublic(
        name=row.name,
        resource_code=row.resource_code,
        title=row.title,
        notes=row.notes,
        tags=list(row.tags),
        theme=Theme(row.theme),
        licence=Licence(row.licence),
        access=OpenType(row.access),
        state=DatasetState(row.state),
        department_code=row.owner_department,
        department_name=names.get(row.owner_department, row.owner_department),
        update_cycle=resource.update_cycle if resource else UpdateCycle.IRREGULAR,
        temporal_start=row.temporal_start,
        temporal_end=row.temporal_end,
        spatial=row.spatial,
        columns=list(row.columns),
        quasi_identifiers=list(row.quasi_identifiers),
        k_anonymity=row.k_anonymity,
        masking_profile=MaskingProfile(row.masking_profile),
        featured=row.featured,
        quality_score=round(score * 100, 1) if score is not None else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        views=row.views,
        downloads=row.downloads,
        calls=row.calls,
        rating=rating[0] if rating else None,
        ratings=rating[1] if rating else 0,
        latest=release_public(latest, base_url=base_url) if latest else None,
    )


def list_datasets(
    session: Session, *, include_withdrawn: bool = False, base_url: str = ""
) -> list[DatasetPublic]:
    """Every dataset on the portal, by name."""
    query = select(OpenDataset).order_by(OpenDataset.name)
    if not include_withdrawn:
        query = query.where(OpenDataset.state == DatasetState.ACTIVE.value)
    rows = list(session.scalars(query))
    names = identity.department_names(session)
    resources = {r.code: r for r in catalog.published_resources(session, open_only=True)}
    ratings = _ratings(session, [r.id for r in rows])
    scores = quality.latest_scores(session, [r.resource_code for r in rows])
    latest: dict[int, OpenRelease] = {}
    for release in session.scalars(
        select(OpenRelease)
        .where(OpenRelease.state == ReleaseState.READY.value)
        .order_by(OpenRelease.lake_version)
    ):
        latest[release.dataset_id] = release  # the newest version comes last
    return [
        dataset_public(
            session,
            row,
            resource=resources.get(row.resource_code),
            names=names,
            rating=ratings.get(row.id, (0.0, 0)),
            score=scores.get(row.resource_code),
            latest=latest.get(row.id),
            base_url=base_url,
        )
        for row in rows
    ]


def get_dataset(session: Session, name: str, *, base_url: str = "") -> DatasetPublic:
    """An active dataset by name (or resource code)."""
    return dataset_public(session, dataset_row(session, name, active_only=True), base_url=base_url)


def list_releases(session: Session, name: str, *, base_url: str = "") -> list[ReleasePublic]:
    """Every release of a dataset, newest first, refused ones included (with the reason)."""
    row = dataset_row(session, name, active_only=True)
    releases = session.scalars(
        select(OpenRelease)
        .where(OpenRelease.dataset_id == row.id)
        .order_by(OpenRelease.lake_version.desc())
    )
    return [release_public(r, base_url=base_url) for r in releases]


def ready_release(session: Session, name: str, version: int | None = None) -> OpenRelease:
    """The downloadable release of ``version`` (default: the latest) of an active dataset."""
    row = dataset_row(session, name, active_only=True)
    if version is None:
        found = latest_release(session, row.id)
    else:
        found = session.scalar(
            select(OpenRelease).where(
                OpenRelease.dataset_id == row.id,
                OpenRelease.lake_version == version,
                OpenRelease.state == ReleaseState.READY.value,
            )
        )
    if found is None:
        which = "any version" if version is None else f"version {version}"
        raise NotFound(f"dataset {row.name} has no released data for {which}")
    return found


def count(session: Session, dataset_id: int, counter: str, by: int = 1) -> None:
    """Add ``by`` to a dataset's ``views``, ``downloads`` or ``calls``."""
    column = {
        "views": OpenDataset.views,
        "downloads": OpenDataset.downloads,
        "calls": OpenDataset.calls,
    }[counter]
    session.execute(
        update(OpenDataset).where(OpenDataset.id == dataset_id).values({column: column + by})
    )


def portal_counts(session: Session) -> dict[str, int]:
    """What the portal's home shows: datasets, departments, rows, downloads, API calls."""
    active = OpenDataset.state == DatasetState.ACTIVE.value
    datasets, departments, downloads, calls = session.execute(
        select(
            func.count(OpenDataset.id),
            func.count(func.distinct(OpenDataset.owner_department)),
            func.coalesce(func.sum(OpenDataset.downloads), 0),
            func.coalesce(func.sum(OpenDataset.calls), 0),
        ).where(active)
    ).one()
    return {
        "datasets": int(datasets),
        "departments": int(departments),
        "downloads": int(downloads),
        "calls": int(calls),
    }
