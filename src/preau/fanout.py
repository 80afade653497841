"""One shared-state subscription per process, fanning events out to the open streams
(Server-Sent Events) of this process: what messages' live hub (:mod:`preau.live`) and the
class pages' hub (:mod:`preau.actions.virtual.live`) have in common.

A write publishes one event after its commit; the publishing process delivers it at once
(so the writer sees its own write), and every other process's hub delivers it to its own
listeners when the shared state brings it. What an event says, who receives it and what
a hub forgets when events may have been missed are the subclass's to say.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

import msgspec
from prometheus_client import Counter, Gauge

from preau.channels import follow
from preau.ports import SharedState, SharedStateUnavailable


class Event(Protocol):
    kind: str
    origin: str  # the publishing process, which has delivered it locally already


class Listener(Protocol):
    def push(self, item: bytes | None, /) -> None:
        """Queue a frame; ``None`` tells the stream to end."""


Key = TypeVar("Key", bound=Hashable)
ListenerT = TypeVar("ListenerT", bound=Listener)
EventT = TypeVar("EventT", bound=Event)


class FanOut(Generic[Key, ListenerT, EventT]):
    """Listeners grouped by ``Key``, and the channel that brings every process's events."""

    def __init__(
        self,
        *,
        channel: str,
        decoder: msgspec.json.Decoder[EventT],
        connections: Gauge,
        events: Counter,
        publish_failures: Counter,
        log: logging.Logger,
    ) -> None:
        self.origin = secrets.token_hex(8)
        self.listeners: dict[Key, set[ListenerT]] = {}
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._channel = channel
        self._encoder = msgspec.json.Encoder()
        self._decoder = decoder
        self._connections = connections
        self._events = events
        self._publish_failures = publish_failures
        self._log = log

    # -- listeners ---------------------------------------------------------------------

    def add(self, key: Key, listener: ListenerT) -> ListenerT:
        self.listeners.setdefault(key, set()).add(listener)
        self._connections.inc()
        return listener

    def remove(self, key: Key, listener: ListenerT) -> None:
        group = self.listeners.get(key)
        if group is not None and listener in group:
            group.discard(listener)
            self._connections.dec()
            if not group:
                del self.listeners[key]

    @property
    def connection_count(self) -> int:
        return sum(len(group) for group in self.listeners.values())

    # -- events --------------------------------------------------------------------------

    async def send(self, state: SharedState, event: EventT) -> None:
        """Deliver ``event`` here at once, then to every other process. Call it after the
        database commit; if the shared state is down, other processes miss it (their pages
        catch up as the subclass says) and the failure is counted."""
        self.deliver_event(event)
        try:
            await state.publish(self._channel, self._encoder.encode(event))
        except SharedStateUnavailable:
            self._publish_failures.inc()

    def deliver(self, payload: bytes) -> None:
        try:
            event = self._decoder.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self._log.warning("ignored a malformed event on channel %s", self._channel)
            return
        if event.origin != self.origin:
            self.deliver_event(event)

    def deliver_event(self, event: EventT) -> None:
        self._events.labels(event.kind).inc()
        self.fan_out(event)

    def fan_out(self, event: EventT) -> None:
        """Push ``event``'s frames to this process's listeners it concerns."""
        raise NotImplementedError

    # -- the one subscription of this process -------------------------------------------

    def on_subscribed(self) -> None:
        """After each (re)subscription: events may have been missed meanwhile."""

    def on_lost(self) -> None:
        """When the subscription ends or fails, before subscribing again."""

    async def start(self, state: SharedState) -> None:
        self._task = asyncio.create_task(self._listen(state))
        # Wait briefly for the subscription, so an event published right after start-up
        # is not missed; carry on if the shared state is down (the task retries).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout=2)

    async def stop(self) -> None:
        for group in list(self.listeners.values()):
            for listener in list(group):
                listener.push(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self, state: SharedState) -> None:
        def subscribed() -> None:
            self.on_subscribed()
            self.subscribed.set()

        def lost() -> None:
            self.subscribed.clear()
            self.on_lost()

        await follow(state, self._channel, self.deliver, on_subscribed=subscribed, on_lost=lost)
