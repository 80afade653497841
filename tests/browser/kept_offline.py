"""Keeping a homework's video lesson and exercise for offline, as a pupil does in
Chromium (docs/offline.md): shared by the offline browser tests."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.browser.test_offline_in_browser import Server


def kept_keys(page: Any) -> list[str]:
    """What the person's cache holds, with the query of the exercise's pages."""
    return list(
        page.evaluate(
            """async () => {
              const found = [];
              for (const name of await caches.keys()) {
                if (!name.startsWith("preau-p-")) continue;
                const cache = await caches.open(name);
                for (const r of await cache.keys()) {
                  const url = new URL(r.url);
                  found.push(url.pathname + url.search);
                }
              }
              return found.sort();
            }"""
        )
    )


def homework_path(page: Any, server: Server, title: str) -> str:
    page.goto(server.url + "/todo")
    page.get_by_role("link", name=re.compile(title)).first.click()
    page.wait_for_url(re.compile(r".*/homework/\d+$"))
    return str(page.url).removeprefix(server.url)


def video_ready(page: Any, server: Server, homework: str) -> int:
    """The demo's clip is transcoded by the server after start-up: a deadline, not a timing."""
    page.goto(server.url + homework)
    page.get_by_role("link", name="Regarder la leçon").click()
    page.wait_for_url(re.compile(r".*/videos/\d+$"))
    video_id = int(str(page.url).rsplit("/", 1)[1])
    deadline = time.monotonic() + 180
    while page.locator("video#lesson").count() == 0:
        assert time.monotonic() < deadline, "the demo's video was never ready"
        page.wait_for_timeout(2000)
        page.reload()
    return video_id


def keep_for_offline(page: Any, server: Server, homework: str) -> None:
    page.goto(server.url + homework)
    page.get_by_role("button", name="Garder pour le hors-ligne").click()  # never kept before
    page.locator("#keep-offline-status", has_text="Gardé sur cet appareil").wait_for(timeout=60_000)
    page.get_by_role("button", name="Mettre à jour la copie sur cet appareil").wait_for()


def wait_until(page: Any, script: str, argument: Any = None, seconds: float = 30) -> Any:
    """Poll ``script`` on the page (the CSP forbids what ``wait_for_function`` uses)."""
    deadline = time.monotonic() + seconds
    while not (value := page.evaluate(script, argument)):
        assert time.monotonic() < deadline, f"never true: {script}"
        time.sleep(0.2)
    return value


def demo_video_transcoded(server: Server) -> None:
    """Before a test kills the server (which may leave the transcoding claimed by a dead
    process until its claim expires): the demo's one video is ready. A deadline."""
    deadline = time.monotonic() + 180
    with server.api("prof.demo") as teacher:
        while (state := teacher.get("/api/v1/videos/1").json().get("state")) != "ready":
            assert state in ("queued", "running"), state
            assert time.monotonic() < deadline, "the demo's video was never ready"
            time.sleep(1)
