"""Load shedding inside one worker: a bounded, adaptive number of requests in flight, a
short CoDel wait for a free slot, and the least critical requests dropped first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from preau.domain.admission import (
    Criticality,
    adjust_concurrency_limit,
    codel_wait_budget,
    victim_to_shed,
)
from preau.gate import metrics


class _Waiter:
    __slots__ = ("criticality", "future")

    def __init__(self, criticality: Criticality, future: asyncio.Future[bool]) -> None:
        self.criticality = criticality
        self.future = future


class LoadShedder:
    def __init__(
        self,
        *,
        maximum: int,
        minimum: int,
        queue_length: int,
        latency_target_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maximum = maximum
        self.minimum = minimum
        self.limit = float(maximum)
        self.queue_length = queue_length
        self.latency_target_s = latency_target_s
        self.clock = clock
        self.in_flight = 0
        self.waiters: list[_Waiter] = []
        self.last_empty_at = clock()
        metrics.IN_FLIGHT_LIMIT.set(self.limit)

    async def run(self, criticality: Criticality, call: Callable[[], Awaitable[None]]) -> bool:
        """Run ``call`` when a slot is free; False if the request was shed instead."""
        if self.in_flight >= self.limit or self.waiters:
            if not await self._wait_for_slot(criticality):
                metrics.SHED.labels(criticality.name.lower()).inc()
                return False
        else:
            self.in_flight += 1
        started = self.clock()
        try:
            await call()
        finally:
            self.adjust(self.clock() - started)
            self.in_flight -= 1
            if self.waiters:
                self.release()
        return True

    def adjust(self, latency: float) -> None:
        limit = adjust_concurrency_limit(
            self.limit,
            latency=latency,
            latency_target=self.latency_target_s,
            in_flight=self.in_flight,
            minimum=self.minimum,
            maximum=self.maximum,
        )
        if limit != self.limit:
            self.limit = limit
            metrics.IN_FLIGHT_LIMIT.set(limit)

    async def _wait_for_slot(self, criticality: Criticality) -> bool:  # noqa: C901 - the CoDel wait in one loop, on the hot path of every request
        now = self.clock()
        if not self.waiters:
            self.last_empty_at = now
        if len(self.waiters) >= self.queue_length:
            victim = victim_to_shed([w.criticality for w in self.waiters], criticality)
            if victim is None:
                return False
            dropped = self.waiters.pop(victim)
            dropped.future.set_result(False)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(criticality, future)
        self.waiters.append(waiter)
        budget = codel_wait_budget(now, self.last_empty_at)
        try:
            async with asyncio.timeout(budget):
                return await asyncio.shield(future)
        except TimeoutError:
            if waiter in self.waiters:
                self.waiters.remove(waiter)
            if future.done() and future.result():
                # The slot arrived just as the wait ended: keep it.
                return True
            future.cancel()
            return False
        except asyncio.CancelledError:
            # The client went away while waiting: give back a slot it may have been handed.
            if waiter in self.waiters:
                self.waiters.remove(waiter)
            if future.done() and not future.cancelled() and future.result():
                self.in_flight -= 1
                self.release()
            future.cancel()
            raise
        finally:
            if not self.waiters:
                self.last_empty_at = self.clock()

    def release(self) -> None:
        while self.waiters and self.in_flight < self.limit:
            best = max(range(len(self.waiters)), key=lambda i: (self.waiters[i].criticality, -i))
            waiter = self.waiters.pop(best)
            if waiter.future.done():
                continue
            self.in_flight += 1
            waiter.future.set_result(True)
