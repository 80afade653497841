"""Writing the timetable: weekly lessons and holidays (school admins), and one occurrence
changed (cancelled, moved, replaced) or held as a virtual class by its teacher or staff.
Every write bumps the school's timetable read version (see ``weeks``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_lesson_by_id, enforce
from preau.actions.context import Services
from preau.actions.timetable.lessons import expand_lessons, load_lessons
from preau.actions.timetable.weeks import TIMETABLE_SCOPE
from preau.actions.warm import bump_versions
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import (
    groups,
    people,
    timetable_changes,
    timetable_holidays,
    timetable_lessons,
)
from preau.domain.access import Action, directory_decision
from preau.domain.errors import InvalidInput
from preau.domain.people import STAFF_PROFILES, Actor
from preau.domain.timetable import (
    ChangeDraft,
    ChangeKind,
    Holiday,
    HolidayDraft,
    Lesson,
    LessonDraft,
    Occurrence,
    check_change,
    check_holiday,
    check_lesson,
    in_week_pattern,
)
from preau.i18n import lazy

NOT_AN_OCCURRENCE = lazy("This lesson does not take place on that day.")
NOT_A_TEACHER = lazy("Choose a teacher of your school.")
GROUP_UNKNOWN = lazy("This class or group does not exist or is not in your school.")


async def _timetable_changed(
    services: Services, connection: AsyncConnection, school_id: int
) -> dict[str, int]:
    """Inside the writer's transaction; announce the result after the commit."""
    return await bump_versions(connection, school_id, [TIMETABLE_SCOPE], now=services.now())


async def _check_teacher(
    connection: AsyncConnection, school_id: int, teacher_id: int, field: str
) -> None:
    row = (
        await connection.execute(
            sa.select(people.c.profile).where(
                people.c.id == teacher_id, people.c.school_id == school_id
            )
        )
    ).first()
    if row is None or row.profile not in {profile.value for profile in STAFF_PROFILES}:
        raise InvalidInput(NOT_A_TEACHER, field=field)


async def create_lesson(services: Services, actor: Actor, draft: LessonDraft) -> Lesson:
    enforce(directory_decision(actor, Action.CHANGE, school_id=actor.school_id))
    draft, starts, ends = check_lesson(draft)
    async with services.engine.begin() as connection:
        group = (
            await connection.execute(
                sa.select(groups.c.id).where(
                    groups.c.id == draft.group_id, groups.c.school_id == actor.school_id
                )
            )
        ).first()
        if group is None:
            raise InvalidInput(GROUP_UNKNOWN, field="group_id")
        if draft.teacher_id is not None:
            await _check_teacher(connection, actor.school_id, draft.teacher_id, "teacher_id")
        result = await connection.execute(
            timetable_lessons.insert().values(
                school_id=actor.school_id,
                group_id=draft.group_id,
                subject=draft.subject,
                teacher_id=draft.teacher_id,
                room=draft.room,
                weekday=draft.weekday,
                starts_minute=starts,
                ends_minute=ends,
                weeks=draft.weeks.value,
                first_day=draft.first_day,
                last_day=draft.last_day,
                virtual=draft.virtual,
                created_at=services.now(),
            )
        )
        lesson_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one key
        lesson = (await load_lessons(connection, actor.school_id, lesson_ids=[lesson_id]))[0]
        bumped = await _timetable_changed(services, connection, actor.school_id)
    await services.versions.announce(actor.school_id, bumped)
    return lesson


def takes_place(lesson: Lesson, day: date) -> bool:
    return (
        lesson.weekday == day.isoweekday()
        and lesson.first_day <= day <= lesson.last_day
        and in_week_pattern(lesson.weeks, day)
    )


