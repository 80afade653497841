"""The pages, without JavaScript: a teacher sets, edits, copies and deletes homework; a
pupil turns in through the form; the teacher returns it; a parent reads it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from tests.classwork.conftest import PDF, PNG, Clock
from tests.helpers import App, School, csrf_from, login


def local(clock: Clock, seconds: float) -> str:
    moment = datetime.fromtimestamp(clock.now + seconds, UTC).astimezone(ZoneInfo("Europe/Paris"))
    return moment.strftime("%Y-%m-%dT%H:%M")


async def signed_in(app: App, username: str) -> httpx.AsyncClient:
    browser = app.client_for(headers={"accept-language": "en"})
    await login(browser, username)
    return browser


async def test_teacher_pupil_and_parent_pages(
    app: App, world: dict[str, School], clock: Clock
) -> None:
    teacher = await signed_in(app, "teacher.a")
    form = await teacher.get(f"/classwork/new?group={world['a'].class_id}")
    assert form.status_code == 200
    created = await teacher.post(
        "/classwork/new",
        data={
            "csrf_token": csrf_from(form.text),
            "group_id": str(world["a"].class_id),
            "title": "Rédaction",
            "instructions": "Écrire **20 lignes**.",
            "instructions_format": "markdown",
            "publish_at": "",
            "due_at": local(clock, 86400),
            "cutoff_at": "",
            "estimated_minutes": "45",
            "hand_in_expected": "1",
        },
        files=[("files", ("consignes.pdf", PDF, "application/pdf"))],
    )
    assert created.status_code in (302, 303), created.text
    homework_path = created.headers["location"].split("?")[0]
    detail = await teacher.get(homework_path)
    assert "<strong>20 lignes</strong>" in detail.text
    assert "consignes.pdf" in detail.text
    listing = await teacher.get("/classwork")
    assert "Rédaction" in listing.text

    pupil = await signed_in(app, "pupil.a")
    todo = await pupil.get("/todo")
    assert "Rédaction" in todo.text
    assert "about 45 min" in todo.text
    page = await pupil.get(homework_path)
    file_url = re.search(r'href="(/files/[0-9a-f]+)"', page.text)
    assert file_url
    assert (await pupil.get(file_url.group(1))).content == PDF
    turned = await pupil.post(
        f"{homework_path}/turn-in",
        data={
            "csrf_token": csrf_from(page.text),
            "text": "Il était une fois…",
            "idempotency_key": "form-key-001",
        },
        files=[("files", ("brouillon.png", PNG, "image/png"))],
    )
    assert turned.status_code in (302, 303), turned.text
    after = await pupil.get(turned.headers["location"])
    assert "Your work is turned in." in after.text
    assert "brouillon.png" in after.text
    taken = await pupil.post(
        f"{homework_path}/take-back", data={"csrf_token": csrf_from(after.text)}
    )
    assert taken.status_code in (302, 303)
    again_form = await pupil.get(homework_path)
    again = await pupil.post(
        f"{homework_path}/turn-in",
        data={
            "csrf_token": csrf_from(again_form.text),
            "text": "Version finale",
            "idempotency_key": "form-key-002",
        },
    )
    assert again.status_code in (302, 303)

    pupil_id = world["a"].people["pupil"]
    review = await teacher.get(f"{homework_path}/hand-ins/{pupil_id}")
    assert "Version finale" in review.text
    returned = await teacher.post(
        f"{homework_path}/hand-ins/{pupil_id}/return",
        data={
            "csrf_token": csrf_from(review.text),
            "feedback": "Belle histoire.",
            "mark": "15,5",
            "mark_out_of": "20",
        },
    )
    assert returned.status_code in (302, 303), returned.text
    bad_mark = await teacher.post(
        f"{homework_path}/hand-ins/{pupil_id}/return",
        data={
            "csrf_token": csrf_from(review.text),
            "feedback": "x",
            "mark": "25",
            "mark_out_of": "20",
        },
    )
    assert bad_mark.status_code == 400
    assert "between 0 and the total" in bad_mark.text

    assert "Belle histoire." in (await pupil.get(homework_path)).text
    assert "mark 15.5\xa0/\xa020" in (await pupil.get("/todo")).text
    parent = await signed_in(app, "parent.a")
    children = await parent.get("/children", follow_redirects=True)
    assert "Rédaction" in children.text
    parent_view = await parent.get(f"{homework_path}?pupil={pupil_id}")
    assert "Belle histoire." in parent_view.text
    assert "turn-in" not in parent_view.text  # read-only: no form
    for client in (teacher, pupil, parent):
        await client.aclose()


async def test_edit_copy_extend_and_delete_in_pages(
    app: App, world: dict[str, School], clock: Clock
) -> None:
    from preau.adapters.sql.schema import enrolments

    async with app.services.engine.begin() as connection:
        await connection.execute(
            enrolments.insert().values(
                school_id=world["a"].id,
                group_id=world["a"].other_class_id,
                person_id=world["a"].people["teacher"],
                role="teacher",
            )
        )
    teacher = await signed_in(app, "teacher.a")
    form = await teacher.get("/classwork/new")
    token = csrf_from(form.text)
    fields = {
        "csrf_token": token,
        "group_id": str(world["a"].class_id),
        "title": "Lecture",
        "instructions": "Lire le chapitre 3",
        "instructions_format": "text",
        "due_at": local(clock, 86400),
        "hand_in_expected": "0",
    }
    before_publish = await teacher.post(
        "/classwork/new", data={**fields, "publish_at": local(clock, 2 * 86400)}
    )
    assert before_publish.status_code == 400
    assert "after the publish time" in before_publish.text
    created = await teacher.post("/classwork/new", data=fields)
    path = created.headers["location"].split("?")[0]
    edit = await teacher.get(f"{path}/edit")
    assert 'value="Lecture"' in edit.text
    saved = await teacher.post(
        f"{path}/edit", data={**fields, "title": "Lecture (chapitres 3 et 4)"}
    )
    assert saved.status_code in (302, 303), saved.text
    copied = await teacher.post(
        f"{path}/copy", data={"csrf_token": token, "group_id": str(world["a"].other_class_id)}
    )
    assert copied.status_code in (302, 303), copied.text
    other_pupil = await signed_in(app, "other-pupil.a")
    assert "Lecture (chapitres 3 et 4)" in (await other_pupil.get("/todo")).text
    pupil = await signed_in(app, "pupil.a")
    todo = await pupil.get("/todo")
    assert "changed" in todo.text
    ticked = await pupil.post(
        f"/todo/{path.rsplit('/', 1)[1]}/done",
        data={"csrf_token": csrf_from(todo.text), "done": "1"},
    )
    assert ticked.status_code in (302, 303)
    assert "Done (untick)" in (await pupil.get("/todo")).text
    deleted = await teacher.post(f"{path}/delete", data={"csrf_token": token})
    assert deleted.status_code in (302, 303)
    assert "Lecture (chapitres 3 et 4)" not in (await pupil.get("/todo")).text
    assert (await pupil.get(path)).status_code == 404
    for client in (teacher, pupil, other_pupil):
        await client.aclose()


async def test_staff_read_a_groups_homework(
    app: App, world: dict[str, School], clock: Clock
) -> None:
    from tests.classwork.conftest import Api, post_homework
    from tests.helpers import api_token

    teacher = Api(app.client, await api_token(app.client, "teacher.a"))
    await post_homework(teacher, world["a"], clock, title="Devoir de la classe")
    staff = await signed_in(app, "staff.a")
    everything = await staff.get("/classwork")
    assert everything.status_code == 200
    assert "class a" in everything.text  # the groups to choose from
    one_group = await staff.get(f"/classwork?group={world['a'].class_id}")
    assert "Devoir de la classe" in one_group.text
    assert "/classwork/new" not in one_group.text  # staff read, teachers set
    await staff.aclose()
