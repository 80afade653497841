"""Sliding-window rate limits (the ``limits`` library), cheap enough for every request.

Hits are counted in the process and handed to the limiter in small batches, so most
requests cost a dictionary update and only one in ``batch`` reaches the storage (Redis
for limits shared by every process). The counts still pending are handed over every few
seconds. A limit may leave out of a hand-over the keys whose hits in that period are under
half its pace (``hand_over_s``): such a key is under its limit whatever it did before, and
each hand-over costs about 20 µs in memory, a round trip on Redis, so a pupil who makes a
few requests a minute costs the limiter nothing; a key that goes faster is counted in full.
A key found over its limit stays
refused locally for a second. When the storage fails, the limit fails open (the one
adapter of ``preau.adapters.ratelimit``): the request goes through, the failure is
counted, and the storage is left alone for a second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage as AsyncMemoryStorage
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from preau.adapters.ratelimit import FailOpenLimiter
from preau.gate import metrics

_BLOCK_S = 1.0
_PAUSE_AFTER_FAILURE_S = 1.0
_MAX_KEYS = 200_000


class BatchedLimit:
    def __init__(
        self,
        scope: str,
        limit: str,
        storage: Storage,
        *,
        divide_by: int = 1,
        largest_batch: int = 16,
        hand_over_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scope = scope
        item = parse(limit)
        if divide_by > 1:
            item = type(item)(max(1, item.amount // divide_by), item.multiples, item.namespace)
        self.item: RateLimitItem = item
        # A batch is a small share of the limit, so batching never lets much more through.
        self.batch = max(1, min(largest_batch, item.amount // 20))
        # Fewer hits than this in one hand-over period: under half the limit's pace.
        self.flush_floor = 1
        if hand_over_s is not None:
            half_pace = item.amount * hand_over_s / item.get_expiry() / 2
            self.flush_floor = max(1, int(half_pace))
        self.limits = FailOpenLimiter(
            f"gate:{scope}",
            storage,
            SlidingWindowCounterRateLimiter,
            pause_after_failure_s=_PAUSE_AFTER_FAILURE_S,
            clock=clock,
        )
        self.limiter = self.limits.strategy  # the library's own, to read a window's state
        self.clock = clock
        self.pending: dict[str, int] = {}
        self.blocked: dict[str, float] = {}

    async def allow(self, key: str) -> bool:
        if self.blocked:
            until = self.blocked.get(key)
            if until is not None:
                if until > self.clock():
                    metrics.RATE_LIMITED.labels(self.scope).inc()
                    return False
                del self.blocked[key]
        count = self.pending.get(key, 0) + 1
        if count < self.batch:
            self.pending[key] = count
            return True
        self.pending.pop(key, None)
        return await self.commit(key, count)

    async def commit(self, key: str, count: int) -> bool:
        """Hand ``count`` hits of ``key`` to the limiter; False if that goes over the limit."""
        if await self._hit(key, count):
            return True
        metrics.RATE_LIMITED.labels(self.scope).inc()
        return False

    async def _hit(self, key: str, cost: int) -> bool:
        if await self.limits.hit(self.item, self.scope, key, cost=cost):
            return True
        if len(self.blocked) > _MAX_KEYS:
            self.blocked.clear()
        self.blocked[key] = self.clock() + _BLOCK_S
        return False

    async def flush(self) -> None:
        """Hand the counts still pending to the limiter (called every second or two)."""
        # Copy and clear in place: the middleware's hot path holds on to this dictionary.
        pending = dict(self.pending)
        self.pending.clear()
        for key, count in pending.items():
            if count >= self.flush_floor:
                await self._hit(key, count)


class RouteLimits:
    """Per-address limits on a few expensive routes (join, challenge), by path prefix."""

    def __init__(
        self, spec: str, storage: Storage, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.routes: list[tuple[str, BatchedLimit]] = []
        for part in spec.split(";"):
            prefix, sep, limit = part.strip().partition("=")
            if sep and prefix.startswith("/"):
                route_limit = BatchedLimit(f"route:{prefix}", limit, storage, clock=clock)
                self.routes.append((prefix, route_limit))

    def for_path(self, path: str) -> BatchedLimit | None:
        for prefix, limit in self.routes:
            if path.startswith(prefix):
                return limit
        return None


_NETWORK_WINDOW_S = 30


class NetworkShare:
    """Tickets one network (/24, /64) may take a minute: a share of the admission rate.

    Counted in the shared storage, as the address limit is, over windows of thirty seconds
    (half the minute's amount each): a whole minute's amount taken in one burst put a
    thousand of a flood's tickets in line in four seconds from two networks
    (bench/gate_flood.py's fast flood), while a school behind one address still gets its
    morning burst of a few hundred at once (bench/gate_overload.py: 300 people from one
    address, ten seconds' windows refused two in three). The amount follows the admission
    rate the operator sets; when it changes the limit starts afresh (the library keys its
    windows by amount), which only ever forgets a window of counts.
    """

    def __init__(self, storage: Storage, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.storage = storage
        self.clock = clock
        self.limit: BatchedLimit | None = None

    async def allow(self, network: str, *, per_minute: int) -> bool:
        amount = max(1, math.ceil(per_minute * _NETWORK_WINDOW_S / 60))
        limit = self.limit
        if limit is None or limit.item.amount != amount:
            limit = BatchedLimit(
                "network", f"{amount}/{_NETWORK_WINDOW_S} seconds", self.storage, clock=self.clock
            )
            self.limit = limit
        return await limit.allow(network)

    async def flush(self) -> None:
        if self.limit is not None:
            await self.limit.flush()


class ChallengeCounts:
    """How many challenges each network fetched over the last thirty seconds, counted in the
    shared storage (every process prices the same network alike). Not a limit: the
    network's next challenge costs more (:func:`preau.domain.admission.network_proof_factor`).
    One hit and one read per challenge, a route already limited per address. If the storage
    fails, the count is 0: the price in force, as without it."""

    def __init__(self, storage: Storage, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.item: RateLimitItem = parse(f"1000000000/{_NETWORK_WINDOW_S} seconds")
        self.limits = FailOpenLimiter(
            "gate:challenges",
            storage,
            SlidingWindowCounterRateLimiter,
            pause_after_failure_s=_PAUSE_AFTER_FAILURE_S,
            clock=clock,
        )

    async def fetched_before(self, network: str) -> int:
        """Count one challenge for ``network``; how many it fetched before this one."""
        item, strategy = self.item, self.limits.strategy

        async def count() -> int:
            await strategy.hit(item, "challenges", network)
            stats = await strategy.get_window_stats(item, "challenges", network)
            return max(0, item.amount - stats.remaining - 1)

        return await self.limits.attempt(count, fallback=0)


def local_storage() -> Storage:
    return AsyncMemoryStorage()
