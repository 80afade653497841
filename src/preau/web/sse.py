"""Server-Sent-Events responses as plain ASGI: what ``/live`` (web/live.py) and the class
page's stream (web/virtual_room.py) both send, so an idle connection costs one small
coroutine, one watcher task and its listener's bounded queue."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from litestar.types import Receive, Send

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # nginx: do not buffer the stream
]
PING = b": ping\n\n"


class Listener(Protocol):
    @property
    def queue(self) -> asyncio.Queue[bytes | None]: ...

    def push(self, item: bytes | None, /) -> None: ...


async def send_problem(send: Send, status: int, body: bytes) -> None:
    """Answer with a problem+json ``body`` instead of a stream."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/problem+json")],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _watch_disconnect(receive: Receive, listener: Listener) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            listener.push(None)
            return


async def stream(
    receive: Receive, send: Send, listener: Listener, *, first: bytes, heartbeat_seconds: float
) -> None:
    """Send ``first``, then each frame ``listener`` queues, and a comment line after every
    ``heartbeat_seconds`` of quiet (so proxies keep the connection), until the listener
    gets ``None``: the client went away or the hub is stopping. The caller disconnects the
    listener from its hub afterwards."""
    watcher = asyncio.create_task(_watch_disconnect(receive, listener))
    try:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": first, "more_body": True})
        while True:
            frame: bytes | None
            try:
                async with asyncio.timeout(heartbeat_seconds):
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
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
