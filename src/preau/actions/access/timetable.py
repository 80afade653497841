"""The timetable's lessons."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.core import (
    child_ids,
    enforce,
)
from preau.adapters.sql.schema import (
    enrolments,
)
from preau.domain.access import (
    Action,
    Decision,
    lesson_decision,
)
from preau.domain.errors import NotFound
from preau.domain.people import Actor, Profile
from preau.domain.timetable import LESSON_NOT_FOUND, Lesson

# -- the timetable ------------------------------------------------------------------------


async def access_lesson_by_id(
    connection: AsyncConnection, actor: Actor, lesson_id: int, action: Action
) -> Lesson:
    """The only way to reach a lesson for an actor (see :func:`lesson_decision`)."""
    # The lesson is loaded as the timetable loads every lesson; the timetable imports
    # this module for its own checks, so its loader is imported here, when first asked.
    from preau.actions.timetable.lessons import load_lessons  # noqa: PLC0415 — see above

    found = await load_lessons(connection, actor.school_id, lesson_ids=[lesson_id])
    if not found:
        raise NotFound(LESSON_NOT_FOUND, field="lesson_id")
    lesson = found[0]
    member = False
    if actor.profile in (Profile.PUPIL, Profile.PARENT):
        members = {actor.person_id} | await child_ids(connection, actor)
        member = (
            await connection.execute(
                sa.select(enrolments.c.id).where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.group_id == lesson.group_id,
                    enrolments.c.person_id.in_(members),
                )
            )
        ).first() is not None
    decision = lesson_decision(
        actor,
        action,
        lesson_school_id=actor.school_id,
        actor_teaches_lesson=lesson.teacher_id == actor.person_id,
        actor_or_child_in_group=member,
    )
    if decision is Decision.HIDE:  # the lesson forms name the field
        raise NotFound(LESSON_NOT_FOUND, field="lesson_id")
    enforce(decision)
    return lesson
