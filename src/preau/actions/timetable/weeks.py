"""Week views: the week of a person (oneself, a parent's child) or of a class or group, and
one's own week kept warm per process."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import date, timedelta

import msgspec
import sqlalchemy as sa

from preau.actions.access import access_group_by_id, access_person_by_id
from preau.actions.classwork.todo import TodoCache
from preau.actions.context import Services
from preau.actions.timetable.lessons import (
    expand_lessons,
    load_holidays,
    load_lessons,
    occurrences_for_person,
)
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import read_versions
from preau.domain.access import Action
from preau.domain.people import Actor
from preau.domain.timetable import WeekView, monday_of, week_view


async def week(
    services: Services,
    actor: Actor,
    monday: date,
    *,
    person_id: int | None = None,
    group_id: int | None = None,
) -> WeekView:
    """The week of ``person_id`` (default: the actor; a parent names a child) or of a
    class or group (staff, and its members)."""
    monday = monday_of(monday)
    async with services.engine.connect() as connection:
        zone = await school_zone(services, actor.school_id, connection)
        if group_id is not None:
            await access_group_by_id(connection, actor, group_id, Action.READ)
            lessons = await load_lessons(connection, actor.school_id, group_ids=[group_id])
            occurrences = await expand_lessons(
                connection, actor.school_id, lessons, monday, 7, zone=zone
            )
        else:
            target = person_id or actor.person_id
            person = await access_person_by_id(connection, actor, target, Action.READ)
            occurrences = await occurrences_for_person(
                connection, actor.school_id, person, monday, 7, zone=zone
            )
        holidays = await load_holidays(connection, actor.school_id, monday, monday + timedelta(6))
    view = week_view([], [], holidays, monday=monday, zone=zone)
    view.occurrences = occurrences
    return view


# -- one's own week, warm --------------------------------------------------------------------

# Any timetable write of a school bumps this read version (DESIGN.md §5); the versions are
# kept and heard of by the to-do cache's registry, like the classwork ones.
TIMETABLE_SCOPE = "timetable"
WEEK_SECONDS = 60.0  # a warm week is rebuilt this often anyway: enrolments, a new day


class CachedWeek:
    """One person's week as JSON, and its pages per locale (filled by the web layer)."""

    __slots__ = ("body", "etag", "parts", "quoted_etag", "valid_until", "version", "view")

    def __init__(self, view: WeekView, *, version: int, valid_until: float) -> None:
        self.view = view
        self.version = version
        self.valid_until = valid_until
        self.body = msgspec.json.encode(view)
        self.etag = hashlib.blake2b(self.body, digest_size=10).hexdigest()
        self.quoted_etag = b'"%s"' % self.etag.encode()  # as the ETag header carries it
        self.parts: dict[str, bytes] = {}


class WeekCache:
    """The weeks people look at most, their own current one, per process (LRU)."""

    def __init__(self, versions: TodoCache, *, max_entries: int = 50_000) -> None:
        self.versions = versions
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple[int, int, date], CachedWeek] = OrderedDict()

    def lookup(self, actor: Actor, monday: date, now: float) -> CachedWeek | None:
        key = (actor.school_id, actor.person_id, monday)
        entry = self.entries.get(key)
        if entry is None or entry.valid_until <= now:
            return None
        if entry.version < self.versions.versions.get((actor.school_id, TIMETABLE_SCOPE), 0):
            return None
        self.entries.move_to_end(key)
        return entry

    async def week(self, services: Services, actor: Actor, monday: date) -> CachedWeek:
        """The actor's own week, from the cache or read (the version first, then the data)."""
        now = services.clock()
        entry = self.lookup(actor, monday, now)
        if entry is not None:
            return entry
        async with services.engine.connect() as connection:
            version = int(
                (
                    await connection.execute(
                        sa.select(read_versions.c.version).where(
                            read_versions.c.school_id == actor.school_id,
                            read_versions.c.scope == TIMETABLE_SCOPE,
                        )
                    )
                ).scalar()
                or 0
            )
        self.versions.apply(actor.school_id, {TIMETABLE_SCOPE: version})
        entry = CachedWeek(
            await week(services, actor, monday), version=version, valid_until=now + WEEK_SECONDS
        )
        key = (actor.school_id, actor.person_id, monday)
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)
        return entry
