"""Where one request of the calibration spends its event-loop CPU.

    .venv/bin/python bench/capacity_profile.py turn_in [homework_open ...] [--scale 4]
        [--profile] [--statements] [--top 40]

Runs ``bench/capacity_calibrate.py``'s world and requests (the real app through ASGI, on
PostgreSQL and a private Redis), but measures only the named request types, ``--scale``
times the quick counts. ``--profile`` runs them under cProfile with the thread's CPU clock
(not wall time: the machine is shared) and prints the functions by own time and the time
by package (the stats are kept in ``<temp dir>/capacity-profile-<name>.prof`` for
``pstats``); ``--statements`` prints the SQL of one request. Without either it prints the
calibration's line (CPU per request, statements, Redis commands) for each, so a change
can be measured on the requests it touches in a few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import cProfile
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from preau import bootstrap

sys.path.insert(0, str(Path(__file__).resolve().parent))
import capacity_calibrate as calibration
from gate_common import free_port

HOMEWORK_ITEMS = calibration.HOMEWORK_ITEMS


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time summed per installed package, per Préau module, per built-in."""
    totals: dict[str, float] = collections.defaultdict(float)
    for (file, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        package = re.search(r"site-packages/([^/]+)", file)
        if package:
            key = package.group(1)
        elif "/src/preau/" in file:
            key = "preau/" + file.split("/src/preau/")[1]
        elif "/lib/python3" in file:
            key = "stdlib/" + file.split("/lib/python3")[1].split("/")[1]
        else:
            key = f"built-in {function}" if file == "~" else file
        totals[key] += own
    return sorted(totals.items(), key=lambda item: -item[1])


def instrument(arguments: argparse.Namespace, services: list[Any]) -> None:
    wanted = set(arguments.requests)
    measure = calibration.Bench.measure

    async def only(self: calibration.Bench, name: str, make: Any, count: int, **named: Any) -> None:
        if name not in wanted:
            return
        if arguments.statements:
            seen: list[str] = []

            def log(*given: Any) -> None:
                seen.append(" ".join(str(given[2]).split()))

            engine = services[0].engine.sync_engine
            sa.event.listen(engine, "before_cursor_execute", log)
            await measure(self, name, make, 1, **named)
            sa.event.remove(engine, "before_cursor_execute", log)
            for statement in seen:
                print(f"    {statement[:300]}")
            return
        if not arguments.profile:
            await measure(self, name, make, count, **named)
            return
        profile = cProfile.Profile(time.thread_time)
        profile.enable()
        await measure(self, name, make, count, **named)
        profile.disable()
        stats = pstats.Stats(profile)
        stats.dump_stats(Path(tempfile.gettempdir()) / f"capacity-profile-{name}.prof")
        total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
        print(f"\n{name}: {1000 * total / count:.2f} ms of profiled CPU per request")
        stats.sort_stats("tottime").print_stats(arguments.top)
        for package, seconds in by_package(stats)[: arguments.top]:
            print(f"{1000 * seconds / count:8.3f} ms {100 * seconds / total:5.1f} %  {package}")

    calibration.Bench.measure = only  # type: ignore[method-assign]
    build_services = bootstrap.build_services

    def keep(*given: Any, **named: Any) -> Any:
        services.append(build_services(*given, **named))
        return services[-1]

    bootstrap.build_services = keep  # calibrate() wraps this one in turn


async def run(arguments: argparse.Namespace) -> None:
    scale = arguments.scale
    counts = {
        "warm": 400 * scale, "resume": 150 * scale, "write": 40 * scale, "login": 6 * scale,
        "join": 150 * scale,
    }  # fmt: skip
    pupils = max(counts["write"] // (HOMEWORK_ITEMS - 2) + 2, 12)
    with tempfile.TemporaryDirectory(prefix="preau-capacity-") as temporary:
        folder = Path(temporary)
        port = free_port()
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is timed
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            options = argparse.Namespace(quick=True, concurrency=arguments.concurrency)
            await calibration.calibrate(
                options, folder=folder, redis_port=port, redis_pid=server.pid, counts=counts,
                pupils=pupils,
            )  # fmt: skip
        finally:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("requests", nargs="+", help="request types, as the calibration names them")
    parser.add_argument("--scale", type=int, default=1, help="times the quick counts")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--profile", action="store_true", help="cProfile, thread CPU clock")
    parser.add_argument("--statements", action="store_true", help="print one request's SQL")
    parser.add_argument("--top", type=int, default=40, help="lines of the profile")
    arguments = parser.parse_args()
    instrument(arguments, [])
    asyncio.run(run(arguments))


if __name__ == "__main__":
    main()
