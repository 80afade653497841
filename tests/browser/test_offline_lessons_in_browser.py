"""Video lessons and exercises kept for offline, in Chromium against a real server
(docs/offline.md): the pupil keeps the demo's video and exercise on the device, goes
offline, watches and seeks in the video (ranges answered from the kept file) and answers
the exercise; back online each answer arrives exactly once; an answer to an attempt handed
in meanwhile is told with the server's sentence and its copy kept."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.kept_offline import (
    demo_video_transcoded,
    homework_path,
    keep_for_offline,
    kept_keys,
    video_ready,
    wait_until,
)
from tests.browser.test_offline_in_browser import (
    Server,
    homework_with_a_file,
    offline,
    online,
    outbox,
    shoot,
    signed_in,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("offline-lessons"))
    running.start()
    demo_video_transcoded(running)  # each test may stop the server
    yield running
    running.stop()


def answer_every_question(page: Any) -> int:
    """From the first question to the summary, as the demo's browser test does."""
    answered = 0
    for _ in range(15):
        form = page.locator("form[action*='/answers/']")
        if form.count() == 0:
            break
        if form.locator("input[type=radio]").count():
            form.locator("input[type=radio]").first.check()
        elif form.locator("input[type=checkbox]").count():
            form.locator("input[type=checkbox]").first.check()
        elif form.locator("select").count():
            selects = form.locator("select")
            for index in range(selects.count()):
                options = selects.nth(index).locator("option")
                selects.nth(index).select_option(index=min(index + 1, options.count() - 1))
        else:
            form.locator("#text").fill("15")
        before = page.url
        form.get_by_role("button").click()
        page.wait_for_url(lambda url, before=before: url != before)
        answered += 1
    return answered


def records(server: Server, pattern: str) -> list[tuple[str, str]]:
    """The Idempotency-Key records of the writes under ``pattern`` (read from the file)."""
    with sqlite3.connect(server.folder / "preau.sqlite3") as connection:
        rows = connection.execute(
            "SELECT path, key FROM idempotency_records WHERE path LIKE ? ORDER BY path",
            (pattern,),
        ).fetchall()
    return [(str(path), str(key)) for path, key in rows]


def test_kept_video_and_exercise_work_offline_and_answers_arrive_once(
    server: Server, browser: Any
) -> None:
    pupil = signed_in(browser, server, "eleve.demo")
    context = pupil.context
    lesson = homework_path(pupil, server, "Leçon vidéo")
    video_id = video_ready(pupil, server, lesson)
    keep_for_offline(pupil, server, lesson)
    shoot(pupil, "homework-kept-for-offline")
    quiz = homework_path(pupil, server, "Quiz")
    keep_for_offline(pupil, server, quiz)
    kept = kept_keys(pupil)
    assert f"/videos/{video_id}/low.mp4" in kept, kept
    assert f"/videos/{video_id}/poster.jpg" in kept, kept
    summaries = [key for key in kept if key.endswith("?q=summary")]
    assert len(summaries) == 1, kept
    attempt = summaries[0].removesuffix("?q=summary")
    questions = [key for key in kept if key.startswith(attempt + "?q=") and key != summaries[0]]
    assert len(questions) == 10, kept  # every question of the demo's exercise
    held = pupil.evaluate(
        """async () => {
          const sizes = {};
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const r of await cache.keys()) {
              const path = new URL(r.url).pathname;
              const kind = path.endsWith(".mp4") ? "video" : path.startsWith("/attempts/") ||
                path.startsWith("/exercises/") ? "exercise" : "other";
              sizes[kind] = (sizes[kind] || 0) + (await (await cache.match(r)).blob()).size;
            }
          }
          return sizes;
        }"""
    )
    print(f"offline: kept for the demo's video and exercise, bytes by kind: {held}")

    offline(server, context)
    watched_offline(pupil, server, video_id)
    answered_offline(pupil, server, quiz, attempt, questions[0])

    online(server, context)
    pupil.reload()
    # (wait_for_function does not wait for a promise: it is truthy at once)
    wait_until(pupil, "PreauOutbox.all().then(items => items.length === 0)")
    kept_records = records(server, attempt + "/%")
    paths = [path for path, _key in kept_records]
    assert len(paths) == 11, kept_records  # ten answers and the handing in
    assert len(set(paths)) == 11, kept_records  # each sent under one key: once
    with server.api("eleve.demo") as api:
        handed_in = api.get(f"/api/v1{attempt}").json()
    assert handed_in["submitted_at"], handed_in
    assert len(handed_in["answers"]) == 10, handed_in
    assert not pupil.errors, pupil.errors
    context.close()


