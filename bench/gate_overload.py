"""Overload experiment: the same application under a ramp to 10× its capacity, behind
(a) no gate, (b) a "2021 quota" that answers "come back later" when full, with clients
retrying after a fixed delay, and (c) Préau's gate.

    .venv/bin/python bench/gate_overload.py [--quick]

The application costs a fixed CPU time per request, so its capacity is known (and measured
first). It runs under uvicorn pinned to CPU 0; the simulated people (asyncio + httpx,
loopback only, bounded in number and time) run here on CPU 1. Each person needs ``K``
requests answered. Results go to ``docs/performance.md`` (``gate-overload`` markers) and
``docs/img/gate-overload.png``.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import asyncio
import collections
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_common import ROOT, free_port, pinned, wait_for_port, write_section  # noqa: E402

SECRET = "gate-overload-benchmark-secret-0123456789abcdef"
WORK_S = 0.02  # CPU per request: capacity about 50 requests/s on one core
REQUESTS_PER_PERSON = 3
CLIENT_TIMEOUT_S = 5.0  # a browser tab that gives up and reloads
QUOTA_RETRY_S = 3.0  # "come back in a few minutes", scaled down, no jitter


# --- The application and the two gates in front of it (server side) --------------------


async def work(scope: dict[str, Any], receive: Any, send: Any) -> None:
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
            "headers": [(b"content-type", b"application/json")],
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
            await send({"type": "http.response.start", "status": 503, "headers": []})
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
    from preau.gate.settings import GateSettings

    return GateSettings(
        capacity=100_000,
        admission_rate_per_s=capacity / REQUESTS_PER_PERSON,
        admission_burst_s=0.5,
        adaptive=True,
        adaptive_increase_per_s=0.5,
        latency_target_s=0.25,
        idle_timeout_s=5.0,
        ticket_idle_s=60.0,
        poll_minimum_s=1.0,
        poll_maximum_s=10.0,
        refresh_interval_s=0.25,
        under_attack="off",
        rate_limit_address="1000000/minute",
    )


def serve(variant: str, port: int, capacity: float) -> None:
    import uvicorn

    app: Any = work
    people_per_s = capacity / REQUESTS_PER_PERSON
    if variant == "quota":
        # Sessions sized like a capacity plan: people per second × session length.
        app = QuotaGate(work, sessions=max(1, int(people_per_s * 2.0)), session_s=2.0)
    elif variant == "preau":
        from preau.adapters.memory.shared_state import MemorySharedState
        from preau.gate import build_gate

        settings = preau_settings(capacity)
        app = build_gate(work, settings=settings, secret_key=SECRET, state=MemorySharedState())
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
        timeout_keep_alive=120,
    )


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


def jar(cookies: dict[str, str]) -> dict[str, str]:
    """Each person's own cookies, sent by hand: the shared client must keep none."""
    return {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}


def remember(cookies: dict[str, str], response: httpx.Response) -> None:
    for name, value in response.cookies.items():
        if value:
            cookies[name] = value
        else:
            cookies.pop(name, None)


async def person_without_gate(client: httpx.AsyncClient, url: str, person: Person) -> None:
    done = 0
    while done < REQUESTS_PER_PERSON:
        started = time.monotonic()
        try:
            response = await client.get(url, timeout=CLIENT_TIMEOUT_S)
        except httpx.TransportError:  # timed out, reset or refused: the tab reloads
            person.wasted += 1
            await asyncio.sleep(1.0)
            continue
        if response.status_code == 200:
            person.latencies.append(time.monotonic() - started)
            done += 1
        else:
            person.wasted += 1
            await asyncio.sleep(1.0)
    person.served_at = time.monotonic()


async def person_with_quota(client: httpx.AsyncClient, url: str, person: Person) -> None:
    cookies: dict[str, str] = {}
    done = 0
    while done < REQUESTS_PER_PERSON:
        started = time.monotonic()
        try:
            response = await client.get(url, timeout=CLIENT_TIMEOUT_S, headers=jar(cookies))
        except httpx.TransportError:  # timed out, reset or refused: the tab reloads
            person.wasted += 1
            await asyncio.sleep(1.0)
            continue
        if response.status_code == 200:
            remember(cookies, response)
            person.latencies.append(time.monotonic() - started)
            done += 1
        else:
            person.wasted += 1
            await asyncio.sleep(QUOTA_RETRY_S)
    person.served_at = time.monotonic()


