"""The authorization matrix for classwork: homework, hand-ins and files, for every role of
both schools, plus a parent of another child and a pupil acting as a teacher. Every cell
goes through the HTTP API."""

from __future__ import annotations

import itertools
from typing import Any

from preau.actions.directory import insert_person
from preau.adapters.sql.schema import parent_links
from preau.domain.directory import PersonDraft
from preau.domain.people import Profile
from tests.classwork.conftest import PDF, PNG, Api, Clock, iso, post_homework
from tests.helpers import PASSWORD, App, School, api_token

ROLES = ["admin", "staff", "teacher", "pupil", "other_pupil", "parent", "other_parent"]


async def people(app: App, world: dict[str, School]) -> dict[tuple[str, str], Api]:
    """Everyone of both schools, with a second parent in each, linked to the other pupil."""
    password_hash = await app.services.passwords.hash(PASSWORD)
    for letter, school in world.items():
        async with app.services.engine.begin() as connection:
            parent_id = await insert_person(
                app.services,
                connection,
                school.id,
                PersonDraft(
                    given_name="Other",
                    family_name="Parent",
                    profile=Profile.PARENT,
                    username=f"other-parent.{letter}",
                ),
            )
            from preau.adapters.sql.schema import people as people_table

            await connection.execute(
                people_table.update()
                .where(people_table.c.id == parent_id)
                .values(password_hash=password_hash)
            )
            await connection.execute(
                parent_links.insert().values(
                    school_id=school.id, parent_id=parent_id, child_id=school.people["other_pupil"]
                )
            )
    return {
        (letter, role): Api(
            app.client, await api_token(app.client, f"{role.replace('_', '-')}.{letter}")
        )
        for letter in "ab"
        for role in ROLES
    }


async def setup(app: App, world: dict[str, School], clock: Clock) -> dict[str, Any]:
    teacher = Api(app.client, await api_token(app.client, "teacher.a"))
    pupil = Api(app.client, await api_token(app.client, "pupil.a"))
    attachment = await teacher.post("/api/v1/files", files={"file": ("fiche.pdf", PDF, "x/y")})
    work = await post_homework(teacher, world["a"], clock, attachment_ids=[attachment.json()["id"]])
    handed = await pupil.post("/api/v1/files", files={"file": ("copie.png", PNG, "x/y")})
    await pupil.post(
        f"/api/v1/homework/{work['id']}/turn-in",
        json={"text": "ok", "file_ids": [handed.json()["id"]]},
    )
    # Not turned in yet: for everyone's turn-in; set for the class, or for the pupil alone.
    fresh = await post_homework(teacher, world["a"], clock)
    chosen = await post_homework(teacher, world["a"], clock, pupil_ids=[world["a"].people["pupil"]])
    return {
        "fresh": fresh["id"],
        "chosen": chosen["id"],
        "homework": work["id"],
        "attachment": attachment.json()["id"],
        "hand_in_file": handed.json()["id"],
        "pupil": world["a"].people["pupil"],
    }


def check(failures: list[str], who: str, what: str, got: int, expected: int) -> None:
    if got != expected:
        failures.append(f"{who} {what}: {got} != {expected}")


async def test_classwork_matrix(app: App, world: dict[str, School], clock: Clock) -> None:
    ids = await setup(app, world, clock)
    everyone = await people(app, world)
    homework_path = f"/api/v1/homework/{ids['homework']}"
    hand_in_path = f"{homework_path}/hand-ins/{ids['pupil']}"
    sees_homework = {"admin", "staff", "teacher", "pupil", "parent"}
    sees_hand_in = {"admin", "staff", "teacher", "pupil", "parent"}
    failures: list[str] = []
    for (letter, role), api in everyone.items():
        who = f"{role}@{letter}"
        home = letter == "a"
        read = (await api.get(homework_path)).status_code
        check(failures, who, "read homework", read, 200 if home and role in sees_homework else 404)
        change = (await api.patch(homework_path, json={"title": "Autre titre"})).status_code
        if not home or role not in sees_homework:
            expected = 404
        else:
            expected = 200 if role == "teacher" else 403
        check(failures, who, "change homework", change, expected)
        hand_in = (await api.get(hand_in_path)).status_code
        check(failures, who, "read hand-in", hand_in, 200 if home and role in sees_hand_in else 404)
        review = (await api.post(f"{hand_in_path}/return", json={"feedback": "Bien"})).status_code
        if not home or role not in sees_hand_in:
            expected = 404
        else:
            expected = 200 if role == "teacher" else 403
        check(failures, who, "return hand-in", review, expected)
        listing = (await api.get(f"{homework_path}/hand-ins")).status_code
        if not home or role not in sees_homework:
            expected = 404
        else:
            expected = 200 if role in ("teacher", "staff", "admin") else 403
        check(failures, who, "list hand-ins", listing, expected)
        for name in ("attachment", "hand_in_file"):
            got = (await api.get(f"/api/v1/files/{ids[name]}")).status_code
            visible = home and role in (sees_homework if name == "attachment" else sees_hand_in)
            check(failures, who, f"download {name}", got, 200 if visible else 404)
        for name in ("fresh", "chosen"):  # only the pupil it is set for turns it in
            got = (
                await api.post(f"/api/v1/homework/{ids[name]}/turn-in", json={"text": "Fait."})
            ).status_code
            check(failures, who, f"turn in {name}", got, 200 if home and role == "pupil" else 404)
        todo = (await api.get(f"/api/v1/pupils/{ids['pupil']}/todo")).status_code
        visible = home and role in ("admin", "staff", "teacher", "pupil", "parent")
        check(failures, who, "read the pupil's to-do", todo, 200 if visible else 404)
    assert not failures, "\n".join(failures)


