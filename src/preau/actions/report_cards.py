"""A pupil's report card and skill summary served warm: a per-process cache kept coherent
by read versions, like the to-do (DESIGN.md §5, docs/marks.md "Costs").

Every marks or skills write bumps, in its own transaction, the version of the group it
touches (``marks:<group id>``), or of the whole school (``marks``: terms, settings,
coefficients, frameworks), and announces it after the commit. A cached card remembers
the versions of the school and of the pupil's groups it was built under, read before its
data; it is served while they are unchanged, for at most ``READER_SECONDS`` (the pupil's
groups, names and today's term are read again that often), to a reader allowed to see it
in the last ``READER_SECONDS``. A warm read runs no SQL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.adapters.sql.schema import enrolments
from preau.domain.people import Actor

if TYPE_CHECKING:
    from preau.actions.context import Services
    from preau.actions.warm import ReadVersions
from preau.actions.warm import bump_versions, read_versions_of

SCHOOL_SCOPE = "marks"  # terms, the way of counting, coefficients, skill frameworks
READER_SECONDS = 60.0  # who may read a card, and the pupil's groups, are read this often

Loaded = TypeVar("Loaded")


def group_scope(group_id: int) -> str:
    return f"marks:{group_id}"


def registry(services: Services) -> ReadVersions:
    """The read versions this process knows, hears of and announces (``actions/warm.py``)."""
    return services.versions


async def bump_marks(
    connection: AsyncConnection,
    school_id: int,
    group_ids: Iterable[int] = (),
    *,
    now: datetime,
    whole_school: bool = False,
) -> dict[str, int]:
    """Inside the writer's transaction; announce the result with :func:`announce` after
    the commit."""
    scopes = [group_scope(group_id) for group_id in group_ids]
    if whole_school:
        scopes.append(SCHOOL_SCOPE)
    return await bump_versions(connection, school_id, scopes, now=now)


async def announce(services: Services, school_id: int, versions: dict[str, int]) -> None:
    await registry(services).announce(school_id, versions)


class Entry:
    __slots__ = ("scopes", "seen", "valid_until", "value")

    def __init__(
        self, value: object, scopes: tuple[tuple[int, str], ...], seen: tuple[int, ...],
        valid_until: float,
    ) -> None:  # fmt: skip
        self.value = value
        self.scopes = scopes
        self.seen = seen
        self.valid_until = valid_until


class ReportCardCache:
    """Report cards and skill summaries by (kind, school, pupil, term asked), per process
    (LRU), and who was allowed to read which pupil's, until when."""

    def __init__(self, *, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple[str, int, int, int | None], Entry] = OrderedDict()
        self.readers: dict[tuple[int, int, int], float] = {}

    def lookup(
        self,
        services: Services,
        *,
        kind: str,
        actor: Actor,
        pupil_id: int,
        term_id: int | None,
        now: float,
    ) -> object | None:
        """The warm value, or None: no I/O."""
        if self.readers.get((actor.school_id, actor.person_id, pupil_id), 0.0) <= now:
            return None
        key = (kind, actor.school_id, pupil_id, term_id)
        entry = self.entries.get(key)
        if entry is None or entry.valid_until <= now:
            return None
        versions = registry(services).versions
        for scope, seen in zip(entry.scopes, entry.seen, strict=True):
            if versions.get(scope, 0) != seen:
                return None
        self.entries.move_to_end(key)
        return entry.value

    async def read(
        self,
        services: Services,
        *,
        kind: str,
        actor: Actor,
        pupil_id: int,
        term_id: int | None,
        load: Callable[[], Awaitable[Loaded]],
    ) -> Loaded:
        """From the cache, or ``load`` it (which checks the reader's access and raises
        when refused: nothing is kept then). The versions are read before the data."""
        now = services.clock()
        found = self.lookup(
            services, kind=kind, actor=actor, pupil_id=pupil_id, term_id=term_id, now=now
        )
        if found is not None:
            return found  # type: ignore[return-value]  # stored by ``read`` for this kind
        school_id = actor.school_id
        async with services.engine.connect() as connection:
            seen = await _versions(connection, school_id, pupil_id)
        registry(services).apply(school_id, seen)
        value = await load()
        if len(self.readers) >= self.max_entries:
            self.readers.clear()
        self.readers[(school_id, actor.person_id, pupil_id)] = now + READER_SECONDS
        key = (kind, school_id, pupil_id, term_id)
        self.entries[key] = Entry(
            value,
            tuple((school_id, scope) for scope in seen),
            tuple(seen.values()),
            now + READER_SECONDS,
        )
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)
        return value


async def _versions(connection: AsyncConnection, school_id: int, pupil_id: int) -> dict[str, int]:
    """Two queries: the pupil's groups, then the versions of the school's and their scopes
    (0 for a scope never bumped)."""
    group_ids = (
        await connection.execute(
            sa.select(enrolments.c.group_id).where(
                enrolments.c.school_id == school_id,
                enrolments.c.person_id == pupil_id,
                enrolments.c.role == "pupil",
            )
        )
    ).scalars()
    scopes = [SCHOOL_SCOPE, *(group_scope(group_id) for group_id in sorted(set(group_ids)))]
    return await read_versions_of(connection, school_id, scopes)
