"""Helpers for message tests: bearer headers per role, table counts, an SSE reader."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from preau.adapters.sql.schema import (
    announcement_recipients,
    announcements,
    conversation_participants,
    conversations,
    message_reports,
    messages,
)
from tests.helpers import App, api_token

MESSAGE_TABLES = [
    conversations,
    conversation_participants,
    messages,
    message_reports,
    announcements,
    announcement_recipients,
]


async def headers_for(app: App, username: str) -> dict[str, str]:
    return {"authorization": f"Bearer {await api_token(app.client, username)}"}


async def table_counts(app: App) -> dict[str, int]:
    async with app.services.engine.connect() as connection:
        return {
            table.name: int(
                (
                    await connection.execute(sa.select(sa.func.count()).select_from(table))
                ).scalar_one()
            )
            for table in MESSAGE_TABLES
        }


@dataclass
class LiveStream:
    """A client of GET /live driven at the ASGI level (httpx buffers whole responses)."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    buffer: str = ""

    async def next_event(self, seconds: float = 5) -> dict[str, Any]:
        """The next ``unread`` event's data (comments and other lines skipped)."""
        async with asyncio.timeout(seconds):
            while True:
                if "\n\n" in self.buffer:
                    block, self.buffer = self.buffer.split("\n\n", 1)
                    data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
                    if data:
                        parsed: dict[str, Any] = json.loads("".join(data))
                        return parsed
                    continue
                self.buffer += (await self.chunks.get()).decode()


@asynccontextmanager
async def open_live(app: App, token: str | None) -> AsyncIterator[LiveStream]:
    asgi = app.client._transport.app  # type: ignore[attr-defined]  # an httpx.ASGITransport
    stream = LiveStream()
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
        "path": "/live",
        "raw_path": b"/live",
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
