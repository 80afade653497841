"""Overload experiment: the same application under a ramp to 10× its capacity, behind
(a) no gate, (b) a "2021 quota" that answers "come back later" when full, with clients
retrying after a fixed delay, and (c) Préau's gate.

    .venv/bin/python bench/gate_overload.py [--quick]

The application costs a fixed CPU time per request, so its capacity is known (and measured
first). It runs under granian (as ``preau serve`` does) pinned to CPU 0; the simulated
people (a few lines of asyncio, loopback only, bounded in number and time) run here on
CPU 1. Each person needs ``K``
requests answered. Results go to ``docs/performance.md`` (``gate-overload`` markers) and
``docs/img/gate-overload.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import statistics
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

SECRET = "gate-overload-benchmark-secret-0123456789abcdef"  # noqa: S105 - own key
WORK_S = 0.02  # CPU per request: capacity about 50 requests/s on one core
REQUESTS_PER_PERSON = 3
CLIENT_TIMEOUT_S = 5.0  # a browser tab that gives up and reloads
QUOTA_RETRY_S = 3.0  # "come back in a few minutes", scaled down, no jitter


# --- The application and the two gates in front of it (server side) --------------------


async def work(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    deadline = time.process_time() + WORK_S
    while time.process_time() < deadline:
        pass
    body = b'{"ok":true}'
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


class QuotaGate:
    """The 2021 behaviour: a quota of sessions; when full, "come back later"."""

    def __init__(self, app: Any, *, sessions: int, session_s: float) -> None:
        self.app = app
        self.sessions = sessions
        self.session_s = session_s
        self.active: dict[str, float] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        cookie = dict(scope["headers"]).get(b"cookie", b"").decode()
        session = cookie.partition("quota=")[2].split(";")[0]
        if session and self.active.get(session, 0) > now:
            await self.app(scope, receive, send)
            return
        self.active = {key: until for key, until in self.active.items() if until > now}
        if len(self.active) >= self.sessions:
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-length", b"15")],
                }
            )
            await send({"type": "http.response.body", "body": b"come back later"})
            return
        session = os.urandom(8).hex()
        self.active[session] = now + self.session_s

        async def with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"set-cookie", f"quota={session}; Path=/".encode()),
                ]
            await send(message)

        await self.app(scope, receive, with_cookie)


def preau_settings(capacity: float) -> Any:
    """Préau's gate as a school would set it for this application's capacity."""
    people_per_s = capacity / REQUESTS_PER_PERSON
    return GateSettings(
        capacity=100_000,
        # What the application was measured to take, in people per second (Cloudflare
        # advises new users per minute at 100 % of peak); the AIMD on latency, errors and
        # event-loop lag takes it down if the machine cannot keep up.
        admission_rate_per_s=people_per_s,
        admission_burst_s=0.5,
        adaptive=True,
        # One calm period (2 s) undoes one cut (×0.9).
        adaptive_increase_per_s=people_per_s / 9,
        latency_target_s=0.25,
        idle_timeout_s=5.0,
        ticket_idle_s=60.0,
        poll_minimum_s=1.0,
        poll_maximum_s=10.0,
        refresh_interval_s=0.25,
        under_attack="off",
        rate_limit_address="1000000/minute",
    )


def build(variant: str, capacity: float) -> Any:
    app: Any = work
    people_per_s = capacity / REQUESTS_PER_PERSON
    if variant == "quota":
        # Sessions sized like a capacity plan: people per second × session length.
        app = QuotaGate(work, sessions=max(1, int(people_per_s * 2.0)), session_s=2.0)
    elif variant == "preau":
        settings = preau_settings(capacity)
        app = build_gate(
            work,
            settings=settings,
            secret_key=SECRET,
            shared=shared_in_memory(MemorySharedState()),
            clock=SystemClock(),
        )
    return app


def app_factory() -> Any:
    """For granian, which imports the application in its worker process."""
    app = build(os.environ["OVERLOAD_VARIANT"], float(os.environ["OVERLOAD_CAPACITY"]))
    if os.environ.get("GATE_TRACE") and os.environ["OVERLOAD_VARIANT"] == "preau":
        trace(app, Path(os.environ["GATE_TRACE"]))
    return app


def trace(app: Any, path: Path) -> None:
    """Diagnostics (``GATE_TRACE=file``): each admission-rate decision of the gate, with
    the health it was judged on, the in-flight limit and requests in flight, one JSON line
    each."""
    from preau.domain.admission import (  # noqa: PLC0415 - only when tracing
        Health,
        adjust_rate,
        judge_health,
    )
    from preau.gate import runtime  # noqa: PLC0415 - only when tracing

    out = path.open("a", encoding="utf-8")
    judged: dict[str, Any] = {}

    def judge(health: Health, **options: Any) -> bool | None:
        verdict = judge_health(health, **options)
        judged.update(
            requests=health.requests,
            slow=health.slow_requests,
            lag_ms=round(health.loop_lag_s * 1000, 1),
            cpu_share=round(health.cpu_share, 2),
        )
        return verdict

    def adjust(rate: float, healthy: bool | None, **options: Any) -> float:
        new = adjust_rate(rate, healthy, **options)
        line = {
            "t": time.monotonic(),
            "rate": round(new, 2),
            "healthy": healthy,
            **judged,
            "limit": round(app.shedder.limit, 1),
            "in_flight": app.shedder.in_flight,
        }
        out.write(json.dumps(line) + "\n")
        out.flush()
        return new

    # The runtime calls both by their names in its own module.
    vars(runtime)["judge_health"] = judge
    vars(runtime)["adjust_rate"] = adjust


def serve(variant: str, port: int, capacity: float) -> None:
    # The server Préau ships (``preau serve``): granian, one worker.
    os.environ["OVERLOAD_VARIANT"] = variant
    os.environ["OVERLOAD_CAPACITY"] = str(capacity)
    Granian(
        "gate_overload:app_factory",
        factory=True,
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        log_enabled=False,
    ).serve()


# --- The simulated people (client side) --------------------------------------------------


WHY: collections.Counter[object] = collections.Counter()  # what the wasted requests were


@dataclass
class Person:
    arrived: float
    served_at: float | None = None
    latencies: list[float] = field(default_factory=list)
    wasted: int = 0  # refused or timed-out requests, and retries
    polls: int = 0
    predicted_wait: float | None = None
    admitted_at: float | None = None


class BrowserError(Exception):
    """The connection failed or the answer did not come in time: the tab reloads."""


class Reply:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, list[str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, [default])[0]

    def json(self) -> Any:
        return json.loads(self.body)


class Browser:
    """One person's browser: one keep-alive HTTP/1.1 connection and its own cookies.

    A few lines of asyncio rather than a general client, so the simulated crowd costs
    little CPU and nothing queues inside a shared connection pool.
    """

    def __init__(self, port: int, *, source: str | None = None) -> None:
        self.port = port
        # The address the connection comes from: any of 127.0.0.0/8 on Linux's loopback,
        # so one machine plays many clients, each with its own address and network.
        self.source = source
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, *, accept: str = "text/html") -> Reply:
        return await self.request("GET", path, accept=accept)

    async def post(self, path: str, form: dict[str, str], *, accept: str = "text/html") -> Reply:
        body = urllib.parse.urlencode(form).encode()
        return await self.request("POST", path, accept=accept, body=body)

    async def request(self, method: str, path: str, *, accept: str, body: bytes = b"") -> Reply:
        try:
            async with asyncio.timeout(CLIENT_TIMEOUT_S):
                return await self._request(method, path, accept, body)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
            await self.close()
            raise BrowserError(type(error).__name__) from error

    async def _request(self, method: str, path: str, accept: str, body: bytes) -> Reply:
        if self.reader is None or self.writer is None:
            local = None if self.source is None else (self.source, 0)
            self.reader, self.writer = await asyncio.open_connection(
                "127.0.0.1", self.port, local_addr=local
            )
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\n"
        if cookie:
            request += f"Cookie: {cookie}\r\n"
        if body:
            request += (
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n"
            )
        self.writer.write((request + "\r\n").encode("latin-1") + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.setdefault(name.strip().lower(), []).append(value.strip())
        body = await self.reader.readexactly(int(headers.get("content-length", ["0"])[0]))
        for set_cookie in headers.get("set-cookie", []):
            name, _, rest = set_cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in set_cookie:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        if headers.get("connection", [""])[0].lower() == "close":
            await self.close()
        return Reply(status, headers, body)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def person_without_gate(browser: Browser, person: Person) -> None:
    done = 0
    while done < REQUESTS_PER_PERSON:
        started = time.monotonic()
        try:
            reply = await browser.get("/work")
        except BrowserError:
            person.wasted += 1
            await asyncio.sleep(1.0)
            continue
        if reply.status == 200:
            person.latencies.append(time.monotonic() - started)
            done += 1
        else:
            person.wasted += 1
            await asyncio.sleep(1.0)
    person.served_at = time.monotonic()


async def person_with_quota(browser: Browser, person: Person) -> None:
    done = 0
    while done < REQUESTS_PER_PERSON:
        started = time.monotonic()
        try:
            reply = await browser.get("/work")
        except BrowserError:
            person.wasted += 1
            await asyncio.sleep(1.0)
            continue
        if reply.status == 200:
            person.latencies.append(time.monotonic() - started)
            done += 1
        else:
            person.wasted += 1
            await asyncio.sleep(QUOTA_RETRY_S)
    person.served_at = time.monotonic()


async def person_with_preau(browser: Browser, person: Person, draw: random.Random) -> None:
    accept = "application/json"
    done = 0
    while done < REQUESTS_PER_PERSON:
        started = time.monotonic()
        try:
            reply = await browser.get("/work", accept=accept)
        except BrowserError as error:
            person.wasted += 1
            WHY[str(error)] += 1
            continue
        if reply.status == 200:
            if person.admitted_at is None:
                person.admitted_at = time.monotonic()
            person.latencies.append(time.monotonic() - started)
            done += 1
            continue
        if reply.status != 429 or b"estimated_wait_s" not in reply.body:
            WHY[reply.status] += 1
            person.wasted += 1
            await asyncio.sleep(float(reply.header("retry-after", "1")))
            continue
        if person.predicted_wait is None:
            person.predicted_wait = reply.json().get("estimated_wait_s")
        delay = float(reply.header("retry-after", "1"))
        while True:
            # Full jitter on the server's pace, as gate.js does.
            await asyncio.sleep(delay / 2 + draw.random() * delay / 2)
            person.polls += 1
            try:
                status = await browser.get("/gate/status?next=/work", accept=accept)
            except BrowserError:
                person.wasted += 1
                continue
            if status.json().get("admitted"):
                person.admitted_at = time.monotonic()
                break
            delay = float(status.header("retry-after", "1"))
    person.served_at = time.monotonic()


async def run_variant(
    variant: str, capacity: float, people: int, ramp_s: float, *, limit_s: float
) -> dict[str, Any]:
    """One variant's run; people not served within ``limit_s`` are given up on (without a
    gate the server can collapse into serving requests whose clients already left)."""
    port = free_port()
    command = pinned(
        0,
        [
            sys.executable,
            __file__,
            "--serve",
            variant,
            "--port",
            str(port),
            "--capacity",
            str(capacity),
        ],
    )
    server = await asyncio.create_subprocess_exec(
        *command, env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'bench'}"}
    )
    try:
        await asyncio.to_thread(wait_for_port, port, server)
        draw = random.Random(7)
        crowd: list[Person] = []
        tasks = []
        browsers = [Browser(port) for _ in range(people)]
        start = time.monotonic()
        peak = 10 * capacity / REQUESTS_PER_PERSON  # people per second at 10× capacity
        try:
            for browser in browsers:
                # Arrivals ramp linearly to the peak, then hold it.
                elapsed = time.monotonic() - start
                rate = max(peak * 0.05, peak * min(1.0, elapsed / ramp_s))
                await asyncio.sleep(draw.expovariate(rate))
                person = Person(arrived=time.monotonic())
                crowd.append(person)
                if variant == "none":
                    job = person_without_gate(browser, person)
                elif variant == "quota":
                    job = person_with_quota(browser, person)
                else:
                    job = person_with_preau(browser, person, draw)
                tasks.append(asyncio.create_task(job))
            _, late = await asyncio.wait(tasks, timeout=limit_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        finally:
            for browser in browsers:
                await browser.close()
    finally:
        server.terminate()
        await server.wait()
    first = min(p.arrived for p in crowd)
    unserved = sum(p.served_at is None for p in crowd)
    last = first + limit_s if unserved else max(p.served_at or 0 for p in crowd)
    latencies = sorted(x for p in crowd for x in p.latencies)
    useful = len(latencies)
    makespan = last - first
    result: dict[str, Any] = {
        "variant": variant,
        "goodput": useful / makespan,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "makespan": makespan,
        "unserved": unserved,
        "wasted": sum(p.wasted for p in crowd),
        "polls": sum(p.polls for p in crowd),
        "useful": useful,
        "timeline": sorted((p.served_at or last) - first for p in crowd),
    }
    pairs = [
        (p.predicted_wait, p.admitted_at - p.arrived)
        for p in crowd
        if p.predicted_wait and p.admitted_at and p.admitted_at - p.arrived > 2.0
    ]
    if pairs:
        errors = [(predicted - actual) / actual for predicted, actual in pairs]
        result["estimate_within_25"] = sum(abs(e) <= 0.25 for e in errors) / len(errors)
        result["estimate_median_error"] = statistics.median(errors)
        result["estimate_pairs"] = pairs
    return result


async def measure_capacity(seconds: float) -> float:
    """Saturate the bare application with a closed loop; what it completes is capacity."""
    port = free_port()
    command = pinned(
        0, [sys.executable, __file__, "--serve", "none", "--port", str(port), "--capacity", "1"]
    )
    server = await asyncio.create_subprocess_exec(
        *command, env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'bench'}"}
    )
    try:
        await asyncio.to_thread(wait_for_port, port, server)
        done = 0
        deadline = time.monotonic() + seconds

        async def loop() -> None:
            nonlocal done
            browser = Browser(port)
            while time.monotonic() < deadline:
                await browser.get("/work")
                done += 1
            await browser.close()

        started = time.monotonic()
        await asyncio.gather(*(loop() for _ in range(8)))
        return done / (time.monotonic() - started)
    finally:
        server.terminate()
        await server.wait()


def plot(results: list[dict[str, Any]], ideal: float, path: Path) -> None:
    # Imported here: only the figure needs matplotlib, and it must be told "Agg" first.
    import matplotlib  # noqa: PLC0415 - imported only in the process that needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - imported only in the process that needs it

    figure, (served, estimates) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = {"none": "(a) no gate", "quota": "(b) 2021 quota", "preau": "(c) Préau's gate"}
    for result in results:
        times = result["timeline"]
        served.plot(times, range(1, len(times) + 1), label=labels[result["variant"]])
    served.axvline(ideal, color="grey", linestyle=":", label="ideal N×K ÷ capacity")
    served.set_xlabel("seconds since the first arrival")
    served.set_ylabel("people fully served")
    served.set_title("Served over time")
    served.legend()
    preau = next(r for r in results if r["variant"] == "preau")
    pairs = preau.get("estimate_pairs", [])
    if pairs:
        estimates.scatter([a for _, a in pairs], [p for p, _ in pairs], s=6)
        top = max(*(a for _, a in pairs), *(p for p, _ in pairs))
        estimates.plot([0, top], [0, top], color="grey", linestyle=":")
        estimates.fill_between([0, top], [0, top * 0.75], [0, top * 1.25], alpha=0.15)
    estimates.set_xlabel("actual wait (s)")
    estimates.set_ylabel("wait announced on arrival (s)")
    estimates.set_title("Préau: announced vs actual wait (±25 % band)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


async def experiment(quick: bool, only: list[str] | None = None) -> None:
    people = 300 if quick else 1200
    capacity = await measure_capacity(2.0 if quick else 4.0)
    ramp_s = 2.0
    ideal = people * REQUESTS_PER_PERSON / capacity
    limit_s = 5 * ideal + 30
    results = [
        await run_variant(v, capacity, people, ramp_s, limit_s=limit_s)
        for v in only or ("none", "quota", "preau")
    ]
    if only:
        # A partial run is for looking (the same code, fewer variants), not for the record.
        for r in results:
            print(
                f"{r['variant']}: capacity {capacity:.1f} req/s, goodput {r['goodput']:.1f} "
                f"({r['goodput'] / capacity:.0%}), p50 {r['p50'] * 1000:.0f} ms, "
                f"p99 {r['p99'] * 1000:.0f} ms, last served {r['makespan']:.1f} s "
                f"(ideal {ideal:.1f} s), polls {r['polls']}, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        return
    rows = []
    for r in results:
        estimate = (
            f"{r['estimate_within_25']:.0%} within ±25 %, median error "
            f"{r['estimate_median_error']:+.0%}"
            if "estimate_within_25" in r
            else "—"
        )
        served = (
            f"{r['makespan']:.1f} ({r['makespan'] / ideal:.2f}× ideal)"
            if not r["unserved"]
            else f"> {limit_s:.0f} ({r['unserved']} never served)"
        )
        rows.append(
            f"| {r['variant']} | {r['goodput']:.0f} ({r['goodput'] / capacity:.0%}) | "
            f"{r['p50'] * 1000:.0f} | {r['p99'] * 1000:.0f} | {served} | {r['wasted']} "
            f"| {r['polls']} | {estimate} |"
        )
    preau = results[-1]
    checks = [
        ("goodput ≥ 90 % of capacity", preau["goodput"] >= 0.9 * capacity),
        ("admitted p99 < 300 ms", preau["p99"] < 0.3),
        (
            "everyone served within 1.2× ideal",
            not preau["unserved"] and preau["makespan"] <= 1.2 * ideal,
        ),
        ("estimates within ±25 % (for most)", preau.get("estimate_within_25", 0) >= 0.75),
    ]
    command = "bench/gate_overload.py" + (" --quick" if quick else "")
    header = (
        "| variant | goodput req/s (of capacity) | p50 ms | p99 ms | last served, s "
        "| wasted requests | polls | Préau's wait estimates |"
    )
    verdicts = "; ".join(f"{name}: {'met' if ok else 'missed'}" for name, ok in checks)
    table = f"""