async def person_with_preau(
    client: httpx.AsyncClient, url: str, base: str, person: Person, draw: random.Random
) -> None:
    cookies: dict[str, str] = {}
    headers = {"accept": "application/json"}
    done = 0
    while done < REQUESTS_PER_PERSON:
        started = time.monotonic()
        try:
            response = await client.get(
                url, timeout=CLIENT_TIMEOUT_S, headers={**headers, **jar(cookies)}
            )
        except httpx.TransportError as error:  # timed out, reset or refused: the tab reloads
            person.wasted += 1
            WHY[type(error).__name__] += 1
            continue
        remember(cookies, response)
        if response.status_code == 200:
            if person.admitted_at is None:
                person.admitted_at = time.monotonic()
            person.latencies.append(time.monotonic() - started)
            done += 1
            continue
        if response.status_code != 429 or "estimated_wait_s" not in response.text:
            WHY[response.status_code] += 1
            person.wasted += 1
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            continue
        problem = response.json()
        if person.predicted_wait is None:
            person.predicted_wait = problem.get("estimated_wait_s")
        delay = float(response.headers.get("retry-after", "1"))
        while True:
            # Full jitter on the server's pace, as gate.js does.
            await asyncio.sleep(delay / 2 + draw.random() * delay / 2)
            person.polls += 1
            try:
                status = await client.get(
                    base + "/gate/status?next=/work", headers={**headers, **jar(cookies)},
                    timeout=CLIENT_TIMEOUT_S,
                )
            except httpx.TransportError:
                person.wasted += 1
                continue
            remember(cookies, status)
            body = status.json()
            if body.get("admitted"):
                person.admitted_at = time.monotonic()
                break
            delay = float(status.headers.get("retry-after", "1"))
    person.served_at = time.monotonic()


async def run_variant(variant: str, capacity: float, people: int, ramp_s: float) -> dict[str, Any]:
    port = free_port()
    command = pinned(0, [sys.executable, __file__, "--serve", variant, "--port", str(port),
                         "--capacity", str(capacity)])
    server = await asyncio.create_subprocess_exec(
        *command, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}
    )
    try:
        await asyncio.to_thread(wait_for_port, port, server)  # type: ignore[arg-type]
        base = f"http://127.0.0.1:{port}"
        url = base + "/work"
        draw = random.Random(7)
        crowd: list[Person] = []
        tasks = []
        # Each person is a browser of their own: own connections, own cookies (kept by
        # hand; the jar accepts none). Made beforehand: making one costs milliseconds.
        browsers = [
            httpx.AsyncClient(
                cookies=http.cookiejar.CookieJar(
                    http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
                )
            )
            for _ in range(people)
        ]
        start = time.monotonic()
        peak = 10 * capacity / REQUESTS_PER_PERSON  # people per second at 10× capacity
        try:
            for client in browsers:
                # Arrivals ramp linearly to the peak, then hold it.
                elapsed = time.monotonic() - start
                rate = max(peak * 0.05, peak * min(1.0, elapsed / ramp_s))
                await asyncio.sleep(draw.expovariate(rate))
                person = Person(arrived=time.monotonic())
                crowd.append(person)
                if variant == "none":
                    job = person_without_gate(client, url, person)
                elif variant == "quota":
                    job = person_with_quota(client, url, person)
                else:
                    job = person_with_preau(client, url, base, person, draw)
                tasks.append(asyncio.create_task(job))
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=600)
        finally:
            for client in browsers:
                await client.aclose()
    finally:
        server.terminate()
        await server.wait()
    first = min(p.arrived for p in crowd)
    last = max(p.served_at or 0 for p in crowd)
    latencies = sorted(x for p in crowd for x in p.latencies)
    useful = len(latencies)
    makespan = last - first
    result: dict[str, Any] = {
        "variant": variant,
        "goodput": useful / makespan,
        "p50": statistics.median(latencies),
        "p99": latencies[int(0.99 * (len(latencies) - 1))],
        "makespan": makespan,
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
    command = pinned(0, [sys.executable, __file__, "--serve", "none", "--port", str(port),
                         "--capacity", "1"])
    server = await asyncio.create_subprocess_exec(
        *command, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}
    )
    try:
        await asyncio.to_thread(wait_for_port, port, server)  # type: ignore[arg-type]
        done = 0
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + seconds

            async def loop() -> None:
                nonlocal done
                while time.monotonic() < deadline:
                    await client.get(f"http://127.0.0.1:{port}/work")
                    done += 1

            started = time.monotonic()
            await asyncio.gather(*(loop() for _ in range(8)))
            return done / (time.monotonic() - started)
    finally:
        server.terminate()
        await server.wait()


