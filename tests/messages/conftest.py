"""Fixtures for message tests: an app on each database and the two-school world."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import PASSWORD, App, School, build_world, make_settings, running_app


@pytest.fixture
async def app(engine: AsyncEngine, database_url: str) -> AsyncIterator[App]:
    # `engine` empties the tables after the test.
    async with running_app(make_settings(database_url)) as running:
        yield running


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    return await build_world(app.services, await app.services.passwords.hash(PASSWORD))
