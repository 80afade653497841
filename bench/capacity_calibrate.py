"""Calibration of the capacity model: what each request of the Monday-morning mix costs here.

    .venv/bin/python bench/capacity_calibrate.py [--quick] [--output var/bench/calibration.json]

The real Préau app (``bootstrap.build_app``, gate included) runs in this
process on PostgreSQL and on a Redis server of its own (started here on a free port, so its
``INFO commandstats`` counts only our commands). Requests are driven straight through ASGI
(no network, no HTTP parsing), a few at a time. For each request type it records:

- app CPU per request: ``time.process_time()`` over the batch (all threads, argon2's
  included), minus the process's idle background CPU (gate rounds, loop-lag watcher,
  session resync) measured over the same wall time, minus the cost of the in-process ASGI
  driver itself (measured on an empty app);
- SQL statements per request (SQLAlchemy ``before_cursor_execute`` events), transactions
  (``begin`` events) and pool checkouts (no longer pinged: docs/reliability.md);
- Redis commands per request (server-side ``INFO commandstats`` deltas, which count the
  commands run inside Lua scripts too) and script calls among them;
- PostgreSQL backend CPU and Redis server CPU per request (``/proc/<pid>/schedstat``,
  nanoseconds), both for this process's connections only;
- the CPU of the SAML pool's worker processes (``/proc/<pid>/schedstat`` of each: they are
  never waited for, so ``os.times().children_*`` does not see them), apart from the
  event loop's thread and from this process's other threads (docs/performance.md says
  which of them the model counts on the app's cores).

A real server adds its own HTTP work per request (parsing, syscalls); the model adds that
from the ceilings measured in ``research/stack-ceilings.md``, not from here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import redis
import sqlalchemy as sa

from preau import bootstrap
from preau.actions import classwork
from preau.actions.directory import create_school, insert_person
from preau.actions.messages.conversations import start_conversation
from preau.adapters.sql.engine import migrate
from preau.adapters.sql.schema import (
    devices,
    enrolments,
    groups,
    people,
    school_years,
    timetable_lessons,
)
from preau.domain.classwork import HomeworkDraft
from preau.domain.directory import PersonDraft
from preau.domain.messages import ConversationDraft
from preau.domain.people import Actor, Profile
from preau.gate.settings import GateSettings
from preau.settings import Settings
from preau.web.render import csrf_binding, expected_csrf

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gate_common import ROOT, free_port  # after the path fix above
from tests.sso.identity_providers import (  # EduConnect's stand-in, as the SSO tests use it
    IDP_ENTITY_ID,
    SamlIdentityProvider,
    idp_metadata,
    make_key_pair,
)

SECRET = "capacity-calibration-secret-0123456789abcdef"  # noqa: S105 - throwaway bench key
PASSWORD = "cheval correct agrafe"  # noqa: S105 - the bench pupils' password
POSTGRES_ADMIN = os.environ.get(
    "PREAU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Named after the checkout, as the tests' databases are: two worktrees may calibrate at once.
DATABASE = "preau_bench_capacity_" + hashlib.blake2s(str(ROOT).encode(), digest_size=3).hexdigest()
UAI = "0759998Y"
BASE_URL = "http://preau.test"


def educonnect_id(number: int) -> str:
    return f"fr-educonnect-calibration-{number}"


DEFAULT_OUTPUT = ROOT / "var" / "bench" / "calibration.json"
HOMEWORK_ITEMS = 8
CSRF_COOKIE_VALUE = "capacity-bench-csrf"
HUGE = "1000000000/minute"  # rate limits out of the way: one pass stands for many people
Headers = list[tuple[bytes, bytes]]


# -- driving the ASGI app in-process ---------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Headers
    body: bytes

    def header(self, name: bytes) -> str | None:
        return next((v.decode("latin-1") for k, v in self.headers if k == name), None)

    def set_cookies(self) -> dict[str, str]:
        cookies = {}
        for key, value in self.headers:
            if key == b"set-cookie":
                pair = value.decode("latin-1").split(";", 1)[0]
                name, _, content = pair.partition("=")
                cookies[name] = content
        return cookies


async def call(
    app: Any, method: str, path: str, cookies: dict[str, str], *, body: bytes = b"",
    headers: Headers | None = None, query: bytes = b"",
) -> Answer:  # fmt: skip
    """One request through the ASGI app, as a server would hand it over."""
    all_headers: Headers = [(b"host", b"preau.test"), (b"user-agent", b"capacity-bench")]
    if cookies:
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        all_headers.append((b"cookie", cookie.encode("latin-1")))
    if body:
        all_headers.append((b"content-length", str(len(body)).encode()))
    all_headers.extend(headers or [])
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": all_headers, "client": ("10.1.2.3", 40000),
        "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    done = asyncio.Event()
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    answer = Answer(0, [], b"")
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    await app(scope, receive, send)
    done.set()
    answer.body = b"".join(chunks)
    return answer


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> Any:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    message = await outbox.get()
    if message["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"start-up failed: {message}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def empty_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


# -- counters ----------------------------------------------------------------------------


def schedstat_ns(pid: int) -> int:
    """CPU time a process (or PostgreSQL backend) has run, in nanoseconds."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class Counters:
    statements: int = 0
    transactions: int = 0
    checkouts: int = 0


