"""The timetable: lessons, one-off changes, holidays, week views and calendar feeds.

Weekly lessons are written by school admins; an occurrence is changed by its teacher or
by staff; a week is read by its pupils, their parents, its teachers and staff. The feed
is reached by a secret address only (no session), so it is looked up by the secret's
hash, and a revoked or replaced secret is simply not found.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import (
    access_group_by_id,
    access_lesson_by_id,
    access_person_by_id,
    enforce,
)
from preau.actions.classwork.todo import TodoCache, bump_versions
from preau.actions.context import Services
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import (
    calendar_feeds,
    enrolments,
    groups,
    people,
    read_versions,
    timetable_changes,
    timetable_holidays,
    timetable_lessons,
)
from preau.domain.access import Action, directory_decision
from preau.domain.errors import InvalidInput, NotFound
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.domain.timetable import (
    FEED_WEEKS_AFTER,
    FEED_WEEKS_BEFORE,
    Change,
    ChangeDraft,
    ChangeKind,
    Holiday,
    HolidayDraft,
    Lesson,
    LessonDraft,
    Occurrence,
    Weeks,
    WeekView,
    calendar_feed,
    check_change,
    check_holiday,
    check_lesson,
    expand,
    in_week_pattern,
    monday_of,
    week_view,
)
from preau.domain.tokens import fingerprint
from preau.i18n import lazy

Row = sa.Row[Any]

NOT_AN_OCCURRENCE = lazy("This lesson does not take place on that day.")
NOT_A_TEACHER = lazy("Choose a teacher of your school.")
GROUP_UNKNOWN = lazy("This class or group does not exist or is not in your school.")
FEED_NOT_FOUND = lazy("This calendar address does not exist or was revoked.")


# -- loading -----------------------------------------------------------------------------


teachers = people.alias("teachers")
new_teachers = people.alias("new_teachers")


def _lesson(row: Row) -> Lesson:
    return Lesson(
        id=row.id,
        group_id=row.group_id,
        group_name=row.group_name,
        subject=row.subject,
        teacher_id=row.teacher_id,
        teacher_name=f"{row.teacher_given} {row.teacher_family}" if row.teacher_id else "",
        room=row.room,
        weekday=row.weekday,
        starts_minute=row.starts_minute,
        ends_minute=row.ends_minute,
        weeks=Weeks(row.weeks),
        first_day=row.first_day,
        last_day=row.last_day,
        virtual=bool(row.virtual),
    )


def _lessons_query(school_id: int) -> sa.Select[Any]:
    return (
        sa.select(
            timetable_lessons,
            groups.c.name.label("group_name"),
            teachers.c.given_name.label("teacher_given"),
            teachers.c.family_name.label("teacher_family"),
        )
        .join(groups, groups.c.id == timetable_lessons.c.group_id)
        .outerjoin(teachers, teachers.c.id == timetable_lessons.c.teacher_id)
        .where(timetable_lessons.c.school_id == school_id)
    )


async def load_lessons(
    connection: AsyncConnection,
    school_id: int,
    *,
    group_ids: Sequence[int] | None = None,
    teacher_id: int | None = None,
    lesson_ids: Sequence[int] | None = None,
) -> list[Lesson]:
    query = _lessons_query(school_id)
    conditions: list[sa.ColumnElement[bool]] = []
    if group_ids is not None:
        conditions.append(timetable_lessons.c.group_id.in_(group_ids))
    if teacher_id is not None:
        replaced_by_them = sa.select(timetable_changes.c.lesson_id).where(
            timetable_changes.c.school_id == school_id,
            timetable_changes.c.new_teacher_id == teacher_id,
        )
        conditions.append(
            sa.or_(
                timetable_lessons.c.teacher_id == teacher_id,
                timetable_lessons.c.id.in_(replaced_by_them),
            )
        )
    if lesson_ids is not None:
        conditions.append(timetable_lessons.c.id.in_(lesson_ids))
    if conditions:
        query = query.where(sa.or_(*conditions))
    rows = await connection.execute(query.order_by(timetable_lessons.c.id))
    return [_lesson(row) for row in rows]


async def load_changes(
    connection: AsyncConnection, school_id: int, lesson_ids: Sequence[int], first: date, last: date
) -> list[Change]:
    if not lesson_ids:
        return []
    rows = await connection.execute(
        sa.select(
            timetable_changes,
            new_teachers.c.given_name.label("given"),
            new_teachers.c.family_name.label("family"),
        )
        .outerjoin(new_teachers, new_teachers.c.id == timetable_changes.c.new_teacher_id)
        .where(
            timetable_changes.c.school_id == school_id,
            timetable_changes.c.lesson_id.in_(lesson_ids),
            sa.or_(
                timetable_changes.c.day.between(first, last),
                timetable_changes.c.new_day.between(first, last),
            ),
        )
    )
    return [
        Change(
            lesson_id=row.lesson_id,
            day=row.day,
            kind=ChangeKind(row.kind),
            new_day=row.new_day,
            new_starts_minute=row.new_starts_minute,
            new_ends_minute=row.new_ends_minute,
            new_room=row.new_room,
            new_teacher_id=row.new_teacher_id,
            new_teacher_name=f"{row.given} {row.family}" if row.new_teacher_id else None,
            new_subject=row.new_subject,
            note=row.note,
            virtual=row.virtual,
        )
        for row in rows
    ]


async def load_holidays(
    connection: AsyncConnection, school_id: int, first: date, last: date
) -> list[Holiday]:
    rows = await connection.execute(
        sa.select(timetable_holidays).where(
            timetable_holidays.c.school_id == school_id,
            timetable_holidays.c.first_day <= last,
            timetable_holidays.c.last_day >= first,
        )
    )
    return [Holiday(name=r.name, first_day=r.first_day, last_day=r.last_day) for r in rows]


async def _groups_of(connection: AsyncConnection, school_id: int, person_id: int) -> list[int]:
    rows = await connection.execute(
        sa.select(enrolments.c.group_id).where(
            enrolments.c.school_id == school_id,
            enrolments.c.person_id == person_id,
            enrolments.c.role == "pupil",
        )
    )
    return [row.group_id for row in rows]


async def occurrences_for_person(
    connection: AsyncConnection,
    school_id: int,
    person: Row,
    first: date,
    days: int,
    *,
    zone: ZoneInfo,
) -> list[Occurrence]:
    """The lessons a person attends (pupil) or teaches (staff), expanded over the days."""
    if person.profile == Profile.PUPIL.value:
        lessons = await load_lessons(
            connection, school_id, group_ids=await _groups_of(connection, school_id, person.id)
        )
    elif person.profile in {profile.value for profile in STAFF_PROFILES}:
        lessons = await load_lessons(connection, school_id, teacher_id=person.id)
    else:
        lessons = []
    teacher = person.id if person.profile != Profile.PUPIL.value else None
    return await expand_lessons(
        connection, school_id, lessons, first, days, zone=zone, teacher_id=teacher
    )


async def expand_lessons(
    connection: AsyncConnection,
    school_id: int,
    lessons: list[Lesson],
    first: date,
    days: int,
    *,
    zone: ZoneInfo,
    teacher_id: int | None = None,
) -> list[Occurrence]:
    last = first + timedelta(days=days - 1)
    # Changes are found by original or new day; a wide margin catches long moves.
    changes = await load_changes(
        connection,
        school_id,
        [lesson.id for lesson in lessons],
        first - timedelta(days=60),
        last + timedelta(days=60),
    )
    holidays = await load_holidays(connection, school_id, first, last)
    found = expand(lessons, changes, holidays, first_day=first, days=days, zone=zone)
    if teacher_id is not None:
        # A teacher replaced on one day does not teach it; a replacement teaches only it.
        found = [item for item in found if item.teacher_id == teacher_id]
    return found


# -- week views --------------------------------------------------------------------------


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


async def _timetable_changed(
    services: Services, connection: AsyncConnection, school_id: int
) -> dict[str, int]:
    """Inside the writer's transaction; announce the result after the commit."""
    return await bump_versions(connection, school_id, [TIMETABLE_SCOPE], now=services.now())


