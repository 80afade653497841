"""Classwork as people would use it, in Chromium against a real server, in French:
a teacher posts homework with a PDF; the pupil downloads it, turns in a text and a file,
takes it back and turns it in again; the teacher returns it with feedback and a mark; the
pupil and a parent read the feedback. Late work is marked late; after the cut-off the
page and the API refuse."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PARIS = ZoneInfo("Europe/Paris")


def local(delta: timedelta) -> str:
    return (datetime.now(PARIS) + delta).strftime("%Y-%m-%dT%H:%M")


def signed_in(browser: Any, server: Server, profile: str) -> Any:
    context = browser.new_context(locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    page.goto(server.url + "/login")
    username, password = server.logins[profile]
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/home")
    return page


def confirmed(page: Any, sentence: str) -> None:
    """Wait for the page the form led back to: the same address (the confirmation comes in
    a one-time cookie, so the page can be served from the cache), saying ``sentence``."""
    page.locator("p.ok[role=status]", has_text=sentence).wait_for()


def set_homework(page: Any, server: Server, title: str, **times: str) -> str:
    page.goto(server.url + "/home")
    page.get_by_role("link", name="Donner un devoir").click()
    page.get_by_label("Classe ou groupe").select_option(label="6e A")
    page.get_by_label("Titre").fill(title)
    page.get_by_label("Consignes", exact=True).fill("Faites les exercices de la fiche jointe.")
    if "publish" in times:
        page.get_by_label("Publier le (vide : maintenant)").fill(times["publish"])
    page.get_by_label("À rendre le").fill(times["due"])
    if "cutoff" in times:
        page.get_by_label("Plus rien n’est accepté après (facultatif)").fill(times["cutoff"])
    return str(page.url)


def test_homework_hand_in_and_feedback(server: Server, browser: Any, tmp_path: Path) -> None:
    pdf = tmp_path / "fiche-fractions.pdf"
    pdf.write_bytes(PDF)
    teacher = signed_in(browser, server, "teacher")
    set_homework(teacher, server, "Fiche sur les fractions", due=local(timedelta(days=2)))
    teacher.get_by_label("Ajouter des fichiers").set_input_files(str(pdf))
    teacher.get_by_role("button", name="Donner un devoir").click()
    teacher.wait_for_url(re.compile(r".*/homework/\d+\?done=created"))
    homework_url = teacher.url.split("?")[0]
    assert "fiche-fractions.pdf" in teacher.content()

    pupil = signed_in(browser, server, "pupil")
    pupil.get_by_role("link", name="Mon travail à faire").first.click()
    pupil.get_by_role("link", name="Fiche sur les fractions").click()
    with pupil.expect_download() as download:
        pupil.get_by_role("link", name="fiche-fractions.pdf").click()
    assert download.value.suggested_filename == "fiche-fractions.pdf"
    assert Path(download.value.path()).read_bytes() == PDF

    answer = tmp_path / "ma-copie.png"
    answer.write_bytes(PNG)
    pupil.get_by_label("Ma réponse").fill("1/2 + 1/4 = 3/4")
    pupil.get_by_label("Fichiers (facultatif)").set_input_files(str(answer))
    pupil.get_by_role("button", name="Rendre", exact=True).click()
    confirmed(pupil, "Votre travail est rendu.")
    assert pupil.url == homework_url
    assert "ma-copie.png" in pupil.content()
    pupil.get_by_role("button", name="Reprendre").click()
    confirmed(pupil, "Votre travail est repris")
    pupil.get_by_label("Ma réponse").fill("1/2 + 1/4 = 3/4, vérifié")
    pupil.get_by_role("button", name="Rendre", exact=True).click()
    confirmed(pupil, "Votre travail est rendu.")
    pupil.reload()  # shown once
    assert "Votre travail est rendu." not in pupil.content()

    teacher.goto(homework_url)
    teacher.get_by_role("link", name="Léa Dubois").click()
    assert "1/2 + 1/4 = 3/4, vérifié" in teacher.content()
    teacher.get_by_label("Appréciation").fill("Très bien, Léa.")
    teacher.get_by_label("Note (facultative)").fill("17")
    teacher.get_by_role("button", name="Rendre à l’élève").click()
    teacher.wait_for_url("**done=all-returned**")  # nobody else waits: back to the list

    pupil.goto(homework_url)
    assert "Très bien, Léa." in pupil.content()
    assert "note 17\u00a0/\u00a020" in pupil.locator("main").inner_text()  # no-break spaces
    parent = signed_in(browser, server, "parent")
    parent.get_by_role("link", name="Tout le travail à faire").first.click()  # Léa's card
    assert "note 17\u00a0/\u00a020" in parent.locator("main").inner_text()
    parent.get_by_role("link", name="Fiche sur les fractions").click()
    assert "Très bien, Léa." in parent.content()
    assert parent.get_by_role("button", name="Rendre", exact=True).count() == 0
    for page in (teacher, pupil, parent):
        assert not page.errors, page.errors  # no CSP violation or script error
        page.context.close()


def test_late_and_cutoff(server: Server, browser: Any) -> None:
    teacher = signed_in(browser, server, "teacher")
    set_homework(
        teacher,
        server,
        "Exercice en retard",
        publish=local(timedelta(days=-2)),
        due=local(timedelta(days=-1)),
    )
    teacher.get_by_role("button", name="Donner un devoir").click()
    teacher.wait_for_url(re.compile(r".*/homework/\d+\?done=created"))
    late_url = teacher.url.split("?")[0]
    set_homework(
        teacher,
        server,
        "Exercice fermé",
        publish=local(timedelta(days=-2)),
        due=local(timedelta(days=-1)),
        cutoff=local(timedelta(hours=-2)),
    )
    teacher.get_by_role("button", name="Donner un devoir").click()
    teacher.wait_for_url(re.compile(r".*/homework/\d+\?done=created"))
    closed_url = teacher.url.split("?")[0]

    pupil = signed_in(browser, server, "pupil")
    pupil.goto(late_url)
    pupil.get_by_label("Ma réponse").fill("Désolée pour le retard")
    pupil.get_by_role("button", name="Rendre", exact=True).click()
    confirmed(pupil, "Votre travail est rendu.")
    assert pupil.locator(".badge.bad", has_text="en retard").count() == 1

    pupil.goto(closed_url)
    assert "La date limite de ce devoir est passée" in pupil.content()
    assert pupil.get_by_role("button", name="Rendre", exact=True).count() == 0
    # A form sent anyway (an old tab, a replayed request) is refused with the sentence.
    token = pupil.locator("input[name=csrf_token]").first.get_attribute("value")
    replay = pupil.request.post(
        closed_url + "/turn-in", form={"csrf_token": token, "text": "trop tard"}
    )
    assert replay.status == 409
    assert "La date limite de ce devoir est passée" in replay.text()
    # And the API says the same.
    username, password = server.logins["pupil"]
    with httpx.Client(base_url=server.url) as api:
        token = api.post(
            "/api/v1/session", json={"username": username, "password": password}
        ).json()["token"]
        homework_id = closed_url.rsplit("/", 1)[1]
        refused = api.post(
            f"/api/v1/homework/{homework_id}/turn-in",
            json={"text": "trop tard"},
            headers={"authorization": f"Bearer {token}", "accept-language": "fr"},
        )
    assert refused.status_code == 409
    assert "date limite" in refused.json()["detail"]
    for page in (teacher, pupil):
        assert not page.errors, page.errors
        page.context.close()
