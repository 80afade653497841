"""Skills through HTTP on SQLite and PostgreSQL: every school has the socle commun, an
evaluation carries a mark, skills or both, levels entered a grid at a time (idempotent,
audited, all or nothing), the pupil's summary, a school's own framework, and the report
card and summary served warm with no SQL until a write changes them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from preau.actions.directory import create_school
from preau.adapters.sql.schema import marks_audit, skill_frameworks, skill_levels, skills
from tests.helpers import App, QueryCounter, School, count_rows
from tests.marks.conftest import bearer, evaluation, with_trimesters
from tests.marks.test_marks_http import enrol_pupils
from tests.skills.conftest import skills_evaluation, socle


async def test_every_school_has_the_socle_commun_in_french_and_english(
    app: App, world: dict[str, School]
) -> None:
    teacher = await bearer(app, "teacher.a")
    frameworks = (await teacher.get("/api/v1/skills/frameworks")).json()
    assert [item["built_in"] for item in frameworks] == [True]
    found = frameworks[0]
    assert found["name"].startswith("Socle commun")
    assert found["name_en"] == "Common core of knowledge, skills and culture"
    codes = [(skill["code"], skill["assessable"]) for skill in found["skills"]]
    assert codes == [
        ("1", False), ("1.1", True), ("1.2", True), ("1.3", True), ("1.4", True),
        ("2", True), ("3", True), ("4", True), ("5", True),
    ]  # fmt: skip
    assert all(skill["name_en"] for skill in found["skills"])
    # A school created later has it too; creating a school twice does not give it twice.
    later = await create_school(app.services, uai="0750009J", name="Collège Tardif")
    await create_school(app.services, uai="0750009J", name="Collège Tardif")
    async with app.services.engine.connect() as connection:
        counted = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(skills)
                .join(skill_frameworks, skill_frameworks.c.id == skills.c.framework_id)
                .where(skill_frameworks.c.school_id == later, skill_frameworks.c.built_in)
            )
        ).scalar_one()
    assert counted == 9


async def test_an_evaluation_of_skills_only_is_in_no_grid_and_no_average(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    await with_trimesters(app, school)
    teacher = await bearer(app, "teacher.a")
    marked = await evaluation(app, school)
    await teacher.put(
        f"/api/v1/marks/evaluations/{marked['id']}/marks",
        json={"marks": [{"pupil_id": school.people["pupil"], "value": 12}]},
    )
    only = await skills_evaluation(app, school, marked=False, title="Oral")
    assert (only["marked"], only["out_of"], only["coefficient"]) == (False, "0", "0")
    assert len(only["skill_ids"]) == 2
    grid = (await teacher.get(f"/api/v1/marks/groups/{school.class_id}/grid")).json()
    assert [column["evaluation"]["id"] for column in grid["columns"]] == [marked["id"]]
    parent = await bearer(app, "parent.a")
    card = (await parent.get(f"/api/v1/marks/pupils/{school.people['pupil']}/report-card")).json()
    assert card["general_average"] == "12.00"
    assert [mark["evaluation_id"] for mark in card["subjects"][0]["marks"]] == [marked["id"]]
    # It takes no mark, and no total or coefficient.
    refused = await teacher.put(
        f"/api/v1/marks/evaluations/{only['id']}/marks",
        json={"marks": [{"pupil_id": school.people["pupil"], "value": 12}]},
    )
    assert refused.status_code == 400
    assert "seulement sur des compétences" in refused.json()["detail"]
    assert (
        await teacher.patch(f"/api/v1/marks/evaluations/{only['id']}", json={"out_of": 20})
    ).status_code == 400
    # Neither a mark nor a skill: refused, nothing written.
    nothing = await teacher.post(
        "/api/v1/marks/evaluations",
        json={
            "group_id": school.class_id, "subject": "Maths", "title": "Rien",
            "day": "2026-11-20", "marked": False, "skill_ids": [],
        },
    )  # fmt: skip
    assert nothing.status_code == 400
    assert "une note, des compétences, ou les deux" in nothing.json()["detail"]
    # A domain with skills under it is not assessed itself.
    domain = await teacher.post(
        "/api/v1/marks/evaluations",
        json={
            "group_id": school.class_id, "subject": "Maths", "title": "Domaine",
            "day": "2026-11-20", "skill_ids": [(await socle(app))["1"]],
        },
    )  # fmt: skip
    assert domain.status_code == 400


async def test_levels_are_entered_at_once_audited_and_read_in_the_summary(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    await with_trimesters(app, school)
    pupil = school.people["pupil"]
    classmate = (await enrol_pupils(app, school, 1))[0]
    found = await socle(app)
    first = await skills_evaluation(app, school, marked=False, day="2026-10-05")
    later = await skills_evaluation(app, school, codes=("1.1",), day="2026-11-16")
    teacher = await bearer(app, "teacher.a")
    path = f"/api/v1/skills/evaluations/{first['id']}/levels"
    levels = {
        "levels": [
            {"pupil_id": pupil, "skill_id": found["1.1"], "value": "MF"},
            {"pupil_id": pupil, "skill_id": found["2"], "value": 4},
            {"pupil_id": classmate, "skill_id": found["1.1"], "value": "ms"},
        ]
    }
    response = await teacher.put(path, json=levels)
    assert response.status_code == 200, response.text
    rows = {row["pupil_id"]: row["levels"] for row in response.json()["rows"]}
    assert rows[pupil] == ["fragile", "very_good"]
    assert rows[classmate] == ["satisfactory", None]
    audited = await count_rows(app.services, marks_audit)
    again = await teacher.put(path, json=levels)
    assert again.json() == response.json()
    assert await count_rows(app.services, marks_audit) == audited  # idempotent: nothing new
    async with app.services.engine.connect() as connection:
        changes = (
            await connection.execute(
                sa.select(marks_audit.c.change, marks_audit.c.after)
                .where(marks_audit.c.evaluation_id == first["id"], marks_audit.c.pupil_id == pupil)
                .order_by(marks_audit.c.id)
            )
        ).all()
    assert [change for change, _after in changes] == ["skill", "skill"]
    assert changes[0].after == {"skill_id": found["1.1"], "level": "fragile"}

    # One bad cell refuses them all: nothing is written.
    before = await count_rows(app.services, skill_levels)
    for bad in (
        {"pupil_id": pupil, "skill_id": found["1.1"], "value": "7"},
        {"pupil_id": school.people["other_pupil"], "skill_id": found["1.1"], "value": "1"},
        {"pupil_id": pupil, "skill_id": found["3"], "value": "1"},
    ):
        refused = await teacher.put(
            path,
            json={"levels": [{"pupil_id": classmate, "skill_id": found["2"], "value": 1}, bad]},
        )
        assert refused.status_code == 400, refused.text
    assert await count_rows(app.services, skill_levels) == before

    # The summary shows each skill's latest level, and every assessment of it.
    await teacher.put(
        f"/api/v1/skills/evaluations/{later['id']}/levels",
        json={"levels": [{"pupil_id": pupil, "skill_id": found["1.1"], "value": "TB"}]},
    )
    for username in ("pupil.a", "parent.a", "teacher.a", "staff.a"):
        reader = await bearer(app, username)
        summary = await reader.get(f"/api/v1/skills/pupils/{pupil}/summary")
        assert summary.status_code == 200, (username, summary.text)
    body = summary.json()
    assert body["term_name"] == "Trimestre 1"
    domains = {domain["code"]: domain for domain in body["frameworks"][0]["domains"]}
    assert set(domains) == {"1", "2"}
    language = domains["1"]["skills"][0]
    assert (language["code"], language["level"]) == ("1.1", "very_good")
    assert [item["level"] for item in language["assessments"]] == ["fragile", "very_good"]
    assert [skill["level"] for skill in domains["1"]["skills"][1:]] == [None, None, None]
    assert domains["2"]["skills"][0]["level"] == "very_good"
    # Clearing a level: an empty cell.
    await teacher.put(
        f"/api/v1/skills/evaluations/{later['id']}/levels",
        json={"levels": [{"pupil_id": pupil, "skill_id": found["1.1"], "value": ""}]},
    )
    summary = (await reader.get(f"/api/v1/skills/pupils/{pupil}/summary")).json()
    assert summary["frameworks"][0]["domains"][0]["skills"][0]["level"] == "fragile"


async def test_a_school_adds_its_own_framework_and_the_socle_stays_as_it_is(
    app: App, world: dict[str, School]
) -> None:
    admin = await bearer(app, "admin.a")
    created = await admin.post("/api/v1/skills/frameworks", json={"name": "Oral du brevet"})
    assert created.status_code == 201, created.text
    framework = created.json()
    path = f"/api/v1/skills/frameworks/{framework['id']}/skills"
    domain = (await admin.post(path, json={"code": "O", "name": "S'exprimer à l'oral"})).json()
    domain_id = domain["skills"][0]["id"]
    added = await admin.post(
        path, json={"code": "O.1", "name": "Argumenter", "parent_id": domain_id}
    )
    assert added.status_code == 201
    shown = added.json()["skills"]
    assert [(skill["code"], skill["assessable"]) for skill in shown] == [
        ("O", False),
        ("O.1", True),
    ]
    # A skill under a skill is refused; so is changing the socle commun.
    deeper = await admin.post(
        path, json={"code": "O.1.a", "name": "Trop profond", "parent_id": shown[1]["id"]}
    )
    assert deeper.status_code == 400
    socle_id = next(
        item["id"]
        for item in (await admin.get("/api/v1/skills/frameworks")).json()
        if item["built_in"]
    )
    refused = await admin.post(
        f"/api/v1/skills/frameworks/{socle_id}/skills", json={"code": "6", "name": "Sixième"}
    )
    assert refused.status_code == 403
    assert "fixé par le ministère" in refused.json()["detail"]


async def _levels_grid_queries(app: App, school: School, letter: str, pupils: int) -> int:
    added = await enrol_pupils(app, school, pupils)
    username = f"teacher.{letter}"
    found = await socle(app, username)
    created = await skills_evaluation(app, school, username=username)
    teacher = await bearer(app, username)
    path = f"/api/v1/skills/evaluations/{created['id']}/levels"
    response = await teacher.put(
        path,
        json={
            "levels": [
                {"pupil_id": pupil, "skill_id": found["1.1"], "value": "3"} for pupil in added
            ]
        },
    )
    assert response.status_code == 200
    counter = QueryCounter(app.services.engine)
    with counter.counting() as queries:
        grid = await teacher.get(path)
    assert len(grid.json()["rows"]) == pupils + 1
    return len(queries)


async def test_a_levels_grid_costs_the_same_queries_for_5_or_30_pupils(
    app: App, world: dict[str, School]
) -> None:
    small = await _levels_grid_queries(app, world["a"], "a", 5)
    large = await _levels_grid_queries(app, world["b"], "b", 30)
    # The evaluation and the reader's links to its group, the group and those links again
    # (the whole class), the evaluation's skills, the pupils, the levels.
    assert small == large == 7, (small, large)


async def test_the_report_card_and_summary_are_served_warm_until_a_write(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    await with_trimesters(app, school)
    pupil = school.people["pupil"]
    found = await socle(app)
    created = await skills_evaluation(app, school)
    teacher = await bearer(app, "teacher.a")
    parent = await bearer(app, "parent.a")
    card_path = f"/api/v1/marks/pupils/{pupil}/report-card"
    summary_path = f"/api/v1/skills/pupils/{pupil}/summary"
    counter = QueryCounter(app.services.engine)

    async def read(path: str) -> tuple[int, Any]:
        with counter.counting() as queries:
            response = await parent.get(path)
        assert response.status_code == 200, response.text
        return len(queries), response.json()

    cold, card = await read(card_path)
    assert cold > 0
    assert card["general_average"] is None
    warm, again = await read(card_path)
    assert (warm, again) == (0, card)  # warm: no SQL at all

    # A mark entered moves the card on at once.
    await teacher.put(
        f"/api/v1/marks/evaluations/{created['id']}/marks",
        json={"marks": [{"pupil_id": pupil, "value": "15,5"}]},
    )
    cold, card = await read(card_path)
    assert cold > 0
    assert card["general_average"] == "15.50"
    assert (await read(card_path))[0] == 0

    # The summary likewise, and a level entered moves it on.
    cold, summary = await read(summary_path)
    # The pupil's groups and their read versions, the pupil and the parent's children,
    # terms, frameworks and skills, the levels (docs/skills.md).
    assert cold == 8
    assert summary["frameworks"] == []
    assert (await read(summary_path))[0] == 0
    await teacher.put(
        f"/api/v1/skills/evaluations/{created['id']}/levels",
        json={"levels": [{"pupil_id": pupil, "skill_id": found["2"], "value": "2"}]},
    )
    cold, summary = await read(summary_path)
    assert cold > 0
    assert summary["frameworks"][0]["domains"][0]["skills"][0]["level"] == "fragile"

    # A skills write moves the group's report cards on too; then they are warm again.
    assert (await read(card_path))[0] > 0
    assert (await read(card_path))[0] == 0

    # The school's way of counting changes every card of the school.
    admin = await bearer(app, "admin.a")
    await admin.put(
        "/api/v1/marks/settings",
        json={"term_kind": "trimester", "subject_coefficients": {"Maths": 2}},
    )
    cold, card = await read(card_path)
    assert cold > 0
    assert card["subjects"][0]["coefficient"] == "2"

    # A warm card is only for those allowed to read it: another parent is still refused.
    other = await bearer(app, "parent.b")
    assert (await other.get(card_path)).status_code == 404
    pupil_b = await bearer(app, "other-pupil.a")
    assert (await pupil_b.get(card_path)).status_code == 404
