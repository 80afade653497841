"""Attendance as people would use it, in Chromium against a real server, in French: the
teacher takes the roll call of Monday's maths lesson by keyboard (A absent, R late and the
minutes), the parent sees the absence and justifies it with a file, the office accepts
it. Screenshots of each page, phone and desktop, go to ``PREAU_SCREENSHOTS`` when set."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import Server
from tests.browser.test_classwork_in_browser import signed_in
from tests.browser.test_marks_in_browser import screenshot

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def coming_monday() -> date:
    today = datetime.now(ZoneInfo("Europe/Paris")).date()  # the demo is seeded on the real date
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def test_roll_call_then_justification_then_the_office_accepts(server: Server, browser: Any) -> None:
    pages = [take_roll_call(server, browser), justify(server, browser), accept(server, browser)]
    for page in pages:
        assert not page.errors, page.errors  # no CSP violation or script error
        page.context.close()


def take_roll_call(server: Server, browser: Any) -> Any:
    teacher = signed_in(browser, server, "teacher")
    monday = coming_monday().isoformat()
    teacher.goto(f"{server.url}/attendance?day={monday}")
    teacher.get_by_role("link", name=re.compile(r"08:00 · Mathématiques · 6e A")).click()
    teacher.get_by_role("heading", name=re.compile("Appel")).wait_for()
    lines = teacher.locator(".roll-line")
    assert lines.count() >= 4
    lea = teacher.locator(".roll-line", has_text="Dubois Léa")
    lea.get_by_label("Présent").focus()
    teacher.keyboard.press("a")  # absent, and on to the next pupil
    teacher.keyboard.press("r")  # late: the minutes field takes the focus
    teacher.keyboard.type("10")
    teacher.keyboard.press("Enter")  # on to the next pupil, not a submit
    assert lea.get_by_label("Absent").is_checked()
    following = teacher.locator(".roll-line:has(legend:text('Dubois Léa')) + .roll-line")
    assert following.get_by_label("Retard").is_checked()
    assert following.locator("input[type=number]").input_value() == "10"
    teacher.locator("#roll-count", has_text="1 absent(s), 1 en retard").wait_for()
    screenshot(teacher, "attendance-roll-call")
    teacher.get_by_role("button", name="Enregistrer l’appel").click()
    teacher.locator("p.ok[role=status]", has_text="Appel enregistré").wait_for()
    assert lea.get_by_label("Absent").is_checked()
    return teacher


def justify(server: Server, browser: Any) -> Any:
    parent = signed_in(browser, server, "parent")
    parent.goto(server.url + "/attendance")
    parent.get_by_role("heading", name=re.compile("Vie scolaire · Dubois Léa")).wait_for()
    newest = parent.locator("li.absence").first
    assert "Mathématiques" in newest.inner_text()
    assert "Non justifiée" in newest.inner_text()
    newest.get_by_text("Justifier cette absence").click()
    newest.get_by_label("Motif").select_option("illness")
    newest.get_by_label("Commentaire (facultatif)").fill("Rendez-vous chez le médecin.")
    newest.locator("input[type=file]").set_input_files(
        files=[{"name": "certificat.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    newest.get_by_role("button", name="Envoyer la justification").click()
    parent.locator("p.ok[role=status]", has_text="justification a été envoyée").wait_for()
    assert "Justification en attente" in parent.locator("li.absence").first.inner_text()
    screenshot(parent, "attendance-parent")
    return parent


def accept(server: Server, browser: Any) -> Any:
    office = signed_in(browser, server, "staff")
    office.goto(server.url + "/attendance")
    office.get_by_role("heading", name="Justifications en attente de réponse").wait_for()
    screenshot(office, "attendance-office")
    office.get_by_role("link", name="Dubois Léa").first.click()
    waiting = office.locator("li.absence", has_text="certificat.pdf").first
    waiting.get_by_label("Une phrase aux responsables").fill("Certificat reçu, merci.")
    waiting.get_by_role("button", name="Accepter").click()
    office.locator("p.ok[role=status]", has_text="Réponse enregistrée").wait_for()
    assert "Justifiée" in office.locator("li.absence", has_text="certificat.pdf").first.inner_text()
    office.goto(server.url + "/attendance")
    office.get_by_role("link", name="6e A").first.click()
    office.get_by_role("table").wait_for()
    screenshot(office, "attendance-class")
    return office
