"""The authorization matrix of messages: role × object × action × school, through HTTP.

In each school: a conversation started by the teacher with the pupil and the parent, a
second one with a reported message (so the school's staff may moderate it), and an
announcement by the teacher to the class and its parents.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from tests.helpers import App, School
from tests.messages.support import headers_for

ROLES = ["admin", "staff", "teacher", "pupil", "other_pupil", "parent"]
PARTICIPANTS = {"teacher", "pupil", "parent"}
MODERATORS = {"staff", "admin"}


@dataclass
class Objects:
    plain: int
    reported: int
    reported_messages: list[int]  # each reported; hiding one closes only its report
    announcement: int


async def objects_of(app: App, school: School, letter: str) -> Objects:
    teacher = await headers_for(app, f"teacher.{letter}")
    parent = await headers_for(app, f"parent.{letter}")
    recipients = [school.people["pupil"], school.people["parent"]]
    ids = []
    for subject in ("Plain", "Reported"):
        created = await app.client.post(
            "/api/v1/conversations",
            json={"subject": subject, "body": "Bonjour", "person_ids": recipients},
            headers=teacher,
        )
        ids.append(created.json()["id"])
    await app.client.post(
        f"/api/v1/conversations/{ids[1]}/messages", json={"body": "Encore"}, headers=teacher
    )
    thread = (await app.client.get(f"/api/v1/conversations/{ids[1]}", headers=parent)).json()
    message_ids = [message["id"] for message in thread["messages"]]
    for message_id in message_ids:
        reported = await app.client.post(
            f"/api/v1/messages/{message_id}/reports", json={"reason": "test"}, headers=parent
        )
        assert reported.status_code == 204
    announced = await app.client.post(
        "/api/v1/announcements",
        json={
            "title": "Info",
            "body": "Texte",
            "group_ids": [school.class_id],
            "include_parents": True,
        },
        headers=teacher,
    )
    return Objects(
        plain=ids[0],
        reported=ids[1],
        reported_messages=message_ids,
        announcement=announced.json()["id"],
    )


def expected_conversation(role: str, same_school: bool, reported: bool) -> dict[str, int]:
    participant = same_school and role in PARTICIPANTS
    moderator_sees = same_school and role in MODERATORS and reported
    if not (participant or moderator_sees):
        return {"read": 404, "reply": 404, "archive": 404, "hide": 404}
    if participant:
        return {"read": 200, "reply": 201, "archive": 204, "hide": 403}
    return {"read": 200, "reply": 403, "archive": 403, "hide": 204}


def expected_announcement(role: str, same_school: bool) -> dict[str, int]:
    if not same_school or role == "other_pupil":
        return {"read": 404, "mark_read": 404, "receipts": 404}
    if role in ("pupil", "parent"):
        return {"read": 200, "mark_read": 204, "receipts": 403}
    return {"read": 200, "mark_read": 403, "receipts": 200}  # author and staff


async def test_conversation_and_announcement_matrix(app: App, world: dict[str, School]) -> None:
    objects = {letter: await objects_of(app, world[letter], letter) for letter in "ab"}
    headers = {
        (letter, role): await headers_for(app, f"{role.replace('_', '-')}.{letter}")
        for letter in "ab"
        for role in ROLES
    }
    failures: list[str] = []
    for (actor_school, role), target in itertools.product(headers, "ab"):
        auth = headers[(actor_school, role)]
        same = actor_school == target
        found = objects[target]
        for reported, conversation_id in ((False, found.plain), (True, found.reported)):
            expected = expected_conversation(role, same, reported)
            base = f"/api/v1/conversations/{conversation_id}"
            actual = {
                "read": (await app.client.get(base, headers=auth)).status_code,
                "reply": (
                    await app.client.post(f"{base}/messages", json={"body": "ok"}, headers=auth)
                ).status_code,
                "archive": (
                    await app.client.put(f"{base}/archived", json={"archived": False}, headers=auth)
                ).status_code,
            }
            if reported:
                # The admin hides the first message, the staff the second: each report
                # stays open until its own message is hidden.
                message_id = found.reported_messages[1 if role == "staff" else 0]
                actual["hide"] = (
                    await app.client.post(f"/api/v1/messages/{message_id}/hide", headers=auth)
                ).status_code
            else:
                expected.pop("hide")
            if actual != expected:
                failures.append(
                    f"{role}@{actor_school} conversation({'reported' if reported else 'plain'})"
                    f"@{target}: {actual} != {expected}"
                )
        base = f"/api/v1/announcements/{found.announcement}"
        actual = {
            "read": (await app.client.get(base, headers=auth)).status_code,
            "mark_read": (await app.client.post(f"{base}/read", headers=auth)).status_code,
            "receipts": (await app.client.get(f"{base}/receipts", headers=auth)).status_code,
        }
        expected = expected_announcement(role, same)
        if actual != expected:
            failures.append(f"{role}@{actor_school} announcement@{target}: {actual} != {expected}")
    assert not failures, "\n".join(failures)


async def test_lists_stay_inside_the_school(app: App, world: dict[str, School]) -> None:
    for letter in "ab":
        await objects_of(app, world[letter], letter)
    for role in ROLES:
        auth = await headers_for(app, f"{role.replace('_', '-')}.a")
        inbox = (await app.client.get("/api/v1/conversations", headers=auth)).json()
        expected = 2 if role in PARTICIPANTS else 0
        assert inbox["total"] == expected, role
        received = (await app.client.get("/api/v1/announcements", headers=auth)).json()
        assert received["total"] == (1 if role in ("pupil", "parent") else 0), role
        contacts = (await app.client.get("/api/v1/contacts", headers=auth)).json()
        school_b = set(world["b"].people.values())
        assert not {p["id"] for p in contacts["people"] + contacts["classmates"]} & school_b
        assert not {g["id"] for g in contacts["groups"]} & {
            world["b"].class_id,
            world["b"].other_class_id,
        }
    reports = await app.client.get(
        "/api/v1/message-reports", headers=await headers_for(app, "staff.a")
    )
    assert len(reports.json()) == 2


async def test_conversation_groups_matrix(app: App, world: dict[str, School]) -> None:
    """Whose classes one may write to as a whole: teachers, staff and admins any class of
    their school; a class of another school is unknown; pupils and parents none."""
    failures: list[str] = []
    for actor_school, role in itertools.product("ab", ROLES):
        auth = await headers_for(app, f"{role.replace('_', '-')}.{actor_school}")
        for target_school, group in itertools.product("ab", ["class", "other_class"]):
            started = await app.client.post(
                "/api/v1/conversations",
                json={
                    "subject": "Sortie",
                    "body": "Bonjour",
                    "group_ids": [getattr(world[target_school], f"{group}_id")],
                },
                headers=auth,
            )
            if role not in ("teacher", *MODERATORS):
                expected = 403
            else:
                expected = 201 if actor_school == target_school else 400
            if started.status_code != expected:
                failures.append(
                    f"{role}@{actor_school} write to {group}@{target_school}: "
                    f"{started.status_code} != {expected}"
                )
    assert not failures, "\n".join(failures)


async def test_announcement_groups_matrix(app: App, world: dict[str, School]) -> None:
    """Whom an announcement may go to: a teacher the classes they teach, staff and admins
    any class of their school; a class of another school is unknown; pupils and parents
    post none."""
    failures: list[str] = []
    for actor_school, role in itertools.product("ab", ROLES):
        auth = await headers_for(app, f"{role.replace('_', '-')}.{actor_school}")
        for target_school, group in itertools.product("ab", ["class", "other_class"]):
            posted = await app.client.post(
                "/api/v1/announcements",
                json={
                    "title": "Info",
                    "body": "Texte",
                    "group_ids": [getattr(world[target_school], f"{group}_id")],
                },
                headers=auth,
            )
            if role not in ("teacher", *MODERATORS):
                expected = 403
            elif actor_school != target_school:
                expected = 400
            elif role == "teacher" and group != "class":
                expected = 403
            else:
                expected = 201
            if posted.status_code != expected:
                failures.append(
                    f"{role}@{actor_school} announce to {group}@{target_school}: "
                    f"{posted.status_code} != {expected}"
                )
    assert not failures, "\n".join(failures)


async def test_messaging_settings_matrix(app: App, world: dict[str, School]) -> None:
    """Everyone reads their own school's messaging rules; its staff change them, and only
    theirs."""
    for letter in "ab":
        for role in ROLES:
            auth = await headers_for(app, f"{role.replace('_', '-')}.{letter}")
            read = await app.client.get("/api/v1/messaging-settings", headers=auth)
            assert read.status_code == 200, (role, letter)
            changed = await app.client.put(
                "/api/v1/messaging-settings",
                json={"pupils_write_to_class": letter == "b"},
                headers=auth,
            )
            assert changed.status_code == (200 if role in MODERATORS else 403), (role, letter)
    for letter in "ab":
        auth = await headers_for(app, f"pupil.{letter}")
        rules = (await app.client.get("/api/v1/messaging-settings", headers=auth)).json()
        assert rules["pupils_write_to_class"] is (letter == "b"), letter
