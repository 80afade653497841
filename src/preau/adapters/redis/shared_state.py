"""Shared state on Redis. Every key carries the configured prefix; connection failures
become :class:`SharedStateUnavailable` so callers can choose to fail open."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from preau.ports import SharedStateUnavailable, Subscription

T = TypeVar("T")

_INCR_WITH_TTL = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value == tonumber(ARGV[1]) and tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""


async def _guard(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError) as error:
        raise SharedStateUnavailable(f"Redis unreachable: {error}") from error


class RedisSubscription:
    def __init__(self, pubsub: redis.client.PubSub, prefix: str) -> None:
        self._pubsub = pubsub
        self._prefix = prefix

    async def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        async for message in self._pubsub.listen():
            if message.get("type") != "message":
                continue
            channel = message["channel"].decode()[len(self._prefix) :]
            yield channel, message["data"]

    async def close(self) -> None:
        await self._pubsub.aclose()


class RedisSharedState:
    """On one Redis (``url``), or on the primary that Sentinels name (``sentinels``, a
    list of (host, port), and the ``master`` name): the client then asks them again
    after a failover, and a demoted primary's ``READONLY`` answer counts as unreachable
    until it does (docs/reliability.md)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        sentinels: list[tuple[str, int]] | None = None,
        master: str = "preau",
    ) -> None:
        self.prefix = prefix
        options: dict[str, Any] = {
            "socket_timeout": 2.0,
            "socket_connect_timeout": 1.0,
            "health_check_interval": 15,
        }
        # Subscriptions on their own connections, never retried: redis-py (6 and later)
        # reconnects and subscribes again in silence, and the messages sent in between
        # would be lost unseen. A loss must reach ``follow``, whose ``on_lost`` makes the
        # warm caches forget what they may have missed.
        no_retry = {**options, "retry": Retry(NoBackoff(), 0)}
        self._sentinels: Sentinel | None = None
        if sentinels:
            watchers = self._sentinels = Sentinel(
                sentinels,
                sentinel_kwargs={"socket_timeout": 1.0, "socket_connect_timeout": 1.0},
            )
            self.client: redis.Redis = watchers.master_for(master, **options)
            self.listener: redis.Redis = watchers.master_for(master, **no_retry)
        else:
            self.client = redis.Redis.from_url(url, **options)
            self.listener = redis.Redis.from_url(url, **no_retry)
        self._incr = self.client.register_script(_INCR_WITH_TTL)

    def key(self, name: str) -> str:
        return self.prefix + name

    async def get(self, key: str) -> bytes | None:
        value = await _guard(lambda: self.client.get(self.key(key)))
        return value if value is None or isinstance(value, bytes) else value.encode()

    async def set(self, key: str, value: bytes, *, ttl_seconds: float | None = None) -> None:
        px = None if ttl_seconds is None else max(1, int(ttl_seconds * 1000))
        await _guard(lambda: self.client.set(self.key(key), value, px=px))

    async def add(self, key: str, value: bytes, *, ttl_seconds: float | None = None) -> bool:
        px = None if ttl_seconds is None else max(1, int(ttl_seconds * 1000))
        done = await _guard(lambda: self.client.set(self.key(key), value, px=px, nx=True))
        return bool(done)

    async def delete(self, key: str) -> None:
        await _guard(lambda: self.client.delete(self.key(key)))

    async def take(self, key: str) -> bytes | None:
        value = await _guard(lambda: self.client.getdel(self.key(key)))
        return value if value is None or isinstance(value, bytes) else value.encode()

    async def incr(self, key: str, amount: int = 1, *, ttl_seconds: float | None = None) -> int:
        px = 0 if ttl_seconds is None else max(1, int(ttl_seconds * 1000))
        value = await _guard(lambda: self._incr(keys=[self.key(key)], args=[amount, px]))
        return int(value)

    async def publish(self, channel: str, message: bytes) -> None:
        await _guard(lambda: self.client.publish(self.key(channel), message))

    async def subscribe(self, *channels: str) -> Subscription:
        pubsub = self.listener.pubsub()
        await _guard(lambda: pubsub.subscribe(*(self.key(c) for c in channels)))
        return RedisSubscription(pubsub, self.prefix)

    async def ping(self) -> None:
        await _guard(self.client.ping)

    async def close(self) -> None:
        await self.listener.aclose()
        await self.client.aclose()
        if self._sentinels is not None:  # its own connections to each Sentinel
            for watcher in self._sentinels.sentinels:
                await watcher.aclose()
