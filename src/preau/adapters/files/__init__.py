"""Implementations of the :class:`preau.ports.FileStore` port: local disk and S3."""

from __future__ import annotations

from collections.abc import AsyncIterator

from preau.ports import FileStore


async def open_existing(store: FileStore, key: str) -> AsyncIterator[bytes]:
    """The stored bytes of ``key``, or :class:`FileNotFoundError` now rather than halfway
    through a response that has already started."""
    chunks = store.open(key)
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""

    async def everything() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return everything()
