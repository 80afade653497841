"""Recording a virtual class (Janus VideoRoom ``enable_recording`` into a folder Préau
chose) and making the recording a video lesson of the class: janus-pp-rec and ffmpeg put
the teacher's tracks in one file, which becomes a homework item's video through the
video-lesson path (probe, transcoder). The ``virtual_recordings`` row is the queue, as
``video_lessons`` is for the transcoder: claimed by a conditional update, a stale claim
taken over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa

from preau.actions.access import access_room_by_id
from preau.actions.classwork import create_homework, delete_homework
from preau.actions.context import Services
from preau.actions.lessons.videos import upload_video
from preau.actions.virtual.rooms import require_host, room_view
from preau.adapters.janus import JanusUnavailable
from preau.adapters.media import MediaError
from preau.adapters.recordings import CONVERT_SECONDS, JanusRecordings
from preau.adapters.sql.schema import virtual_recordings, virtual_rooms
from preau.domain.classwork import HomeworkDraft
from preau.domain.errors import Conflict, PreauError, ServiceUnavailable
from preau.domain.people import Actor, Profile
from preau.domain.replay import (
    ALREADY_RECORDING,
    CONVERSION_FAILED,
    NO_TOOLS,
    NOT_RECORDING,
    NOTHING_RECORDED,
    RecordingState,
    choose_tracks,
    target_extension,
)
from preau.domain.virtual import ROOM_OVER, UNAVAILABLE, room_secret
from preau.i18n import gettext, lazy

log = logging.getLogger("preau.virtual.recordings")
Row = sa.Row[Any]
REPLAY_TITLE = lazy("Replay: {title}")
REPLAY_INSTRUCTIONS = lazy("The recording of the virtual class “{title}”.")


class RecordingView(msgspec.Struct, frozen=True, kw_only=True):
    state: RecordingState
    error: str = ""
    homework_id: int | None = None
    started_at: str | None = None


def _view(row: Row | None) -> RecordingView:
    if row is None:
        return RecordingView(state=RecordingState.NONE)
    return RecordingView(
        state=RecordingState(row.state),
        error=gettext(row.error) if row.error else "",
        homework_id=row.homework_id,
        started_at=row.started_at.isoformat(),
    )


async def _latest(connection: Any, room_id: int) -> Row | None:
    found: Row | None = (
        await connection.execute(
            sa.select(virtual_recordings)
            .where(virtual_recordings.c.room_id == room_id)
            .order_by(virtual_recordings.c.id.desc())
            .limit(1)
        )
    ).first()
    return found


async def recording(services: Services, actor: Actor, room_id: int) -> RecordingView:
    """The room's latest recording, for its teacher."""
    async with services.engine.connect() as connection:
        _, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        return _view(await _latest(connection, room_id))


async def set_recording(
    services: Services, actor: Actor, room_id: int, *, on: bool
) -> RecordingView:
    """Start recording the room (every publisher, into a new folder), or stop and queue
    the recording for the media worker. Asking for the state it is already in is refused
    with a sentence, so a double click never makes two recordings."""
    pool = services.janus
    now = services.now()
    async with services.engine.begin() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        # Hold the room row: two clicks cannot both start (or stop) a recording.
        await connection.execute(
            sa.select(virtual_rooms.c.id).where(virtual_rooms.c.id == room_id).with_for_update()
        )
        latest = await _latest(connection, room_id)
        running = latest is not None and latest.state == RecordingState.RECORDING.value
        if on and running:
            raise Conflict(ALREADY_RECORDING)
        if not on and not running:
            raise Conflict(NOT_RECORDING)
        if on and room_view(services, room, role, now).over:
            raise Conflict(ROOM_OVER)
        if pool is None or not pool.configured or room.node is None or not pool.healthy(room.node):
            raise ServiceUnavailable(UNAVAILABLE)
        node = pool.by_name[room.node]
        secret = room_secret(services.settings.janus_token_secret, room.janus_room)
        if on:
            folder = (
                services.settings.janus_recordings_dir.resolve()
                / f"room-{room_id}"
                / secrets.token_hex(8)
            )
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            result = await connection.execute(
                virtual_recordings.insert().values(
                    school_id=actor.school_id,
                    room_id=room_id,
                    teacher_id=actor.person_id,
                    state=RecordingState.RECORDING.value,
                    folder=str(folder),
                    started_at=now,
                    updated_at=now,
                )
            )
            recording_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one key
            try:
                await pool.admin.start_recording(
                    node, janus_room=room.janus_room, room_secret=secret, folder=str(folder)
                )
            except JanusUnavailable:
                raise ServiceUnavailable(UNAVAILABLE) from None  # the row is rolled back
        else:
            assert latest is not None  # running
            recording_id = latest.id
            try:
                await pool.admin.stop_recording(
                    node, janus_room=room.janus_room, room_secret=secret
                )
            except JanusUnavailable:
                log.warning("room %s: Janus did not stop recording; processing anyway", room_id)
            await connection.execute(
                virtual_recordings.update()
                .where(virtual_recordings.c.id == recording_id)
                .values(state=RecordingState.PROCESSING.value, stopped_at=now, updated_at=now)
            )
        row = (
            await connection.execute(
                sa.select(virtual_recordings).where(virtual_recordings.c.id == recording_id)
            )
        ).one()
    if not on and services.media_wakeup is not None:
        services.media_wakeup.set()
    return _view(row)