@dataclass
class Probe:
    """Reads every counter at once, so a batch's deltas cover the same moment."""

    counters: Counters
    redis_client: redis.Redis
    redis_pid: int
    admin: asyncpg.Connection
    backends: dict[int, int] = field(default_factory=dict)
    worker_pids: Callable[[], list[int]] = list  # the SAML pool's worker processes

    async def postgres_ns(self) -> dict[int, int]:
        rows = await self.admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            DATABASE,
        )
        return {row["pid"]: schedstat_ns(row["pid"]) for row in rows}

    async def read(self) -> dict[str, Any]:
        stats = self.redis_client.info("commandstats")
        commands = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
        children = os.times()
        return {
            "cpu": time.process_time(),
            "loop_cpu": time.thread_time(),  # the event loop's thread (this one)
            "children_cpu": children.children_user + children.children_system,
            "workers": {pid: schedstat_ns(pid) for pid in self.worker_pids()},
            "wall": time.perf_counter(),
            "statements": self.counters.statements,
            "transactions": self.counters.transactions,
            "checkouts": self.counters.checkouts,
            "redis": commands,
            "redis_ns": schedstat_ns(self.redis_pid),
            "postgres": await self.postgres_ns(),
        }

    @staticmethod
    def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        commands = {
            name: calls - before["redis"].get(name, 0)
            for name, calls in after["redis"].items()
            if calls - before["redis"].get(name, 0) > 0 and name != "info"
        }
        postgres_ns = sum(
            ns - before["postgres"].get(pid, 0) for pid, ns in after["postgres"].items()
        )
        return {
            "cpu_s": after["cpu"] - before["cpu"],
            "loop_cpu_s": after["loop_cpu"] - before["loop_cpu"],
            "children_cpu_s": after["children_cpu"] - before["children_cpu"],
            # A worker started during the batch counts from zero.
            "workers_cpu_s": sum(
                ns - before["workers"].get(pid, 0) for pid, ns in after["workers"].items()
            )
            / 1e9,
            "wall_s": after["wall"] - before["wall"],
            "statements": after["statements"] - before["statements"],
            "transactions": after["transactions"] - before["transactions"],
            "checkouts": after["checkouts"] - before["checkouts"],
            "redis_commands": sum(commands.values()),
            "redis_scripts": sum(v for k, v in commands.items() if k in {"eval", "evalsha"}),
            "redis_by_command": commands,
            "redis_cpu_s": (after["redis_ns"] - before["redis_ns"]) / 1e9,
            "postgres_cpu_s": postgres_ns / 1e9,
        }


# -- the world ---------------------------------------------------------------------------


@dataclass
class World:
    school_id: int
    pupils: list[Actor]
    usernames: list[str]
    homework_ids: list[int]
    device_tokens: list[str]  # one per resume: distinct devices, last seen yesterday


def settings_for(url: str, redis_url: str, files_dir: Path, saml: SamlKeys) -> Settings:
    # Production's argon2id parameters (the defaults): the password login is measured as is.
    # The school signs in through an EduConnect stand-in too (a pysaml2 IdP, Debian's xmlsec1).
    return Settings(
        database_url=url,
        redis_url=redis_url,
        secret_key=SECRET,
        files_dir=files_dir,
        log_json=False,
        login_attempts_per_account=1_000_000,
        login_attempts_per_address=1_000_000,
        base_url=BASE_URL,
        saml_idps=f"educonnect|ÉduConnect|{IDP_ENTITY_ID}|{saml.metadata}|{UAI}",
        saml_sp_key_file=saml.sp_key,
        saml_sp_cert_file=saml.sp_cert,
    )


