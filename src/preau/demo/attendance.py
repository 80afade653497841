"""The demo school's attendance: the roll calls of the last school week (most pupils
present, a few absent or late), and for the demo pupil one absence the parent has
justified (waiting for the office) and one not yet justified, so a newcomer sees the
roll call, the parent's page and the office's desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.actions.timetable.lessons import expand_lessons, load_lessons
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import (
    absences,
    enrolments,
    parent_links,
    roll_call_entries,
    roll_calls,
)
from preau.domain.attendance import Reason, Source, State, Status
from preau.domain.timetable import Occurrence, monday_of


def demo_status(pupil_id: int, lesson_id: int, ordinal: int) -> tuple[Status, int | None]:
    """A believable, repeatable line of a roll call."""
    spin = (pupil_id * 7 + lesson_id * 3 + ordinal) % 29
    if spin == 0:
        return Status.ABSENT, None
    if spin == 1:
        return Status.LATE, 5 + (pupil_id % 3) * 5
    return Status.PRESENT, None


async def seed_demo_attendance(
    services: Services, connection: AsyncConnection, school_id: int, *, teacher_id: int
) -> None:
    """Inside the demo's transaction: the roll calls of last week and of this week so far,
    taken by their teachers."""
    zone = await school_zone(services, school_id, connection)
    now = services.now()
    monday = monday_of(now.astimezone(zone).date()) - timedelta(days=7)
    lessons = await load_lessons(connection, school_id)
    occurrences = [
        item
        for item in await expand_lessons(connection, school_id, lessons, monday, 12, zone=zone)
        if item.status != "cancelled" and item.ends_at < now
    ]
    pupils: dict[int, list[int]] = {}
    for row in await connection.execute(
        sa.select(enrolments.c.group_id, enrolments.c.person_id).where(
            enrolments.c.school_id == school_id, enrolments.c.role == "pupil"
        )
    ):
        pupils.setdefault(int(row.group_id), []).append(int(row.person_id))
    child = (
        await connection.execute(
            sa.select(parent_links.c.child_id, parent_links.c.parent_id).where(
                parent_links.c.school_id == school_id
            )
        )
    ).first()
    chosen = _Chosen()
    if child is not None:
        chosen.child_id, chosen.parent_id = int(child.child_id), int(child.parent_id)
        own = [item for item in occurrences if chosen.child_id in pupils.get(item.group_id, [])]
        chosen.pending = own[0] if own else None
        chosen.unjustified = own[3] if len(own) > 3 else None
    for occurrence in occurrences:
        taker = occurrence.teacher_id or teacher_id
        created = await connection.execute(
            roll_calls.insert().values(
                school_id=school_id,
                lesson_id=occurrence.lesson_id,
                day=occurrence.day,
                group_id=occurrence.group_id,
                starts_at=occurrence.starts_at,
                ends_at=occurrence.ends_at,
                taken_by=taker,
                taken_at=occurrence.starts_at + timedelta(minutes=5),
                updated_at=occurrence.starts_at + timedelta(minutes=5),
            )
        )
        roll_call_id = int(created.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
        lines = [
            (pupil_id, *chosen.status(pupil_id, occurrence))
            for pupil_id in pupils.get(occurrence.group_id, [])
        ]
        if not lines:
            continue
        await connection.execute(
            roll_call_entries.insert(),
            [
                {
                    "school_id": school_id,
                    "roll_call_id": roll_call_id,
                    "pupil_id": pupil_id,
                    "status": status.value,
                    "minutes": minutes,
                }
                for pupil_id, status, minutes in lines
            ],
        )
        absent = [pupil_id for pupil_id, status, _minutes in lines if status is Status.ABSENT]
        if absent:
            await connection.execute(
                absences.insert(),
                [
                    chosen.absence(school_id, pupil_id, roll_call_id, occurrence, taker)
                    for pupil_id in absent
                ],
            )


@dataclass
class _Chosen:
    """The demo parent's child, and the two lessons the child missed on purpose."""

    child_id: int = 0
    parent_id: int = 0
    pending: Occurrence | None = None  # justified by the parent, waiting for the office
    unjustified: Occurrence | None = None

    def status(self, pupil_id: int, occurrence: Occurrence) -> tuple[Status, int | None]:
        if pupil_id == self.child_id:
            if occurrence in (self.pending, self.unjustified):
                return Status.ABSENT, None
            found = demo_status(pupil_id, occurrence.lesson_id, occurrence.day.toordinal())
            return found if found[0] is not Status.ABSENT else (Status.PRESENT, None)
        return demo_status(pupil_id, occurrence.lesson_id, occurrence.day.toordinal())

    def absence(
        self, school_id: int, pupil_id: int, roll_call_id: int, occurrence: Occurrence, taker: int
    ) -> dict[str, object]:
        justified = pupil_id % 2 == 1 and pupil_id != self.child_id
        row: dict[str, object] = {
            "school_id": school_id,
            "pupil_id": pupil_id,
            "starts_at": occurrence.starts_at,
            "ends_at": occurrence.ends_at,
            "source": Source.LESSON.value,
            "roll_call_id": roll_call_id,
            "recorded_by": taker,
            "recorded_at": occurrence.starts_at + timedelta(minutes=5),
            "state": State.ACCEPTED.value if justified else State.UNJUSTIFIED.value,
            "reason": Reason.ILLNESS.value if justified else None,
            "comment": "",
            "justified_by": None,
            "justified_at": None,
        }
        if pupil_id == self.child_id and occurrence == self.pending:
            row.update(
                state=State.PENDING.value,
                reason=Reason.ILLNESS.value,
                comment="Fièvre depuis la veille, elle est restée à la maison.",
                justified_by=self.parent_id,
                justified_at=occurrence.starts_at + timedelta(hours=3),
            )
        return row
