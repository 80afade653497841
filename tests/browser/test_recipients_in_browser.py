"""The recipients picker of a new message in Chromium: a teacher types part of a name and
gets the matching people and classes (a combobox with its listbox, driven from the
keyboard), chooses a person and a class's parents, removes one, and sends; without
JavaScript the same form offers checkboxes and sends too. Screenshots of the compose page
at 390 and 1280 px, light and dark, go to var/screenshots/review/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.test_messages_in_browser import open_as, pick
from tests.browser.test_review_in_browser import SHOTS

pytestmark = pytest.mark.browser
SEARCH = "Chercher une personne ou un groupe par son nom"


def test_the_picker_searches_people_and_groups(server: Server, browser: Any) -> None:
    context, page, errors = open_as(server, browser, "prof.demo")
    try:
        page.goto(server.url + "/messages/new")
        search = page.get_by_role("combobox", name=SEARCH)
        assert search.get_attribute("aria-expanded") == "false"
        assert page.locator("input[type=checkbox][name=person_ids]").count() == 0  # taken over
        assert page.get_by_role("search").count() == 0  # the plain search form too
        search.press_sequentially("Dubo")
        listbox = page.get_by_role("listbox", name="Personnes et groupes trouvés")
        listbox.wait_for()
        assert search.get_attribute("aria-expanded") == "true"
        names = page.get_by_role("option").all_inner_texts()
        assert "Léa Dubois" in names, names
        assert all("Dubois" in name for name in names), names  # only what matches
        search.press("ArrowDown")
        active = search.get_attribute("aria-activedescendant")
        assert active
        assert page.locator(f"#{active}").get_attribute("aria-selected") == "true"
        search.press("Escape")
        assert search.get_attribute("aria-expanded") == "false"
        search.fill("")
        pick(page, "Dubo", "Léa Dubois")
        pick(page, "6e", "Parents de 6e A")
        pick(page, "Emma", "Emma Bernard")
        page.get_by_role("button", name="Retirer Emma Bernard").click()
        chips = page.locator(".chosen li span").all_inner_texts()
        assert chips == ["Léa Dubois", "Parents de 6e A"], chips
        shoot(page, server.url + "/messages/new", "compose")
        page.goto(server.url + "/messages/new")
        pick(page, "Dubo", "Léa Dubois")
        pick(page, "6e", "Parents de 6e A")
        page.get_by_label("Objet").fill("Sortie au musée")
        page.get_by_label("Message", exact=True).fill("La sortie a lieu jeudi.")
        page.get_by_role("button", name="Envoyer").click()
        page.wait_for_url("**/messages/*?done=sent")
        assert "Sortie au musée" in page.content()
        assert not errors, errors
    finally:
        context.close()


def test_without_javascript_the_form_offers_checkboxes(server: Server, browser: Any) -> None:
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server.url + "/login")
        page.get_by_label("Identifiant").fill("parent.demo")
        page.get_by_label("Mot de passe", exact=True).fill("preau-demo-2026")
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**/home")
        page.goto(server.url + "/messages/new?q=Martin")
        assert not page.get_by_role("combobox").is_visible()
        page.get_by_role("checkbox", name="Julien Martin").check()
        page.get_by_label("Objet").fill("Rendez-vous")
        page.get_by_label("Message", exact=True).fill("Pouvons-nous nous voir vendredi ?")
        page.get_by_role("button", name="Envoyer").click()
        page.wait_for_url("**/messages/*?done=sent")
    finally:
        context.close()


def shoot(page: Any, url: str, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width, height in ((390, 844), (1280, 800)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(url)
            search = page.get_by_role("combobox", name=SEARCH)
            search.press_sequentially("Dub")
            page.get_by_role("listbox").wait_for()
            search.press("ArrowDown")
            page.screenshot(path=str(SHOTS / f"{name}-{width}-{scheme}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} {width} px {scheme}: {overflow} px too wide"
    page.emulate_media(color_scheme="light")