## The gate under a 10× overload

{people} people, each needing {REQUESTS_PER_PERSON} answers from an endpoint that burns
{WORK_S * 1000:.0f} ms of CPU; measured capacity **{capacity:.0f} requests/s** (granian, one
worker on CPU 0; clients on CPU 1, loopback). Arrivals ramp over {ramp_s:.0f} s to 10×
capacity. Ideal time to serve everyone: {ideal:.1f} s. Command:
`.venv/bin/python {command}` ({time.strftime("%Y-%m-%d")}).

{header}
|---|---:|---:|---:|---:|---:|---:|---|
{chr(10).join(rows)}

Wasted requests are answers of "come back later", time-outs and their retries; polls are
the waiting room's cheap status checks. Targets for (c): {verdicts}.

![Served over time, and announced vs actual waits](img/gate-overload.png)
"""
    print(table)
    plot(results, ideal, ROOT / "docs" / "img" / "gate-overload.png")
    write_section("gate-overload", table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer people, shorter run")
    parser.add_argument(
        "--only",
        action="append",
        choices=["none", "quota", "preau"],
        help="run these variants, print only",
    )
    parser.add_argument("--serve", choices=["none", "quota", "preau"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--capacity", type=float, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve, arguments.port, arguments.capacity)
        return
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the people run on CPU 1, the server on CPU 0
    asyncio.run(experiment(arguments.quick, arguments.only))


if __name__ == "__main__":
    main()
