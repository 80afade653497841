"""Virtual classes against real Janus nodes started with Préau's configuration: rooms
placed ahead of the lesson on the node with most spare capacity, Janus refusing missing,
expired and other-room tokens, the attendance cap, drain, and fail-over."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import sqlalchemy as sa

from preau.actions.virtual.nodes import drain_node
from preau.actions.virtual.placement import place_upcoming, relocate_rooms
from preau.actions.virtual.pool import pool_of
from preau.adapters.sql.schema import enrolments, virtual_rooms
from preau.domain.virtual import VIDEOROOM, core_token, room_token
from tests.helpers import App, School, api_token, enrol_in_class
from tests.virtual.janus_nodes import ADMIN_SECRET, TOKEN_SECRET, JanusProcess

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


def at(hour: int, minute: int) -> float:
    """A moment on Monday 23 November 2026, in Paris time (UTC+1)."""
    return (MONDAY + timedelta(hours=hour - 1, minutes=minute)).timestamp()


async def bearer(app: App, username: str) -> httpx.AsyncClient:
    client = app.client_for()
    client.headers["authorization"] = f"Bearer {await api_token(client, username)}"
    return client


async def virtual_lesson(app: App, school: School) -> int:
    admin = await bearer(app, "admin.a")
    response = await admin.post(
        "/api/v1/timetable/lessons",
        json={
            "group_id": school.class_id,
            "teacher_id": school.people["teacher"],
            "subject": "Maths",
            "weekday": 1,
            "starts": "08:00",
            "ends": "08:55",
            "first_day": "2026-09-01",
            "last_day": "2027-07-04",
            "virtual": True,
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def room_of(app: App, lesson_id: int) -> Any:
    async with app.services.engine.connect() as connection:
        return (
            await connection.execute(
                sa.select(virtual_rooms).where(virtual_rooms.c.lesson_id == lesson_id)
            )
        ).first()


def node_of(nodes: list[JanusProcess], name: str) -> JanusProcess:
    return next(node for node in nodes if node.node.name == name)


async def admin_call(node: JanusProcess, request: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            node.node.admin_url,
            json={"transaction": "t", "admin_secret": ADMIN_SECRET, **request},
        )
    result: dict[str, Any] = response.json()
    return result


class JanusSession:
    """The browser's side of the Janus API, over HTTP, without media."""

    def __init__(self, janus_url: str, token: str | None) -> None:
        self.url = janus_url
        self.token = token
        self.client = httpx.AsyncClient(timeout=10)

    def _with_token(self, body: dict[str, Any]) -> dict[str, Any]:
        body = {"transaction": secrets.token_hex(4), **body}
        if self.token is not None:
            body["token"] = self.token
        return body

    async def create(self) -> dict[str, Any]:
        answer: dict[str, Any] = (
            await self.client.post(self.url, json=self._with_token({"janus": "create"}))
        ).json()
        return answer

    async def join_room(self, janus_room: int, room_token_text: str | None) -> dict[str, Any]:
        session = (await self.create())["data"]["id"]
        handle = (
            await self.client.post(
                f"{self.url}/{session}",
                json=self._with_token({"janus": "attach", "plugin": VIDEOROOM}),
            )
        ).json()["data"]["id"]
        body: dict[str, Any] = {"request": "join", "ptype": "publisher", "room": janus_room}
        if room_token_text is not None:
            body["token"] = room_token_text
        await self.client.post(
            f"{self.url}/{session}/{handle}",
            json=self._with_token({"janus": "message", "body": body}),
        )
        params = {"maxev": "1", **({"token": self.token} if self.token else {})}
        event = (await self.client.get(f"{self.url}/{session}", params=params)).json()
        data: dict[str, Any] = event["plugindata"]["data"]
        return data

    async def close(self) -> None:
        await self.client.aclose()


async def test_the_nodes_run_preau_configuration_with_no_demo_rooms(
    app: App, running_nodes: list[JanusProcess]
) -> None:
    node = running_nodes[0]
    async with httpx.AsyncClient() as client:
        info = (await client.get(node.node.janus_url + "/info")).json()
    assert list(info["plugins"]) == [VIDEOROOM]
    assert list(info["transports"]) == ["janus.transport.http"]
    assert info["server-name"] == "preau-a"
    rooms = await admin_call(
        node, {"janus": "message_plugin", "plugin": VIDEOROOM, "request": {"request": "list"}}
    )
    assert all(room["room"] not in (1234, 5678) for room in rooms["response"]["list"])
    wrong = await admin_call(node, {"janus": "list_sessions", "admin_secret": "janusoverlord"})
    assert wrong["janus"] == "error"
    created = await admin_call(
        node,
        {
            "janus": "message_plugin",
            "plugin": VIDEOROOM,
            "request": {"request": "create", "room": 77, "admin_key": "wrong"},
        },
    )
    assert created["response"]["error_code"] == 433  # only Préau, with the key, creates rooms


