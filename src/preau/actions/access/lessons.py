"""Video lessons: read and changed as their homework is."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.classwork import access_homework_by_id
from preau.actions.access.core import Row
from preau.adapters.sql.schema import video_lessons
from preau.domain.access import Action
from preau.domain.errors import NotFound
from preau.domain.lessons import VIDEO_NOT_FOUND
from preau.domain.people import Actor


async def access_video_by_id(
    connection: AsyncConnection, actor: Actor, video_id: int, action: Action, *, now: datetime
) -> tuple[Row, Row]:
    """The video lesson and its homework, if the actor may ``action`` the homework."""
    video = (
        await connection.execute(
            sa.select(video_lessons).where(
                video_lessons.c.id == video_id, video_lessons.c.school_id == actor.school_id
            )
        )
    ).first()
    if video is None:
        raise NotFound(VIDEO_NOT_FOUND)
    try:
        work = await access_homework_by_id(connection, actor, video.homework_id, action, now=now)
    except NotFound:
        raise NotFound(VIDEO_NOT_FOUND) from None
    return video, work
