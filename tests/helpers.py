"""Building blocks for HTTP tests: an app on a real database, and a small two-school world."""

from __future__ import annotations

import asyncio
import contextvars
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import redis.asyncio as aioredis
import sqlalchemy as sa
from litestar import Litestar
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.context import Services
from preau.actions.directory import create_school, insert_person
from preau.adapters.sql.schema import enrolments, groups, parent_links, people
from preau.asgi import ASGIApp
from preau.bootstrap import around, build_router, build_services, start_services, stop_services
from preau.domain.directory import PersonDraft
from preau.domain.people import Profile
from preau.settings import Settings

PASSWORD = "correct horse battery"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
        "log_json": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]  # defaults and overrides, mixed types


@dataclass
class App:
    services: Services
    client: httpx.AsyncClient

    def client_for(self, **kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.client._transport,
            base_url="http://testserver",
            **kwargs,  # type: ignore[arg-type]  # httpx's own keywords, passed on
        )


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[App]:
    services = build_services(settings)
    await start_services(services)
    try:
        with reused_router(services) as router:
            asgi = around(cast("ASGIApp", router), services, settings, gate=None)
            transport = httpx.ASGITransport(app=as_served(asgi))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                yield App(services=services, client=client)
    finally:
        await stop_services(services)


# Building the Litestar router (routes, signatures, OpenAPI) costs ~0.3 s of CPU, more
# under coverage: more than most tests. The routes do not depend on the settings, so the
# routers built here are kept and handed to the next test, bound to its services (the
# only thing a router holds of them: ``app.state.services`` and the cached ``services``
# provider, see web/dependencies.py). A test running two apps at once gets two routers.
_free_routers: list[Litestar] = []


@contextmanager
def reused_router(services: Services) -> Iterator[Litestar]:
    """A router of :func:`preau.bootstrap.build_router` serving ``services``, built once
    and reused by later tests (its lifespan is not run: ``running_app`` starts the
    services itself)."""
    router = _free_routers.pop() if _free_routers else build_router(services)
    router.state.services = services
    provider = router.dependencies["services"]
    assert isinstance(provider, Provide)  # as web/dependencies.py declares it
    provider.value = services  # the cached value `app_services` returned
    try:
        yield router
    finally:
        router.state.services = None
        provider.value = None
        _free_routers.append(router)


@dataclass
class School:
    id: int
    people: dict[str, int] = field(default_factory=dict)  # role name -> person id
    class_id: int = 0
    other_class_id: int = 0


async def build_world(services: Services, password_hash: str) -> dict[str, School]:
    """Two schools, each with an admin, staff, a teacher, two pupils (one per class) and a
    parent of the first pupil; all with the password :data:`PASSWORD`."""
    world: dict[str, School] = {}
    for letter, uai in (("a", "0750001A"), ("b", "0750002B")):
        school = School(id=await create_school(services, uai=uai, name=f"Collège {letter.upper()}"))
        async with services.engine.begin() as connection:
            for role, profile in (
                ("admin", Profile.ADMIN),
                ("staff", Profile.STAFF),
                ("teacher", Profile.TEACHER),
                ("pupil", Profile.PUPIL),
                ("other_pupil", Profile.PUPIL),
                ("parent", Profile.PARENT),
            ):
                school.people[role] = await insert_person(
                    services,
                    connection,
                    school.id,
                    PersonDraft(
                        given_name=role.replace("_", " ").title(),
                        family_name=f"School{letter.upper()}",
                        profile=profile,
                        username=f"{role.replace('_', '-')}.{letter}",
                    ),
                )
            await connection.execute(
                people.update()
                .where(people.c.school_id == school.id)
                .values(password_hash=password_hash)
            )
            for name in ("class", "other_class"):
                result = await connection.execute(
                    groups.insert().values(
                        school_id=school.id, kind="class", name=f"{name} {letter}"
                    )
                )
                key = result.inserted_primary_key
                assert key is not None  # one row inserted: SQLAlchemy has its key
                setattr(school, f"{name}_id", int(key[0]))
            await connection.execute(
                enrolments.insert(),
                [
                    {
                        "school_id": school.id,
                        "group_id": school.class_id,
                        "person_id": school.people["pupil"],
                        "role": "pupil",
                        "subject": None,
                    },
                    {
                        "school_id": school.id,
                        "group_id": school.other_class_id,
                        "person_id": school.people["other_pupil"],
                        "role": "pupil",
                        "subject": None,
                    },
                    {
                        "school_id": school.id,
                        "group_id": school.class_id,
                        "person_id": school.people["teacher"],
                        "role": "teacher",
                        "subject": "Maths",
                    },
                ],
            )
            await connection.execute(
                parent_links.insert().values(
                    school_id=school.id,
                    parent_id=school.people["parent"],
                    child_id=school.people["pupil"],
                )
            )
        world[letter] = school
    return world


async def enrol_in_class(services: Services, school: School, person: str) -> None:
    """Put one of the world's people (``person`` is its key, e.g. ``"other_pupil"``) in the
    school's class, as a pupil."""
    async with services.engine.begin() as connection:
        await connection.execute(
            enrolments.insert().values(
                school_id=school.id,
                group_id=school.class_id,
                person_id=school.people[person],
                role="pupil",
            )
        )


async def count_rows(services: Services, table: sa.Table) -> int:
    async with services.engine.connect() as connection:
        return int(
            (await connection.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
        )


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, remember: bool = True
) -> httpx.Response:
    page = await client.get("/login")
    data = {
        "username": username,
        "password": password,
        "csrf_token": csrf_from(page.text),
        "next": "/home",
    }
    if remember:
        data["remember"] = "on"
    return await client.post("/login", data=data)


async def api_token(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    response = await client.post(
        "/api/v1/session", json={"username": username, "password": password}
    )
    assert response.status_code == 201, response.text
    client.cookies.clear()
    return str(response.json()["token"])


class QueryCounter:
    """Counts the SQL statements run inside ``counting()`` blocks of this task only, so
    background jobs (revocation and version resyncs) never blur the count."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.active: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
            "queries", default=None
        )

        @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            found = self.active.get()
            if found is not None:
                found.append(statement)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        found: list[str] = []
        token = self.active.set(found)
        try:
            yield found
        finally:
            self.active.reset(token)


@asynccontextmanager
async def redis_commands(url: str, prefix: str) -> AsyncIterator[list[str]]:
    """The commands Redis ran on keys under ``prefix`` inside the block, those run by Lua
    scripts included (as ``INFO commandstats`` and bench/capacity_calibrate.py count them),
    read from MONITOR. The list is filled when the block ends."""
    client = aioredis.Redis.from_url(url)
    found: list[str] = []
    try:
        async with client.monitor() as monitor:
            yield found
            # Redis feeds MONITOR in execution order: once this command shows, all came.
            end = prefix + "end-of-count"
            await client.exists(end)
            while end not in (command := (await monitor.next_command())["command"]):
                if prefix in command:
                    found.append(command)
    finally:
        await client.aclose()


def as_served(app: Any) -> Any:
    """The application as uvicorn and granian call it: each request's scope carries a
    ``state`` (their copy of the lifespan's, empty here), which httpx's transport leaves
    out."""

    async def served(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("state", {})
        await app(scope, receive, send)

    return served


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[None]:
    """Run an ASGI application's lifespan, as a server would: its services start, and
    stop (connections closed) at the end."""
    events: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, events.get, answers.put))
    await events.put({"type": "lifespan.startup"})
    started = await answers.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await events.put({"type": "lifespan.shutdown"})
        await answers.get()
        await task
