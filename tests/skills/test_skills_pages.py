"""Skills pages through HTTP: a teacher makes an evaluation of skills only from the form,
enters levels in its grid (only the cells changed; a bad cell is named and nothing is
saved), pupils and parents read the summary in French, and administrators add a
framework of their own."""

from __future__ import annotations

from tests.helpers import App, School, csrf_from, login
from tests.marks.conftest import bearer, with_trimesters
from tests.marks.test_marks_http import enrol_pupils
from tests.skills.conftest import socle


async def test_a_teacher_assesses_skills_from_the_pages_and_the_family_reads_them(  # noqa: PLR0915 - one story from the form to the family's page, told in order
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    await with_trimesters(app, school)
    pupil = school.people["pupil"]
    (classmate,) = await enrol_pupils(app, school, 1)
    found = await socle(app)
    client = app.client_for()
    await login(client, "teacher.a")
    form_page = await client.get(f"/marks/groups/{school.class_id}/evaluations/new")
    assert form_page.status_code == 200
    assert "Socle commun" in form_page.text
    assert "Les méthodes et outils pour apprendre" in form_page.text
    created = await client.post(
        f"/marks/groups/{school.class_id}/evaluations",
        data={
            "csrf_token": csrf_from(form_page.text),
            "subject": "Maths",
            "title": "Exposé",
            "day": "2026-11-20",
            "out_of": "20",
            "coefficient": "1",
            "skill_ids": [str(found["1.1"]), str(found["2"])],
        },
    )  # no "marked": skills only
    assert created.status_code in (302, 303), created.text
    grid_path = created.headers["location"]
    assert grid_path.startswith("/skills/evaluations/")
    evaluation_id = int(grid_path.rsplit("/", 1)[1])
    grid = await client.get(grid_path)
    assert grid.status_code == 200
    cell = f"l.{found['1.1']}.{pupil}"
    assert f'name="{cell}"' in grid.text
    assert "data-marks-grid" in grid.text
    # The marks grid lists it under the skills, not as a column of marks.
    marks_page = await client.get(f"/marks/groups/{school.class_id}")
    assert f'href="/skills/evaluations/{evaluation_id}"' in marks_page.text
    assert "Aucune évaluation" in marks_page.text

    other_cell = f"l.{found['2']}.{classmate}"
    form = {
        "csrf_token": csrf_from(grid.text),
        cell: "ms",
        "o." + cell[2:]: "",
        other_cell: "",
        "o." + other_cell[2:]: "",
    }
    saved = await client.post(grid_path, data=form)
    assert saved.status_code in (302, 303), saved.text
    shown = await client.get(saved.headers["location"])
    assert "1 niveau enregistré." in shown.text
    assert 'value="MS"' in shown.text
    refused = await client.post(
        grid_path,
        data={**form, "csrf_token": csrf_from(shown.text), cell: "5", "o." + cell[2:]: "MS"},
    )
    assert refused.status_code == 400
    assert "Écrivez un niveau" in refused.text
    assert 'value="5"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    teacher = await bearer(app, "teacher.a")
    levels = (await teacher.get(f"/api/v1/skills/evaluations/{evaluation_id}/levels")).json()
    assert {row["pupil_id"]: row["levels"] for row in levels["rows"]}[pupil] == [
        "satisfactory",
        None,
    ]

    for username, path, title in (
        ("pupil.a", f"/skills/pupils/{pupil}", "Mes compétences"),
        ("parent.a", f"/marks/pupils/{pupil}", "Compétences"),
        ("parent.a", f"/skills/pupils/{pupil}", "Compétences de Pupil SchoolA"),
        ("staff.a", f"/skills/pupils/{pupil}", "Compétences de Pupil SchoolA"),
    ):
        reader = app.client_for()
        await login(reader, username)
        page = await reader.get(path)
        assert page.status_code == 200, (username, path)
        assert title in page.text, (username, path)
    assert "Maîtrise satisfaisante" in page.text
    assert "la langue française" in page.text
    other = app.client_for()
    await login(other, "other-pupil.a")
    assert (await other.get(f"/skills/pupils/{pupil}")).status_code == 404
    english = app.client_for(headers={"accept-language": "en"})
    await login(english, "pupil.a")
    page = await english.get(f"/skills/pupils/{pupil}")
    assert "the French language, spoken and written" in page.text
    assert "Satisfactory mastery" in page.text


async def test_administrators_add_a_framework_of_their_own(
    app: App, world: dict[str, School]
) -> None:
    client = app.client_for()
    await login(client, "admin.a")
    page = await client.get("/skills/frameworks")
    assert page.status_code == 200
    assert "fixé par le ministère" in page.text
    created = await client.post(
        "/skills/frameworks", data={"csrf_token": csrf_from(page.text), "name": "Oral du DNB"}
    )
    assert created.status_code in (302, 303), created.text
    page = await client.get("/skills/frameworks")
    framework_id = created.headers["location"].rsplit("-", 1)[1]
    added = await client.post(
        f"/skills/frameworks/{framework_id}/skills",
        data={"csrf_token": csrf_from(page.text), "code": "O1", "name": "Argumenter"},
    )
    assert added.status_code in (302, 303), added.text
    page = await client.get("/skills/frameworks")
    assert "Argumenter" in page.text
    empty = await client.post(
        f"/skills/frameworks/{framework_id}/skills",
        data={"csrf_token": csrf_from(page.text), "code": "", "name": "Sans code"},
    )
    assert empty.status_code == 400
    assert "code court" in empty.text
    teacher = app.client_for()
    await login(teacher, "teacher.a")
    page = await teacher.get("/skills/frameworks")
    assert "Créer le référentiel" not in page.text
    refused = await teacher.post(
        "/skills/frameworks", data={"csrf_token": csrf_from(page.text), "name": "Le mien"}
    )
    assert refused.status_code == 403
