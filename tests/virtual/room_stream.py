"""A client of the class page's live stream (``GET /live/virtual/rooms/{id}``): its events
by name, and waiting for one kind (tests/sse_client.py reads the stream)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.helpers import App
from tests.sse_client import SseStream, open_stream


class RoomStream(SseStream):
    async def next_event(self, seconds: float = 5) -> tuple[str, Any]:
        """The next event's name and data (comments skipped)."""
        return await self.next_frame(seconds)

    async def until(self, kind: str, seconds: float = 5) -> Any:
        """The data of the next event of this kind (others skipped)."""
        async with asyncio.timeout(seconds):
            while True:
                found, data = await self.next_frame(seconds)
                if found == kind:
                    return data


@asynccontextmanager
async def open_room_stream(app: App, token: str, room_id: int) -> AsyncIterator[RoomStream]:
    async with open_stream(app, f"/live/virtual/rooms/{room_id}", token, RoomStream()) as stream:
        yield stream
