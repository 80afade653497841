"""A client of a Server-Sent-Events stream (``/live``, the class page's stream), driven at
the ASGI level since httpx buffers whole responses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.helpers import App


@dataclass
class SseStream:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    buffer: str = ""

    async def next_frame(self, seconds: float = 5) -> tuple[str, Any]:
        """The next event's name (``""`` if it has none) and data; comments skipped."""
        async with asyncio.timeout(seconds):
            while True:
                if "\n\n" in self.buffer:
                    block, self.buffer = self.buffer.split("\n\n", 1)
                    lines = block.splitlines()
                    data = [line[6:] for line in lines if line.startswith("data: ")]
                    kind = next((line[7:] for line in lines if line.startswith("event: ")), "")
                    if data:
                        return kind, json.loads("".join(data))
                    continue
                self.buffer += (await self.chunks.get()).decode()


S = TypeVar("S", bound=SseStream)


@asynccontextmanager
async def open_stream(app: App, path: str, token: str | None, stream: S) -> AsyncIterator[S]:
    """``stream``, filled by a GET of ``path`` (with ``token`` as bearer, if any) until
    the block ends, which disconnects."""
    asgi = app.client._transport.app  # type: ignore[attr-defined]  # an httpx.ASGITransport
    started = asyncio.Event()
    disconnect = asyncio.Event()
    headers = [(b"host", b"testserver"), (b"accept", b"text/event-stream")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            stream.status = message["status"]
            stream.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            started.set()
        elif message.get("body"):
            stream.chunks.put_nowait(message["body"])

    task = asyncio.create_task(asgi(scope, receive, send))
    async with asyncio.timeout(5):
        await started.wait()
    try:
        yield stream
    finally:
        disconnect.set()
        async with asyncio.timeout(5):
            await task
