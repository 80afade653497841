"""Peer comparison: Préau's warm pupil to-do against Kolibri's list of a learner's classes
and assignments, on the same machine in the same run, as a ratio.

    .venv/bin/python bench/kolibri_compare.py [--quick]

Préau is served by ``bench/serving.py``: ``bootstrap.build_app`` with the gate off
(``bench/hot_paths.py`` measures the same read with the gate), uvicorn, one worker,
SQLite, with a pupil who has 15 homework items. Kolibri (pinned below, installed from
PyPI into its own venv under ``var/kolibri/``, never into Préau's) runs as ``kolibri
start --foreground`` runs it, on its cheroot server, with a learner enrolled in one class
that has 10 lessons and 5 quizzes assigned. Both servers are pinned to CPU 0 and stay up
for the whole run; ``wrk`` runs on CPU 1 with the same parameters against each, in
alternating rounds. The result goes into
``docs/performance.md`` between the ``kolibri`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serving
from gate_common import PERFORMANCE, ROOT, free_port, pinned, wait_for_port, write_section

KOLIBRI_VERSION = "0.19.5"
KOLIBRI_DIR = ROOT / "var" / "kolibri"
KOLIBRI_VENV = KOLIBRI_DIR / "venv"
KOLIBRI_HOME = KOLIBRI_DIR / "home"
KOLIBRI_LOG = KOLIBRI_DIR / "server.log"
KOLIBRI_PASSWORD = "Bench-Pass-1"  # noqa: S105 - a throwaway learner on loopback
KOLIBRI_ENDPOINT = "/learn/api/learnerclassroom/"
PREAU_ENDPOINT = serving.TODO_PATH
LESSONS, QUIZZES = 10, 5  # as many assignments as the Préau pupil's homework items
CONCURRENCY = (8, 64)  # modest for Kolibri; and the -c64 of the other Préau benchmarks
WRK_TIMEOUT = "10s"  # longer than wrk's 2 s, so Kolibri's slow tail is measured, not cut

# Run inside Kolibri by `kolibri manage shell -c`: one class, its coach (the facility's
# admin), one learner and the assignments. Lessons and quizzes are empty: no content
# channel is imported, and the learner endpoint accepts assignments without resources.
LEARNER_SCRIPT = f"""
import json
import django
from kolibri.core.auth.models import Classroom, Facility, FacilityUser
from kolibri.core.exams.models import Exam, ExamAssignment
from kolibri.core.lessons.models import Lesson, LessonAssignment

facility = Facility.get_default_facility()
admin = FacilityUser.objects.get(username="admin", facility=facility)
learner = FacilityUser(username="lea.eleve", full_name="Léa Élève", facility=facility)
learner.set_password({KOLIBRI_PASSWORD!r})
learner.save()
classroom = Classroom.objects.create(name="6e A", parent=facility)
classroom.add_member(learner)
classroom.add_coach(admin)
for number in range({LESSONS}):
    lesson = Lesson.objects.create(
        title=f"Leçon {{number + 1}} : fractions",
        description="Faire les exercices de la page 42.",
        resources=[], is_active=True, collection=classroom, created_by=admin,
    )
    LessonAssignment.objects.create(lesson=lesson, collection=classroom, assigned_by=admin)
for number in range({QUIZZES}):
    exam = Exam.objects.create(
        title=f"Quiz {{number + 1}} : nombres décimaux", question_count=0,
        question_sources=[], active=True, collection=classroom, creator=admin,
    )
    ExamAssignment.objects.create(exam=exam, collection=classroom, assigned_by=admin)
