"""Issue 14's keyboard acceptance: a pupil logs in, opens a homework and turns it in with
Tab, Shift+Tab, Enter and the keys of a text field only; every element that takes the
focus shows it (an outline or a ring), and the focus lands on the confirmation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

HOMEWORK = "Fractions : exercices 12 à 15 p. 48"  # the demo's, a hand-in expected
MAX_TABS = 80

# What the focused element looks like: its accessible text, and whether a focus ring is
# drawn (an outline at least 2 px wide, or a box-shadow), read from the computed style.
FOCUSED = """() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    const style = getComputedStyle(element);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
    const ring = style.boxShadow !== "none";
    return {
        tag: element.tagName.toLowerCase(),
        id: element.id,
        text: (element.innerText || element.value || "").trim(),
        label: element.labels && element.labels.length ? element.labels[0].innerText.trim() : "",
        visible: outline || ring,
        outline: style.outlineStyle + " " + style.outlineWidth + " " + style.outlineColor,
    };
}"""


def tab_to(page: Any, wanted: Any, *, backwards: bool = False) -> dict[str, Any]:
    """Press Tab (or Shift+Tab) until the focused element is ``wanted``; each element
    passed on the way must show its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert focused["visible"], f"no visible focus on {focused}"
        if wanted(focused):
            return dict(focused)
    raise AssertionError(f"never reached the element after {MAX_TABS} presses of Tab")


def test_a_pupil_turns_in_with_the_keyboard_alone(browser: Any, server: Server) -> None:
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        username, password = server.logins["pupil"]
        page.goto(server.url + "/login")
        tab_to(page, lambda f: f["label"] == "Identifiant")
        page.keyboard.type(username)
        tab_to(page, lambda f: f["label"].startswith("Mot de passe"))
        page.keyboard.type(password)
        page.keyboard.press("Enter")
        page.wait_for_url("**/home")

        tab_to(page, lambda f: f["tag"] == "a" and f["text"] == HOMEWORK)
        page.keyboard.press("Enter")
        page.wait_for_url("**/homework/*")
        page.get_by_role("heading", name=HOMEWORK).wait_for()

        tab_to(page, lambda f: f["tag"] == "textarea")
        page.keyboard.type("12) 3/4 + 1/8 = 7/8")
        # Back and forth: Shift+Tab leaves the field, Tab comes back to it, text kept.
        tab_to(page, lambda f: f["tag"] != "textarea", backwards=True)
        tab_to(page, lambda f: f["tag"] == "textarea")
        tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Rendre")
        page.keyboard.press("Enter")

        page.locator("p.ok[role=status]", has_text="Votre travail est rendu.").wait_for()
        focused = page.evaluate(FOCUSED)
        assert focused is not None, "the focus was lost after turning in"
        assert focused["id"] == "confirmation", focused
        assert "Votre travail est rendu." in focused["text"]
        assert focused["visible"], focused
        assert "12) 3/4 + 1/8 = 7/8" in page.locator("main").inner_text()
    finally:
        context.close()
