"""Live events inside virtual classes: chat messages, polls, whiteboard drawings, breakout
groups, sent to the open class pages of one room.

Built, like :mod:`preau.live` (messages' unread counts), on :class:`preau.fanout.FanOut`:
ONE shared-state subscription per process, each event published after its commit,
delivered at once in the publishing process and by the others' hubs to their own
listeners. A listener's queue is bounded; when a slow page falls behind it gets a
``resync`` frame instead of what it missed, and reloads the room's state (the chat,
the poll, the board) over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec
from prometheus_client import Counter, Gauge

from preau.fanout import FanOut
from preau.ports import SharedState

log = logging.getLogger("preau.virtual.live")

CHANNEL = "virtual-room"
QUEUE_SIZE = 64
RESYNC = b"event: resync\ndata: {}\n\n"

room_connections = Gauge(
    "preau_virtual_room_connections", "Open class-page streams (SSE) in this process."
)
room_events = Counter(
    "preau_virtual_room_events_total", "Class-page events received by this process.", ["kind"]
)
room_publish_failures = Counter(
    "preau_virtual_room_publish_failures_total",
    "Class-page events not published because the shared state was unreachable.",
)


class RoomEvent(msgspec.Struct, kw_only=True, array_like=True):
    """What happened in a room, for whom: ``to`` lists the people (None: everyone there)."""

    kind: str  # chat, chat-deleted, muted, poll, results, stroke, clear, board, breakout, back
    origin: str
    room_id: int
    data: msgspec.Raw  # the frame's JSON, as the page reads it
    to: list[int] | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(RoomEvent)


def frame(kind: str, data: bytes) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


class RoomListener:
    __slots__ = ("lagging", "person_id", "queue", "room_id")

    def __init__(self, room_id: int, person_id: int) -> None:
        self.room_id = room_id
        self.person_id = person_id
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_SIZE)
        self.lagging = False

    def push(self, item: bytes | None) -> None:
        if item is None:
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    self.queue.get_nowait()
            self.queue.put_nowait(None)
            return
        if self.queue.full():
            # Fell behind: drop what waits and tell the page to read the state afresh.
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)
            self.lagging = True
            return
        self.queue.put_nowait(item)


class RoomHub(FanOut[int, RoomListener, RoomEvent]):
    """Listeners by room; an event reaches the room's pages of the people it names."""

    def __init__(self) -> None:
        super().__init__(
            channel=CHANNEL,
            decoder=_decoder,
            connections=room_connections,
            events=room_events,
            publish_failures=room_publish_failures,
            log=log,
        )

    def connect(self, room_id: int, person_id: int) -> RoomListener:
        return self.add(room_id, RoomListener(room_id, person_id))

    def disconnect(self, listener: RoomListener) -> None:
        self.remove(listener.room_id, listener)

    async def publish(
        self,
        state: SharedState,
        room_id: int,
        kind: str,
        data: object,
        *,
        to: list[int] | None = None,
    ) -> None:
        """Deliver here at once, then to every other process. Call after the commit. If
        the shared state is down, others' pages catch up on their next resync."""
        event = RoomEvent(
            kind=kind,
            origin=self.origin,
            room_id=room_id,
            data=msgspec.Raw(_encoder.encode(data)),
            to=to,
        )
        await self.send(state, event)

    def fan_out(self, event: RoomEvent) -> None:
        group = self.listeners.get(event.room_id)
        if not group:
            return
        wanted = None if event.to is None else set(event.to)
        item = frame(event.kind, bytes(event.data))
        for listener in list(group):
            if wanted is None or listener.person_id in wanted:
                listener.push(item)

    def on_subscribed(self) -> None:
        for group in self.listeners.values():  # events may have been missed meanwhile
            for listener in group:
                listener.push(RESYNC)