def watched_offline(pupil: Any, server: Server, video_id: int) -> None:
    """The video, watched and sought in with no network: the ranges come from the device."""
    answered: list[tuple[str, int, bool]] = []
    pupil.on(
        "response",
        lambda response: (
            answered.append(
                (
                    response.request.headers.get("range", ""),
                    response.status,
                    response.from_service_worker,
                )
            )
            if ".mp4" in response.url
            else None
        ),
    )
    pupil.goto(server.url + f"/videos/{video_id}")
    pupil.locator(".offline-banner", has_text="Vous êtes hors ligne").wait_for()
    video = pupil.locator("video#lesson")
    wait_until(video, "v => v.readyState >= 1")
    video.evaluate("v => { v.muted = true; return v.play(); }")
    wait_until(video, "v => v.currentTime > 1")
    video.evaluate("v => { v.currentTime = 15; }")
    wait_until(video, "v => v.currentTime > 15.2 && !v.seeking")
    video.evaluate("v => v.pause()")
    assert any(
        re.fullmatch(r"bytes=[1-9]\d*-\d*", r) and status == 206 and from_worker
        for r, status, from_worker in answered
    ), answered
    shoot(pupil, "video-offline")
    # The ranges a player may ask, cut from the kept file.
    cuts = pupil.evaluate(
        """async (path) => {
          const out = [];
          for (const range of ["bytes=100-199", "bytes=-10", "bytes=999999999-", ""]) {
            const r = await fetch(path, range ? {headers: {Range: range}} : {});
            const bytes = (await r.arrayBuffer()).byteLength;
            out.push([r.status, r.headers.get("content-range"), bytes]);
          }
          return out;
        }""",
        f"/videos/{video_id}/low.mp4",
    )
    pupil.errors[:] = [e for e in pupil.errors if "status of 416" not in e]  # asked for
    size = cuts[3][2]
    assert size > 100_000, cuts
    assert cuts[0] == [206, f"bytes 100-199/{size}", 100], cuts
    assert cuts[1] == [206, f"bytes {size - 10}-{size - 1}/{size}", 10], cuts
    assert cuts[2][:2] == [416, f"bytes */{size}"], cuts
    assert cuts[3][0] == 200, cuts


