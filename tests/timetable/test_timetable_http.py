"""The timetable through HTTP on SQLite and PostgreSQL: who writes lessons and changes,
who reads which week, and the secret iCalendar feed (parsed back, revocable)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import icalendar
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import (
    PASSWORD,
    App,
    QueryCounter,
    School,
    api_token,
    build_world,
    csrf_from,
    login,
    make_settings,
    running_app,
)
from tests.timetable.conftest import MONDAY

LESSON = {
    "subject": "Maths",
    "room": "B12",
    "weekday": 1,
    "starts": "08:00",
    "ends": "08:55",
    "first_day": "2026-09-01",
    "last_day": "2027-07-04",
}


async def bearer(app: App, username: str) -> httpx.AsyncClient:
    client = app.client_for()
    token = await api_token(client, username)
    client.headers["authorization"] = f"Bearer {token}"
    return client


async def add_lesson(app: App, school: School, **extra: Any) -> dict[str, Any]:
    admin = await bearer(app, "admin.a")
    body = {**LESSON, "group_id": school.class_id, "teacher_id": school.people["teacher"], **extra}
    response = await admin.post("/api/v1/timetable/lessons", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_admins_write_lessons_and_everyone_concerned_reads_the_week(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    lesson = await add_lesson(app, school)
    assert lesson["teacher_name"] == "Teacher SchoolA"

    teacher = await bearer(app, "teacher.a")
    refused = await teacher.post(
        "/api/v1/timetable/lessons", json={**LESSON, "group_id": school.class_id}
    )
    assert refused.status_code == 403

    for username in ("pupil.a", "teacher.a"):
        client = await bearer(app, username)
        week = (await client.get("/api/v1/timetable/week?week=2026-W48")).json()
        assert [item["subject"] for item in week["occurrences"]] == ["Maths"], username
        assert week["occurrences"][0]["starts_at"] == "2026-11-23T08:00:00+01:00"
    other_pupil = await bearer(app, "other-pupil.a")
    week = (await other_pupil.get("/api/v1/timetable/week?week=2026-W48")).json()
    assert week["occurrences"] == []

    parent = await bearer(app, "parent.a")
    child_week = await parent.get(
        f"/api/v1/timetable/week?week=2026-W48&person_id={school.people['pupil']}"
    )
    assert [item["subject"] for item in child_week.json()["occurrences"]] == ["Maths"]
    not_child = await parent.get(f"/api/v1/timetable/week?person_id={school.people['other_pupil']}")
    assert not_child.status_code == 404
    other_school = await bearer(app, "pupil.b")
    assert (
        await other_school.get(f"/api/v1/timetable/week?group_id={school.class_id}")
    ).status_code == 404
    bad = await other_school.get("/api/v1/timetable/week?week=next")
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_the_teacher_changes_one_lesson_and_others_cannot(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    lesson = await add_lesson(app, school)
    change = {"lesson_id": lesson["id"], "day": "2026-11-30", "kind": "cancelled", "note": "Sortie"}
    pupil = await bearer(app, "pupil.a")
    assert (await pupil.post("/api/v1/timetable/changes", json=change)).status_code == 403
    stranger = await bearer(app, "teacher.b")
    assert (await stranger.post("/api/v1/timetable/changes", json=change)).status_code == 404
    teacher = await bearer(app, "teacher.a")
    wrong_day = await teacher.post(
        "/api/v1/timetable/changes", json={**change, "day": "2026-12-01"}
    )
    assert wrong_day.status_code == 400
    done = await teacher.post("/api/v1/timetable/changes", json=change)
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "cancelled"

    moved = await teacher.post(
        "/api/v1/timetable/changes",
        json={
            "lesson_id": lesson["id"],
            "day": "2026-12-07",
            "kind": "moved",
            "new_day": "2026-12-09",
            "new_starts": "10:00",
            "new_ends": "11:00",
        },
    )
    assert moved.json()["starts_at"] == "2026-12-09T10:00:00+01:00"
    admin = await bearer(app, "admin.a")
    holiday = await admin.post(
        "/api/v1/timetable/holidays",
        json={"name": "Noël", "first_day": "2026-12-19", "last_day": "2027-01-03"},
    )
    assert holiday.status_code == 201
    week = (await pupil.get("/api/v1/timetable/week?week=2026-W52")).json()
    assert week["holidays"] == ["Noël"]
    assert week["occurrences"] == []


async def test_the_week_page_for_pupil_parent_and_teacher(
    app: App, world: dict[str, School]
) -> None:
    await add_lesson(app, world["a"])
    for username, path in (
        ("pupil.a", "/timetable?week=2026-W48"),
        ("parent.a", f"/timetable?week=2026-W48&child={world['a'].people['pupil']}"),
        ("teacher.a", "/timetable"),
    ):
        client = app.client_for()
        await login(client, username)
        page = await client.get(path)
        assert page.status_code == 200, username
        assert "Maths" in page.text, username
        assert "B12" in page.text


async def test_the_calendar_feed_parses_back_and_a_revoked_address_is_404(
    app: App, world: dict[str, School]
) -> None:
    lesson = await add_lesson(app, world["a"])
    teacher = await bearer(app, "teacher.a")
    await teacher.post(
        "/api/v1/timetable/changes",
        json={"lesson_id": lesson["id"], "day": "2026-11-30", "kind": "cancelled"},
    )
    pupil = await bearer(app, "pupil.a")
    url = (await pupil.post("/api/v1/timetable/feed")).json()["url"]
    path = url.removeprefix(app.services.settings.base_url)
    anonymous = app.client_for()
    first = await anonymous.get(path)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(first.content)
    events = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    assert len(events) == 20  # four weeks back, sixteen ahead, one lesson a week
    assert str(events["lesson-1-20261130@preau"]["STATUS"]) == "CANCELLED"
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    again = icalendar.Calendar.from_ical((await anonymous.get(path)).content)
    assert {str(event["UID"]) for event in again.walk("VEVENT")} == set(events)

    new_url = (await pupil.post("/api/v1/timetable/feed")).json()["url"]
    assert (await anonymous.get(path)).status_code == 404
    new_path = new_url.removeprefix(app.services.settings.base_url)
    assert (await anonymous.get(new_path)).status_code == 200
    assert (await pupil.delete("/api/v1/timetable/feed")).status_code == 204
    assert (await anonymous.get(new_path)).status_code == 404
    unknown = await anonymous.get("/calendar/not-a-real-secret-at-all-0123456.ics")
    assert unknown.status_code == 404


async def test_the_calendar_page_makes_and_stops_an_address(
    app: App, world: dict[str, School]
) -> None:
    client = app.client_for()
    await login(client, "pupil.a")
    page = await client.get("/timetable/calendar")
    made = await client.post("/timetable/calendar", data={"csrf_token": csrf_from(page.text)})
    assert made.status_code == 200
    assert "/calendar/" in made.text
    forged = await client.post("/timetable/calendar/revoke", data={"csrf_token": "nope"})
    assert forged.status_code == 403
    stopped = await client.post(
        "/timetable/calendar/revoke", data={"csrf_token": csrf_from(made.text)}
    )
    assert stopped.status_code in (302, 303)


async def test_ones_own_week_is_kept_warm_and_every_timetable_write_refreshes_it(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    pupil = await bearer(app, "pupil.a")
    empty = await pupil.get("/api/v1/timetable/week")
    assert empty.status_code == 200
    assert empty.json()["occurrences"] == []
    etag = empty.headers["etag"]
    again = await pupil.get("/api/v1/timetable/week", headers={"if-none-match": etag})
    assert again.status_code == 304
    counter = QueryCounter(app.services.engine)
    with counter.counting() as warm:
        assert (await pupil.get("/api/v1/timetable/week")).content == empty.content
    assert warm == []

    lesson = await add_lesson(app, school)
    week = await pupil.get("/api/v1/timetable/week", headers={"if-none-match": etag})
    assert week.status_code == 200
    assert [item["subject"] for item in week.json()["occurrences"]] == ["Maths"]

    teacher = await bearer(app, "teacher.a")
    change = {"lesson_id": lesson["id"], "day": "2026-11-23", "kind": "cancelled"}
    assert (await teacher.post("/api/v1/timetable/changes", json=change)).status_code == 201
    week = await pupil.get("/api/v1/timetable/week")
    assert [item["status"] for item in week.json()["occurrences"]] == ["cancelled"]

    admin = await bearer(app, "admin.a")
    holiday = {"name": "Pont", "first_day": "2026-11-23", "last_day": "2026-11-29"}
    assert (await admin.post("/api/v1/timetable/holidays", json=holiday)).status_code == 201
    week = await pupil.get("/api/v1/timetable/week")
    assert week.json()["holidays"] == ["Pont"]
    assert week.json()["occurrences"] == []

    browser = app.client_for()
    await login(browser, "pupil.a")
    page = await browser.get("/timetable")
    assert page.status_code == 200
    assert "Pont" in page.text
    assert "@@" not in page.text  # the reader's own form token, not the cache's placeholder
    assert (
        await browser.get("/timetable", headers={"if-none-match": page.headers["etag"]})
    ).status_code == 304


async def test_another_process_hears_a_timetable_write(
    engine: AsyncEngine, database_url: str, redis_url: str, redis_prefix: str
) -> None:
    """Two app instances on one database and one Redis: a holiday added through the first
    reaches the week the second keeps warm, through pub/sub after the commit."""
    settings = make_settings(database_url, redis_url=redis_url, redis_prefix=redis_prefix)
    async with running_app(settings) as first, running_app(settings) as second:
        for running in (first, second):
            running.services.clock = MONDAY.timestamp
        await build_world(first.services, await first.services.passwords.hash(PASSWORD))
        pupil_there = await bearer(second, "pupil.a")
        assert (await pupil_there.get("/api/v1/timetable/week")).json()["holidays"] == []
        admin = await bearer(first, "admin.a")
        holiday = {"name": "Pont", "first_day": "2026-11-23", "last_day": "2026-11-29"}
        assert (await admin.post("/api/v1/timetable/holidays", json=holiday)).status_code == 201
        for _ in range(200):  # the message crosses Redis; wait for it, not for a timer
            if (await pupil_there.get("/api/v1/timetable/week")).json()["holidays"] == ["Pont"]:
                break
            await asyncio.sleep(0.01)
        assert (await pupil_there.get("/api/v1/timetable/week")).json()["holidays"] == ["Pont"]
