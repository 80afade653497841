"""`preau demo` seeds a school where every profile has something to see, once."""

from __future__ import annotations

from preau.adapters.sql.schema import homework, people, timetable_lessons
from preau.demo.school import DEMO_PASSWORD, seed_demo
from tests.helpers import App, count_rows, login


async def test_demo_is_seeded_once_and_its_logins_work(app: App) -> None:
    first = await seed_demo(app.services)
    counts = [
        await count_rows(app.services, table) for table in (people, homework, timetable_lessons)
    ]
    second = await seed_demo(app.services)
    assert [
        await count_rows(app.services, t) for t in (people, homework, timetable_lessons)
    ] == counts
    assert counts[1] > 0
    assert counts[2] > 0
    assert [login.username for login in first] == [login.username for login in second]
    # The not-yet-activated pupil gets a fresh code each run; the old one stops working.
    assert first[-1].secret != second[-1].secret
    for demo_login in second[:-1]:
        assert demo_login.secret == DEMO_PASSWORD
        response = await login(app.client_for(), demo_login.username, DEMO_PASSWORD)
        assert response.status_code in (302, 303), demo_login.username
    client = app.client_for()
    await login(client, "eleve.demo", DEMO_PASSWORD)
    timetable = await client.get("/api/v1/timetable/week")
    assert timetable.status_code == 200, timetable.text
    occurrences = timetable.json()["occurrences"]
    assert {o["group_name"] for o in occurrences} == {"6e A"}
    assert any(o["virtual"] for o in occurrences)
