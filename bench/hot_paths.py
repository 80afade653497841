"""Hot reads at the limit: Préau's warm to-do (JSON, page, 304), inbox, timetable and report
card (a class of 25, 12 marks in 3 subjects) against
a raw ASGI app returning the very same bytes, on uvicorn and on granian, in one run.

    .venv/bin/python bench/hot_paths.py [--quick]

Préau is the whole application as ``bootstrap.build_app`` serves it in production: the gate
(the pupil holds a valid pass), the edge, sessions, warm reads and the router, on
PostgreSQL and Redis; then the to-do and its 304 on granian in the other configurations:
the embedded default (SQLite, in-process state) and an API client with a bearer token.
The raw app answers every request with the status, content type and
body that Préau gave for the same request. Each server runs one worker pinned to CPU 0;
``wrk -t1 -c64`` runs pinned to CPU 1, with the pupil's cookies. Préau and the raw app
take turns in short pairs of runs, and the ratio is the median of the pairs' ratios, so
drift in the machine's speed (other work on the host) hits both sides of a pair alike.
One pupil sends all the load, so the bench raises the per-device and per-account rate
limits, which would otherwise refuse it.
The table goes into ``docs/performance.md`` between the ``hot-paths`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from preau.actions import marks, timetable
from preau.actions.messages.conversations import start_conversation
from preau.bootstrap import build_app, build_services
from preau.domain.admission import Lane
from preau.domain.marks import EvaluationDraft, MarkEntry
from preau.domain.messages import ConversationDraft
from preau.domain.people import Actor, Profile
from preau.domain.timetable import LessonDraft
from preau.gate.passes import Credentials
from preau.gate.settings import GateSettings
from preau.observability import configure_logging

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serving
from gate_common import ROOT, free_port, pinned, wait_for_port, write_section

REDIS_URL = os.environ.get("PREAU_TEST_REDIS", "redis://127.0.0.1:6379/0")
GATE = GateSettings(
    # The pupil's pass is issued once, before the run, and wrk keeps sending it: it must
    # not come due for renewal during the run (a quarter of the idle time after issue),
    # or every later request would take the gate's slow path and renew it in vain.
    idle_timeout_s=8 * 3600,
    pass_ttl_s=8 * 3600,
    rate_limit_pass="100000000/minute",  # noqa: S106 - one pupil sends the whole load
    rate_limit_account="100000000/minute",
)
READS = [  # (name, path, extra header, expected status)
    ("to-do, JSON", "/api/v1/todo", None, 200),
    ("to-do, JSON, 304", "/api/v1/todo", "if-none-match", 304),
    ("to-do, page", "/todo", None, 200),
    ("inbox, JSON", "/api/v1/conversations", None, 200),
    ("timetable week, JSON", "/api/v1/timetable/week", None, 200),
    ("report card, JSON", "/api/v1/marks/pupils/{pupil}/report-card", None, 200),
]
CLASSMATES = 24  # the report card's class figures come from a class of 25
SUBJECTS = ("Mathématiques", "Français", "Histoire-géographie")
EVALUATIONS_PER_SUBJECT = 4
SERVERS = ("uvicorn", "granian")
# The other ways the same reads are served: the embedded default (SQLite, in-process
# state) and API clients with a bearer token. Measured on granian, on the two reads
# with targets.
VARIANTS = (("embedded", "cookie"), ("embedded", "bearer"), ("services", "bearer"))
VARIANT_READS = ("to-do, JSON", "to-do, JSON, 304")


# -- the data ---------------------------------------------------------------------------------


async def prepare(url: str, files: Path) -> tuple[dict[str, str], int]:
    """The pupil of ``serving.prepare_pupil`` with a few messages, a week of lessons and a
    term of marks; returns the cookies of an admitted, signed-in pupil, and their id."""
    cookies = await serving.prepare_pupil(url, files)
    services = build_services(serving.settings_for(url, files))
    try:
        session = services.sessions.check(cookies["preau_session"], now=time.time())
        assert session is not None
        pupil = session.actor
        teacher = await _teacher_of(services, pupil)
        for number in range(3):
            await start_conversation(
                services,
                teacher,
                ConversationDraft(
                    subject=f"Sortie au musée {number + 1}",
                    body="Pensez à l'autorisation signée pour jeudi.",
                    person_ids=[pupil.person_id],
                ),
            )
        group_id = await _class_of(services, pupil)
        await _marks(services, teacher, pupil, group_id)
        today = datetime.now(UTC).date()
        for day in range(1, 6):
            await timetable.create_lesson(
                services,
                Actor(teacher.person_id, pupil.school_id, Profile.ADMIN),
                LessonDraft(
                    group_id=group_id,
                    teacher_id=teacher.person_id,
                    subject="Mathématiques",
                    weekday=day,
                    starts="08:30",
                    ends="09:25",
                    room="B12",
                    first_day=today - timedelta(days=30),
                    last_day=today + timedelta(days=60),
                ),
            )
    finally:
        await services.engine.dispose()
    issued = Credentials(serving.SECRET).issue_pass(
        "0.1", Lane.KNOWN, now=time.time(), idle_s=GATE.idle_timeout_s, ttl_s=GATE.pass_ttl_s
    )
    return {**cookies, "preau_pass": issued.token}, pupil.person_id


async def _teacher_of(services: Any, pupil: Actor) -> Actor:
    from preau.adapters.sql.schema import people  # noqa: PLC0415 - imported only in the process that needs it

    async with services.engine.connect() as connection:
        person_id = (
            await connection.execute(
                people.select()
                .with_only_columns(people.c.id)
                .where(people.c.school_id == pupil.school_id, people.c.profile == "teacher")
            )
        ).scalar_one()
    return Actor(int(person_id), pupil.school_id, Profile.TEACHER)


async def _class_of(services: Any, pupil: Actor) -> int:
    from preau.adapters.sql.schema import enrolments  # noqa: PLC0415 - imported only in the process that needs it

    async with services.engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    enrolments.select()
                    .with_only_columns(enrolments.c.group_id)
                    .where(enrolments.c.person_id == pupil.person_id)
                )
            ).scalar_one()
        )


async def _marks(services: Any, teacher: Actor, pupil: Actor, group_id: int) -> None:
    """A class of 25 and a term's marks: 4 evaluations in each of 3 subjects."""
    from preau.actions.directory import insert_person  # noqa: PLC0415 - imported only in the process that needs it
    from preau.adapters.sql.schema import enrolments  # noqa: PLC0415 - imported only in the process that needs it
    from preau.domain.directory import PersonDraft  # noqa: PLC0415 - imported only in the process that needs it

    pupils = [pupil.person_id]
    async with services.engine.begin() as connection:
        for number in range(CLASSMATES):
            classmate = await insert_person(
                services,
                connection,
                pupil.school_id,
                PersonDraft(
                    given_name=f"Élève{number}", family_name="Classe", profile=Profile.PUPIL
                ),
            )
            await connection.execute(
                enrolments.insert().values(
                    school_id=pupil.school_id, group_id=group_id, person_id=classmate, role="pupil"
                )
            )
            pupils.append(classmate)
    today = datetime.now(UTC).date()
    for subject_number, subject in enumerate(SUBJECTS):
        for number in range(EVALUATIONS_PER_SUBJECT):
            created = await marks.create_evaluation(
                services,
                teacher,
                EvaluationDraft(
                    group_id=group_id,
                    subject=subject,
                    title=f"Évaluation {number + 1}",
                    day=today - timedelta(days=3 + 7 * number),
                    coefficient=Decimal(1 + number % 2),
                ),
            )
            await marks.enter_marks(
                services,
                teacher,
                created.id,
                [
                    MarkEntry(
                        pupil_id=person, value=str(6 + (person + number + subject_number) % 14)
                    )
                    for person in pupils
                ],
            )


