"""Exercises through HTTP on SQLite and PostgreSQL: a teacher sets one from GIFT, a pupil
takes it (answers saved as they go, never the answers in what they receive), hands in
once even when sending twice, the hand-in is turned in and the teacher reads the results
and marks the open answer. Bad input is refused with nothing written."""

from __future__ import annotations

from typing import Any

from preau.adapters.sql.schema import attempt_answers, attempts, bank_questions, exercises
from tests.classwork.conftest import Clock, post_homework
from tests.helpers import App, School, count_rows

GIFT = """
::Capitale::Quelle est la capitale de la France ? {~Lyon =Paris#Oui ! ~Marseille}

::Pi::Donnez π à deux décimales. {#3.14:0.005}

::Pluriel::Le pluriel de « cheval » ? {=chevaux}

::Pourquoi::Expliquez pourquoi le ciel est bleu. {}
"""


async def set_up(as_user: Any, world: dict[str, School], clock: Clock, **policy: Any) -> Any:
    teacher = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock, title="Quiz")
    response = await teacher.put(
        f"/api/v1/homework/{work['id']}/exercise",
        json={"gift": GIFT, "policy": {"attempts": 2, **policy}},
    )
    assert response.status_code == 200, response.text
    return work, response.json()


async def test_a_pupil_takes_an_exercise_and_the_teacher_reads_the_results(
    app: App, as_user: Any, world: dict[str, School], clock: Clock
) -> None:
    work, exercise = await set_up(as_user, world, clock)
    assert (exercise["question_count"], exercise["total"]) == (4, 4)
    assert exercise["questions"][0]["choices"][1]["weight"] == 100  # the teacher sees answers
    pupil = await as_user("pupil.a")
    seen = await pupil.get(f"/api/v1/homework/{work['id']}/exercise")
    assert seen.status_code == 200
    assert seen.json()["questions"] is None  # the pupil does not

    started = await pupil.post(f"/api/v1/exercises/{exercise['id']}/attempts")
    assert started.status_code == 200, started.text
    attempt = started.json()
    assert "weight" not in started.text
    assert "chevaux" not in started.text
    resumed = await pupil.post(f"/api/v1/exercises/{exercise['id']}/attempts")
    assert resumed.json()["id"] == attempt["id"]  # the open attempt, not a second one

    capital = next(q for q in attempt["questions"] if q["title"] == "Capitale")
    paris = next(o["index"] for o in capital["options"] if o["text"] == "Paris")
    base = f"/api/v1/attempts/{attempt['id']}/answers"
    answers = {
        capital["position"]: {"chosen": [paris]},
        1: {"text": "3,14"},
        2: {"text": "chevals"},
        3: {"text": "La diffusion de Rayleigh."},
    }
    for position, answer in answers.items():
        saved = await pupil.put(f"{base}/{position}", json=answer)
        assert saved.status_code == 200, saved.text
    again = await pupil.put(f"{base}/1", json={"text": "3,14"})  # a retry: same answer
    assert again.status_code == 200
    assert await count_rows(app.services, attempt_answers) == 4

    submitted = await pupil.post(f"/api/v1/attempts/{attempt['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    result = submitted.json()
    assert (result["earned"], result["total"], result["pending"]) == ("2", 4, 1)
    assert result["out_of_20"] == "10"
    twice = await pupil.post(f"/api/v1/attempts/{attempt['id']}/submit")
    assert twice.json()["submitted_at"] == result["submitted_at"]
    assert await count_rows(app.services, attempts) == 1

    pupil_id = world["a"].people["pupil"]
    hand_in = (await pupil.get(f"/api/v1/homework/{work['id']}/hand-ins/{pupil_id}")).json()
    assert hand_in["state"] == "turned_in"
    assert "2 / 4" in hand_in["text"]

    teacher = await as_user("teacher.a")
    table = (await teacher.get(f"/api/v1/exercises/{exercise['id']}/results")).json()
    row = next(p for p in table["pupils"] if p["pupil_id"] == world["a"].people["pupil"])
    assert (row["attempts"], row["out_of_20"], row["pending"]) == (1, "10", 1)
    plural = table["questions"][2]
    assert plural["common_wrong"] == [["chevals", 1]]
    marked = await teacher.put(f"{base}/3/mark", json={"points": "1"})
    assert marked.status_code == 200, marked.text
    assert (marked.json()["earned"], marked.json()["pending"]) == ("3", 0)


async def test_attempts_run_out_and_bad_answers_are_refused(
    app: App, as_user: Any, world: dict[str, School], clock: Clock
) -> None:
    _work, exercise = await set_up(as_user, world, clock)
    pupil = await as_user("pupil.a")
    for _ in range(2):
        attempt = (await pupil.post(f"/api/v1/exercises/{exercise['id']}/attempts")).json()
        base = f"/api/v1/attempts/{attempt['id']}/answers"
        not_a_number = await pupil.put(f"{base}/1", json={"text": "trois"})
        assert not_a_number.status_code == 400
        assert "number" in not_a_number.json()["detail"]
        assert (await pupil.put(f"{base}/9", json={"text": "x"})).status_code == 400
        assert (await pupil.put(f"{base}/0", json={"chosen": [7]})).status_code == 400
        assert (await pupil.post(f"/api/v1/attempts/{attempt['id']}/submit")).status_code == 200
    assert await count_rows(app.services, attempt_answers) == 0
    third = await pupil.post(f"/api/v1/exercises/{exercise['id']}/attempts")
    assert third.status_code == 409
    after = await pupil.put(f"/api/v1/attempts/{attempt['id']}/answers/1", json={"text": "3"})
    assert after.status_code == 409


async def test_time_limit(app: App, as_user: Any, world: dict[str, School], clock: Clock) -> None:
    _work, exercise = await set_up(as_user, world, clock, minutes=10)
    pupil = await as_user("pupil.a")
    attempt = (await pupil.post(f"/api/v1/exercises/{exercise['id']}/attempts")).json()
    assert attempt["ends_at"] is not None
    clock.advance(11 * 60)
    late = await pupil.put(f"/api/v1/attempts/{attempt['id']}/answers/1", json={"text": "3,14"})
    assert late.status_code == 409
    assert "time" in late.json()["detail"]


async def test_a_gift_file_with_mistakes_is_refused_whole_and_the_bank_reports(
    app: App, as_user: Any, world: dict[str, School], clock: Clock
) -> None:
    teacher = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock)
    bad = "Une question {=a ~b\n\nUne autre {T}"
    refused = await teacher.put(f"/api/v1/homework/{work['id']}/exercise", json={"gift": bad})
    assert refused.status_code == 400
    assert await count_rows(app.services, exercises) == 0
    report = await teacher.post("/api/v1/question-bank/gift", json={"gift": bad})
    assert report.status_code == 200
    assert report.json()["imported"] == 1
    assert report.json()["problems"][0]["line"] == 1
    assert await count_rows(app.services, bank_questions) == 1
    again = await teacher.post("/api/v1/question-bank/gift", json={"gift": bad})
    assert again.json()["imported"] == 1
    assert await count_rows(app.services, bank_questions) == 1  # kept once


