"""What the gate costs an admitted browser: throughput of a hot endpoint with and without
the gate, in one run (uvicorn, one worker pinned to CPU 0, wrk pinned to CPU 1).

    .venv/bin/python bench/gate_cost.py [--quick]

The endpoint is raw ASGI returning fixed bytes, so the gate's share of the cost is as
visible as it can be; the request carries a valid pass cookie (and, in one variant, a
session cookie too, as a signed-in pupil's would). The result goes into
``docs/performance.md`` between the ``gate-cost`` markers.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn

from preau.adapters.clock import SystemClock
from preau.adapters.memory.shared_state import MemorySharedState
from preau.adapters.shared import shared_in_memory
from preau.asgi import Receive, Scope, Send
from preau.domain.admission import Lane
from preau.domain.tokens import Signer
from preau.gate import build_gate
from preau.gate.passes import Credentials
from preau.gate.settings import GateSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_common import ROOT, free_port, pinned, wait_for_port, write_section

SECRET = "gate-cost-benchmark-secret-0123456789abcdef"  # noqa: S105 - a benchmark's own key
BODY = b'{"homework":[]}'


async def hot(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


class PassThrough:
    """The thinnest ASGI middleware there is: what any layer costs, for reference."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


VARIANTS = ("plain", "pass-through", "gate", "gate-signed-in")


def build(variant: str) -> Any:
    # Every variant loads and builds the gate, so all processes hold the same modules and
    # the same heap (garbage collection cost grows with it); only one puts it in the path.
    settings = GateSettings(
        idle_timeout_s=3600,
        rate_limit_pass="100000000/minute",  # noqa: S106 - one client sends the whole load
        rate_limit_account="100000000/minute",
    )
    gate = build_gate(
        hot,
        settings=settings,
        secret_key=SECRET,
        shared=shared_in_memory(MemorySharedState()),
        clock=SystemClock(),
    )
    return {
        "plain": hot,
        "pass-through": PassThrough(hot),
        "gate": gate,
        "gate-signed-in": gate,
    }[variant]


def cookies() -> dict[str, str]:
    """The cookie header of each variant: an admitted device, and one also signed in."""
    now = time.time()
    issued = Credentials(SECRET).issue_pass("0.1", Lane.KNOWN, now=now, idle_s=3600, ttl_s=8 * 3600)
    session = Signer(SECRET, "session").sign(
        {"pid": 7, "sch": 1, "pro": "pupil", "did": "bench", "iat": now}, expires_at=now + 3600
    )
    admitted = f"preau_pass={issued.token}"
    signed_in = f"preau_session={session}; preau_csrf=bench-csrf; {admitted}"
    return {v: signed_in if v == "gate-signed-in" else admitted for v in VARIANTS}


def serve(variant: str, port: int) -> None:
    uvicorn.run(build(variant), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def wrk(port: int, seconds: int, cookie: str) -> float:
    command = pinned(
        1,
        [
            "wrk",
            "-t1",
            "-c64",
            f"-d{seconds}s",
            "-H",
            f"Cookie: {cookie}",
            f"http://127.0.0.1:{port}/api/v1/todo",
        ],
    )
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match or "Non-2xx" in output:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return float(match.group(1))


def measure(variant: str, seconds: int, cookie: str) -> float:
    port = free_port()
    command = pinned(0, [sys.executable, __file__, "--serve", variant, "--port", str(port)])
    server = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        wait_for_port(port, server)
        wrk(port, 1, cookie)  # warm up
        return wrk(port, seconds, cookie)
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve, arguments.port)
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    seconds, rounds = (3, 3) if arguments.quick else (8, 5)
    headers = cookies()
    runs: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for _ in range(rounds):  # interleaved, so drift in the machine hits every variant alike
        for variant in VARIANTS:
            runs[variant].append(measure(variant, seconds, headers[variant]))
    median = {variant: statistics.median(rates) for variant, rates in runs.items()}
    ratio = median["gate"] / median["plain"]
    verdict = "meets" if ratio >= 0.9 else "misses"
    signed_ratio = median["gate-signed-in"] / median["plain"]
    signed_verdict = "meets" if signed_ratio >= 0.9 else "misses"
    per_request_us = 1e6 / median["gate"] - 1e6 / median["plain"]
    signed_us = 1e6 / median["gate-signed-in"] - 1e6 / median["plain"]
    layer_us = 1e6 / median["pass-through"] - 1e6 / median["plain"]
    command = "bench/gate_cost.py" + (" --quick" if arguments.quick else "")
    labels = {
        "plain": "without the gate",
        "pass-through": "an empty pass-through middleware (reference)",
        "gate": "with the gate (admitted device)",
        "gate-signed-in": "with the gate (admitted device, signed in)",
    }
    rows = "\n".join(
        f"| {labels[v]} | {median[v]:,.0f} | {', '.join(f'{r:,.0f}' for r in runs[v])} |"
        for v in VARIANTS
    )
    table = f"""
## The gate: cost per admitted request

Hot endpoint (raw ASGI, fixed 15-byte body) on uvicorn, one worker pinned to CPU 0,
`wrk -t1 -c64` pinned to CPU 1, valid pass cookie (and session cookie) on every request;
median of {rounds} interleaved runs of {seconds} s each (`.venv/bin/python {command}`,
{time.strftime("%Y-%m-%d")}, Python {platform.python_version()}).

| variant | requests/s (median) | runs |
|---|---:|---|
{rows}

Ratio with/without the gate: **{ratio:.3f}** for an admitted device (target ≥ 0.90:
{verdict} it), **{signed_ratio:.3f}** when it is also signed in ({signed_verdict} it; the
account's own limit is counted too). The gate adds about {per_request_us:.1f} µs and
{signed_us:.1f} µs per request; an empty middleware layer alone adds about
{layer_us:.1f} µs. The machine is shared, so single runs vary: the table gives them all.
"""
    print(table)
    write_section("gate-cost", table)


if __name__ == "__main__":
    main()
