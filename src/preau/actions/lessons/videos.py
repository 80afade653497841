"""Video lessons: a teacher uploads a video as a homework's content (probed at once, so a
renamed text file is refused with a sentence); the transcoder makes its renditions off
the request path (``transcoding.py``); pupils watch by byte ranges and resume where they
stopped; the teacher sees who watched how much."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_hand_ins_by_homework_id, access_video_by_id
from preau.actions.access.classwork import access_homework_by_id
from preau.actions.classwork.homework import person_name
from preau.actions.classwork.todo import group_scope
from preau.actions.context import Services
from preau.actions.warm import bump_versions
from preau.adapters.media import MediaError
from preau.adapters.sql.schema import (
    enrolments,
    people,
    video_lessons,
    video_renditions,
    video_views,
)
from preau.domain.access import Action
from preau.domain.bounds import Input
from preau.domain.errors import Conflict, Forbidden, InvalidInput, ServiceUnavailable
from preau.domain.lessons import (
    NOT_A_VIDEO,
    NOT_READY,
    TOO_BIG,
    State,
    byte_range,
    check_captions,
    read_probe,
    seconds_watched,
    watched,
)
from preau.domain.people import Actor, Profile
from preau.i18n import lazy

Row = sa.Row[tuple[object, ...]]
READ_CHUNK = 1024 * 1024
NO_TRANSCODER = lazy(
    "Video lessons need ffmpeg on the server, which is not installed here. "
    "Ask the person who runs Préau."
)
ALREADY_A_VIDEO = lazy("This homework already has a video: delete it first to send another.")
NOT_YOUR_PROGRESS = lazy("Only pupils record how far they watched.")
NO_RENDITION = lazy("This video has no such quality.")


class VideoSource(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    url: str
    height: int
    kbps: int
    bytes: int


class VideoView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    homework_id: int
    title: str
    state: State
    error: str = ""
    duration_s: float | None = None
    poster_url: str | None = None
    captions_url: str | None = None
    sources: tuple[VideoSource, ...] = ()
    position_s: int = 0  # where the reader (a pupil) stopped
    seconds_watched: int = 0


class Viewer(msgspec.Struct, frozen=True, kw_only=True):
    pupil_id: int
    name: str
    seconds_watched: int
    share: float  # of the video, 0 … 1
    position_s: int
    last_seen: datetime | None


class Progress(Input, kw_only=True):
    """A stretch just watched (``from_s`` to ``to_s``) and where the player is now."""

    position_s: float
    from_s: float
    to_s: float


async def receive_upload(
    read: Callable[[int], Awaitable[bytes]], limit_bytes: int, folder: Path
) -> Path:
    """Copy an upload to a file of its own, refusing it as soon as it passes the limit
    (a 4 GB upload never fills the disk)."""
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix="upload-", delete=False)  # noqa: SIM115 - closed below, kept on success
    path = Path(handle.name)
    size = 0
    try:
        with handle:
            while (chunk := await read(READ_CHUNK)) and size <= limit_bytes:
                size += len(chunk)
                handle.write(chunk)
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    if size > limit_bytes or size == 0:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        if size == 0:
            raise InvalidInput(NOT_A_VIDEO, field="file")
        raise InvalidInput(TOO_BIG, field="file", megabytes=limit_bytes // 1_000_000)
    return path


async def upload_video(
    services: Services, actor: Actor, homework_id: int, source: Path
) -> VideoView:
    """Probe the upload (so a wrong file is refused now, with a sentence), store it and
    queue it for the transcoder. The caller's file is removed whatever happens."""
    media = services.media
    try:
        if media is None:
            raise ServiceUnavailable(NO_TRANSCODER)
        now = services.now()
        async with services.engine.connect() as connection:
            await access_homework_by_id(connection, actor, homework_id, Action.CHANGE, now=now)
        try:
            info = read_probe(await media.probe(source))
        except MediaError:
            raise InvalidInput(NOT_A_VIDEO, field="file") from None
        key = f"v/{secrets.token_hex(1)}/{secrets.token_hex(16)}/source"
        await services.files.put_path(key, source, content_type="application/octet-stream")
        try:
            async with services.engine.begin() as connection:
                work = await access_homework_by_id(
                    connection, actor, homework_id, Action.CHANGE, now=now
                )
                await _no_video_yet(connection, actor, homework_id)
                result = await connection.execute(
                    video_lessons.insert().values(
                        school_id=actor.school_id,
                        homework_id=homework_id,
                        author_id=actor.person_id,
                        state=State.QUEUED.value,
                        source_key=key,
                        duration_ms=int(info.duration_s * 1000),
                        width=info.width,
                        height=info.height,
                        created_at=now,
                        updated_at=now,
                    )
                )
                video_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one key
                versions = await bump_versions(
                    connection, actor.school_id, [group_scope(work.group_id)], now=now
                )
        except BaseException:
            await services.files.delete(key)  # nothing half-written
            raise
        await services.versions.announce(actor.school_id, versions)
        if services.media_wakeup is not None:
            services.media_wakeup.set()
        return await get_video(services, actor, video_id)
    finally:
        await asyncio.to_thread(source.unlink, missing_ok=True)


