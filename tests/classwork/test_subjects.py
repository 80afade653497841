"""Subjects (matières) on homework (issue 14): set by the teacher, else the subject they
teach the class, shown in the pupil's to-do (kept warm) and on the pages."""

from __future__ import annotations

from typing import Any

from preau.web.subjects import subject_tag
from tests.classwork.conftest import Api, Clock, post_homework
from tests.helpers import App, School


def todo_subjects(todo: dict[str, Any]) -> dict[str, str | None]:
    return {item["title"]: item["subject"] for day in todo["days"] for item in day["items"]}


async def test_a_subject_is_set_changed_and_read_warm(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    # None given: the teacher's subject in the class (the roster's enrolment).
    taught = await post_homework(teacher, world["a"], clock, title="Fractions")
    assert taught["subject"] == "Maths"
    chosen = await post_homework(teacher, world["a"], clock, title="Dictée", subject=" Français ")
    assert chosen["subject"] == "Français"
    assert todo_subjects((await pupil.get("/api/v1/todo")).json()) == {
        "Fractions": "Maths",
        "Dictée": "Français",
    }
    # The to-do is warm now; a change of subject shows at once.
    changed = await teacher.patch(f"/api/v1/homework/{chosen['id']}", json={"subject": "Latin"})
    assert changed.status_code == 200, changed.text
    assert todo_subjects((await pupil.get("/api/v1/todo")).json())["Dictée"] == "Latin"
    cleared = await teacher.patch(f"/api/v1/homework/{chosen['id']}", json={"subject": ""})
    assert cleared.json()["subject"] is None
    page = (await pupil.get("/todo")).text
    assert str(subject_tag("Maths")) in page  # its icon and colour, then its name
    assert str(subject_tag("Latin")) not in page
    homework_page = (await pupil.get(f"/homework/{taught['id']}")).text
    assert str(subject_tag("Maths")) in homework_page


async def test_a_bad_subject_is_refused_with_a_sentence(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    for subject, sentence in (
        ("M" * 101, "longer than 100 characters"),
        ("Ma\x07ths", "invisible control characters"),
    ):
        body = {
            "group_id": world["a"].class_id,
            "title": "Exercices",
            "due_at": "2030-01-10T18:00:00",
            "subject": subject,
        }
        answer = await teacher.post("/api/v1/homework", json=body)
        assert answer.status_code == 400, answer.text
        assert sentence in answer.text