def plot(results: list[dict[str, Any]], ideal: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        top = max(max(a for _, a in pairs), max(p for p, _ in pairs))
        estimates.plot([0, top], [0, top], color="grey", linestyle=":")
        estimates.fill_between([0, top], [0, top * 0.75], [0, top * 1.25], alpha=0.15)
    estimates.set_xlabel("actual wait (s)")
    estimates.set_ylabel("wait announced on arrival (s)")
    estimates.set_title("Préau: announced vs actual wait (±25 % band)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


async def experiment(quick: bool) -> None:
    people = 150 if quick else 600
    capacity = await measure_capacity(2.0 if quick else 4.0)
    ramp_s = 2.0
    ideal = people * REQUESTS_PER_PERSON / capacity
    results = [await run_variant(v, capacity, people, ramp_s) for v in ("none", "quota", "preau")]
    rows = []
    for r in results:
        estimate = (
            f"{r['estimate_within_25']:.0%} within ±25 %, median error "
            f"{r['estimate_median_error']:+.0%}"
            if "estimate_within_25" in r
            else "—"
        )
        rows.append(
            f"| {r['variant']} | {r['goodput']:.0f} ({r['goodput'] / capacity:.0%}) | "
            f"{r['p50'] * 1000:.0f} | {r['p99'] * 1000:.0f} | {r['makespan']:.1f} "
            f"({r['makespan'] / ideal:.2f}× ideal) | {r['wasted']} | {r['polls']} | {estimate} |"
        )
    preau = results[-1]
    checks = [
        ("goodput ≥ 90 % of capacity", preau["goodput"] >= 0.9 * capacity),
        ("admitted p99 < 300 ms", preau["p99"] < 0.3),
        ("everyone served within 1.2× ideal", preau["makespan"] <= 1.2 * ideal),
        ("estimates within ±25 % (for most)", preau.get("estimate_within_25", 0) >= 0.75),
    ]
    table = f"""
{people} people, each needing {REQUESTS_PER_PERSON} answers from an endpoint that burns
{WORK_S * 1000:.0f} ms of CPU; measured capacity **{capacity:.0f} requests/s** (uvicorn, one
worker on CPU 0; clients on CPU 1, loopback). Arrivals ramp over {ramp_s:.0f} s to 10×
capacity. Ideal time to serve everyone: {ideal:.1f} s. Command:
`.venv/bin/python bench/gate_overload.py{' --quick' if quick else ''}` ({time.strftime('%Y-%m-%d')}).

| variant | goodput req/s (of capacity) | p50 ms | p99 ms | last served, s | wasted requests | polls | Préau's wait estimates |
|---|---:|---:|---:|---:|---:|---:|---|
{chr(10).join(rows)}

Wasted requests are answers of "come back later", time-outs and their retries; polls are
the waiting room's cheap status checks. Targets for (c): {"; ".join(f"{name}: {'met' if ok else 'missed'}" for name, ok in checks)}.

![Served over time, and announced vs actual waits](img/gate-overload.png)
"""
    print(table)
    plot(results, ideal, ROOT / "docs" / "img" / "gate-overload.png")
    write_section("gate-overload", table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer people, shorter run")
    parser.add_argument("--serve", choices=["none", "quota", "preau"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--capacity", type=float, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve, arguments.port, arguments.capacity)
        return
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the people run on CPU 1, the server on CPU 0
    asyncio.run(experiment(arguments.quick))


if __name__ == "__main__":
    main()
