"""Rate limits on the `limits` library that fail open, the one way every limiter in Préau
does (the gate's, the login throttle, sending): when the storage fails the request goes
through and the failure is counted per limiter, as Warehouse's limiter does. Also the
storages the composition root chooses between: this process's memory, or the shared Redis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import RateLimiter
from limits.errors import StorageError
from prometheus_client import Counter

from preau.adapters.redis.shared_state import RedisSharedState

__all__ = ["FAIL_OPEN", "FailOpenLimiter", "memory_storage", "redis_storage"]

log = logging.getLogger("preau.ratelimit")

FAIL_OPEN = Counter(
    "preau_rate_limit_fail_open",
    "Rate-limit checks let through because their storage was unreachable, by limiter.",
    ["limiter"],
)

T = TypeVar("T")


class FailOpenLimiter:
    """One `limits` strategy on one storage, named ``name`` in the failure count.

    :meth:`hit` and :meth:`clear` are the strategy's; :meth:`attempt` runs any few storage
    calls that make one check (a limiter that reads two counters, say) and gives
    ``fallback`` if one fails, counting one failure. With ``pause_after_failure_s``, a
    storage that just failed is left alone that long, every check meanwhile let through
    and counted (a hot path must not wait for a dead Redis on each request).
    """

    def __init__(
        self,
        name: str,
        storage: Storage,
        strategy: type[RateLimiter],
        *,
        pause_after_failure_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.storage = storage
        self.strategy = strategy(storage)
        self.pause_after_failure_s = pause_after_failure_s
        self.clock = clock
        self._failures = FAIL_OPEN.labels(name)
        self._paused_until = 0.0
        self._failing = False

    async def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Count ``cost`` hits; False only when the storage says the limit is reached."""
        return await self.attempt(
            lambda: self.strategy.hit(item, *identifiers, cost=cost), fallback=True
        )

    async def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        await self.attempt(lambda: self.strategy.clear(item, *identifiers), fallback=None)

    async def attempt(self, check: Callable[[], Awaitable[T]], *, fallback: T) -> T:
        if self._paused_until and self.clock() < self._paused_until:
            self._failures.inc()
            return fallback
        try:
            result = await check()
        except StorageError as error:
            self._failures.inc()
            if self.pause_after_failure_s:
                self._paused_until = self.clock() + self.pause_after_failure_s
            if not self._failing:  # once per outage, not once per request
                self._failing = True
                log.warning(
                    "rate limit %s: storage failed, letting requests through: %s",
                    self.name,
                    error,
                )
            return fallback
        if self._failing:
            self._failing = False
            self._paused_until = 0.0
            log.info("rate limit %s: storage answers again", self.name)
        return result


def memory_storage() -> Storage:
    """Counters in this process only."""
    return MemoryStorage()


def redis_storage(state: RedisSharedState, name: str) -> Storage:
    """Counters on the shared state's Redis, under its prefix and ``name``, through its
    connection pool (closed with the shared state). Redis errors are raised as the
    library's ``StorageError``, which :class:`FailOpenLimiter` lets through."""
    return RedisStorage(
        "async+redis://",  # unused: the connections come from the pool below
        implementation="redispy",
        key_prefix=state.prefix + name,
        wrap_exceptions=True,
        # Share the application's pool; limits types its options as scalars only.
        connection_pool=state.client.connection_pool,  # type: ignore[arg-type]  # passed through to redis-py
    )
