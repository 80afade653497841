"""The demo school's marks: trimesters for its school year and a term of marks in every
subject taught, so a newcomer sees a grid, a report card and averages."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.adapters.sql.schema import (
    enrolments,
    evaluations,
    marks,
    marks_audit,
    marks_settings,
    school_years,
    terms,
)
from preau.domain.marks import Special, current_term, to_hundredths
from preau.domain.marks import Term as MarksTerm

# (title, out of, coefficient) of each subject's evaluations in the term.
EVALUATIONS = [
    ("Interrogation écrite", Decimal(10), Decimal(1)),
    ("Devoir surveillé", Decimal(20), Decimal(2)),
    ("Exposé", Decimal(20), Decimal(1)),
    ("Contrôle de fin de séquence", Decimal(20), Decimal("1.5")),
]


def demo_mark(pupil_id: int, seed: int, out_of: Decimal) -> tuple[int | None, str | None]:
    """A believable, repeatable mark (hundredths) or special value for one pupil."""
    spin = (pupil_id * 37 + seed * 11) % 41
    if spin == 3:
        return None, Special.ABSENT.value
    if spin == 7:
        return None, Special.EXEMPT.value
    if spin == 11:
        return None, Special.NOT_HANDED_IN.value
    on_twenty = Decimal(6) + Decimal(spin % 28) / 2  # 6 to 19.5, by half points
    return to_hundredths(min(on_twenty * out_of / 20, out_of)), None


async def seed_demo_marks(services: Services, connection: AsyncConnection, school_id: int) -> None:
    """Inside the demo's transaction: trimesters, and marks in the term of today."""
    year = (
        await connection.execute(
            sa.select(school_years).where(school_years.c.school_id == school_id)
        )
    ).first()
    if year is None:
        return
    first = year.starts_on
    bounds = [
        (first, date(first.year, 11, 30)),
        (date(first.year, 12, 1), date(first.year + 1, 3, 6)),
        (date(first.year + 1, 3, 7), year.ends_on),
    ]
    now = services.now()
    await connection.execute(
        marks_settings.insert().values(school_id=school_id, term_kind="trimester", updated_at=now)
    )
    made = []
    for position, (starts, ends) in enumerate(bounds, start=1):
        result = await connection.execute(
            terms.insert().values(
                school_id=school_id,
                school_year_id=year.id,
                position=position,
                name=f"Trimestre {position}",
                starts_on=starts,
                ends_on=ends,
            )
        )
        term_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one key
        made.append(
            MarksTerm(
                id=term_id,
                school_year_id=year.id,
                position=position,
                name=f"Trimestre {position}",
                starts_on=starts,
                ends_on=ends,
            )
        )
    today = now.date()
    term = current_term(made, today)
    if term is None:  # pragma: no cover - three were just made
        return
    last = max(term.starts_on, min(today, term.ends_on))
    span = (last - term.starts_on).days
    teaching = (
        await connection.execute(
            sa.select(enrolments.c.group_id, enrolments.c.person_id, enrolments.c.subject).where(
                enrolments.c.school_id == school_id,
                enrolments.c.role == "teacher",
                enrolments.c.subject.is_not(None),
            )
        )
    ).all()
    pupils: dict[int, list[int]] = {}
    for row in await connection.execute(
        sa.select(enrolments.c.group_id, enrolments.c.person_id).where(
            enrolments.c.school_id == school_id, enrolments.c.role == "pupil"
        )
    ):
        pupils.setdefault(row.group_id, []).append(row.person_id)
    for group_id, teacher_id, subject in teaching:
        for number, (title, out_of, coefficient) in enumerate(EVALUATIONS):
            day = term.starts_on + timedelta(days=span * (number + 1) // (len(EVALUATIONS) + 1))
            result = await connection.execute(
                evaluations.insert().values(
                    school_id=school_id,
                    group_id=group_id,
                    teacher_id=teacher_id,
                    subject=subject,
                    title=title,
                    day=day,
                    out_of_hundredths=to_hundredths(out_of),
                    coefficient_hundredths=to_hundredths(coefficient),
                    created_at=now,
                    updated_at=now,
                )
            )
            evaluation_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
            rows = []
            for pupil_id in pupils.get(group_id, []):
                hundredths, special = demo_mark(pupil_id, evaluation_id * 7 + teacher_id, out_of)
                rows.append(
                    {
                        "school_id": school_id,
                        "evaluation_id": evaluation_id,
                        "pupil_id": pupil_id,
                        "points_hundredths": hundredths,
                        "special": special,
                        "updated_by": teacher_id,
                        "updated_at": now,
                    }
                )
            if rows:
                await connection.execute(marks.insert(), rows)
                await connection.execute(
                    marks_audit.insert(),
                    [
                        {
                            "school_id": school_id,
                            "evaluation_id": evaluation_id,
                            "pupil_id": row["pupil_id"],
                            "actor_id": teacher_id,
                            "change": "mark",
                            "before": None,
                            "after": (
                                {"special": row["special"]}
                                if row["special"]
                                else {"points": str(Decimal(row["points_hundredths"]) / 100)}
                            ),
                            "changed_at": now,
                        }
                        for row in rows
                    ],
                )
