"""The exercises rows of the authorization matrix: role × object × action, in one's own
school and across schools, through the HTTP API (as tests/access/test_authorization_matrix.py).

In each school the teacher teaches "class" (where "pupil" is, the parent's child) and not
"other_class" (where "other_pupil" is). The exercise is set for "class"."""

from __future__ import annotations

import itertools
from typing import Any

from tests.classwork.conftest import Clock, post_homework
from tests.helpers import App, School

ROLES = ["admin", "staff", "teacher", "pupil", "other_pupil", "parent"]
USERNAMES = {role: role.replace("_", "-") for role in ROLES}
GIFT = "Deux et deux ? {=4}\n\nPourquoi ? {}"

# Expected status in one's own school; in the other school everything is 404.
EXPECTED: dict[str, dict[str, int]] = {
    "read exercise": {
        "admin": 200, "staff": 200, "teacher": 200, "pupil": 200, "other_pupil": 404,
        "parent": 200,
    },
    "start attempt": {
        "admin": 403, "staff": 403, "teacher": 403, "pupil": 200, "other_pupil": 404,
        "parent": 403,
    },
    "read results": {
        "admin": 200, "staff": 200, "teacher": 200, "pupil": 403, "other_pupil": 404,
        "parent": 403,
    },
    "read handed-in attempt": {
        "admin": 200, "staff": 200, "teacher": 200, "pupil": 200, "other_pupil": 404,
        "parent": 200,
    },
    "answer in the attempt": {
        "admin": 403, "staff": 403, "teacher": 403, "pupil": 409, "other_pupil": 404,
        "parent": 403,
    },
    "mark an open answer": {
        "admin": 403, "staff": 403, "teacher": 200, "pupil": 403, "other_pupil": 404,
        "parent": 403,
    },
    "list the question bank": {
        "admin": 200, "staff": 200, "teacher": 200, "pupil": 404, "other_pupil": 404,
        "parent": 404,
    },
    "remove a bank question": {
        "admin": 403, "staff": 403, "teacher": 204, "pupil": 404, "other_pupil": 404,
        "parent": 404,
    },
}  # fmt: skip


async def test_exercises_matrix(
    app: App, as_user: Any, world: dict[str, School], clock: Clock
) -> None:
    objects: dict[str, dict[str, Any]] = {}
    for letter in "ab":
        teacher = await as_user(f"teacher.{letter}")
        work = await post_homework(teacher, world[letter], clock)
        exercise = (
            await teacher.put(
                f"/api/v1/homework/{work['id']}/exercise",
                json={"gift": GIFT, "policy": {"attempts": 3}},
            )
        ).json()
        pupil = await as_user(f"pupil.{letter}")
        attempt = (await pupil.post(f"/api/v1/exercises/{exercise['id']}/attempts")).json()
        await pupil.put(f"/api/v1/attempts/{attempt['id']}/answers/1", json={"text": "Car."})
        assert (await pupil.post(f"/api/v1/attempts/{attempt['id']}/submit")).status_code == 200
        bank = (await teacher.get("/api/v1/question-bank")).json()
        objects[letter] = {"exercise": exercise["id"], "attempt": attempt["id"], "bank": bank}
    failures: list[str] = []
    for (letter, role), (target, objects_of) in itertools.product(
        itertools.product("ab", ROLES), objects.items()
    ):
        client = await as_user(f"{USERNAMES[role]}.{letter}")
        exercise, attempt = objects_of["exercise"], objects_of["attempt"]
        calls = {
            "read exercise": client.get(f"/api/v1/exercises/{exercise}"),
            "start attempt": client.post(f"/api/v1/exercises/{exercise}/attempts"),
            "read results": client.get(f"/api/v1/exercises/{exercise}/results"),
            "read handed-in attempt": client.get(f"/api/v1/attempts/{attempt}"),
            "answer in the attempt": client.put(
                f"/api/v1/attempts/{attempt}/answers/0", json={"text": "4"}
            ),
            "mark an open answer": client.put(
                f"/api/v1/attempts/{attempt}/answers/1/mark", json={"points": "1"}
            ),
            "list the question bank": client.get("/api/v1/question-bank"),
        }
        for action, call in calls.items():
            status = (await call).status_code
            expected = EXPECTED[action][role] if target == letter else 404
            if action == "list the question bank":
                expected = EXPECTED[action][role]  # one's own school's bank, wherever
            if status != expected:
                failures.append(f"{role}.{letter} {action} in {target}: {status} != {expected}")
    # Removing last: the question leaves the bank for everyone after it.
    for letter, role in itertools.product("ab", [*ROLES[:2], *ROLES[3:], "teacher"]):
        client = await as_user(f"{USERNAMES[role]}.{letter}")
        status = (
            await client.delete(f"/api/v1/question-bank/{objects['a']['bank'][-1]['id']}")
        ).status_code
        expected = EXPECTED["remove a bank question"][role] if letter == "a" else 404
        if status != expected:
            failures.append(f"{role}.{letter} remove a bank question: {status} != {expected}")
    assert not failures, "\n".join(failures)
