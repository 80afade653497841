"""The marks book through HTTP on SQLite and PostgreSQL: entering a column, reading it as
each person concerned, the audit, bad input refused with nothing written, a returned
hand-in's mark, the school's way of counting, and the queries a grid and a report card
cost whatever the size of the class."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from preau.actions.directory import insert_person
from preau.adapters.sql.schema import enrolments, evaluations, marks, marks_audit, terms
from preau.domain.directory import PersonDraft
from preau.domain.people import Profile
from tests.helpers import App, QueryCounter, School, count_rows
from tests.marks.conftest import MONDAY, TRIMESTERS, bearer, evaluation, with_trimesters, year_id


async def enrol_pupils(app: App, school: School, count: int) -> list[int]:
    """``count`` more pupils in the school's class."""
    found = []
    async with app.services.engine.begin() as connection:
        for number in range(count):
            pupil = await insert_person(
                app.services,
                connection,
                school.id,
                PersonDraft(
                    given_name=f"Élève{number}", family_name="Classe", profile=Profile.PUPIL
                ),
            )
            await connection.execute(
                enrolments.insert().values(
                    school_id=school.id, group_id=school.class_id, person_id=pupil, role="pupil"
                )
            )
            found.append(pupil)
    return found


async def test_a_column_of_marks_is_entered_once_and_read_by_everyone_concerned(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    await with_trimesters(app, school)
    pupil_id = school.people["pupil"]
    classmates = await enrol_pupils(app, school, 2)
    created = await evaluation(app, school, out_of="10", coefficient="2")
    assert (created["out_of"], created["coefficient"]) == ("10", "2")
    column = {
        "marks": [
            {"pupil_id": pupil_id, "value": "7,5"},
            {"pupil_id": classmates[0], "value": 9},
            {"pupil_id": classmates[1], "value": "abs"},
        ]
    }
    teacher = await bearer(app, "teacher.a")
    path = f"/api/v1/marks/evaluations/{created['id']}/marks"
    first = await teacher.put(path, json=column)
    assert first.status_code == 200, first.text
    assert (first.json()["average"], first.json()["minimum"], first.json()["maximum"]) == (
        "8.25",
        "7.50",
        "9.00",
    )
    audited = await count_rows(app.services, marks_audit)
    again = await teacher.put(path, json=column)
    assert again.json() == first.json()
    assert await count_rows(app.services, marks_audit) == audited  # idempotent: nothing new
    cleared = await teacher.put(path, json={"marks": [{"pupil_id": classmates[1], "value": None}]})
    assert str(classmates[1]) not in cleared.json()["marks"]

    history = (await teacher.get(f"/api/v1/marks/evaluations/{created['id']}/history")).json()
    assert [(entry["change"], entry["pupil_id"]) for entry in history] == [
        ("created", None),
        ("mark", pupil_id),
        ("mark", classmates[0]),
        ("mark", classmates[1]),
        ("mark", classmates[1]),
    ]
    assert history[1]["before"] is None
    assert history[1]["after"] == {"points": "7.5"}
    assert history[-1]["before"] == {"special": "absent"}
    assert history[-1]["actor_name"] == "Teacher SchoolA"

    for username in ("pupil.a", "parent.a"):
        reader = await bearer(app, username)
        seen = (await reader.get(f"/api/v1/marks/evaluations/{created['id']}")).json()
        assert seen["marks"] == {str(pupil_id): {"points": "7.5", "special": None}}, username
        assert seen["average"] == "8.25"
        card = (await reader.get(f"/api/v1/marks/pupils/{pupil_id}/report-card")).json()
        assert card["term"]["name"] == "Trimestre 1"
        assert card["subjects"][0]["average"] == "15.00"  # 7.5/10 is 15/20
        assert (card["general_average"], card["class_general_maximum"]) == ("15.00", "18.00")
        refused = await reader.get(f"/api/v1/marks/groups/{school.class_id}/grid")
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
    staff = await bearer(app, "staff.a")
    grid = (await staff.get(f"/api/v1/marks/groups/{school.class_id}/grid")).json()
    assert grid["can_change"] is False
    assert [row["average"] for row in grid["rows"]] == ["18.00", None, "15.00"]
    assert (await staff.put(path, json=column)).status_code == 403
    later = await staff.get(
        f"/api/v1/marks/groups/{school.class_id}/grid?term_id={grid['terms'][1]['id']}"
    )
    assert later.json()["columns"] == []
    stranger = await bearer(app, "teacher.b")
    assert (await stranger.get(f"/api/v1/marks/evaluations/{created['id']}")).status_code == 404


async def test_the_grid_opens_on_the_readers_own_subject(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    await evaluation(app, school, subject="Anglais")  # sorts before the teacher's Maths
    await evaluation(app, school)
    teacher = await bearer(app, "teacher.a")
    grid = (await teacher.get(f"/api/v1/marks/groups/{school.class_id}/grid")).json()
    assert (grid["subject"], grid["subjects"]) == ("Maths", ["Anglais", "Maths"])
    chosen = await teacher.get(f"/api/v1/marks/groups/{school.class_id}/grid?subject=Anglais")
    assert [c["evaluation"]["subject"] for c in chosen.json()["columns"]] == ["Anglais"]


async def test_bad_input_gets_a_sentence_and_writes_nothing(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    teacher = await bearer(app, "teacher.a")
    negative = await teacher.post(
        "/api/v1/marks/evaluations",
        json={
            "group_id": school.class_id,
            "subject": "Maths",
            "title": "Fractions",
            "day": "2026-11-20",
            "coefficient": -1,
        },
    )
    assert negative.status_code == 400
    assert negative.json()["field"] == "coefficient"
    assert "coefficient" in negative.json()["detail"]  # the French sentence names it
    assert await count_rows(app.services, evaluations) == 0

    created = await evaluation(app, school)
    path = f"/api/v1/marks/evaluations/{created['id']}/marks"
    pupil_id = school.people["pupil"]
    for cells, field in (
        ([{"pupil_id": pupil_id, "value": "12"}, {"pupil_id": pupil_id, "value": "21"}], None),
        ([{"pupil_id": pupil_id, "value": "20,5"}], f"marks.{created['id']}.{pupil_id}"),
        (
            [{"pupil_id": pupil_id, "value": 12}, {"pupil_id": school.people["other_pupil"]}],
            f"marks.{created['id']}.{school.people['other_pupil']}",
        ),
        ([{"pupil_id": world["b"].people["pupil"], "value": 12}], None),
        ([{"pupil_id": pupil_id, "value": "douze"}], f"marks.{created['id']}.{pupil_id}"),
    ):
        refused = await teacher.put(path, json={"marks": cells}, headers={"accept-language": "en"})
        assert refused.status_code == 400, cells
        assert refused.json()["detail"].endswith("."), refused.json()
        if field:
            assert refused.json()["field"] == field
    assert await count_rows(app.services, marks) == 0
    above = await teacher.put(path, json={"marks": [{"pupil_id": pupil_id, "value": "21"}]})
    assert above.json()["detail"] == "Une note ne peut pas dépasser le barème de l’évaluation, 20."

    assert (
        await teacher.put(path, json={"marks": [{"pupil_id": pupil_id, "value": 18}]})
    ).is_success
    lowered = await teacher.patch(f"/api/v1/marks/evaluations/{created['id']}", json={"out_of": 10})
    assert lowered.status_code == 400
    assert lowered.json()["field"] == "out_of"

    admin = await bearer(app, "admin.a")
    overlapping = [dict(term) for term in TRIMESTERS]
    overlapping[1]["starts_on"] = "2026-11-15"
    refused = await admin.put(
        "/api/v1/marks/terms",
        json={
            "school_year_id": await year_id(app, school),
            "term_kind": "trimester",
            "terms": overlapping,
        },
    )
    assert refused.status_code == 400
    assert "chevaucher" in refused.json()["detail"]
    assert await count_rows(app.services, terms) == 0
    teacher_terms = await teacher.put(
        "/api/v1/marks/terms",
        json={
            "school_year_id": await year_id(app, school),
            "term_kind": "trimester",
            "terms": TRIMESTERS,
        },
    )
    assert teacher_terms.status_code == 403
    other_year = await admin.put(
        "/api/v1/marks/terms",
        json={
            "school_year_id": await year_id(app, world["b"]),
            "term_kind": "trimester",
            "terms": TRIMESTERS,
        },
    )
    assert other_year.status_code == 400
    assert await count_rows(app.services, terms) == 0


async def test_a_returned_hand_in_mark_lands_in_the_linked_evaluation(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    teacher = await bearer(app, "teacher.a")
    work = await teacher.post(
        "/api/v1/homework",
        json={
            "group_id": school.class_id,
            "title": "Exercices",
            "due_at": "2026-11-30T17:00:00+01:00",
        },
    )
    assert work.status_code == 201, work.text
    homework_id = work.json()["id"]
    foreign = await evaluation(app, world["b"], username="teacher.b", group_id=world["b"].class_id)
    linked = await evaluation(app, school, homework_id=homework_id)
    unlinked = await teacher.patch(
        f"/api/v1/marks/evaluations/{foreign['id']}", json={"homework_id": homework_id}
    )
    assert unlinked.status_code == 404
    pupil = await bearer(app, "pupil.a")
    turned = await pupil.post(
        f"/api/v1/homework/{homework_id}/turn-in",
        json={"text": "Mes réponses", "idempotency_key": "marks-key-1"},
    )
    assert turned.status_code == 200, turned.text
    pupil_id = school.people["pupil"]
    card_path = f"/api/v1/marks/pupils/{pupil_id}/report-card"
    assert (await pupil.get(card_path)).json()["general_average"] is None  # now warm
    returned = await teacher.post(
        f"/api/v1/homework/{homework_id}/hand-ins/{pupil_id}/return",
        json={"feedback": "Bien", "mark": 7, "mark_out_of": 10},
    )
    assert returned.status_code == 200, returned.text
    # The return moved the warm report card on (the group's read version, bumped with it).
    assert (await pupil.get(card_path)).json()["general_average"] == "14.00"
    seen = (await teacher.get(f"/api/v1/marks/evaluations/{linked['id']}")).json()
    assert seen["marks"] == {str(pupil_id): {"points": "14", "special": None}}
    history = (await teacher.get(f"/api/v1/marks/evaluations/{linked['id']}/history")).json()
    assert history[-1]["change"] == "hand_in"
    # Returned again without a mark: the evaluation keeps its mark.
    await pupil.post(
        f"/api/v1/homework/{homework_id}/turn-in",
        json={"text": "Corrigé", "idempotency_key": "marks-key-2"},
    )
    await teacher.post(
        f"/api/v1/homework/{homework_id}/hand-ins/{pupil_id}/return", json={"feedback": "Vu"}
    )
    again = (await teacher.get(f"/api/v1/marks/evaluations/{linked['id']}")).json()
    assert again["marks"] == seen["marks"]


async def test_the_school_may_count_work_not_handed_in_as_zero(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    pupil_id = school.people["pupil"]
    teacher = await bearer(app, "teacher.a")
    for value in ("16", "nr"):
        created = await evaluation(app, school)
        await teacher.put(
            f"/api/v1/marks/evaluations/{created['id']}/marks",
            json={"marks": [{"pupil_id": pupil_id, "value": value}]},
        )
    card_path = f"/api/v1/marks/pupils/{pupil_id}/report-card"
    assert (await teacher.get(card_path)).json()["general_average"] == "16.00"
    admin = await bearer(app, "admin.a")
    settings = {
        "term_kind": "semester",
        "not_handed_in_counts_as_zero": True,
        "subject_coefficients": {"Maths": "2"},
    }
    assert (await teacher.put("/api/v1/marks/settings", json=settings)).status_code == 403
    saved = await admin.put("/api/v1/marks/settings", json=settings)
    assert saved.status_code == 200, saved.text
    assert saved.json()["subject_coefficients"] == {"Maths": "2"}
    card = (await teacher.get(card_path)).json()
    assert card["general_average"] == "8.00"
    assert card["subjects"][0]["coefficient"] == "2"
    bad = await admin.put(
        "/api/v1/marks/settings", json={**settings, "subject_coefficients": {"Maths": "-2"}}
    )
    assert bad.status_code == 400
    assert (await admin.get("/api/v1/marks/settings")).json() == saved.json()


async def test_a_deleted_evaluation_stops_counting_and_stays_in_the_audit(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    pupil_id = school.people["pupil"]
    teacher = await bearer(app, "teacher.a")
    kept = await evaluation(app, school)
    dropped = await evaluation(app, school, title="Rattrapage")
    for created, value in ((kept, "12"), (dropped, "4")):
        await teacher.put(
            f"/api/v1/marks/evaluations/{created['id']}/marks",
            json={"marks": [{"pupil_id": pupil_id, "value": value}]},
        )
    pupil = await bearer(app, "pupil.a")
    assert (await pupil.delete(f"/api/v1/marks/evaluations/{dropped['id']}")).status_code == 403
    assert (await teacher.delete(f"/api/v1/marks/evaluations/{dropped['id']}")).status_code == 204
    card = (await pupil.get(f"/api/v1/marks/pupils/{pupil_id}/report-card")).json()
    assert card["general_average"] == "12.00"
    assert (await teacher.get(f"/api/v1/marks/evaluations/{dropped['id']}")).status_code == 404
    async with app.services.engine.connect() as connection:
        changes = (
            await connection.execute(
                sa.select(marks_audit.c.change)
                .where(marks_audit.c.evaluation_id == dropped["id"])
                .order_by(marks_audit.c.id)
            )
        ).scalars()
        assert list(changes) == ["created", "mark", "deleted"]


async def _counts(app: App, school: School, letter: str, pupils: int) -> tuple[int, int, int]:
    """Queries run by a grid and by a report card (cold, then warm) with ``pupils`` more in
    the class."""
    added = await enrol_pupils(app, school, pupils)
    teacher = await bearer(app, f"teacher.{letter}")
    for number in range(3):
        created = await evaluation(
            app, school, username=f"teacher.{letter}", title=f"Évaluation {number}"
        )
        await teacher.put(
            f"/api/v1/marks/evaluations/{created['id']}/marks",
            json={"marks": [{"pupil_id": pupil, "value": "12"} for pupil in added]},
        )
    counter = QueryCounter(app.services.engine)
    with counter.counting() as grid_queries:
        grid = await teacher.get(f"/api/v1/marks/groups/{school.class_id}/grid")
    assert grid.status_code == 200
    assert len(grid.json()["rows"]) == pupils + 1
    parent = await bearer(app, f"parent.{letter}")
    with counter.counting() as card_queries:
        card = await parent.get(f"/api/v1/marks/pupils/{school.people['pupil']}/report-card")
    assert card.status_code == 200
    with counter.counting() as warm_queries:
        again = await parent.get(f"/api/v1/marks/pupils/{school.people['pupil']}/report-card")
    assert again.json() == card.json()
    return len(grid_queries), len(card_queries), len(warm_queries)


async def test_a_grid_and_a_report_card_cost_the_same_queries_for_5_or_30_pupils(
    app: App, world: dict[str, School]
) -> None:
    await with_trimesters(app, world["a"])
    await with_trimesters(app, world["b"], username="admin.b")
    small = await _counts(app, world["a"], "a", 5)
    large = await _counts(app, world["b"], "b", 30)
    assert small == large
    # Grid: the group and the reader's links to it, the terms, the school's zone (read once
    # per process, here by the grid), the settings and coefficients, the subjects,
    # evaluations, pupils and marks. Report card, cold: the pupil's groups and their read
    # versions (actions/report_cards.py), the pupil and the parent's children, terms,
    # settings, coefficients, evaluations and marks; warm: none.
    assert small == (10, 9, 0), small


async def test_the_grid_page_saves_only_the_cells_changed_and_reports_a_bad_one(
    app: App, world: dict[str, School]
) -> None:
    from tests.helpers import csrf_from, login

    school = world["a"]
    await with_trimesters(app, school)
    pupil_id = school.people["pupil"]
    (classmate,) = await enrol_pupils(app, school, 1)
    created = await evaluation(app, school)
    cell = f"m.{created['id']}.{pupil_id}"
    other_cell = f"m.{created['id']}.{classmate}"
    client = app.client_for()
    await login(client, "teacher.a")
    page = await client.get(f"/marks/groups/{school.class_id}")
    assert page.status_code == 200
    assert f'name="{cell}"' in page.text
    assert "/static/marks.js" in page.text
    # Someone else enters the classmate's mark while this page is open.
    teacher = await bearer(app, "teacher.a")
    await teacher.put(
        f"/api/v1/marks/evaluations/{created['id']}/marks",
        json={"marks": [{"pupil_id": classmate, "value": "11"}]},
    )
    form = {
        "csrf_token": csrf_from(page.text),
        cell: "15,5",
        "o." + cell[2:]: "",
        other_cell: "",  # as shown when the page was loaded: untouched
        "o." + other_cell[2:]: "",
    }
    saved = await client.post(f"/marks/groups/{school.class_id}", data=form)
    assert saved.status_code in (302, 303), saved.text
    shown = await client.get(saved.headers["location"])
    assert "1 note enregistrée." in shown.text
    assert 'value="15,5"' in shown.text
    assert 'value="11"' in shown.text  # the other teacher's mark survived
    refused = await client.post(
        f"/marks/groups/{school.class_id}",
        data={**form, "csrf_token": csrf_from(shown.text), cell: "25", "o." + cell[2:]: "15,5"},
    )
    assert refused.status_code == 400
    assert "ne peut pas dépasser" in refused.text
    assert 'value="25"' in refused.text  # what was typed is kept to be corrected
    assert 'aria-invalid="true"' in refused.text
    view = (await teacher.get(f"/api/v1/marks/evaluations/{created['id']}")).json()
    assert view["marks"][str(pupil_id)]["points"] == "15.5"


async def test_report_card_pages_and_the_csv_download(app: App, world: dict[str, School]) -> None:
    from tests.helpers import login

    school = world["a"]
    await with_trimesters(app, school)
    pupil_id = school.people["pupil"]
    created = await evaluation(app, school, title="=SUM(A1)")
    teacher = await bearer(app, "teacher.a")
    await teacher.put(
        f"/api/v1/marks/evaluations/{created['id']}/marks",
        json={"marks": [{"pupil_id": pupil_id, "value": "12.25"}]},
    )
    for username, path in (
        ("pupil.a", "/marks"),
        ("parent.a", "/marks"),
        ("teacher.a", f"/marks/pupils/{pupil_id}"),
    ):
        client = app.client_for()
        await login(client, username)
        page = await client.get(path, follow_redirects=True)
        assert page.status_code == 200, username
        assert "Moyenne générale" in page.text, username
        assert "12,25" in page.text
        assert "12,25</strong>" in page.text or "12,25" in page.text
    other = app.client_for()
    await login(other, "other-pupil.a")
    assert (await other.get(f"/marks/pupils/{pupil_id}")).status_code == 404

    client = app.client_for()
    await login(client, "teacher.a")
    french = await client.get(f"/marks/groups/{school.class_id}/export.csv")
    assert french.headers["content-type"].startswith("text/csv")
    assert "attachment" in french.headers["content-disposition"]
    text = french.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("Élève;'=SUM(A1) (2026-11-20, /20, coef 1);")
    assert lines[1] == "SchoolA Pupil;12,25;12,25"
    english = await teacher.get(
        f"/api/v1/marks/groups/{school.class_id}/grid.csv", headers={"accept-language": "en"}
    )
    assert english.content.decode("utf-8-sig").splitlines()[1] == "SchoolA Pupil,12.25,12.25"


async def test_the_settings_page_sets_terms_and_refuses_overlaps(
    app: App, world: dict[str, School]
) -> None:
    from tests.helpers import csrf_from, login

    client = app.client_for()
    await login(client, "admin.a")
    page = await client.get("/marks/settings")
    assert page.status_code == 200
    form: dict[str, Any] = {
        "csrf_token": csrf_from(page.text),
        "school_year_id": str(await year_id(app, world["a"])),
        "term_kind": "semester",
        "name1": "Semestre 1",
        "starts1": "2026-09-01",
        "ends1": "2027-01-31",
        "name2": "Semestre 2",
        "starts2": "2027-01-20",
        "ends2": "2027-07-04",
        "coefficients": "Maths : 2\nFrançais: 3",
    }
    refused = await client.post("/marks/settings", data=form)
    assert refused.status_code == 400
    assert "chevaucher" in refused.text
    assert await count_rows(app.services, terms) == 0
    admin = await bearer(app, "admin.a")
    assert (await admin.get("/api/v1/marks/settings")).json()["subject_coefficients"] == {}
    saved = await client.post("/marks/settings", data={**form, "starts2": "2027-02-01"})
    assert saved.status_code in (302, 303)
    assert [term["name"] for term in (await admin.get("/api/v1/marks/terms")).json()] == [
        "Semestre 1",
        "Semestre 2",
    ]
    assert (await admin.get("/api/v1/marks/settings")).json() == {
        "term_kind": "semester",
        "not_handed_in_counts_as_zero": False,
        "subject_coefficients": {"Français": "3", "Maths": "2"},
    }
    _ = MONDAY
