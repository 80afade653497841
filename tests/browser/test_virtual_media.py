"""End to end, with media: one teacher and five pupils in headless Chromium (fake camera)
join a virtual class on two real Janus nodes, inside a network namespace (Janus gathers
no ICE candidate on a loopback-only interface: ../shared/research/virtual-classroom.md §6).
Every pupil decodes the teacher's video (getStats); then the node serving the room is
killed, and every pupil decodes video again from the other node within 10 seconds."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import VIRTUAL_PUPILS
from tests.browser.virtual_lab import (
    FRAMES,
    Lab,
    pupil_pages,
    teacher_starts_class,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUPILS = VIRTUAL_PUPILS  # the lab of tests/browser/conftest.py


def test_pupils_receive_the_teacher_and_again_after_the_node_dies(
    lab: Lab, netns_browser: Any
) -> None:
    errors: list[str] = []
    teacher = teacher_starts_class(netns_browser, lab.url, errors)
    room_url = teacher.url
    pupils = pupil_pages(netns_browser, lab.url, PUPILS)
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
