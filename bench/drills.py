"""Drills: parts of the HA cluster broken on purpose under a bounded mixed load, and what
people saw (``make drills``, docs/reliability.md).

Starts a fresh ``make cluster-ha`` (deploy/cluster_ha.py), then for each drill: a few
seconds of load (pupils reading their to-do, inbox and week through the API; teachers
sending messages, each with its own ``Idempotency-Key`` and a subject that names it, and
retrying the same key on any failure as the offline outbox does), the fault, the repair
(a supervisor restarting what was killed, or the outage's end), load until it is over,
then a count in the database of each write: acknowledged and missing (lost), written
more than once (duplicates). Loopback only; the load is bounded (``--readers``,
``--writers``, each at most ``--rate`` requests a second). Each simulated person has a
device of its own (its cookies, so its own gate pass) and a loopback address of its own
or its school's (``address_of``); ``--one-address`` puts everyone on one client from
127.0.0.1, as the drills did before (one device at 60 requests a second, over the gate's
per-device limit). A refused request names the limit that refused it.

Drills: ``app-kill`` (kill -9 one app process), ``pg-primary-kill`` (kill -9 Patroni and
PostgreSQL on the primary: the replica is promoted), ``pg-stop`` (PostgreSQL stopped
entirely for 60 s, 20 s with ``--quick``), ``redis-primary-kill`` (Sentinel promotes),
``redis-stop`` (both Redis servers stopped for the same time), ``disk-full`` (the files
directory on a small tmpfs, filled for the same time, while pupils upload), ``slow-db``
(25 ms added each way between the apps and the database, ``--db-delay``, by
bench/delay_proxy.py, for the same time).

Besides the load, new people arrive (``--arrivals`` a second, each a fresh client with no
gate pass): admitted or asked to wait. In ``slow-db`` those admitted stay ``--stay``
seconds reading (one read every two seconds), so the admission rate sets part of the load
and the gate's adaptation can bound the latency of the people inside. Each request's
outcome and time, and the gate's admission rate (sampled from the apps' ``/metrics``
every second), make the timeline (``--json``; ``bench/drills_plot.py`` draws it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / "var" / "cluster-ha"
CLUSTER = [sys.executable, str(ROOT / "deploy" / "cluster_ha.py")]
URL = "http://127.0.0.1:8090"
DATABASE = "postgresql://postgres@127.0.0.1:5440/preau_cluster"
PATRONI_PORTS = (8008, 8009)
REDIS_PORTS = (6390, 6391)
SENTINEL = 26390
PASSWORD = "preau-demo-2026"  # noqa: S105 - the demo school's, printed by preau demo
READ_PATHS = ("/api/v1/todo", "/api/v1/conversations", "/api/v1/timetable/week")
DRILLS = (
    "app-kill",
    "pg-primary-kill",
    "pg-stop",
    "redis-primary-kill",
    "redis-stop",
    "disk-full",
    "slow-db",
)
PROXY_PORT = 5442  # bench/delay_proxy.py, in front of HAProxy's primary port 5440
DELAY_CONTROL = ROOT / "var" / "drills-db-delay"
# Seconds added each way by default: 50 ms more per statement's round trip, a database
# whose disks are saturated (``--db-delay``).
SLOW_DB_DELAY = 0.025
# What the drills check besides nothing lost or doubled (docs/reliability.md):
# slow-db: the admitted reads' p99 once the gate has reacted (the fault's second half). A
# write waits on about 20 statements in turn (its p50 grows by 20 times the delay): no
# admission rate shortens that, so the writes' p99 is reported, not bounded.
P99_BOUND_S = 1.0
KEPT_SHARE = 0.8  # redis-stop: admissions while Redis is down, as a share of before
# Where the simulated people come from: a country's pupils and teachers from many
# addresses, not all from 127.0.0.1. Each person (a reader, a writer, an uploader, an
# arrival) sends from a loopback address of its own (all of 127.0.0.0/8 is on ``lo``),
# over ``SCHOOLS`` networks (/24: the gate's per-network share of tickets), one person in
# ``NAT_EVERY`` behind their school's one NAT address, shared with the others who are.
# nginx passes the address on in ``X-Forwarded-For`` and Préau trusts 127.0.0.1 (nginx)
# as its proxy (``forwarded_allow_ips``), so the gate's per-address and per-network
# limits see these addresses.
SCHOOLS = 8
NAT_EVERY = 3
FIRST_ARRIVAL = 100  # the people arriving are numbered from here


def address_of(person: int) -> str:
    """The loopback address person number ``person`` sends from."""
    school = person % SCHOOLS
    if person % NAT_EVERY == 0:
        return f"127.20.{school}.1"  # the school's NAT
    return f"127.20.{school}.{2 + (person // SCHOOLS) % 250}"


def client_for(person: int, **options: object) -> httpx.AsyncClient:
    """A device of its own (its cookies, so its own gate pass) for ``person``."""
    transport = httpx.AsyncHTTPTransport(local_address=address_of(person))
    return httpx.AsyncClient(base_url=URL, timeout=10, transport=transport, **options)  # type: ignore[arg-type]


FILES_DIR = RUN_DIR / "files"
DISK_SIZE = "16m"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n" + b" " * 20000
# The drills' cluster: no per-person sending limit in the way of the measured writes. The
# gate's admission rate is ``--admission-rate`` (20 a second by default: low enough for the
# arrivals to show what the gate's adaptation does).
ENVIRONMENT = {
    "PREAU_MESSAGES_PER_MINUTE": "100000",
    "PREAU_MESSAGES_PER_DAY": "10000000",
    "PREAU_GATE_RATE_LIMIT_ACCOUNT": "100000/minute",
    # The drills measure faults, not floods: no proofs of work asked of the arrivals.
    "PREAU_GATE_UNDER_ATTACK": "off",
    "CLUSTER_HA_DATABASE_PORT": str(PROXY_PORT),
}


def log(message: str) -> None:
    print(f"drills: {message}", flush=True)


@dataclass
class Tally:
    """What the simulated people saw during one drill."""

    name: str
    fault_at: float = 0.0
    repaired_at: float = 0.0
    reads: int = 0
    reads_ok: int = 0  # 200 or 304, fresh or marked stale
    reads_stale: int = 0
    reads_during: int = 0  # between the fault and the repair's end
    reads_ok_during: int = 0
    writes: dict[str, str] = field(default_factory=dict)  # key -> subject, every write tried
    acknowledged: set[str] = field(default_factory=set)
    errors: Counter[str] = field(default_factory=Counter)  # what people saw, by status
    last_failure: float = 0.0  # the last error or stale answer
    # (time, kind, outcome, latency): kind read, write, upload or arrival; outcome ok,
    # stale, 503 or other (an arrival: ok when admitted, other when asked to wait).
    events: list[tuple[float, str, str, float]] = field(default_factory=list)
    rates: list[tuple[float, float]] = field(default_factory=list)  # the gate's, sampled
    # (time, CPU seconds used so far by the PostgreSQL primary, the replica, the apps)
    cpu: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    uploads: dict[str, str] = field(default_factory=dict)  # key -> file id, acknowledged
    # The arrivals' answers other than admitted (their first request) and their stay's
    # failed reads, by status and, for a 429, the limit that refused it.
    arrivals_refused: Counter[str] = field(default_factory=Counter)

    def failed(self, what: str) -> None:
        self.errors[what] += 1
        self.last_failure = time.monotonic()

    def note(self, kind: str, outcome: str, started: float) -> None:
        now = time.monotonic()
        self.events.append((now, kind, outcome, now - started))


def cluster(*args: str) -> None:
    subprocess.run([*CLUSTER, *args], check=True, cwd=ROOT)


def pid_of(name: str) -> int:
    return int((RUN_DIR / f"{name}.pid").read_text(encoding="utf-8").strip())


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - local URL
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def primary_index() -> int | None:
    for index, port in enumerate(PATRONI_PORTS):
        if http_status(f"http://127.0.0.1:{port}/primary") == 200:
            return index
    return None


def redis_primary() -> int | None:
    answer = subprocess.run(
        ["/usr/bin/redis-cli", "-p", str(SENTINEL), "sentinel", "get-master-addr-by-name", "preau"],
        capture_output=True, check=False, text=True,
    )  # fmt: skip
    parts = answer.stdout.split()
    return int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None


COUNTED = (
    "preau_rate_limit_fail_open_total",
    "preau_degraded_answers_total",
    "preau_gate_rate_limited_total",
)


def counted() -> Counter[str]:
    """The app processes' counters of rate limits let through while Redis was down and of
    degraded answers (kept copies, refused writes), summed over the processes."""
    found: Counter[str] = Counter()
    for pid_file in RUN_DIR.glob("app-*.pid"):
        port = pid_file.stem.removeprefix("app-")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
                text = answer.read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            name, _, value = line.rpartition(" ")
            if name.startswith(COUNTED):
                found[name] += int(float(value))
    return found


def kill(pid: int, sign: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sign)


def postmaster_of(index: int) -> int | None:
    try:
        return int((RUN_DIR / f"pg{index}" / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


async def wait_until(check: object, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(check) and await asyncio.to_thread(check):
            return True
        await asyncio.sleep(0.5)
    return False


# The faults: each returns once the fault is in place; its repair, once repaired.


async def fault(name: str, outage: float, delay: float = SLOW_DB_DELAY) -> None:
    if name == "app-kill":
        # The whole process: the server and its workers (their own process group).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid_of("app-8111"), signal.SIGKILL)
        await asyncio.sleep(5)  # a supervisor notices and restarts it
        await asyncio.to_thread(cluster, "restart", "app-8111")
    elif name == "pg-primary-kill":
        index = primary_index()
        assert index is not None, "no PostgreSQL primary before the drill"
        postmaster = postmaster_of(index)
        kill(pid_of(f"patroni-{index}"), signal.SIGKILL)
        if postmaster is not None:
            kill(postmaster, signal.SIGKILL)
        promoted = await wait_until(lambda: primary_index() == 1 - index, 60)
        log(f"replica promoted: {promoted}")
        await asyncio.to_thread(cluster, "restart", f"patroni-{index}")  # rejoins as replica
    elif name == "pg-stop":
        for index in range(2):
            kill(pid_of(f"patroni-{index}"), signal.SIGTERM)  # Patroni stops its PostgreSQL
        await wait_until(lambda: postmaster_of(0) is None and postmaster_of(1) is None, 40)
        await asyncio.sleep(outage)
        for index in range(2):
            await asyncio.to_thread(cluster, "restart", f"patroni-{index}")
        await wait_until(lambda: primary_index() is not None, 90)
    elif name == "redis-primary-kill":
        port = redis_primary()
        index = REDIS_PORTS.index(port) if port in REDIS_PORTS else 0
        kill(pid_of(f"redis-{index}"), signal.SIGKILL)
        promoted = await wait_until(lambda: redis_primary() not in (None, port), 30)
        log(f"Redis replica promoted: {promoted}")
        await asyncio.to_thread(cluster, "restart", f"redis-{index}")
    elif name == "redis-stop":
        for index in range(2):
            kill(pid_of(f"redis-{index}"), signal.SIGTERM)
        await asyncio.sleep(outage)
        port = redis_primary()
        first = REDIS_PORTS.index(port) if port in REDIS_PORTS else 0
        for index in (first, 1 - first):
            await asyncio.to_thread(cluster, "restart", f"redis-{index}")
    elif name == "disk-full":
        filler = await asyncio.to_thread(fill, FILES_DIR)
        log(f"files disk full: {shutil.disk_usage(FILES_DIR).free} bytes free")
        await asyncio.sleep(outage)
        filler.unlink()
    elif name == "slow-db":
        DELAY_CONTROL.write_text(f"{delay}\n", encoding="utf-8")
        await asyncio.sleep(outage)
        DELAY_CONTROL.write_text("0\n", encoding="utf-8")
        await asyncio.sleep(0.6)  # the proxy reads it every half second


# The files directory on a small disk (disk-full): mounted with what it held, and back.


def fill(path: Path) -> Path:
    """A filler written until the disk refuses more."""
    filler = path / "drill-filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(descriptor, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(descriptor)
    return filler


def small_disk(mount: bool) -> None:
    """Mount a ``DISK_SIZE`` tmpfs on the files directory (``mount``) or take it away,
    keeping the files either way (copied aside and back)."""
    aside = Path(tempfile.mkdtemp(prefix="drills-files-"))
    try:
        if FILES_DIR.exists():
            shutil.copytree(FILES_DIR, aside, dirs_exist_ok=True)
        FILES_DIR.mkdir(parents=True, exist_ok=True)
        command = (
            ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(FILES_DIR)]
            if mount
            else ["umount", str(FILES_DIR)]
        )
        subprocess.run(command, check=True)
        shutil.copytree(aside, FILES_DIR, dirs_exist_ok=True)
    finally:
        shutil.rmtree(aside, ignore_errors=True)


async def check_files(uploads: dict[str, str]) -> dict[str, int]:
    """Nothing half-written: each acknowledged upload has its row and its whole file, no
    file is left without its row, no partial file is left."""
    connection = await asyncpg.connect(DATABASE, timeout=5)
    try:
        rows = await connection.fetch("SELECT id, storage_key, size FROM files")
    finally:
        await connection.close()
    known = {str(row["id"]): (str(row["storage_key"]), int(row["size"])) for row in rows}
    keys = {key for key, _size in known.values()}
    on_disk = {
        str(path.relative_to(FILES_DIR))
        for path in FILES_DIR.rglob("*")
        if path.is_file() and path.name != "drill-filler"
    }
    whole = 0
    for file_id in uploads.values():
        key, size = known.get(file_id, ("", -1))
        if key in on_disk and (FILES_DIR / key).stat().st_size == size:
            whole += 1
    return {
        "uploads_acknowledged": len(uploads),
        "uploads_lost": len(uploads) - whole,
        "files_without_row": len({k for k in on_disk if k.startswith("f/")} - keys),
        "partial_files": sum(1 for k in on_disk if k.endswith(".part")),
    }


# The load


async def sign_in(client: httpx.AsyncClient, username: str) -> tuple[str, int]:
    """Sign in, waiting as asked while the gate queues or sheds (a first visit is the
    least critical lane: a loaded or just restarted process sheds it first)."""
    deadline = time.monotonic() + 120
    while True:
        answer = await client.post(
            "/api/v1/session", json={"username": username, "password": PASSWORD}
        )
        if answer.status_code not in (429, 503) or time.monotonic() > deadline:
            break
        log(f"sign-in asked to wait ({answer.status_code})")
        await asyncio.sleep(min(5.0, float(answer.headers.get("retry-after", "1"))))
    answer.raise_for_status()
    body = answer.json()
    return str(body["token"]), int(body["person_id"])


async def enter(client: httpx.AsyncClient, token: str) -> None:
    """A person's device let in by the gate before the drill's load starts (waiting in line
    as asked), as someone who was already reading when the fault came."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer = await client.get(READ_PATHS[0], headers={"authorization": f"Bearer {token}"})
        if answer.status_code not in (429, 503):
            return
        await asyncio.sleep(min(5.0, float(answer.headers.get("retry-after", "1"))))
    log("a device was still waiting to be let in after 120 s")


