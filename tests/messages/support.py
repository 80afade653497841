"""Helpers for message tests: bearer headers per role, table counts, an SSE reader."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
from tests.sse_client import SseStream, open_stream

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


class LiveStream(SseStream):
    """A client of GET /live."""

    async def next_event(self, seconds: float = 5) -> dict[str, Any]:
        """The next ``unread`` event's data (comments and other lines skipped)."""
        _kind, data = await self.next_frame(seconds)
        parsed: dict[str, Any] = data
        return parsed


@asynccontextmanager
async def open_live(app: App, token: str | None) -> AsyncIterator[LiveStream]:
    async with open_stream(app, "/live", token, LiveStream()) as stream:
        yield stream
