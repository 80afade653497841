"""The registry of read versions behind every warm read (DESIGN.md §5), for every area.

A writer bumps one or more *scopes* of its school (``group:<id>``, ``pupil:<id>``,
``timetable``…) in the ``read_versions`` table inside its own transaction
(:func:`bump_versions`) and, after the commit, announces the new numbers
(:meth:`ReadVersions.announce`): applied in this process at once, then published on the
shared-state channel ``read_versions`` to the others. Each process keeps the versions it
has heard of; a lost message is caught by a re-read of recent bumps every
``RESYNC_SECONDS``. A cache keeps each entry with the versions it was built under and
serves it only while they are still the current ones.

:class:`Entries` is the per-process LRU those caches keep their entries in, each good
until its ``valid_until``; :func:`content_etag` the ETag made from an entry's bytes alone,
so an entry rebuilt unchanged still revalidates with a ``304``; :func:`kept_for_person`
a read kept per person until a live event drops it (``live.PersonCache``). The ASGI side (who a warm
read is for, its body and ETag) is ``web/warm.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from preau.adapters.sql.schema import read_versions
from preau.channels import cancel_all, follow
from preau.ports import SharedState, SharedStateUnavailable

if TYPE_CHECKING:
    from preau.live import PersonCache

CHANNEL = "read_versions"
RESYNC_SECONDS = 5.0

log = logging.getLogger("preau.warm")


class Bump(msgspec.Struct, frozen=True):
    school_id: int
    versions: dict[str, int]


def content_etag(body: bytes) -> str:
    """An ETag from the content alone (unquoted)."""
    return hashlib.blake2b(body, digest_size=10).hexdigest()


def bump_statement(insert: Any) -> Any:
    """Built once per dialect: add one to a scope's counter, creating it at 1 (parameters
    ``school_id``, ``scope``, ``now``; a writer may add its own inserts as CTEs)."""
    now = sa.bindparam("now", type_=read_versions.c.updated_at.type)
    return (
        insert(read_versions)
        .values(
            school_id=sa.bindparam("school_id", type_=read_versions.c.school_id.type),
            scope=sa.bindparam("scope", type_=read_versions.c.scope.type),
            version=1,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["school_id", "scope"],
            set_={"version": read_versions.c.version + 1, "updated_at": now},
        )
        .returning(read_versions.c.version)
    )


def bump_statement_for_rows(rows: Any, *, school_id: Any, now: Any) -> Any:
    """PostgreSQL: :func:`bump_statement` once for each row of ``rows``, a CTE a writer
    made in the same statement (parameter ``scope``; ``school_id`` and ``now`` are the
    writer's own bound values): nothing is bumped when the writer wrote nothing."""
    bump = sa.select(
        school_id, sa.bindparam("scope", type_=read_versions.c.scope.type),
        sa.literal(1, type_=read_versions.c.version.type), now,
    ).select_from(rows)  # fmt: skip
    return (
        postgresql.insert(read_versions)
        .from_select(["school_id", "scope", "version", "updated_at"], bump)
        .on_conflict_do_update(
            index_elements=["school_id", "scope"],
            set_={"version": read_versions.c.version + 1, "updated_at": now},
        )
        .returning(read_versions.c.version)
    )


_BUMP = {"postgresql": bump_statement(postgresql.insert), "sqlite": bump_statement(sqlite.insert)}


async def bump_versions(
    connection: AsyncConnection, school_id: int, scopes: Iterable[str], *, now: datetime
) -> dict[str, int]:
    """Inside the writer's transaction: add one to each scope's counter; returns the new
    numbers, for :meth:`ReadVersions.announce` after the commit."""
    statement = _BUMP[connection.dialect.name]
    bumped: dict[str, int] = {}
    for scope in sorted(set(scopes)):
        result = await connection.execute(
            statement, {"school_id": school_id, "scope": scope, "now": now}
        )
        bumped[scope] = int(result.scalar_one())
    return bumped


async def read_versions_of(
    connection: AsyncConnection, school_id: int, scopes: Iterable[str]
) -> dict[str, int]:
    """The stored versions of these scopes (0 for a scope never bumped). A cold read
    takes them before the data they cover, so an entry is never kept under a version
    newer than its data."""
    wanted = list(scopes)
    known = dict(
        (
            await connection.execute(
                sa.select(read_versions.c.scope, read_versions.c.version).where(
                    read_versions.c.school_id == school_id, read_versions.c.scope.in_(wanted)
                )
            )
        ).all()
    )
    return {scope: int(known.get(scope, 0)) for scope in wanted}


class ReadVersions:
    """This process's copy of the read versions, kept current by the writers' announces,
    the shared-state channel and a periodic resync. ``versions`` maps ``(school, scope)``
    to the newest version heard of; ``changes`` counts, per school, how many times any of
    them moved (a cache may keep a shortcut until its school's count moves)."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        state: SharedState,
        clock: Callable[[], float] = time.time,  # for the resync only; reads pass `now`
    ) -> None:
        self.engine = engine
        self.state = state
        self.clock = clock
        self.versions: dict[tuple[int, str], int] = {}
        self.changes: dict[int, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._synced_until = 0.0

    def current(self, school_id: int, scope: str) -> int:
        """The newest version of ``scope`` this process has heard of (0: none yet)."""
        return self.versions.get((school_id, scope), 0)

    def apply(self, school_id: int, versions: dict[str, int]) -> None:
        """Take newer versions (an older or equal one changes nothing)."""
        for scope, version in versions.items():
            key = (school_id, scope)
            if self.versions.get(key, -1) < version:
                self.versions[key] = version
                self.changes[school_id] = self.changes.get(school_id, 0) + 1

    async def read(
        self, connection: AsyncConnection, school_id: int, scopes: Iterable[str]
    ) -> dict[str, int]:
        """Read the stored versions of ``scopes`` (before the data they cover) and keep
        them: see :func:`read_versions_of`."""
        found = await read_versions_of(connection, school_id, scopes)
        self.apply(school_id, found)
        return found

    async def announce(self, school_id: int, versions: dict[str, int]) -> None:
        """After the commit: apply here at once, then tell the other processes."""
        if not versions:
            return
        self.apply(school_id, versions)
        try:
            await self.state.publish(
                CHANNEL, msgspec.json.encode(Bump(school_id=school_id, versions=versions))
            )
        except SharedStateUnavailable:
            log.warning("read versions not published; other processes resync within 5 s")

    async def resync(self) -> None:
        now = self.clock()
        since = datetime.fromtimestamp(
            max(self._synced_until - 2 * RESYNC_SECONDS, now - 3600), UTC
        )
        async with self.engine.connect() as connection:
            # A system query across schools, like the revocation resync.
            rows = await connection.execute(
                sa.select(
                    read_versions.c.school_id, read_versions.c.scope, read_versions.c.version
                ).where(read_versions.c.updated_at >= since)
            )
            for school_id, scope, version in rows:
                self.apply(school_id, {scope: version})
        self._synced_until = now

    async def start(self) -> None:
        self._synced_until = self.clock()
        self._tasks.append(asyncio.create_task(self._listen()))
        self._tasks.append(asyncio.create_task(self._resync_forever()))

    async def stop(self) -> None:
        await cancel_all(self._tasks)

    async def _listen(self) -> None:
        decoder = msgspec.json.Decoder(Bump)

        def on_message(message: bytes) -> None:
            with contextlib.suppress(msgspec.DecodeError, ValueError):
                bump = decoder.decode(message)
                self.apply(bump.school_id, bump.versions)

        # A lost message is caught by the periodic resync within RESYNC_SECONDS.
        await follow(self.state, CHANNEL, on_message, retry_s=2.0)

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_SECONDS)
            try:
                await self.resync()
            except Exception:
                log.exception("read versions resync failed; will retry")


class Expiring(Protocol):
    @property
    def valid_until(self) -> float: ...


K = TypeVar("K")
E = TypeVar("E", bound=Expiring)


class Entries(OrderedDict[K, E]):
    """A per-process LRU of cache entries, each good strictly before its
    ``valid_until``; the oldest read goes first once there are ``max_entries``."""

    __slots__ = ("max_entries",)

    def __init__(self, max_entries: int) -> None:
        super().__init__()
        self.max_entries = max_entries

    def fresh(self, key: K, now: float) -> E | None:
        """The entry under ``key`` if it is still good at ``now`` (and marked as read)."""
        entry = self.get(key)
        if entry is None or entry.valid_until <= now:
            return None
        self.move_to_end(key)
        return entry

    def keep(self, key: K, entry: E) -> list[K]:
        """Keep ``entry`` under ``key``; returns the keys evicted to make room."""
        self[key] = entry
        self.move_to_end(key)
        evicted: list[K] = []
        while len(self) > self.max_entries:
            evicted.append(self.popitem(last=False)[0])
        return evicted


async def kept_for_person(
    cache: PersonCache, person_id: int, name: str, build: Callable[[], Awaitable[bytes]]
) -> tuple[bytes, str]:
    """A read kept per person until an event concerning them drops it (the inbox, the
    unread counts: ``live.PersonCache``): the kept bytes and quoted ETag, or ``build()``
    kept unless an event came while it was read."""
    cached = cache.get(person_id, name)
    if cached is not None:
        return cached
    ticket = cache.ticket()
    body = await build()
    etag = f'"{content_etag(body)}"'
    cache.put(person_id, name, body, etag, ticket)
    return body, etag
