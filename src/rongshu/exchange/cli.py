"""``rongshu exchange``: the service catalog, applications and their decisions, grants, usage,
and ``call`` — an operator's test call of a service, over HTTP, with their own app's key."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import httpx
import typer

from rongshu.core.commands import (
    DataDirOpt,
    JsonOpt,
    cli_actor,
    cli_settings,
    console,
    emit,
    err_console,
    opened,
    run,
)
from rongshu.exchange import applications, grants, services, usage
from rongshu.exchange.schemas import (
    ApplicationState,
    ApprovalAction,
    ApprovalDecision,
    ServiceKind,
    ServicePublic,
)

app = typer.Typer(
    help="Data sharing and exchange (共享交换): services, applications, grants, usage, calls.",
    no_args_is_help=True,
)


@app.command("services")
def services_command(
    resource: Annotated[str | None, typer.Option(help="Only this resource's services.")] = None,
    kind: Annotated[ServiceKind | None, typer.Option(help="query, verify, batch ...")] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The service catalog: every published service."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        found = services.list_services(session, resource=resource, kind=kind)
    emit(found, as_json=as_json, columns=["code", "kind", "share_type", "title", "key_columns"])


@app.command("publish")
def publish_command(
    resources: Annotated[list[str], typer.Argument(help="Resource codes.")],
    lookup: Annotated[
        list[str] | None,
        typer.Option(help="Field query and verification look rows up by (repeat)."),
    ] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish (or refresh) the services of shareable resources."""
    published: list[ServicePublic] = []
    with opened(data_dir) as platform:
        for code in resources:

            def publish(code: str = code) -> list[ServicePublic]:
                with platform.db.session_scope() as session:
                    return services.publish_services(
                        session, code=code, actor=cli_actor(), ledger=platform.ledger, lookup=lookup
                    )

            published += run(publish)
    emit(published, as_json=as_json, columns=["code", "kind", "status", "title"])


@app.command("applications")
def applications_command(
    state: Annotated[ApplicationState | None, typer.Option(help="Only this state.")] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Applications, newest first, with their deadlines."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        found = applications.list_applications(
            session, actor=cli_actor(), bureau=platform.settings.bureau_department, state=state
        )
    emit(
        found.data,
        as_json=as_json,
        columns=["number", "service", "app_name", "state", "deadline", "overdue", "purpose"],
    )


@app.command("decide")
def decide_command(
    number: Annotated[str, typer.Argument(help="Application number, e.g. SQ20261122000001.")],
    action: Annotated[ApprovalAction, typer.Argument(help="approve, refuse or ask.")],
    reason: Annotated[str, typer.Option(help="Why (required to refuse or ask).")] = "",
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide an application as the platform (the console is where approvers decide)."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        decided = run(
            lambda: applications.decide(
                session,
                number=number,
                decision=ApprovalDecision(action=action, reason=reason),
                actor=cli_actor(),
                ledger=platform.ledger,
                settings=platform.settings,
            )
        )
    emit(decided, as_json=as_json, columns=["number", "state", "grant_id", "decision_reason"])


@app.command("grants")
def grants_command(
    active: Annotated[bool, typer.Option("--active", help="Only grants in force.")] = False,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Grants: app, service, fields, masking, quota, expiry."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        found = grants.list_grants(
            session,
            actor=cli_actor(),
            bureau=platform.settings.bureau_department,
            active_only=active,
        )
    emit(
        found.data,
        as_json=as_json,
        columns=["id", "app_name", "service", "masking_profile", "daily_quota", "expires_at"],
    )


