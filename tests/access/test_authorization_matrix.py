"""The authorization matrix: role × object × action, in one's own school and across schools.

Every cell goes through the HTTP API, so it tests the same path users take. Here: people,
classes and groups, the school directory, lessons, virtual classes (rooms, and starting one
for a group). Per area: homework, hand-ins, files and setting homework for a group in
tests/classwork/test_authorization.py; conversations, announcements, the groups one goes
to and the messaging settings in tests/messages/test_messages_matrix.py; the waiting
room's operators in tests/web/test_gate_wired.py. tests/test_architecture.py checks that
every access function and rule is named in one of them.
"""

from __future__ import annotations

import itertools

import pytest

from tests.helpers import App, School, api_token, login

ROLES = ["admin", "staff", "teacher", "pupil", "other_pupil", "parent"]
USERNAMES = {role: role.replace("_", "-") for role in ROLES}

# Who may READ which person of their own school (by role of the target).
READ_PERSON = {
    "admin": set(ROLES),
    "staff": set(ROLES),
    "teacher": set(ROLES),
    "pupil": {"pupil"},
    "other_pupil": {"other_pupil"},
    "parent": {"parent", "pupil"},  # the parent's own child is "pupil"
}
# Who may READ which class of their own school.
READ_GROUP = {
    "admin": {"class", "other_class"},
    "staff": {"class", "other_class"},
    "teacher": {"class", "other_class"},
    "pupil": {"class"},
    "other_pupil": {"other_class"},
    "parent": {"class"},
}


async def tokens(app: App) -> dict[tuple[str, str], str]:
    return {
        (letter, role): await api_token(app.client, f"{USERNAMES[role]}.{letter}")
        for letter in ("a", "b")
        for role in ROLES
    }


async def test_people_matrix(app: App, world: dict[str, School]) -> None:
    all_tokens = await tokens(app)
    failures: list[str] = []
    for (actor_school, actor_role), (target_school, target_role) in itertools.product(
        [(s, r) for s in "ab" for r in ROLES], repeat=2
    ):
        headers = {"authorization": f"Bearer {all_tokens[(actor_school, actor_role)]}"}
        target_id = world[target_school].people[target_role]
        read = await app.client.get(f"/api/v1/people/{target_id}", headers=headers)
        expected_read = (
            200
            if (actor_school == target_school and target_role in READ_PERSON[actor_role])
            else 404
        )
        if read.status_code != expected_read:
            failures.append(
                f"{actor_role}@{actor_school} read {target_role}@{target_school}: "
                f"{read.status_code} != {expected_read}"
            )
        change = await app.client.patch(
            f"/api/v1/people/{target_id}", json={"email": "changed@example.org"}, headers=headers
        )
        if actor_school != target_school or target_role not in READ_PERSON[actor_role]:
            expected_change = 404
        elif actor_role == "admin":
            expected_change = 200
        else:
            expected_change = 403
        if change.status_code != expected_change:
            failures.append(
                f"{actor_role}@{actor_school} change {target_role}@{target_school}: "
                f"{change.status_code} != {expected_change}"
            )
    assert not failures, "\n".join(failures)


async def test_group_matrix(app: App, world: dict[str, School]) -> None:
    all_tokens = await tokens(app)
    failures: list[str] = []
    for actor_school, actor_role, target_school, group in itertools.product(
        "ab", ROLES, "ab", ["class", "other_class"]
    ):
        headers = {"authorization": f"Bearer {all_tokens[(actor_school, actor_role)]}"}
        group_id = getattr(world[target_school], f"{group}_id")
        visible = actor_school == target_school and group in READ_GROUP[actor_role]
        read = await app.client.get(f"/api/v1/groups/{group_id}", headers=headers)
        if read.status_code != (200 if visible else 404):
            failures.append(
                f"{actor_role}@{actor_school} read {group}@{target_school}: {read.status_code}"
            )
        rename = await app.client.patch(
            f"/api/v1/groups/{group_id}", json={"name": "Renamed"}, headers=headers
        )
        expected = 404 if not visible else (200 if actor_role == "admin" else 403)
        if rename.status_code != expected:
            failures.append(
                f"{actor_role}@{actor_school} rename {group}@{target_school}: "
                f"{rename.status_code} != {expected}"
            )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