async def reader(
    client: httpx.AsyncClient, token: str, tally: Tally, stop: asyncio.Event, rate: float
) -> None:
    headers = {"authorization": f"Bearer {token}"}
    etags: dict[str, str] = {}
    while not stop.is_set():
        path = random.choice(READ_PATHS)
        started = time.monotonic()
        during = tally.fault_at and not tally.repaired_at
        tally.reads += 1
        tally.reads_during += bool(during)
        try:
            sent = headers | ({"if-none-match": etags[path]} if path in etags else {})
            answer = await client.get(path, headers=sent)
        except httpx.HTTPError as error:
            tally.failed(f"read {type(error).__name__}")
            tally.note("read", "other", started)
        else:
            if answer.status_code in (200, 304):
                tally.reads_ok += 1
                tally.reads_ok_during += bool(during)
                if "warning" in answer.headers:
                    tally.reads_stale += 1
                    tally.last_failure = time.monotonic()
                elif "etag" in answer.headers:
                    etags[path] = answer.headers["etag"]
                tally.note("read", "stale" if "warning" in answer.headers else "ok", started)
            else:
                tally.failed(f"read {refusal(answer)}")
                tally.note("read", outcome_of(answer.status_code), started)
        await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))


async def writer(
    client: httpx.AsyncClient,
    token: str,
    pupil: int,
    tally: Tally,
    *,
    stop: asyncio.Event,
    rate: float,
    deadline: list[float],
) -> None:
    headers = {"authorization": f"Bearer {token}"}
    while not stop.is_set():
        key = uuid.uuid4().hex
        subject = f"drill-{tally.name}-{key[:16]}"
        tally.writes[key] = subject
        # Like the outbox: the same key again until an answer says it is saved.
        while time.monotonic() < deadline[0]:
            started = time.monotonic()
            try:
                answer = await client.post(
                    "/api/v1/conversations",
                    json={"person_ids": [pupil], "subject": subject, "body": "Exercice."},
                    headers=headers | {"idempotency-key": key},
                )
            except httpx.HTTPError as error:
                tally.failed(f"write {type(error).__name__}")
                tally.note("write", "other", started)
            else:
                tally.note("write", outcome_of(answer.status_code), started)
                if answer.status_code in (200, 201):
                    tally.acknowledged.add(key)
                    break
                tally.failed(f"write {refusal(answer)}")
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        await asyncio.sleep(1 / rate)


