"""What the gate costs an admitted browser: throughput of a hot endpoint with and without
the gate, in one run (uvicorn, one worker pinned to CPU 0, wrk pinned to CPU 1).

    .venv/bin/python bench/gate_cost.py [--quick]

The endpoint is raw ASGI returning fixed bytes, so the gate's share of the cost is as
visible as it can be; the request carries a valid pass cookie. The result goes into
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

from preau.adapters.memory.shared_state import MemorySharedState
from preau.domain.admission import Lane
from preau.gate import build_gate
from preau.gate.passes import Credentials
from preau.gate.settings import GateSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_common import ROOT, free_port, pinned, wait_for_port, write_section

SECRET = "gate-cost-benchmark-secret-0123456789abcdef"  # noqa: S105 - a benchmark's own key
BODY = b'{"homework":[]}'


async def hot(scope: dict[str, Any], receive: Any, send: Any) -> None:
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


def build(gated: bool) -> Any:

    # Both variants load and build the gate, so both processes hold the same modules and
    # the same heap (garbage collection cost grows with it); only one puts it in the path.
    settings = GateSettings(idle_timeout_s=3600, rate_limit_pass="100000000/minute")  # noqa: S106
    gate = build_gate(hot, settings=settings, secret_key=SECRET, state=MemorySharedState())
    return gate if gated else hot


def pass_cookie() -> str:

    issued = Credentials(SECRET).issue_pass(
        "0.1", Lane.KNOWN, now=time.time(), idle_s=3600, ttl_s=8 * 3600
    )
    return issued.token


def serve(gated: bool, port: int) -> None:

    uvicorn.run(build(gated), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def wrk(port: int, seconds: int, cookie: str) -> float:
    command = pinned(
        1,
        [
            "wrk",
            "-t1",
            "-c64",
            f"-d{seconds}s",
            "-H",
            f"Cookie: preau_pass={cookie}",
            f"http://127.0.0.1:{port}/api/v1/todo",
        ],
    )
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match or "Non-2xx" in output:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return float(match.group(1))


def measure(gated: bool, seconds: int, cookie: str) -> float:
    port = free_port()
    command = pinned(
        0, [sys.executable, __file__, "--serve", "gate" if gated else "plain", "--port", str(port)]
    )
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
    parser.add_argument("--serve", choices=["gate", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve == "gate", arguments.port)
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    seconds, rounds = (3, 3) if arguments.quick else (8, 5)
    cookie = pass_cookie()
    plain: list[float] = []
    gated: list[float] = []
    for _ in range(rounds):  # alternate, so drift in the machine hits both alike
        plain.append(measure(False, seconds, cookie))
        gated.append(measure(True, seconds, cookie))
    plain_rate, gated_rate = statistics.median(plain), statistics.median(gated)
    ratio = gated_rate / plain_rate
    verdict = "meets" if ratio >= 0.9 else "misses"
    command = "bench/gate_cost.py" + (" --quick" if arguments.quick else "")
    table = f"""
Hot endpoint (raw ASGI, fixed 15-byte body) on uvicorn, one worker pinned to CPU 0,
`wrk -t1 -c64` pinned to CPU 1, valid pass cookie on every request; median of {rounds}
alternating runs of {seconds} s (`.venv/bin/python {command}`,
{time.strftime("%Y-%m-%d")}, Python {platform.python_version()}).

| variant | requests/s (median) | runs |
|---|---:|---|
| without the gate | {plain_rate:,.0f} | {", ".join(f"{r:,.0f}" for r in plain)} |
| with the gate | {gated_rate:,.0f} | {", ".join(f"{r:,.0f}" for r in gated)} |

Ratio with/without: **{ratio:.3f}** (target ≥ 0.90: {verdict} it).
"""
    print(table)
    write_section("gate-cost", table)


if __name__ == "__main__":
    main()
