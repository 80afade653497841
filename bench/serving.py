"""Serving Préau's warm to-do for benchmarks: a pupil with a week of homework, and Préau as
``bootstrap.build_app`` builds it without the gate, on one uvicorn worker pinned to a CPU.

Built on the public composition root (``build_app``) rather than on its layers, so a
benchmark keeps working when the layers are rearranged. ``python bench/serving.py
--database URL --files DIR --port N`` serves it in the foreground.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn

from preau.actions import classwork
from preau.actions.directory import create_school, insert_person
from preau.adapters.sql.engine import migrate
from preau.adapters.sql.schema import enrolments, groups
from preau.bootstrap import build_app, build_services
from preau.domain.classwork import HomeworkDraft, TurnIn
from preau.domain.directory import PersonDraft
from preau.domain.people import Actor, Profile
from preau.gate.settings import GateSettings
from preau.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_common import ROOT, pinned, wait_for_port

SECRET = "serving-bench-secret-0123456789abcdefghijkl"  # noqa: S105 - a throwaway bench key
HOMEWORK_ITEMS = 15  # a busy week for one pupil across their subjects
TODO_PATH = "/api/v1/todo"


def settings_for(url: str, files_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        secret_key=SECRET,
        files_dir=files_dir,
        log_json=False,
        cookie_secure=False,  # plain HTTP on loopback
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
    )


async def prepare_pupil(url: str, files_dir: Path) -> dict[str, str]:
    """A migrated database with one class, its teacher, a pupil and a week of homework
    (a third of it handed in); returns the pupil's cookies."""
    services = build_services(settings_for(url, files_dir))
    try:
        await migrate(services.engine)
        school_id = await create_school(services, uai="0759999Z", name="Collège du banc d'essai")
        async with services.engine.begin() as connection:
            teacher_id = await insert_person(
                services,
                connection,
                school_id,
                PersonDraft(given_name="Ada", family_name="Prof", profile=Profile.TEACHER),
            )
            pupil_id = await insert_person(
                services,
                connection,
                school_id,
                PersonDraft(given_name="Léa", family_name="Élève", profile=Profile.PUPIL),
            )
            group = await connection.execute(
                groups.insert().values(school_id=school_id, kind="class", name="6e A")
            )
            group_id = int(group.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
            await connection.execute(
                enrolments.insert(),
                [
                    {"school_id": school_id, "group_id": group_id, "person_id": pupil_id,
                     "role": "pupil"},
                    {"school_id": school_id, "group_id": group_id, "person_id": teacher_id,
                     "role": "teacher", "subject": "Mathématiques"},
                ],
            )  # fmt: skip
        teacher = Actor(teacher_id, school_id, Profile.TEACHER)
        pupil = Actor(pupil_id, school_id, Profile.PUPIL)
        now = datetime.now(UTC)
        for number in range(HOMEWORK_ITEMS):
            work = await classwork.create_homework(
                services,
                teacher,
                HomeworkDraft(
                    group_id=group_id,
                    title=f"Exercices {number + 1} : fractions et décimaux",
                    instructions="Faire les exercices de la page 42.",
                    due_at=now + timedelta(days=1 + number % 7, hours=number),
                    estimated_minutes=30,
                    hand_in_expected=number % 3 != 0,
                ),
            )
            if number % 3 == 1:
                await classwork.turn_in(services, pupil, work.id, TurnIn(text="Fait."))
        token = services.sessions.issue_session(pupil, "bench-device", now=time.time())
        return {"preau_session": token, "preau_csrf": "bench-csrf-cookie-value"}
    finally:
        await services.engine.dispose()


def start_preau(url: str, files_dir: Path, port: int, cpu: int = 0) -> subprocess.Popen[bytes]:
    """Préau without the gate on one uvicorn worker pinned to ``cpu``; stop it with
    ``terminate()``."""
    command = pinned(
        cpu,
        [sys.executable, __file__, "--database", url, "--files", str(files_dir),
         "--port", str(port)],
    )  # fmt: skip
    server = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        wait_for_port(port, server)
    except RuntimeError:
        server.terminate()
        server.wait(10)
        raise
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--files", required=True)
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    app = build_app(
        settings_for(arguments.database, Path(arguments.files)), GateSettings(enabled=False)
    )
    uvicorn.run(app, host="127.0.0.1", port=arguments.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
