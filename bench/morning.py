"""The Monday morning on ``make cluster``: seed, run the Locust scenario, measure, report.

Brings up the cluster (nginx in front of N app processes on PostgreSQL and Redis) unless
one is running, seeds ``preau demo --size`` with the cluster's secret, runs
``bench/locust_morning.py`` headless with ramping arrivals, and samples every second the
CPU time (``/proc/<pid>/stat`` utime + stime) and resident memory of each app process,
nginx, the PostgreSQL backends of the cluster's database, Redis and Locust itself. Then it
writes the report into docs/performance.md between the ``morning`` markers and stops the
cluster if it started it.

    .venv/bin/python bench/morning.py            # academie: 50 schools, 103,556 people
    .venv/bin/python bench/morning.py --quick    # small: 2 schools, ~60 s of load
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher, Type
from gate_common import ROOT, write_section

CLUSTER = ROOT / "deploy" / "cluster.py"
RUN_DIR = ROOT / "var" / "cluster"
OUT_DIR = ROOT / "var" / "morning"
HOST = "http://127.0.0.1:8080"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Plan:
    size: str
    users: int  # people on the site at the peak
    ramp_s: int
    duration_s: int
    probe_s: int  # each per-endpoint phase


QUICK = Plan(size="small", users=30, ramp_s=20, duration_s=60, probe_s=8)
FULL = Plan(size="academie", users=120, ramp_s=60, duration_s=240, probe_s=20)


# -- /proc sampling ---------------------------------------------------------------------------


def read_stat(pid: int) -> tuple[float, int] | None:
    """(CPU seconds used, resident bytes) of a process, or None when it is gone.

    For a group of processes (nginx, PostgreSQL) only pages not shared are counted, or
    PostgreSQL's shared buffers would be counted once per backend: see :func:`private`."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        statm = Path(f"/proc/{pid}/statm").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)
    return cpu, int(statm.split()[1]) * PAGE


def private(pid: int) -> int:
    """Resident bytes not shared with other processes (RSS minus shared pages)."""
    try:
        pages = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return 0
    return (int(pages[1]) - int(pages[2])) * PAGE


