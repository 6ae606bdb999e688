"""What the public says back to the portal: ratings and comments on datasets, data requests
(数据需求) that the named department answers, and the showcase of applications built on open
data (应用成果) that the bureau approves before anyone sees them.

Every function works in the caller's session and only flushes; the route, command or job owns
the transaction. Changes are written to the audit ledger when the session commits.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor
from rongshu.opendata.models import OpenComment, OpenDataRequest, OpenDataset, OpenShowcase
from rongshu.opendata.publishing import dataset_row
from rongshu.opendata.schemas import (
    CommentCreate,
    CommentPublic,
    DataRequestCreate,
    DataRequestPublic,
    DatasetState,
    RequestState,
    ShowcaseCreate,
    ShowcasePublic,
    ShowcaseState,
)

MAX_PAGE = 200
MAX_ANSWER_CHARS = 5000
MAX_REASON_CHARS = 2000


def _person(actor: Actor) -> int:
    """The user id of a signed-in person; apps and the platform do not give feedback."""
    if actor.kind != "user" or actor.user_id is None:
        raise NotAuthenticated("sign in to give feedback on the portal")
    return actor.user_id


def _page(limit: int, offset: int) -> tuple[int, int]:
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise ValidationFailed(
            f"limit must be between 1 and {MAX_PAGE} and offset not negative",
            details=[{"field": "limit", "reason": "out_of_range"}],
        )
    return limit, offset


def _required_text(text: str, field: str, most: int) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise ValidationFailed(
            f"{field} is required", details=[{"field": field, "reason": "empty"}]
        )
    if len(cleaned) > most:
        raise ValidationFailed(
            f"{field} is longer than {most} characters",
            details=[{"field": field, "reason": "too_long"}],
        )
    return cleaned


# -- ratings and comments -----------------------------------------------------------------------


def comment_public(row: OpenComment) -> CommentPublic:
    return CommentPublic(
        author=row.author, rating=row.rating, text=row.text, created_at=row.created_at
    )


def add_comment(
    session: Session,
    *,
    name: str,
    data: CommentCreate,
    actor: Actor,
    author: str,
    ledger: AuditLedger,
) -> CommentPublic:
    """A signed-in person rates (1–5) and/or comments on an active dataset.

    A person's newest rating is the one that counts: rating again clears the rating of their
    earlier comments (their text stays), so the average is one vote per person.
    """
    user_id = _person(actor)
    dataset = dataset_row(session, name, active_only=True)
    if data.rating is not None:
        session.execute(
            update(OpenComment)
            .where(
                OpenComment.dataset_id == dataset.id,
                OpenComment.user_id == user_id,
                OpenComment.rating.is_not(None),
            )
            .values(rating=None)
        )
    row = OpenComment(
        dataset_id=dataset.id,
        user_id=user_id,
        author=(author.strip() or actor.name)[:100],
        rating=data.rating,
        text=data.text.strip(),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    what = f"rating {data.rating}" if data.rating is not None else "comment"
    audit_on_commit(
        session, ledger, actor.audit("opendata.comment", f"dataset:{dataset.name}", purpose=what)
    )
    return comment_public(row)


def list_comments(
    session: Session, *, name: str, limit: int = 50, offset: int = 0
) -> tuple[list[CommentPublic], int]:
    """A dataset's comments, newest first, and how many there are."""
    limit, offset = _page(limit, offset)
    dataset = dataset_row(session, name, active_only=True)
    total = session.scalar(
        select(func.count(OpenComment.id)).where(OpenComment.dataset_id == dataset.id)
    )
    rows = session.scalars(
        select(OpenComment)
        .where(OpenComment.dataset_id == dataset.id)
        .order_by(OpenComment.created_at.desc(), OpenComment.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [comment_public(r) for r in rows], int(total or 0)


def rating_summary(session: Session, *, name: str) -> dict[int, int]:
    """How many people gave each star (1–5) on a dataset, for the rating bar."""
    dataset = dataset_row(session, name, active_only=True)
    counts = dict.fromkeys(range(1, 6), 0)
    rows = session.execute(
        select(OpenComment.rating, func.count(OpenComment.id))
        .where(OpenComment.dataset_id == dataset.id, OpenComment.rating.is_not(None))
        .group_by(OpenComment.rating)
    )
    for stars, count in rows:
        if stars is not None:
            counts[int(stars)] = int(count)
    return counts


# -- data requests ------------------------------------------------------------------------------


def request_public(row: OpenDataRequest, names: dict[str, str]) -> DataRequestPublic:
    return DataRequestPublic(
        id=row.id,
        title=row.title,
        description=row.description,
        department_code=row.department_code,
        department_name=names.get(row.department_code, row.department_code),
        requester=row.requester,
        state=RequestState(row.state),
        answer=row.answer,
        answered_by=row.answered_by,
        answered_at=row.answered_at,
        created_at=row.created_at,
    )


def create_request(
    session: Session,
    *,
    data: DataRequestCreate,
    actor: Actor,
    requester: str,
    ledger: AuditLedger,
) -> DataRequestPublic:
    """A signed-in person asks a department to open some data."""
    user_id = _person(actor)
    names = identity.department_names(session)
    if data.department_code not in names:
        raise ValidationFailed(
            f"there is no department {data.department_code}",
            details=[{"field": "department_code", "reason": "unknown"}],
        )
    row = OpenDataRequest(
        title=data.title.strip(),
        description=data.description.strip(),
        department_code=data.department_code,
        requester_id=user_id,
        requester=(requester.strip() or actor.name)[:100],
        state=RequestState.OPEN.value,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit_on_commit(
        session,
        ledger,
        actor.audit("opendata.request", f"data_request:{row.id}", purpose=data.department_code),
    )
    return request_public(row, names)


def may_answer(actor: Actor, department_code: str) -> bool:
    """The data stewards of the department a request is addressed to answer it."""
    if actor.kind == "system":
        return True
    return actor.can(Permission.STEWARD_DATA) and actor.department == department_code


def answer_request(
    session: Session,
    *,
    request_id: int,
    answer: str,
    actor: Actor,
    ledger: AuditLedger,
) -> DataRequestPublic:
    """The department answers (or corrects its answer to) a data request; the answer is public."""
    row = session.get(OpenDataRequest, request_id)
    if row is None:
        raise NotFound(f"no data request {request_id}")
    if not may_answer(actor, row.department_code):
        ledger.append(
            actor.audit("opendata.answer", f"data_request:{request_id}", outcome="denied")
        )
        raise PermissionDenied(
            f"only the data stewards of {row.department_code} answer this request"
        )
    row.answer = _required_text(answer, "answer", MAX_ANSWER_CHARS)
    row.state = RequestState.ANSWERED.value
    row.answered_by = actor.name
    row.answered_at = utcnow()
    session.flush()
    audit_on_commit(session, ledger, actor.audit("opendata.answer", f"data_request:{row.id}"))
    return request_public(row, identity.department_names(session))


def list_requests(
    session: Session,
    *,
    department: str | None = None,
    state: RequestState | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DataRequestPublic], int]:
    """Data requests, newest first (optionally one department's, or in one state), and the
    count; requests and answers are public."""
    limit, offset = _page(limit, offset)
    conditions = []
    if department:
        conditions.append(OpenDataRequest.department_code == department)
    if state is not None:
        conditions.append(OpenDataRequest.state == state.value)
    total = session.scalar(select(func.count(OpenDataRequest.id)).where(*conditions))
    rows = session.scalars(
        select(OpenDataRequest)
        .where(*conditions)
        .order_by(OpenDataRequest.created_at.desc(), OpenDataRequest.id.desc())
        .limit(limit)
        .offset(offset)
    )
    names = identity.department_names(session)
    return [request_public(r, names) for r in rows], int(total or 0)


# -- the showcase -------------------------------------------------------------------------------


def showcase_public(row: OpenShowcase) -> ShowcasePublic:
    return ShowcasePublic(
        id=row.id,
        title=row.title,
        description=row.description,
        url=row.url,
        datasets=list(row.datasets),
        submitter=row.submitter,
        state=ShowcaseState(row.state),
        reason=row.reason,
        created_at=row.created_at,
    )


def submit_showcase(
    session: Session,
    *,
    data: ShowcaseCreate,
    actor: Actor,
    submitter: str,
    ledger: AuditLedger,
) -> ShowcasePublic:
    """A signed-in person submits an application built on open datasets; it waits for the
    bureau."""
    user_id = _person(actor)
    wanted = list(dict.fromkeys(n.strip().lower() for n in data.datasets if n.strip()))
    found = set(
        session.scalars(
            select(OpenDataset.name).where(
                OpenDataset.name.in_(wanted), OpenDataset.state == DatasetState.ACTIVE.value
            )
        )
    )
    unknown = [n for n in wanted if n not in found]
    if unknown or not wanted:
        raise ValidationFailed(
            f"no open dataset {', '.join(unknown)}" if unknown else "name at least one dataset",
            details=[{"field": "datasets", "reason": "unknown", "value": ", ".join(unknown)}],
        )
    row = OpenShowcase(
        title=data.title.strip(),
        description=data.description.strip(),
        url=data.url.strip(),
        datasets=wanted,
        submitter_id=user_id,
        submitter=(submitter.strip() or actor.name)[:100],
        state=ShowcaseState.PENDING.value,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit_on_commit(session, ledger, actor.audit("opendata.showcase", f"showcase:{row.id}"))
    return showcase_public(row)


def may_decide_showcase(actor: Actor, bureau: str) -> bool:
    """The bureau's approvers and data stewards decide what the showcase shows."""
    if actor.kind == "system":
        return True
    return actor.department == bureau and (
        actor.can(Permission.APPROVE_APPLICATIONS) or actor.can(Permission.STEWARD_DATA)
    )


def decide_showcase(
    session: Session,
    *,
    showcase_id: int,
    approve: bool,
    reason: str,
    actor: Actor,
    bureau: str,
    ledger: AuditLedger,
) -> ShowcasePublic:
    """The bureau shows a submitted application, or refuses it with a reason. An approved
    entry may later be taken down (refused) the same way."""
    row = session.get(OpenShowcase, showcase_id)
    if row is None:
        raise NotFound(f"no showcase entry {showcase_id}")
    action = "opendata.showcase.approve" if approve else "opendata.showcase.refuse"
    if not may_decide_showcase(actor, bureau):
        ledger.append(actor.audit(action, f"showcase:{showcase_id}", outcome="denied"))
        raise PermissionDenied("only the big-data bureau decides what the showcase shows")
    target = ShowcaseState.APPROVED if approve else ShowcaseState.REFUSED
    if row.state == target.value:
        raise Conflict(f"showcase entry {showcase_id} is already {target.value}")
    if approve:
        row.reason = reason.strip()[:MAX_REASON_CHARS]
    else:
        row.reason = _required_text(reason, "reason", MAX_REASON_CHARS)
    row.state = target.value
    row.decided_by = actor.name
    row.decided_at = utcnow()
    session.flush()
    audit_on_commit(session, ledger, actor.audit(action, f"showcase:{row.id}", purpose=row.reason))
    return showcase_public(row)


def list_showcase(
    session: Session,
    *,
    state: ShowcaseState | None = ShowcaseState.APPROVED,
    submitter_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ShowcasePublic], int]:
    """Showcase entries, newest first, and the count; by default only the approved ones, which
    are all the public sees (``submitter_id``: one person's own, for their list)."""
    limit, offset = _page(limit, offset)
    conditions = [OpenShowcase.state == state.value] if state is not None else []
    if submitter_id is not None:
        conditions.append(OpenShowcase.submitter_id == submitter_id)
    total = session.scalar(select(func.count(OpenShowcase.id)).where(*conditions))
    rows = session.scalars(
        select(OpenShowcase)
        .where(*conditions)
        .order_by(OpenShowcase.created_at.desc(), OpenShowcase.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [showcase_public(r) for r in rows], int(total or 0)
