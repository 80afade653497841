"""One contract for every shared-state adapter (memory and Redis)."""

from __future__ import annotations

import asyncio
import contextlib

from preau.adapters.memory.shared_state import MemorySharedState
from preau.adapters.redis.shared_state import RedisSharedState
from preau.ports import SharedState


async def test_values_expire(shared_state: SharedState) -> None:
    await shared_state.set("a", b"1", ttl_seconds=0.05)
    assert await shared_state.get("a") == b"1"
    await asyncio.sleep(0.12)
    assert await shared_state.get("a") is None


async def test_add_sets_only_once(shared_state: SharedState) -> None:
    assert await shared_state.add("once", b"x", ttl_seconds=10)
    assert not await shared_state.add("once", b"y", ttl_seconds=10)
    assert await shared_state.get("once") == b"x"
    await shared_state.delete("once")
    assert await shared_state.add("once", b"z")


async def test_take_gives_a_value_to_one_caller_only(shared_state: SharedState) -> None:
    await shared_state.set("pending", b"p", ttl_seconds=10)
    taken = await asyncio.gather(*(shared_state.take("pending") for _ in range(5)))
    assert sorted(taken, key=lambda value: value is None) == [b"p", None, None, None, None]
    assert await shared_state.get("pending") is None
    assert await shared_state.take("never-set") is None
    await shared_state.set("brief", b"b", ttl_seconds=0.05)
    await asyncio.sleep(0.12)
    assert await shared_state.take("brief") is None


async def test_counters_count_and_expire(shared_state: SharedState) -> None:
    assert await shared_state.incr("c") == 1
    assert await shared_state.incr("c", 5) == 6
    assert await shared_state.incr("t", ttl_seconds=0.05) == 1
    assert await shared_state.incr("t", ttl_seconds=0.05) == 2
    await asyncio.sleep(0.12)
    assert await shared_state.incr("t") == 1


async def test_publish_reaches_subscribers_in_order(shared_state: SharedState) -> None:
    subscription = await shared_state.subscribe("news", "other")
    received: list[tuple[str, bytes]] = []

    async def collect() -> None:
        async for item in subscription:
            received.append(item)
            if len(received) == 3:
                return

    task = asyncio.create_task(collect())
    await asyncio.sleep(0.05)
    await shared_state.publish("news", b"1")
    await shared_state.publish("ignored", b"x")
    await shared_state.publish("other", b"2")
    await shared_state.publish("news", b"3")
    await asyncio.wait_for(task, 2)
    assert received == [("news", b"1"), ("other", b"2"), ("news", b"3")]
    await subscription.close()


async def test_ping(shared_state: SharedState) -> None:
    await shared_state.ping()


async def test_follow_subscribes_again_after_a_loss(shared_state: SharedState) -> None:
    from preau.channels import follow

    received: list[bytes] = []
    subscribed = asyncio.Event()
    lost: list[int] = []

    def on_subscribed() -> None:
        subscribed.set()

    def on_lost() -> None:
        subscribed.clear()
        lost.append(1)

    task = asyncio.create_task(
        follow(
            shared_state,
            "news",
            received.append,
            on_subscribed=on_subscribed,
            on_lost=on_lost,
            retry_s=0.01,
        )
    )
    try:
        await asyncio.wait_for(subscribed.wait(), 2)
        await asyncio.sleep(0.05)
        await shared_state.publish("news", b"before")
        # Close the listener's subscriptions from under it, as a lost connection would.
        if isinstance(shared_state, MemorySharedState):
            for subscription in list(shared_state._subscriptions):
                await subscription.close()
        else:
            assert isinstance(shared_state, RedisSharedState)
            # Only this test's connections: others share the Redis server.
            for client in (shared_state.client, shared_state.listener):
                pool = client.connection_pool
                for connection in [*pool._in_use_connections, *pool._available_connections]:
                    await connection.disconnect()
        await asyncio.sleep(0.1)
        await asyncio.wait_for(subscribed.wait(), 2)
        await asyncio.sleep(0.05)
        await shared_state.publish("news", b"after")
        for _ in range(100):
            if b"after" in received:
                break
            await asyncio.sleep(0.01)
        assert received == [b"before", b"after"]
        assert lost
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
