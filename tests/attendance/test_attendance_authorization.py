"""The attendance rows of the authorization matrix: role × object × action, in one's own
school and across schools, through the HTTP API (as tests/access/test_authorization_matrix.py).

In each school the teacher teaches "class" (where "pupil" is, the parent's child) and not
"other_class" (where "other_pupil" is)."""

from __future__ import annotations

import itertools
from typing import Any

from tests.attendance.conftest import DAY, PDF, add_lesson, bearer
from tests.helpers import App, School, api_token

ROLES = ["admin", "staff", "teacher", "pupil", "other_pupil", "parent"]
USERNAMES = {role: role.replace("_", "-") for role in ROLES}

# Expected status of each role on objects of its own school; every object of the other
# school is 404 to everyone.
ROLL_CALL = {  # read and take
    "class": {
        "admin": 200, "staff": 200, "teacher": 200, "pupil": 403, "other_pupil": 404,
        "parent": 403,
    },
    "other_class": {
        "admin": 200, "staff": 200, "teacher": 403, "pupil": 404, "other_pupil": 403,
        "parent": 404,
    },
}  # fmt: skip
CLASS_VIEW = ROLL_CALL
READ_PUPIL = {
    "pupil": {
        "admin": 200, "staff": 200, "teacher": 200, "pupil": 200, "other_pupil": 404,
        "parent": 200,
    },
    "other_pupil": {
        "admin": 200, "staff": 200, "teacher": 403, "pupil": 404, "other_pupil": 200,
        "parent": 404,
    },
}  # fmt: skip
RECORD = {  # a period, for "pupil"
    "admin": 201, "staff": 201, "teacher": 403, "pupil": 403, "other_pupil": 404, "parent": 403,
}  # fmt: skip
JUSTIFY = {  # an absence of "pupil"; the parent comes last, once the others were refused
    "admin": 403, "staff": 403, "teacher": 403, "pupil": 403, "other_pupil": 404, "parent": 200,
}  # fmt: skip
ANSWER = {  # a justification waiting, one for each of admin and staff
    "admin": 200, "staff": 200, "teacher": 403, "pupil": 403, "other_pupil": 404, "parent": 403,
}  # fmt: skip
DOCUMENT = READ_PUPIL["pupil"]
OFFICE = {"admin": 200, "staff": 200, "teacher": 403, "pupil": 403, "other_pupil": 403,
          "parent": 403}  # fmt: skip
PARENT_ACCESS = {"admin": 200, "staff": 403, "teacher": 403, "pupil": 403, "other_pupil": 403,
                 "parent": 403}  # fmt: skip
NOTE = {"file": ("certificat.pdf", PDF, "application/pdf")}


async def _absences(app: App, school: School, letter: str, count: int) -> list[int]:
    """``count`` absences of the school's "pupil", recorded by its staff."""
    staff = await bearer(app, f"staff.{letter}")
    found = []
    for number in range(count):
        day = f"2026-11-{number + 2:02d}"
        response = await staff.post(
            "/api/v1/attendance/absences",
            json={"pupil_id": school.people["pupil"], "first_day": day, "last_day": day},
        )
        assert response.status_code == 201, response.text
        found.append(response.json()["id"])
    return found


async def _objects(app: App, school: School, letter: str) -> dict[str, Any]:
    lessons = {
        "class": await add_lesson(app, school, admin=f"admin.{letter}"),
        "other_class": await add_lesson(
            app, school, admin=f"admin.{letter}", group_id=school.other_class_id, teacher_id=None
        ),
    }
    to_justify, for_admin, for_staff = await _absences(app, school, letter, 3)
    parent = await bearer(app, f"parent.{letter}")
    for absence_id in (for_admin, for_staff):
        done = await parent.post(
            f"/api/v1/attendance/absences/{absence_id}/justification",
            data={"reason": "illness"},
            files=NOTE,
        )
        assert done.status_code == 200, done.text
    return {
        "lessons": lessons,
        "to_justify": to_justify,
        "to_answer": {"admin": for_admin, "staff": for_staff},
    }


