"""Messages under load, in one run on one server (uvicorn, one worker pinned to CPU 0;
load from CPU 1):

1. warm inbox list (``GET /api/v1/conversations``, a teacher with a full first page)
   against a raw ASGI route in the same process returning the same bytes (wrk);
2. memory per open live connection (``GET /live``): the server's RSS before and after
   opening N connections, divided by N;
3. time to fan one announcement out to 1,000 connected listeners: from sending the POST
   until the last of 1,000 open ``/live`` connections (one per pupil) has its event.

    .venv/bin/python bench/messages.py [--quick]

The app is built without the gate (which is wired in front of it elsewhere), on SQLite
with the in-process shared state. The table goes into ``docs/performance.md`` between the
``messages`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from limits.aio.storage import MemoryStorage

from preau.actions.directory import create_school
from preau.actions.messages.conversations import start_conversation
from preau.actions.messages.sending import SendingLimit
from preau.adapters.sql.engine import migrate
from preau.adapters.sql.schema import enrolments, groups, people
from preau.bootstrap import around, build_router, build_services
from preau.domain.messages import ConversationDraft
from preau.domain.people import Actor, Profile
from preau.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_common import ROOT, free_port, pinned, wait_for_port, write_section

SECRET = "messages-benchmark-secret-0123456789abcdef"  # noqa: S105 — a throwaway bench key
LISTENERS = 1000
RAW_BODY_FILE = "inbox.json"


def settings_for(database: Path, folder: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        secret_key=SECRET,
        files_dir=folder / "files",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        messages_per_minute=1_000_000,
        messages_per_day=10_000_000,
        log_json=False,
    )


def raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- the server ----------------------------------------------------------------------------


def serve(database: Path, folder: Path, port: int) -> None:
    """The app without the gate, plus ``/raw``: the same inbox bytes from plain ASGI."""
    raise_file_limit()
    settings = settings_for(database, folder)
    services = build_services(settings)
    app = around(build_router(services), services, settings, gate=None)  # type: ignore[arg-type]  # the bench passes the router the way bootstrap does
    raw: dict[str, bytes] = {}

    async def dispatch(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/raw":
            if "body" not in raw:
                raw["body"] = (folder / RAW_BODY_FILE).read_bytes()
            body = raw["body"]
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    uvicorn.run(dispatch, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the data ------------------------------------------------------------------------------


async def seed(database: Path, folder: Path) -> dict[str, Any]:
    """A school with a teacher, a class of 1,000 pupils, and 30 conversations."""
    services = build_services(settings_for(database, folder))
    services.sending = SendingLimit(MemoryStorage(), per_minute=10**6, per_day=10**7)
    await migrate(services.engine)
    school_id = await create_school(services, uai="0759999Z", name="Collège du banc d’essai")
    now = services.now()
    person = {"school_id": school_id, "created_at": now, "updated_at": now}
    async with services.engine.begin() as connection:
        teacher = await connection.execute(
            people.insert().values(
                profile="teacher",
                username="prof.banc",
                given_name="Paul",
                family_name="Banc",
                **person,
            )
        )
        teacher_id = int(teacher.inserted_primary_key[0])  # type: ignore[index]  # one row: its key
        await connection.execute(
            people.insert(),
            [
                {
                    "profile": "pupil",
                    "username": f"eleve.{n:04d}",
                    "given_name": "Élève",
                    "family_name": f"N{n:04d}",
                    **person,
                }
                for n in range(LISTENERS)
            ],
        )
        pupil_ids = [
            int(row.id)
            for row in await connection.execute(
                sa.select(people.c.id).where(people.c.profile == "pupil").order_by(people.c.id)
            )
        ]
        group = await connection.execute(
            groups.insert().values(school_id=school_id, kind="class", name="6e Z")
        )
        class_id = int(group.inserted_primary_key[0])  # type: ignore[index]  # one row: its key
        await connection.execute(
            enrolments.insert(),
            [
                {"school_id": school_id, "group_id": class_id, "person_id": p, "role": "pupil"}
                for p in pupil_ids
            ]
            + [
                {
                    "school_id": school_id,
                    "group_id": class_id,
                    "person_id": teacher_id,
                    "role": "teacher",
                }
            ],
        )
    teacher_actor = Actor(person_id=teacher_id, school_id=school_id, profile=Profile.TEACHER)
    for number in range(30):
        await start_conversation(
            services,
            teacher_actor,
            ConversationDraft(
                subject=f"Devoirs de la semaine {number + 1}",
                body="Exercices 12 à 15 page 48.",
                person_ids=pupil_ids[number * 3 : number * 3 + 3],
            ),
        )
    clock = time.time()
    tokens = {
        "teacher": services.sessions.issue_session(teacher_actor, "bench-teacher", now=clock),
        "pupils": [
            services.sessions.issue_session(
                Actor(person_id=p, school_id=school_id, profile=Profile.PUPIL),
                f"bench-{p}",
                now=clock,
            )
            for p in pupil_ids
        ],
    }
    await services.state.close()
    await services.engine.dispose()
    return {"class_id": class_id, **tokens}


# -- measurements --------------------------------------------------------------------------


def wrk(url: str, seconds: int, token: str | None = None) -> float:
    command = ["wrk", "-t1", "-c64", f"-d{seconds}s"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(
        pinned(1, [*command, url]), capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match or "Non-2xx" in output:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return float(match.group(1))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class LiveClient:
    """One raw HTTP/1.1 connection to /live, reading events as they come."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int, token: str) -> LiveClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                "GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                f"Authorization: Bearer {token}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        client = cls(reader, writer)
        await client.wait_for(b'"kind":"hello"')
        return client

    async def wait_for(self, marker: bytes) -> None:
        seen = b""
        while marker not in seen:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise RuntimeError("the live connection closed")
            seen = seen[-200:] + chunk

    def close(self) -> None:
        self.writer.close()


