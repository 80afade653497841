"""The skills rows of the authorization matrix: role × object × action, in one's own
school and across schools, through the HTTP API (as tests/marks/test_marks_authorization.py).

In each school the teacher teaches "class" (where "pupil" is, the parent's child) and not
"other_class" (where "other_pupil" is)."""

from __future__ import annotations

import itertools
from typing import Any

from tests.helpers import App, School, api_token
from tests.marks.conftest import bearer
from tests.marks.test_marks_authorization import READ_REPORT_CARD, ROLES, USERNAMES
from tests.skills.conftest import skills_evaluation, socle

# Expected status of each role on objects of its own school; every object of the other
# school is 404 to everyone.
READ_LEVELS = {  # the levels grid of an evaluation of "class": the whole class's
    "admin": 200, "staff": 200, "teacher": 200, "pupil": 403, "other_pupil": 404, "parent": 403,
}  # fmt: skip
ENTER_LEVELS = {
    "admin": 403, "staff": 403, "teacher": 200, "pupil": 403, "other_pupil": 404, "parent": 403,
}  # fmt: skip
CHANGE_OWN_FRAMEWORK = {
    "admin": 201, "staff": 403, "teacher": 403, "pupil": 403, "other_pupil": 403, "parent": 403,
}  # fmt: skip


async def test_skills_matrix(app: App, world: dict[str, School]) -> None:
    evaluations: dict[str, dict[str, Any]] = {}
    own_frameworks: dict[str, int] = {}
    socles: dict[str, dict[str, int]] = {}
    for letter in "ab":
        evaluations[letter] = await skills_evaluation(
            app, world[letter], username=f"teacher.{letter}"
        )
        socles[letter] = await socle(app, f"teacher.{letter}")
        admin = await bearer(app, f"admin.{letter}")
        created = await admin.post("/api/v1/skills/frameworks", json={"name": "Oral"})
        own_frameworks[letter] = created.json()["id"]
    frameworks_of = {
        letter: {
            "socle": (
                await (await bearer(app, f"admin.{letter}")).get("/api/v1/skills/frameworks")
            ).json()[0]["id"],
            "own": own_frameworks[letter],
        }
        for letter in "ab"
    }
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
        path = f"/api/v1/skills/evaluations/{evaluations[target_school]['id']}/levels"
        read = await app.client.get(path, headers=headers)
        check(who, f"read levels@{target_school}", read.status_code,
              READ_LEVELS[role] if same else 404)  # fmt: skip
        cell = {
            "pupil_id": target.people["pupil"],
            "skill_id": socles[target_school]["1.1"],
            "value": "3",
        }
        enter = await app.client.put(path, json={"levels": [cell]}, headers=headers)
        check(who, f"enter levels@{target_school}", enter.status_code,
              ENTER_LEVELS[role] if same else 404)  # fmt: skip
        for pupil in ("pupil", "other_pupil"):
            summary = await app.client.get(
                f"/api/v1/skills/pupils/{target.people[pupil]}/summary", headers=headers
            )
            check(who, f"read summary of {pupil}@{target_school}", summary.status_code,
                  READ_REPORT_CARD[pupil][role] if same else 404)  # fmt: skip
        summary = await app.client.get(
            f"/api/v1/skills/pupils/{target.people['teacher']}/summary", headers=headers
        )
        check(who, f"read summary of teacher@{target_school}", summary.status_code, 404)
        for kind, framework_id in frameworks_of[target_school].items():
            added = await app.client.post(
                f"/api/v1/skills/frameworks/{framework_id}/skills",
                json={"code": f"{role}{actor_school}", "name": "Compétence"},
                headers=headers,
            )
            expected = CHANGE_OWN_FRAMEWORK[role] if kind == "own" else 403
            check(who, f"add a skill to {kind}@{target_school}", added.status_code,
                  expected if same else 404)  # fmt: skip
    for (letter, role), token in tokens.items():
        headers = {"authorization": f"Bearer {token}"}
        listed = await app.client.get("/api/v1/skills/frameworks", headers=headers)
        check(f"{role}@{letter}", "read frameworks", listed.status_code, 200)
        ids = {framework["id"] for framework in listed.json()}
        other = "b" if letter == "a" else "a"
        own_only = set(frameworks_of[letter].values()) <= ids and not ids & set(
            frameworks_of[other].values()
        )
        check(f"{role}@{letter}", "frameworks of own school only", int(own_only), 1)
        created = await app.client.post(
            "/api/v1/skills/frameworks", json={"name": f"Cadre {role}"}, headers=headers
        )
        check(f"{role}@{letter}", "create a framework", created.status_code,
              201 if role == "admin" else 403)  # fmt: skip
    assert not failures, "\n".join(failures)
