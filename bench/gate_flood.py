"""Hostile floods against the gate (issue 22): legitimate people arriving in a morning
rush, mixed with (a) a polite flood under every limit, (b) a fast flood, (c) bots that
solve the proof of work; and the same rush with no attack, in the same invocation.

    .venv/bin/python bench/gate_flood.py [--quick]

The gate runs under granian (as ``preau serve`` does), one worker pinned to CPU 0, in
front of an endpoint that burns a little CPU; everyone else runs here on CPU 1, over
loopback, each client from its own source address in 127.0.0.0/8 (Linux answers on the
whole block), so per-address and per-network (/24) limits see them as on the Internet.

The proof of work is solved for real, at a cost ``POW_SCALE`` times below the gate's
default so the bench's one core can play hundreds of devices; each solver then waits out
the rest of the time the default cost would have taken on this CPU (a person's device or
an attacker's core works on nothing else meanwhile). Attackers' costs are given at the
default cost. Results go to ``docs/performance.md`` (``gate-flood`` markers) and
``docs/img/gate-flood.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altcha
import msgspec
from granian import Granian
from granian.constants import Interfaces

from preau.adapters.clock import SystemClock
from preau.adapters.memory.shared_state import MemorySharedState
from preau.adapters.shared import shared_in_memory
from preau.asgi import Receive, Scope, Send
from preau.gate import build_gate
from preau.gate.settings import GateSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_common import ROOT, free_port, pinned, wait_for_port, write_section
from gate_overload import Browser, BrowserError, Reply

SECRET = "gate-flood-benchmark-secret-0123456789abcdef"  # noqa: S105 - own key
WORK_S = 0.002  # CPU per admitted request
JSON = "application/json"
REQUESTS_PER_PERSON = 3  # what a person does once admitted, half a second apart
DEFAULT_POW_COST = GateSettings().pow_cost
POW_SCALE = 250  # the bench's challenges cost this many times less (time made up by waiting)
SCENARIOS = ("no attack", "polite flood", "fast flood", "proof-of-work bots")
LOADS: list[float] = []  # the 1-minute load average before each scenario and at the end


@dataclass(frozen=True)
class Scale:
    duration_s: float  # everyone arrives during this long
    drain_s: float  # then people still in line have this long to be served
    admission_rate: float = 20.0  # people let in per second (a school's instance)
    legit_per_s: float = 24.0  # a morning rush: a fifth more than the gate lets in
    polite_per_s: float = 95.0  # the issue: 95 arrivals/s in total…
    polite_networks: int = 16  # …from addresses in different /24s, each under every limit
    fast_per_s: float = 600.0  # over the arrivals threshold (500/s), 3× each address limit
    fast_addresses: int = 4
    bot_cores: int = 16  # the attacker's cores, each solving one challenge at a time
    hold_every_s: float = 10.0  # a bot's pass is used this often, to keep it


QUICK = Scale(duration_s=25.0, drain_s=25.0)
FULL = Scale(duration_s=95.0, drain_s=60.0)  # 9,000 polite arrivals at 95/s, as in the issue


def gate_settings(scenario: str, scale: Scale) -> GateSettings:
    """The gate's defaults, with this instance's rate; the bench's cheaper challenges; and
    the operator's "on" for the proof-of-work bots (the attack was seen coming)."""
    return GateSettings(
        admission_rate_per_s=scale.admission_rate,
        adaptive=False,  # the machine is shared: other loads must not move the rate
        under_attack="on" if scenario == "proof-of-work bots" else "auto",
        pow_cost=max(1, DEFAULT_POW_COST // POW_SCALE),
    )


# --- The server ---------------------------------------------------------------------------


async def work(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["path"] == "/metrics":
        # Imported here: only the server process serves metrics.
        from prometheus_client import generate_latest  # noqa: PLC0415 - server process only

        body = generate_latest()
    else:
        deadline = time.process_time() + WORK_S
        while time.process_time() < deadline:
            pass
        body = b'{"ok":true}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def app_factory() -> Any:
    """For granian, which imports the application in its worker process."""
    settings = msgspec.json.decode(os.environ["FLOOD_SETTINGS"], type=GateSettings)
    shared = shared_in_memory(MemorySharedState())
    return build_gate(
        work, settings=settings, secret_key=SECRET, shared=shared, clock=SystemClock()
    )


def serve(port: int) -> None:
    Granian(
        "gate_flood:app_factory",
        factory=True,
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        log_enabled=False,
    ).serve()


# --- The people and the attackers ---------------------------------------------------------


@dataclass
class Person:
    arrived: float
    admitted_at: float | None = None
    done_at: float | None = None
    latencies: list[float] = field(default_factory=list)
    solves: int = 0
    # Where the wait went (phases): holding a ticket from ``joined_at``; proving work
    # (fetch, solve, join) for ``pow_s`` in all; ``polls`` status checks; the last
    # poll's answer before admission (people ahead, and the wait announced).
    joined_at: float | None = None
    pow_s: float = 0.0
    polls: int = 0
    last_ahead: int | None = None
    last_wait: float | None = None


@dataclass
class Attacker:
    requests: int = 0
    passes: int = 0  # passes the attack obtained
    solves: int = 0
    iterations: int = 0  # PBKDF2 iterations, at the gate's default cost


@dataclass
class Run:
    started: float
    until: float  # arrivals stop
    deadline: float  # people still waiting give up
    iteration_s: float  # one PBKDF2-SHA256 iteration on this CPU
    draw: random.Random
    people: list[Person] = field(default_factory=list)
    attacker: Attacker = field(default_factory=Attacker)
    timeline: list[tuple[float, float, float, float]] = field(default_factory=list)
    waiting: list[tuple[float, float]] = field(default_factory=list)  # people in line
    # The gate's counts per lane: admissions ("admitted:first_time") and tickets taken.
    admitted: dict[str, float] = field(default_factory=dict)


def iteration_seconds() -> float:
    """What one PBKDF2-SHA256 iteration costs on this CPU (CPU time)."""
    started = time.process_time()
    hashlib.pbkdf2_hmac("sha256", b"password", b"salt" * 4, 200_000)
    return (time.process_time() - started) / 200_000


def problem_type(reply: Reply) -> str:
    if not reply.header("content-type").startswith(("application/problem+json", JSON)):
        return ""
    with contextlib.suppress(ValueError):
        kind = reply.json().get("type", "")
        return str(kind).rsplit(":", 1)[-1]
    return ""


async def solve(challenge: dict[str, Any], run: Run) -> tuple[str, int]:
    """Solve ``challenge``; return the payload and the iterations it would have taken at
    the gate's default cost, after waiting out the time those take on this CPU."""
    started = time.monotonic()
    solution = await asyncio.to_thread(
        altcha.solve_challenge, altcha.Challenge.from_dict(challenge)
    )
    if solution is None:
        raise BrowserError("unsolved")
    iterations = (solution.counter + 1) * int(challenge["parameters"]["cost"]) * POW_SCALE
    await asyncio.sleep(max(0.0, iterations * run.iteration_s - (time.monotonic() - started)))
    payload = {"challenge": challenge, "solution": solution.to_dict()}
    return base64.b64encode(json.dumps(payload).encode()).decode(), iterations


async def join_with_proof(browser: Browser, run: Run) -> tuple[Reply | None, int, int]:
    """Fetch a challenge, solve it, join; again if the cost rose meanwhile (403)."""
    solves = iterations = 0
    for _ in range(3):
        fetched = await browser.get("/gate/challenge", accept=JSON)
        if fetched.status != 200:
            await asyncio.sleep(float(fetched.header("retry-after", "1")))
            continue
        payload, spent = await solve(fetched.json(), run)
        solves, iterations = solves + 1, iterations + spent
        joined = await browser.post("/gate/join", {"altcha": payload, "next": "/work"}, accept=JSON)
        if joined.status != 403:
            return joined, solves, iterations
    return None, solves, iterations


async def wait_in_line(
    browser: Browser, first: Reply, run: Run, person: Person | None = None
) -> bool:
    """Poll the status at the pace the server asks, with full jitter (as ``gate.js``)."""
    if first.status == 200 and first.json().get("admitted"):
        return True
    if person is not None and person.joined_at is None:
        person.joined_at = time.monotonic()
    delay = float(first.header("retry-after", "1"))
    while time.monotonic() < run.deadline:
        await asyncio.sleep(delay / 2 + run.draw.random() * delay / 2)
        try:
            status = await browser.get("/gate/status?next=/work", accept=JSON)
        except BrowserError:
            continue
        if person is not None:
            person.polls += 1
        if status.status == 200:
            answer = status.json()
            if answer.get("admitted"):
                return True
            if person is not None:
                person.last_ahead = answer.get("ahead")
                person.last_wait = answer.get("estimated_wait_s")
        delay = float(status.header("retry-after", "1"))
    return False


async def get_in(browser: Browser, run: Run, solved: list[int], person: Person) -> bool:
    """Be admitted, as a browser with its script would: queue, or prove work and queue."""
    while time.monotonic() < run.deadline:
        try:
            reply = await browser.get("/work", accept=JSON)
            if reply.status == 200:
                return True
            kind = problem_type(reply)
            if reply.status == 429 and kind == "queued":
                if await wait_in_line(browser, reply, run, person):
                    return True
                continue
            if reply.status == 503 and kind == "proof-of-work-required":
                proving = time.monotonic()
                joined, solves, iterations = await join_with_proof(browser, run)
                person.pow_s += time.monotonic() - proving
                solved[0] += solves
                solved[1] += iterations
                admitted = joined is not None and joined.status == 200
                if (
                    admitted
                    and joined is not None
                    and await wait_in_line(browser, joined, run, person)
                ):
                    return True
                continue
            await asyncio.sleep(float(reply.header("retry-after", "1")))
        except BrowserError:
            await asyncio.sleep(1.0)
    return False


async def legitimate(port: int, source: str, run: Run, due: float) -> None:
    person = Person(arrived=due)
    run.people.append(person)
    browser = Browser(port, source=source)
    solved = [0, 0]
    try:
        if not await get_in(browser, run, solved, person):
            return
        person.admitted_at = time.monotonic()
        person.solves = solved[0]
        while len(person.latencies) < REQUESTS_PER_PERSON and time.monotonic() < run.deadline:
            started = time.monotonic()
            try:
                reply = await browser.get("/work", accept=JSON)
            except BrowserError:
                continue
            if reply.status == 200:
                person.latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.5)
            else:
                await asyncio.sleep(float(reply.header("retry-after", "1")))
        if len(person.latencies) == REQUESTS_PER_PERSON:
            person.done_at = time.monotonic()
    finally:
        await browser.close()


async def rush(port: int, scale: Scale, run: Run) -> None:
    """Legitimate arrivals (Poisson), each from its own address, spread over 200 /24s.

    The arrival times are drawn first, from the same seed in every scenario, and kept even
    when this process runs late (a flood shares its core): each scenario meets the same
    crowd, and a late arrival is counted from the time it was due.
    """
    draw = random.Random(22)
    schedule = []
    offset = draw.expovariate(scale.legit_per_s)
    while offset < scale.duration_s:
        schedule.append(offset)
        offset += draw.expovariate(scale.legit_per_s)
    tasks = []
    for index, due in enumerate(schedule):
        await asyncio.sleep(max(0.0, run.started + due - time.monotonic()))
        source = f"127.100.{index % 200}.{1 + index // 200 % 250}"
        tasks.append(asyncio.create_task(legitimate(port, source, run, run.started + due)))
    await asyncio.gather(*tasks)


async def steady(source: str, port: int, per_s: float, run: Run, kind: str) -> None:
    """One flooding address: requests with no cookies at ``per_s``, none followed up."""
    browser = Browser(port, source=source)
    accept = JSON if kind == "fast" else "text/html"
    next_at = time.monotonic() + run.draw.random() / per_s
    try:
        while next_at < run.until:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += 1 / per_s
            browser.cookies.clear()
            run.attacker.requests += 1
            try:
                await browser.get("/", accept=accept)
            except BrowserError:
                continue
            if "preau_pass" in browser.cookies:
                run.attacker.passes += 1
    finally:
        await browser.close()


async def polite_flood(port: int, scale: Scale, run: Run) -> None:
    """Under every limit: each network (/24) well under its share, each address under its
    own limit, and far fewer arrivals a second than the fast-flood threshold."""
    per_network = scale.polite_per_s / scale.polite_networks
    await asyncio.gather(
        *(
            steady(f"127.10.{network}.1", port, per_network, run, "polite")
            for network in range(scale.polite_networks)
        )
    )


async def fast_flood(port: int, scale: Scale, run: Run) -> None:
    """A few addresses, each far over its limit, several connections each."""
    connections = 4
    per_connection = scale.fast_per_s / scale.fast_addresses / connections
    await asyncio.gather(
        *(
            steady(f"127.20.{address % 2}.{address + 1}", port, per_connection, run, "fast")
            for address in range(scale.fast_addresses)
            for _ in range(connections)
        )
    )


async def hold(browser: Browser, ticket: Reply, scale: Scale, run: Run) -> None:
    """A bot in line: wait for its turn like a person, then keep its pass in use."""
    try:
        if not await wait_in_line(browser, ticket, run):
            return
        run.attacker.passes += 1
        while time.monotonic() < run.deadline:
            with contextlib.suppress(BrowserError):
                run.attacker.requests += 1
                await browser.get("/work", accept=JSON)
            await asyncio.sleep(scale.hold_every_s)
    finally:
        await browser.close()


async def proof_of_work_bots(port: int, scale: Scale, run: Run) -> None:
    """Each of the attacker's cores solves challenges one after another; every ticket won
    is kept: the bot waits its turn and then uses the pass now and then."""
    holders: list[asyncio.Task[None]] = []

    async def core(number: int) -> None:
        identity = 0
        while time.monotonic() < run.until:
            identity += 1
            source = f"127.30.{number % 8}.{1 + (number // 8 + identity * 3) % 250}"
            browser = Browser(port, source=source)
            try:
                run.attacker.requests += 1
                first = await browser.get("/work", accept=JSON)
                if first.status == 200:
                    run.attacker.passes += 1
                    await browser.close()
                    continue
                if problem_type(first) != "proof-of-work-required":
                    await browser.close()
                    await asyncio.sleep(float(first.header("retry-after", "1")))
                    continue
                joined, solves, iterations = await join_with_proof(browser, run)
                run.attacker.requests += 2 * solves
                run.attacker.solves += solves
                run.attacker.iterations += iterations
            except BrowserError:
                await browser.close()
                continue
            if joined is not None and joined.status == 200:
                holders.append(asyncio.create_task(hold(browser, joined, scale, run)))
            else:
                await browser.close()

    await asyncio.gather(*(core(number) for number in range(scale.bot_cores)))
    await asyncio.gather(*holders)


async def watch(port: int, run: Run) -> None:
    """Sample the gate's own gauges once a second: active passes, under attack, cost."""
    browser = Browser(port)
    wanted = ("preau_gate_active_passes", "preau_gate_under_attack", "preau_gate_pow_cost")
    try:
        while time.monotonic() < run.deadline:
            with contextlib.suppress(BrowserError, ValueError):
                reply = await browser.get("/metrics")
                values = dict.fromkeys(wanted, 0.0)
                waiting = 0.0
                for line in reply.body.decode().splitlines():
                    name, _, value = line.partition(" ")
                    if name in values:
                        values[name] = float(value)
                    elif name.startswith("preau_gate_waiting{"):
                        waiting += float(value)
                    elif name.startswith(
                        ("preau_gate_admitted_total{", "preau_gate_joined_total{")
                    ):
                        kind = "admitted" if name.startswith("preau_gate_admitted") else "joined"
                        run.admitted[kind + ":" + name.split('"')[1]] = float(value)
                run.waiting.append((time.monotonic() - run.started, waiting))
                active, attack, cost = (values[name] for name in wanted)
                run.timeline.append((time.monotonic() - run.started, active, attack, cost))
            await asyncio.sleep(1.0)
    finally:
        await browser.close()


HEADER = (
    "| scenario | legitimate people | served | wait p50 s | wait p95 s | admitted p99 ms "
    "| goodput req/s | under attack (cost) | attacker's cost per admitted pass |"
)
HOSTILE = {"polite flood": polite_flood, "fast flood": fast_flood}


async def run_scenario(scenario: str, scale: Scale, *, iteration_s: float) -> dict[str, Any]:
    port = free_port()
    command = pinned(0, [sys.executable, __file__, "--serve", "--port", str(port)])
    settings = msgspec.json.encode(gate_settings(scenario, scale)).decode()
    environment = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'bench'}",
        "FLOOD_SETTINGS": settings,
    }
    server = await asyncio.create_subprocess_exec(*command, env=environment)
    try:
        await asyncio.to_thread(wait_for_port, port, server)
        now = time.monotonic()
        run = Run(
            started=now,
            until=now + scale.duration_s,
            deadline=now + scale.duration_s + scale.drain_s,
            iteration_s=iteration_s,
            draw=random.Random(22),
        )
        jobs = [rush(port, scale, run), watch(port, run)]
        if scenario in HOSTILE:
            jobs.append(HOSTILE[scenario](port, scale, run))
        elif scenario == "proof-of-work bots":
            jobs.append(proof_of_work_bots(port, scale, run))
        await asyncio.gather(*jobs)
    finally:
        server.terminate()
        await server.wait()
    return summarise(scenario, run)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))] if ordered else float("nan")


