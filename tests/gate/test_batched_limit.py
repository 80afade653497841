"""The batched rate limit: batches reach the limiter; at a hand-over, a key under half its
limit's pace is left out, and a faster one is counted in full."""

from __future__ import annotations

from preau.gate.ratelimit import BatchedLimit, local_storage


async def test_a_hand_over_leaves_out_quiet_keys_and_counts_fast_ones_in_full() -> None:
    # 600 a minute is 10 a second: in a 2-second period, under 10 hits is under half pace.
    limit = BatchedLimit("account", "600/minute", local_storage(), hand_over_s=2.0)
    assert limit.flush_floor == 10
    assert limit.batch == 16
    for _ in range(12):
        assert await limit.allow("fast")
    for _ in range(9):
        assert await limit.allow("quiet")
    await limit.flush()
    assert limit.pending == {}
    fast = await limit.limiter.get_window_stats(limit.item, "account", "fast")
    quiet = await limit.limiter.get_window_stats(limit.item, "account", "quiet")
    assert fast.remaining == 600 - 12
    assert quiet.remaining == 600  # 9 hits in 2 s: 270 a minute at that pace, under the limit


async def test_a_key_over_its_limit_is_refused_whatever_the_hand_overs() -> None:
    limit = BatchedLimit("pass", "10/minute", local_storage(), largest_batch=1, hand_over_s=2.0)
    assert limit.batch == 1  # every hit reaches the limiter at once
    for _ in range(10):
        assert await limit.allow("k")
    assert not await limit.allow("k")


async def test_without_a_hand_over_period_every_pending_hit_is_counted() -> None:
    limit = BatchedLimit("address", "1000/minute", local_storage())
    assert limit.flush_floor == 1
    assert await limit.allow("a")
    await limit.flush()
    stats = await limit.limiter.get_window_stats(limit.item, "address", "a")
    assert stats.remaining == 999
