"""Helpers shared by the gate benchmarks: free ports, servers pinned to a CPU, and
writing a marked section of ``docs/performance.md``."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PERFORMANCE = ROOT / "docs" / "performance.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.returncode is not None or (hasattr(process, "poll") and process.poll()):
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def pinned(cpu: int, command: list[str]) -> list[str]:
    """Run ``command`` on one CPU when taskset exists, so load and server do not mix."""
    if shutil.which("taskset"):
        return ["taskset", "-c", str(cpu), *command]
    return command


def write_section(name: str, body: str) -> None:
    """Replace what lies between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    PERFORMANCE.parent.mkdir(parents=True, exist_ok=True)
    text = PERFORMANCE.read_text(encoding="utf-8") if PERFORMANCE.exists() else "# Performance\n"
    if start not in text or end not in text:
        text = text.rstrip("\n") + f"\n\n{start}\n{end}\n"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    PERFORMANCE.write_text(f"{before}{start}\n{body.strip()}\n{end}{after}", encoding="utf-8")
