"""Home page fixtures: an app on each database with a fixed clock (Monday 23 November 2026,
10:00 in Paris), the two-school world, and a signed-in API client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

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

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Paris


@pytest.fixture
async def app(engine: AsyncEngine, database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    del engine  # empties the tables after the test
    settings = make_settings(
        database_url, files_dir=tmp_path / "files", session_seconds=30 * 24 * 3600
    )
    async with running_app(settings) as running:
        running.services.clock = MONDAY.timestamp
        yield running


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    return await build_world(app.services, await app.services.passwords.hash(PASSWORD))


@pytest.fixture
def queries(app: App) -> QueryCounter:
    return QueryCounter(app.services.engine)


async def bearer(app: App, username: str) -> httpx.AsyncClient:
    client = app.client_for(headers={"accept-language": "en"})
    token = await api_token(client, username)
    client.headers["authorization"] = f"Bearer {token}"
    return client
