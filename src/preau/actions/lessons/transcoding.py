"""The transcoder: takes queued videos one at a time, off the request path, and makes their
renditions and poster with ffmpeg. The queue is the ``video_lessons`` table itself: a
video is claimed by a conditional update (one process wins), and a claim older than the
longest transcode is taken over, so a process killed mid-way loses nothing.

Each process runs one worker (``MediaWorker``), woken by an upload in this process or
every few seconds; several processes share the queue through the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from preau.actions.context import Services
from preau.adapters.media import TRANSCODE_SECONDS, MediaError
from preau.adapters.sql.schema import video_lessons, video_renditions
from preau.domain.lessons import State, VideoInfo, renditions_for
from preau.i18n import lazy

log = logging.getLogger("preau.media")

BROKEN = lazy(
    "This video could not be converted: the file is damaged or incomplete. "
    "Send it again, or export it again from the camera or editing program."
)
POLL_SECONDS = 5.0


async def _claim(services: Services) -> sa.Row[tuple[object, ...]] | None:
    now = services.now()
    stale = now - timedelta(seconds=TRANSCODE_SECONDS)
    waiting = sa.or_(
        video_lessons.c.state == State.QUEUED.value,
        sa.and_(video_lessons.c.state == State.RUNNING.value, video_lessons.c.claimed_at < stale),
    )
    async with services.engine.begin() as connection:
        candidate = (
            await connection.execute(
                sa.select(video_lessons.c.id).where(waiting).order_by(video_lessons.c.id).limit(1)
            )
        ).scalar_one_or_none()
        if candidate is None:
            return None
        claimed = await connection.execute(
            video_lessons.update()
            .where(video_lessons.c.id == candidate, waiting)
            .values(state=State.RUNNING.value, claimed_at=now, updated_at=now)
        )
        if claimed.rowcount != 1:
            return None  # another process took it first
        return (
            await connection.execute(
                sa.select(video_lessons).where(video_lessons.c.id == candidate)
            )
        ).one()


async def run_next_job(services: Services) -> bool:
    """Transcode the next queued video, if any. True when one was taken."""
    media = services.media
    if media is None:
        return False
    video = await _claim(services)
    if video is None:
        return False
    made: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="preau-video-") as folder:
            source = Path(folder) / "source"
            with source.open("wb") as handle:
                async for chunk in services.files.open(str(video.source_key)):
                    handle.write(chunk)
            info = VideoInfo(
                duration_s=Decimal(video.duration_ms or 0) / 1000,
                width=video.width or 0,
                height=video.height or 0,
                has_audio=True,
            )
            prefix = f"v/{secrets.token_hex(1)}/{secrets.token_hex(16)}"
            rows = []
            for rendition in renditions_for(info):
                target = Path(folder) / f"{rendition.name}.mp4"
                await media.transcode(source, target, rendition, info)
                key = f"{prefix}/{rendition.name}"
                await services.files.put_path(key, target, content_type="video/mp4")
                made.append(key)
                rows.append(
                    {
                        "school_id": video.school_id,
                        "video_id": video.id,
                        "name": rendition.name,
                        "key": key,
                        "height": min(rendition.height, info.height),
                        "kbps": rendition.total_kbps,
                        "bytes": target.stat().st_size,
                    }
                )
            poster = Path(folder) / "poster.jpg"
            await media.poster(source, poster, float(info.duration_s) / 10)
            await services.files.put_path(f"{prefix}/poster", poster, content_type="image/jpeg")
            made.append(f"{prefix}/poster")
        async with services.engine.begin() as connection:
            await connection.execute(video_renditions.insert(), rows)
            await connection.execute(
                video_lessons.update()
                .where(video_lessons.c.id == video.id)
                .values(
                    state=State.READY.value,
                    poster_key=f"{prefix}/poster",
                    source_key=None,
                    updated_at=services.now(),
                )
            )
        await services.files.delete(str(video.source_key))
    except (MediaError, OSError) as error:
        log.warning("video %s could not be transcoded: %s", video.id, error)
        for key in made:  # nothing half-made stays behind
            with contextlib.suppress(OSError):
                await services.files.delete(key)
        async with services.engine.begin() as connection:
            await connection.execute(
                video_lessons.update()
                .where(video_lessons.c.id == video.id)
                .values(state=State.FAILED.value, error=BROKEN, updated_at=services.now())
            )
    return True


class MediaWorker:
    """One transcode at a time in this process, in the background."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.task: asyncio.Task[None] | None = None
        self.stopping = False

    async def _one_job(self) -> bool:
        """A video to transcode, else a class recording to make a video lesson of."""
        from preau.actions.virtual.recordings import run_next_recording  # noqa: PLC0415 - virtual imports lessons

        return await run_next_job(self.services) or await run_next_recording(self.services)

    def start(self) -> None:
        if self.services.media is None or self.task is not None:
            return
        self.services.media_wakeup = asyncio.Event()
        self.task = asyncio.create_task(self._loop(), name="preau-media")

    async def _loop(self) -> None:
        wakeup = self.services.media_wakeup
        assert wakeup is not None  # set in start()
        while not self.stopping:
            try:
                while not self.stopping and await self._one_job():
                    pass
            except Exception:  # a database hiccup: try again at the next round
                log.exception("the transcoder's round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), POLL_SECONDS)
            wakeup.clear()

    async def stop(self) -> None:
        """Stop between jobs. The flag, not only the cancellation: a cancellation that
        lands while a database call is being cancelled can be lost (seen on Python 3.11
        with aiosqlite), and the task would then run on and never end."""
        if self.task is not None:
            self.stopping = True
            if self.services.media_wakeup is not None:
                self.services.media_wakeup.set()
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
