"""Attendance: a lesson's roll call, a pupil's absences, one absence, a class's figures and
a parent's limited access (docs/attendance.md)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.core import GROUP_NOT_FOUND, Row, enforce, teaches_pupil
from preau.adapters.sql.schema import absences, enrolments, groups, parent_links, people
from preau.domain.access import (
    attendance_decision,
    class_attendance_decision,
    parent_access_decision,
    roll_call_decision,
)
from preau.domain.attendance import (
    ABSENCE_NOT_FOUND,
    NOT_YOUR_ROLL_CALL,
    ONLY_OFFICE,
    ONLY_PARENTS_JUSTIFY,
    PUPIL_NOT_FOUND,
    AttendanceAction,
)
from preau.domain.errors import NotFound
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.domain.timetable import LESSON_NOT_FOUND, Lesson


async def _group_roles(connection: AsyncConnection, actor: Actor, group_id: int) -> set[str]:
    """The actor's roles in a group, a parent's through their children (one query)."""
    related: sa.ColumnElement[bool] = enrolments.c.person_id == actor.person_id
    if actor.profile is Profile.PARENT:
        children = sa.select(parent_links.c.child_id).where(
            parent_links.c.school_id == actor.school_id,
            parent_links.c.parent_id == actor.person_id,
        )
        related = sa.or_(related, enrolments.c.person_id.in_(children))
    rows = await connection.execute(
        sa.select(enrolments.c.role).where(
            enrolments.c.school_id == actor.school_id,
            enrolments.c.group_id == group_id,
            related,
        )
    )
    return {str(row.role) for row in rows}


async def access_roll_call_by_lesson(
    connection: AsyncConnection, actor: Actor, lesson_id: int
) -> Lesson:
    """A lesson whose roll calls the actor may take or read: its teacher (or
    the day's replacement: the action checks the occurrence), a teacher of its group, the
    office."""
    # Loaded as the timetable loads every lesson (imported when first asked, as
    # access/timetable.py does, since the timetable imports this package).
    from preau.actions.timetable.lessons import load_lessons  # noqa: PLC0415 — see above

    found = await load_lessons(connection, actor.school_id, lesson_ids=[lesson_id])
    if not found:
        raise NotFound(LESSON_NOT_FOUND, field="lesson_id")
    lesson = found[0]
    roles = await _group_roles(connection, actor, lesson.group_id)
    teaches = actor.profile in STAFF_PROFILES and (
        lesson.teacher_id == actor.person_id or "teacher" in roles
    )
    decision = roll_call_decision(
        actor,
        school_id=actor.school_id,
        teaches_lesson=teaches,
        actor_or_child_in_group="pupil" in roles,
    )
    enforce(decision, LESSON_NOT_FOUND, NOT_YOUR_ROLL_CALL)
    return lesson


async def _decide_on_pupil(
    connection: AsyncConnection, actor: Actor, pupil_id: int, action: AttendanceAction
) -> None:
    is_child = False
    limited = False
    teaches = False
    if actor.profile is Profile.PARENT:
        link = (
            await connection.execute(
                sa.select(parent_links.c.limited_access).where(
                    parent_links.c.school_id == actor.school_id,
                    parent_links.c.parent_id == actor.person_id,
                    parent_links.c.child_id == pupil_id,
                )
            )
        ).first()
        is_child = link is not None
        limited = bool(link.limited_access) if link is not None else False
    elif actor.profile is Profile.TEACHER:
        teaches = await teaches_pupil(connection, actor, pupil_id)
    decision = attendance_decision(
        actor,
        action,
        pupil_id=pupil_id,
        pupil_school_id=actor.school_id,
        is_child_of_actor=is_child,
        parent_access_limited=limited,
        teaches_pupil=teaches,
    )
    refusal = ONLY_PARENTS_JUSTIFY if action is AttendanceAction.JUSTIFY else ONLY_OFFICE
    enforce(decision, PUPIL_NOT_FOUND, refusal)


async def access_pupil_attendance_by_id(
    connection: AsyncConnection, actor: Actor, pupil_id: int, action: AttendanceAction
) -> Row:
    """A pupil whose absences the actor may read, justify or record (the pupil's row)."""
    row = (
        await connection.execute(
            sa.select(people).where(
                people.c.id == pupil_id,
                people.c.school_id == actor.school_id,
                people.c.profile == Profile.PUPIL.value,
            )
        )
    ).first()
    if row is None:
        raise NotFound(PUPIL_NOT_FOUND, field="pupil_id")
    await _decide_on_pupil(connection, actor, pupil_id, action)
    return row


async def access_absence_by_id(
    connection: AsyncConnection, actor: Actor, absence_id: int, action: AttendanceAction
) -> Row:
    """One absence the actor may read, justify (parents) or answer (the office)."""
    row = (
        await connection.execute(
            sa.select(absences).where(
                absences.c.id == absence_id, absences.c.school_id == actor.school_id
            )
        )
    ).first()
    if row is None:
        raise NotFound(ABSENCE_NOT_FOUND, field="absence_id")
    try:
        await _decide_on_pupil(connection, actor, int(row.pupil_id), action)
    except NotFound:
        raise NotFound(ABSENCE_NOT_FOUND, field="absence_id") from None
    return row


async def access_class_attendance_by_id(
    connection: AsyncConnection, actor: Actor, group_id: int
) -> Row:
    """A class or group whose figures (every pupil's half-days) the actor may read."""
    row = (
        await connection.execute(
            sa.select(groups).where(groups.c.id == group_id, groups.c.school_id == actor.school_id)
        )
    ).first()
    if row is None:
        raise NotFound(GROUP_NOT_FOUND, field="group_id")
    roles = await _group_roles(connection, actor, group_id)
    decision = class_attendance_decision(
        actor,
        school_id=int(row.school_id),
        teaches_group=actor.profile in STAFF_PROFILES and "teacher" in roles,
        actor_or_child_in_group="pupil" in roles,
    )
    enforce(decision, GROUP_NOT_FOUND, NOT_YOUR_ROLL_CALL)
    return row


async def access_parent_link(
    connection: AsyncConnection, actor: Actor, parent_id: int, child_id: int
) -> Row:
    """A parent's link to a child, whose access the school's administrators may limit."""
    enforce(parent_access_decision(actor, school_id=actor.school_id))
    row = (
        await connection.execute(
            sa.select(parent_links).where(
                parent_links.c.school_id == actor.school_id,
                parent_links.c.parent_id == parent_id,
                parent_links.c.child_id == child_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(PUPIL_NOT_FOUND, field="child_id")
    return row