print("KOLIBRI-LEARNER " + json.dumps(
    {{"facility": facility.id, "username": learner.username, "django": django.get_version()}}
))
"""


def kolibri_environment() -> dict[str, str]:
    return {
        **os.environ,
        "KOLIBRI_HOME": str(KOLIBRI_HOME),
        "KOLIBRI_LISTEN_ADDRESS": "127.0.0.1",
        "KOLIBRI_ZEROCONF_ENABLED": "False",
        "KOLIBRI_DISABLE_PING": "True",
    }


def kolibri(*arguments: str) -> str:
    command = [str(KOLIBRI_VENV / "bin" / "kolibri"), *arguments]
    result = subprocess.run(
        command, capture_output=True, text=True, env=kolibri_environment(), check=False
    )
    if result.returncode:
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{result.stderr[-3000:]}")
    return result.stdout + result.stderr


def install_kolibri() -> None:
    """Kolibri in its own venv, once; reinstalled when the pinned version changes."""
    pip = KOLIBRI_VENV / "bin" / "pip"
    if pip.exists():
        shown = subprocess.run(
            [pip, "show", "kolibri"], capture_output=True, text=True, check=False
        )
        if f"Version: {KOLIBRI_VERSION}\n" in shown.stdout:
            return
    print(f"installing kolibri=={KOLIBRI_VERSION} into {KOLIBRI_VENV}", flush=True)
    KOLIBRI_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", KOLIBRI_VENV], check=True)
    subprocess.run([pip, "install", "--quiet", f"kolibri=={KOLIBRI_VERSION}"], check=True)


def provision_kolibri() -> dict[str, str]:
    """A fresh Kolibri home with one facility, its admin and the learner."""
    shutil.rmtree(KOLIBRI_HOME, ignore_errors=True)
    kolibri(
        "manage", "provisiondevice", "--facility", "Collège du banc d'essai",
        "--superusername", "admin", "--superuserpassword", KOLIBRI_PASSWORD,
        "--preset", "formal", "--language_id", "fr-fr", "--noinput",
    )  # fmt: skip
    output = kolibri("manage", "shell", "-c", LEARNER_SCRIPT)
    line = next(line for line in output.splitlines() if line.startswith("KOLIBRI-LEARNER "))
    learner: dict[str, str] = json.loads(line.removeprefix("KOLIBRI-LEARNER "))
    return learner


def start_kolibri(port: int) -> subprocess.Popen[bytes]:
    command = pinned(
        0,
        [str(KOLIBRI_VENV / "bin" / "kolibri"), "start", "--foreground",
         "--port", str(port), "--zip-port", str(free_port())],
    )  # fmt: skip
    with KOLIBRI_LOG.open("wb") as log:
        server = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=kolibri_environment()
        )
    try:
        wait_for_port(port, server, timeout=120)
    except RuntimeError:
        stop(server)
        raise
    return server


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def log_in_to_kolibri(port: int, learner: dict[str, str]) -> str:
    """The learner's session cookie, from the same login call Kolibri's sign-in page makes."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        answer = client.post(
            "/api/auth/session/",
            json={
                "username": learner["username"],
                "password": KOLIBRI_PASSWORD,
                "facility": learner["facility"],
            },
        )
        answer.raise_for_status()
        return f"kolibri={client.cookies['kolibri']}"


