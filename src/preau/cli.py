"""The ``preau`` command line: serve, migrate, seed the demo, import rosters, manage schools."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from rich.console import Console
from rich.table import Table

from preau.actions.context import Services
from preau.bootstrap import available_cores, build_services, load_settings
from preau.domain.errors import PreauError
from preau.settings import Settings, SettingsError

T = TypeVar("T")
console = Console(stderr=False)


def run_with_services(job: Callable[[Services], Awaitable[T]]) -> T:
    async def main() -> T:
        services = build_services(load_settings())
        try:
            return await job(services)
        finally:
            await services.state.close()
            await services.engine.dispose()

    try:
        return asyncio.run(main())
    except (PreauError, SettingsError) as error:
        message = error.message if isinstance(error, PreauError) else str(error)
        params = error.params if isinstance(error, PreauError) else {}
        console.print(f"[red]Error:[/red] {message.format(**params) if params else message}")
        sys.exit(2)


@click.group(help="Préau: a digital school workspace. Settings come from PREAU_* variables.")
def main() -> None:
    pass


@main.command(help="Bring the database schema up to date (safe to run again).")
def migrate() -> None:
    from preau.adapters.sql.engine import migrate as run_migrations

    run_with_services(lambda services: run_migrations(services.engine))
    console.print("Database is up to date.")


def worker_environment(settings: Settings, workers: int) -> dict[str, str]:
    """What each of ``workers`` processes is told beyond the settings: with the default of one
    hashing thread per core, each worker would run that many, ``workers`` times more hashes
    at once than cores (more memory held, each hash slower); they share the cores instead."""
    if workers > 1 and not settings.password_hash_concurrency:
        threads = max(1, available_cores() // workers)
        return {"PREAU_PASSWORD_HASH_CONCURRENCY": str(threads)}
    return {}


@main.command(help="Serve Préau over HTTP (granian by default, or uvicorn).")
@click.option("--host", default=None, help="Address to bind (default PREAU_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default PREAU_PORT or 8000).")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="Processes; more than one needs PREAU_REDIS_URL and PREAU_SECRET_KEY.",
)
# granian: the warm reads answer 1.8× as many requests per second as on uvicorn, on one
# core (docs/performance.md, hot paths); uvicorn writes each response header in Python.
@click.option(
    "--server", type=click.Choice(["granian", "uvicorn"]), default="granian", show_default=True
)
def serve(host: str | None, port: int | None, workers: int, server: str) -> None:
    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    if workers > 1 and (not settings.shared_on_redis or not settings.secret_key):
        raise click.UsageError(
            "Several workers need PREAU_REDIS_URL and a shared PREAU_SECRET_KEY."
        )
    os.environ.update(worker_environment(settings, workers))
    if server == "granian":
        from granian import Granian
        from granian.constants import Interfaces

        Granian(
            "preau.bootstrap:asgi_app",
            address=host,
            port=port,
            workers=workers,
            interface=Interfaces.ASGI,
            factory=True,
            log_access=False,
        ).serve()
        return
    import uvicorn

    uvicorn.run(
        "preau.bootstrap:asgi_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        proxy_headers=False,  # done by the application itself (PREAU_FORWARDED_ALLOW_IPS)
        server_header=False,
    )


@main.command(help="Create the demo school (once) and print one working login per profile.")
@click.option(
    "--size",
    type=click.Choice(["small", "academie"]),
    default=None,
    help="Instead: demo data for load tests (small: 2 schools, 300 pupils; academie: 50 "
    "schools, 40,000 pupils, 3,000 teachers), made once; each run rewrites its people file.",
)
@click.option(
    "--people-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --size: where to write the logins (default var/demo-SIZE/people.csv).",
)
def demo(size: str | None, people_file: Path | None) -> None:
    from preau.demo.school import DEMO_NAME, seed_demo

    if size is not None:
        demo_size(size, people_file or Path("var") / f"demo-{size}" / "people.csv")
        return
    logins = run_with_services(seed_demo)
    table = Table(title=f"{DEMO_NAME} — http://127.0.0.1:8000")
    table.add_column("Profile")
    table.add_column("Username")
    table.add_column("Password / activation code")
    for login in logins:
        table.add_row(login.profile, login.username, login.secret)
    console.print(table)


def demo_size(size_name: str, people_file: Path) -> None:
    from preau.demo.academie import SIZES, seed_academie

    # Device credentials only make sense when the servers share this secret.
    shared_secret = bool(Settings.from_environ(os.environ).secret_key)
    size = SIZES[size_name]
    report = run_with_services(
        lambda services: seed_academie(
            services, size, people_file=people_file, device_tokens=shared_secret
        )
    )
    if report.created:
        table = Table(title=f"Demo '{size.name}' created in {report.seconds:.1f} s")
        table.add_column("Records")
        table.add_column("Count", justify="right")
        for name, count in report.counts.items():
            table.add_row(name, f"{count:,}")
        console.print(table)
    else:
        console.print(
            f"The '{size.name}' demo data already exists: nothing was added "
            f"({report.seconds:.1f} s to re-issue credentials)."
        )
    console.print(
        f"Logins written to {report.people_file}: password preau-demo-2026, "
        f"{report.activation_codes:,} fresh activation codes, "
        f"{report.device_tokens:,} device credentials"
        + ("" if shared_secret else " (none: PREAU_SECRET_KEY is not set)")
        + ". Demo data only: every account shares one password hash."
    )


@main.command("create-school", help="Create a school by its UAI (does nothing if it exists).")
@click.argument("uai")
@click.argument("name")
@click.option("--timezone", default="Europe/Paris", show_default=True)
def create_school(uai: str, name: str, timezone: str) -> None:
    from preau.actions import directory

    school_id = run_with_services(
        lambda s: directory.create_school(s, uai=uai, name=name, timezone=timezone)
    )
    console.print(f"School {uai} has id {school_id}.")


@main.command("create-admin", help="Create a school administrator and print their activation code.")
@click.argument("uai")
@click.argument("given_name")
@click.argument("family_name")
@click.option("--username", default=None, help="Default: generated from the names.")
def create_admin(uai: str, given_name: str, family_name: str, username: str | None) -> None:
    from preau.actions import accounts, directory
    from preau.domain.directory import PersonDraft, check_person_draft
    from preau.domain.people import Actor, Profile

    async def job(services: Services) -> tuple[str, str]:
        school = await directory.school_by_uai(services, uai)
        draft = check_person_draft(
            PersonDraft(
                given_name=given_name,
                family_name=family_name,
                profile=Profile.ADMIN,
                username=username,
            )
        )
        async with services.engine.begin() as connection:
            person_id = await directory.insert_person(services, connection, int(school.id), draft)
        operator = Actor(person_id=person_id, school_id=int(school.id), profile=Profile.ADMIN)
        issued = await accounts.issue_activation_codes(services, operator, [person_id])
        return issued[0].username, issued[0].code

    created_username, code = run_with_services(job)
    console.print(
        f"Administrator [bold]{created_username}[/bold]: activation code [bold]{code}[/bold] "
        "(at /activate)."
    )


@main.command(
    "send-digests",
    help="Email each person their unread messages and announcements (at most daily; "
    "quiet hours hold it back). Schedule it hourly.",
)
def send_digests() -> None:
    from preau.actions.messages.digests import send_digests as run_digests

    report = run_with_services(run_digests)
    if not report.smtp_configured:
        console.print("[yellow]PREAU_SMTP_HOST is not set: no digest was sent.[/yellow]")
        sys.exit(1)
    console.print(
        f"Digests sent: {report.sent}, failed: {report.failed}, schools in quiet hours: "
        f"{len(report.schools_in_quiet_hours)}."
    )
    if report.failed:
        sys.exit(1)


@main.command("import-roster", help="Import a OneRoster 1.2 CSV folder or zip (bulk or delta).")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--school", "uai", default=None, help="Only accept rows for this school (UAI).")
def import_roster(path: Path, uai: str | None) -> None:
    from preau.actions import directory
    from preau.actions.roster.importer import import_roster as run_import
    from preau.roster_cli import RichProgress, render_report

    async def job(services: Services) -> object:
        school_id = int((await directory.school_by_uai(services, uai)).id) if uai else None
        with RichProgress(console) as progress:
            return await run_import(
                services.engine,
                path,
                now=services.now(),
                restrict_to_school_id=school_id,
                source_name=path.name,
                progress=progress,
            )

    report = run_with_services(job)
    render_report(report, console)  # type: ignore[arg-type]  # rich's Console is the report's writer; its stub is narrower


def _add_janus_commands() -> None:
    from preau.virtual_cli import janus, turn

    main.add_command(janus)
    main.add_command(turn)


_add_janus_commands()

if __name__ == "__main__":
    main()