def answered_offline(pupil: Any, server: Server, quiz: str, attempt: str, first: str) -> None:
    """The exercise, answered with no network: each answer waits on the device."""
    pupil.goto(server.url + "/offline")  # what the device holds lists the summary once
    pupil.locator("#saved-pages li").first.wait_for()
    links = pupil.locator("#saved-pages a").evaluate_all(
        "all => all.map(a => a.pathname + a.search)"
    )
    assert f"{attempt}?q=summary&device-copy=1" in links, links
    assert not [link for link in links if re.search(r"\?q=\d", link)], links
    pupil.locator(f'#saved-pages a[href="{attempt}?q=summary&device-copy=1"]').click()
    pupil.locator("h2", has_text="Avant de rendre").wait_for()
    pupil.goto(server.url + quiz)
    pupil.get_by_role("link", name="Faire l'exercice").click()
    pupil.locator(".offline-banner").wait_for()
    pupil.get_by_role("button", name="Continuer mon essai").click()
    pupil.wait_for_url(f"**{attempt}?q=summary")
    pupil.locator("ol.summary a").first.click()
    assert answer_every_question(pupil) == 10
    assert "Avant de rendre" in pupil.content()
    pupil.locator("#outbox", has_text="10 réponses à « Quiz").wait_for()
    # The summary saved before the answers says which ones this device holds.
    wait_until(pupil, "() => document.querySelectorAll('ol.summary .state-pending').length === 10")
    shoot(pupil, "exercise-answers-waiting")
    # Back to a question: the answer waiting to be sent is shown in its form.
    pupil.goto(server.url + first)
    wait_until(pupil, "() => document.querySelectorAll('form input:checked').length > 0")
    pupil.goto(server.url + attempt + "?q=summary")
    pupil.get_by_role("button", name="Rendre").click()
    waiting = wait_until(
        pupil, "PreauOutbox.all().then(items => items.length === 11 ? items : null)"
    )
    assert {item["state"] for item in waiting} == {"waiting"}


def test_an_answer_to_an_attempt_handed_in_meanwhile_is_told(server: Server, browser: Any) -> None:
    homework = homework_with_a_file(server, "Calcul mental")
    with server.api("prof.demo") as teacher:
        set_ = teacher.put(
            f"/api/v1/homework/{homework}/exercise",
            json={"gift": "::Somme::Combien font 2 + 2 ? {=quatre =4}\n\n"
                  "::Capitale::Quelle est la capitale de la France ? {=Paris}\n"},
        )  # fmt: skip
        assert set_.status_code == 200, set_.text
    pupil = signed_in(browser, server, "eleve.demo")
    keep_for_offline(pupil, server, f"/homework/{homework}")
    attempt = next(k for k in kept_keys(pupil) if k.endswith("?q=summary")).removesuffix(
        "?q=summary"
    )
    offline(server, pupil.context)
    pupil.goto(server.url + attempt + "?q=summary")
    pupil.locator("ol.summary a").first.click()
    pupil.locator("#text").fill("cinq")
    pupil.get_by_role("button", name="Enregistrer et continuer").click()
    pupil.locator("#outbox .waiting").wait_for()
    # Meanwhile the attempt is handed in from another device.
    server.start()
    with server.api("eleve.demo") as api:
        handed = api.post(f"/api/v1{attempt}/submit")
        assert handed.status_code == 200, handed.text
    pupil.context.set_offline(False)
    pupil.reload()
    pupil.locator("#outbox .error", has_text="Non envoyé").wait_for()
    assert "Cet essai a déjà été rendu." in pupil.locator("#outbox").inner_text()
    assert "cinq" in pupil.locator("#outbox pre").inner_text()
    assert [item["state"] for item in outbox(pupil)] == ["conflict"]
    shoot(pupil, "exercise-conflict")
    pupil.context.close()


def test_a_video_over_the_budget_is_not_kept(server: Server, browser: Any) -> None:
    server.stop()
    server.start(PREAU_OFFLINE_BUDGET_MB="0")  # a fresh browser context: this worker
    pupil = signed_in(browser, server, "eleve.demo")
    lesson = homework_path(pupil, server, "Leçon vidéo")
    pupil.get_by_role("button", name="Garder pour le hors-ligne").click()
    pupil.locator("#keep-offline-status", has_text="ne tient pas dans la place").wait_for()
    told = pupil.locator("#keep-offline-status").inner_text()
    assert re.search(r"La vidéo \(0,\d Mo\).*\(0 Mo\)", told), told  # the demo's 0.6 MB
    assert not [key for key in kept_keys(pupil) if key.endswith(".mp4")], kept_keys(pupil)
    assert lesson in kept_keys(pupil)  # the homework page itself, as any page read
    shoot(pupil, "video-over-budget")
    pupil.context.close()
    server.stop()
    server.start()