async def test_attendance_matrix(app: App, world: dict[str, School]) -> None:
    objects = {letter: await _objects(app, world[letter], letter) for letter in "ab"}
    tokens = {
        (letter, role): await api_token(app.client, f"{USERNAMES[role]}.{letter}")
        for letter, role in itertools.product("ab", ROLES)
    }
    failures: list[str] = []

    def check(who: str, what: str, status: int, expected: int) -> None:
        if status != expected:
            failures.append(f"{who} {what}: {status} != {expected}")

    for (actor_school, role), target_school in itertools.product(tokens, "ab"):
        headers = {"authorization": f"Bearer {tokens[(actor_school, role)]}"}
        same = actor_school == target_school
        who = f"{role}@{actor_school}"
        target = world[target_school]
        found = objects[target_school]
        for group in ("class", "other_class"):
            path = f"/api/v1/attendance/lessons/{found['lessons'][group]['id']}/{DAY}"
            read = await app.client.get(path, headers=headers)
            check(who, f"read roll call of {group}@{target_school}", read.status_code,
                  ROLL_CALL[group][role] if same else 404)  # fmt: skip
            take = await app.client.put(path, json={"entries": []}, headers=headers)
            check(who, f"take roll call of {group}@{target_school}", take.status_code,
                  ROLL_CALL[group][role] if same else 404)  # fmt: skip
            view = await app.client.get(
                f"/api/v1/attendance/groups/{getattr(target, f'{group}_id')}", headers=headers
            )
            check(who, f"read class view of {group}@{target_school}", view.status_code,
                  CLASS_VIEW[group][role] if same else 404)  # fmt: skip
        for pupil in ("pupil", "other_pupil"):
            read = await app.client.get(
                f"/api/v1/attendance/pupils/{target.people[pupil]}", headers=headers
            )
            check(who, f"read attendance of {pupil}@{target_school}", read.status_code,
                  READ_PUPIL[pupil][role] if same else 404)  # fmt: skip
        teacher_view = await app.client.get(
            f"/api/v1/attendance/pupils/{target.people['teacher']}", headers=headers
        )
        check(who, f"read attendance of teacher@{target_school}", teacher_view.status_code, 404)
        record = await app.client.post(
            "/api/v1/attendance/absences",
            json={"pupil_id": target.people["pupil"], "first_day": "2026-11-16",
                  "last_day": "2026-11-16"},
            headers=headers,
        )  # fmt: skip
        check(who, f"record a period@{target_school}", record.status_code,
              RECORD[role] if same else 404)  # fmt: skip
        absence = f"/api/v1/attendance/absences/{found['to_justify']}"
        justify = await app.client.post(
            absence + "/justification", data={"reason": "family"}, files=NOTE, headers=headers
        )
        check(who, f"justify@{target_school}", justify.status_code,
              JUSTIFY[role] if same else 404)  # fmt: skip
        document = await app.client.get(
            f"/api/v1/attendance/absences/{found['to_answer']['admin']}/document", headers=headers
        )
        check(who, f"read document@{target_school}", document.status_code,
              DOCUMENT[role] if same else 404)  # fmt: skip
        waiting = found["to_answer"].get(role, found["to_answer"]["admin"])
        answer = await app.client.post(
            f"/api/v1/attendance/absences/{waiting}/answer",
            json={"accept": True},
            headers=headers,
        )
        check(who, f"answer@{target_school}", answer.status_code,
              ANSWER[role] if same else 404)  # fmt: skip
        access = await app.client.put(
            f"/api/v1/attendance/parents/{target.people['parent']}/children/"
            f"{target.people['pupil']}",
            json={"limited": False},
            headers=headers,
        )
        # Only administrators are asked which link it is: to anyone else it is refused
        # before anything is read, in any school.
        check(who, f"limit a parent@{target_school}", access.status_code,
              PARENT_ACCESS[role] if same else (404 if role == "admin" else 403))  # fmt: skip
    for (letter, role), token in tokens.items():
        desk = await app.client.get(
            "/api/v1/attendance/office", headers={"authorization": f"Bearer {token}"}
        )
        check(f"{role}@{letter}", "read the office's desk", desk.status_code, OFFICE[role])
    assert not failures, "\n".join(failures)
