"""The home page of each profile, through HTTP: what it shows once there is something to
show, and how many SQL statements a load costs."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.helpers import App, QueryCounter, School, login
from tests.home.conftest import bearer

LESSON = {
    "subject": "Maths",
    "room": "B12",
    "weekday": 1,
    "first_day": "2026-09-01",
    "last_day": "2027-07-04",
}


async def signed_in(app: App, username: str, language: str = "en") -> httpx.AsyncClient:
    client = app.client_for(headers={"accept-language": language})
    assert (await login(client, username)).status_code in (302, 303)
    return client


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def school_with_things_to_do(app: App, school: School) -> dict[str, Any]:
    """Two lessons today, homework due tomorrow, a marked evaluation, a message."""
    admin = await bearer(app, "admin.a")
    teacher = await bearer(app, "teacher.a")
    for weekday, starts, ends, online in (
        (1, "08:00", "08:55", False),
        (1, "14:00", "14:55", False),
        (3, "10:00", "10:55", True),
    ):
        body = {
            **LESSON,
            "weekday": weekday,
            "virtual": online,
            "starts": starts,
            "ends": ends,
            "group_id": school.class_id,
            "teacher_id": school.people["teacher"],
        }
        created = await admin.post("/api/v1/timetable/lessons", json=body)
        assert created.status_code == 201, created.text
    work = await teacher.post(
        "/api/v1/homework",
        json={
            "group_id": school.class_id,
            "title": "Exercices page 42",
            "instructions": "Faire les exercices 1 à 3.",
            "due_at": "2026-11-24T07:00:00Z",
            "hand_in_expected": True,
        },
    )
    assert work.status_code == 201, work.text
    evaluation = await teacher.post(
        "/api/v1/marks/evaluations",
        json={
            "group_id": school.class_id,
            "subject": "Maths",
            "title": "Fractions",
            "day": "2026-11-20",
            "out_of": 20,
            "coefficient": 1,
        },
    )
    assert evaluation.status_code == 201, evaluation.text
    marked = await teacher.put(
        f"/api/v1/marks/evaluations/{evaluation.json()['id']}/marks",
        json={"marks": [{"pupil_id": school.people["pupil"], "value": "15,5"}]},
    )
    assert marked.status_code == 200, marked.text
    message = await teacher.post(
        "/api/v1/conversations",
        json={
            "subject": "Sortie",
            "body": "Rendez-vous à 8 h.",
            "person_ids": [school.people["pupil"]],
        },
    )
    assert message.status_code == 201, message.text
    return {"homework": work.json(), "conversation": message.json()}


async def test_a_pupil_sees_today_what_is_due_new_marks_and_unread(
    app: App, world: dict[str, School]
) -> None:
    await school_with_things_to_do(app, world["a"])
    pupil = await signed_in(app, "pupil.a")
    page = await pupil.get("/home")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Hello Pupil" in shown
    assert "08:00–08:55 Maths · room B12" in shown
    assert "14:00–14:55 Maths" in shown
    assert "Exercices page 42" in shown
    assert "due Tuesday 24 at 08:00" in shown
    assert "15.5 / 20 Maths · Fractions" in shown
    assert "1 unread message" in shown
    # No room yet: the next lesson held online, from the timetable.
    assert "Next virtual class Maths · class a Wednesday 25 November, 10:00–10:55" in shown
    french = text_of((await (await signed_in(app, "pupil.a", "fr")).get("/home")).text)
    assert "Bonjour Pupil" in french
    assert "15,5 / 20" in french


async def test_a_parent_sees_one_card_per_child_and_nothing_of_others(
    app: App, world: dict[str, School]
) -> None:
    await school_with_things_to_do(app, world["a"])
    parent = await signed_in(app, "parent.a")
    shown = text_of((await parent.get("/home")).text)
    assert "Hello Parent" in shown
    assert "Exercices page 42" in shown
    assert "08:00–08:55 Maths" in shown
    assert "15.5 / 20" in shown
    # The other pupil's parent of school B sees no child card with school A's work.
    other = text_of((await (await signed_in(app, "parent.b")).get("/home")).text)
    assert "Exercices page 42" not in other


async def test_a_teacher_sees_hand_ins_to_review(app: App, world: dict[str, School]) -> None:
    made = await school_with_things_to_do(app, world["a"])
    teacher = await signed_in(app, "teacher.a")
    before = text_of((await teacher.get("/home")).text)
    assert "No hand-in is waiting for you." in before
    assert "08:00–08:55 Maths" in before
    pupil = await bearer(app, "pupil.a")
    turned = await pupil.post(
        f"/api/v1/homework/{made['homework']['id']}/turn-in",
        json={"text": "Mes réponses", "idempotency_key": "key-home-1"},
    )
    assert turned.status_code == 200, turned.text
    after = text_of((await teacher.get("/home")).text)
    assert "Exercices page 42 class a · 1 hand-in waiting" in after


async def test_staff_and_admins_see_what_needs_them(app: App, world: dict[str, School]) -> None:
    made = await school_with_things_to_do(app, world["a"])
    pupil = await bearer(app, "pupil.a")
    conversation = (await pupil.get(f"/api/v1/conversations/{made['conversation']['id']}")).json()
    message_id = conversation["messages"][0]["id"]
    reported = await pupil.post(f"/api/v1/messages/{message_id}/reports", json={"reason": "test"})
    assert reported.status_code in (200, 201, 204), reported.text
    staff = text_of((await (await signed_in(app, "staff.a")).get("/home")).text)
    assert "Needs you today" in staff
    assert "1 reported message" in staff
    assert "0 absences to follow up" in staff
    admin = text_of((await (await signed_in(app, "admin.a")).get("/home")).text)
    assert "1 reported message" in admin
    assert "No roster has been imported yet." in admin


async def test_a_home_page_costs_few_statements(
    app: App, world: dict[str, School], queries: QueryCounter
) -> None:
    await school_with_things_to_do(app, world["a"])
    counts, cold = {}, {}
    for username in ("pupil.a", "parent.a", "teacher.a", "staff.a", "admin.a"):
        client = await signed_in(app, username)
        with queries.counting() as first:
            assert (await client.get("/home")).status_code == 200  # fills the warm caches
        cold[username] = len(first)
        with queries.counting() as statements:
            assert (await client.get("/home")).status_code == 200
        counts[username] = len(statements)
    print("home page statements, first load:", cold, "then:", counts)
    # A pupil's to-do, week, report card and unread counts are warm: who they are, and the
    # virtual classes they may join. A parent: who, their children, then for each child
    # the access checks of the to-do and the week (2 + 2) and the week itself (4). A
    # teacher: who, virtual classes, the homework and its hand-in counts. Staff: who, the
    # office (4 statements) and the reports; admins add the last roster import.
    assert counts == {
        "pupil.a": 2,
        "parent.a": 11,
        "teacher.a": 5,
        "staff.a": 7,
        "admin.a": 8,
    }
