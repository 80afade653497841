"""Shared fixtures: real databases (SQLite and PostgreSQL), real Redis, per-worker names.

A missing PostgreSQL or Redis is a skip locally; with ``PREAU_TEST_REQUIRE_SERVICES=1``
(set by ``.ci/run``) it is a failure, so CI never passes by skipping.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import hypothesis
import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.adapters.memory.shared_state import MemorySharedState
from preau.adapters.redis.shared_state import RedisSharedState
from preau.adapters.sql.engine import make_engine, migrate
from preau.ports import SharedState
from tests.helpers import PASSWORD, App, School, build_world, make_settings, running_app

# Properties are checked for what they find, never for how fast: a run beside the browser
# tests and the servers on two cores would otherwise fail on Hypothesis's deadline.
hypothesis.settings.register_profile("preau", deadline=None)
hypothesis.settings.load_profile("preau")

POSTGRES_ADMIN_DSN = os.environ.get(
    "PREAU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("PREAU_TEST_REDIS", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("PREAU_TEST_REQUIRE_SERVICES", "") == "1"


def missing_service(reason: str) -> None:
    """Skip locally, fail in CI: a test that needs a real service must never pass silently."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PREAU_TEST_REQUIRE_SERVICES=1 turns this skip into a failure)")
    pytest.skip(reason)


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


# Databases are named after the checkout too, so two checkouts (git worktrees) can run
# their suites at the same time on one PostgreSQL without dropping each other's.
CHECKOUT = hashlib.blake2s(str(Path(__file__).resolve().parent).encode(), digest_size=3).hexdigest()


async def _recreate_postgres_database(name: str) -> str:
    try:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as error:
        missing_service(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}: {error}")
        raise
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("preau")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_root: Path) -> str:
    """A migrated, empty database URL for each engine, created once per test session."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_root / f'test-{uuid.uuid4().hex}.sqlite3'}"
    else:
        url = await _recreate_postgres_database(f"preau_test_{CHECKOUT}_{worker_id()}")
    engine = make_engine(url)
    await migrate(engine)
    await engine.dispose()
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated database whose tables are emptied after each test."""
    engine = make_engine(database_url)
    yield engine
    await truncate_all(engine)
    await engine.dispose()


async def truncate_all(engine: AsyncEngine) -> None:
    from preau.adapters.sql.schema import metadata

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
            await connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                await connection.execute(table.delete())


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        missing_service(f"Redis is not reachable at {REDIS_URL}: {error}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix unique to this test; its keys are deleted afterwards."""
    prefix = f"preau-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()


@pytest.fixture(params=["memory", "redis"])
async def shared_state(request: pytest.FixtureRequest) -> AsyncIterator[SharedState]:
    state: SharedState
    if request.param == "memory":
        state = MemorySharedState()
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        state = RedisSharedState(url, prefix=prefix)
    yield state
    await state.close()


@pytest.fixture
async def app(engine: AsyncEngine, database_url: str) -> AsyncIterator[App]:
    """Préau on each database, as bootstrap builds it (areas that need a fixed clock or files
    on disk override this in their own conftest)."""
    # `engine` empties the tables after the test.
    async with running_app(make_settings(database_url)) as running:
        yield running


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    """Two schools with every profile in each (tests/helpers.py, build_world)."""
    return await build_world(app.services, await app.services.passwords.hash(PASSWORD))