async def test_rooms_are_created_ahead_of_the_lesson_and_the_join_button_follows(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    lesson_id = await virtual_lesson(app, world["a"])
    pool = pool_of(app.services)
    await pool.refresh()
    app.services.clock = lambda: at(7, 45)
    assert await place_upcoming(app.services) == []
    assert await room_of(app, lesson_id) is None

    app.services.clock = lambda: at(7, 51)  # 9 minutes before: inside the 10-minute lead
    placed = await place_upcoming(app.services)
    room = await room_of(app, lesson_id)
    assert placed == [room.id]
    assert room.expected == 2  # one pupil and the teacher
    assert await pool.admin.room_exists(pool.by_name[room.node], room.janus_room)
    assert await place_upcoming(app.services) == []  # once only

    pupil = await bearer(app, "pupil.a")
    listed = (await pupil.get("/api/v1/virtual/rooms")).json()
    assert [(item["id"], item["open_now"]) for item in listed] == [(room.id, False)]
    early = await pupil.post(f"/api/v1/virtual/rooms/{room.id}/join")
    assert early.status_code == 409
    assert "5 minutes" in early.json()["detail"] or "5 minutes" in early.text
    teacher = await bearer(app, "teacher.a")
    assert (await teacher.post(f"/api/v1/virtual/rooms/{room.id}/join")).status_code == 200

    app.services.clock = lambda: at(7, 56)
    assert (await pupil.get("/api/v1/virtual/rooms")).json()[0]["open_now"] is True
    grant = await pupil.post(f"/api/v1/virtual/rooms/{room.id}/join")
    assert grant.status_code == 200, grant.text
    assert grant.json()["expires_at"] == "2026-11-23T07:55:00Z"
    for outsider in ("other-pupil.a", "parent.a", "staff.a", "pupil.b", "teacher.b"):
        client = await bearer(app, outsider)
        assert (await client.post(f"/api/v1/virtual/rooms/{room.id}/join")).status_code == 404
        assert (await client.get("/api/v1/virtual/rooms")).json() == []

    app.services.clock = lambda: at(9, 0)
    assert (await pupil.post(f"/api/v1/virtual/rooms/{room.id}/join")).status_code == 409


async def test_janus_refuses_missing_expired_and_other_room_tokens(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    school = world["a"]
    await pool_of(app.services).refresh()
    # Tokens are checked by Janus against the real clock: lessons run from now.
    teacher = await bearer(app, "teacher.a")
    rooms = []
    for group_id in (school.class_id, school.other_class_id):
        async with app.services.engine.begin() as connection:
            await connection.execute(
                enrolments.insert().values(
                    school_id=school.id,
                    group_id=group_id,
                    person_id=school.people["teacher"],
                    role="teacher",
                )
            ) if group_id == school.other_class_id else None
        started = await teacher.post(
            "/api/v1/virtual/rooms", json={"group_id": group_id, "title": "Live", "minutes": 30}
        )
        assert started.status_code == 201, started.text
        rooms.append(started.json())
    pupil = await bearer(app, "pupil.a")
    grant = (await pupil.post(f"/api/v1/virtual/rooms/{rooms[0]['id']}/join")).json()
    assert (await pupil.post(f"/api/v1/virtual/rooms/{rooms[1]['id']}/join")).status_code == 404
    other = (await teacher.post(f"/api/v1/virtual/rooms/{rooms[1]['id']}/join")).json()

    async def join_with(core: str | None, room: str | None) -> dict[str, Any]:
        session = JanusSession(grant["janus_url"], core)
        try:
            if core is None or core.startswith("1,"):
                return await session.create()
            return await session.join_room(grant["janus_room"], room)
        finally:
            await session.close()

    joined = await join_with(grant["core_token"], grant["room_token"])
    assert joined["videoroom"] == "joined"
    assert (await join_with(None, None))["error"]["code"] == 403  # no core token
    past = datetime.now(UTC) - timedelta(minutes=1)
    expired_core = core_token(TOKEN_SECRET, past)
    session = JanusSession(grant["janus_url"], expired_core)
    assert (await session.create())["error"]["code"] == 403
    await session.close()
    assert (await join_with(grant["core_token"], None))["error_code"] == 433  # no room token
    expired_room = room_token(TOKEN_SECRET, past, grant["janus_room"])
    assert (await join_with(grant["core_token"], expired_room))["error_code"] == 433
    # The teacher's token for the other class does not open this room.
    assert other["janus_room"] != grant["janus_room"]
    assert (await join_with(grant["core_token"], other["room_token"]))["error_code"] == 433
    forged = room_token("not-the-secret-0123456789", past + timedelta(hours=1), grant["janus_room"])
    assert (await join_with(grant["core_token"], forged))["error_code"] == 433


async def test_attendance_is_capped_by_counting_tokens(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    school = world["a"]
    await pool_of(app.services).refresh()
    app.services.settings = msgspec.structs.replace(app.services.settings, janus_room_cap=2)
    await enrol_in_class(app.services, school, "other_pupil")
    teacher = await bearer(app, "teacher.a")
    room = (await teacher.post("/api/v1/virtual/rooms", json={"group_id": school.class_id})).json()
    assert (await teacher.post(f"/api/v1/virtual/rooms/{room['id']}/join")).status_code == 200
    first = await bearer(app, "pupil.a")
    assert (await first.post(f"/api/v1/virtual/rooms/{room['id']}/join")).status_code == 200
    second = await bearer(app, "other-pupil.a")
    full = await second.post(f"/api/v1/virtual/rooms/{room['id']}/join")
    assert full.status_code == 409
    assert full.headers["content-type"].startswith("application/problem+json")
    # The seated pupil rejoins (reload, fail-over) without taking a second seat.
    assert (await first.post(f"/api/v1/virtual/rooms/{room['id']}/join")).status_code == 200
    participants = (await teacher.get(f"/api/v1/virtual/rooms/{room['id']}/participants")).json()
    assert sorted(item["role"] for item in participants) == ["pupil", "teacher"]


async def test_placement_spreads_rooms_drain_stops_new_ones_and_fail_over_moves_them(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    school = world["a"]
    pool = pool_of(app.services)
    await pool.refresh()
    teacher = await bearer(app, "teacher.a")

    async def start() -> dict[str, Any]:
        response = await teacher.post("/api/v1/virtual/rooms", json={"group_id": school.class_id})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    first, second = await start(), await start()
    assert {first["node"], second["node"]} == {"a", "b"}  # the emptier node each time

    status = await drain_node(app.services, "a", draining=True)
    assert status.accepting is False
    a = node_of(running_nodes, "a")
    drained = JanusSession(
        a.node.janus_url, core_token(TOKEN_SECRET, datetime.now(UTC) + timedelta(hours=1))
    )
    refused = await drained.create()
    await drained.close()
    assert refused["error"]["code"] == 472  # no new sessions while drained
    assert (await start())["node"] == "b"
    assert (await start())["node"] == "b"
    await drain_node(app.services, "a", draining=False)
    assert (await start())["node"] == "a"

    # The node holding the first room dies: its live rooms move, and a rejoin lands there.
    victim = node_of(running_nodes, first["node"])
    survivor = "b" if first["node"] == "a" else "a"
    victim.kill()
    await pool.refresh()
    assert not pool.healthy(first["node"])
    moved = await relocate_rooms(app.services)
    assert first["id"] in moved
    async with app.services.engine.connect() as connection:
        row = (
            await connection.execute(
                sa.select(virtual_rooms).where(virtual_rooms.c.id == first["id"])
            )
        ).one()
    assert row.node == survivor
    assert await pool.admin.room_exists(pool.by_name[survivor], row.janus_room)
    pupil = await bearer(app, "pupil.a")
    rejoin = (await pupil.post(f"/api/v1/virtual/rooms/{first['id']}/join")).json()
    assert rejoin["node"] == survivor
    session = JanusSession(rejoin["janus_url"], rejoin["core_token"])
    assert (await session.join_room(rejoin["janus_room"], rejoin["room_token"]))[
        "videoroom"
    ] == "joined"
    await session.close()
    victim.start()


async def test_without_janus_the_app_works_and_says_virtual_classes_are_unavailable(
    engine: Any, database_url: str
) -> None:
    from tests.helpers import PASSWORD, build_world, make_settings, running_app

    async with running_app(make_settings(database_url)) as app:
        world = await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        teacher = await bearer(app, "teacher.a")
        started = await teacher.post(
            "/api/v1/virtual/rooms", json={"group_id": world["a"].class_id}
        )
        assert started.status_code == 201
        joined = await teacher.post(f"/api/v1/virtual/rooms/{started.json()['id']}/join")
        assert joined.status_code == 503
        assert (
            "unavailable" in joined.json()["detail"] or "indisponibles" in joined.json()["detail"]
        )
