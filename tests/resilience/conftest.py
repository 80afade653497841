"""A PostgreSQL cluster of this module's own (started, stopped and started again by the
tests), an app on a fresh database in it, the two-school world."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from preau.adapters.sql.engine import make_engine, migrate
from tests.conftest import missing_service
from tests.helpers import PASSWORD, App, School, build_world, make_settings, running_app
from tests.resilience.throwaway_postgres import ThrowawayPostgres, available


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayPostgres]:
    if not available():
        missing_service("PostgreSQL's initdb and pg_ctl are not installed")
    directory = Path(tempfile.mkdtemp(prefix="preau-pg-"))
    postgres = ThrowawayPostgres(directory)
    postgres.init()
    postgres.start()
    try:
        yield postgres
    finally:
        postgres.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def database_url(cluster: ThrowawayPostgres) -> str:
    cluster.start_if_stopped()
    name = f"t_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/{name}"
    engine = make_engine(url)
    await migrate(engine)
    await engine.dispose()
    return url


@pytest.fixture(params=["memory", "redis"])
async def app(
    request: pytest.FixtureRequest, database_url: str, cluster: ThrowawayPostgres
) -> AsyncIterator[App]:
    """The app with its shared state in memory (the embedded default) or on the shared
    Redis: the second-level copies live there."""
    shared: dict[str, object] = {}
    if request.param == "redis":
        shared = {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": request.getfixturevalue("redis_prefix"),
        }
    async with running_app(make_settings(database_url, **shared)) as running:
        yield running
    cluster.start_if_stopped()  # for the next test


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    return await build_world(app.services, await app.services.passwords.hash(PASSWORD))
