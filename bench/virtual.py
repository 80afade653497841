"""Virtual classes: rooms placed and tokens minted per second against real Janus nodes,
and Janus CPU per received video stream with one teacher and N pupils in headless
Chromium (fake camera) inside a network namespace. Writes ``docs/performance.md``
between the ``virtual`` markers.

The CPU figure is a measurement on this 2-core machine, where Chromium's teacher and
pupils share the cores with Janus; it is not a capacity claim.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent))

from gate_common import write_section  # after the path fix above
from playwright.sync_api import sync_playwright
from tests.browser.virtual_lab import (
    FRAMES,
    media_lab,
    netns_chromium,
    pupil_pages,
    teacher_starts_class,
    wait_for,
)
from tests.helpers import PASSWORD, build_world, make_settings
from tests.virtual.janus_nodes import (
    ADMIN_SECRET,
    ROOM_KEY,
    TOKEN_SECRET,
    make_node,
    nodes_setting,
)

from preau.actions.virtual.pool import pool_of
from preau.actions.virtual.rooms import start_unscheduled
from preau.actions.virtual.seats import join
from preau.adapters.sql.engine import migrate
from preau.bootstrap import build_services
from preau.domain.people import Actor, Profile
from preau.domain.virtual import core_token, room_token
from preau.settings import Settings


def settings_for(folder: Path, nodes: str) -> Settings:
    return make_settings(
        f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}",
        janus_nodes=nodes,
        janus_admin_secret=ADMIN_SECRET,
        janus_token_secret=TOKEN_SECRET,
        janus_room_key=ROOM_KEY,
        janus_poll_seconds=3600.0,
    )


async def control_plane(folder: Path, rooms: int) -> dict[str, float]:
    janus = [
        make_node(name, folder / name, rtp_base=46000 + 500 * i, max_participants=10_000)
        for i, name in enumerate("ab")
    ]
    for node in janus:
        node.start()
    services = build_services(settings_for(folder, nodes_setting(janus)))
    try:
        await migrate(services.engine)
        world = await build_world(services, await services.passwords.hash(PASSWORD))
        school = world["a"]
        pool = pool_of(services)
        await pool.refresh()
        teacher = Actor(
            person_id=school.people["teacher"], school_id=school.id, profile=Profile.TEACHER
        )
        pupil = Actor(person_id=school.people["pupil"], school_id=school.id, profile=Profile.PUPIL)

        started = time.perf_counter()
        created = [
            await start_unscheduled(services, teacher, school.class_id, title="Bench")
            for _ in range(rooms)
        ]
        sequential = rooms / (time.perf_counter() - started)

        started = time.perf_counter()
        joins = 0
        while time.perf_counter() - started < 2:
            await join(services, pupil, created[joins % len(created)].id)
            joins += 1
        join_rate = joins / (time.perf_counter() - started)

        ends = services.now()
        started = time.perf_counter()
        minted = 0
        while time.perf_counter() - started < 1:
            core_token(TOKEN_SECRET, ends)
            room_token(TOKEN_SECRET, ends, 4242)
            minted += 1
        mint_rate = minted / (time.perf_counter() - started)
        spread = {view.node for view in created}
        return {
            "rooms": rooms,
            "placed_per_s": sequential,
            "joins_per_s": join_rate,
            "tokens_per_s": mint_rate,
            "nodes_used": len(spread),
        }
    finally:
        await pool_of(services).stop()
        await services.state.close()
        await services.engine.dispose()
        for node in janus:
            node.kill()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def media(folder: Path, pupils: int, seconds: float) -> dict[str, float]:
    with (
        media_lab(folder, pupils) as lab,
        sync_playwright() as playwright,
        netns_chromium(lab, playwright.chromium) as browser,
    ):
        teacher = teacher_starts_class(browser, lab.url)
        pages = pupil_pages(browser, lab.url, pupils)
        for page in pages:
            page.goto(teacher.url)
        wait_for(
            lambda: all(page.evaluate(FRAMES)["frames"] > 0 for page in pages),
            60,
            "every pupil decoding",
        )
        node = teacher.evaluate("window.preauClassroom.node")
        process = next(j for j in lab.nodes if j.node.name == node).process
        assert process is not None
        before, frames_before = (
            cpu_seconds(process.pid),
            [p.evaluate(FRAMES)["frames"] for p in pages],
        )
        time.sleep(seconds)
        used = cpu_seconds(process.pid) - before
        frames = [
            p.evaluate(FRAMES)["frames"] - f for p, f in zip(pages, frames_before, strict=True)
        ]
        rss = int(
            next(
                line.split()[1]
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
                if line.startswith("VmRSS")
            )
        )
        return {
            "pupils": pupils,
            "cpu_percent": 100 * used / seconds,
            "per_stream": 100 * used / seconds / pupils,
            "fps": sum(frames) / len(frames) / seconds,
            "rss_mb": rss / 1024,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rooms, one audience size")
    arguments = parser.parse_args()
    rooms = 100 if arguments.quick else 500
    audiences = [5] if arguments.quick else [5, 10, 20]
    seconds = 10.0 if arguments.quick else 20.0
    with tempfile.TemporaryDirectory(prefix="preau-bench-virtual-") as temporary:
        folder = Path(temporary)
        control = asyncio.run(control_plane(folder / "control", rooms))
        runs = []
        if os.geteuid() == 0:
            runs = [media(folder / f"media-{n}", n, seconds) for n in audiences]
    command = "bench/virtual.py" + (" --quick" if arguments.quick else "")
    lines = [
        "Control plane, two local Janus nodes, SQLite, one process",
        f"(`.venv/bin/python {command}`, {time.strftime('%Y-%m-%d')},",
        f"Python {platform.python_version()}, {os.cpu_count()} cores):",
        "",
        "| operation | per second |",
        "|---|---:|",
        f"| room placed (insert, choose node, Admin API `create`), {rooms:.0f} in a row "
        f"| {control['placed_per_s']:,.0f} |",
        f"| join (access check, seat, core + room token) | {control['joins_per_s']:,.0f} |",
        f"| token pair minted (HMAC-SHA1, pure) | {control['tokens_per_s']:,.0f} |",
        "",
        f"Rooms were spread over {control['nodes_used']:.0f} nodes by spare capacity.",
        "",
    ]
    if runs:
        lines += [
            "Janus CPU with one teacher and N pupils (headless Chromium, fake camera, all in one",
            f"network namespace), measured over {seconds:.0f} s on the node serving the room.",
            "**A 2-core measurement, not a capacity claim**: the browsers share the two cores",
            "with Janus, and the fake camera sends a small picture at the room's capped bitrate.",
            "",
            "| pupils | Janus CPU (% of one core) | per received stream "
            "| frames/s per pupil | Janus RSS |",
            "|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['pupils']:.0f} | {r['cpu_percent']:.1f} % | {r['per_stream']:.2f} % "
            f"| {r['fps']:.1f} | {r['rss_mb']:.0f} MB |"
            for r in runs
        ]
    else:
        lines.append("(Janus CPU per stream not measured: it needs root for `ip netns`.)")
    table = "\n".join(lines)
    print(table)
    # Quick and full runs keep separate parts, so `make bench` leaves the full one alone.
    write_section("virtual:quick" if arguments.quick else "virtual:full", table)


if __name__ == "__main__":
    main()
