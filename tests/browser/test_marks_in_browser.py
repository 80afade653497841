"""Marks as people would use them, in Chromium against a real server, in French: the
teacher creates an evaluation, types a column of marks with the keyboard (Enter goes
down), pastes another column copied from a spreadsheet and saves; the pupil and a parent
see the mark and the same averages. Screenshots of the grid and the report card, phone and
desktop, go to ``PREAU_SCREENSHOTS`` when it is set."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.test_classwork_in_browser import signed_in

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("PREAU_SCREENSHOTS", "")


def screenshot(page: Any, name: str) -> None:
    if not SCREENSHOTS:
        return
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


def new_evaluation(page: Any, server: Server, title: str) -> str:
    page.goto(server.url + "/marks")
    page.get_by_role("link", name="6e A").click()
    page.get_by_role("link", name="Nouvelle évaluation").click()
    page.get_by_label("Titre").fill(title)
    page.get_by_label("Sur").fill("20")
    page.get_by_label("Coefficient").fill("2")
    page.get_by_role("button", name="Créer l’évaluation").click()
    page.wait_for_url(re.compile(r".*/marks/groups/\d+.*#evaluation-\d+"))
    return str(page.url.rsplit("#evaluation-", 1)[1])


def test_a_column_typed_by_keyboard_and_one_pasted_reach_the_report_card(
    server: Server, browser: Any
) -> None:
    teacher = signed_in(browser, server, "teacher")
    typed_id = new_evaluation(teacher, server, "Calcul mental")
    cells = teacher.locator(f'input[name^="m.{typed_id}."]:not([type=hidden])')
    count = cells.count()
    assert count >= 5
    cells.first.click()
    values = ["12", "15,5", "abs", "8", "19,25", "disp", "14", "10"][:count]
    for value in values:
        teacher.keyboard.press("Control+A")
        teacher.keyboard.type(value)
        teacher.keyboard.press("Enter")  # down the column, not a submit
    assert teacher.url.endswith(f"#evaluation-{typed_id}")
    assert [cells.nth(n).input_value() for n in range(count)] == values
    teacher.get_by_role("button", name="Enregistrer les notes").click()
    teacher.locator("p.ok[role=status]", has_text="notes enregistrées").wait_for()

    pasted_id = new_evaluation(teacher, server, "Géométrie")
    pasted = teacher.locator(f'input[name^="m.{pasted_id}."]:not([type=hidden])')
    column = "\n".join(str(11 + n) for n in range(count)) + "\n"
    pasted.first.evaluate(
        """(input, text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            input.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));
        }""",
        column,
    )
    assert [pasted.nth(n).input_value() for n in range(count)] == [
        str(11 + n) for n in range(count)
    ]
    teacher.locator("#grid-status", has_text="cases remplies").wait_for()
    teacher.get_by_role("button", name="Enregistrer les notes").click()
    teacher.locator("p.ok[role=status]", has_text="notes enregistrées").wait_for()
    lea = teacher.get_by_label("Dubois Léa — Calcul mental")
    lea_typed = lea.input_value()
    assert lea_typed in values
    screenshot(teacher, "marks-grid")

    pupil = signed_in(browser, server, "pupil")
    pupil.get_by_role("link", name="Notes").first.click()
    pupil.get_by_role("heading", name="Mes notes").wait_for()
    content = pupil.content()
    assert "Calcul mental" in content
    assert "Géométrie" in content
    assert "Moyenne générale" in content
    if lea_typed not in ("abs", "disp"):
        assert lea_typed in content
    average = pupil.locator("p.general strong").inner_text()
    assert re.fullmatch(r"\d{1,2},\d\d", average), average  # "13,47": two decimals, a comma
    screenshot(pupil, "marks-report-card")

    parent = signed_in(browser, server, "parent")
    parent.get_by_role("link", name="Notes").first.click()
    parent.get_by_role("heading", name="Notes de Léa Dubois").wait_for()
    assert "Géométrie" in parent.content()
    # The parent sees the same general average as the pupil, and each subject's.
    assert parent.locator("p.general strong").inner_text() == average
    subjects = parent.locator("table.report td.average")
    assert subjects.count() >= 2
    assert all(
        re.fullmatch(r"\d{1,2},\d\d|—", subjects.nth(n).inner_text())
        for n in range(subjects.count())
    )
    screenshot(parent, "marks-report-card-parent")
    for page in (teacher, pupil, parent):
        assert not page.errors, page.errors  # no CSP violation or script error
        page.context.close()
