"""TURN and recording against real servers: coturn started from ``preau turn config``
accepts the credentials a join hands out and refuses expired or forged ones; nobody
outside the class gets any; a teacher records a class on a real Janus node, others may
not, and a recording with nothing in it ends with a sentence, not a broken lesson."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.virtual.pool import pool_of
from preau.actions.virtual.recordings import run_next_recording
from preau.domain.turn import ice_servers
from tests.conftest import missing_service
from tests.helpers import (
    PASSWORD,
    App,
    School,
    api_token,
    build_world,
    make_settings,
    running_app,
)
from tests.virtual.conftest import janus_settings
from tests.virtual.janus_nodes import JanusProcess, free_port
from tests.virtual.turn_client import allocate

TURN_SECRET = "turn-test-secret-0123456789abcdef"
TURNSERVER = "/usr/bin/turnserver"


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """coturn on a free port of 127.0.0.1, configured by ``preau turn config``."""
    if not Path(TURNSERVER).exists():
        missing_service("coturn is not installed (apt-get install coturn)")
    folder = tmp_path_factory.mktemp("coturn")
    port = free_port()
    config = folder / "turnserver.conf"
    subprocess.run(
        [
            sys.executable, "-m", "preau.cli", "turn", "config", "--out", str(config),
            "--listen", "127.0.0.1", "--port", str(port),
            "--min-port", "62000", "--max-port", "62100",
        ],
        env={**os.environ, "PREAU_TURN_SECRET": TURN_SECRET},
        check=True,
        capture_output=True,
    )  # fmt: skip
    text = config.read_text() + f"userdb={folder / 'turndb'}\npidfile={folder / 'pid'}\n"
    config.write_text(text)
    log = (folder / "turn.log").open("wb")
    process = subprocess.Popen([TURNSERVER, "-c", str(config)], stdout=log, stderr=log)
    log.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            allocate("127.0.0.1", port, "0:nobody", "x")
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(10)


@pytest.fixture
async def turn_app(
    engine: AsyncEngine, database_url: str, running_nodes: list[JanusProcess], coturn: int,
    tmp_path: Path,
) -> AsyncIterator[App]:  # fmt: skip
    settings = make_settings(
        database_url,
        **janus_settings(running_nodes),
        turn_secret=TURN_SECRET,
        turn_urls=f"turn:127.0.0.1:{coturn}?transport=tcp",
        janus_recordings_dir=tmp_path / "recordings",
        media_worker=False,  # the test runs the media worker's rounds itself
    )
    async with running_app(settings) as running:
        yield running


@pytest.fixture
async def world(turn_app: App) -> dict[str, School]:
    return await build_world(turn_app.services, await turn_app.services.passwords.hash(PASSWORD))


async def bearer(app: App, username: str) -> httpx.AsyncClient:
    client = app.client_for()
    client.headers["authorization"] = f"Bearer {await api_token(client, username)}"
    return client


async def started_room(app: App, school: School) -> int:
    await pool_of(app.services).refresh()
    teacher = await bearer(app, "teacher.a")
    room = await teacher.post("/api/v1/virtual/rooms", json={"group_id": school.class_id})
    assert room.status_code == 201, room.text
    return int(room.json()["id"])


async def test_a_join_hands_turn_credentials_that_coturn_takes_and_expired_ones_it_refuses(
    turn_app: App, world: dict[str, School], coturn: int
) -> None:
    school = world["a"]
    room_id = await started_room(turn_app, school)
    pupil = await bearer(turn_app, "pupil.a")
    grant = (await pupil.post(f"/api/v1/virtual/rooms/{room_id}/join")).json()
    (server,) = grant["ice_servers"]
    assert server["urls"] == [f"turn:127.0.0.1:{coturn}?transport=tcp"]
    assert server["username"].endswith(f":{school.people['pupil']}")
    assert allocate("127.0.0.1", coturn, server["username"], server["credential"]) == 0
    assert allocate("127.0.0.1", coturn, server["username"], "forged" + server["credential"]) == 401

    # An hour later, the same kind of credentials minted an hour and a minute ago.
    (expired,) = ice_servers(
        secret=TURN_SECRET,
        urls=("turn:x",),
        person_id=school.people["pupil"],
        now=turn_app.services.now() - timedelta(seconds=3660),
        ttl_seconds=3600,
    )
    assert allocate("127.0.0.1", coturn, expired.username, expired.credential) == 401

    # Someone not in the room gets no credentials at all: the room does not exist for them.
    outsider = await bearer(turn_app, "other-pupil.a")
    refused = await outsider.post(f"/api/v1/virtual/rooms/{room_id}/join")
    assert refused.status_code == 404
    assert "ice_servers" not in refused.text


async def test_the_teacher_records_others_may_not_and_an_empty_recording_fails_clearly(
    turn_app: App, world: dict[str, School], tmp_path: Path
) -> None:
    if shutil.which("janus-pp-rec") is None or shutil.which("ffmpeg") is None:
        missing_service("recording needs janus-pp-rec (janus-tools) and ffmpeg")
    room_id = await started_room(turn_app, world["a"])
    teacher = await bearer(turn_app, "teacher.a")
    pupil = await bearer(turn_app, "pupil.a")
    path = f"/api/v1/virtual/rooms/{room_id}/recording"
    assert (await teacher.get(path)).json()["state"] == "none"
    refused = await pupil.post(path, json={"recording": True})
    assert refused.status_code == 403
    assert "enseignant" in refused.json()["detail"]
    outsider = await bearer(turn_app, "other-pupil.a")
    assert (await outsider.get(path)).status_code == 404

    assert (await teacher.post(path, json={"recording": False})).status_code == 409
    started = await teacher.post(path, json={"recording": True})
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "recording"
    assert list((tmp_path / "recordings").glob(f"room-{room_id}/*"))  # Janus's folder
    again = await teacher.post(path, json={"recording": True})
    assert again.status_code == 409
    assert "déjà" in again.json()["detail"]

    stopped = await teacher.post(path, json={"recording": False})
    assert stopped.json()["state"] == "processing"
    assert await run_next_recording(turn_app.services)
    view = (await teacher.get(path)).json()
    assert view["state"] == "failed"
    assert "Rien n’a été enregistré" in view["error"]
    assert view["homework_id"] is None
    assert not await run_next_recording(turn_app.services)  # taken once


async def test_the_bandwidth_probe_is_for_signed_in_people_and_never_cached(
    turn_app: App, world: dict[str, School]
) -> None:
    anonymous = await turn_app.client_for().get("/virtual/probe")
    assert anonymous.status_code in {302, 303, 401}
    pupil = await bearer(turn_app, "pupil.a")
    probe = await pupil.get("/virtual/probe")
    assert probe.status_code == 200
    assert len(probe.content) == 192 * 1024
    assert probe.headers["cache-control"] == "no-store"
