"""The authorization matrix: role × object × action, in one's own school and across schools.

Every cell goes through the HTTP API, so it tests the same path users take.
"""

from __future__ import annotations

import itertools

import pytest

from tests.helpers import App, School, api_token

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
            assert created.status_code == enrol.status_code == codes.status_code == 403, role
    # An admin of school A cannot enrol a pupil of school B, even in A's class.
    admin = await api_token(app.client, "admin.a")
    foreign = await app.client.post(
        f"/api/v1/groups/{world['a'].class_id}/members",
        headers={"authorization": f"Bearer {admin}"},
        json={"person_id": world["b"].people["pupil"]},
    )
    assert foreign.status_code == 404
