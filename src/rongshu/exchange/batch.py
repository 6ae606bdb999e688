"""Batch exchange (批量交换): a granted app downloads the resource's granted fields and rows as
one file, masked by its grant's profile and watermarked for the app.

The export is a ``security.exports`` stream: recorded (so ``rongshu security trace`` names
the app in a leaked copy), read through the grant's row filter inside the lake engine, and
produced batch by batch in constant memory. The caller sends the chunks and writes the audit
ledger.
"""

from __future__ import annotations

from collections.abc import Generator

from rongshu.core.errors import NotFound, ValidationFailed
from rongshu.core.identity.schemas import Actor
from rongshu.core.platform import Platform
from rongshu.exchange.grants import ActiveGrant
from rongshu.lake.tables import Lake
from rongshu.security.exports import ExportFormat, ExportPublic, export_stream


def recipient_of(grant: ActiveGrant) -> str:
    """How an app is named as the recipient of its exports (what a trace names)."""
    return f"app:{grant.app_id} {grant.app_name}"


def batch_export(
    platform: Platform,
    grant: ActiveGrant,
    *,
    file_format: ExportFormat = ExportFormat.CSV,
    purpose: str = "",
    actor: Actor | None = None,
) -> tuple[ExportPublic, Generator[bytes, None, None]]:
    """The recorded export of what ``grant`` shares, and its file's bytes to send.

    The watermark finds rows by the service's key columns, so a grant without all of them
    cannot be exported (422). ``actor`` defaults to the grant's app.
    """
    missing = [k for k in grant.key_columns if k not in grant.columns]
    if missing:
        raise ValidationFailed(
            f"a batch export needs the service's key fields ({', '.join(missing)}) to carry "
            "its watermark; this grant does not include them",
            details=[{"field": "columns", "reason": "key_missing", "keys": missing}],
        )
    version = Lake.from_settings(platform.settings).table(grant.resource_code).version()
    if version is None:
        raise NotFound(f"resource {grant.resource_code} has no data in the lake yet")
    schema = Lake.from_settings(platform.settings).table(grant.resource_code).schema(version)
    row_filter = grant.row_filter(schema)
    stream = export_stream(
        platform,
        grant.resource_code,
        recipient=recipient_of(grant),
        actor=actor or _app_actor(grant),
        profile=grant.profile,
        columns=grant.columns,
        row_filter=row_filter if row_filter else None,
        file_format=file_format,
        purpose=purpose or grant.purpose,
        # A registry of names and codes has no amount to mark: it is still shared, recorded
        # and audited, and the response says it carries no watermark.
        unmarked_ok=True,
    )
    return stream.export, stream.chunks


def _app_actor(grant: ActiveGrant) -> Actor:
    return Actor(
        kind="app",
        name=f"app:{grant.app_id}",
        department=grant.department,
        app=grant.app_name,
        app_id=grant.app_id,
    )