def refusal(answer: httpx.Response) -> str:
    """An error's status, and for a ``429`` what the gate said: asked to wait in line
    (``queued``), or refused by a limit, which its problem names (pass, account, address,
    ticket, network, route:…)."""
    if answer.status_code != 429:
        return str(answer.status_code)
    try:
        problem = answer.json()
    except ValueError:
        return "429"
    kind = str(problem.get("type", "")).rpartition(":")[2] or "429"
    limit = problem.get("limit")
    return f"429 {kind}" + (f" {limit}" if limit else "")


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    return "503" if status == 503 else "other"


async def uploader(
    client: httpx.AsyncClient,
    token: str,
    tally: Tally,
    *,
    stop: asyncio.Event,
    deadline: list[float],
) -> None:
    """A pupil sending a file (``/api/v1/files``) about once a second, retried with the
    same key until it is saved, as the outbox does."""
    headers = {"authorization": f"Bearer {token}"}
    while not stop.is_set():
        key = uuid.uuid4().hex
        while time.monotonic() < deadline[0]:
            started = time.monotonic()
            try:
                answer = await client.post(
                    "/api/v1/files",
                    files={"file": ("copie.pdf", PDF, "application/pdf")},
                    headers=headers | {"idempotency-key": key},
                )
            except httpx.HTTPError as error:
                tally.failed(f"upload {type(error).__name__}")
                tally.note("upload", "other", started)
            else:
                tally.note("upload", outcome_of(answer.status_code), started)
                if answer.status_code in (200, 201):
                    tally.uploads[key] = str(answer.json()["id"])
                    break
                tally.failed(f"upload {refusal(answer)}")
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        await asyncio.sleep(1.0)


