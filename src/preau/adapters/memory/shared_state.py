"""Shared state held in this process: right for one process, wrong for several."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from preau.ports import Subscription


class MemorySubscription:
    def __init__(self, owner: MemorySharedState, channels: tuple[str, ...]) -> None:
        self._owner = owner
        self.channels = channels
        self.queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            yield item

    async def close(self) -> None:
        self._owner.unsubscribe(self)
        self.queue.put_nowait(None)


class MemorySharedState:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[bytes, float | None]] = {}
        self._subscriptions: list[MemorySubscription] = []

    def _live(self, key: str) -> bytes | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at is not None and expires_at <= self._clock():
            del self._values[key]
            return None
        return value

    def _expiry(self, ttl_seconds: float | None) -> float | None:
        return None if ttl_seconds is None else self._clock() + ttl_seconds

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def set(self, key: str, value: bytes, *, ttl_seconds: float | None = None) -> None:
        self._values[key] = (value, self._expiry(ttl_seconds))

    async def add(self, key: str, value: bytes, *, ttl_seconds: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._values[key] = (value, self._expiry(ttl_seconds))
        return True

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def take(self, key: str) -> bytes | None:
        value = self._live(key)
        self._values.pop(key, None)
        return value

    async def incr(self, key: str, amount: int = 1, *, ttl_seconds: float | None = None) -> int:
        current = self._live(key)
        if current is None:
            value = amount
            expires_at = self._expiry(ttl_seconds)
        else:
            try:
                value = int(current) + amount
            except ValueError:
                raise ValueError(f"{key} does not hold a counter") from None
            expires_at = self._values[key][1]
        self._values[key] = (str(value).encode(), expires_at)
        return value

    async def publish(self, channel: str, message: bytes) -> None:
        for subscription in self._subscriptions:
            if channel in subscription.channels:
                subscription.queue.put_nowait((channel, message))

    async def subscribe(self, *channels: str) -> Subscription:
        subscription = MemorySubscription(self, channels)
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: MemorySubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.close()