async def _no_video_yet(connection: AsyncConnection, actor: Actor, homework_id: int) -> None:
    taken = await connection.execute(
        sa.select(video_lessons.c.id).where(
            video_lessons.c.school_id == actor.school_id,
            video_lessons.c.homework_id == homework_id,
        )
    )
    if taken.first() is not None:
        raise Conflict(ALREADY_A_VIDEO)


async def video_of_homework(services: Services, actor: Actor, homework_id: int) -> int | None:
    now = services.now()
    async with services.engine.connect() as connection:
        await access_homework_by_id(connection, actor, homework_id, Action.READ, now=now)
        found: int | None = (
            await connection.execute(
                sa.select(video_lessons.c.id).where(
                    video_lessons.c.school_id == actor.school_id,
                    video_lessons.c.homework_id == homework_id,
                )
            )
        ).scalar_one_or_none()
        return found


async def get_video(services: Services, actor: Actor, video_id: int) -> VideoView:
    now = services.now()
    async with services.engine.connect() as connection:
        video, work = await access_video_by_id(connection, actor, video_id, Action.READ, now=now)
        sources = (
            await connection.execute(
                sa.select(video_renditions)
                .where(video_renditions.c.video_id == video_id)
                .order_by(video_renditions.c.height)
            )
        ).all()
        view = None
        if actor.profile is Profile.PUPIL:
            view = (
                await connection.execute(
                    sa.select(video_views).where(
                        video_views.c.video_id == video_id,
                        video_views.c.pupil_id == actor.person_id,
                    )
                )
            ).first()
    base = f"/videos/{video_id}"
    ready = video.state == State.READY.value
    shown = [
        VideoSource(
            name=row.name,
            url=f"{base}/{row.name}.mp4",
            height=row.height,
            kbps=row.kbps,
            bytes=row.bytes,
        )
        for row in sources
    ]
    return VideoView(
        id=video.id,
        homework_id=work.id,
        title=work.title,
        state=State(video.state),
        error=video.error,
        duration_s=None if video.duration_ms is None else video.duration_ms / 1000,
        poster_url=f"{base}/poster.jpg" if ready and video.poster_key else None,
        captions_url=f"{base}/captions.vtt" if video.captions_key else None,
        sources=tuple(shown) if ready else (),
        position_s=view.position_s if view else 0,
        seconds_watched=view.seconds_watched if view else 0,
    )


class Served(msgspec.Struct, frozen=True, kw_only=True):
    """What to answer for a video file: a redirect (S3) or bytes from the store."""

    status: int
    content_type: str
    size: int
    byte_range: tuple[int, int] | None = None
    redirect: str | None = None
    key: str = ""


async def serve_file(
    services: Services, actor: Actor, video_id: int, name: str, range_header: str | None
) -> Served:
    """One rendition (``low.mp4``…), the poster or the captions, whole or by range."""
    now = services.now()
    async with services.engine.connect() as connection:
        video, _work = await access_video_by_id(connection, actor, video_id, Action.READ, now=now)
        if name == "poster.jpg":
            key, content_type = video.poster_key, "image/jpeg"
        elif name == "captions.vtt":
            key, content_type = video.captions_key, "text/vtt; charset=utf-8"
        else:
            found = (
                await connection.execute(
                    sa.select(video_renditions.c.key).where(
                        video_renditions.c.video_id == video_id,
                        video_renditions.c.name == name.removesuffix(".mp4"),
                    )
                )
            ).scalar_one_or_none()
            if video.state != State.READY.value:
                raise Conflict(NOT_READY)
            key, content_type = found, "video/mp4"
    if not key:
        raise InvalidInput(NO_RENDITION, field="name")
    if services.settings.files_signed_urls:
        url = await services.files.signed_url(
            key, filename=name, content_type=content_type, expires_seconds=3600
        )
        if url is not None:  # S3 serves ranges itself
            return Served(status=307, content_type=content_type, size=0, redirect=url)
    size = await services.files.size(key)
    asked = byte_range(range_header, size)
    return Served(
        status=200 if asked is None else 206,
        content_type=content_type,
        size=size,
        byte_range=asked,
        key=key,
    )


