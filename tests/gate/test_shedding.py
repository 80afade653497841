"""The in-worker shedder: bounded in-flight work, least critical dropped first."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from preau.domain.admission import Criticality
from preau.gate.shedding import LoadShedder


async def test_waiters_get_slots_by_criticality_and_the_least_critical_is_shed() -> None:
    shedder = LoadShedder(maximum=1, minimum=1, queue_length=2, latency_target_s=10)
    release = asyncio.Event()
    order: list[str] = []

    def job(name: str) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            order.append(name)
            if name == "holder":
                await release.wait()

        return call

    holder = asyncio.create_task(shedder.run(Criticality.KNOWN, job("holder")))
    await asyncio.sleep(0)
    anonymous = asyncio.create_task(shedder.run(Criticality.FIRST_TIME, job("anonymous")))
    pupil = asyncio.create_task(shedder.run(Criticality.KNOWN, job("pupil")))
    await asyncio.sleep(0)
    # The line is full: a signed-in person's request pushes out the anonymous one.
    session = asyncio.create_task(shedder.run(Criticality.ADMITTED_SESSION, job("session")))
    assert await anonymous is False
    release.set()
    assert await holder is True
    assert await session is True
    assert await pupil is True
    assert order == ["holder", "session", "pupil"]
    assert shedder.in_flight == 0


async def test_a_full_line_sheds_the_newcomer_of_lowest_criticality() -> None:
    shedder = LoadShedder(maximum=1, minimum=1, queue_length=1, latency_target_s=10)
    release = asyncio.Event()

    async def hold() -> None:
        await release.wait()

    async def quick() -> None:
        return None

    holder = asyncio.create_task(shedder.run(Criticality.KNOWN, hold))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(shedder.run(Criticality.PRIORITY, quick))
    await asyncio.sleep(0)
    assert await shedder.run(Criticality.FIRST_TIME, quick) is False
    release.set()
    assert await holder is True
    assert await waiting is True


async def test_a_standing_queue_gets_a_short_wait() -> None:
    shedder = LoadShedder(maximum=1, minimum=1, queue_length=10, latency_target_s=10)
    release = asyncio.Event()

    async def hold() -> None:
        await release.wait()

    async def quick() -> None:
        return None

    holder = asyncio.create_task(shedder.run(Criticality.KNOWN, hold))
    await asyncio.sleep(0)
    # Nobody releases the slot: the waiter gives up after its CoDel budget.
    assert await shedder.run(Criticality.KNOWN, quick) is False
    assert shedder.waiters == []
    release.set()
    assert await holder is True
    assert shedder.in_flight == 0