def warm(port: int, path: str, cookie: str) -> httpx.Response:
    """A few requests so both servers answer from warm code and caches; returns the last."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for _ in range(5):
            answer = client.get(path, headers={"Cookie": cookie})
            if answer.status_code != 200:
                raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:300]}")
    return answer


# -- load -----------------------------------------------------------------------------------


@dataclass
class Run:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int  # connect, read and write errors, and answers other than 2xx or 3xx
    timeouts: int
    # Shares of one core during the run: the loaded server, the idle one, each core in all.
    server_cpu: float = 0.0
    idle_server_cpu: float = 0.0
    cpu0_busy: float = 0.0
    cpu1_busy: float = 0.0

    @property
    def server_cpu_ms_per_request(self) -> float:
        return 1000 * self.server_cpu / self.requests_per_second


SIDE_COLUMNS = ["req/s", "p50 ms", "p99 ms", "errors / timeouts"]
SIDES = [f"{side} {column}" for side in ("Préau", "Kolibri") for column in SIDE_COLUMNS]
COLUMNS = ["wrk -c", *SIDES, "Préau ÷ Kolibri", "per round"]
TABLE_HEADER = (
    "| " + " | ".join(COLUMNS) + " |\n|" + "---:|" * 4 + "---|" + "---:|" * 3 + "---|---:|---|"
)
CPU_COLUMNS = ["wrk -c", "side", "loaded server", "idle server", "all of CPU 0"]
CPU_COLUMNS += ["all of CPU 1 (wrk)", "server CPU ms per request"]
CPU_HEADER = "| " + " | ".join(CPU_COLUMNS) + " |\n|---:|---|" + "---:|" * 5
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk(port: int, path: str, connections: int, seconds: int, cookie: str) -> Run:
    command = pinned(
        1,
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", WRK_TIMEOUT,
         "--latency", "-H", f"Cookie: {cookie}", f"http://127.0.0.1:{port}{path}"],
    )  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    latencies = {
        percent: float(value) * UNITS_MS[unit]
        for percent, value, unit in re.findall(
            r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\b", output, re.M
        )
    }
    if not rate or set(latencies) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    socket_errors = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    counts = [int(n) for n in socket_errors.groups()] if socket_errors else [0, 0, 0, 0]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Run(
        requests_per_second=float(rate.group(1)),
        p50_ms=latencies["50"],
        p99_ms=latencies["99"],
        errors=sum(counts[:3]) + (int(non_2xx.group(1)) if non_2xx else 0),
        timeouts=counts[3],
    )


def wrk_version() -> str:
    """``wrk 4.1.0-3+b2`` from Debian's ``wrk debian/4.1.0-3+b2 [epoll] ...``."""
    banner = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout
    return "wrk " + banner.split()[1].removeprefix("debian/")


def core_times() -> dict[str, tuple[int, int]]:
    """(busy, total) clock ticks so far of CPU 0 and CPU 1, from /proc/stat."""
    times = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name in ("cpu0", "cpu1"):
            ticks = [int(field) for field in fields]
            idle = ticks[3] + ticks[4]  # idle and iowait
            times[name] = (sum(ticks) - idle, sum(ticks))
    return times


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    servers: dict[str, subprocess.Popen[bytes]],
    ports: dict[str, int],
    paths: dict[str, str],
    cookies: dict[str, str],
    *,
    seconds: int,
    rounds: int,
) -> dict[tuple[str, int], list[Run]]:
    """Alternating rounds of wrk against each side, with the CPU each server and each core
    used during each run."""
    results: dict[tuple[str, int], list[Run]] = {}
    for number in range(rounds):
        order = ("preau", "kolibri") if number % 2 == 0 else ("kolibri", "preau")
        for connections in CONCURRENCY:
            for side in order:  # alternate, so drift in the machine hits both alike
                idle = next(name for name in servers if name != side)
                wrk(ports[side], paths[side], connections, 1, cookies[side])  # warm-up
                before = {name: cpu_seconds(server.pid) for name, server in servers.items()}
                cores_before, started = core_times(), time.monotonic()
                run = wrk(ports[side], paths[side], connections, seconds, cookies[side])
                cores_after, elapsed = core_times(), time.monotonic() - started
                used = {
                    name: (cpu_seconds(server.pid) - before[name]) / elapsed
                    for name, server in servers.items()
                }
                busy = {
                    core: (busy - cores_before[core][0]) / (total - cores_before[core][1])
                    for core, (busy, total) in cores_after.items()
                }
                run = replace(
                    run,
                    server_cpu=used[side],
                    idle_server_cpu=used[idle],
                    cpu0_busy=busy["cpu0"],
                    cpu1_busy=busy["cpu1"],
                )
                results.setdefault((side, connections), []).append(run)
                print(f"round {number + 1} -c{connections} {side}: {run}", flush=True)
    return results


# -- report ---------------------------------------------------------------------------------


def median_of(runs: list[Run], field: str) -> float:
    return statistics.median(float(getattr(run, field)) for run in runs)


