"""The roll-call write: app CPU per request of ``PUT /api/v1/attendance/lessons/{id}/{day}``
for a class of 30 pupils, on PostgreSQL, Préau without the gate on one uvicorn worker
pinned to CPU 0 (``serving.start_preau``), requests sent one at a time from CPU 1.

    .venv/bin/python bench/attendance.py [--quick]

Two kinds of write, each on its own lesson occurrences:

- *first save*: a roll call not taken yet (30 entries, 3 absences with their audit, a
  notice to each absent pupil's parent, the new unread counts), then the roll call read
  back, as the page and the API answer;
- *sent again*: the same roll call once more (idempotent: checked, nothing written).

CPU is the server process's user + system time (``/proc/<pid>/stat``) over the run,
divided by the requests; it holds up better than wall time when other work shares the
machine. The table goes into ``docs/performance.md`` between the ``attendance`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from preau.actions import timetable
from preau.actions.directory import create_school, insert_person
from preau.adapters.sql.engine import migrate
from preau.adapters.sql.schema import enrolments, groups, parent_links, people
from preau.bootstrap import build_services
from preau.domain.directory import PersonDraft
from preau.domain.people import Actor, Profile
from preau.domain.timetable import LessonDraft

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serving
from gate_common import free_port, write_section
from hot_paths import postgres_url

PUPILS = 30
ABSENT = 3
PASSWORD = "bench-password-0123456789"  # noqa: S105 - a throwaway bench account
TICKS = os.sysconf("SC_CLK_TCK")


async def prepare(url: str, files: Path) -> tuple[list[str], list[int]]:
    """A class of 30 pupils (each with a parent), its teacher and a maths lesson every
    weekday for a year; returns the roll calls' paths (one per occurrence) and the pupils."""
    services = build_services(serving.settings_for(url, files))
    try:
        await migrate(services.engine)
        school_id = await create_school(services, uai="0759998Y", name="Collège de l'appel")
        password_hash = await services.passwords.hash(PASSWORD)
        async with services.engine.begin() as connection:
            teacher_id = await insert_person(
                services,
                connection,
                school_id,
                PersonDraft(
                    given_name="Ada", family_name="Prof", profile=Profile.TEACHER,
                    username="prof.appel",
                ),
            )  # fmt: skip
            await connection.execute(
                people.update().where(people.c.id == teacher_id).values(password_hash=password_hash)
            )
            group = await connection.execute(
                groups.insert().values(school_id=school_id, kind="class", name="6e A")
            )
            group_id = int(group.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
            pupils = []
            for number in range(PUPILS):
                pupil = await insert_person(
                    services,
                    connection,
                    school_id,
                    PersonDraft(given_name=f"Élève{number}", family_name="Classe",
                                profile=Profile.PUPIL),
                )  # fmt: skip
                parent = await insert_person(
                    services,
                    connection,
                    school_id,
                    PersonDraft(given_name=f"Parent{number}", family_name="Classe",
                                profile=Profile.PARENT),
                )  # fmt: skip
                await connection.execute(
                    parent_links.insert().values(
                        school_id=school_id, parent_id=parent, child_id=pupil
                    )
                )
                pupils.append(pupil)
            await connection.execute(
                enrolments.insert(),
                [
                    {"school_id": school_id, "group_id": group_id, "person_id": person,
                     "role": "pupil"}
                    for person in pupils
                ]
                + [{"school_id": school_id, "group_id": group_id, "person_id": teacher_id,
                    "role": "teacher", "subject": "Mathématiques"}],
            )  # fmt: skip
        first = datetime.now(UTC).date() - timedelta(days=400)
        by_weekday = {}
        for weekday in range(1, 6):
            lesson = await timetable.create_lesson(
                services,
                Actor(teacher_id, school_id, Profile.ADMIN),
                LessonDraft(
                    group_id=group_id, teacher_id=teacher_id, subject="Mathématiques",
                    weekday=weekday, starts="08:30", ends="09:25", room="B12",
                    first_day=first, last_day=first + timedelta(days=399),
                ),
            )  # fmt: skip
            by_weekday[weekday] = lesson.id
        days = [first + timedelta(days=n) for n in range(400)]
        paths = [
            f"/api/v1/attendance/lessons/{by_weekday[day.isoweekday()]}/{day.isoformat()}"
            for day in days
            if day.isoweekday() in by_weekday
        ]
        return paths, pupils
    finally:
        await services.engine.dispose()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def run(
    client: httpx.Client, pid: int, requests: list[tuple[str, dict[str, Any]]]
) -> tuple[float, float]:
    """CPU milliseconds of the server per request, and the median wall milliseconds."""
    walls = []
    before = cpu_seconds(pid)
    for path, body in requests:
        started = time.perf_counter()
        response = client.put(path, json=body)
        walls.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    spent = cpu_seconds(pid) - before
    return spent * 1000 / len(requests), statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (a minute)")
    options = parser.parse_args()
    count = 40 if options.quick else 150
    url = asyncio.run(postgres_url("preau_bench_attendance"))
    with tempfile.TemporaryDirectory() as folder:
        files = Path(folder)
        paths, pupils = asyncio.run(prepare(url, files))
        port = free_port()
        server = serving.start_preau(url, files, port, cpu=0)
        try:
            if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(0, {1})  # the client on CPU 1, the server on CPU 0
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                token = client.post(
                    "/api/v1/session", json={"username": "prof.appel", "password": PASSWORD}
                ).json()["token"]
                client.headers["authorization"] = f"Bearer {token}"
                body = {
                    "entries": [
                        {"pupil_id": pupil, "status": "absent" if n < ABSENT else "present"}
                        for n, pupil in enumerate(pupils)
                    ]
                }
                run(client, server.pid, [(path, body) for path in paths[:5]])  # warm up
                fresh = [(path, body) for path in paths[5 : 5 + count]]
                first_cpu, first_wall = run(client, server.pid, fresh)
                again_cpu, again_wall = run(client, server.pid, fresh)
        finally:
            server.terminate()
            server.wait(10)
    table = "\n".join(
        [
            f"Roll-call write, a class of {PUPILS} (`.venv/bin/python bench/attendance.py"
            f"{' --quick' if options.quick else ''}`, {datetime.now(UTC):%Y-%m-%d}, Python "
            f"{platform.python_version()}, uvicorn, one worker on CPU 0, PostgreSQL, "
            f"{len(fresh)} requests each, one at a time):",
            "",
            "| write | app CPU per request | median wall time |",
            "|---|---|---|",
            f"| first save ({ABSENT} absent, parents told), then read back "
            f"| {first_cpu:.1f} ms | {first_wall:.1f} ms |",
            f"| the same roll call sent again (nothing written) "
            f"| {again_cpu:.1f} ms | {again_wall:.1f} ms |",
            "",
            "CPU is the server's user + system time over the run divided by the requests "
            "(PostgreSQL's own CPU is not in it); wall times include waiting for PostgreSQL "
            "and for a CPU on a machine shared with other work. A first save runs 20 SQL "
            "statements, the read back included, whatever the size of the class "
            "(`tests/attendance/test_attendance_http.py`). Nothing of it is cached: a roll "
            "call is written once a lesson, not read by the thousands.",
        ]
    )
    print(table)
    write_section("attendance", table)


if __name__ == "__main__":
    main()
