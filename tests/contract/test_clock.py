"""One contract for both clocks (the system's and the manual one the gate's tests move)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from preau.adapters.clock import ManualClock, SystemClock
from preau.ports import Clock


@pytest.fixture(params=["system", "manual"])
def clock_and_pass_time(request: pytest.FixtureRequest) -> tuple[Clock, Callable[[float], None]]:
    """A clock, and how a test lets time pass on it (the system's passes by itself)."""
    if request.param == "system":
        return SystemClock(), lambda seconds: None
    clock = ManualClock(time.time())
    return clock, clock.advance


async def test_sleep_returns_once_the_monotonic_clock_moved_on(
    clock_and_pass_time: tuple[Clock, Callable[[float], None]],
) -> None:
    clock, pass_time = clock_and_pass_time
    started, wall_started = clock.monotonic(), clock.time()
    sleeper = asyncio.ensure_future(clock.sleep(0.02))
    await asyncio.sleep(0)
    pass_time(0.02)
    await sleeper
    assert clock.monotonic() - started >= 0.02
    assert clock.time() - wall_started >= 0.02 - 1e-3  # the wall clock may be stepped by ±ms
    assert abs(clock.time() - time.time()) < 3600  # seconds since the epoch, both


async def test_readings_never_go_back(
    clock_and_pass_time: tuple[Clock, Callable[[float], None]],
) -> None:
    clock, pass_time = clock_and_pass_time
    readings = []
    for _ in range(3):
        readings.append((clock.monotonic(), clock.process_time()))
        pass_time(0.5)
    assert readings == sorted(readings)


async def test_a_manual_clock_wakes_sleepers_in_order_and_only_when_due() -> None:
    clock = ManualClock(1000.0, cpu_share=0.5)
    woken: list[str] = []

    async def sleep(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woken.append(name)

    tasks = [asyncio.ensure_future(sleep(n, s)) for n, s in (("late", 2.0), ("early", 1.0))]
    await asyncio.sleep(0)
    assert clock.sleepers == 2
    clock.advance(0.5)
    await asyncio.sleep(0)
    assert woken == []
    clock.advance(2.0)
    await asyncio.gather(*tasks)
    assert woken == ["early", "late"]
    assert (clock.time(), clock.monotonic(), clock.process_time()) == (1002.5, 2.5, 1.25)
    assert clock.sleepers == 0
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(-1)
