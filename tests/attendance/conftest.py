"""Attendance fixtures: an app on each database with files on disk and a clock the test
sets (Monday 23 November 2026, 10:00 in Paris, after the class's 08:00 maths lesson), the
two-school world, and helpers to call the API as someone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import PASSWORD, App, School, api_token, build_world, make_settings, running_app

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Paris
DAY = "2026-11-23"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
LESSON = {
    "subject": "Maths",
    "room": "B12",
    "weekday": 1,
    "starts": "08:00",
    "ends": "08:55",
    "first_day": "2026-09-01",
    "last_day": "2027-07-04",
}


class Clock:
    """Wall time that only moves when the test says so."""

    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY)


@pytest.fixture
async def app(
    engine: AsyncEngine, database_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[App]:
    del engine  # empties the tables after the test
    settings = make_settings(
        database_url, files_dir=tmp_path / "files", session_seconds=30 * 24 * 3600
    )
    async with running_app(settings) as running:
        running.services.clock = clock
        yield running


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    return await build_world(app.services, await app.services.passwords.hash(PASSWORD))


async def bearer(app: App, username: str) -> httpx.AsyncClient:
    client = app.client_for()
    token = await api_token(client, username)
    client.headers["authorization"] = f"Bearer {token}"
    return client


async def add_lesson(
    app: App, school: School, admin: str = "admin.a", **extra: Any
) -> dict[str, Any]:
    client = await bearer(app, admin)
    body = {**LESSON, "group_id": school.class_id, "teacher_id": school.people["teacher"], **extra}
    response = await client.post("/api/v1/timetable/lessons", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def roll_path(lesson: dict[str, Any], day: str = DAY) -> str:
    return f"/api/v1/attendance/lessons/{lesson['id']}/{day}"