def phases(people: list[Person]) -> dict[str, float]:
    """Where the legitimate waits went: before holding a ticket (proof of work included),
    in line, proving work, and how many polls; medians and 95th percentiles."""
    admitted = [p for p in people if p.admitted_at is not None]
    in_line = [(p.admitted_at or 0.0) - (p.joined_at or p.arrived) for p in admitted]
    before_line = [(p.joined_at or p.admitted_at or 0.0) - p.arrived for p in admitted]
    proving = [p.pow_s for p in admitted]
    polls = [float(p.polls) for p in admitted]
    return {
        "before_line_p50": percentile(before_line, 0.5),
        "before_line_p95": percentile(before_line, 0.95),
        "in_line_p50": percentile(in_line, 0.5),
        "in_line_p95": percentile(in_line, 0.95),
        "pow_p50": percentile(proving, 0.5),
        "pow_p95": percentile(proving, 0.95),
        "polls_p50": percentile(polls, 0.5),
        "polls_p95": percentile(polls, 0.95),
    }


def summarise(scenario: str, run: Run) -> dict[str, Any]:
    people = run.people
    served = [p for p in people if p.done_at is not None]
    waits = [p.admitted_at - p.arrived for p in people if p.admitted_at is not None]
    latencies = [x for p in people for x in p.latencies]
    elapsed = max([p.done_at or 0.0 for p in served] + [run.until]) - run.started
    attacker = run.attacker
    passes = attacker.passes
    return {
        "scenario": scenario,
        "people": len(people),
        "success": len(served) / len(people) if people else float("nan"),
        "wait_p50": percentile(waits, 0.5),
        "wait_p95": percentile(waits, 0.95),
        "waits": sorted(waits),
        "admitted_p99": percentile(latencies, 0.99),
        "goodput": len(latencies) / elapsed,
        "legit_solves": sum(p.solves for p in people),
        "phases": phases(people),
        "attack_requests": attacker.requests,
        "attack_passes": passes,
        "attack_solves": attacker.solves,
        "iterations_per_pass": attacker.iterations / passes if passes else None,
        "cpu_s_per_pass": attacker.iterations * run.iteration_s / passes if passes else None,
        "requests_per_pass": attacker.requests / passes if passes else None,
        # Per lane: admissions that spent the rate (passes claimed on credit included),
        # and tickets taken; beyond the people's count, the flood's.
        "gate_admitted": run.admitted,
        "timeline": run.timeline,
        "in_line": run.waiting,
    }