ARRIVING = itertools.count(FIRST_ARRIVAL)  # over all the drills: new people each time


async def arrivals(
    token: str,
    tally: Tally,
    stop: asyncio.Event,
    rate: float,
    stay: float = 0.0,
    *,
    one: bool = False,
) -> None:
    """New people, each with no gate pass yet and an address of its own (from 127.0.0.1
    with ``one``): admitted (a 2xx) or asked to wait. Those admitted go on reading for
    ``stay`` seconds, one read every two seconds."""
    if rate <= 0:
        return
    pending: set[asyncio.Task[None]] = set()
    headers = {"authorization": f"Bearer {token}"}

    async def arrive() -> None:
        started = time.monotonic()
        person = next(ARRIVING)
        fresh_client = httpx.AsyncClient(base_url=URL, timeout=10) if one else client_for(person)
        async with fresh_client as fresh:
            try:
                answer = await fresh.get("/api/v1/todo", headers=headers)
            except httpx.HTTPError:
                tally.note("arrival", "other", started)
                return
            admitted = answer.status_code < 400
            tally.note("arrival", "ok" if admitted else "other", started)
            if not admitted:
                tally.arrivals_refused[f"arrival {refusal(answer)}"] += 1
            leave = time.monotonic() + stay
            while admitted and time.monotonic() < leave and not stop.is_set():
                await asyncio.sleep(2.0)
                started = time.monotonic()
                try:
                    answer = await fresh.get(random.choice(READ_PATHS), headers=headers)
                except httpx.HTTPError:
                    tally.note("read", "other", started)
                    continue
                tally.note("read", outcome_of(answer.status_code), started)
                if answer.status_code >= 400:
                    tally.arrivals_refused[f"read {refusal(answer)}"] += 1

    while not stop.is_set():
        task = asyncio.create_task(arrive())
        pending.add(task)
        task.add_done_callback(pending.discard)
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*pending)


