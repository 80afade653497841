"""The one fail-open rate limiter (``preau.adapters.ratelimit``) on each storage the
composition root may choose (memory, Redis), and on a storage that fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from limits import parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.errors import StorageError
from prometheus_client import REGISTRY

from preau.adapters.ratelimit import FailOpenLimiter, memory_storage, redis_storage
from preau.adapters.redis.shared_state import RedisSharedState


def fail_open_count(name: str) -> float:
    return REGISTRY.get_sample_value("preau_rate_limit_fail_open_total", {"limiter": name}) or 0.0


@pytest.fixture(params=["memory", "redis"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    if request.param == "memory":
        yield memory_storage()
        return
    state = RedisSharedState(
        request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("redis_prefix")
    )
    yield redis_storage(state, "limits")
    await state.close()


@pytest.mark.parametrize("strategy", [FixedWindowRateLimiter, MovingWindowRateLimiter])
async def test_counts_up_to_the_limit_then_refuses(storage: Storage, strategy: Any) -> None:
    limiter = FailOpenLimiter("contract", storage, strategy)
    item = parse("3/minute")
    assert [await limiter.hit(item, "someone") for _ in range(4)] == [True, True, True, False]
    assert await limiter.hit(item, "someone else")
    await limiter.clear(item, "someone")
    assert await limiter.hit(item, "someone")


async def test_an_unreachable_redis_lets_requests_through_counted() -> None:
    """Redis errors must reach the limiter as the library's StorageError, or they would
    fail the request instead of the limit."""
    state = RedisSharedState("redis://127.0.0.1:1/0", prefix="nobody-listens:")
    limiter = FailOpenLimiter(
        "contract-down", redis_storage(state, "limits"), MovingWindowRateLimiter
    )
    before = fail_open_count("contract-down")
    item = parse("1/minute")
    assert [await limiter.hit(item, "someone") for _ in range(3)] == [True, True, True]
    assert fail_open_count("contract-down") - before == 3
    await state.close()


class FailingStorage(MemoryStorage):
    """A storage whose every write fails, counting the attempts."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def incr(self, *_args: Any, **_kwargs: Any) -> int:
        self.attempts += 1
        raise StorageError(ConnectionError("the storage is down"))


async def test_a_failed_storage_is_left_alone_for_the_pause() -> None:
    now = [100.0]
    failing = FailingStorage()
    limiter = FailOpenLimiter(
        "contract-paused",
        failing,
        FixedWindowRateLimiter,
        pause_after_failure_s=1.0,
        clock=lambda: now[0],
    )
    item = parse("1/minute")
    before = fail_open_count("contract-paused")
    assert await limiter.hit(item, "someone")
    now[0] += 0.5
    assert await limiter.hit(item, "someone")
    assert failing.attempts == 1  # paused: the second check did not wait on the storage
    now[0] += 1.0
    assert await limiter.hit(item, "someone")
    assert failing.attempts == 2
    assert fail_open_count("contract-paused") - before == 3


async def test_a_refusal_raised_inside_an_attempt_is_not_swallowed() -> None:
    """Only storage failures fail open: a check that decides to refuse still refuses."""
    limiter = FailOpenLimiter("contract-refusal", memory_storage(), FixedWindowRateLimiter)

    async def refuse() -> None:
        raise PermissionError("over the limit")

    with pytest.raises(PermissionError):
        await limiter.attempt(refuse, fallback=None)
