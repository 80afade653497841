"""End to end, inside a virtual class: a teacher and five pupils in one headless Chromium
(a context each, fake camera, two real Janus nodes in a network namespace). Every pupil
sees the teacher's chat message, answers the teacher's poll and sees its results once
shown, and sees the teacher's whiteboard stroke; then the teacher splits the class into
two breakout groups (each pupil's page moves to its group's room) and brings everyone back.
With PREAU_SCREENSHOTS=<folder>, the class page is kept at 390 and 1280 px, light and dark."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import VIRTUAL_PUPILS
from tests.browser.virtual_lab import (
    Lab,
    keep_console_errors,
    pupil_pages,
    teacher_starts_class,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUPILS = VIRTUAL_PUPILS  # the lab of tests/browser/conftest.py


def keep_pictures(page: Any, name: str) -> None:
    folder = os.environ.get("PREAU_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width, height in ((390, 844), (1280, 800)):
            page.set_viewport_size({"width": width, "height": height})
            print(name, width, "wider than the screen:", page.evaluate(OVERFLOW))
            page.screenshot(path=f"{folder}/{name}-{width}-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")


def where(page: Any) -> str:
    """The page's address as its own script sees it ("" while it navigates)."""
    try:
        return str(page.evaluate("() => location.pathname + location.search"))
    except Exception:
        return ""


OVERFLOW = """() => [...document.querySelectorAll("body *")]
  .filter((node) => node.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map((node) => node.tagName + "#" + node.id + "." + node.className).slice(0, 5)"""


def chat(teacher: Any, pupils: list[Any]) -> None:
    teacher.get_by_label("Your message").fill("Bonjour à tous : page 12.")
    teacher.get_by_role("button", name="Send").click()
    wait_for(
        lambda: all("page 12" in page.locator("#chat-log").inner_text() for page in pupils),
        10,
        "every pupil reading the message",
    )
    pupils[0].get_by_label("Your message").fill("Merci !")
    pupils[0].get_by_role("button", name="Send").click()
    wait_for(
        lambda: "Merci" in teacher.locator("#chat-log").inner_text(), 10, "the teacher reading"
    )


def poll(teacher: Any, pupils: list[Any]) -> None:
    """Asked, answered by all five, results shown to all."""
    teacher.locator("#poll-new summary").click()
    teacher.get_by_label("Question").fill("Combien font 7 × 6 ?")
    teacher.locator("#poll-choice-1").fill("42")
    teacher.locator("#poll-choice-2").fill("36")
    teacher.get_by_role("button", name="Ask", exact=True).click()
    for page in pupils:
        page.locator("#poll-view").get_by_role("button", name="42").wait_for(timeout=10_000)
    for index, page in enumerate(pupils):
        page.locator("#poll-view").get_by_role("button", name="36" if index == 4 else "42").click()
    wait_for(lambda: "5 answers" in teacher.locator("#poll-view").inner_text(), 10, "five answers")
    assert "answers" not in pupils[1].locator("#poll-view").inner_text()  # not shown yet
    teacher.get_by_role("button", name="Show the results to everyone").click()
    wait_for(
        lambda: all("5 answers" in page.locator("#poll-view").inner_text() for page in pupils),
        10,
        "every pupil seeing the results",
    )
    assert "42 4" in pupils[2].locator("#poll-view").inner_text().replace("\n", " ")


def board(teacher: Any, everyone: list[Any]) -> None:
    """The teacher draws; every board, the teacher's too, holds the stroke."""
    box = teacher.locator("#board-canvas").bounding_box()
    assert box is not None
    teacher.mouse.move(box["x"] + 20, box["y"] + 20)
    teacher.mouse.down()
    for step in range(1, 8):
        teacher.mouse.move(box["x"] + 20 + 15 * step, box["y"] + 20 + 8 * step)
    teacher.mouse.up()
    strokes = "() => window.preauRoomTools.strokes.length"
    wait_for(lambda: all(page.evaluate(strokes) == 1 for page in everyone), 10, "every board drawn")


def breakout_and_back(teacher: Any, pupils: list[Any], room_path: str) -> None:
    teacher.get_by_label("Number of groups").fill("2")
    teacher.get_by_role("button", name="Split at random").click()
    teacher.locator("#groups-list li").first.wait_for(timeout=20_000)
    wait_for(lambda: all("?main=" in where(page) for page in pupils), 20, "every pupil in a group")
    group_rooms = {where(page).split("?")[0] for page in pupils}
    assert len(group_rooms) == 2
    assert room_path not in group_rooms
    assert teacher.locator("#groups-list li").count() == 2
    # The teacher visits the first group, then comes back to the class.
    teacher.locator("#groups-list").get_by_role("link", name="Visit").first.click()
    wait_for(lambda: where(teacher).split("?")[0] in group_rooms, 10, "the teacher's visit")
    teacher.get_by_role("link", name="Back to the whole class").click()
    wait_for(lambda: where(teacher) == room_path, 10, "the teacher back in the class")
    teacher.get_by_role("button", name="Bring everyone back").click()
    wait_for(lambda: all(where(page) == room_path for page in pupils), 20, "every pupil back")


def test_five_pupils_see_chat_poll_board_and_follow_the_breakout_groups(
    lab: Lab, netns_browser: Any
) -> None:
    errors: list[str] = []
    teacher = teacher_starts_class(netns_browser, lab.url, errors)
    room_url = teacher.url
    pupils = pupil_pages(netns_browser, lab.url, PUPILS)
    for page in pupils:
        keep_console_errors(page, errors)
        page.goto(room_url)
    everyone = [teacher, *pupils]
    ready = "() => !!(window.preauRoomTools && window.preauRoomTools.ready)"
    wait_for(lambda: all(page.evaluate(ready) for page in everyone), 30, "every stream open")

    chat(teacher, pupils)
    poll(teacher, pupils)
    board(teacher, everyone)
    keep_pictures(teacher, "room-teacher")
    keep_pictures(pupils[0], "room-pupil")
    breakout_and_back(teacher, pupils, room_url.removeprefix(lab.url))
    assert not [e for e in errors if "Content Security Policy" in e], errors