async def test_a_pupil_cannot_act_as_a_teacher(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    pupil: Api = await as_user("pupil.a")
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock)
    pupil_id = world["a"].people["pupil"]
    created = await pupil.post(
        "/api/v1/homework",
        json={"group_id": world["a"].class_id, "title": "Faux devoir", "due_at": work["due_at"]},
    )
    assert created.status_code == 403
    other_class = await pupil.post(
        "/api/v1/homework",
        json={"group_id": world["a"].other_class_id, "title": "x", "due_at": work["due_at"]},
    )
    assert other_class.status_code == 404
    for path, body in (
        (f"/api/v1/homework/{work['id']}/hand-ins/{pupil_id}/return", {"mark": 20}),
        (f"/api/v1/homework/{work['id']}/hand-ins/{pupil_id}/excused", None),
        (f"/api/v1/homework/{work['id']}/copy", {"group_id": world["a"].class_id}),
    ):
        response = await pupil.post(path, json=body)
        assert response.status_code == 403, (path, response.text)
    extension = await pupil.put(
        f"/api/v1/homework/{work['id']}/extensions/{pupil_id}", json={"due_at": work["due_at"]}
    )
    assert extension.status_code == 403
    assert (await pupil.delete(f"/api/v1/homework/{work['id']}")).status_code == 403
    # A teacher cannot set work for a class they do not teach, nor in another school.
    assert (
        await teacher.post(
            "/api/v1/homework",
            json={"group_id": world["a"].other_class_id, "title": "x", "due_at": work["due_at"]},
        )
    ).status_code == 403
    assert (
        await teacher.post(
            "/api/v1/homework",
            json={"group_id": world["b"].class_id, "title": "x", "due_at": work["due_at"]},
        )
    ).status_code == 404


async def test_work_for_chosen_pupils_is_theirs_only(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    from preau.adapters.sql.schema import enrolments

    async with app.services.engine.begin() as connection:
        await connection.execute(
            enrolments.insert().values(
                school_id=world["a"].id,
                group_id=world["a"].class_id,
                person_id=world["a"].people["other_pupil"],
                role="pupil",
            )
        )
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock, pupil_ids=[world["a"].people["pupil"]])
    assert work["pupil_ids"] == [world["a"].people["pupil"]]
    chosen: Api = await as_user("pupil.a")
    other: Api = await as_user("other-pupil.a")
    assert (await chosen.get(f"/api/v1/homework/{work['id']}")).status_code == 200
    assert (await other.get(f"/api/v1/homework/{work['id']}")).status_code == 404
    todo = (await other.get("/api/v1/todo")).json()
    assert todo["days"] == []
    outsider = await teacher.post(
        "/api/v1/homework",
        json={
            "group_id": world["a"].class_id,
            "title": "x",
            "due_at": work["due_at"],
            "pupil_ids": [world["b"].people["pupil"]],
        },
    )
    assert outsider.status_code == 400


async def test_setting_homework_matrix(app: App, world: dict[str, School], clock: Clock) -> None:
    """Whose classes homework may be set for: a teacher the ones they teach; other staff
    are refused; pupils and parents are refused for their (child's) own class and are not
    told about others; nobody learns about another school's."""
    everyone = await people(app, world)
    member_of = {  # the class each pupil (or parent's child) is in
        "pupil": "class",
        "parent": "class",
        "other_pupil": "other_class",
        "other_parent": "other_class",
    }
    failures: list[str] = []
    for ((letter, role), api), target, group in itertools.product(
        everyone.items(), "ab", ["class", "other_class"]
    ):
        created = await api.post(
            "/api/v1/homework",
            json={
                "group_id": getattr(world[target], f"{group}_id"),
                "title": "Exercices",
                "due_at": iso(clock, 2 * 86400),
            },
        )
        if letter != target:
            expected = 404
        elif role == "teacher":
            expected = 201 if group == "class" else 403
        elif role in ("admin", "staff"):
            expected = 403
        else:
            expected = 403 if member_of[role] == group else 404
        check(
            failures,
            f"{role}@{letter}",
            f"set homework for {group}@{target}",
            created.status_code,
            expected,
        )
    assert not failures, "\n".join(failures)


async def test_homework_lists_by_group_matrix(
    app: App, world: dict[str, School], clock: Clock
) -> None:
    """Teachers and staff list a class's homework in their own school; another school's
    class does not exist for them; pupils and parents have no such list."""
    teacher = Api(app.client, await api_token(app.client, "teacher.a"))
    await post_homework(teacher, world["a"], clock)
    everyone = await people(app, world)
    failures: list[str] = []
    for ((letter, role), api), target in itertools.product(everyone.items(), "ab"):
        listed = await api.get(f"/api/v1/homework?group_id={world[target].class_id}")
        if role not in ("admin", "staff", "teacher"):
            expected = 403
        else:
            expected = 200 if letter == target else 404
        check(
            failures,
            f"{role}@{letter}",
            f"list homework of class@{target}",
            listed.status_code,
            expected,
        )
        if listed.status_code == 200:
            titles = [item["title"] for week in listed.json() for item in week["items"]]
            check(
                failures,
                f"{role}@{letter}",
                "homework listed",
                len(titles),
                1 if target == "a" else 0,
            )
    assert not failures, "\n".join(failures)
