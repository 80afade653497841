"""argon2id: what one password verification costs with Préau's former parameters
(argon2-cffi's defaults: t=3, m=64 MiB, p=4) and with each row of OWASP's Password Storage
Cheat Sheet (all equally strong by its reckoning), measured on this machine.

    .venv/bin/python bench/password_hash.py [--rounds 30]

Prints, per parameter set: the median and 95th percentile of one verification in one
thread, the CPU time it takes (p=4 runs lanes in threads: wall time understates its cost),
the memory one verification holds, and how many verifications a second two cores give.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type

MIB = 1024
# (label, time cost, memory KiB, parallelism)
PARAMETERS = [
    ("former (argon2-cffi defaults)", 3, 64 * MIB, 4),
    ("OWASP m=46 MiB t=1 p=1", 1, 46 * MIB, 1),
    ("OWASP m=19 MiB t=2 p=1", 2, 19 * MIB, 1),
    ("OWASP m=12 MiB t=3 p=1", 3, 12 * MIB, 1),
    ("OWASP m=9 MiB t=4 p=1", 4, 9 * MIB, 1),
    ("OWASP m=7 MiB t=5 p=1", 5, 7 * MIB, 1),
]
PASSWORD = "correct horse battery staple"  # noqa: S105  # what is measured, not a secret


def measure(hasher: PasswordHasher, stored: str, rounds: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        hasher.verify(stored, PASSWORD)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def throughput(hasher: PasswordHasher, stored: str, threads: int, seconds: float) -> float:
    deadline = time.perf_counter() + seconds

    def work() -> int:
        done = 0
        while time.perf_counter() < deadline:
            hasher.verify(stored, PASSWORD)
            done += 1
        return done

    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: work(), range(threads)))
    return total / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=3.0, help="of the throughput run")
    options = parser.parse_args()
    threads = min(os.cpu_count() or 1, 2)
    print(f"cores: {os.cpu_count()}, throughput with {threads} threads\n")
    print(
        f"{'parameters':32} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>8} {'MiB':>5} "
        f"{'verifies/s':>11}"
    )
    for label, time_cost, memory_kib, parallelism in PARAMETERS:
        hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        stored = hasher.hash(PASSWORD)
        hasher.verify(stored, PASSWORD)  # warm
        walls, cpus = measure(hasher, stored, options.rounds)
        walls.sort()
        p95 = walls[min(len(walls) - 1, int(len(walls) * 0.95))]
        rate = throughput(hasher, stored, threads, options.seconds)
        print(
            f"{label:32} {statistics.median(walls) * 1000:10.1f} {p95 * 1000:8.1f} "
            f"{statistics.median(cpus) * 1000:8.1f} {memory_kib // MIB:5d} {rate:11.1f}"
        )


if __name__ == "__main__":
    main()