# --- Report ------------------------------------------------------------------------------


def plot(results: list[dict[str, Any]], path: Path) -> None:
    # Imported here: only the figure needs matplotlib, and it must be told "Agg" first.
    import matplotlib  # noqa: PLC0415 - imported only in the process that needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - imported only in the process that needs it

    figure, (waits, room) = plt.subplots(1, 2, figsize=(11, 4.2))
    for result in results:
        values = result["waits"]
        if values:
            shares = [(index + 1) / len(values) for index in range(len(values))]
            waits.plot(values, shares, label=result["scenario"])
        timeline = result["timeline"]
        if timeline:
            room.plot([t[0] for t in timeline], [t[1] for t in timeline], label=result["scenario"])
    waits.set_xlabel("legitimate wait before admission (s)")
    waits.set_ylabel("share of legitimate people")
    waits.set_title("Legitimate waits (cumulative)")
    waits.legend()
    room.set_xlabel("seconds since the first arrival")
    room.set_ylabel("active passes (slots held)")
    room.set_title("The room: slots held over time")
    room.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def cost_text(result: dict[str, Any]) -> str:
    if result["scenario"] == "no attack":
        return "—"
    if not result["attack_passes"]:
        return f"no pass in {result['attack_requests']:,} requests"
    text = f"{result['requests_per_pass']:.0f} requests"
    if result["iterations_per_pass"]:
        text += (
            f", {result['iterations_per_pass'] / 1e6:.1f} M iterations "
            f"({result['cpu_s_per_pass']:.1f} CPU-s)"
        )
    passes = result["attack_passes"]
    return text + f" per pass ({passes} pass{'es' if passes > 1 else ''})"