async def live_measurements(port: int, pid: int, data: dict[str, Any]) -> dict[str, float]:
    raise_file_limit()
    await asyncio.sleep(1)
    before = rss_kib(pid)
    clients: list[LiveClient] = []
    for start in range(0, LISTENERS, 100):  # open in waves, as a school's pupils would
        clients += await asyncio.gather(
            *(LiveClient.open(port, token) for token in data["pupils"][start : start + 100])
        )
    await asyncio.sleep(1)
    after = rss_kib(pid)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        waiting = [asyncio.create_task(c.wait_for(b'"kind":"announcement"')) for c in clients]
        started = time.perf_counter()
        response = await client.post(
            "/api/v1/announcements",
            json={"title": "Sortie", "body": "Demain 8 h", "group_ids": [data["class_id"]]},
            headers={"authorization": f"Bearer {data['teacher']}"},
        )
        answered = time.perf_counter() - started
        if response.status_code != 201:
            raise RuntimeError(f"announcement refused: {response.text}")
        await asyncio.gather(*waiting)
        delivered = time.perf_counter() - started
    for live in clients:
        live.close()
    return {
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
        "kib_per_connection": (after - before) / LISTENERS,
        "post_ms": answered * 1000,
        "fan_out_ms": delivered * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        folder = Path(arguments.serve)
        serve(folder / "bench.sqlite3", folder, arguments.port)
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    seconds, rounds = (3, 3) if arguments.quick else (8, 5)
    with tempfile.TemporaryDirectory(prefix="preau-messages-") as name:
        folder = Path(name)
        data = asyncio.run(seed(folder / "bench.sqlite3", folder))
        port = free_port()
        server = subprocess.Popen(
            pinned(0, [sys.executable, __file__, "--serve", str(folder), "--port", str(port)]),
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        try:
            wait_for_port(port, server)
            inbox = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/conversations",
                headers={"authorization": f"Bearer {data['teacher']}"},
            )
            inbox.raise_for_status()
            (folder / RAW_BODY_FILE).write_bytes(inbox.content)
            base = f"http://127.0.0.1:{port}"
            wrk(base + "/raw", 1)  # warm up both
            wrk(base + "/api/v1/conversations", 1, data["teacher"])
            raw: list[float] = []
            warm: list[float] = []
            for _ in range(rounds):  # alternate, so drift in the machine hits both alike
                raw.append(wrk(base + "/raw", seconds))
                warm.append(wrk(base + "/api/v1/conversations", seconds, data["teacher"]))
            live = asyncio.run(live_measurements(port, server.pid, data))
        finally:
            server.terminate()
            server.wait(10)
    raw_rate, warm_rate = statistics.median(raw), statistics.median(warm)
    command = "python bench/messages.py" + (" --quick" if arguments.quick else "")
    rows = [
        (
            f"raw ASGI route, same process, same {len(inbox.content):,} bytes "
            f"(median of {rounds} × {seconds} s, `wrk -t1 -c64`)",
            f"{raw_rate:,.0f} req/s",
        ),
        (
            "warm inbox list `GET /api/v1/conversations` (bearer session, cached page, ETag)",
            f"{warm_rate:,.0f} req/s",
        ),
        ("**warm inbox ÷ raw ASGI**", f"**{warm_rate / raw_rate:.2f}**"),
        (
            f"memory per open live connection (RSS {live['rss_before_mib']:.0f} → "
            f"{live['rss_after_mib']:.0f} MiB over {LISTENERS:,} `/live` connections)",
            f"{live['kib_per_connection']:.1f} KiB",
        ),
        (
            f"one announcement to a class of {LISTENERS:,}: POST answered",
            f"{live['post_ms']:.0f} ms",
        ),
        (
            f"… last of {LISTENERS:,} connected listeners has its event",
            f"{live['fan_out_ms']:.0f} ms",
        ),
    ]
    runs_raw = ", ".join(f"{r:,.0f}" for r in raw)
    runs_warm = ", ".join(f"{r:,.0f}" for r in warm)
    table = "\n".join(
        [
            "Messages on one uvicorn worker pinned to CPU 0, load from CPU 1, SQLite and the",
            "in-process shared state, **without the gate** "
            f"(`.venv/bin/{command}`, {datetime.now(UTC).strftime('%Y-%m-%d')}, "
            f"Python {platform.python_version()}).",
            "",
            "| measure | result |",
            "|---|---:|",
            *(f"| {label} | {value} |" for label, value in rows),
            "",
            f"Runs (req/s): raw {runs_raw}; inbox {runs_warm}. The fan-out time includes",
            "writing 1,000 recipient rows, counting each listener's unread items (grouped",
            "queries) and one publish, which the process's single subscription spreads to the",
            "listeners' queues.",
        ]
    )
    print(table)
    write_section("messages", table)


if __name__ == "__main__":
    main()
