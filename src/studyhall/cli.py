"""The `studyhall` command.

Commands import what they need when they run: Alembic, the web app and the demo take seconds
to import, and `studyhall worker` needs none of them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from studyhall import __version__
from studyhall.config import Settings

if TYPE_CHECKING:
    from studyhall.demo import SeedReport

#: uvicorn's WebSocket server, chosen for the memory an open socket holds (docs/performance.md,
#: "Real-time fan-out"): the sans-I/O implementation runs no task of its own per connection
#: (keepalive pings are timers), and per-message deflate (a zlib context each way, per
#: socket) buys nothing for small JSON messages. What a client may send is small (sign-in,
#: a chat message).
WEBSOCKET_SERVER_OPTIONS: dict[str, Any] = {
    "ws": "websockets-sansio",
    "ws_per_message_deflate": False,
    "ws_max_size": 64 * 1024,
}

app = typer.Typer(
    help="StudyHall: run the API, migrate the database, export the API spec.", no_args_is_help=True
)
migrate_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
app.add_typer(migrate_app, name="migrate")
events_app = typer.Typer(help="Dead events: list them and requeue them.", no_args_is_help=True)
app.add_typer(events_app, name="events")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development)")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    migrate: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate", help="Apply pending migrations first (default: on for SQLite)"
        ),
    ] = None,
) -> None:
    """Run the API server (docs at /docs)."""
    import uvicorn

    from studyhall.core import migrate as migrations

    settings = Settings()
    if migrate if migrate is not None else settings.should_auto_migrate:
        asyncio.run(migrations.upgrade(settings.database_url))
        typer.echo("database is up to date", err=True)
    if settings.may_seed_demo:
        from studyhall.config import SeedDemo
        from studyhall.demo import seed_demo

        report = asyncio.run(seed_demo(settings, only_if_empty=settings.seed_demo == SeedDemo.AUTO))
        if report is not None:
            _print_demo(report)
    uvicorn.run(
        "studyhall.main:create_served_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=None if reload else workers,
        log_config=None,
        # The application reads proxy headers itself, from FORWARDED_ALLOW_IPS (see create_app);
        # uvicorn's own layer would trust 127.0.0.1 regardless and rewrite the client first.
        proxy_headers=False,
        **WEBSOCKET_SERVER_OPTIONS,
    )


@migrate_app.command("upgrade")
def migrate_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from studyhall.core import migrate as migrations

    asyncio.run(migrations.upgrade(Settings().database_url, revision))
    typer.echo(f"upgraded to {revision}")


@migrate_app.command("downgrade")
def migrate_downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (default: one step; `base` reverts all)."""
    from studyhall.core import migrate as migrations

    asyncio.run(migrations.downgrade(Settings().database_url, revision))
    typer.echo(f"downgraded to {revision}")


@migrate_app.command("current")
def migrate_current() -> None:
    """Print the database's current revision."""
    from studyhall.core import migrate as migrations

    revision = asyncio.run(migrations.current_revision(Settings().database_url))
    typer.echo(revision or "none")


@app.command()
def openapi(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")
    ] = None,
) -> None:
    """Write the OpenAPI document."""
    from studyhall.main import create_app

    spec = json.dumps(create_app().openapi(), indent=2)
    if output is None:
        typer.echo(spec)
    else:
        output.write_text(spec + "\n")
        typer.echo(f"wrote {output}", err=True)


@app.command("graphql-schema")
def graphql_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")
    ] = None,
) -> None:
    """Write the GraphQL schema (SDL), as docs/schema.graphql has it."""
    from studyhall.graphql.schema import schema_sdl

    sdl = schema_sdl()
    if output is None:
        typer.echo(sdl, nl=False)
    else:
        output.write_text(sdl)
        typer.echo(f"wrote {output}", err=True)


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The admin's email address")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="The password (prompted for when omitted, so it stays out of the shell history)",
        ),
    ],
    full_name: Annotated[str, typer.Option(help="Display name")] = "Administrator",
) -> None:
    """Create a platform admin account (email counts as verified)."""
    from pydantic import TypeAdapter, ValidationError

    from studyhall.core.errors import DomainError
    from studyhall.identity.schemas import Email, FullName, NewPassword

    settings = Settings()
    checks = (
        (Email, email, "not a valid email address"),
        (NewPassword, password, "the password needs at least 10 characters and not only digits"),
        (FullName, full_name, "the full name must have 1 to 200 characters"),
    )
    for kind, value, message in checks:
        try:
            TypeAdapter(kind).validate_python(value)
        except ValidationError as exc:
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(2) from exc
    try:
        user_id = asyncio.run(_create_admin(settings, email, password, full_name))
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created admin {email.strip().lower()} ({user_id})")


