"""The ``rongshu`` command: set up, serve, administer and demonstrate the platform.

Commands are thin: they open the platform, call services, and print tables (or JSON with
``--json``). Domain errors become a one-line message and the error's exit code.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.table import Table

from rongshu import __version__
from rongshu.catalog import cli as catalog_cli
from rongshu.core.audit.service import report_public
from rongshu.core.audit.verify import verify_chain
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
    validated,
)
from rongshu.core.identity import service as identity
from rongshu.core.identity.roles import Role
from rongshu.core.identity.schemas import (
    AppCreate,
    DepartmentCreate,
    SecurityPolicy,
    UserCreate,
)
from rongshu.core.platform import Platform
from rongshu.core.settings import Settings
from rongshu.demo import cli as demo_cli
from rongshu.exchange import cli as exchange_cli
from rongshu.ingest import cli as ingest_cli
from rongshu.opendata import cli as opendata_cli
from rongshu.quality import cli as quality_cli
from rongshu.security import cli as security_cli
from rongshu.standards import cli as standards_cli

app = typer.Typer(
    name="rongshu",
    help="榕数 rongshu — public-data and city-operations platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Metadata database.", no_args_is_help=True)
dept_app = typer.Typer(help="Departments (部门).", no_args_is_help=True)
user_app = typer.Typer(help="Users and roles.", no_args_is_help=True)
apps_app = typer.Typer(help="Apps (machine clients) and their API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit ledger (留痕).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(dept_app, name="dept")
app.add_typer(user_app, name="user")
app.add_typer(apps_app, name="app")
app.add_typer(audit_app, name="audit")
app.add_typer(catalog_cli.app, name="catalog")
app.add_typer(ingest_cli.app, name="ingest")
app.add_typer(standards_cli.app, name="standards")
app.add_typer(quality_cli.app, name="quality")
app.add_typer(security_cli.app, name="security")
app.add_typer(exchange_cli.app, name="exchange")
app.add_typer(opendata_cli.app, name="opendata")

# -- setup and serving ---------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command("settings")
def show_settings(data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Print every setting in force, where it can be set, and what it means (secrets hidden)."""
    settings = cli_settings(data_dir)
    rows = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        shown = "********" if name == "secret_key" else getattr(value, "value", value)
        rows.append(
            (
                f"RONGSHU_{name.upper()}",
                "" if shown is None else str(shown),
                field.description or "",
            )
        )
    if as_json:
        typer.echo(
            json.dumps(
                {variable: value for variable, value, _ in rows}, ensure_ascii=False, indent=2
            )
        )
        return
    table = Table("variable", "value", "meaning")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@app.command()
def init(data_dir: DataDirOpt = None) -> None:
    """Create the data directory, the metadata schema and the platform signing key."""
    with opened(data_dir) as platform:
        fingerprint = platform.signing_key.public_key().fingerprint()
        console.print(f"data directory  {platform.settings.data_dir.resolve()}")
        console.print(
            f"database        {platform.db.dialect} at revision {platform.db.current_revision()}"
        )
        console.print(f"signing key     SM2 {fingerprint}")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    data_dir: DataDirOpt = None,
) -> None:
    """Bring the metadata schema to the newest (or given) revision."""
    with opened(data_dir, upgrade=False) as platform:
        before = platform.db.current_revision()
        platform.db.upgrade(revision)
        console.print(
            f"database {platform.db.dialect}: "
            f"{before or 'empty'} → {platform.db.current_revision()}"
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (one per core).")] = 1,
    data_dir: DataDirOpt = None,
) -> None:
    """Serve the web console, portal and API (and run background jobs in-process)."""
    from rongshu.web.server import run_server

    settings = cli_settings(data_dir)
    run_server(settings, host=host or settings.host, port=port or settings.port, workers=workers)


