"""``GET /live``: Server-Sent Events telling an open page its new unread counts.

A plain ASGI handler, so an idle connection costs one small coroutine, one watcher task
and a bounded queue in this process's :class:`preau.live.LiveHub` (measured in
docs/performance.md). The first event carries the current counts; afterwards one
arrives for each change, and a comment line every ``live_heartbeat_seconds`` keeps
proxies from closing the connection. Pages without EventSource poll ``/api/v1/unread``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
from litestar import asgi
from litestar.types import Receive, Scope, Send

from preau.actions.context import Services
from preau.actions.messages.unread import unread_counts_cached
from preau.actions.sessions import Session
from preau.domain.messages import UnreadCounts
from preau.live import Frame, Listener, sse_frame

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # nginx: do not buffer the stream
]
PING = b": ping\n\n"
UNAUTHENTICATED = (
    b'{"type":"about:blank","title":"You need to log in","status":401,'
    b'"detail":"Log in first, then try again."}'
)


async def _watch_disconnect(receive: Receive, listener: Listener) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            listener.push(None)
            return


@asgi("/live", is_mount=False, copy_scope=False)
async def live(scope: Scope, receive: Receive, send: Send) -> None:
    services: Services = scope["litestar_app"].state.services
    session: Session | None = scope["state"].get("session")
    if session is None:
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/problem+json")],
            }
        )
        await send({"type": "http.response.body", "body": UNAUTHENTICATED, "more_body": False})
        return
    actor = session.actor
    body, _etag = await unread_counts_cached(services, actor)
    counts = msgspec.json.decode(body, type=UnreadCounts)
    hub = services.live
    listener = hub.connect(actor.person_id)
    watcher = asyncio.create_task(_watch_disconnect(receive, listener))
    heartbeat = services.settings.live_heartbeat_seconds
    try:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        first = Frame(
            kind="hello",
            messages=counts.messages,
            announcements=counts.announcements,
            notify=False,
        )
        await send(
            {
                "type": "http.response.body",
                "body": b"retry: 5000\n\n" + sse_frame(first),
                "more_body": True,
            }
        )
        while True:
            frame: bytes | None
            try:
                async with asyncio.timeout(heartbeat):
                    frame = await listener.queue.get()
            except TimeoutError:
                frame = PING
            if frame is None:
                break
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        pass  # the client went away while we wrote
    finally:
        hub.disconnect(listener)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


routes: list[Any] = [live]
