"""The ports: interfaces the actions need, each with an in-process and a real adapter.

``bootstrap`` picks the implementations; one contract suite in ``tests/contract`` runs
against every adapter of a port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """The time, read through one object so that tests can move it by hand (the gate's).

    Readings only, and a sleep measured on them: background work keeps the event loop's
    own timers, since they say when work happens, not what time it is.
    """

    def time(self) -> float:
        """Seconds since the epoch: expiries, tickets and the shared queue's times."""
        ...

    def monotonic(self) -> float:
        """Seconds that never go back: durations and latencies."""
        ...

    def process_time(self) -> float:
        """CPU seconds this process has used: its share of a core over a period."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once :meth:`monotonic` has moved on by ``seconds``."""
        ...


class SharedStateUnavailable(RuntimeError):
    """The shared state (Redis) cannot be reached; callers decide whether to fail open."""


class Subscription(Protocol):
    """Messages published on some channels, in order, until closed."""

    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]: ...

    async def close(self) -> None: ...


class SharedState(Protocol):
    """Counters, small keyed values with expiry, and pub/sub, shared by every process.

    Keys are namespaced by the adapter; callers pass short logical names.
    """

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl_seconds: float | None = None) -> None: ...

    async def add(self, key: str, value: bytes, *, ttl_seconds: float | None = None) -> bool:
        """Set ``key`` only if it is absent; True if this call set it (single-use markers)."""
        ...

    async def delete(self, key: str) -> None: ...

    async def take(self, key: str) -> bytes | None:
        """Get and delete ``key`` at once: of callers racing for it, one gets the value
        (single-use values: a pending sign-in answered once)."""
        ...

    async def incr(self, key: str, amount: int = 1, *, ttl_seconds: float | None = None) -> int:
        """Add to an integer counter (created at 0) and return the new value.

        ``ttl_seconds`` sets the expiry when the counter is created.
        """
        ...

    async def publish(self, channel: str, message: bytes) -> None: ...

    async def subscribe(self, *channels: str) -> Subscription: ...

    async def ping(self) -> None:
        """Raise :class:`SharedStateUnavailable` if the state cannot be reached."""
        ...

    async def close(self) -> None: ...


class FileStoreUnavailable(RuntimeError):
    """The file store (disk or S3) cannot be reached or refused an operation."""


class FileStore(Protocol):
    """Bytes of uploaded files, under keys Préau chooses (never the uploader's file name).

    Metadata (name, type, size, hash, owner) lives in the ``files`` table; the store only
    holds bytes.
    """

    async def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def put_path(self, key: str, path: Path, *, content_type: str) -> None:
        """Store the file at ``path`` (a video, too big to hold in memory) under ``key``."""
        ...

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The file's bytes in chunks; raises :class:`FileNotFoundError` if it is gone."""
        ...

    async def size(self, key: str) -> int:
        """The file's length in bytes; raises :class:`FileNotFoundError` if it is gone."""
        ...

    def open_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` included, in chunks (a Range request's answer)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; absent keys are not an error."""
        ...

    async def signed_url(
        self, key: str, *, filename: str, content_type: str, expires_seconds: int
    ) -> str | None:
        """A time-limited URL that serves the file directly with the given download
        headers, or None when the store cannot (the app then streams the bytes)."""
        ...

    async def close(self) -> None: ...
