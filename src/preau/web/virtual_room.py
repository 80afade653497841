"""The class page's live stream (``GET /live/virtual/rooms/{id}``: chat, polls, board,
breakout groups as Server-Sent Events; an open stream is a stay in the room, for the
attendance) and the board's files (its background, its PNG pictures kept as attachments).

The stream is a plain ASGI handler like ``/live`` (web/live.py), under ``/live`` so the
gate counts it as long-lived."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import asgi, get
from litestar.response import Stream
from litestar.types import Receive, Scope, Send

from preau.actions.context import Services
from preau.actions.sessions import Session
from preau.actions.virtual import board, presence
from preau.domain.bounds import MAX_ID
from preau.domain.errors import PreauError
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.params import IdPath
from preau.web.sse import send_problem, stream

log = logging.getLogger("preau.virtual")

# Mounted (Litestar's ASGI routes take no path parameters): the room id is read here.
STREAM_PREFIX = "/live/virtual/rooms"
ROOM_PATH = re.compile(r"/([1-9][0-9]{0,9})/?")


def _room_id(path: str) -> int | None:
    """The room id in ``/live/virtual/rooms/{id}`` (or in what the mount leaves of it)."""
    if path.startswith(STREAM_PREFIX):
        path = path[len(STREAM_PREFIX) :]
    found = ROOM_PATH.fullmatch(path)
    if found is None or int(found.group(1)) > MAX_ID:
        return None
    return int(found.group(1))


async def _refuse(send: Send, status: int, title: bytes) -> None:
    body = b'{"type":"about:blank","status":%d,"title":"%s"}' % (status, title)
    await send_problem(send, status, body)


@asgi(STREAM_PREFIX, is_mount=True, copy_scope=False)
async def room_stream(scope: Scope, receive: Receive, send: Send) -> None:
    services: Services = scope["litestar_app"].state.services
    session: Session | None = scope["state"].get("session")
    if session is None:
        await _refuse(send, 401, b"You need to log in")
        return
    room_id = _room_id(str(scope["path"]))
    if room_id is None:
        await _refuse(send, 404, b"Not found")
        return
    try:
        stay_id, role, _teacher = await presence.arrive(services, session.actor, room_id)
    except PreauError as error:
        await _refuse(send, error.status, b"Not found" if error.status == 404 else b"Refused")
        return
    hub = services.room_live
    listener = hub.connect(room_id, session.actor.person_id)
    hello = b'retry: 3000\n\nevent: hello\ndata: {"role":"%s"}\n\n' % role.value.encode()
    try:
        await stream(
            receive,
            send,
            listener,
            first=hello,
            heartbeat_seconds=services.settings.live_heartbeat_seconds,
        )
    finally:
        hub.disconnect(listener)
        try:
            await presence.leave(services, room_id, session.actor.person_id, stay_id)
        except Exception:  # the database is down: the stay stays open, counted to the end
            log.warning("could not record leaving room %s", room_id, exc_info=True)


def _file_headers(size: int, disposition: str) -> dict[str, str]:
    return {
        "content-length": str(size),
        "content-disposition": disposition,
        "cache-control": "private, max-age=60",
        "content-security-policy": "default-src 'none'; sandbox",
        "cross-origin-resource-policy": "same-origin",
        "x-content-type-options": "nosniff",
    }


@get("/virtual/rooms/{room_id:int}/board/background", include_in_schema=False)
async def board_background(services: AppServices, actor: SignedInActor, room_id: IdPath) -> Stream:
    found = await board.background(services, actor, room_id)
    return Stream(
        found.chunks, media_type=found.media_type, headers=_file_headers(found.size, "inline")
    )


@get("/virtual/rooms/{room_id:int}/board/exports/{export_id:int}", include_in_schema=False)
async def board_export_file(
    services: AppServices, actor: SignedInActor, room_id: IdPath, export_id: IdPath
) -> Stream:
    found = await board.open_export(services, actor, room_id, export_id)
    name = f'attachment; filename="board-{room_id}-{export_id}.png"'
    return Stream(found.chunks, media_type="image/png", headers=_file_headers(found.size, name))


pages: list[Any] = [board_background, board_export_file]