# -- writing -----------------------------------------------------------------------------


async def _check_teacher(
    connection: AsyncConnection, school_id: int, teacher_id: int, field: str
) -> None:
    row = (
        await connection.execute(
            sa.select(people.c.profile).where(
                people.c.id == teacher_id, people.c.school_id == school_id
            )
        )
    ).first()
    if row is None or row.profile not in {profile.value for profile in STAFF_PROFILES}:
        raise InvalidInput(NOT_A_TEACHER, field=field)


async def create_lesson(services: Services, actor: Actor, draft: LessonDraft) -> Lesson:
    enforce(directory_decision(actor, Action.CHANGE, school_id=actor.school_id))
    draft, starts, ends = check_lesson(draft)
    async with services.engine.begin() as connection:
        group = (
            await connection.execute(
                sa.select(groups.c.id).where(
                    groups.c.id == draft.group_id, groups.c.school_id == actor.school_id
                )
            )
        ).first()
        if group is None:
            raise InvalidInput(GROUP_UNKNOWN, field="group_id")
        if draft.teacher_id is not None:
            await _check_teacher(connection, actor.school_id, draft.teacher_id, "teacher_id")
        result = await connection.execute(
            timetable_lessons.insert().values(
                school_id=actor.school_id,
                group_id=draft.group_id,
                subject=draft.subject,
                teacher_id=draft.teacher_id,
                room=draft.room,
                weekday=draft.weekday,
                starts_minute=starts,
                ends_minute=ends,
                weeks=draft.weeks.value,
                first_day=draft.first_day,
                last_day=draft.last_day,
                virtual=draft.virtual,
                created_at=services.now(),
            )
        )
        lesson_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one key
        lesson = (await load_lessons(connection, actor.school_id, lesson_ids=[lesson_id]))[0]
        bumped = await _timetable_changed(services, connection, actor.school_id)
    await services.todo_cache.announce(actor.school_id, bumped)
    return lesson


