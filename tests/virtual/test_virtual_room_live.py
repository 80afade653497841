"""The class pages' live channel across processes: two hubs on one shared state (this
process's memory, or Redis) — an event published by one reaches the other's listeners of
that room only, and only the people it names; a page that falls behind gets ``resync``."""

from __future__ import annotations

import asyncio

from preau.actions.virtual.live import QUEUE_SIZE, RESYNC, RoomHub
from preau.ports import SharedState


async def next_frame(queue: asyncio.Queue[bytes | None]) -> bytes | None:
    async with asyncio.timeout(5):
        return await queue.get()


async def test_an_event_crosses_to_the_other_hub_for_the_named_people(
    shared_state: SharedState,
) -> None:
    writer, reader = RoomHub(), RoomHub()
    await writer.start(shared_state)
    await reader.start(shared_state)
    try:
        teacher = reader.connect(7, person_id=1)
        pupil = reader.connect(7, person_id=2)
        elsewhere = reader.connect(8, person_id=2)
        await writer.publish(shared_state, 7, "chat", {"body": "à tous"})
        for listener in (teacher, pupil):
            assert await next_frame(listener.queue) == (
                b'event: chat\ndata: {"body":"\xc3\xa0 tous"}\n\n'
            )
        await writer.publish(shared_state, 7, "results", {"counts": [1, 0]}, to=[1])
        assert await next_frame(teacher.queue) == b'event: results\ndata: {"counts":[1,0]}\n\n'
        await writer.publish(shared_state, 7, "stroke", {"id": 3})
        assert (await next_frame(pupil.queue) or b"").startswith(b"event: stroke")  # not results
        assert elsewhere.queue.empty()
    finally:
        await writer.stop()
        await reader.stop()


async def test_a_page_that_falls_behind_is_told_to_read_again() -> None:
    hub = RoomHub()
    listener = hub.connect(1, person_id=1)
    frame = b"event: stroke\ndata: {}\n\n"
    for _ in range(QUEUE_SIZE + 1):
        listener.push(frame)
    assert listener.lagging
    assert listener.queue.get_nowait() == RESYNC
    assert listener.queue.empty()
    hub.disconnect(listener)
    assert hub.listeners == {}