# -- the media worker's part --------------------------------------------------------------


async def _claim(services: Services) -> Row | None:
    now = services.now()
    stale = now - timedelta(seconds=4 * CONVERT_SECONDS)
    waiting = sa.and_(
        virtual_recordings.c.state == RecordingState.PROCESSING.value,
        sa.or_(virtual_recordings.c.claimed_at.is_(None), virtual_recordings.c.claimed_at < stale),
    )
    async with services.engine.begin() as connection:
        candidate = (
            await connection.execute(
                sa.select(virtual_recordings.c.id)
                .where(waiting)
                .order_by(virtual_recordings.c.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if candidate is None:
            return None
        claimed = await connection.execute(
            virtual_recordings.update()
            .where(virtual_recordings.c.id == candidate, waiting)
            .values(claimed_at=now, updated_at=now)
        )
        if claimed.rowcount != 1:
            return None  # another process took it first
        found: Row = (
            await connection.execute(
                sa.select(
                    virtual_recordings,
                    virtual_rooms.c.group_id,
                    virtual_rooms.c.title,
                    virtual_rooms.c.ends_at,
                )
                .join(virtual_rooms, virtual_rooms.c.id == virtual_recordings.c.room_id)
                .where(virtual_recordings.c.id == candidate)
            )
        ).one()
        return found


async def _finish(
    services: Services, recording_id: int, state: RecordingState, **values: Any
) -> None:
    async with services.engine.begin() as connection:
        await connection.execute(
            virtual_recordings.update()
            .where(virtual_recordings.c.id == recording_id)
            .values(state=state.value, updated_at=services.now(), **values)
        )


async def make_replay_file(tools: JanusRecordings, folder: Path, work: Path) -> Path:
    """One media file of the recording's main publisher (MediaError, or PreauError when
    nothing usable was recorded)."""
    video, audio = choose_tracks(await tools.tracks(folder))
    if video is None:
        raise Conflict(NOTHING_RECORDED)
    made: dict[str, Path] = {}
    for track in (video, audio):
        if track is not None:
            target = work / f"{track.kind}.{target_extension(track)}"
            await tools.convert(folder / track.name, target)
            made[track.kind] = target
    replay = work / ("replay.mp4" if made["video"].suffix == ".mp4" else "replay.webm")
    await tools.mux(made["video"], made.get("audio"), replay)
    return replay


async def run_next_recording(services: Services) -> bool:
    """Make the next stopped recording a video lesson, if any. True when one was taken."""
    tools = JanusRecordings.found()
    if tools is None or services.media is None:
        return False
    row = await _claim(services)
    if row is None:
        return False
    teacher = Actor(person_id=row.teacher_id, school_id=row.school_id, profile=Profile.TEACHER)
    try:
        with tempfile.TemporaryDirectory(prefix="preau-replay-") as work:
            replay = await make_replay_file(tools, Path(row.folder), Path(work))
            day = row.started_at.date().isoformat()
            homework = await create_homework(
                services,
                teacher,
                HomeworkDraft(
                    group_id=row.group_id,
                    title=gettext(REPLAY_TITLE).format(title=f"{row.title} ({day})")[:200],
                    instructions=gettext(REPLAY_INSTRUCTIONS).format(title=row.title),
                    due_at=max(row.ends_at, services.now()) + timedelta(days=7),
                    hand_in_expected=False,
                ),
            )
            try:
                await upload_video(services, teacher, homework.id, replay)  # removes replay
            except PreauError:
                with contextlib.suppress(PreauError):
                    await delete_homework(services, teacher, homework.id)
                raise
    except (MediaError, OSError) as error:
        log.warning("recording %s could not be converted: %s", row.id, error)
        await _finish(services, row.id, RecordingState.FAILED, error=CONVERSION_FAILED)
        return True
    except PreauError as error:
        log.warning("recording %s made no replay: %s", row.id, error.message)
        await _finish(services, row.id, RecordingState.FAILED, error=error.message)
        return True
    await _finish(services, row.id, RecordingState.READY, homework_id=homework.id)
    return True


def tools_missing() -> str | None:
    """The sentence to show when this server cannot make replays, or None."""
    return None if JanusRecordings.found() is not None else NO_TOOLS