def takes_place(lesson: Lesson, day: date) -> bool:
    return (
        lesson.weekday == day.isoweekday()
        and lesson.first_day <= day <= lesson.last_day
        and in_week_pattern(lesson.weeks, day)
    )


async def change_occurrence(services: Services, actor: Actor, draft: ChangeDraft) -> Occurrence:
    """Cancel, move or replace one occurrence (replacing an earlier change of it)."""
    starts, ends = check_change(draft)
    async with services.engine.begin() as connection:
        lesson = await access_lesson_by_id(connection, actor, draft.lesson_id, Action.CHANGE)
        if not takes_place(lesson, draft.day):
            raise InvalidInput(NOT_AN_OCCURRENCE, field="day")
        if draft.new_teacher_id is not None:
            await _check_teacher(
                connection, actor.school_id, draft.new_teacher_id, "new_teacher_id"
            )
        values = {
            "kind": draft.kind.value,
            "new_day": draft.new_day,
            "new_starts_minute": starts,
            "new_ends_minute": ends,
            "new_room": " ".join(draft.new_room.split()) if draft.new_room is not None else None,
            "new_teacher_id": draft.new_teacher_id,
            "new_subject": draft.new_subject,
            "note": draft.note.strip(),
            "virtual": draft.virtual,
            "created_at": services.now(),
        }
        updated = await connection.execute(
            timetable_changes.update()
            .where(
                timetable_changes.c.school_id == actor.school_id,
                timetable_changes.c.lesson_id == lesson.id,
                timetable_changes.c.day == draft.day,
            )
            .values(**values)
        )
        if updated.rowcount == 0:
            await connection.execute(
                timetable_changes.insert().values(
                    school_id=actor.school_id, lesson_id=lesson.id, day=draft.day, **values
                )
            )
        around = draft.new_day or draft.day
        span_start = min(draft.day, around)
        span = (max(draft.day, around) - span_start).days + 1
        zone = await school_zone(services, actor.school_id, connection)
        occurrences = await expand_lessons(
            connection, actor.school_id, [lesson], span_start, span, zone=zone
        )
        bumped = await _timetable_changed(services, connection, actor.school_id)
    await services.todo_cache.announce(actor.school_id, bumped)
    return next(item for item in occurrences if item.day == draft.day)