async def _occurrence_to_change(
    connection: AsyncConnection, actor: Actor, lesson_id: int, day: date
) -> Lesson:
    """The lesson, if the actor may change it and it takes place on ``day``."""
    lesson = await access_lesson_by_id(connection, actor, lesson_id, Action.CHANGE)
    if not takes_place(lesson, day):
        raise InvalidInput(NOT_AN_OCCURRENCE, field="day")
    return lesson


async def _write_change(
    connection: AsyncConnection,
    school_id: int,
    lesson_id: int,
    day: date,
    *,
    update: dict[str, Any],
    insert: dict[str, Any],
) -> None:
    """One occurrence has at most one change row: update it, or insert it if there is none."""
    updated = await connection.execute(
        timetable_changes.update()
        .where(
            timetable_changes.c.school_id == school_id,
            timetable_changes.c.lesson_id == lesson_id,
            timetable_changes.c.day == day,
        )
        .values(**update)
    )
    if updated.rowcount == 0:
        await connection.execute(
            timetable_changes.insert().values(
                school_id=school_id, lesson_id=lesson_id, day=day, **insert
            )
        )


async def change_occurrence(services: Services, actor: Actor, draft: ChangeDraft) -> Occurrence:
    """Cancel, move or replace one occurrence (replacing an earlier change of it)."""
    starts, ends = check_change(draft)
    async with services.engine.begin() as connection:
        lesson = await _occurrence_to_change(connection, actor, draft.lesson_id, draft.day)
        if draft.new_teacher_id is not None:
            await _check_teacher(
                connection, actor.school_id, draft.new_teacher_id, "new_teacher_id"
            )
        values = {
            "kind": draft.kind.value,
            "new_day": draft.new_day,
            "new_starts_minute": starts,
            "new_ends_minute": ends,
            "new_room": " ".join(draft.new_room.split()) if draft.new_room is not None else None,
            "new_teacher_id": draft.new_teacher_id,
            "new_subject": draft.new_subject,
            "note": draft.note.strip(),
            "virtual": draft.virtual,
            "created_at": services.now(),
        }
        await _write_change(
            connection, actor.school_id, lesson.id, draft.day, update=values, insert=values
        )
        around = draft.new_day or draft.day
        span_start = min(draft.day, around)
        span = (max(draft.day, around) - span_start).days + 1
        zone = await school_zone(services, actor.school_id, connection)
        occurrences = await expand_lessons(
            connection, actor.school_id, [lesson], span_start, span, zone=zone
        )
        bumped = await _timetable_changed(services, connection, actor.school_id)
    await services.versions.announce(actor.school_id, bumped)
    return next(item for item in occurrences if item.day == draft.day)


async def set_virtual(
    services: Services, actor: Actor, lesson_id: int, day: date, *, virtual: bool
) -> None:
    """Hold one occurrence as a virtual class, or back in class, keeping any other change."""
    async with services.engine.begin() as connection:
        lesson = await _occurrence_to_change(connection, actor, lesson_id, day)
        await _write_change(
            connection,
            actor.school_id,
            lesson.id,
            day,
            update={"virtual": virtual},
            insert={
                "kind": ChangeKind.VIRTUAL.value,
                "virtual": virtual,
                "created_at": services.now(),
            },
        )
        bumped = await _timetable_changed(services, connection, actor.school_id)
    await services.versions.announce(actor.school_id, bumped)


async def add_holiday(services: Services, actor: Actor, draft: HolidayDraft) -> Holiday:
    enforce(directory_decision(actor, Action.CHANGE, school_id=actor.school_id))
    draft = check_holiday(draft)
    async with services.engine.begin() as connection:
        await connection.execute(
            timetable_holidays.insert().values(
                school_id=actor.school_id,
                name=draft.name,
                first_day=draft.first_day,
                last_day=draft.last_day,
            )
        )
        bumped = await _timetable_changed(services, connection, actor.school_id)
    await services.versions.announce(actor.school_id, bumped)
    return Holiday(name=draft.name, first_day=draft.first_day, last_day=draft.last_day)
