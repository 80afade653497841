"""Offline fixtures: an app on a real database with files on disk (hand-ins carry files),
the two-school world."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import PASSWORD, App, School, build_world, make_settings, running_app


@pytest.fixture
async def app(engine: AsyncEngine, database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    async with running_app(make_settings(database_url, files_dir=tmp_path / "files")) as running:
        yield running


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    return await build_world(app.services, await app.services.passwords.hash(PASSWORD))
