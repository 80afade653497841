"""Hands and the floor in a virtual class through HTTP: a pupil raises a hand, the teacher
sees it among the participants and gives the floor (which lowers the hand), then takes it
back; only the teacher gives the floor or lists who is there."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import App, School
from tests.virtual.janus_nodes import JanusProcess
from tests.virtual.test_virtual_janus import bearer


async def test_a_raised_hand_is_seen_and_the_teacher_gives_and_takes_the_floor(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    school = world["a"]
    teacher = await bearer(app, "teacher.a")
    pupil = await bearer(app, "pupil.a")
    started = await teacher.post(
        "/api/v1/virtual/rooms", json={"group_id": school.class_id, "minutes": 30}
    )
    assert started.status_code == 201, started.text
    room = f"/api/v1/virtual/rooms/{started.json()['id']}"
    for client in (teacher, pupil):  # each takes a seat
        assert (await client.post(f"{room}/join")).status_code == 200

    async def floor(client: httpx.AsyncClient) -> tuple[bool, bool]:
        state = (await client.get(f"{room}/floor")).json()
        return state["hand_raised"], state["may_speak"]

    async def seen() -> dict[str, tuple[bool, bool]]:
        listed: list[dict[str, Any]] = (await teacher.get(f"{room}/participants")).json()
        return {item["role"]: (item["hand_raised"], item["may_speak"]) for item in listed}

    assert await floor(pupil) == (False, False)
    assert await floor(teacher) == (False, True)  # the teacher may always speak
    raised = await pupil.post(f"{room}/hand", json={"raised": True})
    assert raised.json() == {"hand_raised": True, "may_speak": False}
    assert await seen() == {"teacher": (False, True), "pupil": (True, False)}

    pupil_id = school.people["pupil"]
    refused = await pupil.post(f"{room}/floor", json={"person_id": pupil_id, "allowed": True})
    assert refused.status_code == 403
    assert (await pupil.get(f"{room}/participants")).status_code == 403
    given = await teacher.post(f"{room}/floor", json={"person_id": pupil_id, "allowed": True})
    assert given.status_code == 204
    assert await floor(pupil) == (False, True)  # giving the floor lowers the hand
    assert await seen() == {"teacher": (False, True), "pupil": (False, True)}
    await teacher.post(f"{room}/floor", json={"person_id": pupil_id, "allowed": False})
    assert await floor(pupil) == (False, False)
    assert await seen() == {"teacher": (False, True), "pupil": (False, False)}
