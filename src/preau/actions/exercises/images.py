"""A picture with a question of an exercise: set and removed by whoever may change the
exercise's homework, read by whoever may read it. Stored in the files port under a random
key, its media type sniffed from its bytes; a replaced picture's file is deleted once the
new one is committed, and a failed write leaves no file behind."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_exercise_by_id
from preau.actions.context import Services
from preau.actions.exercises.authoring import load_questions
from preau.adapters.sql.schema import exercise_images
from preau.domain.access import Action
from preau.domain.errors import NotFound
from preau.domain.exercises.images import check_picture
from preau.domain.people import Actor
from preau.i18n import lazy

NO_SUCH_QUESTION = lazy("This exercise has no question at this place.")
NO_PICTURE = lazy("This question has no picture.")


@dataclass(frozen=True)
class Picture:
    media_type: str
    size: int
    chunks: AsyncIterator[bytes]


async def set_picture(
    services: Services, actor: Actor, exercise_id: int, position: int, *, data: bytes, alt: str
) -> None:
    media_type, description = check_picture(data, alt)
    key = f"q/{secrets.token_hex(1)}/{secrets.token_hex(16)}"
    await services.files.put(key, data, content_type=media_type)
    try:
        async with services.engine.begin() as connection:
            await _question_of(services, connection, actor, exercise_id, position)
            replaced = await _remove_row(connection, exercise_id, position)
            await connection.execute(
                exercise_images.insert().values(
                    school_id=actor.school_id,
                    exercise_id=exercise_id,
                    position=position,
                    file_key=key,
                    media_type=media_type,
                    size=len(data),
                    alt=description,
                    created_at=services.now(),
                )
            )
    except BaseException:
        with contextlib.suppress(Exception):
            await services.files.delete(key)
        raise
    if replaced is not None:
        await services.files.delete(replaced)


async def _question_of(
    services: Services, connection: AsyncConnection, actor: Actor, exercise_id: int, position: int
) -> None:
    """Refused unless the actor may change the exercise and it has this question."""
    exercise, _work = await access_exercise_by_id(
        connection, actor, exercise_id, Action.CHANGE, now=services.now()
    )
    if not 0 <= position < len(load_questions(exercise)):
        raise NotFound(NO_SUCH_QUESTION)


async def remove_picture(services: Services, actor: Actor, exercise_id: int, position: int) -> None:
    async with services.engine.begin() as connection:
        await access_exercise_by_id(
            connection, actor, exercise_id, Action.CHANGE, now=services.now()
        )
        removed = await _remove_row(connection, exercise_id, position)
    if removed is None:
        raise NotFound(NO_PICTURE)
    await services.files.delete(removed)


async def open_picture(
    services: Services, actor: Actor, exercise_id: int, position: int
) -> Picture:
    async with services.engine.connect() as connection:
        await access_exercise_by_id(connection, actor, exercise_id, Action.READ, now=services.now())
        row = (
            await connection.execute(
                sa.select(exercise_images).where(
                    exercise_images.c.exercise_id == exercise_id,
                    exercise_images.c.position == position,
                )
            )
        ).first()
    if row is None:
        raise NotFound(NO_PICTURE)
    return Picture(
        media_type=row.media_type, size=row.size, chunks=services.files.open(row.file_key)
    )


async def _remove_row(connection: AsyncConnection, exercise_id: int, position: int) -> str | None:
    """The picture's row deleted; its file key, to delete once committed."""
    return (
        await connection.execute(
            exercise_images.delete()
            .where(
                exercise_images.c.exercise_id == exercise_id,
                exercise_images.c.position == position,
            )
            .returning(exercise_images.c.file_key)
        )
    ).scalar_one_or_none()