def phase_rows(results: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in results:
        ph = r["phases"]
        seen = next((t[0] for t in r["timeline"] if t[2]), None)
        rows.append(
            f"| {r['scenario']} | {ph['before_line_p50']:.1f} / {ph['before_line_p95']:.1f} "
            f"| {ph['pow_p50']:.1f} / {ph['pow_p95']:.1f} "
            f"| {ph['in_line_p50']:.1f} / {ph['in_line_p95']:.1f} "
            f"| {ph['polls_p50']:.0f} / {ph['polls_p95']:.0f} "
            f"| {'—' if seen is None else f'{seen:.0f} s'} |"
        )
    return rows


def report(results: list[dict[str, Any]], scale: Scale, quick: bool, iteration_s: float) -> str:
    baseline = results[0]
    rows = []
    checks = []
    for r in results:
        attack_seen = max((t[2] for t in r["timeline"]), default=0.0)
        cost_max = max((t[3] for t in r["timeline"]), default=0.0)
        factor = cost_max / max(1, DEFAULT_POW_COST // POW_SCALE)
        rows.append(
            f"| {r['scenario']} | {r['people']} | {r['success']:.1%} | {r['wait_p50']:.1f} "
            f"| {r['wait_p95']:.1f} | {r['admitted_p99'] * 1000:.0f} | {r['goodput']:.1f} "
            f"| {'yes' if attack_seen else 'no'} (×{factor:.0f}) "
            f"| {cost_text(r)} |"
        )
        if r is not baseline:
            ratio = r["wait_p95"] / baseline["wait_p95"] if baseline["wait_p95"] else float("inf")
            checks.append(
                f"{r['scenario']}: success {'met' if r['success'] >= 0.99 else 'missed'}, "
                f"p95 wait {ratio:.2f}× ({'met' if ratio <= 1.5 else 'missed'})"
            )
    command = "bench/gate_flood.py" + (" --quick" if quick else "")
    return f"""
## Hostile floods

A morning rush of legitimate people ({scale.legit_per_s:.0f} arrivals/s for
{scale.duration_s:.0f} s, a fifth more than the {scale.admission_rate:.0f} admissions/s of
the instance, so people queue even with no attack), each from its own loopback address,
each making {REQUESTS_PER_PERSON} requests once admitted; the gate's defaults otherwise
(capacity 5,000, address limit 3,000/min, network share, under attack `auto`). Mixed with:
(a) a polite flood, {scale.polite_per_s:.0f} arrivals/s from {scale.polite_networks}
addresses in as many /24s, each under every limit, never coming back; (b) a fast flood,
{scale.fast_per_s:.0f} requests/s from {scale.fast_addresses} addresses; (c)
{scale.bot_cores} attacker cores solving the proof of work (operator's mode `on`), keeping
every pass they win in use. People still waiting {scale.drain_s:.0f} s after the last
arrival count as failures. Proofs of work are solved at 1/{POW_SCALE} of the default cost
and the rest of the time waited out (one PBKDF2 iteration: {iteration_s * 1e9:.0f} ns
here); attackers' costs are at the default cost ({DEFAULT_POW_COST:,} iterations per
attempt, 256 attempts on average). Command: `.venv/bin/python {command}`
({time.strftime("%Y-%m-%d")}; gate on CPU 0, clients on CPU 1, a machine shared with
other work: load average {" → ".join(f"{x:.1f}" for x in LOADS)} over the run).

{HEADER}
|---|---:|---:|---:|---:|---:|---:|---|---|
{chr(10).join(rows)}

Targets (success ≥ 99 %, p95 wait ≤ 1.5× the run with no attack): {"; ".join(checks)}.

Where the legitimate waits went (p50 / p95, seconds): before holding a ticket (the proof
of work, for those who had to prove), in line, and the polls it took; when the gate saw the
attack (under-attack gauge, sampled each second).

| scenario | before the line | of which proof of work | in line | polls | under attack from |
|---|---:|---:|---:|---:|---:|
{chr(10).join(phase_rows(results))}

![Legitimate waits, and slots held over time](img/gate-flood.png)
"""


async def experiment(quick: bool, only: list[str] | None = None) -> None:
    scale = QUICK if quick else FULL
    iteration_s = iteration_seconds()
    results = []
    for scenario in only or SCENARIOS:
        LOADS.append(os.getloadavg()[0])
        result = await run_scenario(scenario, scale, iteration_s=iteration_s)
        print(
            {k: v for k, v in result.items() if k not in ("waits", "timeline", "in_line")},
            flush=True,
        )
        results.append(result)
    LOADS.append(os.getloadavg()[0])
    if only:
        for result in results:
            print(result["scenario"], "people in line:", result["in_line"], flush=True)
        return  # a partial run is for looking, not for the record
    table = report(results, scale, quick, iteration_s)
    print(table)
    plot(results, ROOT / "docs" / "img" / "gate-flood.png")
    write_section("gate-flood", table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (about 4 minutes)")
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, help="run these scenarios, print only"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.port)
        return
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the clients run on CPU 1, the server on CPU 0
    asyncio.run(experiment(arguments.quick, arguments.only))


if __name__ == "__main__":
    main()
