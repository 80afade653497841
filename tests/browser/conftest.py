"""A real Préau server (``preau migrate``, ``preau demo``, ``preau serve``) and Debian's
Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import missing_service

if TYPE_CHECKING:
    from tests.browser.virtual_lab import Lab

CHROMIUM = os.environ.get("PREAU_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PREAU = str(Path(sys.executable).parent / "preau")


@dataclass
class Server:
    url: str
    logins: dict[str, tuple[str, str]]  # profile -> (username, password or code)
    environment: dict[str, str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("server")
    port = free_port()
    environment = {
        **os.environ,
        "PREAU_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'preau.sqlite3'}",
        "PREAU_SECRET_KEY": "browser-test-secret-0123456789abcdefghijkl",
        "PREAU_PORT": str(port),
        "PREAU_ARGON2_TIME_COST": "1",
        "PREAU_ARGON2_MEMORY_KIB": "1024",
        "PREAU_ARGON2_PARALLELISM": "1",
        "COLUMNS": "200",
    }
    subprocess.run([PREAU, "migrate"], env=environment, check=True, capture_output=True)
    seeded = subprocess.run(
        [PREAU, "demo"], env=environment, check=True, capture_output=True, text=True
    )
    logins = {}
    for line in seeded.stdout.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃]", line) if cell.strip()]
        if len(cells) == 3 and cells[0] != "Profile":
            logins[cells[0]] = (cells[1], cells[2])
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [PREAU, "serve"], env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    # A deadline, not a timing: measured for coverage on a busy machine, the server has
    # taken 18 s to answer (5 s on a quiet one).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        log.close()
        pytest.fail(
            "the Préau server did not start: " + (folder / "server.log").read_text()[-2000:]
        )
    yield Server(url=url, logins=logins, environment=environment)
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        missing_service(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# The virtual-class tests: two Janus nodes and a server in a network namespace, five pupils
# (a module may define its own ``lab``), and a Chromium launched inside the namespace.
VIRTUAL_PUPILS = 5


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    from tests.browser.virtual_lab import media_lab, missing

    reason = missing()
    if reason:
        missing_service(reason)
    with media_lab(tmp_path, VIRTUAL_PUPILS) as running:
        yield running


@pytest.fixture
def netns_browser(lab: Lab, browser: Any) -> Iterator[Any]:
    from tests.browser.virtual_lab import netns_chromium

    # The session's Playwright (one per thread) launches a second Chromium, in the namespace.
    with netns_chromium(lab, browser.browser_type) as inside:
        yield inside
