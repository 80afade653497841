"""Drills: parts of the HA cluster broken on purpose under a bounded mixed load, and what
people saw (``make drills``, docs/reliability.md).

Starts a fresh ``make cluster-ha`` (deploy/cluster_ha.py), then for each drill: a few
seconds of load (pupils reading their to-do, inbox and week through the API; teachers
sending messages, each with its own ``Idempotency-Key`` and a subject that names it, and
retrying the same key on any failure as the offline outbox does), the fault, the repair
(a supervisor restarting what was killed, or the outage's end), load until it is over,
then a count in the database of each write: acknowledged and missing (lost), written
more than once (duplicates). Loopback only; the load is bounded (``--readers``,
``--writers``, each at most ``--rate`` requests a second).

Drills: ``app-kill`` (kill -9 one app process), ``pg-primary-kill`` (kill -9 Patroni and
PostgreSQL on the primary: the replica is promoted), ``pg-stop`` (PostgreSQL stopped
entirely for 60 s, 20 s with ``--quick``), ``redis-primary-kill`` (Sentinel promotes),
``redis-stop`` (both Redis servers stopped for the same time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
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
DRILLS = ("app-kill", "pg-primary-kill", "pg-stop", "redis-primary-kill", "redis-stop")
# The drills' cluster: no per-person sending limit in the way of the measured writes.
ENVIRONMENT = {
    "PREAU_MESSAGES_PER_MINUTE": "100000",
    "PREAU_MESSAGES_PER_DAY": "10000000",
    "PREAU_GATE_RATE_LIMIT_ACCOUNT": "100000/minute",
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

    def failed(self, what: str) -> None:
        self.errors[what] += 1
        self.last_failure = time.monotonic()


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


COUNTED = ("preau_rate_limit_fail_open_total", "preau_degraded_answers_total")


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


async def fault(name: str, outage: float) -> None:
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


# The load


async def sign_in(client: httpx.AsyncClient, username: str) -> tuple[str, int]:
    answer = await client.post("/api/v1/session", json={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    body = answer.json()
    return str(body["token"]), int(body["person_id"])


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
        else:
            if answer.status_code in (200, 304):
                tally.reads_ok += 1
                tally.reads_ok_during += bool(during)
                if "warning" in answer.headers:
                    tally.reads_stale += 1
                    tally.last_failure = time.monotonic()
                elif "etag" in answer.headers:
                    etags[path] = answer.headers["etag"]
            else:
                tally.failed(f"read {answer.status_code}")
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
            else:
                if answer.status_code in (200, 201):
                    tally.acknowledged.add(key)
                    break
                tally.failed(f"write {answer.status_code}")
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        await asyncio.sleep(1 / rate)


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
    limits = httpx.Limits(max_connections=args.readers + args.writers + 4)
    async with httpx.AsyncClient(base_url=URL, timeout=10, limits=limits) as client:
        pupil_token, pupil = await sign_in(client, "eleve.demo")
        teacher_token, _ = await sign_in(client, "prof.demo")
        tasks = [
            asyncio.create_task(reader(client, pupil_token, tally, stop, args.rate))
            for _ in range(args.readers)
        ] + [
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
            for _ in range(args.writers)
        ]
        await asyncio.sleep(args.warm_up)
        log(f"{name}: fault")
        tally.fault_at = time.monotonic()
        await fault(name, args.outage)
        tally.repaired_at = time.monotonic()
        log(f"{name}: repaired after {tally.repaired_at - tally.fault_at:.1f} s")
        await asyncio.sleep(args.after)
        stop.set()
        deadline[0] = time.monotonic() + 60  # writes still failing get a minute to land
        await asyncio.gather(*tasks)
    after = await asyncio.to_thread(counted)
    # An app process restarted in the drill starts its counters again: a lower bound.
    moved = {name: after[name] - before[name] for name in after if after[name] > before[name]}
    counts = await count_subjects(name)
    subjects = tally.writes
    lost = [key for key in tally.acknowledged if counts.get(subjects[key], 0) == 0]
    duplicates = sum(max(0, count - 1) for count in counts.values())
    recovered = max(0.0, tally.last_failure - tally.fault_at) if tally.last_failure else 0.0
    return {
        "drill": name,
        "fault_s": round(tally.repaired_at - tally.fault_at, 1),
        "writes_acknowledged": len(tally.acknowledged),
        "writes_unacknowledged": len(subjects) - len(tally.acknowledged),
        "lost": len(lost),
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
    parser.add_argument("--keep", action="store_true", help="leave the cluster running")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    args.outage = 20.0 if args.quick else 60.0
    args.warm_up = 3.0 if args.quick else 10.0
    args.after = 5.0 if args.quick else 15.0
    args.settle = 3.0 if args.quick else 10.0
    os.environ.update(ENVIRONMENT)
    started = time.monotonic()
    cluster("down")
    cluster("up")
    try:
        results = asyncio.run(run(args))
    finally:
        if not args.keep:
            cluster("down")
    print()
    print(table(results))
    print(f"\n{len(results)} drills in {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    failed = [row["drill"] for row in results if row["lost"] or row["duplicates"]]
    if failed:
        print(f"acknowledged writes lost or doubled in: {', '.join(map(str, failed))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
