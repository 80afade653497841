"""Reading while the database is down (docs/reliability.md): the last answer each person
got for their hot reads (to-do, homework, week, inbox), kept per process and as a
second-level copy in the shared state (Redis, or memory on the embedded default), and
which database errors mean "unreachable" rather than a bug.

A copy is written only when its content changes (a per-process dict look-up on every
answer, a shared-state write on a change), and served only when the database cannot be
reached, marked as possibly stale by the web layer (``web/degraded.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import socket
import time
import zlib
from collections import OrderedDict

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.ports import SharedState, SharedStateUnavailable

log = logging.getLogger("preau.degraded")

KEPT_SECONDS = 2 * 86400  # a copy in the shared state: yesterday's, at least
MAX_KEPT_BYTES = 64 * 1024 * 1024  # the copies one process keeps, bodies counted
MAX_BODY = 512 * 1024  # larger answers are not kept
SHARED_TIMEOUT = 0.5  # a slow shared state must not hold a degraded answer long
# SQLSTATE classes that mean the server is going away or not accepting connections:
# 08 connection exceptions, 57P0x admin/crash shutdown, "cannot connect now".
# 25006: a write reached a node that is read-only right now (a replica being promoted, a
# primary just demoted): the primary is unreachable for writes until the failover ends.
UNREACHABLE_SQLSTATES = ("08", "57P", "25006")
NETWORK_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH,
     errno.ENETUNREACH, errno.ETIMEDOUT, errno.EPIPE}
)  # fmt: skip


def database_unavailable(error: BaseException) -> bool:
    """True when ``error`` says the database cannot be reached now (refused, reset, shut
    down, timed out, a connection that died), not that the request or the code is wrong."""
    if _network_error(error):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated or isinstance(error, InterfaceError | OperationalError):
            return True
        cause: BaseException | None = error.orig
        while cause is not None:
            if _network_error(cause):
                return True
            state = getattr(cause, "sqlstate", None)
            if isinstance(state, str) and state.startswith(UNREACHABLE_SQLSTATES):
                return True
            cause = cause.__cause__
    return False


def _network_error(error: BaseException) -> bool:
    """Refused, reset, unreachable, timed out: not a missing file or a full disk."""
    return isinstance(error, ConnectionError | TimeoutError | socket.gaierror) or (
        isinstance(error, OSError) and error.errno in NETWORK_ERRNOS
    )


class StaleCopy(msgspec.Struct, frozen=True):
    content_type: bytes
    etag: bytes  # as the answer carried it (quoted), or a hash of the body
    body: bytes
    saved_at: float


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(StaleCopy)


def _pack(copy: StaleCopy) -> bytes:
    """A shared copy, compressed: pages shrink about tenfold (docs/reliability.md)."""
    return zlib.compress(_encoder.encode(copy), 1)


def _unpack(raw: bytes) -> StaleCopy | None:
    with contextlib.suppress(zlib.error, msgspec.DecodeError, msgspec.ValidationError):
        return _decoder.decode(zlib.decompress(raw))
    return None


class StaleCopies:
    """The last answer per (school, person, path, query, locale), here and shared."""

    def __init__(self, state: SharedState, *, max_bytes: int = MAX_KEPT_BYTES) -> None:
        self.state = state
        self.max_bytes = max_bytes
        self.kept_bytes = 0
        self.entries: OrderedDict[str, StaleCopy] = OrderedDict()
        self._writes: set[asyncio.Task[None]] = set()
        self.shared_failures = 0

    @staticmethod
    def key(school_id: int, person_id: int, path: str, query: bytes, locale: str) -> str:
        digest = hashlib.blake2b(query, digest_size=8).hexdigest() if query else "-"
        return f"stale:{school_id}:{person_id}:{locale}:{path}:{digest}"

    @staticmethod
    def etag_of(etag: bytes | None, body: bytes) -> bytes:
        return etag or hashlib.blake2b(body, digest_size=10).hexdigest().encode()

    def keep(self, key: str, copy: StaleCopy) -> None:
        """Remember ``copy`` here; write it to the shared state when it changed."""
        known = self.entries.get(key)
        if known is not None and known.etag == copy.etag:
            self.entries.move_to_end(key)
            return
        if known is not None:
            self.kept_bytes -= len(known.body)
        self.entries[key] = copy
        self.entries.move_to_end(key)
        self.kept_bytes += len(copy.body)
        while self.kept_bytes > self.max_bytes and self.entries:
            self.kept_bytes -= len(self.entries.popitem(last=False)[1].body)
        task = asyncio.get_running_loop().create_task(self._share(key, copy))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _share(self, key: str, copy: StaleCopy) -> None:
        try:
            async with asyncio.timeout(SHARED_TIMEOUT * 4):
                await self.state.set(key, _pack(copy), ttl_seconds=KEPT_SECONDS)
        except (SharedStateUnavailable, TimeoutError):
            self.shared_failures += 1

    async def find(self, key: str) -> StaleCopy | None:
        """The copy here, else the shared one (another process served it last)."""
        copy = self.entries.get(key)
        if copy is not None:
            return copy
        try:
            async with asyncio.timeout(SHARED_TIMEOUT):
                raw = await self.state.get(key)
        except (SharedStateUnavailable, TimeoutError):
            return None
        return None if raw is None else _unpack(raw)

    async def flush(self) -> None:
        """Wait for the shared writes under way (tests, shutdown)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)


class DatabaseWatch:
    """Whether this process last found the database unreachable. Set by any request that
    met an unreachable database; cleared by a probe (``SELECT 1`` every
    ``PROBE_SECONDS``) that runs only while it is set. While set, even the warm reads
    answered from memory are marked possibly stale."""

    PROBE_SECONDS = 1.0

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.down_since: float | None = None
        self._probe: asyncio.Task[None] | None = None

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def noticed_down(self) -> None:
        if self.down_since is None:
            self.down_since = time.time()
            log.warning("the database is unreachable: serving kept copies, refusing writes")
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._until_back())

    def noticed_up(self) -> None:
        if self.down_since is not None:
            log.warning("the database is back after %.0f s", time.time() - self.down_since)
            self.down_since = None

    async def _until_back(self) -> None:
        while self.down_since is not None:
            await asyncio.sleep(self.PROBE_SECONDS)
            try:
                async with asyncio.timeout(2), self.engine.connect() as connection:
                    await connection.execute(sa.text("SELECT 1"))
            except Exception as error:
                if not database_unavailable(error):
                    log.exception("database probe failed")
                continue
            self.noticed_up()

    async def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