async def _create_admin(settings: Settings, email: str, password: str, full_name: str) -> str:
    from studyhall.core import migrate as migrations
    from studyhall.core.db import Database
    from studyhall.core.security import security_from_settings
    from studyhall.identity.models import Role
    from studyhall.identity.service import create_user

    if settings.should_auto_migrate:
        await migrations.upgrade(settings.database_url)
    database = Database(settings)
    passwords, _ = security_from_settings(settings)
    user_id = ""
    try:
        async with database.session_scope() as session:
            user = await create_user(
                session,
                passwords,
                email=email,
                password=password,
                full_name=full_name,
                role=Role.ADMIN,
                email_verified=True,
            )
            user_id = str(user.id)
    finally:
        await database.dispose()
    return user_id


@app.command("seed-demo")
def seed_demo_command() -> None:
    """Fill the database with demo users, courses, enrollments and progress (idempotent)."""
    from studyhall.core import migrate as migrations
    from studyhall.demo import seed_demo

    settings = Settings()
    if settings.should_auto_migrate:
        asyncio.run(migrations.upgrade(settings.database_url))
    report = asyncio.run(seed_demo(settings))
    assert report is not None
    _print_demo(report)


def _print_demo(report: SeedReport) -> None:
    created = (
        ", ".join(f"{n} {kind}" for kind, n in sorted(report.created.items())) or "nothing (already seeded)"
    )
    typer.echo(f"demo data: created {created}", err=True)
    for journey in report.skipped:
        typer.echo(f"  skipped the journey of {journey}", err=True)
    typer.echo("demo logins (password for all: " + report.logins[0][2] + "):", err=True)
    for email, role, _password in report.logins:
        typer.echo(f"  {role:<11} {email}", err=True)


@app.command()
def worker(
    prefetch: Annotated[
        int | None, typer.Option(min=1, help="Messages held at once (default: BROKER_PREFETCH)")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port (default: none)")
    ] = None,
) -> None:
    """Handle events from the broker (BROKER_URL); several may run. Stops on SIGTERM after
    finishing the messages it holds."""
    from studyhall.core.memory import settle_after_startup
    from studyhall.workers import run_worker

    settings = _broker_settings()
    settle_after_startup()  # what the imports made lives as long as the worker
    asyncio.run(
        run_worker(settings, prefetch=prefetch or settings.broker_prefetch, metrics_port=metrics_port)
    )


@app.command()
def relay() -> None:
    """Relay committed events to the broker without serving the API (the API processes do
    it too unless OUTBOX_DISPATCHER_ENABLED=false). Stops on SIGTERM."""
    from studyhall.workers import run_relay

    asyncio.run(run_relay(_broker_settings()))


def _broker_settings() -> Settings:
    settings = Settings()
    if not settings.broker_url:
        typer.echo("error: BROKER_URL is not set (without a broker, `serve` handles events)", err=True)
        raise typer.Exit(2)
    return settings


@events_app.command("dead")
def events_dead() -> None:
    """List dead events: id, type, handler, attempts, last error, when it died."""
    from studyhall.workers import list_dead

    rows = asyncio.run(list_dead(Settings()))
    if not rows:
        typer.echo("no dead events")
        return
    typer.echo("event_id\ttype\thandler\tattempts\tdead_at\tlast_error")
    for row in rows:
        error = (row.last_error or "").replace("\n", " ")
        typer.echo(
            f"{row.event_id}\t{row.event_type}\t{row.handler}\t{row.attempts}\t"
            f"{row.dead_at.isoformat()}\t{error}"
        )


@events_app.command("retry")
def events_retry(
    event_id: Annotated[str | None, typer.Argument(help="The dead event to requeue")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Requeue every dead event")] = False,
) -> None:
    """Requeue dead events for their dead handlers (republished in broker mode; due again
    in embedded mode)."""
    import uuid

    from studyhall.workers import retry_dead

    if all_ == (event_id is not None):
        typer.echo("error: give one event id or --all", err=True)
        raise typer.Exit(2)
    ids = None
    if event_id is not None:
        try:
            ids = [uuid.UUID(event_id)]
        except ValueError as exc:
            typer.echo(f"error: not an event id: {event_id}", err=True)
            raise typer.Exit(2) from exc
    requeued = asyncio.run(retry_dead(Settings(), ids))
    if ids is not None and not requeued:
        typer.echo(f"error: event {event_id} is not dead", err=True)
        raise typer.Exit(1)
    handlers = sum(len(names) for names in requeued.values())
    typer.echo(f"requeued {len(requeued)} event(s), {handlers} handler(s)")


@app.command("build-web")
def build_web(
    force: Annotated[bool, typer.Option(help="Build even when the sources did not change")] = False,
) -> None:
    """Build the web app (web/ into web/dist) when its sources changed."""
    from studyhall import web_build

    web = Path.cwd() / "web"
    if not (web / "package.json").is_file():
        typer.echo("no web app sources here (web/package.json): nothing to build", err=True)
        return
    try:
        built = web_build.build(web, force=force)
    except web_build.WebBuildError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo("web app built into web/dist" if built else "web app is up to date", err=True)


@app.command()
def version() -> None:
    """Print the StudyHall version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
