"""`make bench`: run every benchmark, quick versions by default, and let each rewrite its
section of docs/performance.md. ``--full`` runs the long versions."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
# (script, arguments for the quick run, arguments for the full run)
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("roster_import.py", ["--quick"], []),
    ("gate_cost.py", ["--quick"], []),
    ("gate_overload.py", ["--quick"], []),
    ("gate_flood.py", ["--quick"], []),
    ("hot_paths.py", ["--quick"], []),
    ("kolibri_compare.py", ["--quick"], []),
    ("messages.py", ["--quick"], []),
    ("attendance.py", ["--quick"], []),
    ("virtual.py", ["--quick"], []),
    ("lessons.py", ["--quick"], []),
    ("morning.py", ["--quick"], []),
    ("capacity_model.py", ["--quick"], []),
    # Prints its table; docs/performance.md "Password hashing" holds a copy.
    ("password_hash.py", ["--rounds", "10", "--seconds", "1"], []),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="long runs (minutes each)")
    parser.add_argument("only", nargs="*", help="run only these scripts (e.g. roster_import.py)")
    options = parser.parse_args()
    failures = []
    for script, quick, full in BENCHMARKS:
        if options.only and script not in options.only:
            continue
        path = HERE / script
        if not path.exists():
            print(f"== {script}: not written yet, skipped", flush=True)
            continue
        arguments = full if options.full else quick
        print(f"== {script} {' '.join(arguments)}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(path), *arguments], check=False)
        print(
            f"== {script}: exit {result.returncode} after {time.monotonic() - started:.0f} s",
            flush=True,
        )
        if result.returncode:
            failures.append(script)
    if failures:
        print("failed: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
