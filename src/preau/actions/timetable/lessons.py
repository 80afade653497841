"""Reading the timetable: weekly lessons, one-off changes and holidays, expanded into the
occurrences of some days (for week views, feeds and virtual classes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.adapters.sql.schema import (
    enrolments,
    groups,
    people,
    timetable_changes,
    timetable_holidays,
    timetable_lessons,
)
from preau.domain.people import STAFF_PROFILES, Profile
from preau.domain.timetable import Change, ChangeKind, Holiday, Lesson, Occurrence, Weeks, expand

Row = sa.Row[Any]


teachers = people.alias("teachers")
new_teachers = people.alias("new_teachers")


def _lesson(row: Row) -> Lesson:
    return Lesson(
        id=row.id,
        group_id=row.group_id,
        group_name=row.group_name,
        subject=row.subject,
        teacher_id=row.teacher_id,
        teacher_name=f"{row.teacher_given} {row.teacher_family}" if row.teacher_id else "",
        room=row.room,
        weekday=row.weekday,
        starts_minute=row.starts_minute,
        ends_minute=row.ends_minute,
        weeks=Weeks(row.weeks),
        first_day=row.first_day,
        last_day=row.last_day,
        virtual=bool(row.virtual),
    )


def _lessons_query(school_id: int) -> sa.Select[Any]:
    return (
        sa.select(
            timetable_lessons,
            groups.c.name.label("group_name"),
            teachers.c.given_name.label("teacher_given"),
            teachers.c.family_name.label("teacher_family"),
        )
        .join(groups, groups.c.id == timetable_lessons.c.group_id)
        .outerjoin(teachers, teachers.c.id == timetable_lessons.c.teacher_id)
        .where(timetable_lessons.c.school_id == school_id)
    )


async def load_lessons(
    connection: AsyncConnection,
    school_id: int,
    *,
    group_ids: Sequence[int] | None = None,
    teacher_id: int | None = None,
    lesson_ids: Sequence[int] | None = None,
) -> list[Lesson]:
    query = _lessons_query(school_id)
    conditions: list[sa.ColumnElement[bool]] = []
    if group_ids is not None:
        conditions.append(timetable_lessons.c.group_id.in_(group_ids))
    if teacher_id is not None:
        replaced_by_them = sa.select(timetable_changes.c.lesson_id).where(
            timetable_changes.c.school_id == school_id,
            timetable_changes.c.new_teacher_id == teacher_id,
        )
        conditions.append(
            sa.or_(
                timetable_lessons.c.teacher_id == teacher_id,
                timetable_lessons.c.id.in_(replaced_by_them),
            )
        )
    if lesson_ids is not None:
        conditions.append(timetable_lessons.c.id.in_(lesson_ids))
    if conditions:
        query = query.where(sa.or_(*conditions))
    rows = await connection.execute(query.order_by(timetable_lessons.c.id))
    return [_lesson(row) for row in rows]


async def load_changes(
    connection: AsyncConnection, school_id: int, lesson_ids: Sequence[int], first: date, last: date
) -> list[Change]:
    if not lesson_ids:
        return []
    rows = await connection.execute(
        sa.select(
            timetable_changes,
            new_teachers.c.given_name.label("given"),
            new_teachers.c.family_name.label("family"),
        )
        .outerjoin(new_teachers, new_teachers.c.id == timetable_changes.c.new_teacher_id)
        .where(
            timetable_changes.c.school_id == school_id,
            timetable_changes.c.lesson_id.in_(lesson_ids),
            sa.or_(
                timetable_changes.c.day.between(first, last),
                timetable_changes.c.new_day.between(first, last),
            ),
        )
    )
    return [
        Change(
            lesson_id=row.lesson_id,
            day=row.day,
            kind=ChangeKind(row.kind),
            new_day=row.new_day,
            new_starts_minute=row.new_starts_minute,
            new_ends_minute=row.new_ends_minute,
            new_room=row.new_room,
            new_teacher_id=row.new_teacher_id,
            new_teacher_name=f"{row.given} {row.family}" if row.new_teacher_id else None,
            new_subject=row.new_subject,
            note=row.note,
            virtual=row.virtual,
        )
        for row in rows
    ]


async def load_holidays(
    connection: AsyncConnection, school_id: int, first: date, last: date
) -> list[Holiday]:
    rows = await connection.execute(
        sa.select(timetable_holidays).where(
            timetable_holidays.c.school_id == school_id,
            timetable_holidays.c.first_day <= last,
            timetable_holidays.c.last_day >= first,
        )
    )
    return [Holiday(name=r.name, first_day=r.first_day, last_day=r.last_day) for r in rows]


async def _groups_of(connection: AsyncConnection, school_id: int, person_id: int) -> list[int]:
    rows = await connection.execute(
        sa.select(enrolments.c.group_id).where(
            enrolments.c.school_id == school_id,
            enrolments.c.person_id == person_id,
            enrolments.c.role == "pupil",
        )
    )
    return [row.group_id for row in rows]


async def occurrences_for_person(
    connection: AsyncConnection,
    school_id: int,
    person: Row,
    first: date,
    days: int,
    *,
    zone: ZoneInfo,
) -> list[Occurrence]:
    """The lessons a person attends (pupil) or teaches (staff), expanded over the days."""
    if person.profile == Profile.PUPIL.value:
        lessons = await load_lessons(
            connection, school_id, group_ids=await _groups_of(connection, school_id, person.id)
        )
    elif person.profile in {profile.value for profile in STAFF_PROFILES}:
        lessons = await load_lessons(connection, school_id, teacher_id=person.id)
    else:
        lessons = []
    teacher = person.id if person.profile != Profile.PUPIL.value else None
    return await expand_lessons(
        connection, school_id, lessons, first, days, zone=zone, teacher_id=teacher
    )


async def expand_lessons(
    connection: AsyncConnection,
    school_id: int,
    lessons: list[Lesson],
    first: date,
    days: int,
    *,
    zone: ZoneInfo,
    teacher_id: int | None = None,
) -> list[Occurrence]:
    last = first + timedelta(days=days - 1)
    # Changes are found by original or new day; a wide margin catches long moves.
    changes = await load_changes(
        connection,
        school_id,
        [lesson.id for lesson in lessons],
        first - timedelta(days=60),
        last + timedelta(days=60),
    )
    holidays = await load_holidays(connection, school_id, first, last)
    found = expand(lessons, changes, holidays, first_day=first, days=days, zone=zone)
    if teacher_id is not None:
        # A teacher replaced on one day does not teach it; a replacement teaches only it.
        found = [item for item in found if item.teacher_id == teacher_id]
    return found
