"""The marks rows of the authorization matrix: role × object × action, in one's own school
and across schools, through the HTTP API (as tests/access/test_authorization_matrix.py).

In each school the teacher teaches "class" (where "pupil" is, the parent's child) and not
"other_class" (where "other_pupil" is)."""

from __future__ import annotations

import itertools

from tests.helpers import App, School, api_token
from tests.marks.conftest import evaluation

ROLES = ["admin", "staff", "teacher", "pupil", "other_pupil", "parent"]
USERNAMES = {role: role.replace("_", "-") for role in ROLES}

# Expected status of each role on objects of its own school; every object of the other
# school is 404 to everyone.
READ_EVALUATION = {  # an evaluation of "class"
    "admin": 200, "staff": 200, "teacher": 200, "pupil": 200, "other_pupil": 404, "parent": 200,
}  # fmt: skip
CHANGE_EVALUATION = {
    "admin": 403, "staff": 403, "teacher": 200, "pupil": 403, "other_pupil": 404, "parent": 403,
}  # fmt: skip
READ_GRID = {
    "class": {
        "admin": 200, "staff": 200, "teacher": 200, "pupil": 403, "other_pupil": 404,
        "parent": 403,
    },
    "other_class": {
        "admin": 200, "staff": 200, "teacher": 403, "pupil": 404, "other_pupil": 403,
        "parent": 404,
    },
}  # fmt: skip
READ_REPORT_CARD = {
    "pupil": {
        "admin": 200, "staff": 200, "teacher": 200, "pupil": 200, "other_pupil": 404,
        "parent": 200,
    },
    "other_pupil": {
        "admin": 200, "staff": 200, "teacher": 403, "pupil": 404, "other_pupil": 200,
        "parent": 404,
    },
}  # fmt: skip


async def test_marks_matrix(app: App, world: dict[str, School]) -> None:
    evaluations = {
        letter: await evaluation(app, world[letter], username=f"teacher.{letter}")
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
        evaluation_path = f"/api/v1/marks/evaluations/{evaluations[target_school]['id']}"
        read = await app.client.get(evaluation_path, headers=headers)
        check(who, f"read evaluation@{target_school}", read.status_code,
              READ_EVALUATION[role] if same else 404)  # fmt: skip
        change = await app.client.patch(evaluation_path, json={"title": "Bilan"}, headers=headers)
        check(who, f"change evaluation@{target_school}", change.status_code,
              CHANGE_EVALUATION[role] if same else 404)  # fmt: skip
        column = await app.client.put(
            f"{evaluation_path}/marks",
            json={"marks": [{"pupil_id": target.people["pupil"], "value": 12}]},
            headers=headers,
        )
        check(who, f"enter marks@{target_school}", column.status_code,
              CHANGE_EVALUATION[role] if same else 404)  # fmt: skip
        for group in ("class", "other_class"):
            group_id = getattr(target, f"{group}_id")
            grid = await app.client.get(f"/api/v1/marks/groups/{group_id}/grid", headers=headers)
            check(who, f"read grid of {group}@{target_school}", grid.status_code,
                  READ_GRID[group][role] if same else 404)  # fmt: skip
        for pupil in ("pupil", "other_pupil"):
            card = await app.client.get(
                f"/api/v1/marks/pupils/{target.people[pupil]}/report-card", headers=headers
            )
            check(who, f"read report card of {pupil}@{target_school}", card.status_code,
                  READ_REPORT_CARD[pupil][role] if same else 404)  # fmt: skip
        # Someone who is not a pupil has no report card, even for staff.
        card = await app.client.get(
            f"/api/v1/marks/pupils/{target.people['teacher']}/report-card", headers=headers
        )
        check(who, f"read report card of teacher@{target_school}", card.status_code, 404)
    for (letter, role), token in tokens.items():
        headers = {"authorization": f"Bearer {token}"}
        settings = await app.client.put(
            "/api/v1/marks/settings",
            json={"term_kind": "trimester", "not_handed_in_counts_as_zero": False},
            headers=headers,
        )
        check(f"{role}@{letter}", "change settings", settings.status_code,
              200 if role == "admin" else 403)  # fmt: skip
        read = await app.client.get("/api/v1/marks/terms", headers=headers)
        check(f"{role}@{letter}", "read terms", read.status_code, 200)
    assert not failures, "\n".join(failures)