# -- the servers -------------------------------------------------------------------------------


def preau_factory() -> Any:
    settings = serving.settings_for(os.environ["HOT_DATABASE"], Path(os.environ["HOT_FILES"]))
    import msgspec  # noqa: PLC0415 - imported only in the process that needs it

    # As make cluster runs it: JSON logs, no per-request line (nginx logs those).
    embedded = os.environ.get("HOT_CONFIG") == "embedded"  # in-process state, no Redis
    settings = msgspec.structs.replace(
        settings,
        redis_url=None if embedded else REDIS_URL,
        redis_prefix=f"preau-hot-{os.getpid()}:",
        log_json=True,
        access_log=False,
    )
    configure_logging(json_lines=True)
    return build_app(settings, msgspec.structs.replace(GATE, process_count=1))


def raw_factory() -> Any:
    status = int(os.environ["HOT_STATUS"])
    body = Path(os.environ["HOT_BODY"]).read_bytes()
    headers = [(b"content-type", os.environ["HOT_TYPE"].encode())]
    if status != 304:
        headers.append((b"content-length", str(len(body)).encode()))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def serve(server: str, factory: str, port: int) -> None:
    if server == "uvicorn":
        import uvicorn  # noqa: PLC0415 - imported only in the process that needs it

        uvicorn.run(
            f"hot_paths:{factory}",
            factory=True,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    else:
        from granian import Granian  # noqa: PLC0415 - imported only in the process that needs it
        from granian.constants import Interfaces  # noqa: PLC0415 - imported only in the process that needs it

        Granian(
            f"hot_paths:{factory}",
            factory=True,
            address="127.0.0.1",
            port=port,
            interface=Interfaces.ASGI,
            workers=1,
            log_enabled=False,
        ).serve()


def start(server: str, factory: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = pinned(
        0, [sys.executable, __file__, "--serve", server, "--factory", factory, "--port", str(port)]
    )
    path = f"{ROOT / 'src'}{os.pathsep}{ROOT / 'bench'}"
    process = subprocess.Popen(command, env={**os.environ, **env, "PYTHONPATH": path})
    try:
        wait_for_port(port, process, timeout=90)  # a busy machine starts the app slowly
    except RuntimeError:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# -- the load ----------------------------------------------------------------------------------


UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def wrk(
    port: int, path: str, seconds: int, headers: dict[str, str], *, status: int, body_size: int
) -> float:
    """Requests per second; fails unless every answer was of the expected kind: wrk counts
    3xx as success, so a 304 read that Préau began to answer 200 (a changed ETag) would
    pass unnoticed but for the bytes per answer, checked here against the body's size."""
    command = ["wrk", "-t1", "-c64", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        pinned(1, [*command, f"http://127.0.0.1:{port}{path}"]),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    moved = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", output)
    if not match or not moved or "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"unexpected wrk output (expected {status}):\n{output}")
    per_answer = float(moved.group(1)) * UNITS[moved.group(2)] / float(match.group(1))
    if not body_size <= per_answer < body_size + 2000:  # headers: a few hundred bytes
        raise RuntimeError(
            f"{path}: {per_answer:,.0f} bytes per answer, expected a {status} with a "
            f"{body_size:,}-byte body:\n{output}"
        )
    return float(match.group(1))


def capture(
    port: int, headers: dict[str, str], reads: list[tuple[str, str, str | None, int]]
) -> dict[str, tuple[int, bytes, str, str]]:
    """Préau's answer to each read: status, body, content type, ETag (checked twice)."""
    answers = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
        for name, path, extra, status in reads:
            first = client.get(path)
            etag = first.headers.get("etag", "")
            sent = {"if-none-match": etag} if extra == "if-none-match" else {}
            again = client.get(path, headers=sent)
            if again.status_code != status or (status == 200 and again.content != first.content):
                raise RuntimeError(f"{name}: {again.status_code} {again.text[:300]}")
            answers[name] = (status, again.content, again.headers.get("content-type", ""), etag)
    return answers


def measure(
    server: str,
    env: dict[str, str],
    base: dict[str, str],
    folder: Path,
    *,
    seconds: int,
    rounds: int,
    reads: list[tuple[str, str, str | None, int]],
    label: str = "",
) -> dict[str, dict[str, list[float]]]:
    """Préau stays up for the whole server's run (its caches warm, as in production); a
    raw app is started for each read, and the two take turns under the same load. ``base``
    are the headers of every request (the pupil's cookies, or a bearer token and the pass)."""
    preau_port = free_port()
    preau = start(server, "preau_factory", preau_port, env)
    runs: dict[str, dict[str, list[float]]] = {}
    try:
        answers = capture(preau_port, base, reads)
        for name, path, extra, status in reads:
            _, body, content_type, etag = answers[name]
            headers = {**base, **({"if-none-match": etag} if extra else {})}
            body_file = folder / f"{server}{label}-{len(runs)}.body"
            body_file.write_bytes(body)
            raw_env = {
                "HOT_STATUS": str(status),
                "HOT_BODY": str(body_file),
                "HOT_TYPE": content_type or "text/plain",
            }
            raw_port = free_port()
            raw = start(server, "raw_factory", raw_port, raw_env)
            try:
                runs[name] = {"preau": [], "raw": []}
                size = len(body) if status == 200 else 0
                for port in (preau_port, raw_port):
                    wrk(port, path, 1, headers, status=status, body_size=size)  # warm up
                for _ in range(rounds):  # alternate, so drift in the machine hits both alike
                    for side, port in (("preau", preau_port), ("raw", raw_port)):
                        ran = wrk(port, path, seconds, headers, status=status, body_size=size)
                        runs[name][side].append(ran)
            finally:
                stop(raw)
            done = runs[name]
            print(
                f"{server + label:8s} {name:22s} Préau {statistics.median(done['preau']):>8,.0f} "
                f"raw {statistics.median(runs[name]['raw']):>8,.0f} "
                f"ratio {paired_ratio(runs[name]):.3f} "
                f"app CPU {1e6 / statistics.median(runs[name]['preau']):,.0f} µs/request",
                flush=True,
            )
    finally:
        stop(preau)
    return runs


def paired_ratio(runs: dict[str, list[float]]) -> float:
    """The median of the ratios of runs taken side by side: the machine's speed drifts
    (other work on the host), and a pair shares its moment."""
    return statistics.median(p / r for p, r in zip(runs["preau"], runs["raw"], strict=True))


async def postgres_url(name: str) -> str:
    import asyncpg  # noqa: PLC0415 - imported only in the process that needs it

    admin = os.environ.get("PREAU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    connection = await asyncpg.connect(admin, timeout=3)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def report(
    results: dict[str, dict[str, dict[str, list[float]]]], quick: bool, seconds: int, rounds: int
) -> str:
    lines = []
    for server in SERVERS:
        for name, *_ in READS:
            runs = results[server][name]
            preau, raw = statistics.median(runs["preau"]), statistics.median(runs["raw"])
            ratio = paired_ratio(runs)
            pairs = sorted(p / r for p, r in zip(runs["preau"], runs["raw"], strict=True))
            target = {"to-do, JSON": 0.5, "to-do, JSON, 304": 0.7}.get(name)
            goal = f"≥ {target}: {'met' if ratio >= target else 'missed'}" if target else ""
            lines.append(
                f"| {server} | {name} | {preau:,.0f} | {raw:,.0f} | **{ratio:.2f}** "
                f"| {goal} | {pairs[0]:.2f}–{pairs[-1]:.2f} |"
            )
    todo = {s: statistics.median(results[s]["to-do, JSON"]["preau"]) for s in SERVERS}
    faster = max(SERVERS, key=lambda s: todo[s])
    spread = max(
        max(r) / min(r) for per in results.values() for v in per.values() for r in v.values()
    )
    caution = (
        f"\nRuns of one variant differ by up to {spread:.1f}× (other work on the host); the "
        "ratio is the median of the pairs' ratios, which that drift moves much less.\n"
        if spread > 1.3
        else ""
    )
    command = "bench/hot_paths.py" + (" --quick" if quick else "")
    return f"""
Warm reads of one pupil (15 homework items, 3 conversations, 5 lessons a week), the whole
application with the gate on PostgreSQL and Redis, logging as `make cluster` runs it (JSON,
no per-request line: nginx logs those), against a raw ASGI app answering the
same status and bytes on the same server. One worker pinned to CPU 0 (Préau up for the
whole run, its caches warm), `wrk -t1 -c64` pinned to CPU 1, {rounds} pairs of runs of
{seconds} s taken side by side; req/s are medians, the ratio is the median of the pairs'
ratios (`.venv/bin/python
{command}`, {time.strftime("%Y-%m-%d")}, Python {platform.python_version()}, uvicorn
{version("uvicorn")}, granian {version("granian")}).

| server | read | Préau req/s | raw ASGI req/s | ratio | target | pairs' ratios |
|---|---|---:|---:|---:|---|---|
{chr(10).join(lines)}
{caution}
Warm to-do in absolute terms: uvicorn {todo["uvicorn"]:,.0f} req/s, granian
{todo["granian"]:,.0f} req/s on one core; {faster} serves more of them.
"""


def headers_for(cookies: dict[str, str], auth: str) -> dict[str, str]:
    """The cookie a browser sends, or what an API client sends: its bearer token, and the
    waiting room's pass (a cookie for every client)."""
    if auth == "bearer":
        return {
            "authorization": f"Bearer {cookies['preau_session']}",
            "cookie": f"preau_pass={cookies['preau_pass']}",
        }
    return {"cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def variants_report(results: dict[str, dict[str, dict[str, list[float]]]]) -> str:
    lines = []
    for variant, per_read in results.items():
        for name, runs in per_read.items():
            ratio = paired_ratio(runs)
            target = {"to-do, JSON": 0.5, "to-do, JSON, 304": 0.7}[name]
            pairs = sorted(p / r for p, r in zip(runs["preau"], runs["raw"], strict=True))
            lines.append(
                f"| {variant} | {name} | {statistics.median(runs['preau']):,.0f} "
                f"| {statistics.median(runs['raw']):,.0f} | **{ratio:.2f}** "
                f"| ≥ {target}: {'met' if ratio >= target else 'missed'} "
                f"| {pairs[0]:.2f}–{pairs[-1]:.2f} |"
            )
    return f"""
The same two reads served the other ways, on granian: the embedded default (SQLite and
in-process state, as `make run` serves it) and an API client sending a bearer token
(with the waiting room's pass, as every client does), same pairs of runs.

| configuration, client | read | Préau req/s | raw ASGI req/s | ratio | target | pairs' ratios |
|---|---|---:|---:|---:|---|---|
{chr(10).join(lines)}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument(
        "--server", choices=SERVERS, help="one server only (prints, leaves the docs alone)"
    )
    parser.add_argument(
        "--read", help="only the reads whose name contains this (prints, leaves the docs alone)"
    )
    parser.add_argument(
        "--variant",
        choices=[f"{c}-{a}" for c, a in (("services", "cookie"), *VARIANTS)],
        help="with --server or --read: the configuration and client (default services-cookie)",
    )
    parser.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    parser.add_argument("--factory", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve, arguments.factory, arguments.port)
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    seconds, rounds = (2, 5) if arguments.quick else (3, 11)
    only = bool(arguments.server or arguments.read or arguments.variant)
    with tempfile.TemporaryDirectory(prefix="preau-bench-hot-") as temporary:
        folder = Path(temporary)
        prepared: dict[str, tuple[dict[str, str], dict[str, str], int]] = {}

        def data(config: str) -> tuple[dict[str, str], dict[str, str], int]:
            """(server environment, cookies, pupil id) of a configuration, made once."""
            if config not in prepared:
                if config == "embedded":
                    url = f"sqlite+aiosqlite:///{folder / 'hot.sqlite3'}"
                else:  # Another checkout's run on the same PostgreSQL names its own database.
                    name = os.environ.get("PREAU_BENCH_DATABASE", "preau_bench_hot")
                    url = asyncio.run(postgres_url(name))
                files = folder / f"files-{config}"
                cookies, pupil_id = asyncio.run(prepare(url, files))
                env = {"HOT_DATABASE": url, "HOT_FILES": str(files), "HOT_CONFIG": config}
                prepared[config] = (env, cookies, pupil_id)
            return prepared[config]

        def reads_of(pupil_id: int, names: Any) -> list[tuple[str, str, str | None, int]]:
            return [
                (name, path.format(pupil=pupil_id), extra, status)
                for name, path, extra, status in READS
                if names(name)
            ]

        if only:
            config, auth = (arguments.variant or "services-cookie").split("-")
            env, cookies, pupil_id = data(config)
            servers = [arguments.server] if arguments.server else list(SERVERS)
            results = {
                server: measure(
                    server,
                    env,
                    headers_for(cookies, auth),
                    folder,
                    seconds=seconds,
                    rounds=rounds,
                    reads=reads_of(pupil_id, lambda n: (arguments.read or "") in n),
                )
                for server in servers
            }
            for server, per_read in results.items():
                for name, runs in per_read.items():
                    pairs = " ".join(
                        f"{p / r:.2f}" for p, r in zip(runs["preau"], runs["raw"], strict=True)
                    )
                    print(f"{server:8s} {name:22s} ratio {paired_ratio(runs):.3f} ({pairs})")
            return
        env, cookies, pupil_id = data("services")
        results = {
            server: measure(
                server,
                env,
                headers_for(cookies, "cookie"),
                folder,
                seconds=seconds,
                rounds=rounds,
                reads=reads_of(pupil_id, lambda _: True),
            )
            for server in SERVERS
        }
        variants = {}
        for config, auth in VARIANTS:
            env, cookies, pupil_id = data(config)
            variants[f"{config}, {auth}"] = measure(
                "granian",
                env,
                headers_for(cookies, auth),
                folder,
                seconds=seconds,
                rounds=rounds,
                reads=reads_of(pupil_id, VARIANT_READS.__contains__),
                label=f" {config} {auth}",
            )
    table = report(results, arguments.quick, seconds, rounds) + variants_report(variants)
    print(table)
    write_section("hot-paths", table)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "hot_paths.json").write_text(
        json.dumps(
            {"date": datetime.now(UTC).isoformat(), "results": results, "variants": variants},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
