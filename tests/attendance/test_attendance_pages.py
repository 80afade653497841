"""The attendance pages through HTTP: a teacher's lessons of the day and the roll call form
(a bad line re-shown with its sentence, nothing saved), the parent's justification form
with a file, the office's answer and class view, the period form."""

from __future__ import annotations

import re

import httpx

from preau.adapters.sql.schema import absences, roll_calls
from tests.attendance.conftest import DAY, PDF, add_lesson
from tests.helpers import App, School, count_rows, csrf_from, login


async def signed_in(app: App, username: str) -> httpx.AsyncClient:
    client = app.client_for()
    response = await login(client, username)
    assert response.status_code in (302, 303), response.text
    return client


async def test_the_roll_call_form_and_the_justification_form(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    pupil = school.people["pupil"]
    lesson = await add_lesson(app, school)
    teacher = await signed_in(app, "teacher.a")
    home = await teacher.get("/attendance")
    assert home.status_code == 200
    address = f"/attendance/lessons/{lesson['id']}/{DAY}"
    assert address in home.text
    page = await teacher.get(address)
    assert page.status_code == 200
    assert f'name="s.{pupil}" value="present" checked' in page.text
    token = csrf_from(page.text)
    bad = await teacher.post(address, data={"csrf_token": token, f"s.{pupil}": "late"})
    assert bad.status_code == 400
    assert "minutes de retard" in bad.text
    assert await count_rows(app.services, roll_calls) == 0
    saved = await teacher.post(address, data={"csrf_token": token, f"s.{pupil}": "absent"})
    assert saved.status_code in (302, 303)
    assert (await teacher.get(saved.headers["location"])).text.count("checked") == 1
    assert await count_rows(app.services, absences) == 1

    parent = await signed_in(app, "parent.a")
    child = await parent.get("/attendance", follow_redirects=True)
    assert "Non justifiée" in child.text
    absence_id = int(re.search(r"/attendance/absences/(\d+)/justify", child.text).group(1))  # type: ignore[union-attr]  # the form is on the page
    sent = await parent.post(
        f"/attendance/absences/{absence_id}/justify",
        data={"csrf_token": csrf_from(child.text), "reason": "illness", "comment": "Grippe",
              "pupil_id": str(pupil)},
        files={"file": ("certificat.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    assert sent.status_code in (302, 303), sent.text
    staff = await signed_in(app, "staff.a")
    desk = await staff.get("/attendance")
    assert f"#absence-{absence_id}" in desk.text
    pupil_page = await staff.get(f"/attendance/pupils/{pupil}")
    assert "certificat.pdf" in pupil_page.text
    refused = await staff.post(
        f"/attendance/absences/{absence_id}/answer",
        data={"csrf_token": csrf_from(pupil_page.text), "accept": "0", "pupil_id": str(pupil)},
    )
    assert refused.status_code == 400
    assert "pourquoi elle est refusée" in refused.text
    accepted = await staff.post(
        f"/attendance/absences/{absence_id}/answer",
        data={"csrf_token": csrf_from(pupil_page.text), "accept": "1", "pupil_id": str(pupil)},
    )
    assert accepted.status_code in (302, 303)
    assert "Justifiée" in (await staff.get(accepted.headers["location"])).text
    view = await staff.get(f"/attendance/groups/{school.class_id}")
    assert view.status_code == 200
    assert "SchoolA Pupil" in view.text
    period = await staff.post(
        f"/attendance/pupils/{pupil}/absences",
        data={"csrf_token": csrf_from(view.text), "first_day": "2026-11-25",
              "first_half": "morning", "last_day": "2026-11-24", "last_half": "afternoon"},
    )  # fmt: skip
    assert period.status_code == 400
    assert "avant son début" in period.text
