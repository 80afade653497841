"""A network namespace holding two Janus nodes and a Préau server, and Chromium (fake
camera) running inside it: used by the media test and ``bench/virtual.py``. Needs root
(``ip netns``); Janus gathers no ICE candidate on a loopback-only interface, hence the
veth end carrying 127.0.0.2 (../shared/research/virtual-classroom.md §6)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PREAU, free_port
from tests.helpers import PASSWORD
from tests.virtual.janus_nodes import (
    ADMIN_SECRET,
    JANUS,
    ROOM_KEY,
    TOKEN_SECRET,
    JanusProcess,
    answers,
    make_node,
    nodes_setting,
)

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
FRAMES = """async () => {
  const state = window.preauClassroom;
  if (!state) { return { node: null, frames: 0 }; }
  let frames = 0;
  for (const handle of Object.values(state.subscribers)) {
    const pc = handle.webrtcStuff && handle.webrtcStuff.pc;
    if (!pc) { continue; }
    (await pc.getStats()).forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "video") {
        frames += report.framesDecoded || 0;
      }
    });
  }
  return { node: state.node, frames: frames };
}"""


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


@dataclass
class Lab:
    netns: str
    url: str
    nodes: list[JanusProcess]
    folder: Path


def missing() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the media lab needs root for `ip netns` (CI runs as root)"
    if not Path(JANUS).exists():
        return "Janus is not installed (apt-get install janus)"
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM}"
    return None


@contextmanager
def media_lab(tmp_path: Path, pupils: int, extra: dict[str, str] | None = None) -> Iterator[Lab]:
    """Two Janus nodes and ``preau serve`` in a fresh namespace; class a holds ``pupils``."""
    netns = f"preau-media-{os.getpid()}"
    run("ip", "netns", "add", netns)
    processes: list[subprocess.Popen[bytes]] = []
    nodes: list[JanusProcess] = []
    try:
        inside = ("ip", "netns", "exec", netns)
        run(*inside, "ip", "link", "set", "lo", "up")
        # A veth end carrying 127.0.0.2: an interface not flagged loopback, for ICE.
        run(*inside, "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1")
        run(*inside, "ip", "addr", "add", "127.0.0.2/32", "dev", "d0")
        run(*inside, "ip", "link", "set", "d1", "up")
        run(*inside, "ip", "link", "set", "d0", "up")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        nodes = [
            make_node(
                name, tmp_path / name, rtp_base=40000 + 1000 * index, netns=netns, allow_origin=url
            )
            for index, name in enumerate(("a", "b"))
        ]
        for node in nodes:
            node.start()
        environment = {
            **os.environ,
            "PREAU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'preau.sqlite3'}",
            "PREAU_SECRET_KEY": "media-test-secret-0123456789abcdefghijkl",
            "PREAU_PORT": str(port),
            "PREAU_BASE_URL": url,
            "PREAU_ARGON2_TIME_COST": "1",
            "PREAU_ARGON2_MEMORY_KIB": "1024",
            "PREAU_ARGON2_PARALLELISM": "1",
            "PREAU_JANUS_NODES": nodes_setting(nodes),
            "PREAU_JANUS_ADMIN_SECRET": ADMIN_SECRET,
            "PREAU_JANUS_TOKEN_SECRET": TOKEN_SECRET,
            "PREAU_JANUS_ROOM_KEY": ROOM_KEY,
            "PREAU_JANUS_POLL_SECONDS": "0.5",
            "PREAU_JANUS_DEAD_AFTER": "1",
            **(extra or {}),
        }
        root = Path(__file__).parent.parent.parent
        subprocess.run(
            [sys.executable, "-m", "tests.browser.virtual_seed", str(pupils - 1)],
            env=environment,
            cwd=root,
            check=True,
            capture_output=True,
        )
        log = (tmp_path / "server.log").open("wb")
        processes.append(
            subprocess.Popen(
                [*inside, PREAU, "serve"], env=environment, stdout=log, stderr=subprocess.STDOUT
            )
        )
        log.close()
        deadline = time.monotonic() + 60  # a shared, loaded machine starts slowly
        while not answers(url + "/healthz", netns):
            if time.monotonic() > deadline:
                log_text = (tmp_path / "server.log").read_text()[-2000:]
                raise RuntimeError("Préau did not start: " + log_text)
            time.sleep(0.1)
        yield Lab(netns=netns, url=url, nodes=nodes, folder=tmp_path)
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:  # never leave a server (or the namespace) behind
                process.kill()
                process.wait(10)
        for node in nodes:
            node.kill()
        subprocess.run(["ip", "netns", "delete", netns], check=False)


@contextmanager
def netns_chromium(lab: Lab, browser_type: Any) -> Iterator[Any]:
    """Chromium launched by Playwright's ``browser_type`` inside the lab's namespace (the
    driver talks to it over pipes, which cross namespaces)."""
    wrapper = lab.folder / "chromium-in-netns"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {lab.netns} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    browser = browser_type.launch(executable_path=str(wrapper), args=[*CHROMIUM_ARGS, *MEDIA_ARGS])
    try:
        yield browser
    finally:
        browser.close()


def logged_in_page(browser: Any, url: str, username: str) -> Any:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/home")
    return page


def keep_console_errors(page: Any, errors: list[str]) -> None:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)


def teacher_starts_class(browser: Any, url: str, errors: list[str] | None = None) -> Any:
    """The teacher's page, on the class room they have just started; its console errors
    from the start on go to ``errors`` if given."""
    teacher = logged_in_page(browser, url, "teacher.a")
    if errors is not None:
        keep_console_errors(teacher, errors)
    teacher.goto(url + "/virtual")
    teacher.get_by_role("button", name="Start").click()
    teacher.wait_for_url("**/virtual/rooms/*")
    return teacher


def pupil_pages(browser: Any, url: str, pupils: int) -> list[Any]:
    """A logged-in page for each of the lab's first ``pupils`` pupils."""
    names = ["pupil.a", *(f"pupil{n}.a" for n in range(2, pupils + 1))]
    return [logged_in_page(browser, url, name) for name in names]


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> float:
    """Seconds until ``check()`` holds; AssertionError after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {seconds} s")
