"""End to end, with media: one teacher and five pupils in headless Chromium (fake camera)
join a virtual class on two real Janus nodes, inside a network namespace (Janus gathers
no ICE candidate on a loopback-only interface: ../shared/research/virtual-classroom.md §6).
Every pupil decodes the teacher's video (getStats); then the node serving the room is
killed, and every pupil decodes video again from the other node within 10 seconds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.virtual_lab import (
    FRAMES,
    Lab,
    logged_in_page,
    media_lab,
    missing,
    netns_chromium,
    wait_for,
)
from tests.conftest import missing_service

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUPILS = 5


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    reason = missing()
    if reason:
        missing_service(reason)
    with media_lab(tmp_path, PUPILS) as running:
        yield running


@pytest.fixture
def netns_browser(lab: Lab, browser: Any) -> Iterator[Any]:
    # The session's Playwright (one per thread) launches a second Chromium, in the namespace.
    with netns_chromium(lab, browser.browser_type) as inside:
        yield inside


def test_pupils_receive_the_teacher_and_again_after_the_node_dies(
    lab: Lab, netns_browser: Any
) -> None:
    teacher = logged_in_page(netns_browser, lab.url, "teacher.a")
    errors: list[str] = []
    teacher.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    teacher.goto(lab.url + "/virtual")
    teacher.get_by_role("button", name="Start").click()
    teacher.wait_for_url("**/virtual/rooms/*")
    room_url = teacher.url
    pupils = [
        logged_in_page(netns_browser, lab.url, name)
        for name in ["pupil.a", *(f"pupil{n}.a" for n in range(2, PUPILS + 1))]
    ]
    for page in pupils:
        page.goto(room_url)

    def everyone_decodes(not_on: str | None = None) -> bool:
        stats = [page.evaluate(FRAMES) for page in pupils]
        return all(s["frames"] > 0 and s["node"] != not_on for s in stats)

    wait_for(everyone_decodes, 45, "every pupil decoding the teacher's video")
    node = teacher.evaluate("window.preauClassroom.node")
    assert {page.evaluate("window.preauClassroom.node") for page in pupils} == {node}
    assert "here" in teacher.locator("#participants").inner_text()

    victim = next(janus for janus in lab.nodes if janus.node.name == node)
    victim.kill()
    recovered = wait_for(lambda: everyone_decodes(not_on=node), 10, "every pupil back on video")
    print(f"pupils decoding video again {recovered:.1f} s after node {node} was killed")
    assert not [e for e in errors if "Content Security Policy" in e], errors
