"""Conditional open data (有条件开放): a public account applies, the owner approves, a key.

Nothing here decides anything: an application is an exchange application
(``rongshu.exchange.applications``) for the dataset's open-data service, made by the account's
app in the public department. The owner department's approvers decide it in the exchange's
inbox, within the exchange's working-day deadline, with its escalation; approval makes an
exchange grant with the daily quota. The account's API key is an ordinary app key: the
datastore API authorises it through the exchange gateway, which checks the grant, counts the
quota and audits every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rongshu.catalog import service as catalog
from rongshu.catalog.schemas import OpenType
from rongshu.core.audit.service import audit_on_commit
from rongshu.core.db import utcnow
from rongshu.core.errors import Conflict, NotFound, ValidationFailed
from rongshu.core.identity import service as identity
from rongshu.core.identity.schemas import SYSTEM, Actor, ApiKeyPublic, IssuedApiKey
from rongshu.core.platform import Platform
from rongshu.exchange import applications, grants
from rongshu.exchange import services as exchange_services
from rongshu.exchange.models import ExchangeApplication, ExchangeService
from rongshu.exchange.schemas import (
    ApplicationCreate,
    ApplicationPublic,
    ApplicationReply,
    ApplicationState,
    GrantPublic,
    ServiceKind,
)
from rongshu.opendata.models import OpenAccount, OpenDataset
from rongshu.opendata.publishing import dataset_row
from rongshu.opendata.schemas import ConditionalApply
from rongshu.security.schemas import MaskingProfile

#: What the application cites when the catalog gives no open condition.
LEGAL_BASIS = "《公共数据开放条件》"


@dataclass(frozen=True)
class MemberApplication:
    """An application as its applicant sees it on the portal, with the dataset's name."""

    application: ApplicationPublic
    dataset: str
    title: str


def open_data_service(resource_code: str) -> str:
    """The exchange service code of a conditional dataset."""
    return exchange_services.service_code(resource_code, ServiceKind.OPEN_DATA)


def conditional_dataset(session: Session, name: str) -> OpenDataset:
    """An active dataset that needs an application; 409 for one open to everyone."""
    row = dataset_row(session, name, active_only=True)
    if row.access != OpenType.CONDITIONAL.value:
        raise Conflict(
            f"dataset {row.name} is open to everyone: download it or call the API without applying",
            details=[{"field": "dataset", "reason": "unconditional"}],
        )
    return row


def open_condition(session: Session, resource_code: str) -> str:
    """The catalog's open condition (开放条件) of a resource, or ``""``."""
    resource = catalog.published_resource(session, resource_code)
    return resource.open_condition.strip() if resource is not None else ""


def _outstanding(session: Session, app_id: int, service: str) -> ExchangeApplication | None:
    """The app's application for ``service`` still waiting on someone, if any."""
    return session.scalar(
        select(ExchangeApplication)
        .join(ExchangeService, ExchangeService.id == ExchangeApplication.service_id)
        .where(
            ExchangeApplication.app_id == app_id,
            ExchangeService.code == service,
            ExchangeApplication.state.in_(
                (ApplicationState.PENDING.value, ApplicationState.MORE_INFO.value)
            ),
        )
        .limit(1)
    )


def apply(
    platform: Platform,
    session: Session,
    *,
    account: OpenAccount,
    name: str,
    data: ConditionalApply,
    actor: Actor,
) -> ApplicationPublic:
    """Apply for conditional dataset ``name`` with the account's app (an exchange
    application to the owner department, with its deadline)."""
    dataset = conditional_dataset(session, name)
    service = open_data_service(dataset.resource_code)
    waiting = _outstanding(session, account.app_id, service)
    if waiting is not None:
        raise Conflict(
            f"your application {waiting.number} for this dataset is still being decided",
            details=[{"field": "dataset", "reason": "outstanding", "number": waiting.number}],
        )
    held = grants.active_grant(session, app_id=account.app_id, service_code=service)
    if held is not None:
        raise Conflict(
            f"you already may use this dataset until {held.expires_at:%Y-%m-%d}",
            details=[{"field": "dataset", "reason": "granted"}],
        )
    condition = open_condition(session, dataset.resource_code)
    legal_basis = f"{LEGAL_BASIS}：{condition}" if condition else LEGAL_BASIS
    request = ApplicationCreate(
        service=service,
        app_id=account.app_id,
        columns=list(dataset.columns),
        purpose=data.purpose.strip(),
        legal_basis=legal_basis[:500],
        scenario=data.scenario.strip(),
        expected_daily_calls=data.expected_daily_calls,
        valid_until=utcnow() + timedelta(days=data.valid_days),
        masking_profile=MaskingProfile(dataset.masking_profile),
    )
    return applications.apply(
        session, data=request, actor=actor, ledger=platform.ledger, settings=platform.settings
    )