async def test_lists_stay_inside_the_school(app: App, world: dict[str, School], role: str) -> None:
    token = await api_token(app.client, f"{USERNAMES[role]}.a")
    headers = {"authorization": f"Bearer {token}"}
    people = await app.client.get("/api/v1/people", headers=headers)
    if role in ("admin", "staff", "teacher"):
        assert people.status_code == 200
        assert {p["school_id"] for p in people.json()["items"]} == {world["a"].id}
        assert people.json()["total"] == len(ROLES)
    else:
        assert people.status_code == 403
    groups = await app.client.get("/api/v1/groups", headers=headers)
    assert groups.status_code == 200
    names = {g["name"] for g in groups.json()["items"]}
    assert names == {f"{g} a" for g in READ_GROUP[role]}


async def test_only_admins_create_and_enrol(app: App, world: dict[str, School]) -> None:
    for role in ROLES:
        token = await api_token(app.client, f"{USERNAMES[role]}.a")
        headers = {"authorization": f"Bearer {token}"}
        created = await app.client.post(
            "/api/v1/people",
            headers=headers,
            json={"given_name": "New", "family_name": role, "profile": "pupil"},
        )
        enrol = await app.client.post(
            f"/api/v1/groups/{world['a'].class_id}/members",
            headers=headers,
            json={"person_id": world["a"].people["other_pupil"]},
        )
        codes = await app.client.post("/api/v1/activation-codes", headers=headers, json={})
        if role == "admin":
            assert (created.status_code, enrol.status_code, codes.status_code) == (201, 204, 201)
        else:
            assert created.status_code == enrol.status_code == 403, role
            # The vie scolaire gives activation codes too (test_activation_code_matrix.py).
            assert codes.status_code == (201 if role == "staff" else 403), role
    # An admin of school A cannot enrol a pupil of school B, even in A's class.
    admin = await api_token(app.client, "admin.a")
    foreign = await app.client.post(
        f"/api/v1/groups/{world['a'].class_id}/members",
        headers={"authorization": f"Bearer {admin}"},
        json={"person_id": world["b"].people["pupil"]},
    )
    assert foreign.status_code == 404


async def headers_by_actor(app: App) -> dict[tuple[str, str], dict[str, str]]:
    return {key: {"authorization": f"Bearer {token}"} for key, token in (await tokens(app)).items()}


# Lessons: the class's, taught by "teacher"; the other class's, with no teacher yet.
LESSON = {
    "subject": "Maths",
    "weekday": 1,
    "starts": "08:00",
    "ends": "08:55",
    "first_day": "2026-09-01",
    "last_day": "2027-07-04",
}
A_MONDAY = "2026-11-30"
# Who may change one occurrence of each lesson of their own school (cancel it, hold it as
# a virtual class), and who sees it but may not; everyone else is told it does not exist.
CHANGE_LESSON = {
    "taught": {"admin", "staff", "teacher"},
    "untaught": {"admin", "staff"},
}
SEES_LESSON = {
    "taught": {"admin", "staff", "teacher", "pupil", "parent"},
    "untaught": {"admin", "staff", "teacher", "other_pupil"},
}


async def test_lesson_matrix(app: App, world: dict[str, School]) -> None:
    headers = await headers_by_actor(app)
    lessons: dict[tuple[str, str], int] = {}
    for letter, school in world.items():
        for name, group_id, teacher_id in (
            ("taught", school.class_id, school.people["teacher"]),
            ("untaught", school.other_class_id, None),
        ):
            created = await app.client.post(
                "/api/v1/timetable/lessons",
                json={**LESSON, "group_id": group_id, "teacher_id": teacher_id},
                headers=headers[(letter, "admin")],
            )
            assert created.status_code == 201, created.text
            lessons[(letter, name)] = created.json()["id"]
    failures: list[str] = []
    for (actor_school, role), ((target_school, name), lesson_id) in itertools.product(
        headers, lessons.items()
    ):
        auth = headers[(actor_school, role)]
        same = actor_school == target_school
        if same and role in CHANGE_LESSON[name]:
            expected = {"cancel": 201, "virtual": 204}
        elif same and role in SEES_LESSON[name]:
            expected = {"cancel": 403, "virtual": 403}
        else:
            expected = {"cancel": 404, "virtual": 404}
        actual = {
            "cancel": (
                await app.client.post(
                    "/api/v1/timetable/changes",
                    json={"lesson_id": lesson_id, "day": A_MONDAY, "kind": "cancelled"},
                    headers=auth,
                )
            ).status_code,
            "virtual": (
                await app.client.post(
                    "/api/v1/timetable/virtual",
                    json={"lesson_id": lesson_id, "day": A_MONDAY, "virtual": True},
                    headers=auth,
                )
            ).status_code,
        }
        if actual != expected:
            failures.append(f"{role}@{actor_school} {name} lesson@{target_school}: {actual}")
    assert not failures, "\n".join(failures)


