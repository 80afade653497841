"""Marks fixtures: an app on each database, the two-school world with trimesters, a fixed
clock (Monday 23 November 2026, 07:00 in Paris: in the first trimester), and helpers to
call the API as someone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.adapters.sql.schema import school_years
from tests.helpers import PASSWORD, App, School, api_token, build_world, make_settings, running_app

MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 07:00 in Paris
TRIMESTERS = [
    {"name": "Trimestre 1", "starts_on": "2026-09-01", "ends_on": "2026-11-30"},
    {"name": "Trimestre 2", "starts_on": "2026-12-01", "ends_on": "2027-03-06"},
    {"name": "Trimestre 3", "starts_on": "2027-03-07", "ends_on": "2027-07-04"},
]


@pytest.fixture
async def app(engine: AsyncEngine, database_url: str) -> AsyncIterator[App]:
    async with running_app(make_settings(database_url)) as running:
        running.services.clock = MONDAY.timestamp
        yield running


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    return await build_world(app.services, await app.services.passwords.hash(PASSWORD))


async def bearer(app: App, username: str) -> httpx.AsyncClient:
    client = app.client_for()
    token = await api_token(client, username)
    client.headers["authorization"] = f"Bearer {token}"
    return client


async def year_id(app: App, school: School) -> int:
    async with app.services.engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    sa.select(school_years.c.id).where(school_years.c.school_id == school.id)
                )
            ).scalar_one()
        )


async def with_trimesters(app: App, school: School, username: str = "admin.a") -> list[Any]:
    admin = await bearer(app, username)
    response = await admin.put(
        "/api/v1/marks/terms",
        json={
            "school_year_id": await year_id(app, school),
            "term_kind": "trimester",
            "terms": TRIMESTERS,
        },
    )
    assert response.status_code == 200, response.text
    terms: list[Any] = response.json()
    return terms


async def evaluation(
    app: App, school: School, username: str = "teacher.a", **extra: Any
) -> dict[str, Any]:
    teacher = await bearer(app, username)
    body = {
        "group_id": school.class_id,
        "subject": "Maths",
        "title": "Fractions",
        "day": "2026-11-20",
        "out_of": 20,
        "coefficient": 1,
        **extra,
    }
    response = await teacher.post("/api/v1/marks/evaluations", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