def command_line(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants: granian serves from worker processes it starts."""
    children: dict[int, list[int]] = {}
    for other in all_pids():
        children.setdefault(parent_of(other), []).append(other)
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def app_pids() -> dict[str, int]:
    """The cluster's app processes by name (``app-8101``), from its pid files."""
    found = {}
    for path in sorted(RUN_DIR.glob("app-*.pid")):
        try:
            found[path.stem] = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
    return found


def group_pids(group: str, locust_pid: int | None) -> list[int]:
    """Processes of a group: nginx (master and workers), the PostgreSQL backends serving
    ``preau_cluster``, Redis, Locust."""
    pids = all_pids()
    if group == "nginx":
        try:
            master = int((RUN_DIR / "nginx.pid").read_text().strip())
        except (OSError, ValueError):
            return []
        return [master, *(pid for pid in pids if parent_of(pid) == master)]
    if group == "postgresql":
        return [
            pid
            for pid in pids
            if "preau_cluster" in command_line(pid) and "postgres" in command_line(pid)
        ]
    if group == "redis":
        return [pid for pid in pids if command_line(pid).startswith("redis-server")]
    if group == "locust" and locust_pid:
        return [locust_pid, *(pid for pid in pids if parent_of(pid) == locust_pid)]
    return []


@dataclass
class Series:
    """CPU seconds and RSS of one process or group, sampled over the run."""

    first_cpu: dict[int, float] = field(default_factory=dict)
    last_cpu: dict[int, float] = field(default_factory=dict)
    rss: list[int] = field(default_factory=list)

    def add(self, samples: dict[int, tuple[float, int]], started: bool) -> None:
        for pid, (cpu, _) in samples.items():
            # A process born during the run counts from zero.
            self.first_cpu.setdefault(pid, cpu if not started else 0.0)
            self.last_cpu[pid] = cpu
        if len(samples) == 1:
            self.rss.append(next(iter(samples.values()))[1])
        elif samples:
            self.rss.append(sum(private(pid) for pid in samples))

    @property
    def cpu_seconds(self) -> float:
        return sum(self.last_cpu[pid] - self.first_cpu[pid] for pid in self.last_cpu)


class Sampler(threading.Thread):
    def __init__(self, apps: dict[str, int], interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.apps = apps
        self.interval = interval
        self.locust_pid: int | None = None
        self.series: dict[str, Series] = {name: Series() for name in apps}
        for group in ("nginx", "postgresql", "redis", "locust"):
            self.series[group] = Series()
        self.stopping = threading.Event()
        self.started_once = False

    def sample(self) -> None:
        for name, pid in self.apps.items():
            samples = {}
            for member in process_tree(pid):
                stat = read_stat(member)
                if stat:
                    samples[member] = stat
            self.series[name].add(samples, self.started_once)
        for group in ("nginx", "postgresql", "redis", "locust"):
            samples = {}
            for pid in group_pids(group, self.locust_pid):
                stat = read_stat(pid)
                if stat:
                    samples[pid] = stat
            self.series[group].add(samples, self.started_once)
        self.started_once = True

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(self.interval)
        self.sample()


# -- cluster ----------------------------------------------------------------------------------


def cluster(*arguments: str, check: bool = True) -> int:
    command = [sys.executable, str(CLUSTER), *arguments]
    print("$", " ".join(command[1:]), flush=True)
    return subprocess.run(command, cwd=ROOT, check=check).returncode


def cluster_running() -> bool:
    return cluster("status", check=False) == 0


# -- Locust -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    kind: str
    name: str
    requests: int
    failures: int
    per_second: float
    p50: float
    p99: float


def read_stats(prefix: Path) -> list[Row]:
    with Path(f"{prefix}_stats.csv").open(encoding="utf-8") as handle:
        return [
            Row(
                kind=line["Type"],
                name=line["Name"],
                requests=int(line["Request Count"]),
                failures=int(line["Failure Count"]),
                per_second=float(line["Requests/s"]),
                p50=float(line["50%"] or 0),
                p99=float(line["99%"] or 0),
            )
            for line in csv.DictReader(handle)
        ]


def run_locust(plan: Plan, people: Path, prefix: Path, sampler: Sampler) -> int:
    environ = {
        **os.environ,
        "MORNING_PEOPLE": str(people),
        "MORNING_USERS": str(plan.users),
        "MORNING_RAMP_S": str(plan.ramp_s),
        "MORNING_DURATION_S": str(plan.duration_s),
    }
    command = [
        str(Path(sys.executable).parent / "locust"),
        "-f",
        str(ROOT / "bench" / "locust_morning.py"),
        "--headless",
        "--host",
        HOST,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    print("$", " ".join(command[1:]), flush=True)
    with (OUT_DIR / "locust.log").open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT
        )
        sampler.locust_pid = process.pid
        return process.wait()


def password_hashes(apps: dict[str, int]) -> int:
    """argon2id hashes and verifications the app processes have computed (/metrics)."""
    total = 0
    for name in apps:
        port = name.removeprefix("app-")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                text = answer.read().decode()
        except OSError:
            continue
        total += sum(
            int(float(line.rsplit(" ", 1)[1]))
            for line in text.splitlines()
            if line.startswith("preau_password_hashes_total{")
        )
    return total


def argon2_cpu_seconds() -> float:
    """CPU time of one argon2id verification with Préau's default parameters, here."""
    hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID)
    stored = hasher.hash("preau-demo-2026")
    started = time.process_time()
    for _ in range(3):
        hasher.verify(stored, "preau-demo-2026")
    return (time.process_time() - started) / 3


PROBES = ("todo-api", "todo-page", "homework", "file", "hand-ins")


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    row: Row | None
    cpu_seconds: float


def app_cpu(apps: dict[str, int]) -> float:
    return sum(
        (read_stat(member) or (0.0, 0))[0] for pid in apps.values() for member in process_tree(pid)
    )


def run_probes(people: Path, seconds: int, apps: dict[str, int]) -> list[ProbeResult]:
    """One short phase per endpoint: 20 signed-in people ask for it at 15 requests/s each,
    and the app processes' CPU time over the phase is divided by the answers."""
    results = []
    for probe in PROBES:
        prefix = OUT_DIR / f"probe-{probe}"
        command = [
            str(Path(sys.executable).parent / "locust"),
            "-f",
            str(ROOT / "bench" / "locust_morning.py"),
            "--headless",
            "--host",
            HOST,
            "-u",
            "20",
            "-r",
            "20",
            "-t",
            f"{seconds}s",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            "Probe",
        ]
        environ = {**os.environ, "MORNING_PEOPLE": str(people), "MORNING_PROBE": probe}
        before = app_cpu(apps)
        with (OUT_DIR / f"probe-{probe}.log").open("w", encoding="utf-8") as log:
            subprocess.run(
                command, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT, check=False
            )
        used = app_cpu(apps) - before
        rows = [row for row in read_stats(prefix) if row.kind == "GET" and row.name != "setup"]
        results.append(ProbeResult(probe, rows[0] if rows else None, used))
        print(f"morning: probe {probe}: {rows[0] if rows else 'no answers'}, app CPU {used:.1f} s")
    return results


# -- report -----------------------------------------------------------------------------------


def mib(value: float) -> str:
    return f"{value / 1048576:,.0f} MiB"


def report(
    plan: Plan,
    rows: list[Row],
    sampler: Sampler,
    *,
    seconds: float,
    exit_code: int,
    command: str,
    probes: list[ProbeResult],
    probe_seconds: int,
    hashes: int,
) -> str:
    served = [row for row in rows if row.kind not in ("GATE", "") and row.name != "Aggregated"]
    gate = [row for row in rows if row.kind == "GATE"]
    total = next((row for row in rows if row.name == "Aggregated"), None)
    requests = sum(row.requests for row in served)
    errors = sum(row.failures for row in served)
    gate_answers = sum(row.requests for row in gate)
    apps = list(sampler.apps)
    app_cpu = sum(sampler.series[name].cpu_seconds for name in apps)
    lines = [
        f"Command: `{command}` ({datetime.now(UTC):%Y-%m-%d}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs shared with other work).",
        "",
        f"Seeded size **{plan.size}**; arrivals ramp to {plan.users} people on the site at once "
        f"over {plan.ramp_s} s, held to {plan.duration_s} s ({seconds:.0f} s measured). "
        f"{len(apps)} app servers (granian) behind nginx, PostgreSQL, Redis; Locust on the "
        "same two cores. Locust exit code "
        f"{exit_code} ({'only the gate refused anything' if exit_code == 0 else 'errors'}).",
        "",
        "| request | requests | req/s | p50 ms | p99 ms | failures |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| `{row.kind} {row.name}` | {row.requests:,} | {row.per_second:.1f} | "
        f"{row.p50:.0f} | {row.p99:.0f} | {row.failures} |"
        for row in sorted(served, key=lambda r: -r.requests)
    )
    if total is not None:
        lines.append(
            f"| **all** | {requests:,} | {sum(r.per_second for r in served):.1f} | "
            f"{total.p50:.0f} | {total.p99:.0f} | {errors} |"
        )
    lines += [
        "",
        f"The gate's designed answers (429/503 with `Retry-After`, or the waiting page): "
        f"{gate_answers:,}"
        + (" — " + ", ".join(f"`{row.name}` {row.requests}" for row in gate[:8]) if gate else "")
        + ". A request the gate held is counted once under its own name (its answer was "
        "the waiting page) and once here; the person then waited and tried again.",
        "",
        "| process | CPU s | CPU per request | memory mean | memory peak |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in [*apps, "nginx", "postgresql", "redis", "locust"]:
        series = sampler.series[name]
        if not series.rss:
            continue
        per_request = series.cpu_seconds / requests * 1000 if requests else 0.0
        lines.append(
            f"| {name} | {series.cpu_seconds:.1f} | {per_request:.2f} ms | "
            f"{mib(statistics.fmean(series.rss))} | {mib(max(series.rss))} |"
        )
    lines += [
        "",
        f"**App CPU per request: {app_cpu / requests * 1000 if requests else 0:.2f} ms** "
        f"({app_cpu:.1f} CPU-seconds over {len(apps)} app servers ÷ {requests:,} requests, "
        "gate answers excluded). Overall only: the endpoints ran mixed in one process, so "
        "CPU is not split by endpoint here (the latencies above are wall time; see the "
        "per-endpoint phases below). An app server is `preau serve` and the granian worker "
        "it starts; its memory, like a group's, is the sum of its processes' pages not "
        "shared (so PostgreSQL's shared buffers are not counted once per backend), and the "
        "RSS where one process is alone. nginx and Locust are all their "
        "processes; PostgreSQL counts the backends connected to `preau_cluster`; "
        "Redis is the shared server (other work may use it). The machine's two cores also "
        "ran Locust and other people's jobs: treat the figures as indicative.",
    ]
    if hashes:
        each = argon2_cpu_seconds()
        lines += [
            "",
            f"Of that app CPU, password logins and activations computed {hashes:,} argon2id "
            f"hashes; one takes {each * 1000:.0f} ms of CPU here, so about "
            f"{hashes * each:.1f} CPU-seconds ({hashes * each / max(app_cpu, 1e-9):.0%}) went to "
            "passwords — why returning devices resume with a device credential instead.",
        ]
    if probes:
        lines += [
            "",
            f"CPU per request by endpoint, measured apart: one {probe_seconds} s phase per "
            "endpoint after the morning, 20 people signed in with their device credential "
            "asking for it at 15 requests/s each (`MORNING_PROBE`, `locust … Probe`); app "
            "CPU-seconds over the phase ÷ answers (the phase's 20 arrivals are included).",
            "",
            "| endpoint | answers | req/s | p50 ms | p99 ms | app CPU per request |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines.extend(
            f"| `GET {result.row.name}` | {result.row.requests:,} | "
            f"{result.row.per_second:.0f} | {result.row.p50:.0f} | {result.row.p99:.0f} | "
            f"{result.cpu_seconds / result.row.requests * 1000:.2f} ms |"
            for result in probes
            if result.row is not None and result.row.requests
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small size, about 60 s of load")
    parser.add_argument("--users", type=int, help="people on the site at the peak")
    parser.add_argument("--duration", type=int, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="app processes if started (2)")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/performance.md")
    parser.add_argument("--no-probes", action="store_true", help="skip the per-endpoint phases")
    options = parser.parse_args()
    plan = QUICK if options.quick else FULL
    plan = Plan(
        size=plan.size,
        users=options.users or plan.users,
        ramp_s=plan.ramp_s,
        duration_s=options.duration or plan.duration_s,
        probe_s=plan.probe_s,
    )
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    started_cluster = not cluster_running()
    try:
        seeding = time.perf_counter()
        if started_cluster:
            cluster("up", "--workers", str(options.workers), "--size", plan.size)
        else:
            print("morning: using the cluster that is already running", flush=True)
            cluster("seed", "--size", plan.size)
        print(f"morning: cluster ready and seeded in {time.perf_counter() - seeding:.0f} s")
        sampler = Sampler(app_pids())
        prefix = OUT_DIR / f"locust-{plan.size}"
        hashes_before = password_hashes(sampler.apps)
        sampler.start()
        began = time.monotonic()
        exit_code = run_locust(plan, RUN_DIR / f"people-{plan.size}.csv", prefix, sampler)
        seconds = time.monotonic() - began
        sampler.stopping.set()
        sampler.join()
        hashes = password_hashes(sampler.apps) - hashes_before
        probes = (
            []
            if options.no_probes
            else run_probes(RUN_DIR / f"people-{plan.size}.csv", plan.probe_s, sampler.apps)
        )
    finally:
        if started_cluster:
            cluster("down", check=False)
    command = ".venv/bin/python bench/morning.py" + (" --quick" if options.quick else "")
    text = report(
        plan,
        read_stats(prefix),
        sampler,
        seconds=seconds,
        exit_code=exit_code,
        command=command,
        probes=probes,
        probe_seconds=plan.probe_s,
        hashes=hashes,
    )
    (OUT_DIR / f"report-{plan.size}.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    if not options.no_docs:
        write_section(f"morning:{'quick' if options.quick else 'full'}", text)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
