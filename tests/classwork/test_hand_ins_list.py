"""The teacher's list of hand-ins, the most expensive read of the morning: a fixed few
statements whatever the size of the class or the number of files handed in."""

from __future__ import annotations

from typing import Any

from preau.actions.directory import insert_person
from preau.adapters.sql.schema import enrolments, people
from preau.domain.directory import PersonDraft
from preau.domain.people import Profile
from tests.classwork.conftest import PDF, Api, Clock, iso, post_homework
from tests.helpers import PASSWORD, App, QueryCounter, School, api_token

# The homework, whether the reader teaches its group, the pupils with their hand-ins and
# extensions, the files handed in.
HAND_INS_QUERIES = 4


async def add_pupils(app: App, school: School, first: int, count: int) -> list[str]:
    """``count`` more pupils in the class, who can sign in; their usernames."""
    services = app.services
    password_hash = await services.passwords.hash(PASSWORD)
    usernames = []
    async with services.engine.begin() as connection:
        for number in range(first, first + count):
            username = f"eleve{number}.a"
            person_id = await insert_person(
                services,
                connection,
                school.id,
                PersonDraft(
                    given_name=f"Élève {number}",
                    family_name=f"Nom{number:02d}",
                    profile=Profile.PUPIL,
                    username=username,
                ),
            )
            await connection.execute(
                people.update().where(people.c.id == person_id).values(password_hash=password_hash)
            )
            await connection.execute(
                enrolments.insert().values(
                    school_id=school.id,
                    group_id=school.class_id,
                    person_id=person_id,
                    role="pupil",
                    subject=None,
                )
            )
            usernames.append(username)
    return usernames


async def turn_in_with_a_file(app: App, username: str, homework_id: int) -> None:
    """The pupil uploads two files and turns in the second: the first, never handed in,
    must not show in the list."""
    pupil = Api(app.client, await api_token(app.client, username))
    uploaded = []
    for name in ("brouillon.pdf", "copie.pdf"):
        upload = await pupil.post("/api/v1/files", files={"file": (name, PDF, "application/pdf")})
        assert upload.status_code == 201, upload.text
        uploaded.append(upload.json()["id"])
    turned = await pupil.post(
        f"/api/v1/homework/{homework_id}/turn-in",
        json={"text": f"Travail de {username}", "file_ids": uploaded[1:]},
    )
    assert turned.status_code == 200, turned.text


async def test_the_list_of_hand_ins_runs_the_same_few_statements_for_5_or_30_pupils(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    school = world["a"]
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(teacher, school, clock, due_at=iso(clock, 3600))
    path = f"/api/v1/homework/{work['id']}/hand-ins"
    five = await add_pupils(app, school, 1, 4)  # and pupil.a
    for username in five[:2]:
        await turn_in_with_a_file(app, username, work["id"])
    with queries.counting() as for_five:
        listing = await teacher.get(path)
    assert listing.status_code == 200, listing.text
    assert len(listing.json()) == 5
    assert len(for_five) == HAND_INS_QUERIES, for_five

    thirty = await add_pupils(app, school, 5, 25)
    for username in thirty[:3]:
        await turn_in_with_a_file(app, username, work["id"])
    extended = listing.json()[4]["pupil_id"]
    granted = await teacher.put(
        f"/api/v1/homework/{work['id']}/extensions/{extended}", json={"due_at": iso(clock, 7200)}
    )
    assert granted.status_code == 200, granted.text
    clock.advance(3601)  # the others are late now, the extended pupil is not
    with queries.counting() as for_thirty:
        listing = await teacher.get(path)
    assert listing.status_code == 200, listing.text
    hand_ins = listing.json()
    assert len(hand_ins) == 30
    assert len(for_thirty) == len(for_five), for_thirty
    names = [hand_in["pupil_name"] for hand_in in hand_ins]
    assert names[:2] == ["Élève 1 Nom01", "Élève 2 Nom02"]  # by family name
    handed = {h["pupil_name"]: [f["name"] for f in h["files"]] for h in hand_ins if h["files"]}
    assert handed == {f"Élève {n} Nom{n:02d}": ["copie.pdf"] for n in (1, 2, 5, 6, 7)}
    late = {h["pupil_id"]: h["late"] for h in hand_ins if h["state"] == "assigned"}
    assert late[extended] is False
    assert sum(late.values()) == len(late) - 1


async def test_work_for_chosen_pupils_lists_only_them_with_the_same_few_statements(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    school = world["a"]
    teacher: Api = await as_user("teacher.a")
    usernames = await add_pupils(app, school, 1, 6)
    for_all = await post_homework(teacher, school, clock)
    everyone = (await teacher.get(f"/api/v1/homework/{for_all['id']}/hand-ins")).json()
    chosen = [hand_in["pupil_id"] for hand_in in everyone[1:4]]  # Nom02, Nom03, Nom04
    work = await post_homework(teacher, school, clock, pupil_ids=chosen)
    await turn_in_with_a_file(app, usernames[2], work["id"])
    with queries.counting() as statements:
        listing = await teacher.get(f"/api/v1/homework/{work['id']}/hand-ins")
    assert [hand_in["pupil_id"] for hand_in in listing.json()] == chosen
    assert [len(hand_in["files"]) for hand_in in listing.json()] == [0, 1, 0]
    assert len(statements) == HAND_INS_QUERIES, statements