async def set_virtual(
    services: Services, actor: Actor, lesson_id: int, day: date, *, virtual: bool
) -> None:
    """Hold one occurrence as a virtual class, or back in class, keeping any other change."""
    async with services.engine.begin() as connection:
        lesson = await access_lesson_by_id(connection, actor, lesson_id, Action.CHANGE)
        if not takes_place(lesson, day):
            raise InvalidInput(NOT_AN_OCCURRENCE, field="day")
        updated = await connection.execute(
            timetable_changes.update()
            .where(
                timetable_changes.c.school_id == actor.school_id,
                timetable_changes.c.lesson_id == lesson.id,
                timetable_changes.c.day == day,
            )
            .values(virtual=virtual)
        )
        if updated.rowcount == 0:
            await connection.execute(
                timetable_changes.insert().values(
                    school_id=actor.school_id,
                    lesson_id=lesson.id,
                    day=day,
                    kind=ChangeKind.VIRTUAL.value,
                    virtual=virtual,
                    created_at=services.now(),
                )
            )
        bumped = await _timetable_changed(services, connection, actor.school_id)
    await services.todo_cache.announce(actor.school_id, bumped)


async def add_holiday(services: Services, actor: Actor, draft: HolidayDraft) -> Holiday:
    enforce(directory_decision(actor, Action.CHANGE, school_id=actor.school_id))
    draft = check_holiday(draft)
    async with services.engine.begin() as connection:
        await connection.execute(
            timetable_holidays.insert().values(
                school_id=actor.school_id,
                name=draft.name,
                first_day=draft.first_day,
                last_day=draft.last_day,
            )
        )
        bumped = await _timetable_changed(services, connection, actor.school_id)
    await services.todo_cache.announce(actor.school_id, bumped)
    return Holiday(name=draft.name, first_day=draft.first_day, last_day=draft.last_day)


# -- calendar feeds ----------------------------------------------------------------------


async def new_feed_secret(services: Services, actor: Actor) -> str:
    """A new secret feed address for the actor; any earlier one stops working."""
    secret = secrets.token_urlsafe(32)
    now = services.now()
    async with services.engine.begin() as connection:
        await _revoke(connection, actor, now)
        await connection.execute(
            calendar_feeds.insert().values(
                school_id=actor.school_id,
                person_id=actor.person_id,
                secret_hash=fingerprint(secret),
                created_at=now,
            )
        )
    return secret


async def _revoke(connection: AsyncConnection, actor: Actor, now: datetime) -> int:
    result = await connection.execute(
        calendar_feeds.update()
        .where(
            calendar_feeds.c.school_id == actor.school_id,
            calendar_feeds.c.person_id == actor.person_id,
            calendar_feeds.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return int(result.rowcount)


async def revoke_feed(services: Services, actor: Actor) -> bool:
    async with services.engine.begin() as connection:
        return await _revoke(connection, actor, services.now()) > 0


async def has_feed(services: Services, actor: Actor) -> bool:
    async with services.engine.connect() as connection:
        found = await connection.execute(
            sa.select(calendar_feeds.c.id).where(
                calendar_feeds.c.school_id == actor.school_id,
                calendar_feeds.c.person_id == actor.person_id,
                calendar_feeds.c.revoked_at.is_(None),
            )
        )
        return found.first() is not None


async def feed_by_secret(services: Services, secret: str) -> bytes:
    """The iCalendar text of the person holding ``secret``: four weeks back, sixteen ahead."""
    if not 20 <= len(secret) <= 100:
        raise NotFound(FEED_NOT_FOUND)
    async with services.engine.connect() as connection:
        feed = (
            await connection.execute(
                sa.select(calendar_feeds.c.school_id, calendar_feeds.c.person_id).where(
                    calendar_feeds.c.secret_hash == fingerprint(secret),
                    calendar_feeds.c.revoked_at.is_(None),
                )
            )
        ).first()
        if feed is None:
            raise NotFound(FEED_NOT_FOUND)
        person = (
            await connection.execute(
                sa.select(people).where(
                    people.c.id == feed.person_id,
                    people.c.school_id == feed.school_id,
                    people.c.active.is_(True),
                )
            )
        ).first()
        if person is None:
            raise NotFound(FEED_NOT_FOUND)
        now = services.now()
        zone = await school_zone(services, feed.school_id, connection)
        first = monday_of(now.astimezone(zone).date()) - timedelta(weeks=FEED_WEEKS_BEFORE)
        days = 7 * (FEED_WEEKS_BEFORE + FEED_WEEKS_AFTER)
        occurrences = await occurrences_for_person(
            connection, feed.school_id, person, first, days, zone=zone
        )
    title = f"Préau — {person.given_name} {person.family_name}"
    return calendar_feed(occurrences, title=title, stamp=now, zone=zone)