@dataclass(frozen=True)
class SamlKeys:
    idp_key: str
    idp_cert: str
    sp_key: str
    sp_cert: str
    metadata: str  # the IdP's metadata file


def saml_keys(folder: Path) -> SamlKeys:
    idp_key, idp_cert = make_key_pair(folder, "idp")
    sp_key, sp_cert = make_key_pair(folder, "sp")
    metadata = folder / "educonnect.xml"
    metadata.write_text(idp_metadata(idp_key, idp_cert))
    return SamlKeys(idp_key, idp_cert, sp_key, sp_cert, str(metadata))


def gate_settings() -> GateSettings:
    # Capacity 1: the bench's own pass holds the only slot, so every other arrival queues
    # (a join is measured as the rush sees it). Rate limits and attack mode are out of the
    # way, since one pass and one address stand for many people here.
    return GateSettings(
        capacity=1,
        admission_rate_per_s=1000.0,
        adaptive=False,
        under_attack="off",
        rate_limit_address=HUGE,
        rate_limit_ticket=HUGE,
        rate_limit_account=HUGE,
        rate_limit_pass=HUGE,
        rate_limit_routes=f"/gate/join={HUGE};/gate/challenge={HUGE}",
    )


async def seed(services: Any, pupils: int, resumes: int) -> World:
    school_id = await create_school(services, uai=UAI, name="Collège de la calibration")
    password_hash = await services.passwords.hash(PASSWORD)
    async with services.engine.begin() as connection:
        teacher_id = await insert_person(
            services, connection, school_id,
            PersonDraft(given_name="Ada", family_name="Prof", profile=Profile.TEACHER),
        )  # fmt: skip
        pupil_ids, usernames = [], []
        for number in range(pupils):
            usernames.append(f"eleve{number}.calibration")
            pupil_ids.append(
                await insert_person(
                    services, connection, school_id,
                    PersonDraft(given_name=f"Élève{number}", family_name="Banc",
                                profile=Profile.PUPIL, username=usernames[-1]),
                )
            )  # fmt: skip
        await connection.execute(
            people.update()
            .where(people.c.school_id == school_id)
            .values(password_hash=password_hash, activated_at=datetime.now(UTC))
        )
        for number, pupil_id in enumerate(pupil_ids):  # as the roster import sets them
            await connection.execute(
                people.update()
                .where(people.c.id == pupil_id)
                .values(source_id=educonnect_id(number))
            )
        year_id = (
            await connection.execute(
                sa.select(school_years.c.id).where(school_years.c.school_id == school_id)
            )
        ).scalar()
        year = (
            await connection.execute(
                sa.select(school_years.c.starts_on, school_years.c.ends_on).where(
                    school_years.c.id == year_id
                )
            )
        ).one()
        group = await connection.execute(
            groups.insert().values(
                school_id=school_id, kind="class", name="4e C", level="4e", school_year_id=year_id
            )
        )
        group_id = int(group.inserted_primary_key[0])
        await connection.execute(
            enrolments.insert(),
            [{"school_id": school_id, "group_id": group_id, "person_id": p, "role": "pupil",
              "subject": None} for p in pupil_ids]
            + [{"school_id": school_id, "group_id": group_id, "person_id": teacher_id,
                "role": "teacher", "subject": "Mathématiques"}],
        )  # fmt: skip
        await connection.execute(
            timetable_lessons.insert(),
            [{"school_id": school_id, "group_id": group_id, "subject": subject,
              "teacher_id": teacher_id, "room": "B12", "weekday": weekday,
              "starts_minute": start, "ends_minute": start + 55, "weeks": "all",
              "first_day": year.starts_on, "last_day": year.ends_on,
              "virtual": weekday == 3, "created_at": datetime.now(UTC)}
             for weekday in range(1, 6)
             for subject, start in (("Mathématiques", 480), ("Français", 540), ("Anglais", 600))],
        )  # fmt: skip
    teacher = Actor(teacher_id, school_id, Profile.TEACHER)
    now = datetime.now(UTC)
    homework_ids = []
    for number in range(HOMEWORK_ITEMS):
        work = await classwork.create_homework(
            services,
            teacher,
            HomeworkDraft(
                group_id=group_id,
                title=f"Exercices {number + 1} : fractions et décimaux",
                instructions="Faire les exercices de la page 42, puis rendre une photo.",
                due_at=now + timedelta(days=1 + number % 5, hours=number),
                estimated_minutes=30,
                hand_in_expected=True,
            ),
        )
        homework_ids.append(work.id)
    for subject in ("Bienvenue en classe à distance", "Planning de la semaine", "Rappel"):
        await start_conversation(
            services,
            teacher,
            ConversationDraft(subject=subject, body="Bonjour à toutes et à tous.",
                              group_ids=[group_id]),
        )  # fmt: skip
    actors = [Actor(p, school_id, Profile.PUPIL) for p in pupil_ids]
    tokens = []
    yesterday = datetime.now(UTC) - timedelta(days=1)
    async with services.engine.begin() as connection:
        for number in range(resumes):
            actor = actors[number % len(actors)]
            device_id = await services.sessions.open_device(
                connection, actor, remember=True, label="bench", now=time.time()
            )
            tokens.append(services.sessions.issue_device(actor, device_id, now=time.time()))
        await connection.execute(
            devices.update().where(devices.c.school_id == school_id).values(last_seen_at=yesterday)
        )
    return World(school_id, actors, usernames, homework_ids, tokens)


