"""Lessons as a pupil would take them, in Chromium against a real server, in French: the
demo's video lesson (transcoded by the server's own worker) plays, seeks by a byte range
and resumes where the pupil stopped; the demo's exercise is answered page by page and
handed in, and the score shows."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Server
from tests.browser.test_classwork_in_browser import local, set_homework, signed_in

pytestmark = pytest.mark.browser


def wait_until(video: Any, predicate: str, seconds: float = 20) -> None:
    """Poll ``predicate`` (a function of the video element) on the page: the page's CSP
    forbids the string evaluation that ``wait_for_function`` uses."""
    deadline = time.monotonic() + seconds
    while not video.evaluate(predicate):
        assert time.monotonic() < deadline, f"never true: {predicate}"
        time.sleep(0.2)


def open_homework(page: Any, server: Server, title: str) -> None:
    page.goto(server.url + "/todo")
    page.get_by_role("link", name=re.compile(title)).first.click()


def test_the_video_lesson_plays_seeks_by_range_and_resumes(server: Server, browser: Any) -> None:
    pupil = signed_in(browser, server, "pupil")
    ranges: list[str] = []
    pupil.on(
        "request",
        lambda request: (
            ranges.append(request.headers.get("range", ""))
            if request.url.endswith(".mp4")
            else None
        ),
    )
    open_homework(pupil, server, "Leçon vidéo")
    pupil.get_by_role("link", name="Regarder la leçon").click()
    # The server's worker transcodes the demo's clip after start-up: a deadline, not a timing.
    deadline = time.monotonic() + 120
    while pupil.locator("video#lesson").count() == 0:
        assert time.monotonic() < deadline, "the demo's video was never ready"
        pupil.wait_for_timeout(2000)
        pupil.reload()
    pupil.get_by_role("link", name=re.compile("légère")).click()
    video = pupil.locator("video#lesson")
    wait_until(video, "v => v.readyState >= 1")
    video.evaluate("v => { v.muted = true; return v.play(); }")
    wait_until(video, "v => v.currentTime > 1")
    video.evaluate("v => { v.currentTime = 15; }")
    wait_until(video, "v => v.currentTime > 15.2")
    assert any(re.fullmatch(r"bytes=[1-9]\d*-\d*", value) for value in ranges), ranges
    video.evaluate("v => v.pause()")  # reports the stretch played to the server
    pupil.wait_for_timeout(1000)
    pupil.reload()
    position = int(pupil.locator("video#lesson").get_attribute("data-position") or 0)
    assert position >= 15
    assert not pupil.errors


def test_the_exercise_is_answered_page_by_page_and_handed_in(server: Server, browser: Any) -> None:
    pupil = signed_in(browser, server, "pupil")
    open_homework(pupil, server, "Quiz")
    pupil.get_by_role("link", name="Faire l'exercice").click()
    pupil.get_by_role("button", name=re.compile("Commencer|Continuer|Nouvel essai")).click()
    drawn = False
    for _ in range(12):
        form = pupil.locator("form[action*='/answers/']")
        if form.count() == 0:
            break
        if form.locator("input[type=radio]").count():
            form.locator("input[type=radio]").first.check()
        elif form.locator("input[type=checkbox]").count():
            form.locator("input[type=checkbox]").first.check()
        elif form.locator("select").count():
            if form.locator("select[name^=rank-]").count():  # the ordering: fractions in TeX
                main = pupil.locator("main")
                wait_until(main, "m => m.dataset.formulas === 'drawn'")
                assert pupil.locator("main .katex").count() >= 3
                assert "frac{" not in main.inner_text()
                drawn = True
            selects = form.locator("select")
            for index in range(selects.count()):
                options = selects.nth(index).locator("option")
                selects.nth(index).select_option(index=min(index + 1, options.count() - 1))
        else:
            form.locator("#text").fill("15")
        form.get_by_role("button").click()
    assert drawn, "the question with formulas was never shown"
    assert "Avant de rendre" in pupil.content()
    pupil.get_by_role("button", name="Rendre").click()
    assert pupil.locator(".score strong").inner_text().endswith("/ 10")
    assert not pupil.errors


def test_a_lesson_recorded_in_the_browser_is_sent_once(server: Server, browser: Any) -> None:
    """The teacher records with the camera (Chromium's fake one), stops and sends: one
    request, with its Idempotency-Key, and the lesson is queued for transcoding."""
    with_camera = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ],
    )
    try:
        teacher = signed_in(with_camera, server, "teacher")
        set_homework(teacher, server, "Leçon enregistrée", due=local(timedelta(days=2)))
        teacher.get_by_role("button", name="Donner un devoir").click()
        teacher.wait_for_url(re.compile(r".*/homework/\d+\?done=created"))
        teacher.goto(teacher.url.split("?")[0] + "/video")
        sent: list[str] = []
        teacher.on(
            "request",
            lambda request: (
                sent.append(request.headers.get("idempotency-key", ""))
                if request.method == "POST" and request.url.endswith("/video")
                else None
            ),
        )
        teacher.get_by_role("button", name="Démarrer l’enregistrement").click()
        teacher.wait_for_timeout(2500)  # two seconds and a half of the fake camera
        teacher.get_by_role("button", name="Arrêter").click()
        teacher.get_by_role("button", name="Envoyer l’enregistrement").click()
        deadline = time.monotonic() + 60
        while not re.search(r"/videos/\d+", teacher.url):
            status = teacher.locator("#recorder-status")
            assert time.monotonic() < deadline, status.inner_text() if status.count() else ""
            teacher.wait_for_timeout(500)
        assert len(sent) == 1
        assert re.fullmatch(r"[0-9a-f-]{36}", sent[0]), sent
        assert not teacher.errors
    finally:
        with_camera.close()
