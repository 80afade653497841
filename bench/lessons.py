"""Lessons under load, in one run on one server (uvicorn, one worker pinned to CPU 0; load
from CPU 1):

1. a class of 30 pupils taking one exercise at once: each starts an attempt, saves its
   10 answers and hands in, all 30 concurrently; answers saved per second, p50/p99 of an
   answer's save and of a hand-in, and the server's CPU time per answer;
2. a video served by byte ranges: a 24 MB rendition read in 1 MB ranges, as a player
   seeking does; MB/s and the server's CPU time per MB (the part Python pays when the
   files are local; on S3 with signed URLs it pays nothing).

    .venv/bin/python bench/lessons.py [--quick]

The app runs without the gate, on SQLite with the in-process shared state (the embedded
default). The table goes into ``docs/performance.md`` between the ``lessons`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import sqlalchemy as sa
import uvicorn

from preau.actions.directory import create_school
from preau.adapters.sql.engine import migrate
from preau.adapters.sql.schema import (
    enrolments,
    exercises,
    groups,
    homework,
    people,
    video_lessons,
    video_renditions,
)
from preau.bootstrap import around, build_router, build_services
from preau.demo.exercises import demo_questions
from preau.domain.exercises.attempts import Policy
from preau.domain.people import Actor, Profile
from preau.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_common import ROOT, free_port, pinned, wait_for_port, write_section

SECRET = "lessons-benchmark-secret-0123456789abcdef"  # noqa: S105 - a throwaway bench key
PUPILS = 30
VIDEO_BYTES = 24 * 1024 * 1024
RANGE_BYTES = 1024 * 1024


def settings_for(database: Path, folder: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        secret_key=SECRET,
        files_dir=folder / "files",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        media_worker=False,
        log_json=False,
    )


def serve(database: Path, folder: Path, port: int) -> None:
    settings = settings_for(database, folder)
    services = build_services(settings)
    app = around(build_router(services), services, settings, gate=None)  # type: ignore[arg-type]  # the bench passes the router the way bootstrap does
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def seed(database: Path, folder: Path) -> dict[str, Any]:
    """A class of 30 pupils, a homework whose content is the demo's exercise (10 questions,
    attempts unlimited), and a video lesson with one 24 MB rendition."""
    services = build_services(settings_for(database, folder))
    await migrate(services.engine)
    school_id = await create_school(services, uai="0759998Y", name="Collège du banc d’essai")
    now = services.now()
    person = {"school_id": school_id, "created_at": now, "updated_at": now}
    async with services.engine.begin() as connection:
        teacher = await connection.execute(
            people.insert().values(
                profile="teacher", username="prof.banc", given_name="Paul", family_name="Banc",
                **person,
            )
        )  # fmt: skip
        teacher_id = int(teacher.inserted_primary_key[0])  # type: ignore[index]  # one row: its key
        await connection.execute(
            people.insert(),
            [
                {"profile": "pupil", "username": f"eleve.{n:02d}", "given_name": "Élève",
                 "family_name": f"N{n:02d}", **person}
                for n in range(PUPILS)
            ],
        )  # fmt: skip
        pupil_ids = [
            int(row.id)
            for row in await connection.execute(
                sa.select(people.c.id).where(people.c.profile == "pupil").order_by(people.c.id)
            )
        ]
        group = await connection.execute(
            groups.insert().values(school_id=school_id, kind="class", name="6e Z")
        )
        class_id = int(group.inserted_primary_key[0])  # type: ignore[index]  # one row: its key
        await connection.execute(
            enrolments.insert(),
            [{"school_id": school_id, "group_id": class_id, "person_id": p, "role": "pupil"}
             for p in pupil_ids]
            + [{"school_id": school_id, "group_id": class_id, "person_id": teacher_id,
                "role": "teacher"}],
        )  # fmt: skip
        work = {
            "school_id": school_id, "group_id": class_id, "author_id": teacher_id,
            "instructions": "", "instructions_format": "text", "publish_at": now,
            "due_at": now + timedelta(days=2), "hand_in_expected": True, "chosen_pupils": False,
            "revision": 1, "created_at": now, "updated_at": now,
        }  # fmt: skip
        quiz = await connection.execute(homework.insert().values(title="Quiz", **work))
        quiz_id = int(quiz.inserted_primary_key[0])  # type: ignore[index]  # one row: its key
        made = await connection.execute(
            exercises.insert().values(
                school_id=school_id, homework_id=quiz_id, author_id=teacher_id,
                policy=msgspec.json.encode(Policy(attempts=None)).decode(),
                questions=msgspec.json.encode(demo_questions()).decode(),
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        exercise_id = int(made.inserted_primary_key[0])  # type: ignore[index]  # one row: its key
        lesson = await connection.execute(homework.insert().values(title="Leçon", **work))
        lesson_id = int(lesson.inserted_primary_key[0])  # type: ignore[index]  # one row: its key
        video = await connection.execute(
            video_lessons.insert().values(
                school_id=school_id, homework_id=lesson_id, author_id=teacher_id, state="ready",
                duration_ms=600_000, width=854, height=480, created_at=now, updated_at=now,
            )
        )  # fmt: skip
        video_id = int(video.inserted_primary_key[0])  # type: ignore[index]  # one row: its key
        key = f"v/ab/{secrets.token_hex(16)}/low"
        await connection.execute(
            video_renditions.insert().values(
                school_id=school_id, video_id=video_id, name="low", key=key, height=240,
                kbps=262, bytes=VIDEO_BYTES,
            )
        )  # fmt: skip
    await services.files.put(key, os.urandom(VIDEO_BYTES), content_type="video/mp4")
    clock = time.time()
    tokens = [
        services.sessions.issue_session(
            Actor(person_id=p, school_id=school_id, profile=Profile.PUPIL), f"bench-{p}", now=clock
        )
        for p in pupil_ids
    ]
    await services.state.close()
    await services.engine.dispose()
    return {"exercise_id": exercise_id, "video_id": video_id, "tokens": tokens}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def answer_for(question: dict[str, Any]) -> dict[str, Any]:
    kind = question["kind"]
    if kind in ("single", "multiple"):
        return {"chosen": [question["options"][0]["index"]]}
    if kind == "true_false":
        return {"truth": True}
    if kind == "matching":
        return {"matches": [o["index"] for o in question["options"][: len(question["prompts"])]]}
    if kind == "ordering":
        return {"order": [o["index"] for o in question["options"]]}
    if kind == "blanks":
        return {"texts": ["numérateur", "0"]}
    return {"text": "15"}


async def one_pupil(
    client: httpx.AsyncClient, token: str, exercise_id: int, saves: list[float],
    hand_ins: list[float],
) -> None:  # fmt: skip
    headers = {"authorization": f"Bearer {token}"}
    started = await client.post(f"/api/v1/exercises/{exercise_id}/attempts", headers=headers)
    attempt = started.json()
    for question in attempt["questions"]:
        began = time.perf_counter()
        saved = await client.put(
            f"/api/v1/attempts/{attempt['id']}/answers/{question['position']}",
            json=answer_for(question),
            headers=headers,
        )
        saves.append(time.perf_counter() - began)
        assert saved.status_code == 200, saved.text
    began = time.perf_counter()
    handed = await client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers)
    hand_ins.append(time.perf_counter() - began)
    assert handed.status_code == 200, handed.text


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def class_at_once(url: str, data: dict[str, Any], pid: int, rounds: int) -> dict[str, float]:
    saves: list[float] = []
    hand_ins: list[float] = []
    limits = httpx.Limits(max_connections=PUPILS)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        cpu = cpu_seconds(pid)
        began = time.perf_counter()
        for _ in range(rounds):
            await asyncio.gather(
                *(one_pupil(client, token, data["exercise_id"], saves, hand_ins)
                  for token in data["tokens"])
            )  # fmt: skip
        elapsed = time.perf_counter() - began
        cpu = cpu_seconds(pid) - cpu
    requests = len(saves) + len(hand_ins) + PUPILS * rounds
    return {
        "answers_per_s": len(saves) / elapsed,
        "save_p50_ms": percentile(saves, 0.5) * 1000,
        "save_p99_ms": percentile(saves, 0.99) * 1000,
        "hand_in_p50_ms": percentile(hand_ins, 0.5) * 1000,
        "hand_in_p99_ms": percentile(hand_ins, 0.99) * 1000,
        "cpu_ms_per_request": cpu / requests * 1000,
        "answers": len(saves),
    }


async def video_ranges(url: str, data: dict[str, Any], pid: int, passes: int) -> dict[str, float]:
    headers = {"authorization": f"Bearer {data['tokens'][0]}"}
    path = f"/videos/{data['video_id']}/low.mp4"
    received = 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        cpu = cpu_seconds(pid)
        began = time.perf_counter()
        for _ in range(passes):
            for start in range(0, VIDEO_BYTES, RANGE_BYTES):
                end = min(VIDEO_BYTES, start + RANGE_BYTES) - 1
                response = await client.get(
                    path, headers={**headers, "range": f"bytes={start}-{end}"}
                )
                assert response.status_code == 206, response.text
                received += len(response.content)
        elapsed = time.perf_counter() - began
        cpu = cpu_seconds(pid) - cpu
    megabytes = received / 1024 / 1024
    return {"mb_per_s": megabytes / elapsed, "cpu_ms_per_mb": cpu / megabytes * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(Path(options.serve[0]), Path(options.serve[1]), int(options.serve[2]))
        return
    rounds, passes = (1, 2) if options.quick else (3, 8)
    with tempfile.TemporaryDirectory(prefix="preau-bench-lessons-") as folder:
        database = Path(folder) / "bench.sqlite3"
        data = asyncio.run(seed(database, Path(folder)))
        port = free_port()
        process = subprocess.Popen(
            pinned(0, [sys.executable, __file__, "--serve", str(database), folder, str(port)]),
            cwd=ROOT,
        )
        try:
            wait_for_port(port, process, timeout=90)
            os.sched_setaffinity(0, {1} if os.cpu_count() and os.cpu_count() > 1 else {0})  # type: ignore[operator]  # cpu_count is checked
            url = f"http://127.0.0.1:{port}"
            exercise = asyncio.run(class_at_once(url, data, process.pid, rounds))
            video = asyncio.run(video_ranges(url, data, process.pid, passes))
        finally:
            process.terminate()
            process.wait(10)
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    rows = "\n".join(
        f"| {label} | {value} |"
        for label, value in (
            (
                f"a class of {PUPILS} taking a 10-question exercise at once: answers saved per s",
                f"{exercise['answers_per_s']:.0f}",
            ),
            (
                "an answer's save, p50 / p99",
                f"{exercise['save_p50_ms']:.0f} / {exercise['save_p99_ms']:.0f} ms",
            ),
            (
                "a hand-in (marking, turning the hand-in in), p50 / p99",
                f"{exercise['hand_in_p50_ms']:.0f} / {exercise['hand_in_p99_ms']:.0f} ms",
            ),
            ("server CPU per request of that run", f"{exercise['cpu_ms_per_request']:.2f} ms"),
            (
                "a video read in 1 MB ranges through the app (local files)",
                f"{video['mb_per_s']:.0f} MB/s",
            ),
            ("server CPU per MB served", f"{video['cpu_ms_per_mb']:.2f} ms"),
        )
    )
    command = "`.venv/bin/python bench/lessons.py" + (" --quick`" if options.quick else "`")
    body = f"""## Lessons: a class taking an exercise, a video by ranges

{command}, {when}, {platform.machine()}, uvicorn with one worker pinned to CPU 0 (SQLite,
in-process state, no gate), the load on CPU 1.

| measure | value |
|---|---:|
{rows}

Every answer is a write (the last one for a question replaces the previous), so a class's
burst costs what its answers cost; the p99 is the queue of 30 pupils on one core. With
S3 and `PREAU_FILES_SIGNED_URLS`, the video's bytes never pass through Python.
"""
    print(body)
    write_section("lessons", body)


if __name__ == "__main__":
    main()
