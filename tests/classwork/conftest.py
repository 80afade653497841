"""Classwork fixtures: an app on a real database with files on disk, a clock the test
moves, the two-school world, and a counter of the SQL statements a request runs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import (
    PASSWORD,
    App,
    QueryCounter,
    School,
    api_token,
    build_world,
    make_settings,
    running_app,
)

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Clock:
    """Wall time that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(
    engine: AsyncEngine, database_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[App]:
    # The tests move the clock on by days (publish, due and cut-off times); the sessions
    # they signed in with, checked on that clock, must outlive it.
    settings = make_settings(
        database_url, files_dir=tmp_path / "files", session_seconds=30 * 24 * 3600
    )
    async with running_app(settings) as running:
        running.services.clock = clock
        yield running


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    return await build_world(app.services, await app.services.passwords.hash(PASSWORD))


@pytest.fixture
def queries(app: App) -> QueryCounter:
    return QueryCounter(app.services.engine)


class Api:
    """A signed-in API client for one person of the world."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"authorization": f"Bearer {token}", "accept-language": "en"}

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(
            path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
        )

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, headers=self.headers, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.patch(path, headers=self.headers, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.put(path, headers=self.headers, **kwargs)

    async def delete(self, path: str) -> httpx.Response:
        return await self.client.delete(path, headers=self.headers)


@pytest.fixture
async def as_user(app: App, world: dict[str, School]) -> Any:
    cache: dict[str, Api] = {}

    async def make(username: str) -> Api:
        if username not in cache:
            cache[username] = Api(app.client, await api_token(app.client, username))
        return cache[username]

    return make


@asynccontextmanager
async def two_processes(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[App, App, dict[str, School]]]:
    """Two app instances on one database and one Redis (for a test parametrized with
    ``shared="redis"``), and the two-school world."""
    settings = make_settings(
        database_url,
        files_dir=tmp_path / "files",
        redis_url=request.getfixturevalue("redis_url"),
        redis_prefix=request.getfixturevalue("redis_prefix"),
    )
    async with running_app(settings) as first, running_app(settings) as second:
        world = await build_world(first.services, await first.services.passwords.hash(PASSWORD))
        yield first, second, world


def iso(clock: Clock, seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(clock.now + seconds, UTC).isoformat()


async def post_homework(
    teacher: Api, school: School, clock: Clock, **fields: Any
) -> dict[str, Any]:
    body = {
        "group_id": school.class_id,
        "title": "Exercices page 42",
        "instructions": "Faire les exercices 1 à 3.",
        "due_at": iso(clock, 2 * 86400),
        **fields,
    }
    response = await teacher.post("/api/v1/homework", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
