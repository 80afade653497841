"""Warm to-do throughput: the pupil's to-do (API and page) served by Préau from its cache,
against a raw ASGI app returning the very same bytes, on the same server in the same run,
on SQLite and on PostgreSQL.

    .venv/bin/python bench/classwork_todo.py [--quick]

Server: uvicorn, one worker pinned to CPU 0; load: ``wrk -t1 -c64`` pinned to CPU 1, with
the pupil's session cookie. Préau is built as ``bootstrap.build_app`` builds it but
without the gate (security headers, request context, sessions, the to-do fast path, the
router), so the figure is the to-do path's own cost; the gate's cost is measured by
``bench/gate_cost.py``. The result goes into ``docs/performance.md`` between the
``classwork-todo`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn

from preau.actions import classwork
from preau.actions.directory import create_school, insert_person
from preau.adapters.sql.engine import migrate
from preau.adapters.sql.schema import enrolments, groups
from preau.bootstrap import build_router, build_services
from preau.domain.classwork import HomeworkDraft, TurnIn
from preau.domain.directory import PersonDraft
from preau.domain.people import Actor, Profile
from preau.settings import Settings
from preau.web.classwork import TodoFastPath
from preau.web.middleware import RequestContext, SecurityHeaders, SessionMiddleware

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_common import ROOT, free_port, pinned, wait_for_port, write_section

SECRET = "classwork-bench-secret-0123456789abcdefghij"  # noqa: S105  # a throwaway bench key
POSTGRES_ADMIN = os.environ.get(
    "PREAU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
HOMEWORK_ITEMS = 15  # a busy week for one pupil across their subjects


def settings_for(url: str, files_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        secret_key=SECRET,
        files_dir=files_dir,
        log_json=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
    )


async def prepare(url: str, files_dir: Path) -> dict[str, str]:
    """A migrated database with one class, its teacher, a pupil and a week of homework;
    returns the pupil's cookies."""
    services = build_services(settings_for(url, files_dir))
    try:
        await migrate(services.engine)
        school_id = await create_school(services, uai="0759999Z", name="Collège du banc d'essai")
        async with services.engine.begin() as connection:
            teacher_id = await insert_person(
                services,
                connection,
                school_id,
                PersonDraft(given_name="Ada", family_name="Prof", profile=Profile.TEACHER),
            )
            pupil_id = await insert_person(
                services,
                connection,
                school_id,
                PersonDraft(given_name="Léa", family_name="Élève", profile=Profile.PUPIL),
            )
            group = await connection.execute(
                groups.insert().values(school_id=school_id, kind="class", name="6e A")
            )
            group_id = int(group.inserted_primary_key[0])  # type: ignore[index]
            await connection.execute(
                enrolments.insert(),
                [
                    {"school_id": school_id, "group_id": group_id, "person_id": pupil_id,
                     "role": "pupil"},
                    {"school_id": school_id, "group_id": group_id, "person_id": teacher_id,
                     "role": "teacher", "subject": "Mathématiques"},
                ],
            )  # fmt: skip
        teacher = Actor(teacher_id, school_id, Profile.TEACHER)
        pupil = Actor(pupil_id, school_id, Profile.PUPIL)
        now = datetime.now(UTC)
        for number in range(HOMEWORK_ITEMS):
            work = await classwork.create_homework(
                services,
                teacher,
                HomeworkDraft(
                    group_id=group_id,
                    title=f"Exercices {number + 1} : fractions et décimaux",
                    instructions="Faire les exercices de la page 42.",
                    due_at=now + timedelta(days=1 + number % 7, hours=number),
                    estimated_minutes=30,
                    hand_in_expected=number % 3 != 0,
                ),
            )
            if number % 3 == 1:
                await classwork.turn_in(services, pupil, work.id, TurnIn(text="Fait."))
        token = services.sessions.issue_session(pupil, "bench-device", now=time.time())
        return {"preau_session": token, "preau_csrf": "bench-csrf-cookie-value"}
    finally:
        await services.engine.dispose()


# -- the two servers ------------------------------------------------------------------------


def preau_app(url: str, files_dir: Path) -> Any:
    settings = settings_for(url, files_dir)
    services = build_services(settings)
    return SecurityHeaders(
        RequestContext(
            SessionMiddleware(
                TodoFastPath(build_router(services), services=services),
                sessions=services.sessions,
                session_seconds=settings.session_seconds,
                secure_cookies=False,
            ),
            default_locale="fr",
        ),
        hsts=False,
    )


def raw_app(body: bytes, content_type: bytes) -> Any:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def serve(arguments: argparse.Namespace) -> None:
    if arguments.serve == "preau":
        app = preau_app(arguments.database, Path(arguments.files))
    else:
        body = Path(arguments.body).read_bytes()
        app = raw_app(body, arguments.content_type.encode())
    uvicorn.run(app, host="127.0.0.1", port=arguments.port, log_level="warning", access_log=False)