def admission_rate() -> float | None:
    """The gate's admission rate in force, as the app processes report it (their mean)."""
    rates = []
    for pid_file in RUN_DIR.glob("app-*.pid"):
        port = pid_file.stem.removeprefix("app-")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as answer:
                text = answer.read().decode()
        except OSError:
            continue
        rates += [
            float(line.split()[1])
            for line in text.splitlines()
            if line.startswith("preau_gate_admission_rate ")
        ]
    return sum(rates) / len(rates) if rates else None


TICK = os.sysconf("SC_CLK_TCK")


def cpu_used() -> dict[str, float]:
    """CPU seconds used so far by the PostgreSQL primary (its postmaster and backends),
    the replica, and the app processes (their process groups): where a read sent to the
    replica would take its work from (docs/reliability.md, replica routing)."""
    primary = primary_index()
    postmasters = {postmaster_of(index): index for index in range(2)}
    groups = set()
    for pid_file in RUN_DIR.glob("app-*.pid"):
        with contextlib.suppress(OSError, ValueError):
            groups.add(int(pid_file.read_text(encoding="utf-8").strip()))
    used = {"pg_primary": 0.0, "pg_replica": 0.0, "apps": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid, parent, group = int(entry.name), int(fields[1]), int(fields[2])
        seconds = (int(fields[11]) + int(fields[12])) / TICK
        node = postmasters.get(pid, postmasters.get(parent))
        if node is not None:
            used["pg_primary" if node == primary else "pg_replica"] += seconds
        elif group in groups:
            used["apps"] += seconds
    return used


async def sample_rates(tally: Tally, stop: asyncio.Event) -> None:
    while not stop.is_set():
        rate = await asyncio.to_thread(admission_rate)
        if rate is not None:
            tally.rates.append((time.monotonic(), rate))
        tally.cpu.append((time.monotonic(), await asyncio.to_thread(cpu_used)))
        await asyncio.sleep(1.0)


def cpu_shares(tally: Tally, start: float, end: float) -> dict[str, float]:
    """Each part's CPU in one phase, in % of one core (from the first and last samples in
    it; a process that restarted meanwhile counts from zero again: a lower bound)."""
    inside = [(at, used) for at, used in tally.cpu if start <= at < end]
    if len(inside) < 2:
        return {}
    (first, then), (last, now) = inside[0], inside[-1]
    return {
        part: round(100 * max(0.0, now[part] - then.get(part, 0.0)) / (last - first), 1)
        for part in now
    }


async def count_subjects(name: str) -> dict[str, int]:
    for _attempt in range(30):
        try:
            connection = await asyncpg.connect(DATABASE, timeout=5)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(1)
            continue
        try:
            rows = await connection.fetch(
                "SELECT subject, count(*) FROM conversations WHERE subject LIKE $1 GROUP BY 1",
                f"drill-{name}-%",
            )
        finally:
            await connection.close()
        return {str(row[0]): int(row[1]) for row in rows}
    raise SystemExit("drills: the database did not come back for the count")


async def drill(name: str, args: argparse.Namespace) -> dict[str, object]:
    tally = Tally(name)
    before = await asyncio.to_thread(counted)
    stop = asyncio.Event()
    deadline = [float("inf")]
    if name == "disk-full":
        await asyncio.to_thread(small_disk, True)
    async with contextlib.AsyncExitStack() as clients:
        people = iter(range(FIRST_ARRIVAL))

        async def device() -> httpx.AsyncClient:
            """The next person's own client, or with ``--one-address`` (the drills before
            issue 18's addresses) one client from 127.0.0.1 shared by everyone."""
            if args.one_address:
                return shared
            return await clients.enter_async_context(client_for(next(people)))

        async def let_in() -> httpx.AsyncClient:
            client = await device()
            await enter(client, pupil_token)
            return client

        limits = httpx.Limits(max_connections=args.readers + args.writers + 8)
        shared = await clients.enter_async_context(
            httpx.AsyncClient(base_url=URL, timeout=10, limits=limits)
        )
        first = await device()
        pupil_token, pupil = await sign_in(first, "eleve.demo")
        teacher_token, _ = await sign_in(first, "prof.demo")
        readers = [first] + [await let_in() for _ in range(args.readers - 1)]
        writers = [await let_in() for _ in range(args.writers)]
        uploaders = [await let_in() for _ in range(2 if name == "disk-full" else 0)]
        tasks = [
            asyncio.create_task(reader(client, pupil_token, tally, stop, args.rate))
            for client in readers
        ]
        tasks += [
            asyncio.create_task(
                writer(
                    client,
                    teacher_token,
                    pupil,
                    tally,
                    stop=stop,
                    rate=args.rate,
                    deadline=deadline,
                )
            )
            for client in writers
        ]
        stay = args.stay if name == "slow-db" else 0.0
        tasks.append(
            asyncio.create_task(
                arrivals(pupil_token, tally, stop, args.arrivals, stay, one=args.one_address)
            )
        )
        tasks.append(asyncio.create_task(sample_rates(tally, stop)))
        tasks += [
            asyncio.create_task(uploader(client, pupil_token, tally, stop=stop, deadline=deadline))
            for client in uploaders
        ]
        started = time.monotonic()
        await asyncio.sleep(args.warm_up)
        log(f"{name}: fault")
        tally.fault_at = time.monotonic()
        await fault(name, args.outage, args.db_delay)
        tally.repaired_at = time.monotonic()
        log(f"{name}: repaired after {tally.repaired_at - tally.fault_at:.1f} s")
        await asyncio.sleep(args.after)
        ended = time.monotonic()
        stop.set()
        deadline[0] = time.monotonic() + 60  # writes still failing get a minute to land
        await asyncio.gather(*tasks)
    after = await asyncio.to_thread(counted)
    # An app process restarted in the drill starts its counters again: a lower bound.
    moved = {name: after[name] - before[name] for name in after if after[name] > before[name]}
    counts = await count_subjects(name)
    files_checked: dict[str, int] = {}
    if name == "disk-full":
        files_checked = await check_files(tally.uploads)
        await asyncio.to_thread(small_disk, False)
    subjects = tally.writes
    lost = [key for key in tally.acknowledged if counts.get(subjects[key], 0) == 0]
    duplicates = sum(max(0, count - 1) for count in counts.values())
    recovered = max(0.0, tally.last_failure - tally.fault_at) if tally.last_failure else 0.0
    phases = {
        "before": (started, tally.fault_at),
        "during": (tally.fault_at, tally.repaired_at),
        "after": (tally.repaired_at, ended),
        # Once the gate had time to react: the fault's second half.
        "late": ((tally.fault_at + tally.repaired_at) / 2, tally.repaired_at),
    }
    gate = {phase: gate_figures(tally, *span) for phase, span in phases.items()}
    cpu = {phase: cpu_shares(tally, *span) for phase, span in phases.items()}
    return {
        "drill": name,
        "fault_s": round(tally.repaired_at - tally.fault_at, 1),
        "writes_acknowledged": len(tally.acknowledged),
        "writes_unacknowledged": len(subjects) - len(tally.acknowledged),
        "lost": len(lost) + files_checked.get("uploads_lost", 0),
        "duplicates": duplicates,
        "reads": tally.reads,
        "reads_served_pct": round(100 * tally.reads_ok / max(1, tally.reads), 2),
        "reads_during_fault": tally.reads_during,
        "reads_served_during_fault_pct": round(
            100 * tally.reads_ok_during / max(1, tally.reads_during), 2
        ),
        "reads_stale": tally.reads_stale,
        "recovered_after_s": round(recovered, 1),
        "errors_seen": dict(tally.errors.most_common()),
        "counted_by_the_apps": moved,
        "arrivals_refused": dict(tally.arrivals_refused.most_common()),
        "files": files_checked,
        "gate": gate,
        "cpu_pct_of_a_core": cpu,
        "checks": checks(name, gate),
        "timeline": timeline(tally, started, ended),
    }


def gate_figures(tally: Tally, start: float, end: float) -> dict[str, float | None]:
    """The gate in one phase: its admission rate (mean of the samples), the share of
    arrivals admitted, the p99 of the admitted people's answered requests."""
    rates = [rate for at, rate in tally.rates if start <= at < end]
    came = [
        outcome for at, kind, outcome, _ in tally.events if kind == "arrival" and start <= at < end
    ]
    latencies = sorted(
        latency
        for at, kind, outcome, latency in tally.events
        if kind in ("read", "write") and outcome in ("ok", "stale") and start <= at < end
    )
    by_kind = {
        kind: sorted(
            latency
            for at, seen, outcome, latency in tally.events
            if seen == kind and outcome in ("ok", "stale") and start <= at < end
        )
        for kind in ("read", "write")
    }
    return {
        "admission_rate": round(sum(rates) / len(rates), 1) if rates else None,
        "arrivals_admitted_pct": (round(100 * came.count("ok") / len(came), 1) if came else None),
        "admitted_p99_ms": p99_ms(latencies),
        "read_p99_ms": p99_ms(by_kind["read"]),
        "write_p99_ms": p99_ms(by_kind["write"]),
        "read_p50_ms": p99_ms(by_kind["read"], 0.5),
        "write_p50_ms": p99_ms(by_kind["write"], 0.5),
    }


def p99_ms(ordered: list[float], quantile: float = 0.99) -> int | None:
    """A quantile (the 99th by default) of sorted latencies, in milliseconds."""
    if not ordered:
        return None
    return round(1000 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))])


