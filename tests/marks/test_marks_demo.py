"""The demo school has a term of marks: its pupil and parent see averages at once."""

from __future__ import annotations

from preau.adapters.sql.schema import evaluations, marks
from preau.demo.school import DEMO_PASSWORD, seed_demo
from tests.helpers import App, count_rows, login


async def test_the_demo_school_has_a_term_of_marks(app: App) -> None:
    await seed_demo(app.services)
    counts = [await count_rows(app.services, table) for table in (evaluations, marks)]
    assert counts[0] >= 12
    assert counts[1] > counts[0]
    await seed_demo(app.services)
    assert [await count_rows(app.services, table) for table in (evaluations, marks)] == counts
    for username in ("eleve.demo", "parent.demo"):
        client = app.client_for()
        await login(client, username, DEMO_PASSWORD)
        page = await client.get("/marks", follow_redirects=True)
        assert page.status_code == 200, username
        assert "Mathématiques" in page.text
        assert "Français" in page.text
    teacher = app.client_for()
    await login(teacher, "prof.demo", DEMO_PASSWORD)
    home = await teacher.get("/marks")
    assert "6e A" in home.text
