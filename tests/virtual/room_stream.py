"""A client of the class page's live stream (``GET /live/virtual/rooms/{id}``), driven at
the ASGI level since httpx buffers whole responses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.helpers import App


@dataclass
class RoomStream:
    status: int = 0
    chunks: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    buffer: str = ""

    async def next_event(self, seconds: float = 5) -> tuple[str, Any]:
        """The next event's name and data (comments skipped)."""
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

    async def until(self, kind: str, seconds: float = 5) -> Any:
        """The data of the next event of this kind (others skipped)."""
        async with asyncio.timeout(seconds):
            while True:
                found, data = await self.next_event(seconds)
                if found == kind:
                    return data


@asynccontextmanager
async def open_room_stream(app: App, token: str, room_id: int) -> AsyncIterator[RoomStream]:
    asgi = app.client._transport.app  # type: ignore[attr-defined]  # an httpx.ASGITransport
    stream = RoomStream()
    started = asyncio.Event()
    disconnect = asyncio.Event()
    path = f"/live/virtual/rooms/{room_id}"
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
        "headers": [
            (b"host", b"testserver"),
            (b"accept", b"text/event-stream"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            stream.status = message["status"]
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
