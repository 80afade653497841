"""Week views: the week of a person (oneself, a parent's child) or of a class or group, and
one's own week kept warm per process."""

from __future__ import annotations

from datetime import date, timedelta

import msgspec

from preau.actions.access import access_group_by_id, access_person_by_id
from preau.actions.context import Services
from preau.actions.timetable.lessons import (
    expand_lessons,
    load_holidays,
    load_lessons,
    occurrences_for_person,
)
from preau.actions.warm import Entries, ReadVersions, content_etag
from preau.actions.zones import school_zone
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

# Any timetable write of a school bumps this read version (actions/warm.py, DESIGN.md §5).
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
        self.etag = content_etag(self.body)
        self.quoted_etag = b'"%s"' % self.etag.encode()  # as the ETag header carries it
        self.parts: dict[str, bytes] = {}


class WeekCache:
    """The weeks people look at most, their own current one, per process (LRU)."""

    def __init__(self, versions: ReadVersions, *, max_entries: int = 50_000) -> None:
        self.versions = versions
        self.max_entries = max_entries
        self.entries: Entries[tuple[int, int, date], CachedWeek] = Entries(max_entries)

    def lookup(self, actor: Actor, monday: date, now: float) -> CachedWeek | None:
        entry = self.entries.fresh((actor.school_id, actor.person_id, monday), now)
        if entry is None or entry.version < self.versions.current(actor.school_id, TIMETABLE_SCOPE):
            return None
        return entry

    async def week(self, services: Services, actor: Actor, monday: date) -> CachedWeek:
        """The actor's own week, from the cache or read (the version first, then the data)."""
        now = services.clock()
        entry = self.lookup(actor, monday, now)
        if entry is not None:
            return entry
        async with services.engine.connect() as connection:
            read = await self.versions.read(connection, actor.school_id, [TIMETABLE_SCOPE])
        version = read[TIMETABLE_SCOPE]
        entry = CachedWeek(
            await week(services, actor, monday), version=version, valid_until=now + WEEK_SECONDS
        )
        self.entries.keep((actor.school_id, actor.person_id, monday), entry)
        return entry
