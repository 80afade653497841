"""The batched rate limit: batches reach the limiter; at a hand-over, counts below the
limit's floor are left out and the others are counted."""

from __future__ import annotations

from preau.gate.ratelimit import BatchedLimit, local_storage


async def test_a_hand_over_counts_what_may_matter_and_leaves_out_single_hits() -> None:
    limit = BatchedLimit("account", "10/minute", local_storage(), largest_batch=1, flush_floor=2)
    assert limit.batch == 1  # every hit reaches the limiter at once
    floored = BatchedLimit("pass", "1000/minute", local_storage(), flush_floor=2)
    assert floored.batch == 16
    for _ in range(3):
        assert await floored.allow("busy")
    assert await floored.allow("quiet")
    await floored.flush()
    assert floored.pending == {}
    busy = await floored.limiter.get_window_stats(floored.item, "pass", "busy")
    quiet = await floored.limiter.get_window_stats(floored.item, "pass", "quiet")
    assert busy.remaining == 1000 - 3
    assert quiet.remaining == 1000  # one hit in a flush period: left out
    for _ in range(10):
        assert await limit.allow("k")
    assert not await limit.allow("k")


async def test_without_a_floor_every_pending_hit_is_counted() -> None:
    limit = BatchedLimit("address", "1000/minute", local_storage())
    assert await limit.allow("a")
    await limit.flush()
    stats = await limit.limiter.get_window_stats(limit.item, "address", "a")
    assert stats.remaining == 999
