"""The demo school's video lesson: a homework item whose content is a short generated
clip, queued for the transcoder that ``preau serve`` runs (so a newcomer sees it become
ready). Where ffmpeg is not installed, the demo has no video and ``make run`` says so."""

from __future__ import annotations

import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.adapters.sql.schema import homework, video_lessons
from preau.domain.lessons import State, read_probe

SECONDS = 20


async def seed_demo_video(
    services: Services, connection: AsyncConnection, school_id: int, teacher_id: int, class_id: int
) -> bool:
    """Inside the demo's transaction; False when there is no ffmpeg to make the clip."""
    media = services.media
    if media is None:
        return False
    now = services.now()
    with tempfile.TemporaryDirectory(prefix="preau-demo-") as folder:
        clip = Path(folder) / "lesson.mp4"
        await media.test_pattern(clip, SECONDS)
        info = read_probe(await media.probe(clip))
        key = f"v/{secrets.token_hex(1)}/{secrets.token_hex(16)}/source"
        await services.files.put_path(key, clip, content_type="video/mp4")
    result = await connection.execute(
        homework.insert().values(
            school_id=school_id,
            group_id=class_id,
            author_id=teacher_id,
            title="Leçon vidéo : les fractions en 20 secondes",
            instructions="Regardez la leçon, puis faites le quiz.",
            instructions_format="text",
            publish_at=now,
            due_at=now.replace(hour=17, minute=0, second=0, microsecond=0) + timedelta(days=3),
            estimated_minutes=5,
            hand_in_expected=False,
            chosen_pupils=False,
            revision=1,
            subject="Mathématiques",
            created_at=now,
            updated_at=now,
        )
    )
    await connection.execute(
        video_lessons.insert().values(
            school_id=school_id,
            homework_id=int(result.inserted_primary_key[0]),  # type: ignore[index]  # one key
            author_id=teacher_id,
            state=State.QUEUED.value,
            source_key=key,
            duration_ms=int(info.duration_s * 1000),
            width=info.width,
            height=info.height,
            created_at=now,
            updated_at=now,
        )
    )
    return True