def start(arguments: list[str], port: int) -> subprocess.Popen[bytes]:
    command = pinned(0, [sys.executable, __file__, *arguments, "--port", str(port)])
    server = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    wait_for_port(port, server)
    return server


def wrk(port: int, path: str, seconds: int, cookie: str) -> float:
    command = pinned(
        1,
        ["wrk", "-t1", "-c64", f"-d{seconds}s", "-H", f"Cookie: {cookie}",
         f"http://127.0.0.1:{port}{path}"],
    )  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match or "Non-2xx" in output:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return float(match.group(1))


def measure(
    engine: str, url: str, folder: Path, cookies: dict[str, str], *, seconds: int, rounds: int
) -> dict[str, list[float]]:
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    results: dict[str, list[float]] = {}
    port = free_port()
    server = start(["--serve", "preau", "--database", url, "--files", str(folder)], port)
    try:
        bodies = {}
        for kind, path in (("api", "/api/v1/todo"), ("page", "/todo")):
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                client.cookies.update(cookies)
                first = client.get(path)
                warm = client.get(path)
            assert first.status_code == warm.status_code == 200, warm.text[:300]
            assert warm.content == first.content
            bodies[kind] = (warm.content, warm.headers["content-type"])
    finally:
        server.terminate()
        server.wait(10)
    for kind, path in (("api", "/api/v1/todo"), ("page", "/todo")):
        body_file = folder / f"{engine}-{kind}.body"
        body_file.write_bytes(bodies[kind][0])
        for variant in ("preau", "raw"):
            results.setdefault(f"{kind}-{variant}", [])
        for _ in range(rounds):  # alternate, so drift in the machine hits both alike
            for variant in ("preau", "raw"):
                port = free_port()
                if variant == "preau":
                    arguments = ["--serve", "preau", "--database", url, "--files", str(folder)]
                else:
                    arguments = ["--serve", "raw", "--body", str(body_file),
                                 "--content-type", bodies[kind][1]]  # fmt: skip
                server = start(arguments, port)
                try:
                    wrk(port, path, 1, cookie)  # warm up: fills the cache, JIT-free but hot
                    results[f"{kind}-{variant}"].append(wrk(port, path, seconds, cookie))
                finally:
                    server.terminate()
                    server.wait(10)
    return results


async def postgres_url(name: str) -> str:
    connection = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--serve", choices=["preau", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--body", help=argparse.SUPPRESS)
    parser.add_argument("--content-type", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments)
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    seconds, rounds = (3, 2) if arguments.quick else (8, 3)
    rows = []
    with tempfile.TemporaryDirectory(prefix="preau-bench-todo-") as temporary:
        folder = Path(temporary)
        for engine in ("sqlite", "postgresql"):
            if engine == "sqlite":
                url = f"sqlite+aiosqlite:///{folder / 'todo.sqlite3'}"
            else:
                url = asyncio.run(postgres_url("preau_bench_todo"))
            cookies = asyncio.run(prepare(url, folder / "files"))
            results = measure(engine, url, folder, cookies, seconds=seconds, rounds=rounds)
            for kind in ("api", "page"):
                preau = statistics.median(results[f"{kind}-preau"])
                raw = statistics.median(results[f"{kind}-raw"])
                rows.append(
                    (engine, kind, preau, raw, results[f"{kind}-preau"], results[f"{kind}-raw"])
                )
    lines = [
        f"| {engine} | {'`GET /api/v1/todo` (JSON)' if kind == 'api' else '`GET /todo` (page)'} "
        f"| {preau:,.0f} | {raw:,.0f} | **{preau / raw:.2f}** "
        f"| {', '.join(f'{r:,.0f}' for r in runs_p)} / {', '.join(f'{r:,.0f}' for r in runs_r)} |"
        for engine, kind, preau, raw, runs_p, runs_r in rows
    ]
    spread = max(max(runs) / min(runs) for row in rows for runs in row[4:6])
    caution = (
        f"\nRuns of one variant differ by up to {spread:.1f}×: other work shared these two "
        "cores during the run, so read the ratios as indicative.\n"
        if spread > 1.5
        else ""
    )
    table = f"""
Warm to-do of one pupil ({HOMEWORK_ITEMS} homework items) with a session cookie, against a
raw ASGI app returning the same bytes. uvicorn, one worker pinned to CPU 0, `wrk -t1 -c64`
pinned to CPU 1, median of {rounds} alternating runs of {seconds} s; Préau built **without
the gate** (its cost is in the gate-cost section). A warm request runs no SQL query, so the
database only matters for the first request. Command: `.venv/bin/python
bench/classwork_todo.py{" --quick" if arguments.quick else ""}` ({time.strftime("%Y-%m-%d")},
Python {platform.python_version()}).

| engine | request | Préau req/s | raw ASGI req/s | ratio | runs (Préau / raw) |
|---|---|---:|---:|---:|---|
{chr(10).join(lines)}
{caution}"""
    print(table)
    write_section("classwork-todo", table)


if __name__ == "__main__":
    main()
