"""As a new user would: log in as each profile in French and English, activate an
account with a printed code, come back the next day on the same device."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

HOME_HEADINGS = {
    ("admin", "fr"): "Bonjour",
    ("admin", "en"): "Hello",
    ("teacher", "fr"): "Bonjour",
    ("teacher", "en"): "Hello",
    ("staff", "fr"): "Bonjour",
    ("staff", "en"): "Hello",
    ("pupil", "fr"): "Bonjour",
    ("pupil", "en"): "Hello",
    ("parent", "fr"): "Bonjour",
    ("parent", "en"): "Hello",
}


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("profile", ["admin", "teacher", "staff", "pupil", "parent"])
def test_each_profile_logs_in(server: Server, browser: Any, profile: str, locale: str) -> None:
    context = browser.new_context(locale="fr-FR" if locale == "fr" else "en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.goto(server.url + "/")
    username, password = server.logins[profile]
    page.get_by_label("Identifiant" if locale == "fr" else "Username").fill(username)
    page.get_by_label("Mot de passe" if locale == "fr" else "Password", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter" if locale == "fr" else "Log in").click()
    page.wait_for_url("**/home")
    # The home page greets the person by name: "Bonjour Léa".
    assert page.locator("h1").inner_text().startswith(HOME_HEADINGS[(profile, locale)] + " ")
    assert page.locator("html").get_attribute("lang") == locale
    if profile == "parent":
        assert "Léa Dubois" in page.content()
    if profile == "admin":
        page.get_by_role("link", name="Personnes" if locale == "fr" else "People").first.click()
        assert "Dubois" in page.content()
    assert not errors, errors  # no CSP violation or script error
    context.close()


def test_language_switch_by_keyboard(server: Server, browser: Any) -> None:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(server.url + "/login")
    first = page.evaluate("document.querySelector('a[href], button, input, select').textContent")
    assert first == "Aller au contenu"  # the skip link comes first in keyboard order
    page.get_by_role("button", name="English").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.locator("h1").inner_text() == "Log in to Préau"
    context.close()


def test_activation_then_next_day_resume_without_password(server: Server, browser: Any) -> None:
    username, code = server.logins["pupil (first login)"]
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(server.url + "/login")
    page.get_by_role("link", name="Activez votre compte").click()
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Code d’activation").fill(code)
    page.get_by_label("Nouveau mot de passe").fill("mon mot de passe secret")
    page.get_by_label("Le même mot de passe").fill("mon mot de passe secret")
    page.get_by_role("button", name="Activer et se connecter").click()
    page.wait_for_url("**/home?welcome=1")
    assert "Votre compte est activé" in page.content()
    device = [c for c in context.cookies() if c["name"] == "preau_device"]
    assert device, "no device credential after activation"
    context.close()

    next_day = browser.new_context(locale="fr-FR")
    next_day.add_cookies(device)
    page = next_day.new_page()
    page.goto(server.url + "/home")
    assert page.url.endswith("/home")
    assert page.locator("h1").inner_text().startswith("Bonjour ")
    next_day.close()
