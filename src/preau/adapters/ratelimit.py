"""Storages for the `limits` library: in-process memory, or Redis for many processes."""

from __future__ import annotations

from limits.aio.storage import MemoryStorage, RedisStorage, Storage


def rate_limit_storage(redis_url: str, *, prefix: str) -> Storage:
    if not redis_url:
        return MemoryStorage()
    uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
    return RedisStorage(
        uri,
        implementation="redispy",
        key_prefix=prefix + "limits",
        wrap_exceptions=True,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
    )
