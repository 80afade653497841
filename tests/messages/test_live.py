"""Live updates: the SSE stream, quiet hours, ETag polling, the warm inbox that costs no
query, and the fan-out across two app instances on one Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import PASSWORD, App, School, api_token, build_world, make_settings, running_app
from tests.messages.support import headers_for, open_live

# 2021-04-06 was a Tuesday; 2021-04-11 a Sunday (Paris is UTC+2 in April).
TUESDAY_NOON = datetime(2021, 4, 6, 10, 0, tzinfo=UTC).timestamp()
TUESDAY_NIGHT = datetime(2021, 4, 6, 19, 30, tzinfo=UTC).timestamp()  # 21:30 in Paris
SUNDAY_NOON = datetime(2021, 4, 11, 10, 0, tzinfo=UTC).timestamp()


async def test_the_stream_tells_each_change(app: App, world: dict[str, School]) -> None:
    school = world["a"]
    pupil_token = await api_token(app.client, "pupil.a")
    teacher = await headers_for(app, "teacher.a")
    app.services.clock = lambda: TUESDAY_NOON
    async with open_live(app, pupil_token) as live:
        assert live.status == 200
        assert live.headers["content-type"].startswith("text/event-stream")
        assert await live.next_event() == {
            "kind": "hello",
            "messages": 0,
            "announcements": 0,
            "notify": False,
            "title": "",
        }
        posted = await app.client.post(
            "/api/v1/announcements",
            json={"title": "Sortie", "body": "Demain", "group_ids": [school.class_id]},
            headers=teacher,
        )
        assert posted.status_code == 201
        event = await live.next_event()
        assert event == {
            "kind": "announcement",
            "messages": 0,
            "announcements": 1,
            "notify": True,
            "title": "Sortie",
        }
        await app.client.post(
            "/api/v1/conversations",
            json={"subject": "Devoir", "body": "Page 3", "person_ids": [school.people["pupil"]]},
            headers=teacher,
        )
        event = await live.next_event()
        assert (event["kind"], event["messages"], event["announcements"]) == ("message", 1, 1)
        assert app.services.live.connection_count == 1
    assert app.services.live.connection_count == 0  # the disconnect released it


async def test_quiet_hours_update_counts_without_alerting(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    pupil_token = await api_token(app.client, "pupil.a")
    teacher = await headers_for(app, "teacher.a")
    async with open_live(app, pupil_token) as live:
        await live.next_event()
        for moment, alert in ((SUNDAY_NOON, False), (TUESDAY_NIGHT, False), (TUESDAY_NOON, True)):
            app.services.clock = lambda moment=moment: moment  # type: ignore[misc]  # mypy cannot type a default-bound lambda
            await app.client.post(
                "/api/v1/conversations",
                json={"subject": "s", "body": "b", "person_ids": [school.people["pupil"]]},
                headers=teacher,
            )
            event = await live.next_event()
            assert event["notify"] is alert, moment
        assert event["messages"] == 3


async def test_a_stream_needs_a_session(app: App, world: dict[str, School]) -> None:
    async with open_live(app, None) as live:
        assert live.status == 401


async def test_polling_answers_304_until_something_changes(
    app: App, world: dict[str, School]
) -> None:
    pupil = await headers_for(app, "pupil.a")
    teacher = await headers_for(app, "teacher.a")
    first = await app.client.get("/api/v1/unread", headers=pupil)
    etag = first.headers["etag"]
    same = await app.client.get("/api/v1/unread", headers={**pupil, "if-none-match": etag})
    assert same.status_code == 304
    assert same.content == b""
    await app.client.post(
        "/api/v1/conversations",
        json={"subject": "s", "body": "b", "person_ids": [world["a"].people["pupil"]]},
        headers=teacher,
    )
    changed = await app.client.get("/api/v1/unread", headers={**pupil, "if-none-match": etag})
    assert changed.status_code == 200
    assert changed.json() == {"messages": 1, "announcements": 0}


async def test_a_warm_inbox_costs_no_query(app: App, world: dict[str, School]) -> None:
    pupil = await headers_for(app, "pupil.a")
    teacher = await headers_for(app, "teacher.a")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(app.services.engine.sync_engine, "before_cursor_execute", count)
    try:
        cold = await app.client.get("/api/v1/conversations", headers=pupil)
        assert cold.status_code == 200
        assert statements
        statements.clear()
        warm = await app.client.get("/api/v1/conversations", headers=pupil)
        assert warm.content == cold.content
        assert statements == []
        revalidated = await app.client.get(
            "/api/v1/conversations", headers={**pupil, "if-none-match": warm.headers["etag"]}
        )
        assert revalidated.status_code == 304
        await app.client.post(
            "/api/v1/conversations",
            json={"subject": "Nouveau", "body": "b", "person_ids": [world["a"].people["pupil"]]},
            headers=teacher,
        )
        fresh = await app.client.get("/api/v1/conversations", headers=pupil)
        assert [item["subject"] for item in fresh.json()["items"]] == ["Nouveau"]
    finally:
        sa.event.remove(app.services.engine.sync_engine, "before_cursor_execute", count)


async def test_two_processes_share_events_through_redis(
    engine: AsyncEngine, database_url: str, redis_url: str, redis_prefix: str
) -> None:
    settings = make_settings(database_url, redis_url=redis_url, redis_prefix=redis_prefix)
    async with running_app(settings) as first, running_app(settings) as second:
        world = await build_world(first.services, await first.services.passwords.hash(PASSWORD))
        pupil_token = await api_token(second.client, "pupil.a")
        pupil = {"authorization": f"Bearer {pupil_token}"}
        teacher = await headers_for(first, "teacher.a")
        # The second process caches the pupil's empty inbox.
        assert (await second.client.get("/api/v1/conversations", headers=pupil)).json()[
            "total"
        ] == 0
        async with open_live(second, pupil_token) as live:
            await live.next_event()
            sent = await first.client.post(
                "/api/v1/conversations",
                json={"subject": "s", "body": "b", "person_ids": [world["a"].people["pupil"]]},
                headers=teacher,
            )
            assert sent.status_code == 201
            event = await live.next_event()
            assert (event["kind"], event["messages"]) == ("message", 1)
        # The event also dropped the second process's cached inbox.
        assert (await second.client.get("/api/v1/conversations", headers=pupil)).json()[
            "total"
        ] == 1