async def test_who_sees_what(
    app: App, as_user: Any, world: dict[str, School], clock: Clock
) -> None:
    work, exercise = await set_up(as_user, world, clock)
    path = f"/api/v1/exercises/{exercise['id']}"
    other_school_teacher = await as_user("teacher.b")
    assert (await other_school_teacher.get(path)).status_code == 404
    other_class_pupil = await as_user("other-pupil.a")
    assert (await other_class_pupil.get(path)).status_code == 404
    assert (await other_class_pupil.post(f"{path}/attempts")).status_code == 404
    parent = await as_user("parent.a")
    assert (await parent.get(path)).status_code == 200
    assert (await parent.post(f"{path}/attempts")).status_code == 403
    assert (await parent.get(f"{path}/results")).status_code == 403
    assert (await parent.get("/api/v1/question-bank")).status_code == 404
    pupil = await as_user("pupil.a")
    attempt = (await pupil.post(f"{path}/attempts")).json()
    # An attempt not handed in is the pupil's alone.
    assert (await parent.get(f"/api/v1/attempts/{attempt['id']}")).status_code == 409
    teacher = await as_user("teacher.a")
    gift = await teacher.get(f"{path}/gift")
    assert gift.status_code == 200
    assert "attachment" in gift.headers["content-disposition"]
    assert "=Paris" in gift.text
    assert (await pupil.get(f"{path}/gift")).status_code == 404
    started = await teacher.put(f"/api/v1/homework/{work['id']}/exercise", json={"gift": GIFT})
    assert started.status_code == 409  # a pupil has started: questions no longer change
