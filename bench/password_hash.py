"""argon2id: what one password verification costs with each row of OWASP's Password Storage
Cheat Sheet (all p=1 and equally strong by its reckoning), and with Préau's first
parameters (argon2-cffi's defaults: t=3, m=64 MiB, p=4), measured on this machine.

    .venv/bin/python bench/password_hash.py [--rounds 8] [--batch 6] [--former]

Per parameter set:

- **alone**: the CPU of one verification (its thread's CPU clock), one thread verifying;
- **side by side**: the same, while a second thread verifies at the same time, as the
  hashing pool runs them at a login peak (one thread per core: the two hashes share the
  last-level cache and the memory bus, which costs memory-bound argon2 more CPU each);
- **verifies/s**: the two threads' verifications per second of wall time in that run;
- **peak MiB**: how much the process's peak resident memory grows over one verification
  (a fresh process per row), what each hash in flight holds.

The rows are measured in turns (``--rounds`` passes over all rows), so a change of load on a
shared machine falls on every row alike; medians are printed. CPU time, not wall time, is
the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type

MIB = 1024
# (label, time cost, memory KiB, parallelism)
OWASP = [
    ("m=46 MiB t=1", 1, 47104, 1),
    ("m=19 MiB t=2", 2, 19456, 1),
    ("m=12 MiB t=3", 3, 12288, 1),
    ("m=9 MiB t=4", 4, 9216, 1),
    ("m=7 MiB t=5", 5, 7168, 1),
]
FORMER = ("former: t=3 m=64 MiB p=4", 3, 64 * MIB, 4)
PASSWORD = "correct horse battery staple"  # noqa: S105  # what is measured, not a secret


def peak_mib(time_cost: int, memory_kib: int, parallelism: int) -> float:
    """Peak resident memory of a fresh process that hashes once, over the same process
    that only imported argon2 (``VmHWM``, KiB: Linux's ``ru_maxrss`` would carry this
    process's size over into the child)."""
    script = (
        "import sys\n"
        "from argon2 import PasswordHasher, Type\n"
        "t, m, p, run = map(int, sys.argv[1:])\n"
        "if run:\n"
        "    PasswordHasher(time_cost=t, memory_cost=m, parallelism=p, type=Type.ID).hash('x')\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "print(status.split()[0])\n"
    )
    sizes = []
    for run in (0, 1):
        output = subprocess.run(
            [sys.executable, "-c", script, str(time_cost), str(memory_kib), str(parallelism),
             str(run)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        sizes.append(int(output))
    return (sizes[1] - sizes[0]) / MIB


def verify_cpu(hasher: PasswordHasher, stored: str) -> float:
    started = time.thread_time()
    hasher.verify(stored, PASSWORD)
    return time.thread_time() - started


def alone(hasher: PasswordHasher, stored: str, count: int) -> list[float]:
    return [verify_cpu(hasher, stored) for _ in range(count)]


class SideBySide:
    """``threads`` threads kept for the whole run, as the hashing pool keeps them: a new
    thread's first hashes fault their memory in (a cost per thread, not per login), so each
    thread verifies twice before anything is timed."""

    def __init__(self, hasher: PasswordHasher, stored: str, threads: int) -> None:
        self.hasher, self.stored, self.threads = hasher, stored, threads
        self.pool = ThreadPoolExecutor(threads)
        self.run(2)

    def run(self, count: int) -> tuple[list[float], float]:
        """Each thread verifies ``count`` times, all started together: the CPU of each
        verification, and the verifications per second of wall time."""
        barrier = threading.Barrier(self.threads)

        def work() -> list[float]:
            barrier.wait()
            return [verify_cpu(self.hasher, self.stored) for _ in range(count)]

        started = time.perf_counter()
        futures = [self.pool.submit(work) for _ in range(self.threads)]
        cpus = [cpu for future in futures for cpu in future.result()]
        return cpus, self.threads * count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="passes over all the rows")
    parser.add_argument("--batch", type=int, default=6, help="verifications per row and pass")
    parser.add_argument("--threads", type=int, default=2, help="hashes side by side")
    parser.add_argument("--former", action="store_true", help="also the former parameters")
    options = parser.parse_args()
    rows = [*OWASP, FORMER] if options.former else OWASP
    hashers = [
        PasswordHasher(time_cost=t, memory_cost=m, parallelism=p, type=Type.ID)
        for _, t, m, p in rows
    ]
    stored = [hasher.hash(PASSWORD) for hasher in hashers]
    samples: list[dict[str, list[float]]] = [{"alone": [], "side": [], "rate": []} for _ in rows]
    for hasher, hashed in zip(hashers, stored, strict=True):
        alone(hasher, hashed, 2)  # warm: this thread's memory faulted in
    pools = [
        SideBySide(hasher, hashed, options.threads)
        for hasher, hashed in zip(hashers, stored, strict=True)
    ]
    for _ in range(options.rounds):
        for hasher, hashed, pool, sample in zip(hashers, stored, pools, samples, strict=True):
            sample["alone"] += alone(hasher, hashed, options.batch)
            cpus, rate = pool.run(options.batch)
            sample["side"] += cpus
            sample["rate"].append(rate)
    load = os.getloadavg()[0]
    print(
        f"cores: {os.cpu_count()}, {options.threads} hashes side by side, "
        f"{options.rounds} rounds of {options.batch}, load average (1 min) {load:.1f}\n"
    )
    print(
        f"| parameters (p=1) | CPU ms alone | CPU ms side by side | side / alone | "
        f"verifies/s ({options.threads} threads) | peak MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for (label, t, m, p), sample in zip(rows, samples, strict=True):
        one = statistics.median(sample["alone"]) * 1000
        two = statistics.median(sample["side"]) * 1000
        print(
            f"| {label} | {one:.1f} | {two:.1f} | {two / one:.2f} | "
            f"{statistics.median(sample['rate']):.1f} | {peak_mib(t, m, p):.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
