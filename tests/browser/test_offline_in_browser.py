"""Offline first, in Chromium against a real server (docs/offline.md): a pupil reads the
to-do, a homework with its file and the timetable with no network; turns in with a file
and replies offline; each arrives exactly once when the network is back, also when the
same request is sent three times and when the server was killed after committing and
before answering; another person on the same browser sees nothing of the first's.

"No network" is both Playwright's offline mode and the server process stopped: Chromium's
offline emulation does not reach every fetch a service worker makes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import PREAU, free_port
from tests.browser.kept_offline import (
    demo_video_transcoded,
    homework_path,
    keep_for_offline,
    kept_keys,
    video_ready,
    wait_until,
)

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PASSWORD = "preau-demo-2026"
SHOTS = Path(os.environ.get("PREAU_SCREENSHOTS", "var/screenshots/offline"))


class Server:
    """A Préau server that the test stops and starts again on the same database."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.environment = {
            **os.environ,
            "PREAU_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'preau.sqlite3'}",
            "PREAU_FILES_DIR": str(folder / "files"),
            "PREAU_SECRET_KEY": "offline-test-secret-0123456789abcdefghijkl",
            "PREAU_PORT": str(self.port),
            "PREAU_ARGON2_TIME_COST": "1",
            "PREAU_ARGON2_MEMORY_KIB": "1024",
            "PREAU_ARGON2_PARALLELISM": "1",
        }
        subprocess.run([PREAU, "migrate"], env=self.environment, check=True, capture_output=True)
        subprocess.run([PREAU, "demo"], env=self.environment, check=True, capture_output=True)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, **settings: str) -> None:
        with (self.folder / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [PREAU, "serve"],
                env={**self.environment, **settings},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its workers too are stopped with it
            )
        deadline = time.monotonic() + 60  # a deadline, not a timing (a busy machine)
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        pytest.fail("the server did not start: " + (self.folder / "server.log").read_text()[-2000:])

    def stop(self) -> None:
        if self.process is not None:
            with suppress(ProcessLookupError):  # the network gone: no goodbye to anyone
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def wait_dead(self) -> None:
        """Until its worker died by itself (the test-only exit after a commit)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/healthz", timeout=2)
            except httpx.HTTPError:
                self.stop()
                return
            time.sleep(0.2)
        pytest.fail("the server did not exit after the commit")

    @contextmanager
    def api(self, username: str) -> Iterator[httpx.Client]:
        with httpx.Client(base_url=self.url, headers={"accept-language": "fr"}) as client:
            token = client.post(
                "/api/v1/session", json={"username": username, "password": PASSWORD}
            ).json()["token"]
            client.headers["authorization"] = f"Bearer {token}"
            yield client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("offline"))
    running.start()
    demo_video_transcoded(running)
    yield running
    running.stop()


def homework_with_a_file(server: Server, title: str, **fields: Any) -> int:
    with server.api("prof.demo") as teacher:
        groups = teacher.get("/api/v1/groups").json()["items"]
        group = next(g for g in groups if g["name"] == "6e A")
        uploaded = teacher.post(
            "/api/v1/files", files={"file": ("fiche.pdf", PDF, "application/pdf")}
        )
        assert uploaded.status_code == 201, uploaded.text
        created = teacher.post(
            "/api/v1/homework",
            json={
                "group_id": group["id"],
                "title": title,
                "instructions": "Lisez la fiche jointe.",
                "due_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
                "attachment_ids": [uploaded.json()["id"]],
                **fields,
            },
        )
        assert created.status_code == 201, created.text
        return int(created.json()["id"])


def conversation_with_the_pupil(server: Server, subject: str) -> int:
    with server.api("eleve.demo") as pupil:
        pupil_id = pupil.get("/api/v1/me").json()["id"]
    with server.api("prof.demo") as teacher:
        created = teacher.post(
            "/api/v1/conversations",
            json={"person_ids": [pupil_id], "subject": subject, "body": "Des questions ?"},
        )
        assert created.status_code == 201, created.text
        return int(created.json()["id"])


def bodies_in(server: Server, conversation: int) -> list[str]:
    with server.api("prof.demo") as teacher:
        found = teacher.get(f"/api/v1/conversations/{conversation}").json()
    return [message["body"] for message in found["messages"]]


def signed_in(browser: Any, server: Server, username: str, context: Any = None) -> Any:
    context = context or browser.new_context(locale="fr-FR", service_workers="allow")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    # Failed loads are the point here; a script error or a CSP violation is not.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource: net::")
            else None
        ),
    )
    page.errors = errors
    page.goto(server.url + "/login")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/home")
    # The service worker controls the pages from the next one on.
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    return page


def saved_paths(page: Any) -> list[str]:
    return list(
        page.evaluate(
            """async () => {
              const found = [];
              for (const name of await caches.keys()) {
                if (!name.startsWith("preau-p-")) continue;
                const cache = await caches.open(name);
                for (const r of await cache.keys()) found.push(new URL(r.url).pathname);
              }
              return found.sort();
            }"""
        )
    )


def outbox(page: Any) -> list[dict[str, Any]]:
    return list(
        page.evaluate(
            "PreauOutbox.all().then(items => items.map(i => ({url: i.url, state: i.state})))"
        )
    )


def wait_saved(page: Any, paths: list[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if set(paths) <= set(saved_paths(page)):
            return
        page.wait_for_timeout(200)
    pytest.fail(f"not saved: {sorted(set(paths) - set(saved_paths(page)))}")


def offline(server: Server, context: Any) -> None:
    context.set_offline(True)
    server.stop()


def online(server: Server, context: Any, **settings: str) -> None:
    server.start(**settings)
    context.set_offline(False)


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def test_read_offline_then_send_exactly_once(server: Server, browser: Any, tmp_path: Path) -> None:
    homework = homework_with_a_file(server, "Fiche sur les volcans")
    conversation = conversation_with_the_pupil(server, "Sortie au musée")
    pupil = signed_in(browser, server, "eleve.demo")
    context = pupil.context
    pupil.goto(server.url + "/todo")
    with server.api("prof.demo") as teacher:
        file_id = teacher.get(f"/api/v1/homework/{homework}").json()["attachments"][0]["id"]
    wait_saved(
        pupil,
        [
            "/todo",
            f"/homework/{homework}",
            f"/files/{file_id}",
            "/timetable",
            "/messages",
            f"/messages/{conversation}",
        ],
    )

    pupil.goto(server.url + "/offline")
    pupil.locator("#saved-pages li").first.wait_for()
    shoot(pupil, "offline-page-saved")
    pupil.goto(server.url + "/todo")
    # What the demo pupil's device holds (pages, files, the shell), for docs/offline.md.
    cached = pupil.evaluate(
        """async () => {
          let total = 0;
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const r of await cache.keys()) total += (await (await cache.match(r)).blob()).size;
          }
          return total;
        }"""
    )
    print(f"offline: the demo pupil's saved set is {cached} bytes")  # docs/offline.md
    assert cached < 25 * 1024 * 1024  # the default budget

    offline(server, context)
    pupil.reload()
    assert "Fiche sur les volcans" in pupil.content()
    pupil.locator(".offline-banner", has_text="Vous êtes hors ligne").wait_for()
    shoot(pupil, "todo-offline")
    pupil.get_by_role("link", name="Fiche sur les volcans").click()
    pupil.wait_for_url(f"**/homework/{homework}")
    assert "Lisez la fiche jointe." in pupil.content()
    fetched = pupil.evaluate(
        f"fetch('/files/{file_id}').then(r => r.arrayBuffer()).then(b => b.byteLength)"
    )
    assert fetched == len(PDF)
    pupil.goto(server.url + "/timetable")
    pupil.locator(".offline-banner").wait_for()

    # Turn in with a file, offline: kept in the outbox, said to be waiting.
    answer = tmp_path / "mon-volcan.png"
    answer.write_bytes(PNG)
    pupil.goto(server.url + f"/homework/{homework}")
    pupil.get_by_label("Ma réponse").fill("Le Piton de la Fournaise")
    pupil.get_by_label("Fichiers (facultatif)").set_input_files(str(answer))
    pupil.get_by_role("button", name="Rendre", exact=True).click()
    pupil.locator("#outbox", has_text="En attente d’envoi").wait_for()
    shoot(pupil, "homework-waiting")
    pupil.goto(server.url + f"/messages/{conversation}")
    pupil.get_by_label("Votre réponse").fill("Oui, à quelle heure ?")
    pupil.get_by_role("button", name="Envoyer la réponse").click()
    pupil.locator("#outbox .waiting").nth(1).wait_for()
    assert [item["state"] for item in outbox(pupil)] == ["waiting", "waiting"]

    back_online_each_arrives_once(server, pupil, homework, conversation)
    sent_three_times_arrives_once(pupil, server, conversation)
    killed_after_commit_arrives_once(server, pupil, conversation)
    assert not pupil.errors, pupil.errors
    context.close()


def back_online_each_arrives_once(
    server: Server, pupil: Any, homework: int, conversation: int
) -> None:
    online(server, pupil.context)
    pupil.reload()  # the next visit sends what waits (Background Sync may be first)
    wait_until(pupil, "PreauOutbox.all().then(items => items.length === 0)")
    assert bodies_in(server, conversation).count("Oui, à quelle heure ?") == 1
    with server.api("eleve.demo") as api:
        me = api.get("/api/v1/me").json()["id"]
        hand_in = api.get(f"/api/v1/homework/{homework}/hand-ins/{me}").json()
    assert hand_in["state"] == "turned_in", hand_in
    assert hand_in["text"] == "Le Piton de la Fournaise"
    assert [f["name"] for f in hand_in["files"]] == ["mon-volcan.png"]
    assert [e["to_state"] for e in hand_in["events"]] == ["turned_in"]  # once


def sent_three_times_arrives_once(pupil: Any, server: Server, conversation: int) -> None:
    """The same request sent three times (a browser retrying): one message."""
    key = "retry-three-times-01"
    statuses = pupil.evaluate(
        """async ([url, key]) => {
          const token = document.querySelector("input[name=csrf_token]").value;
          const out = [];
          for (let i = 0; i < 3; i++) {
            const body = new FormData();
            body.append("csrf_token", token);
            body.append("body", "Trois fois");
            const r = await fetch(url, {method: "POST", body, headers: {"Idempotency-Key": key}});
            out.push(r.status + " " + new URL(r.url).pathname);  // after the redirect
          }
          return out;
        }""",
        [f"/messages/{conversation}/reply", key],
    )
    assert statuses == [f"200 /messages/{conversation}"] * 3, statuses
    assert bodies_in(server, conversation).count("Trois fois") == 1


def killed_after_commit_arrives_once(server: Server, pupil: Any, conversation: int) -> None:
    """The server is killed after the reply is committed and before it answers."""
    context = pupil.context
    offline(server, context)
    pupil.goto(server.url + f"/messages/{conversation}")
    pupil.get_by_label("Votre réponse").fill("Envoyé pendant la panne")
    pupil.get_by_role("button", name="Envoyer la réponse").click()
    pupil.locator("#outbox .waiting").wait_for()
    online(server, context, PREAU_TEST_EXIT_AFTER_COMMIT=f"/messages/{conversation}/reply")
    pupil.evaluate("PreauOutbox.flush().catch(() => 'cut')")
    server.wait_dead()  # killed between the commit and the answer
    assert "test-only exit after commit" in (server.folder / "server.log").read_text()
    assert bodies_in_db(server, "Envoyé pendant la panne") == 1
    assert [item["state"] for item in outbox(pupil)] == ["waiting"]
    server.start()
    pupil.reload()
    wait_until(pupil, "PreauOutbox.all().then(items => items.length === 0)")
    assert bodies_in(server, conversation).count("Envoyé pendant la panne") == 1


def bodies_in_db(server: Server, body: str) -> int:
    """Read with the server down: straight from its database file."""
    import sqlite3

    with sqlite3.connect(server.folder / "preau.sqlite3") as connection:
        return int(
            connection.execute("SELECT count(*) FROM messages WHERE body = ?", (body,)).fetchone()[
                0
            ]
        )


def test_a_conflict_is_told_and_the_copy_kept(server: Server, browser: Any) -> None:
    homework = homework_with_a_file(
        server,
        "Exposé à rendre",
        publish_at=(datetime.now(UTC) - timedelta(days=2)).isoformat(),
    )
    pupil = signed_in(browser, server, "eleve.demo")
    pupil.goto(server.url + f"/homework/{homework}")
    offline(server, pupil.context)
    pupil.get_by_label("Ma réponse").fill("Mon exposé sur la Lune")
    pupil.get_by_role("button", name="Rendre", exact=True).click()
    pupil.locator("#outbox .waiting").wait_for()
    # Meanwhile the teacher closes the homework: the cut-off passed while offline.
    server.start()
    with server.api("prof.demo") as teacher:
        past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        changed = teacher.patch(
            f"/api/v1/homework/{homework}",
            json={
                "due_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "cutoff_at": past,
            },
        )
        assert changed.status_code == 200, changed.text
    pupil.context.set_offline(False)
    pupil.reload()
    pupil.locator("#outbox .error", has_text="Non envoyé").wait_for()
    assert "date limite" in pupil.locator("#outbox").inner_text()
    assert "Mon exposé sur la Lune" in pupil.locator("#outbox pre").inner_text()
    shoot(pupil, "homework-conflict")
    pupil.context.close()


def test_another_person_sees_nothing_of_the_first(server: Server, browser: Any) -> None:
    pupil = signed_in(browser, server, "eleve.demo")
    context = pupil.context
    # The video lesson and the exercise kept for offline are the pupil's too.
    lesson = homework_path(pupil, server, "Leçon vidéo")
    video_id = video_ready(pupil, server, lesson)
    keep_for_offline(pupil, server, lesson)
    keep_for_offline(pupil, server, homework_path(pupil, server, "Quiz"))
    kept = kept_keys(pupil)
    assert f"/videos/{video_id}/low.mp4" in kept, kept
    assert any(key.endswith("?q=summary") for key in kept), kept
    pupil.goto(server.url + "/todo")
    wait_saved(pupil, ["/todo", "/timetable"])
    pupil.evaluate(
        "PreauOutbox.add({person: document.querySelector('meta[name=preau-person]').content,"
        " url: '/todo/1/done', fields: [], key: 'kept-for-later-1', state: 'waiting', label: 'x'})"
    )
    # The session ends without a logout (a shared family device) and a parent signs in.
    context.clear_cookies()
    parent = signed_in(browser, server, "parent.demo", context=context)
    assert not [p for p in saved_paths(parent) if p == "/todo"], saved_paths(parent)
    assert not [k for k in kept_keys(parent) if k.startswith(("/videos/", "/attempts/"))]
    assert outbox(parent) == []
    # The parent logs out: nothing of theirs stays either.
    parent.goto(server.url + "/home")
    parent.get_by_role("button", name="Se déconnecter").click()
    parent.wait_for_url("**/login")
    assert saved_paths(parent) == []
    assert kept_keys(parent) == []
    assert outbox(parent) == []
    page = context.new_page()
    page.goto(server.url + "/offline")
    page.locator("#nothing-saved").wait_for()
    shoot(page, "offline-page-empty")
    context.close()


def test_a_new_service_worker_keeps_what_waits(server: Server, browser: Any) -> None:
    conversation = conversation_with_the_pupil(server, "Nouvelle version")
    pupil = signed_in(browser, server, "eleve.demo")
    pupil.goto(server.url + f"/messages/{conversation}")
    offline(server, pupil.context)
    pupil.get_by_label("Votre réponse").fill("Envoyé pendant la mise à jour")
    pupil.get_by_role("button", name="Envoyer la réponse").click()
    pupil.locator("#outbox .waiting").wait_for()
    # A new version of the service worker (its script differs: another size budget).
    online(server, pupil.context, PREAU_OFFLINE_BUDGET_MB="30")
    replaced = pupil.evaluate(
        """() => new Promise(resolve => {
          navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true));
          navigator.serviceWorker.getRegistration().then(r => r.update());
        })"""
    )
    assert replaced is True
    wait_until(pupil, "PreauOutbox.all().then(items => items.length === 0)")
    assert bodies_in(server, conversation).count("Envoyé pendant la mise à jour") == 1
    assert not pupil.errors, pupil.errors
    pupil.context.close()
