"""Exercises: an exercise is read and changed as its homework is, an attempt as the
pupil's hand-in for that homework; the question bank by its own rule."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.classwork import access_hand_in_by_id, access_homework_by_id
from preau.actions.access.core import Row, enforce
from preau.adapters.sql.schema import attempts, bank_questions, exercises
from preau.domain.access import Action, question_bank_decision
from preau.domain.classwork import HandInRight
from preau.domain.errors import NotFound
from preau.domain.people import Actor
from preau.i18n import lazy

EXERCISE_NOT_FOUND = lazy("This exercise does not exist or you cannot see it.")
ATTEMPT_NOT_FOUND = lazy("This attempt does not exist or you cannot see it.")
QUESTION_NOT_FOUND = lazy("This question does not exist or you cannot see it.")
NOT_YOUR_QUESTION = lazy("Only the teacher who wrote this question can change it.")


async def access_exercise_by_id(
    connection: AsyncConnection, actor: Actor, exercise_id: int, action: Action, *, now: datetime
) -> tuple[Row, Row]:
    """The exercise and its homework, if the actor may ``action`` the homework."""
    exercise = (
        await connection.execute(
            sa.select(exercises).where(
                exercises.c.id == exercise_id, exercises.c.school_id == actor.school_id
            )
        )
    ).first()
    if exercise is None:
        raise NotFound(EXERCISE_NOT_FOUND)
    try:
        work = await access_homework_by_id(connection, actor, exercise.homework_id, action, now=now)
    except NotFound:
        raise NotFound(EXERCISE_NOT_FOUND) from None
    return exercise, work


async def access_attempt_by_id(
    connection: AsyncConnection,
    actor: Actor,
    attempt_id: int,
    right: HandInRight,
    *,
    now: datetime,
) -> tuple[Row, Row, Row]:
    """The attempt, its exercise and homework, if the actor has ``right`` on the pupil's
    hand-in: the pupil works on their own, parents read, teachers of the group mark."""
    found = (
        await connection.execute(
            sa.select(attempts, exercises.c.homework_id)
            .join(exercises, exercises.c.id == attempts.c.exercise_id)
            .where(attempts.c.id == attempt_id, attempts.c.school_id == actor.school_id)
        )
    ).first()
    if found is None:
        raise NotFound(ATTEMPT_NOT_FOUND)
    try:
        work, _hand_in = await access_hand_in_by_id(
            connection, actor, found.homework_id, found.pupil_id, right, now=now
        )
    except NotFound:
        raise NotFound(ATTEMPT_NOT_FOUND) from None
    exercise = (
        await connection.execute(sa.select(exercises).where(exercises.c.id == found.exercise_id))
    ).one()
    return found, exercise, work


async def access_bank_question_by_id(
    connection: AsyncConnection, actor: Actor, question_id: int, action: Action
) -> Row:
    row = (
        await connection.execute(
            sa.select(bank_questions).where(
                bank_questions.c.id == question_id,
                bank_questions.c.school_id == actor.school_id,
                bank_questions.c.deleted_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise NotFound(QUESTION_NOT_FOUND)
    enforce(
        question_bank_decision(actor, action, school_id=row.school_id, author_id=row.author_id),
        QUESTION_NOT_FOUND,
        NOT_YOUR_QUESTION,
    )
    return row