@app.command()
def worker(
    workers: Annotated[int | None, typer.Option(help="Worker threads.")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Run background jobs in the foreground (when RONGSHU_JOBS_IN_PROCESS=false)."""
    from rongshu.web.server import run_worker

    settings = cli_settings(data_dir)
    run_worker(settings, workers=workers or settings.jobs_workers)


# -- departments ---------------------------------------------------------------------------

DEPARTMENT_COLUMNS = ("code", "name", "region_code", "parent_code", "created_at")


@dept_app.command("create")
def dept_create(
    code: Annotated[str, typer.Option(help="Department code, e.g. GA.")],
    name: Annotated[str, typer.Option(help="Full name, e.g. 榕城市公安局.")],
    region: Annotated[str, typer.Option(help="GB/T 2260 region code, e.g. 350100.")],
    parent: Annotated[str | None, typer.Option(help="Parent department code.")] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a department."""
    data = validated(DepartmentCreate, code=code, name=name, region_code=region, parent_code=parent)
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        created = run(
            lambda: identity.create_department(
                session, data=data, actor=cli_actor(), ledger=platform.ledger
            )
        )
    emit(created, as_json=as_json, columns=DEPARTMENT_COLUMNS)


@dept_app.command("list")
def dept_list(data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """List departments."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        emit(identity.list_departments(session), as_json=as_json, columns=DEPARTMENT_COLUMNS)


# -- users ---------------------------------------------------------------------------------

USER_COLUMNS = ("username", "display_name", "department_code", "roles", "locked", "last_login_at")


def _policy(platform: Platform) -> SecurityPolicy:
    with platform.db.session_scope() as session:
        return identity.effective_security_policy(session, platform.settings)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="Sign-in name.")],
    display_name: Annotated[str, typer.Option(help="Name shown in the console.")],
    role: Annotated[list[Role], typer.Option(help="Role (repeat for several).")],
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password; generated and printed once when omitted.")
    ] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user. 三员分立: admin, security admin and auditor roles never combine."""
    generated = password is None
    secret = password or secrets.token_urlsafe(12)
    data = validated(
        UserCreate,
        username=username,
        display_name=display_name,
        password=secret,
        department_code=department,
        email=email,
        roles=role,
    )
    with opened(data_dir) as platform:
        policy = _policy(platform)
        with platform.db.session_scope() as session:
            created = run(
                lambda: identity.create_user(
                    session, data=data, policy=policy, actor=cli_actor(), ledger=platform.ledger
                )
            )
    emit(created, as_json=as_json, columns=USER_COLUMNS)
    if generated and not as_json:
        console.print(f"password (shown once): [bold]{secret}[/bold]")


@user_app.command("list")
def user_list(data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """List users and their roles."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        users = identity.list_users(session, actor=cli_actor(), ledger=platform.ledger)
    emit(users, as_json=as_json, columns=USER_COLUMNS)


@user_app.command("roles")
def user_roles(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[list[Role], typer.Option(help="Role (repeat); replaces the current roles.")],
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace a user's roles."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        updated = run(
            lambda: identity.set_roles(
                session, username=username, roles=role, actor=cli_actor(), ledger=platform.ledger
            )
        )
    emit(updated, as_json=as_json, columns=USER_COLUMNS)


# -- apps and keys -------------------------------------------------------------------------

APP_COLUMNS = ("id", "name", "department_code", "description", "keys")


@apps_app.command("create")
def app_create(
    name: Annotated[str, typer.Option(help="App name, unique within the department.")],
    department: Annotated[str, typer.Option(help="Owning department code.")],
    description: Annotated[str, typer.Option(help="What the app is for.")] = "",
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an app and issue its first API key (printed once)."""
    data = validated(AppCreate, name=name, department_code=department, description=description)
    with opened(data_dir) as platform:
        with platform.db.session_scope() as session:
            created = run(
                lambda: identity.create_app(
                    session, data=data, actor=cli_actor(), ledger=platform.ledger
                )
            )
        with platform.db.session_scope() as session:
            issued = identity.issue_api_key(
                session,
                app_id=created.id,
                secret=platform.secret,
                keys=platform.data_keys,
                actor=cli_actor(),
                ledger=platform.ledger,
            )
    if as_json:
        typer.echo(
            json.dumps(
                {"app": created.model_dump(mode="json"), "key": issued.model_dump()},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    console.print(f"app {created.id} {created.name} ({created.department_code})")
    console.print(f"API key (shown once): [bold]{issued.api_key}[/bold]")


@apps_app.command("list")
def app_list(data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """List apps with their key ids."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        apps = identity.list_apps(session, actor=cli_actor(), ledger=platform.ledger)
    if as_json:
        emit(apps, as_json=True, columns=APP_COLUMNS)
        return
    table = Table("id", "name", "department", "key id", "created", "revoked")
    for item in apps:
        for key in item.keys or [None]:  # type: ignore[list-item]
            table.add_row(
                str(item.id),
                item.name,
                item.department_code,
                key.key_id if key else "",
                key.created_at.isoformat(timespec="seconds") if key else "",
                key.revoked_at.isoformat(timespec="seconds") if key and key.revoked_at else "",
            )
    console.print(table)


@apps_app.command("key-issue")
def app_key_issue(
    app_id: Annotated[int, typer.Argument(help="App id.")],
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue another API key for an app (e.g. to rotate keys)."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        issued = run(
            lambda: identity.issue_api_key(
                session,
                app_id=app_id,
                secret=platform.secret,
                keys=platform.data_keys,
                actor=cli_actor(),
                ledger=platform.ledger,
            )
        )
    if as_json:
        typer.echo(issued.model_dump_json())
    else:
        console.print(f"API key (shown once): [bold]{issued.api_key}[/bold]")


@apps_app.command("key-revoke")
def app_key_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id (the part after rsk_).")],
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke an API key at once."""
    with opened(data_dir) as platform, platform.db.session_scope() as session:
        revoked = run(
            lambda: identity.revoke_api_key(
                session, key_id=key_id, actor=cli_actor(), ledger=platform.ledger
            )
        )
    emit(revoked, as_json=as_json, columns=("key_id", "created_at", "revoked_at"))


# -- audit ---------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Walk the SM3 chain and SM2 checkpoints; exit 1 at the first broken or missing entry."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with opened(data_dir) as platform:
        key = platform.signing_key.public_key()
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            console=err_console,
            transient=True,
            disable=as_json,
        ) as progress:
            task = progress.add_task("verifying", total=None)
            report = verify_chain(
                platform.db,
                key,
                progress=lambda n: progress.update(task, description=f"verified {n:,} entries"),
            )
        platform.ledger.append(
            cli_actor().audit(
                "audit.verify",
                "audit_trail",
                outcome="ok" if report.ok else "broken",
                row_count=report.entries,
            )
        )
    public = report_public(report)
    if as_json:
        typer.echo(public.model_dump_json(indent=2))
    else:
        rate = report.entries / report.seconds if report.seconds else 0
        console.print(
            f"{report.entries:,} entries, {report.checkpoints:,} signed checkpoints "
            f"(key {report.key_fingerprint}), {report.seconds:.2f} s, {rate:,.0f} entries/s"
        )
        if report.problem is None:
            console.print(
                "[green]chain intact[/green]"
                + (
                    f"; {report.unsigned_tail} entries after the last checkpoint"
                    if report.unsigned_tail
                    else ""
                )
            )
        else:
            console.print(
                f"[red]BROKEN at entry {report.problem.seq}[/red] "
                f"({report.problem.kind}): {report.problem.message}"
            )
    if not report.ok:
        raise typer.Exit(1)


# -- demo ----------------------------------------------------------------------------------

demo_app = typer.Typer(
    help="The demo city 榕城: `rongshu demo` sets everything up and serves it.",
    invoke_without_command=True,
)
app.add_typer(demo_app, name="demo")
demo_app.command("generate")(demo_cli.generate)


@demo_app.callback()
def demo(
    ctx: typer.Context,
    rows: Annotated[int, typer.Option(help="Residents of the demo city.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same city).")] = 20211,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the web server at the end.")
    ] = True,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Set up 榕城: departments, one account per role, the city's source systems, then serve."""
    if ctx.invoked_subcommand is not None:
        return
    from rongshu.areas import load_demo_steps
    from rongshu.demo.bootstrap import bootstrap, existing_city
    from rongshu.demo.steps import DEMO_STEPS

    load_demo_steps()

    settings = cli_settings(data_dir)
    city_dir = settings.data_dir / "demo"
    with opened(data_dir) as platform:
        console.rule("榕数 rongshu demo · 榕城")
        setup = bootstrap(platform)
        console.print(f"[green]✓[/green] {setup.departments} departments of 榕城")
        manifest = existing_city(city_dir, rows=rows, seed=seed)
        if manifest is None:
            manifest = demo_cli.generate_with_progress(city_dir, rows, seed, [])
        total = sum(table.rows for table in manifest.tables)
        console.print(
            f"[green]✓[/green] source systems of {len(manifest.tables)} tables, {total:,} rows "
            f"in {city_dir} (defects and duplicates listed in ground_truth/)"
        )
        for step in DEMO_STEPS:
            console.print(f"[green]✓[/green] {step.name}: {step.run(platform, city_dir)}")
        if not DEMO_STEPS:
            console.print(
                "  (catalog, ingest, quality and publishing steps arrive with their areas)"
            )
    host = host or settings.host
    port = port or settings.port
    table = Table("username", "password", "role", "department", title="demo accounts")
    for account in setup.accounts:
        table.add_row(
            account.username, account.password, account.role.value, account.department or ""
        )
    console.print(table)
    console.print(f"demo app {setup.app_name} API key: [bold]{setup.api_key}[/bold]")
    base = f"http://{host}:{port}"
    console.print(f"portal   {base}/")
    console.print(f"console  {base}/console   (sign in with an account above)")
    console.print(f"API      {base}/api/v1/docs")
    if serve_after:
        from rongshu.web.server import run_server

        run_server(settings, host=host, port=port)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``rongshu`` command."""
    app(args=list(argv) if argv is not None else None, prog_name="rongshu")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
