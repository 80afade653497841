"""The visio tier's cost per forwarded stream, by mode, measured here: one teacher
(simulcast camera and microphone) and N pupils in headless Chromium (fake media) inside
a network namespace, all in full mode, then all audio only. For each run: the Janus
node's CPU over the window, the bytes each pupil received per second by kind (getStats),
and the load average around it. Writes ``docs/performance.md`` between the
``visio-streams`` markers; the capacity model that uses the figures is written by hand
beside them (docs/performance.md, "Capacity of the visio tier").

Needs root (``ip netns``), Janus and Chromium. On this shared 2-core machine the browsers
run beside Janus: the load average says how busy the machine was.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent))

from gate_common import write_section  # after the path fix above
from playwright.sync_api import sync_playwright
from tests.browser.virtual_lab import (
    media_lab,
    netns_chromium,
    pupil_pages,
    teacher_starts_class,
    wait_for,
)

RECEIVED = """async () => {
  const state = window.preauClassroom, out = { audio: 0, video: 0, frames: 0 };
  if (!state) { return out; }
  for (const handle of Object.values(state.subscribers)) {
    const pc = handle.webrtcStuff && handle.webrtcStuff.pc;
    if (!pc) { continue; }
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp") {
        out[r.kind] += r.bytesReceived || 0;
        if (r.kind === "video") { out.frames += r.framesDecoded || 0; }
      }
    });
  }
  return out;
}"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> float:
    return os.getloadavg()[0]


def run_mode(folder: Path, pupils: int, mode: str, seconds: float) -> dict[str, Any]:
    with (
        media_lab(folder, pupils) as lab,
        sync_playwright() as playwright,
        netns_chromium(lab, playwright.chromium) as browser,
    ):
        teacher = teacher_starts_class(browser, lab.url)
        pages = pupil_pages(browser, lab.url, pupils)
        for page in pages:
            page.goto(teacher.url + f"?mode={mode}")
        wait_for(
            lambda: all(page.evaluate(RECEIVED)["audio"] > 0 for page in pages),
            90,
            "every pupil receiving",
        )
        time.sleep(5)  # past the first key frames and bandwidth ramp-up
        node = teacher.evaluate("window.preauClassroom.node")
        process = next(j for j in lab.nodes if j.node.name == node).process
        assert process is not None
        load_before = load()
        cpu_before = cpu_seconds(process.pid)
        before = [page.evaluate(RECEIVED) for page in pages]
        started = time.monotonic()
        time.sleep(seconds)
        after = [page.evaluate(RECEIVED) for page in pages]
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(process.pid) - cpu_before
        streams_per_pupil = 1 if mode == "audio" else 2

        def kbps(kind: str) -> float:
            total = sum(float(a[kind] - b[kind]) for a, b in zip(after, before, strict=True))
            return total * 8 / elapsed / 1000 / pupils

        return {
            "mode": mode,
            "pupils": pupils,
            "cpu_percent": 100 * cpu / elapsed,
            "per_stream": 100 * cpu / elapsed / (pupils * streams_per_pupil),
            "audio_kbps": kbps("audio"),
            "video_kbps": kbps("video"),
            "load_before": load_before,
            "load_after": load(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pupils", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=20.0)
    arguments = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/visio_capacity.py needs root (ip netns)")
    with tempfile.TemporaryDirectory(prefix="preau-bench-visio-") as temporary:
        runs = [
            run_mode(Path(temporary) / mode, arguments.pupils, mode, arguments.seconds)
            for mode in ("full", "audio")
        ]
    lines = [
        f"Measured with `.venv/bin/python bench/visio_capacity.py --pupils {arguments.pupils}"
        f" --seconds {arguments.seconds:.0f}` ({time.strftime('%Y-%m-%d %H:%M')} UTC,"
        f" {os.cpu_count()} cores, shared with other work): one teacher, simulcast camera",
        "(Chromium's fake 640×480 camera) and microphone; every pupil in the mode named.",
        "",
        "| mode | pupils | Janus CPU (% of one core) | per forwarded stream "
        "| received per pupil: audio | video | load average (1 min) before → after |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r['mode']} | {r['pupils']} | {r['cpu_percent']:.1f} % | {r['per_stream']:.2f} % "
        f"| {r['audio_kbps']:.0f} kbit/s | {r['video_kbps']:.0f} kbit/s "
        f"| {r['load_before']:.1f} → {r['load_after']:.1f} |"
        for r in runs
    ]
    table = "\n".join(lines)
    print(table)
    write_section("visio-streams", table)


if __name__ == "__main__":
    main()