def checks(name: str, gate: dict[str, dict[str, float | None]]) -> dict[str, bool]:
    """The behaviour each drill promises besides nothing lost (docs/reliability.md):
    ``slow-db``: the gate lowers its rate, and the admitted reads' p99 of the fault's
    second half stays within ``P99_BOUND_S``; ``redis-stop``: while Redis is down, the
    processes admit at least ``KEPT_SHARE`` of the rate and of the arrivals they admitted
    before."""
    before, during, late = gate["before"], gate["during"], gate["late"]

    def kept(figure: str) -> bool:
        then, now = before[figure], during[figure]
        return then is not None and now is not None and now >= KEPT_SHARE * then

    if name == "slow-db":
        rate_then, rate_now, p99 = (
            before["admission_rate"], late["admission_rate"], late["read_p99_ms"]
        )  # fmt: skip
        return {
            "rate_lowered": rate_then is not None and rate_now is not None and rate_now < rate_then,
            "p99_bounded": p99 is not None and p99 <= 1000 * P99_BOUND_S,
        }
    if name == "redis-stop":
        return {
            "admission_rate_kept": kept("admission_rate"),
            "arrivals_admitted_kept": kept("arrivals_admitted_pct"),
        }
    return {}


def timeline(tally: Tally, start: float, end: float) -> dict[str, object]:
    """People's requests a second by outcome, arrivals admitted and asked to wait, and the
    gate's admission rate, on seconds from the fault."""
    zero = tally.fault_at
    first, last = int(start - zero) - 1, int(end - zero) + 2
    seconds = list(range(first, last))
    lines: dict[str, list[int]] = {
        key: [0] * len(seconds) for key in ("ok", "stale", "503", "other", "admitted", "waiting")
    }
    for at, kind, outcome, _ in tally.events:
        index = int(at - zero - first) if at >= zero + first else -1
        if 0 <= index < len(seconds):
            if kind == "arrival":
                lines["admitted" if outcome == "ok" else "waiting"][index] += 1
            else:
                lines[outcome][index] += 1
    return {
        "seconds": seconds,
        "fault_end": round(tally.repaired_at - zero, 1),
        **lines,
        "admission_rate": [(round(at - zero, 1), rate) for at, rate in tally.rates],
    }