# -- the measurements ----------------------------------------------------------------------


RequestMaker = Callable[[int], Awaitable[Answer]]


@dataclass
class Bench:
    app: Any
    probe: Probe
    background: dict[str, float]
    driver_cpu_s: float
    concurrency: int
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def measure(
        self, name: str, make: RequestMaker, count: int, *, expect: tuple[int, ...],
        warm_up: int = 0, offset: int = 0, note: str = "",
    ) -> None:  # fmt: skip
        for index in range(warm_up):
            answer = await make(offset + index)
            assert answer.status in expect, (name, answer.status, answer.body[:300])
        semaphore = asyncio.Semaphore(self.concurrency)
        statuses: list[int] = []

        async def one(index: int) -> None:
            async with semaphore:
                answer = await make(index)
                statuses.append(answer.status)
                if answer.status not in expect:
                    raise RuntimeError(f"{name}: HTTP {answer.status} {answer.body[:300]!r}")

        before = await self.probe.read()
        await asyncio.gather(*(one(offset + warm_up + i) for i in range(count)))
        after = await self.probe.read()
        delta = Probe.delta(before, after)
        wall = delta["wall_s"]
        bg = self.background
        cpu = delta["cpu_s"] - bg["cpu_per_s"] * wall - self.driver_cpu_s * count
        result = {
            "requests": count,
            "statuses": sorted(set(statuses)),
            "cpu_ms": 1000 * cpu / count,
            "cpu_ms_raw": 1000 * delta["cpu_s"] / count,
            # Beside the event loop's thread: this process's other threads (argon2; the
            # SAML pool's feeder and result threads) and other processes (the SAML pool's
            # workers, any child). Which of them the model puts on the sign-in pool's
            # cores rather than the app's: bench/capacity_model.py, Costs.
            "off_loop_cpu_ms": 1000
            * max(
                0.0,
                delta["cpu_s"]
                - delta["loop_cpu_s"]
                + delta["children_cpu_s"]
                + delta["workers_cpu_s"],
            )
            / count,
            "other_threads_cpu_ms": 1000 * max(0.0, delta["cpu_s"] - delta["loop_cpu_s"]) / count,
            "other_processes_cpu_ms": 1000
            * (delta["children_cpu_s"] + delta["workers_cpu_s"])
            / count,
            "wall_s": wall,
            "sql_statements": max(0.0, delta["statements"] - bg["statements_per_s"] * wall) / count,
            "sql_transactions": max(0.0, delta["transactions"] - bg["transactions_per_s"] * wall)
            / count,
            "sql_checkouts": max(0.0, delta["checkouts"] - bg["checkouts_per_s"] * wall) / count,
            "redis_commands": max(0.0, delta["redis_commands"] - bg["redis_per_s"] * wall) / count,
            "redis_scripts": delta["redis_scripts"] / count,
            "redis_by_command": {k: v / count for k, v in delta["redis_by_command"].items()},
            "redis_cpu_ms": 1000
            * max(0.0, delta["redis_cpu_s"] - bg["redis_cpu_per_s"] * wall)
            / count,
            "postgres_cpu_ms": 1000
            * max(0.0, delta["postgres_cpu_s"] - bg["postgres_cpu_per_s"] * wall)
            / count,
            "note": note,
        }
        self.results[name] = result
        print(
            f"{name:>16}: {result['cpu_ms']:8.3f} ms CPU  {result['sql_statements']:5.2f} SQL  "
            f"{result['redis_commands']:5.2f} Redis  PG {result['postgres_cpu_ms']:.3f} ms  "
            f"Redis {result['redis_cpu_ms']:.3f} ms  ({count} in {wall:.1f} s)",
            flush=True,
        )


