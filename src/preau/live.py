"""Live updates inside one process: ONE shared-state subscription fans events out to the
open Server-Sent-Events connections of this process, and drops the cached inbox and
unread counts of the people an event concerns.

Every process runs one hub. A write publishes one event after its commit; Redis pub/sub
(or the in-process shared state) brings it to every hub, each of which wakes only its own
listeners. A listener holds a small bounded queue: events carry absolute counts, so when a
slow connection's queue is full the oldest event can be dropped without harm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

import msgspec
from prometheus_client import Counter, Gauge

from preau.fanout import FanOut
from preau.i18n import LOCALES
from preau.ports import SharedState

log = logging.getLogger("preau.live")

CHANNEL = "live"
QUEUE_SIZE = 8
CACHE_SIZE = 20_000
CACHE_SECONDS = 60.0  # a safety net: entries are dropped by events long before
# What is kept per person, all dropped by an event concerning them: the inbox's first page
# (JSON, and the page in each locale) and the unread counts.
KEPT_PER_PERSON = ("inbox", "unread", *(f"inbox-page:{locale}" for locale in LOCALES))

live_connections = Gauge("preau_live_connections", "Open live (SSE) connections in this process.")
live_events = Counter("preau_live_events_total", "Live events received by this process.", ["kind"])
live_publish_failures = Counter(
    "preau_live_publish_failures_total",
    "Live events not published because the shared state was unreachable (delivered locally).",
)


class LiveEvent(msgspec.Struct, kw_only=True, array_like=True):
    """What changed for whom: the new unread counts of each person concerned."""

    kind: str  # "message", "announcement", "read", "archive", "hidden"
    origin: str  # the publishing process, which has delivered it locally already
    school_id: int
    counts: dict[int, tuple[int, int]]  # person id -> (unread messages, unread announcements)
    notify: bool = True  # False in the school's quiet hours: update counts, no alert
    title: str = ""  # an announcement's title, shown in the alert


class Frame(msgspec.Struct, kw_only=True):
    """One Server-Sent Event's data, as the page reads it."""

    kind: str
    messages: int
    announcements: int
    notify: bool
    title: str = ""


_event_decoder = msgspec.json.Decoder(LiveEvent)
_frame_encoder = msgspec.json.Encoder()


def sse_frame(frame: Frame) -> bytes:
    return b"event: unread\ndata: " + _frame_encoder.encode(frame) + b"\n\n"


class Listener:
    """One open live connection: its person and a bounded queue of SSE frames."""

    __slots__ = ("person_id", "queue")

    def __init__(self, person_id: int) -> None:
        self.person_id = person_id
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_SIZE)

    def push(self, frame: bytes | None) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(frame)


class PersonCache:
    """Rendered bytes per (person, name), dropped when an event concerns the person.

    A reader takes a :meth:`ticket` before reading the database and stores its result
    only if no event concerned the person meanwhile, so a slow read never puts back
    what a write has just made stale.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[tuple[int, str], tuple[float, bytes, str]] = OrderedDict()
        self._clock = clock
        self._counter = 0
        self._dropped_at: dict[int, int] = {}

    def ticket(self) -> int:
        self._counter += 1
        return self._counter

    def get(self, person_id: int, name: str) -> tuple[bytes, str] | None:
        entry = self._entries.get((person_id, name))
        if entry is None:
            return None
        stored_at, body, etag = entry
        if self._clock() - stored_at > CACHE_SECONDS:
            del self._entries[(person_id, name)]
            return None
        return body, etag

    def put(self, person_id: int, name: str, body: bytes, etag: str, ticket: int) -> None:
        if self._dropped_at.get(person_id, 0) >= ticket:
            return  # an event came while this was read: it may be stale
        self._entries[(person_id, name)] = (self._clock(), body, etag)
        if len(self._entries) > CACHE_SIZE:
            self._entries.popitem(last=False)

    def drop(self, person_id: int) -> None:
        for name in KEPT_PER_PERSON:
            self._entries.pop((person_id, name), None)
        self._dropped_at[person_id] = self.ticket()
        if len(self._dropped_at) > CACHE_SIZE:
            self._dropped_at.clear()
            self._entries.clear()  # with the marks gone, drop what they protected

    def clear(self) -> None:
        self._entries.clear()
        marker = self.ticket()
        self._dropped_at = dict.fromkeys(self._dropped_at, marker)


class LiveHub(FanOut[int, Listener, LiveEvent]):
    """Listeners by person; an event drops the cached pages of the people it concerns."""

    def __init__(self) -> None:
        super().__init__(
            channel=CHANNEL,
            decoder=_event_decoder,
            connections=live_connections,
            events=live_events,
            publish_failures=live_publish_failures,
            log=log,
        )
        self.cache = PersonCache()

    def connect(self, person_id: int) -> Listener:
        return self.add(person_id, Listener(person_id))

    def disconnect(self, listener: Listener) -> None:
        self.remove(listener.person_id, listener)

    async def publish(self, state: SharedState, event: LiveEvent) -> None:
        """Deliver ``event`` here at once (so the writer reads its own write), then to every
        other process. Call it after the database commit. If the shared state is down,
        other processes miss it: their cached entries expire and pages poll."""
        await self.send(state, msgspec.structs.replace(event, origin=self.origin))

    def fan_out(self, event: LiveEvent) -> None:
        for person_id, (messages, announcements) in event.counts.items():
            self.cache.drop(person_id)
            group = self.listeners.get(person_id)
            if not group:
                continue
            frame = sse_frame(
                Frame(
                    kind=event.kind,
                    messages=messages,
                    announcements=announcements,
                    notify=event.notify,
                    title=event.title,
                )
            )
            for listener in group:
                listener.push(frame)

    # Events may have been missed while not subscribed: forget what they would have
    # invalidated.
    def on_subscribed(self) -> None:
        self.cache.clear()

    def on_lost(self) -> None:
        self.cache.clear()
