"""The clocks behind the :class:`~preau.ports.Clock` port: the machine's, and a manual one
that tests move by hand."""

from __future__ import annotations

import asyncio
import time as system_time


class SystemClock:
    """The machine's clocks, and the event loop's sleep."""

    __slots__ = ()

    # The functions themselves, not wrappers: the gate reads the wall clock on every
    # request its hot path does not take, and an extra Python frame would show there.
    time = staticmethod(system_time.time)
    monotonic = staticmethod(system_time.monotonic)
    process_time = staticmethod(system_time.process_time)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that stands still until :meth:`advance` moves it.

    Advancing moves every reading by the same amount (CPU time by ``cpu_share`` of it, as
    if the process had kept that share of a core busy) and wakes the sleepers whose time
    has come, in the order of their wake-up times.
    """

    def __init__(self, start: float, *, cpu_share: float = 0.0) -> None:
        self._time = start
        self._monotonic = 0.0
        self._cpu = 0.0
        self.cpu_share = cpu_share
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def time(self) -> float:
        return self._time

    def monotonic(self) -> float:
        return self._monotonic

    def process_time(self) -> float:
        return self._cpu

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)  # a sleep of nothing still lets other tasks run
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sleeper = (self._monotonic + seconds, future)
        self._sleepers.append(sleeper)
        try:
            await future
        finally:
            if sleeper in self._sleepers:  # cancelled before its time
                self._sleepers.remove(sleeper)

    @property
    def sleepers(self) -> int:
        """How many coroutines are asleep on this clock (tests wait for them to settle)."""
        return len(self._sleepers)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self._time += seconds
        self._monotonic += seconds
        self._cpu += seconds * self.cpu_share
        due = sorted(
            (sleeper for sleeper in self._sleepers if sleeper[0] <= self._monotonic),
            key=lambda sleeper: sleeper[0],
        )
        for sleeper in due:
            self._sleepers.remove(sleeper)
            if not sleeper[1].done():
                sleeper[1].set_result(None)
