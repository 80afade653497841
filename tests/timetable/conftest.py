"""Timetable fixtures: an app on each database, the two-school world and a fixed clock
(Monday 23 November 2026, 07:00 in Paris)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import PASSWORD, App, School, build_world, make_settings, running_app

MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 07:00 in Paris


@pytest.fixture
async def app(engine: AsyncEngine, database_url: str) -> AsyncIterator[App]:
    async with running_app(make_settings(database_url)) as running:
        running.services.clock = MONDAY.timestamp
        yield running


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    return await build_world(app.services, await app.services.passwords.hash(PASSWORD))
