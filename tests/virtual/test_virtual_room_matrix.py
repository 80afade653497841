"""Who may read and delete a virtual class's chat messages and see, answer and reveal its
polls: every role of each school against each school's room (role × object × action).

In each school the teacher starts a class for their class, staff are invited (a guest),
the class's pupil joins; the pupil writes a public and a private message, the teacher
asks a poll. Then every person of both schools tries everything."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import App, School
from tests.virtual.janus_nodes import JanusProcess
from tests.virtual.test_virtual_janus import bearer

# The teacher last: they delete the private message the others try to delete.
ROLES = ["admin", "staff", "pupil", "other_pupil", "parent", "teacher"]


async def _prepare(app: App, school: School, letter: str) -> dict[str, Any]:
    teacher = await bearer(app, f"teacher.{letter}")
    pupil = await bearer(app, f"pupil.{letter}")
    staff = await bearer(app, f"staff.{letter}")
    started = await teacher.post(
        "/api/v1/virtual/rooms", json={"group_id": school.class_id, "minutes": 30}
    )
    room = f"/api/v1/virtual/rooms/{started.json()['id']}"
    invited = await teacher.post(f"{room}/guests", json={"person_id": school.people["staff"]})
    assert invited.status_code == 204
    for client in (teacher, pupil, staff):
        assert (await client.post(f"{room}/join")).status_code == 200
    public = (await pupil.post(f"{room}/chat", json={"body": "public"})).json()["id"]
    private = (
        await pupil.post(f"{room}/chat", json={"body": "private", "to_teacher": True})
    ).json()["id"]
    poll = (
        await teacher.post(f"{room}/polls", json={"question": "Q ?", "choices": ["a", "b"]})
    ).json()["id"]
    return {"room": room, "public": public, "private": private, "poll": poll}


async def _try(
    client: httpx.AsyncClient, facts: dict[str, Any], role: str, here: bool
) -> list[str]:
    """Everything one person tries on one room; what went otherwise than expected."""
    room = facts["room"]
    failures: list[str] = []
    listed = await client.get(f"{room}/chat")
    if not here:
        if listed.status_code != 404:
            failures.append(f"reads the chat: {listed.status_code}")
    else:
        bodies = {item["body"] for item in listed.json()}
        expected = {"public", "private"} if role in {"teacher", "pupil"} else {"public"}
        if bodies != expected:
            failures.append(f"reads {bodies}")
    tries = [
        (
            "deletes a private message",
            await client.delete(f"{room}/chat/{facts['private']}"),
            404 if not here or role == "staff" else (403 if role == "pupil" else 204),
        ),
        ("sees the poll", await client.get(f"{room}/poll"), 200 if here else 404),
        (
            "answers the poll",
            await client.post(f"{room}/polls/{facts['poll']}/answer", json={"choice": 0}),
            404 if not here else (200 if role == "pupil" else 403),
        ),
        (
            "reveals the results",
            await client.post(f"{room}/polls/{facts['poll']}/results", json={"shown": False}),
            404 if not here else (200 if role == "teacher" else 403),
        ),
    ]
    failures += [
        f"{what}: {got.status_code}" for what, got, wanted in tries if got.status_code != wanted
    ]
    return failures


async def test_room_tools_matrix(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    rooms = {letter: await _prepare(app, world[letter], letter) for letter in ("a", "b")}
    failures: list[str] = []
    for actor_school in ("a", "b"):
        for role in ROLES:
            client = await bearer(app, f"{role.replace('_', '-')}.{actor_school}")
            for target, facts in rooms.items():
                here = actor_school == target and role in {"teacher", "pupil", "staff"}
                failures += [
                    f"{role}@{actor_school} → room@{target} {failure}"
                    for failure in await _try(client, facts, role, here)
                ]
    assert not failures, failures
