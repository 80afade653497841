"""The demo school has a week of attendance: roll calls, a few absences, and the demo
parent's justification waiting on the office's desk."""

from __future__ import annotations

import sqlalchemy as sa

from preau.adapters.sql.schema import absences, roll_calls
from preau.demo.school import DEMO_PASSWORD, seed_demo
from tests.helpers import App, count_rows, login


async def test_the_demo_school_has_a_week_of_attendance(app: App) -> None:
    await seed_demo(app.services)
    calls = await count_rows(app.services, roll_calls)
    assert calls >= 7  # a week of the demo timetable
    async with app.services.engine.connect() as connection:
        states = [row.state for row in await connection.execute(sa.select(absences.c.state))]
    assert states.count("pending") == 1
    assert "unjustified" in states
    await seed_demo(app.services)
    assert await count_rows(app.services, roll_calls) == calls
    parent = app.client_for()
    await login(parent, "parent.demo", DEMO_PASSWORD)
    page = await parent.get("/attendance", follow_redirects=True)
    assert "Justifier cette absence" in page.text
    assert "Justification en attente" in page.text
    office = app.client_for()
    await login(office, "vie-scolaire.demo", DEMO_PASSWORD)
    desk = await office.get("/attendance")
    assert desk.status_code == 200
    assert "Fièvre" not in desk.text  # the desk lists; the pupil's page shows the comment