# Virtual classes (no video server is needed to start, list, read or invite).
# Who enters each school's room, and as what: its host teacher, the class's pupil and the
# invited staff member. The admin, the other class's pupil and the parent do not.
ROOM_ROLES = {"teacher": "teacher", "pupil": "pupil", "staff": "guest"}


async def test_virtual_room_matrix(app: App, world: dict[str, School]) -> None:
    headers = await headers_by_actor(app)
    rooms: dict[str, int] = {}
    for letter, school in world.items():
        started = await app.client.post(
            "/api/v1/virtual/rooms",
            json={"group_id": school.class_id},
            headers=headers[(letter, "teacher")],
        )
        assert started.status_code == 201, started.text
        rooms[letter] = started.json()["id"]
        invited = await app.client.post(
            f"/api/v1/virtual/rooms/{rooms[letter]}/guests",
            json={"person_id": school.people["staff"]},
            headers=headers[(letter, "teacher")],
        )
        assert invited.status_code == 204, invited.text
    failures: list[str] = []
    for (actor_school, role), target_school in itertools.product(headers, "ab"):
        auth = headers[(actor_school, role)]
        room_id = rooms[target_school]
        joins = actor_school == target_school and role in ROOM_ROLES
        read = await app.client.get(f"/api/v1/virtual/rooms/{room_id}", headers=auth)
        if read.status_code != (200 if joins else 404):
            failures.append(f"{role}@{actor_school} read room@{target_school}: {read.status_code}")
        elif joins and read.json()["role"] != ROOM_ROLES[role]:
            failures.append(f"{role}@{actor_school} in room@{target_school}: {read.json()}")
        invite = await app.client.post(
            f"/api/v1/virtual/rooms/{room_id}/guests",
            json={"person_id": world[target_school].people["staff"]},  # invited already
            headers=auth,
        )
        expected = 404 if not joins else (204 if role == "teacher" else 403)
        if invite.status_code != expected:
            failures.append(
                f"{role}@{actor_school} invite to room@{target_school}: "
                f"{invite.status_code} != {expected}"
            )
        listed = await app.client.get("/api/v1/virtual/rooms", headers=auth)
        mine = {room["id"] for room in listed.json()}
        if mine != ({rooms[actor_school]} if role in ROOM_ROLES else set()):
            failures.append(f"{role}@{actor_school} lists rooms {mine}")
    assert not failures, "\n".join(failures)


async def test_starting_a_virtual_class_matrix(app: App, world: dict[str, School]) -> None:
    headers = await headers_by_actor(app)
    failures: list[str] = []
    for (actor_school, role), target_school, group in itertools.product(
        headers, "ab", ["class", "other_class"]
    ):
        group_id = getattr(world[target_school], f"{group}_id")
        started = await app.client.post(
            "/api/v1/virtual/rooms",
            json={"group_id": group_id},
            headers=headers[(actor_school, role)],
        )
        # Only its teacher starts one; other staff are refused; pupils, parents (even of
        # the group) and everyone of another school are not told the group exists.
        if actor_school != target_school or role not in ("admin", "staff", "teacher"):
            expected = 404
        else:
            expected = 201 if (role, group) == ("teacher", "class") else 403
        if started.status_code != expected:
            failures.append(
                f"{role}@{actor_school} start in {group}@{target_school}: "
                f"{started.status_code} != {expected}"
            )
    assert not failures, "\n".join(failures)


async def test_school_directory_matrix(app: App, world: dict[str, School]) -> None:
    """The directory as a whole is its school's administrators' to manage, through the
    pages and the roster import alike (a bad file shows the check was passed)."""
    headers = await headers_by_actor(app)
    failures: list[str] = []
    for (letter, role), auth in headers.items():
        upload = await app.client.post(
            "/api/v1/roster-imports",
            files={"roster": ("roster.zip", b"not a zip", "application/zip")},
            headers=auth,
        )
        browser = app.client_for()
        await login(browser, f"{USERNAMES[role]}.{letter}")
        page = await browser.get("/admin/people")
        await browser.aclose()
        expected = (400, 200) if role == "admin" else (403, 403)
        if (upload.status_code, page.status_code) != expected:
            failures.append(
                f"{role}@{letter} roster import, people page: "
                f"{(upload.status_code, page.status_code)} != {expected}"
            )
    assert not failures, "\n".join(failures)
