"""Messages as people use them, in Chromium against a real server: a teacher announces to
6e A and its parents, the pupil and the parent see it arrive without reloading, the
teacher sees it read; a parent writes to the teacher and gets a reply; a pupil writing to
another pupil is refused with a clear sentence."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import Server

pytestmark = pytest.mark.browser


def open_as(server: Server, browser: Any, username: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/login")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe", exact=True).fill("preau-demo-2026")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/home")
    return context, page, errors


def without_quiet_hours(server: Server) -> None:
    """The demo school's staff switch quiet hours off, so alerts show whatever the day."""
    with httpx.Client(base_url=server.url) as client:
        token = client.post(
            "/api/v1/session", json={"username": "vie-scolaire.demo", "password": "preau-demo-2026"}
        ).json()["token"]
        changed = client.put(
            "/api/v1/messaging-settings",
            json={"quiet_enabled": False},
            headers={"authorization": f"Bearer {token}"},
        )
        assert changed.status_code == 200


def test_an_announcement_arrives_live_and_is_seen_as_read(server: Server, browser: Any) -> None:
    without_quiet_hours(server)
    pupil_context, pupil, pupil_errors = open_as(server, browser, "eleve.demo")
    parent_context, parent, parent_errors = open_as(server, browser, "parent.demo")
    teacher_context, teacher, teacher_errors = open_as(server, browser, "prof.demo")
    for page in (pupil, parent):  # the live connection is open before the teacher posts
        page.wait_for_selector("#live[data-ready='1']", state="attached")

    teacher.goto(server.url + "/announcements/new")
    teacher.get_by_label("6e A").check()
    teacher.get_by_label("Et à leurs parents").check()
    teacher.get_by_label("Titre").fill("Sortie au musée jeudi")
    teacher.get_by_label("Annonce", exact=True).fill("Rendez-vous à 8 h devant le collège.")
    teacher.get_by_role("button", name="Publier").click()
    teacher.wait_for_url("**/announcements/*?done=posted")
    assert "Votre annonce est publiée." in teacher.content()

    for page in (pupil, parent):
        badge = page.locator("a[href='/announcements'] [data-live-count='announcements']")
        badge.wait_for(state="visible")
        assert badge.inner_text() == "1"
        status = page.locator("#live-status")
        assert "Nouvelle annonce : Sortie au musée jeudi" in status.inner_text()
        assert page.url.endswith("/home")  # no reload happened

    pupil.get_by_role("link", name="Annonces").click()
    pupil.get_by_role("link", name="Sortie au musée jeudi").click()
    assert "Rendez-vous à 8 h devant le collège." in pupil.content()

    teacher.reload()
    read = teacher.locator("ul.receipts.read")
    assert "Léa Dubois" in read.inner_text()
    assert "Sophie Dubois" in teacher.locator("ul.receipts.not-read").inner_text()
    assert teacher.get_by_role("heading", name="Lue par 1 sur 7").is_visible()

    for errors in (pupil_errors, parent_errors, teacher_errors):
        assert not errors, errors  # no CSP violation or script error
    for context in (pupil_context, parent_context, teacher_context):
        context.close()


def pick(page: Any, typed: str, name: str) -> None:
    """Choose a recipient with the picker, from the keyboard: type, arrow down, Enter."""
    search = page.get_by_role("combobox", name="Chercher une personne ou un groupe par son nom")
    search.press_sequentially(typed)
    page.get_by_role("option", name=name).wait_for()
    for _ in range(20):
        if page.get_by_role("option", name=name).get_attribute("aria-selected") == "true":
            break
        search.press("ArrowDown")
    search.press("Enter")
    page.locator(".chosen li", has_text=name).wait_for()


def test_a_parent_writes_to_the_teacher_and_gets_a_reply(server: Server, browser: Any) -> None:
    parent_context, parent, parent_errors = open_as(server, browser, "parent.demo")
    teacher_context, teacher, teacher_errors = open_as(server, browser, "prof.demo")

    parent.goto(server.url + "/messages/new")
    pick(parent, "Martin", "Julien Martin")
    parent.get_by_label("Objet").fill("Absence de Léa")
    parent.get_by_label("Message", exact=True).fill("Léa sera absente demain matin.")
    parent.get_by_role("button", name="Envoyer").click()
    parent.wait_for_url("**/messages/*?done=sent")
    parent.goto(server.url + "/home")
    parent.wait_for_selector("#live[data-ready='1']", state="attached")

    teacher.get_by_role("link", name="Messages").first.click()
    teacher.get_by_role("link", name="Absence de Léa").click()
    assert "Léa sera absente demain matin." in teacher.content()
    teacher.get_by_label("Votre réponse").fill("Merci de m’avoir prévenu.")
    teacher.get_by_role("button", name="Envoyer la réponse").click()
    teacher.wait_for_url("**/messages/*?done=sent*")

    badge = parent.locator("a[href='/messages'] [data-live-count='messages']")
    badge.wait_for(state="visible")
    assert badge.inner_text() == "1"
    parent.get_by_role("link", name="Messages").first.click()
    parent.get_by_role("link", name="Absence de Léa").click()
    assert "Merci de m’avoir prévenu." in parent.content()

    for errors in (parent_errors, teacher_errors):
        assert not errors, errors
    parent_context.close()
    teacher_context.close()


def test_a_pupil_cannot_write_to_another_pupil(server: Server, browser: Any) -> None:
    context, page, errors = open_as(server, browser, "eleve.demo")
    page.goto(server.url + "/messages/new")
    pick(page, "Emma", "Emma Bernard")
    page.get_by_label("Objet").fill("Devoirs")
    page.get_by_label("Message", exact=True).fill("Tu as fait l’exercice 12 ?")
    page.get_by_role("button", name="Envoyer").click()
    alert = page.get_by_role("alert")
    assert alert.inner_text() == (
        "Les élèves ne peuvent pas écrire à d’autres élèves ici. Écrivez à un professeur ou "
        "à la vie scolaire."
    )
    # What was written is kept, to send to someone else.
    assert page.get_by_label("Message", exact=True).input_value() == "Tu as fait l’exercice 12 ?"
    # The refused form comes back with status 403, which Chromium logs; nothing else may.
    assert [e for e in errors if "status of 403" not in e] == [], errors
    context.close()
