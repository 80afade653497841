"""Stored data never breaks a read: extreme but valid values (work due in 2100, lessons
from 2000 to 2100, ids at the top of their range, names of the longest length in several
scripts) are written, then every page and every API read of every profile is fetched and
none may answer a 5xx. The routes come from the application itself, so areas added later
are read too."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import httpx
import sqlalchemy as sa

from preau.adapters.sql.schema import (
    enrolments,
    groups,
    homework,
    parent_links,
    people,
    timetable_lessons,
)
from preau.bootstrap import build_router
from preau.domain.bounds import MAX_ID
from tests.helpers import App, School, api_token

LONG_NAME = ("Zoë-Ἀθηνᾶ 🦊 אבג ﷺ Ñandú " * 10)[:100].strip()
TITLE = ("Devoir ∑ 🦉 très long — محتوى " * 10)[:200].strip()
# Streams and files whose reading is not a page: the live events never end.
NOT_READ = ("/live", "/static", "/janus-gateway")


async def bearer(app: App, username: str) -> httpx.AsyncClient:
    client = app.client_for()
    token = await api_token(client, username)
    client.headers["authorization"] = f"Bearer {token}"
    return client


async def seed_extremes(app: App, school: School) -> dict[str, int]:
    """A pupil and a class with ids at the top of the range, long names in many scripts,
    homework due at the end of 2100, lessons from 2000 to 2100."""
    big_group, big_pupil = MAX_ID - 1, MAX_ID - 2
    async with app.services.engine.begin() as connection:
        row = (
            (
                await connection.execute(
                    sa.select(people).where(people.c.id == school.people["pupil"])
                )
            )
            .mappings()
            .one()
        )
        await connection.execute(
            people.insert().values(
                {**row, "id": big_pupil, "username": "pupil.far", "given_name": LONG_NAME}
            )
        )
        await connection.execute(
            people.update()
            .where(people.c.id == school.people["pupil"])
            .values(given_name=LONG_NAME, family_name=LONG_NAME)
        )
        await connection.execute(
            groups.insert().values(id=big_group, school_id=school.id, kind="class", name=LONG_NAME)
        )
        await connection.execute(
            enrolments.insert(),
            [
                {"school_id": school.id, "group_id": big_group, "person_id": person, "role": role}
                for person, role in (
                    (big_pupil, "pupil"),
                    (school.people["pupil"], "pupil"),
                    (school.people["teacher"], "teacher"),
                )
            ],
        )
        await connection.execute(
            parent_links.insert().values(
                school_id=school.id, parent_id=school.people["parent"], child_id=big_pupil
            )
        )
    teacher = await bearer(app, "teacher.a")
    ids = {"group_id": big_group, "pupil_id": big_pupil, "person_id": big_pupil}
    for group_id in (big_group, school.class_id):
        created = await teacher.post(
            "/api/v1/homework",
            json={
                "group_id": group_id,
                "title": TITLE,
                "instructions": "# " + TITLE + "\n\n" + "ligne 🦊\n" * 2000,
                "instructions_format": "markdown",
                "due_at": "2100-12-31T18:00:00+01:00",
                "cutoff_at": "2100-12-31T23:59:00+01:00",
                "estimated_minutes": 600,
            },
        )
        assert created.status_code == 201, created.text
        ids["homework_id"] = created.json()["id"]
    pupil = await bearer(app, "pupil.a")
    turned = await pupil.post(
        f"/api/v1/homework/{ids['homework_id']}/turn-in", json={"text": TITLE * 20}
    )
    assert turned.status_code == 200, turned.text
    admin = await bearer(app, "admin.a")
    for first, last, weekday in (("2000-01-03", "2000-07-01", 1), ("2100-09-01", "2100-12-31", 5)):
        lesson = await admin.post(
            "/api/v1/timetable/lessons",
            json={
                "group_id": big_group,
                "teacher_id": school.people["teacher"],
                "subject": LONG_NAME,
                "room": LONG_NAME[:50],
                "weekday": weekday,
                "starts": "23:00",
                "ends": "23:59",
                "first_day": first,
                "last_day": last,
            },
        )
        assert lesson.status_code == 201, lesson.text
    conversation = await teacher.post(
        "/api/v1/conversations",
        json={"subject": TITLE, "body": TITLE * 20, "group_ids": [big_group]},
    )
    assert conversation.status_code == 201, conversation.text
    ids["conversation_id"] = conversation.json()["id"]
    announcement = await teacher.post(
        "/api/v1/announcements",
        json={"title": TITLE, "body": TITLE * 20, "group_ids": [big_group]},
    )
    assert announcement.status_code == 201, announcement.text
    ids["announcement_id"] = announcement.json()["id"]
    return ids


def read_paths(app: App, ids: dict[str, int]) -> list[str]:
    """Every GET route of the application, its path parameters filled from ``ids``."""
    paths: set[str] = set()
    for route in build_router(app.services).routes:
        if "GET" not in route.methods or route.path.startswith(NOT_READ):
            continue
        path = re.sub(r"\{(\w+):int\}", lambda match: str(ids.get(match.group(1), 1)), route.path)
        paths.add(re.sub(r"\{\w+:\w+\}", "x", path))
    return sorted(paths)


async def test_extreme_values_break_no_page_and_no_api_of_any_profile(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    ids = await seed_extremes(app, school)
    paths = read_paths(app, ids)
    assert len(paths) > 80
    weeks = ["/timetable?week=2100-W52", "/api/v1/timetable/week?week=2000-W01"]
    for username in ("admin.a", "staff.a", "teacher.a", "pupil.a", "parent.a", "pupil.far"):
        client = await bearer(app, username)
        for path in [*paths, *weeks]:
            response = await client.get(path)
            assert response.status_code < 500, (username, path, response.text[:500])
    pupil = await bearer(app, "pupil.far")
    todo = await pupil.get("/api/v1/todo")
    assert todo.status_code == 200
    assert TITLE in todo.text
    week = await pupil.get("/api/v1/timetable/week?week=2100-W52")
    assert week.status_code == 200
    assert LONG_NAME in week.text


async def test_moments_stored_before_the_bounds_still_read(
    app: App, world: dict[str, School]
) -> None:
    """Work stored due in year 9999 and lessons from year 1 to 9999 (as the API accepted
    before issue 20) may sit in a database: the to-do and the pages around it answer."""
    school = world["a"]
    ids = await seed_extremes(app, school)
    far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    early = datetime(1, 1, 2, 0, 0, tzinfo=UTC)
    async with app.services.engine.begin() as connection:
        await connection.execute(
            homework.update()
            .where(homework.c.id == ids["homework_id"])
            .values(due_at=far, cutoff_at=far)
        )
        await connection.execute(
            homework.update().where(homework.c.id != ids["homework_id"]).values(publish_at=early)
        )
        await connection.execute(
            timetable_lessons.update().values(first_day=date(1, 1, 1), last_day=date(9999, 12, 31))
        )
    paths = [*read_paths(app, ids), "/timetable?week=2100-W52", "/timetable?week=2000-W01"]
    for username in ("teacher.a", "pupil.a", "parent.a", "pupil.far"):
        client = await bearer(app, username)
        for path in paths:
            response = await client.get(path)
            assert response.status_code < 500, (username, path, response.text[:500])
