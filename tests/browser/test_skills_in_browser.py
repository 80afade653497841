"""Skills as people would use them, in Chromium against a real server, in French: the
teacher opens the demo class's group work, types a column of levels with the keyboard
(Enter goes down) and saves; the pupil and a parent read the summary. Screenshots of the
evaluation form, the levels grid, the summary and the frameworks, phone and desktop, go
to ``PREAU_SCREENSHOTS`` when it is set."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.test_classwork_in_browser import signed_in
from tests.browser.test_marks_in_browser import screenshot

pytestmark = pytest.mark.browser


def test_levels_typed_by_keyboard_reach_the_pupils_summary(server: Server, browser: Any) -> None:
    teacher = signed_in(browser, server, "teacher")
    teacher.goto(server.url + "/marks")
    teacher.get_by_role("link", name="6e A").click()
    teacher.get_by_role("heading", name="Compétences évaluées").wait_for()
    teacher.get_by_role("link", name="Nouvelle évaluation").click()
    teacher.get_by_text("Les méthodes et outils pour apprendre").wait_for()
    screenshot(teacher, "skills-evaluation-form")
    teacher.goto(server.url + "/marks")
    teacher.get_by_role("link", name="6e A").click()
    teacher.get_by_role("link", name="Travail de groupe").click()
    teacher.get_by_role("heading", name="Compétences · Travail de groupe").wait_for()
    cells = teacher.locator("table.skills-grid tbody tr td:nth-child(2) input")
    count = cells.count()
    assert count >= 5
    cells.first.click()
    values = ["TB", "1", "ms", "MF", "4", "2", "3", "mi"][:count]
    for value in values:
        teacher.keyboard.press("Control+A")
        teacher.keyboard.type(value)
        teacher.keyboard.press("Enter")  # down the column, not a submit
    teacher.get_by_role("button", name="Enregistrer les niveaux").click()
    teacher.locator("p.ok[role=status]", has_text="enregistré").wait_for()
    lea = teacher.get_by_label("Dubois Léa — 2")
    assert lea.input_value() in ("TB", "MI", "MS", "MF")
    lea_level = lea.input_value()
    screenshot(teacher, "skills-grid")

    names = {"TB": "Très bonne maîtrise", "MI": "Maîtrise insuffisante"}
    names |= {"MS": "Maîtrise satisfaisante", "MF": "Maîtrise fragile"}
    for profile, heading in (("pupil", "Mes compétences"), ("parent", "Compétences de Léa")):
        page = signed_in(browser, server, profile)
        page.get_by_role("link", name="Notes").first.click()
        page.get_by_role("link", name="Compétences").first.click()
        page.get_by_role("heading", name=heading).wait_for()
        row = page.locator("table.skills-summary tr", has_text="Les méthodes et outils")
        assert names[lea_level] in row.inner_text()
        screenshot(page, f"skills-summary-{profile}")
        assert not page.errors, page.errors
        page.context.close()

    admin = signed_in(browser, server, "admin")
    admin.goto(server.url + "/skills/frameworks")
    admin.get_by_role("heading", name="Référentiels de compétences").wait_for()
    screenshot(admin, "skills-frameworks")
    for page in (teacher, admin):
        assert not page.errors, page.errors
        page.context.close()