def file_bytes(services: Services, served: Served) -> AsyncIterator[bytes]:
    if served.byte_range is None:
        return services.files.open(served.key)
    start, end = served.byte_range
    return services.files.open_range(served.key, start, end)


async def save_progress(
    services: Services, actor: Actor, video_id: int, progress: Progress
) -> VideoView:
    """A pupil's player reports what it just played: merged into the stretches watched,
    the position kept to resume. Sending the same report twice changes nothing."""
    if actor.profile is not Profile.PUPIL:
        raise Forbidden(NOT_YOUR_PROGRESS)
    now = services.now()
    async with services.engine.begin() as connection:
        video, _work = await access_video_by_id(connection, actor, video_id, Action.READ, now=now)
        duration = (video.duration_ms or 0) / 1000
        if not 0 <= progress.position_s <= duration + 1:
            raise InvalidInput(lazy("A position is a number of seconds within the video."))
        existing = (
            await connection.execute(
                sa.select(video_views.c.watched).where(
                    video_views.c.video_id == video_id, video_views.c.pupil_id == actor.person_id
                )
            )
        ).scalar_one_or_none()
        before = [
            tuple(pair) for pair in msgspec.json.decode(existing or "[]", type=list[list[int]])
        ]
        intervals = watched(before, progress.from_s, progress.to_s, duration)  # type: ignore[arg-type]  # pairs of ints
        values = {
            "position_s": int(progress.position_s),
            "watched": msgspec.json.encode(intervals).decode(),
            "seconds_watched": seconds_watched(intervals),
            "updated_at": now,
        }
        if existing is None:
            await _insert_view(connection, actor, video_id, values)
        else:
            await connection.execute(
                video_views.update()
                .where(
                    video_views.c.video_id == video_id, video_views.c.pupil_id == actor.person_id
                )
                .values(**values)
            )
    return await get_video(services, actor, video_id)


async def _insert_view(
    connection: AsyncConnection, actor: Actor, video_id: int, values: dict[str, object]
) -> None:
    await connection.execute(
        video_views.insert().values(
            school_id=actor.school_id, video_id=video_id, pupil_id=actor.person_id, **values
        )
    )


async def viewers(services: Services, actor: Actor, video_id: int) -> list[Viewer]:
    """Every pupil of the group and how much they watched (teachers of the group, staff)."""
    now = services.now()
    async with services.engine.connect() as connection:
        video, work = await access_video_by_id(connection, actor, video_id, Action.READ, now=now)
        await access_hand_ins_by_homework_id(connection, actor, work.id, now=now)
        rows = (
            await connection.execute(
                sa.select(
                    people.c.id, people.c.given_name, people.c.family_name,
                    video_views.c.seconds_watched, video_views.c.position_s,
                    video_views.c.updated_at,
                )
                .join(enrolments, enrolments.c.person_id == people.c.id)
                .outerjoin(
                    video_views,
                    sa.and_(
                        video_views.c.pupil_id == people.c.id, video_views.c.video_id == video_id
                    ),
                )
                .where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.group_id == work.group_id,
                    enrolments.c.role == "pupil",
                )
                .order_by(people.c.family_name, people.c.given_name)
            )
        ).all()  # fmt: skip
    duration = max(1, (video.duration_ms or 0) // 1000)
    return [
        Viewer(
            pupil_id=row.id,
            name=person_name(row),
            seconds_watched=row.seconds_watched or 0,
            share=min(1.0, (row.seconds_watched or 0) / duration),
            position_s=row.position_s or 0,
            last_seen=row.updated_at,
        )
        for row in rows
    ]


async def set_captions(services: Services, actor: Actor, video_id: int, data: bytes) -> VideoView:
    text = check_captions(data)
    now = services.now()
    key = f"v/{secrets.token_hex(1)}/{secrets.token_hex(16)}/captions"
    async with services.engine.connect() as connection:
        video, _work = await access_video_by_id(connection, actor, video_id, Action.CHANGE, now=now)
    await services.files.put(key, text.encode(), content_type="text/vtt")
    try:
        async with services.engine.begin() as connection:
            await access_video_by_id(connection, actor, video_id, Action.CHANGE, now=now)
            await connection.execute(
                video_lessons.update()
                .where(video_lessons.c.id == video_id)
                .values(captions_key=key, updated_at=now)
            )
    except BaseException:
        await services.files.delete(key)
        raise
    if video.captions_key:
        with contextlib.suppress(OSError):
            await services.files.delete(video.captions_key)
    return await get_video(services, actor, video_id)