def side_cells(runs: list[Run]) -> str:
    return (
        f"{median_of(runs, 'requests_per_second'):,.0f} | {median_of(runs, 'p50_ms'):,.1f} "
        f"| {median_of(runs, 'p99_ms'):,.0f} | {sum(r.errors for r in runs)} / "
        f"{sum(r.timeouts for r in runs)}"
    )


def report(
    results: dict[tuple[str, int], list[Run]],
    *,
    quick: bool,
    seconds: int,
    rounds: int,
    versions: dict[str, str],
    bodies: dict[str, int],
) -> str:
    rows, runs_lines, spreads, cpu_rows, cpu_ratios = [], [], [], [], []
    for connections in sorted({c for _, c in results}):
        preau, peer = results["preau", connections], results["kolibri", connections]
        ratio = median_of(preau, "requests_per_second") / median_of(peer, "requests_per_second")
        per_round = sorted(
            p.requests_per_second / k.requests_per_second for p, k in zip(preau, peer, strict=True)
        )
        rows.append(
            f"| {connections} | {side_cells(preau)} | {side_cells(peer)} | **{ratio:,.0f}×** "
            f"| {per_round[0]:,.0f}–{per_round[-1]:,.0f}× |"
        )
        sides = (("Préau", preau), ("Kolibri", peer))
        for side, runs in sides:
            cpu_rows.append(
                f"| {connections} | {side} | {median_of(runs, 'server_cpu'):.0%} "
                f"| {median_of(runs, 'idle_server_cpu'):.1%} | {median_of(runs, 'cpu0_busy'):.0%} "
                f"| {median_of(runs, 'cpu1_busy'):.0%} "
                f"| {median_of(runs, 'server_cpu_ms_per_request'):,.3f} |"
            )
            rates = [run.requests_per_second for run in runs]
            spreads.append(max(rates) / min(rates))
            runs_lines.append(
                f"- {side}, `-c{connections}`: " + ", ".join(f"{r:,.0f}" for r in rates)
            )
        cost = {name: median_of(runs, "server_cpu_ms_per_request") for name, runs in sides}
        cpu_ratios.append(f"{cost['Kolibri'] / cost['Préau']:,.0f}× (at `-c{connections}`)")
    table_rows, runs_list = "\n".join(rows), "\n".join(runs_lines)
    command = f".venv/bin/python bench/kolibri_compare.py{' --quick' if quick else ''}"
    return f"""
Préau `GET {PREAU_ENDPOINT}`: the warm to-do of a pupil with {serving.HOMEWORK_ITEMS}
homework items ({bodies["preau"]:,} bytes of JSON). Préau is built by `bootstrap.build_app`
**with the gate off** (the hot-paths section measures the same read with the gate), on
uvicorn {versions["uvicorn"]}, one worker, SQLite.

Kolibri {versions["kolibri"]} `GET {KOLIBRI_ENDPOINT}`: the classes a learner belongs to,
with their active lessons and quizzes; here one class with {LESSONS} lessons and {QUIZZES}
quizzes ({bodies["kolibri"]:,} bytes of JSON). It is Kolibri's closest read to a pupil's
list of work, and what its learner home page loads (inside `/learn/api/homehydrate/`).
Kolibri runs as `kolibri start --foreground` ships it: {versions["server"]}, Django
{versions["django"]}, SQLite, default thread pool, and its default log of a line per
request (to `var/kolibri/server.log`; Préau's server keeps no access log). Each side uses
its own logged-in session cookie.

Both servers pinned to CPU 0 and up for the whole run; `wrk -t1 -cN --timeout {WRK_TIMEOUT}
--latency` pinned to CPU 1; {rounds} rounds alternating the sides, {seconds} s per side
after a 1 s warm-up; medians of the rounds. Command: `{command}`
({time.strftime("%Y-%m-%d")}, Python {platform.python_version()}, {versions["wrk"]},
{os.cpu_count()} CPUs).

{TABLE_HEADER}
{table_rows}

Runs (req/s):
{runs_list}

Server CPU during the runs (medians; shares of one core; /proc):

{CPU_HEADER}
{chr(10).join(cpu_rows)}

Kolibri's server spent {" and ".join(cpu_ratios)} as much CPU time per request as
Préau's; this holds up better than req/s when other work shares CPU 0. A server well under
100 % of a core while CPU 0 is full lost CPU 0 to other work; a full CPU 1 means wrk may
have been the limit. Both cut Préau's req/s, not Kolibri's, so the req/s ratio is then a
lower bound. Kolibri's
lessons and quizzes are empty (no content channel is imported), so it skips the
content-node look-ups a real lesson adds: this flatters Kolibri. Préau's warm to-do runs no
SQL; Kolibri's endpoint queries SQLite on every request. This machine is a 2-core VM shared
with other benchmarks during the run (runs of one side differ by up to
{max(spreads):.1f}×): read the ratio as indicative, and re-run it on a quiet machine before
quoting it.
"""


