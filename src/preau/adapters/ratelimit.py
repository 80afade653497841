"""Storages for the `limits` library: in-process memory, or the Redis of the shared state
(one connection pool per process, closed with the shared state)."""

from __future__ import annotations

from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from preau.adapters.redis.shared_state import RedisSharedState
from preau.ports import SharedState


def rate_limit_storage(state: SharedState) -> Storage:
    if not isinstance(state, RedisSharedState):
        return MemoryStorage()
    return RedisStorage(
        "async+redis://127.0.0.1:6379",  # unused: the connections come from the pool below
        implementation="redispy",
        key_prefix=state.prefix + "limits",
        wrap_exceptions=True,
        connection_pool=state.client.connection_pool,  # type: ignore[arg-type]  # passed through to redis-py
    )