async def background_rates(probe: Probe, seconds: float) -> dict[str, float]:
    before = await probe.read()
    await asyncio.sleep(seconds)
    after = await probe.read()
    delta = Probe.delta(before, after)
    wall = delta["wall_s"]
    return {
        "cpu_per_s": delta["cpu_s"] / wall,
        "statements_per_s": delta["statements"] / wall,
        "transactions_per_s": delta["transactions"] / wall,
        "checkouts_per_s": delta["checkouts"] / wall,
        "redis_per_s": delta["redis_commands"] / wall,
        "redis_cpu_per_s": delta["redis_cpu_s"] / wall,
        "postgres_cpu_per_s": delta["postgres_cpu_s"] / wall,
        "seconds": wall,
    }


async def driver_cost(count: int) -> float:
    """CPU of the in-process driver itself, per call (an empty ASGI app)."""
    for _ in range(200):
        await call(empty_app, "GET", "/", {"a": "b"})
    started = time.process_time()
    for _ in range(count):
        await call(empty_app, "GET", "/todo", {"preau_pass": "x" * 120, "preau_session": "y" * 180})
    return (time.process_time() - started) / count


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    quick = arguments.quick
    scale = 1 if quick else 4
    counts = {
        "warm": 400 * scale, "resume": 150 * scale, "write": 40 * scale,
        "login": 6 if quick else 20, "join": 150 * scale,
    }  # fmt: skip
    pupils = max(counts["write"] // (HOMEWORK_ITEMS - 2) + 2, 12)
    with tempfile.TemporaryDirectory(prefix="preau-capacity-") as temporary:
        folder = Path(temporary)
        redis_port = free_port()
        # Started once, before any request is timed: blocking here costs the bench nothing.
        redis_server = subprocess.Popen(  # noqa: ASYNC220 - the bench starts Redis once, before the event loop's work begins
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            return await calibrate(
                arguments, folder=folder, redis_port=redis_port, redis_pid=redis_server.pid,
                counts=counts, pupils=pupils,
            )  # fmt: skip
        finally:
            redis_server.terminate()
            redis_server.wait(10)


async def calibrate(
    arguments: argparse.Namespace, *, folder: Path, redis_port: int, redis_pid: int,
    counts: dict[str, int], pupils: int,
) -> dict[str, Any]:  # fmt: skip
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    redis_client = redis.Redis(port=redis_port)
    for _ in range(100):
        with contextlib.suppress(redis.ConnectionError):
            redis_client.ping()
            break
        await asyncio.sleep(0.05)
    admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{DATABASE}"
    keys = saml_keys(folder)
    settings = settings_for(url, redis_url, folder / "files", keys)
    gate = gate_settings()
    # bootstrap.build_app itself, with a handle kept on the services it builds.
    captured = []
    build_services = bootstrap.build_services

    def keep(*given: Any, **named: Any) -> Any:
        captured.append(build_services(*given, **named))
        return captured[-1]

    bootstrap.build_services = keep
    try:
        app = bootstrap.build_app(settings, gate)
    finally:
        bootstrap.build_services = build_services
    services = captured[0]
    await migrate(services.engine)
    world = await seed(services, pupils, counts["resume"] + 20)

    counters = Counters()

    def on_statement(*_: Any) -> None:
        counters.statements += 1

    def on_begin(connection: sa.Connection) -> None:
        # SQLAlchemy begins a transaction of its own in autocommit mode too, but sends no
        # BEGIN nor COMMIT to the database: those are not round trips.
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counters.transactions += 1

    def on_checkout(*_: Any) -> None:
        counters.checkouts += 1

    sa.event.listen(services.engine.sync_engine, "before_cursor_execute", on_statement)
    sa.event.listen(services.engine.sync_engine, "begin", on_begin)
    sa.event.listen(services.engine.sync_engine.pool, "checkout", on_checkout)

    assert services.sso is not None
    assert services.sso.saml is not None
    saml_workers = services.sso.saml.pool
    probe = Probe(counters, redis_client, redis_pid, admin, worker_pids=saml_workers.pids)
    started = time.monotonic()
    async with lifespan(app):
        # The bench's pass: the first arrival takes the only slot.
        answer = await call(app, "GET", "/gate/status", {}, query=b"next=/todo")
        ticket = answer.set_cookies()
        for _ in range(100):
            if "preau_pass" in answer.set_cookies():
                break
            await asyncio.sleep(0.05)
            answer = await call(app, "GET", "/gate/status", ticket, query=b"next=/todo")
        pass_cookie = answer.set_cookies()["preau_pass"]
        await asyncio.sleep(1.0)
        background = await background_rates(probe, 2.0 if arguments.quick else 5.0)
        driver = await driver_cost(2000)
        print(f"background CPU {background['cpu_per_s'] * 1000:.1f} ms/s, "
              f"driver {driver * 1e6:.1f} µs/call", flush=True)  # fmt: skip
        bench = Bench(app, probe, background, driver, concurrency=arguments.concurrency)
        await measure_all(
            bench, app=app, services=services, world=world, pass_cookie=pass_cookie,
            counts=counts,
        )  # fmt: skip
        await measure_sso(bench, app=app, services=services, world=world,
                          pass_cookie=pass_cookie, keys=keys, count=counts["login"])  # fmt: skip
    elapsed = time.monotonic() - started
    await services.engine.dispose()
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.close()
    redis_client.close()
    return {
        "measured_at": time.strftime("%Y-%m-%d %H:%M"),
        "command": "python bench/capacity_calibrate.py" + (" --quick" if arguments.quick else ""),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1min": os.getloadavg()[0],
        "engines": "PostgreSQL (asyncpg) and a private redis-server",
        "argon2": {"time_cost": settings.argon2_time_cost, "memory_kib": settings.argon2_memory_kib,
                   "parallelism": settings.argon2_parallelism},
        "concurrency": arguments.concurrency,
        "background": background,
        "driver_cpu_us": driver * 1e6,
        "seconds": elapsed,
        "requests": bench.results,
    }  # fmt: skip


async def measure_all(
    bench: Bench, *, app: Any, services: Any, world: World, pass_cookie: str,
    counts: dict[str, int],
) -> None:  # fmt: skip
    now = time.time()
    form_type = (b"content-type", b"application/x-www-form-urlencoded")

    def form_header(cookies: dict[str, str]) -> Headers:
        """A form's headers: its CSRF token is bound to the CSRF and session cookies."""
        token = expected_csrf(SECRET, csrf_binding(cookies))
        return [form_type, (b"x-csrf-token", token.encode())]

    def session_cookies(pupil: Actor, device: str = "bench-device") -> dict[str, str]:
        return {
            "preau_pass": pass_cookie,
            "preau_session": services.sessions.issue_session(pupil, device, now=now),
            "preau_csrf": CSRF_COOKIE_VALUE,
        }

    pupil = world.pupils[0]
    signed = session_cookies(pupil)
    # Warm the pupil's cached parts once (a warm read is what the rush mostly sees).
    for path in ("/todo", "/api/v1/todo"):
        await call(app, "GET", path, signed)
    page = await call(app, "GET", "/todo", signed)
    etag = page.header(b"etag")
    assert page.status == 200, page.body[:300]
    assert etag, page.headers
    warm = counts["warm"]

    await bench.measure(
        "todo_page", lambda _: call(app, "GET", "/todo", signed), warm, expect=(200,), warm_up=20
    )
    await bench.measure(
        "todo_api", lambda _: call(app, "GET", "/api/v1/todo", signed), warm,
        expect=(200,), warm_up=20,
    )  # fmt: skip
    await bench.measure(
        "revalidate_304",
        lambda _: call(app, "GET", "/todo", signed, headers=[(b"if-none-match", etag.encode())]),
        warm, expect=(304,), warm_up=20,
    )  # fmt: skip
    homework_ids = world.homework_ids
    await bench.measure(
        "homework_open",
        lambda i: call(app, "GET", f"/homework/{homework_ids[i % len(homework_ids)]}", signed),
        warm // 2, expect=(200,), warm_up=10,
    )  # fmt: skip
    await bench.measure(
        "inbox", lambda _: call(app, "GET", "/messages", signed), warm // 2,
        expect=(200,), warm_up=10,
    )  # fmt: skip
    await bench.measure(
        "timetable", lambda _: call(app, "GET", "/timetable", signed), warm // 2,
        expect=(200,), warm_up=10,
    )  # fmt: skip

    # Device resume: a new session from a device cookie on the morning's first page (the
    # to-do); each device distinct and last seen yesterday, as on a Monday.
    tokens = world.device_tokens
    await bench.measure(
        "device_resume",
        lambda i: call(app, "GET", "/todo", {"preau_pass": pass_cookie,
                                             "preau_device": tokens[i]}),
        counts["resume"], expect=(200,), warm_up=10,
        note="GET /todo with a device cookie only: resume (no SQL, revocations fresh) + the page",
    )  # fmt: skip

    # A turn-in write: each (pupil, homework) pair once. Homework 0 and 1 stay for warm-up.
    pairs = [(p, h) for h in homework_ids[2:] for p in world.pupils]

    def turn_in(index: int) -> Awaitable[Answer]:
        who, homework_id = pairs[index] if index >= 0 else (world.pupils[-index], homework_ids[0])
        form = f"text=Exercices+faits.&idempotency_key={secrets.token_urlsafe(12)}".encode()
        cookies = session_cookies(who)
        return call(app, "POST", f"/homework/{homework_id}/turn-in", cookies,
                    body=form, headers=form_header(cookies))  # fmt: skip

    for index in range(1, 6):
        await turn_in(-index)
    await bench.measure(
        "turn_in", turn_in, min(counts["write"], len(pairs)), expect=(302, 303),
        note="POST /homework/{id}/turn-in (form, text only): one hand-in row, version bump",
    )  # fmt: skip

    # The login page and a password login (argon2id with production parameters).
    anonymous = {"preau_pass": pass_cookie, "preau_csrf": CSRF_COOKIE_VALUE}
    await bench.measure(
        "login_page", lambda _: call(app, "GET", "/login", anonymous), warm // 4,
        expect=(200,), warm_up=5,
    )  # fmt: skip
    usernames = world.usernames
    # Each hashing thread verifies twice first: a thread's first hashes fault its argon2
    # memory in (mmap, then its malloc arena), about 50 ms once per thread in a server's
    # life, which the sequential warm-up below left to the second thread inside the timed
    # logins (2.5 ms per login over 20).
    for _ in range(2):
        passwords = services.passwords
        await asyncio.gather(
            *(passwords.verify(None, PASSWORD) for _ in range(passwords.concurrency))
        )

    def log_in(index: int) -> Awaitable[Answer]:
        form = (f"username={usernames[index % len(usernames)]}&password="
                f"{PASSWORD.replace(' ', '+')}&next=%2Ftodo&remember=on").encode()  # fmt: skip
        return call(app, "POST", "/login", anonymous, body=form, headers=form_header(anonymous))

    await bench.measure(
        "password_login", log_in, counts["login"], expect=(302, 303), warm_up=1,
        note="POST /login: argon2id verify, device row, session + device cookies",
    )  # fmt: skip
    # The hash alone, as the pool's thread runs it: that thread's own CPU time, so nothing
    # else of the process (the loop's background tasks, other threads) is counted in it.
    hashes = max(10, counts["login"])
    stored = await services.passwords.hash(PASSWORD)
    hasher = services.passwords.hasher

    def timed_verify() -> float:
        started = time.thread_time()
        hasher.verify(stored, PASSWORD)
        return time.thread_time() - started

    loop = asyncio.get_running_loop()
    process_started, loop_started = time.process_time(), time.thread_time()
    thread_cpu = [await loop.run_in_executor(None, timed_verify) for _ in range(hashes)]
    process_cpu = time.process_time() - process_started
    loop_cpu = time.thread_time() - loop_started
    bench.results["argon2_verify"] = {
        "requests": hashes,
        # The median, as bench/password_hash.py gives it: on a shared machine a few
        # verifications take far more CPU while other processes run beside them (22 ms
        # median, 33 ms mean at load 9), which the mean keeps.
        "cpu_ms": 1000 * statistics.median(thread_cpu),
        "cpu_ms_mean": 1000 * statistics.mean(thread_cpu),
        "process_cpu_ms": 1000 * process_cpu / hashes,
        "loop_cpu_ms": 1000 * loop_cpu / hashes,
        "note": "one argon2id verify, its thread's CPU (median); process_cpu_ms: the whole "
        "process over the same calls, loop_cpu_ms: the event loop's thread's part of it",
    }
    print(f"   argon2_verify: {bench.results['argon2_verify']['cpu_ms']:8.3f} ms CPU "
          f"(whole process {1000 * process_cpu / hashes:.3f} ms)", flush=True)  # fmt: skip

    # A gate join: an arrival with a device cookie but no pass, while the gate is full;
    # then the waiting room's polls with the ticket it got.
    join_devices = [
        services.sessions.issue_device(world.pupils[i % len(world.pupils)], f"join-{i}", now=now)
        for i in range(counts["join"] + 10)
    ]
    tickets: list[dict[str, str]] = []

    async def join(index: int) -> Answer:
        answer = await call(app, "GET", "/todo", {"preau_device": join_devices[index]})
        ticket = answer.set_cookies().get("preau_ticket")
        if ticket:
            tickets.append({"preau_ticket": ticket})
        return answer

    await bench.measure(
        "gate_join", join, counts["join"], expect=(302, 303), warm_up=5,
        note="GET /todo with a device cookie, gate full: ticket + redirect to /gate/wait",
    )  # fmt: skip
    await bench.measure(
        "gate_poll",
        lambda i: call(app, "GET", "/gate/status", tickets[i % len(tickets)],
                       query=b"next=%2Ftodo"),
        warm, expect=(200,), warm_up=10,
        note="GET /gate/status (what gate.js polls): per-process cached counters",
    )  # fmt: skip
    await bench.measure(
        "gate_wait_page",
        lambda i: call(app, "GET", "/gate/wait", tickets[i % len(tickets)],
                       query=b"next=%2Ftodo"),
        warm // 2, expect=(200,), warm_up=10,
        note="GET /gate/wait (the page without JavaScript, meta refresh)",
    )  # fmt: skip


async def measure_sso(
    bench: Bench, *, app: Any, services: Any, world: World, pass_cookie: str, keys: SamlKeys,
    count: int,
) -> None:  # fmt: skip
    """A sign-in through EduConnect (SAML): the redirect to the IdP (an AuthnRequest), then
    the IdP's signed answer posted back (signatures checked in process, the person found,
    a session). The IdP's own work, signing the answers, is done beforehand, unmeasured."""
    idp_server = SamlIdentityProvider(
        keys.idp_key,
        keys.idp_cert,
        (await call(app, "GET", "/sso/saml/metadata", {"preau_pass": pass_cookie})).body.decode(),
        lifetime_minutes=60,
    )
    starts: list[tuple[str, dict[str, str]]] = []
    anonymous = {"preau_pass": pass_cookie}
    # Every worker started and its pysaml2 client built before anything is timed, as in a
    # server that has served a few sign-ins.
    await services.sso.saml.pool.warm()

    async def start(index: int) -> Answer:
        del index
        answer = await call(app, "GET", "/sso/saml/educonnect/login", anonymous,
                            query=b"next_path=%2Ftodo")  # fmt: skip
        location = answer.header(b"location")
        if location:
            starts.append((location, {**anonymous, **answer.set_cookies()}))
        return answer

    await bench.measure(
        "sso_start", start, count + 5, expect=(302, 303), warm_up=2,
        note="GET /sso/saml/educonnect/login: an AuthnRequest and the redirect to the IdP",
    )  # fmt: skip
    pupils = len(world.pupils)
    answers = [
        (idp_server.answer(location, {
            "FrEduCtId": [educonnect_id(index % pupils)], "givenName": ["Élève"], "sn": ["Banc"],
            "FrEduCtPersonAffiliation": ["eleve1d"],
        }, name=f"persistent-{index % pupils}"), cookies)
        for index, (location, cookies) in enumerate(starts)
    ]  # fmt: skip
    form_header = [(b"content-type", b"application/x-www-form-urlencoded")]

    # Encoded beforehand: url-encoding a 10 kB answer is the browser's work, not Préau's.
    bodies = [(urlencode(answer.form).encode(), cookies) for answer, cookies in answers]

    def acs(index: int) -> Awaitable[Answer]:
        body, cookies = bodies[index]
        return call(app, "POST", "/sso/saml/acs", cookies, body=body, headers=form_header)

    await bench.measure(
        "sso_login", acs, count, expect=(302, 303), warm_up=2,
        note="POST /sso/saml/acs: signed assertion checked (python-xmlsec), person found, session",
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (about a minute)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    arguments = parser.parse_args()
    if not shutil.which("redis-server"):
        sys.exit("redis-server is needed: apt-get install redis-server")
    result = asyncio.run(run(arguments))
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    spread = statistics.median(r["cpu_ms"] for r in result["requests"].values())
    print(f"wrote {arguments.output} (median request {spread:.3f} ms CPU, "
          f"{result['seconds']:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