FULL_QUICK = ("full", "quick")


def unwrap(text: str) -> str:
    """One line per paragraph, as in the other sections; tables and lists stay as they are."""
    lines: list[str] = []
    paragraph: list[str] = []
    for line in [*text.strip().splitlines(), ""]:
        if line and not line.startswith(("|", "- ")):
            paragraph.append(line)
            continue
        if paragraph:
            lines.append(" ".join(paragraph))
            paragraph = []
        lines.append(line)
    return "\n".join(lines).strip()


def write_doc(text: str, *, quick: bool) -> None:
    """Replace this run's part (full or quick) of the kolibri section, so a quick
    ``make bench`` keeps the last full measurement."""
    if "<!-- kolibri:full:start -->" not in PERFORMANCE.read_text(encoding="utf-8"):
        parts = [
            f"<!-- kolibri:{part}:start -->\n<!-- kolibri:{part}:end -->" for part in FULL_QUICK
        ]
        write_section("kolibri", "\n\n".join(parts))
    write_section("kolibri:quick" if quick else "kolibri:full", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short rounds")
    arguments = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    seconds, rounds = (3, 3) if arguments.quick else (10, 5)

    install_kolibri()
    learner = provision_kolibri()
    servers: dict[str, subprocess.Popen[bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="preau-bench-kolibri-") as temporary:
        folder = Path(temporary)
        url = f"sqlite+aiosqlite:///{folder / 'todo.sqlite3'}"
        preau_cookies = asyncio.run(serving.prepare_pupil(url, folder / "files"))
        cookies = {"preau": "; ".join(f"{name}={value}" for name, value in preau_cookies.items())}
        ports = {"preau": free_port(), "kolibri": free_port()}
        paths = {"preau": PREAU_ENDPOINT, "kolibri": KOLIBRI_ENDPOINT}
        try:
            servers["preau"] = serving.start_preau(url, folder / "files", ports["preau"])
            servers["kolibri"] = start_kolibri(ports["kolibri"])
            cookies["kolibri"] = log_in_to_kolibri(ports["kolibri"], learner)
            answers = {side: warm(ports[side], paths[side], cookies[side]) for side in ports}
            assignments = answers["kolibri"].json()[0]
            if len(assignments["lessons"]) + len(assignments["exams"]) != LESSONS + QUIZZES:
                raise RuntimeError(f"Kolibri lists other assignments: {assignments}")
            results = measure(servers, ports, paths, cookies, seconds=seconds, rounds=rounds)
        finally:
            for server in servers.values():
                stop(server)
    versions = {
        "kolibri": KOLIBRI_VERSION,
        "django": learner["django"],
        "server": answers["kolibri"].headers.get("server", "cheroot"),
        "uvicorn": uvicorn.__version__,
        "wrk": wrk_version(),
    }
    table = report(
        results,
        quick=arguments.quick,
        seconds=seconds,
        rounds=rounds,
        versions=versions,
        bodies={side: len(answer.content) for side, answer in answers.items()},
    )
    table = unwrap(table)
    print(table)
    write_doc(table, quick=arguments.quick)


if __name__ == "__main__":
    main()
