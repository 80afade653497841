"""A slice of ``make drills`` in the default suite: the HA cluster on this machine (etcd,
Patroni primary and replica, HAProxy, Redis and Sentinels, two app processes behind
nginx), its PostgreSQL primary killed under load (``bench/drills.py --quick --drills
pg-primary-kill``): no acknowledged write lost or doubled, the reads served throughout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("patroni", "etcd", "haproxy", "redis-sentinel", "nginx")


@pytest.mark.slow
def test_the_primary_killed_under_load_loses_and_doubles_nothing(tmp_path: Path) -> None:
    missing = [part for part in PARTS if shutil.which(part) is None]
    if missing:
        missing_service(f"the HA cluster needs {', '.join(missing)} (make system-deps)")
    output = tmp_path / "drills.json"
    finished = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "drills.py"),
            "--quick",
            "--drills",
            "pg-primary-kill",
            "--json",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    (result,) = json.loads(output.read_text(encoding="utf-8"))
    assert result["drill"] == "pg-primary-kill"
    assert result["writes_acknowledged"] > 0
    assert result["lost"] == 0
    assert result["duplicates"] == 0
    assert result["reads_served_during_fault_pct"] >= 99.0
    assert not any(what.startswith(("read 5", "write 500")) for what in result["errors_seen"])
