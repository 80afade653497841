"""The demo school has a term of skills: its pupil and parent see a summary at once, its
teacher a levels grid."""

from __future__ import annotations

from preau.adapters.sql.schema import evaluation_skills, skill_levels
from preau.demo.school import DEMO_PASSWORD, seed_demo
from tests.helpers import App, count_rows, login


async def test_the_demo_school_has_a_term_of_skills(app: App) -> None:
    await seed_demo(app.services)
    counts = [await count_rows(app.services, table) for table in (evaluation_skills, skill_levels)]
    assert counts[0] >= 6
    assert counts[1] > counts[0]
    await seed_demo(app.services)
    assert [
        await count_rows(app.services, table) for table in (evaluation_skills, skill_levels)
    ] == counts
    for username in ("eleve.demo", "parent.demo"):
        client = app.client_for()
        await login(client, username, DEMO_PASSWORD)
        card = await client.get("/marks", follow_redirects=True)
        summary = await client.get(str(card.url).replace("/marks/", "/skills/"))
        assert summary.status_code == 200, username
        assert "Socle commun" in summary.text, username
        assert "Maîtrise" in summary.text, username
    teacher = app.client_for()
    await login(teacher, "prof.demo", DEMO_PASSWORD)
    home = await teacher.get("/marks", follow_redirects=True)
    assert home.status_code == 200
