"""The API's own OpenAPI document, fuzzed by Schemathesis against a real server, as a
pupil, a teacher and an administrator: no answer may be a 5xx, and every documented answer
must match its schema. Hand-written bad inputs are in tests/web/test_bad_input.py.

The run is bounded (``PREAU_FUZZ_EXAMPLES`` examples per operation, 5 by default, after
Schemathesis's boundary and type-confusion cases: about a minute per profile on a quiet
two-core machine); ``make fuzz`` runs a longer one before a release. New
endpoints are fuzzed as soon as they are in the document: nothing here names them.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import CHECKOUT, _recreate_postgres_database, worker_id

PREAU = str(Path(sys.executable).parent / "preau")
SCHEMATHESIS = str(Path(sys.executable).parent / "st")
CONFIG = Path(__file__).parent / "schemathesis.toml"
EXAMPLES = os.environ.get("PREAU_FUZZ_EXAMPLES", "5")
# Ending the fuzzer's own session would turn the rest of its run into 401s.
NOT_FUZZED = ("ApiV1SessionEndSession", "ApiV1SessionOthersEndOtherSessions")

pytestmark = pytest.mark.xdist_group("fuzz")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    logins: dict[str, tuple[str, str]]
    log: Path


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``preau demo`` served by ``preau serve``, the waiting room off (it may shed load
    with a 503 by design: the fuzzer is a flood). Started once per session, not per
    module: under xdist the three profiles' tests may run between other modules' tests,
    and a module fixture would then be started again (~50 s each time under coverage)."""
    folder = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    # PostgreSQL, as in production: its `integer` ids overflow where SQLite's do not.
    database_url = asyncio.run(_recreate_postgres_database(f"preau_fuzz_{CHECKOUT}_{worker_id()}"))
    environment = {
        **os.environ,
        "PREAU_DATABASE_URL": database_url,
        "PREAU_FILES_DIR": str(folder / "files"),
        "PREAU_SECRET_KEY": "fuzz-test-secret-0123456789abcdefghijklmn",
        "PREAU_PORT": str(port),
        "PREAU_ARGON2_TIME_COST": "1",
        "PREAU_ARGON2_MEMORY_KIB": "1024",
        "PREAU_ARGON2_PARALLELISM": "1",
        "PREAU_GATE_ENABLED": "false",
        "PREAU_OPERATOR_UAIS": "0751234A",  # the demo school: its admin runs the gate API
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
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [PREAU, "serve"], env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # a deadline, not a timing (a busy machine)
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            process.kill()
            pytest.fail("the Préau server did not start: " + log_path.read_text()[-2000:])
        yield Server(url=url, logins=logins, log=log_path)
        process.terminate()
        process.wait(10)


def fuzz(server: Server, profile: str) -> subprocess.CompletedProcess[str]:
    username, password = server.logins[profile]
    login = httpx.post(
        server.url + "/api/v1/session", json={"username": username, "password": password}
    )
    assert login.status_code == 201, login.text
    token = login.json()["token"]
    command = [
        SCHEMATHESIS,
        "--config-file",
        str(CONFIG),
        "run",
        server.url + "/api/v1/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        EXAMPLES,
        "--workers",
        "1",
        "--continue-on-failure",
        "--no-color",
        "--seed",
        os.environ.get("PREAU_FUZZ_SEED", "20261204"),
    ]
    for operation_id in NOT_FUZZED:
        command += ["--exclude-operation-id", operation_id]
    # Run where the server keeps its files: Schemathesis leaves a cache in its folder.
    return subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=server.log.parent
    )


@pytest.mark.parametrize("profile", ["pupil", "teacher", "admin"])
def test_no_server_error_and_every_answer_as_documented(server: Server, profile: str) -> None:
    run = fuzz(server, profile)
    # The failures first (Schemathesis prints its warnings after them), then the totals.
    start = run.stdout.find("FAILURES")
    summary = (run.stdout[start : start + 8000] if start >= 0 else "") + run.stdout[-1500:]
    assert run.returncode == 0, f"Schemathesis found failures as {profile}:\n{summary}"
    # It ran: operations were tested and test cases generated (not an empty document).
    assert re.search(r"Tested: +\d{2,}", run.stdout), summary
    assert re.search(r"\d+ generated, \d+ passed", run.stdout), summary