def table(results: list[dict[str, object]]) -> str:
    lines = [
        "| drill | fault (s) | writes acknowledged | lost | duplicates | reads served "
        "(during the fault) | stale reads | recovered after (s) | errors people saw | "
        "rate limits failed open |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in results:
        errors = row["errors_seen"]
        assert isinstance(errors, dict)
        seen = ", ".join(f"{what}: {count}" for what, count in errors.items()) or "none"
        moved = row["counted_by_the_apps"]
        assert isinstance(moved, dict)
        fail_open = sum(v for k, v in moved.items() if k.startswith(COUNTED[0]))
        lines.append(
            f"| {row['drill']} | {row['fault_s']} | {row['writes_acknowledged']} | "
            f"{row['lost']} | {row['duplicates']} | {row['reads_served_pct']} % "
            f"({row['reads_served_during_fault_pct']} % of {row['reads_during_fault']}) | "
            f"{row['reads_stale']} | {row['recovered_after_s']} | {seen} | {fail_open} |"
        )
    lines += [
        "",
        "| drill | admission rate /s (before, during, after) | arrivals admitted % | "
        "admitted p99 ms | p99 ms in the fault's 2nd half: reads, writes | files: uploads "
        "acknowledged, lost, "
        "without row, partial | checks |",
        "|---|---|---|---|---:|---|---|",
    ]
    for row in results:
        gate = row["gate"]
        assert isinstance(gate, dict)
        checked = row["files"]
        assert isinstance(checked, dict)

        def three(figure: str, gate: dict[str, dict[str, object]] = gate) -> str:
            return ", ".join(str(gate[phase][figure]) for phase in ("before", "during", "after"))

        files_seen = ", ".join(str(value) for value in checked.values()) or "-"
        verdicts = row["checks"]
        assert isinstance(verdicts, dict)
        checked_text = (
            ", ".join(f"{what} {'ok' if passed else 'FAILED'}" for what, passed in verdicts.items())
            or "-"
        )
        lines.append(
            f"| {row['drill']} | {three('admission_rate')} | {three('arrivals_admitted_pct')} | "
            f"{three('admitted_p99_ms')} | {gate['late']['read_p99_ms']}, "
            f"{gate['late']['write_p99_ms']} | {files_seen} | "
            f"{checked_text} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> list[dict[str, object]]:
    results = []
    for name in args.drills:
        results.append(await drill(name, args))
        log(json.dumps(results[-1], ensure_ascii=False))
        await asyncio.sleep(args.settle)  # replicas catch up, Sentinels settle
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter outages (CI)")
    parser.add_argument("--drills", nargs="+", choices=DRILLS, default=list(DRILLS))
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=5.0, help="requests a second per task")
    parser.add_argument("--arrivals", type=float, default=5.0, help="new people a second")
    parser.add_argument(
        "--admission-rate", type=float, default=20.0, help="the gate's configured rate, /s"
    )
    parser.add_argument(
        "--db-delay", type=float, default=SLOW_DB_DELAY, help="slow-db: seconds added each way"
    )
    parser.add_argument(
        "--stay", type=float, default=10.0, help="slow-db: seconds an admitted arrival reads"
    )
    parser.add_argument(
        "--one-address",
        action="store_true",
        help="everyone from 127.0.0.1, readers and writers on one client (before issue 18)",
    )
    parser.add_argument("--keep", action="store_true", help="leave the cluster running")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    args.outage = 20.0 if args.quick else 60.0
    args.warm_up = 3.0 if args.quick else 10.0
    args.after = 5.0 if args.quick else 15.0
    args.settle = 3.0 if args.quick else 10.0
    os.environ.update(ENVIRONMENT)
    os.environ["PREAU_GATE_ADMISSION_RATE_PER_S"] = str(args.admission_rate)
    started = time.monotonic()
    cluster("down")
    DELAY_CONTROL.parent.mkdir(parents=True, exist_ok=True)
    DELAY_CONTROL.write_text("0\n", encoding="utf-8")
    proxy = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "delay_proxy.py"), "--listen", str(PROXY_PORT),
         "--to", "5440", "--control", str(DELAY_CONTROL)],
    )  # fmt: skip
    try:
        cluster("up")
        results = asyncio.run(run(args))
    finally:
        if not args.keep:
            cluster("down")
            proxy.terminate()
            proxy.wait(10)
        if FILES_DIR.is_mount():
            subprocess.run(["umount", "-l", str(FILES_DIR)], check=False)
    print()
    print(table(results))
    print(f"\n{len(results)} drills in {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    failed = [row["drill"] for row in results if row["lost"] or row["duplicates"]]
    if failed:
        print(f"acknowledged writes lost or doubled in: {', '.join(map(str, failed))}")
    missed = [
        f"{row['drill']} {what}"
        for row in results
        if isinstance(row["checks"], dict)
        for what, passed in row["checks"].items()
        if not passed
    ]
    if missed:
        print(f"checks missed: {', '.join(missed)}")
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