@app.command("revoke")
def revoke_command(
    grant_id: Annotated[int, typer.Argument(help="Grant id.")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a grant at once."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        revoked = run(
            lambda: grants.revoke_grant(
                session,
                grant_id=grant_id,
                reason=reason,
                actor=cli_actor(),
                ledger=platform.ledger,
                bureau=platform.settings.bureau_department,
            )
        )
    emit(revoked, as_json=as_json, columns=["id", "service", "revoked_at", "revoke_reason"])


@app.command("usage")
def usage_command(
    days: Annotated[int, typer.Option(help="Beijing days back from today.")] = 7,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Calls per service, app and day, with p50/p99 latency."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        report = usage.usage_report(
            session, days=days, daily_target=platform.settings.exchange_daily_target
        )
    emit(
        report.data,
        as_json=as_json,
        columns=["day", "service", "app_name", "calls", "errors", "denied", "rows", "p99_ms"],
    )
    if not as_json:
        console.print(
            f"queries and verifications today: {report.calls_today:,} "
            f"(daily indicator {report.daily_target:,})"
        )


def _pairs(values: list[str], option: str) -> dict[str, str]:
    found = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            err_console.print(f"[red]error:[/red] {option} takes field=value, not {item!r}")
            raise typer.Exit(2)
        found[name] = value
    return found


@app.command("call")
def call_command(
    service: Annotated[str, typer.Argument(help="Service code, e.g. GA-0001.verify.")],
    key: Annotated[list[str], typer.Option("--key", help="Key field=value (repeat).")] = [],  # noqa: B006
    claim: Annotated[
        list[str], typer.Option("--claim", help="Verification: field=claimed value (repeat).")
    ] = [],  # noqa: B006
    purpose: Annotated[str, typer.Option(help="Why this call (recorded).")] = "",
    out: Annotated[Path | None, typer.Option(help="Batch: write the file here.")] = None,
    file_format: Annotated[
        str, typer.Option("--format", help="Batch: csv, parquet, xlsx.")
    ] = "csv",
    url: Annotated[str | None, typer.Option(help="Server base URL.")] = None,
    api_key: Annotated[
        str | None, typer.Option(help="Your app's API key (default $RONGSHU_API_KEY).")
    ] = None,
    sign: Annotated[bool, typer.Option("--sign", help="Sign the request (HMAC-SM3).")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Call a service over HTTP as your app: query (--key), verify (--key, --claim) or batch."""
    from rongshu.exchange import signing

    settings = cli_settings(data_dir)
    base = (url or settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    secret_key = api_key or os.environ.get("RONGSHU_API_KEY")
    if not secret_key:
        err_console.print("[red]error:[/red] give --api-key or set RONGSHU_API_KEY")
        raise typer.Exit(3)
    kind = service.rsplit(".", 1)[-1]
    path = f"/api/v1/exchange/services/{service}/{kind}"
    method, body, query = "POST", b"", ""
    if kind == ServiceKind.BATCH.value:
        method, query = "GET", f"format={file_format}&purpose={purpose}"
    else:
        payload: dict[str, object] = {"key": _pairs(key, "--key"), "purpose": purpose}
        if kind == ServiceKind.VERIFY.value:
            payload["claims"] = _pairs(claim, "--claim")
        body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if sign:
        headers |= signing.signed_headers(
            secret_key, method, path + (f"?{query}" if query else ""), body
        )
    else:
        headers["X-API-Key"] = secret_key
    target = f"{base}{path}" + (f"?{query}" if query else "")
    try:
        with httpx.Client(timeout=60) as client:
            if out is not None:
                with client.stream(method, target, headers=headers, content=body) as response:
                    if response.is_success:
                        with out.open("wb") as handle:
                            for chunk in response.iter_bytes():
                                handle.write(chunk)
                        console.print(f"wrote {out} ({out.stat().st_size:,} bytes)")
                        return
                    response.read()
            else:
                response = client.request(method, target, headers=headers, content=body)
    except httpx.HTTPError as exc:
        err_console.print(f"[red]error:[/red] cannot reach {base}: {exc}")
        raise typer.Exit(1) from None
    typer.echo(json.dumps(response.json(), ensure_ascii=False, indent=2))
    if not response.is_success:
        raise typer.Exit(3 if response.status_code in (401, 403) else 1)