def _named_datasets(session: Session, codes: set[str]) -> dict[str, tuple[str, str]]:
    """The name and title of the dataset opening each resource of ``codes``; a resource with
    no dataset (any more) goes by its code."""
    rows = session.scalars(select(OpenDataset).where(OpenDataset.resource_code.in_(codes)))
    found = {d.resource_code: (d.name, d.title) for d in rows}
    return {code: found.get(code, (code.lower(), code)) for code in codes}


def my_applications(session: Session, account: OpenAccount) -> list[MemberApplication]:
    """The account's applications, newest first."""
    rows = session.scalars(
        select(ExchangeApplication)
        .where(ExchangeApplication.app_id == account.app_id)
        .order_by(ExchangeApplication.id.desc())
    )
    found = [applications.application_public(row) for row in rows]
    named = _named_datasets(session, {a.resource_code for a in found})
    return [
        MemberApplication(
            application=application,
            dataset=named[application.resource_code][0],
            title=named[application.resource_code][1],
        )
        for application in found
    ]


def reply(
    platform: Platform,
    session: Session,
    *,
    account: OpenAccount,
    number: str,
    note: str,
    actor: Actor,
) -> ApplicationPublic:
    """Answer the approver's request for more information on one of the account's
    applications (it is pending again, with a new deadline)."""
    mine = session.scalar(
        select(ExchangeApplication.id).where(
            ExchangeApplication.number == number, ExchangeApplication.app_id == account.app_id
        )
    )
    if mine is None:
        raise NotFound(f"no application {number}")
    return applications.reply(
        session,
        number=number,
        answer=ApplicationReply(note=note),
        actor=actor,
        ledger=platform.ledger,
        settings=platform.settings,
    )


def active_grants(platform: Platform, session: Session, account: OpenAccount) -> list[GrantPublic]:
    """The grants in force for the account's app: what its key may call, and how often."""
    found = grants.list_grants(
        session,
        actor=SYSTEM,
        bureau=platform.settings.bureau_department,
        app_id=account.app_id,
        active_only=True,
    )
    return [g for g in found.data if g.kind is ServiceKind.OPEN_DATA]


@dataclass(frozen=True)
class GrantedDataset:
    """A dataset the account's key may call, with the grant's daily quota and end."""

    name: str
    title: str
    daily_quota: int
    expires_at: datetime


def granted_datasets(
    platform: Platform, session: Session, account: OpenAccount
) -> list[GrantedDataset]:
    """The datasets the account's app holds a grant in force for."""
    found = active_grants(platform, session, account)
    named = _named_datasets(session, {g.resource_code for g in found})
    return [
        GrantedDataset(
            name=named[grant.resource_code][0],
            title=named[grant.resource_code][1],
            daily_quota=grant.daily_quota,
            expires_at=grant.expires_at,
        )
        for grant in found
    ]


def keys(session: Session, account: OpenAccount) -> list[ApiKeyPublic]:
    """The account's API keys (their ids and dates; never the secret), newest first."""
    app = identity.app_public(identity.get_app(session, account.app_id))
    return sorted(app.keys, key=lambda k: k.created_at, reverse=True)


def revoke_keys(platform: Platform, session: Session, *, account: OpenAccount, actor: Actor) -> int:
    """Revoke every live key of the account; returns how many."""
    revoked = 0
    for key in keys(session, account):
        if key.revoked_at is None:
            # The platform revokes (apps are the platform admin's); the member's own step is
            # audited below under their name.
            identity.revoke_api_key(
                session, key_id=key.key_id, actor=SYSTEM, ledger=platform.ledger
            )
            audit_on_commit(
                session,
                platform.ledger,
                actor.audit(
                    "opendata.account.key_revoke", f"app:{account.app_id}:key:{key.key_id}"
                ),
            )
            revoked += 1
    return revoked


def issue_key(
    platform: Platform, session: Session, *, account: OpenAccount, actor: Actor
) -> IssuedApiKey:
    """A new API key for the account's app, replacing any live one; only once an application
    has been approved (a grant in force). The full key is returned this once."""
    if not active_grants(platform, session, account):
        raise Conflict(
            "an API key is issued once an application of yours has been approved",
            details=[{"field": "key", "reason": "no_grant"}],
        )
    revoke_keys(platform, session, account=account, actor=actor)
    issued = identity.issue_api_key(
        session,
        app_id=account.app_id,
        secret=platform.secret,
        keys=platform.data_keys,
        actor=SYSTEM,
        ledger=platform.ledger,
    )
    audit_on_commit(
        session,
        platform.ledger,
        actor.audit("opendata.account.key_issue", f"app:{account.app_id}:key:{issued.key_id}"),
    )
    return issued


def check_note(note: str) -> str:
    """A reply's text, trimmed; 422 when it is too short to say anything."""
    text = note.strip()
    if len(text) < 2:
        raise ValidationFailed(
            "say what the approver asked for", details=[{"field": "note", "reason": "required"}]
        )
    return text
