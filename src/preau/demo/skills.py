"""The demo school's skills: its "Exposé" and end-of-sequence tests assess the socle
commun component of their subject, and each class has an evaluation of skills only
(group work: methods, and the person and the citizen), with levels for every pupil, so
a newcomer sees a levels grid and a pupil's summary."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.adapters.sql.schema import (
    enrolments,
    evaluation_skills,
    evaluations,
    marks_audit,
    skill_frameworks,
    skill_levels,
    skills,
)
from preau.domain.skills import SOCLE_CODE, level_of_rank

ASSESSED = ("Exposé", "Contrôle de fin de séquence")
# The socle's component a subject speaks for, by a word of its name (the first found).
SUBJECT_COMPONENTS = (
    ("français", "1.1"),
    ("anglais", "1.2"),
    ("langue", "1.2"),
    ("math", "1.3"),
    ("technologie", "4"),
    ("physique", "4"),
    ("svt", "4"),
    ("sciences", "4"),
    ("histoire", "5"),
    ("géographie", "5"),
    ("arts", "1.4"),
    ("musique", "1.4"),
    ("eps", "1.4"),
)
GROUP_WORK = ("Travail de groupe", ("2", "3"))


def component_of(subject: str) -> str:
    words = subject.casefold()
    return next((code for word, code in SUBJECT_COMPONENTS if word in words), "2")


def demo_level(pupil_id: int, seed: int) -> int:
    """A believable, repeatable level (1 to 4), mostly satisfactory."""
    spin = (pupil_id * 31 + seed * 17) % 10
    return 1 if spin == 0 else 2 if spin < 3 else 3 if spin < 8 else 4


async def seed_demo_skills(services: Services, connection: AsyncConnection, school_id: int) -> None:
    """Inside the demo's transaction, after its marks (``demo/marks.py``)."""
    socle = {
        row.code: row.id
        for row in await connection.execute(
            sa.select(skills.c.code, skills.c.id)
            .join(skill_frameworks, skill_frameworks.c.id == skills.c.framework_id)
            .where(skill_frameworks.c.school_id == school_id, skill_frameworks.c.code == SOCLE_CODE)
        )
    }
    if not socle:
        return
    pupils: dict[int, list[int]] = {}
    for row in await connection.execute(
        sa.select(enrolments.c.group_id, enrolments.c.person_id).where(
            enrolments.c.school_id == school_id, enrolments.c.role == "pupil"
        )
    ):
        pupils.setdefault(row.group_id, []).append(row.person_id)
    chosen = (
        await connection.execute(
            sa.select(evaluations).where(
                evaluations.c.school_id == school_id, evaluations.c.title.in_(ASSESSED)
            )
        )
    ).all()
    now = services.now()
    assessed: list[tuple[int, int, int, list[str]]] = [
        (row.id, row.group_id, row.teacher_id, [component_of(row.subject)]) for row in chosen
    ]
    done: set[int] = set()
    for row in chosen:  # one evaluation of skills only per class, by its first teacher
        if row.group_id in done:
            continue
        done.add(row.group_id)
        title, group_codes = GROUP_WORK
        result = await connection.execute(
            evaluations.insert().values(
                school_id=school_id,
                group_id=row.group_id,
                teacher_id=row.teacher_id,
                subject=row.subject,
                title=title,
                day=row.day,
                out_of_hundredths=0,
                coefficient_hundredths=0,
                marked=False,
                created_at=now,
                updated_at=now,
            )
        )
        evaluation_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one key
        assessed.append((evaluation_id, row.group_id, row.teacher_id, list(group_codes)))
    for evaluation_id, group_id, teacher_id, codes in assessed:
        await connection.execute(
            evaluation_skills.insert(),
            [
                {
                    "school_id": school_id,
                    "evaluation_id": evaluation_id,
                    "skill_id": socle[code],
                    "position": position,
                }
                for position, code in enumerate(codes, start=1)
            ],
        )
        levels = [
            {
                "school_id": school_id,
                "evaluation_id": evaluation_id,
                "skill_id": socle[code],
                "pupil_id": pupil_id,
                "level": demo_level(pupil_id, evaluation_id + socle[code]),
                "updated_by": teacher_id,
                "updated_at": now,
            }
            for code in codes
            for pupil_id in pupils.get(group_id, [])
        ]
        if levels:
            await connection.execute(skill_levels.insert(), levels)
            await connection.execute(
                marks_audit.insert(),
                [
                    {
                        "school_id": school_id,
                        "evaluation_id": evaluation_id,
                        "pupil_id": level["pupil_id"],
                        "actor_id": teacher_id,
                        "change": "skill",
                        "before": None,
                        "after": {
                            "skill_id": level["skill_id"],
                            "level": level_of_rank(int(level["level"])).value,
                        },
                        "changed_at": now,
                    }
                    for level in levels
                ],
            )
