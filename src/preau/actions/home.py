"""The home page of each profile: "what now?". It only gathers the reads other areas
already keep (the to-do and one's own week warm per process, the report card warm, the
unread counts per person) and adds the two small reads no area had: who one is, and the
school's last roster import."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa

from preau.actions.attendance.reads import office
from preau.actions.classwork.cached_reads import todo_of
from preau.actions.classwork.teacher import teacher_homework
from preau.actions.context import Services
from preau.actions.marks import report_card
from preau.actions.messages.moderation import list_reports
from preau.actions.messages.unread import unread_counts_cached
from preau.actions.timetable.weeks import week
from preau.actions.virtual.rooms import RoomView, my_rooms
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import parent_links, people, roster_imports, schools
from preau.domain.attendance import Absence
from preau.domain.classwork import HandInState, HomeworkSummary, Todo, TodoItem
from preau.domain.errors import PreauError
from preau.domain.marks import MarkLine
from preau.domain.messages import MODERATORS, UnreadCounts
from preau.domain.people import Actor, Profile
from preau.domain.timetable import Occurrence, monday_of

DUE_SOON_DAYS = 2  # "work due soon": today, tomorrow and the day after
NEW_MARK_DAYS = 14  # a mark is "new" on the home page for this long after its evaluation
SHOWN = 5  # lines per card; the card links to the full page


class NewMark(msgspec.Struct, kw_only=True):
    subject: str
    line: MarkLine


class PupilPanel(msgspec.Struct, kw_only=True):
    """What a pupil (or a parent, for one child) should look at now."""

    pupil_id: int
    name: str  # a parent's card says the child's full name
    lessons: list[Occurrence]  # today's, in order
    due_soon: list[TodoItem]
    returned: list[TodoItem]
    new_marks: list[NewMark]


class LastImport(msgspec.Struct, kw_only=True):
    source_name: str
    finished_at: datetime | None
    rejected: int


class Home(msgspec.Struct, kw_only=True):
    given_name: str
    family_name: str
    school: str
    today: date
    zone: str
    unread: UnreadCounts
    lessons: list[Occurrence] = msgspec.field(default_factory=list)
    next_room: RoomView | None = None
    # No room yet (rooms open shortly before): the next lesson the timetable holds online.
    next_virtual_lesson: Occurrence | None = None
    pupils: list[PupilPanel] = msgspec.field(default_factory=list)  # oneself, or one's children
    to_review: list[HomeworkSummary] = msgspec.field(default_factory=list)
    pending_absences: int = 0
    absences: list[Absence] = msgspec.field(default_factory=list)  # the first ones to follow up
    flagged_pupils: int = 0
    reports: int = 0
    last_import: LastImport | None = None


async def home(services: Services, actor: Actor) -> Home:
    """The actor's home page, by profile."""
    now = services.now()
    zone = await school_zone(services, actor.school_id)
    today = now.astimezone(zone).date()
    async with services.engine.connect() as connection:
        me = (
            await connection.execute(
                sa.select(people.c.given_name, people.c.family_name, schools.c.name)
                .join(schools, schools.c.id == people.c.school_id)
                .where(people.c.id == actor.person_id, people.c.school_id == actor.school_id)
            )
        ).one()
    unread_body, _etag = await unread_counts_cached(services, actor)
    view = Home(
        given_name=me.given_name,
        family_name=me.family_name,
        school=me.name,
        today=today,
        zone=zone.key,
        unread=msgspec.json.decode(unread_body, type=UnreadCounts),
    )
    if actor.profile is Profile.PUPIL:
        view.lessons = await _own_lessons(services, actor, today)
        view.next_room = _next_room(await my_rooms(services, actor))
        if view.next_room is None:
            view.next_virtual_lesson = await _next_virtual_lesson(services, actor, now, today)
        view.pupils = [
            await _pupil_panel(
                services, actor, actor.person_id, me.given_name, today, lessons=view.lessons
            )
        ]
    elif actor.profile is Profile.PARENT:
        view.pupils = [
            await _pupil_panel(services, actor, child_id, name, today, lessons=None)
            for child_id, name in await _children(services, actor)
        ]
    elif actor.profile is Profile.TEACHER:
        view.lessons = await _own_lessons(services, actor, today)
        view.next_room = _next_room(await my_rooms(services, actor))
        if view.next_room is None:
            view.next_virtual_lesson = await _next_virtual_lesson(services, actor, now, today)
        view.to_review = [
            item
            for weekly in await teacher_homework(services, actor)
            for item in weekly.items
            if item.turned_in
        ][:SHOWN]
    if actor.profile in MODERATORS:
        desk = await office(services, actor)
        view.pending_absences = len(desk.pending)
        view.absences = desk.pending[:SHOWN]
        view.flagged_pupils = len(desk.flagged)
        view.reports = len(await list_reports(services, actor))
    if actor.profile is Profile.ADMIN:
        view.last_import = await last_import(services, actor)
    return view


async def _own_lessons(services: Services, actor: Actor, today: date) -> list[Occurrence]:
    entry = await services.week_cache.week(services, actor, monday_of(today))
    return _lessons_of(entry.view.occurrences, today)


async def _next_virtual_lesson(
    services: Services, actor: Actor, now: datetime, today: date
) -> Occurrence | None:
    """The next online lesson of this week or the next (both kept warm per process)."""
    for monday in (monday_of(today), monday_of(today) + timedelta(days=7)):
        entry = await services.week_cache.week(services, actor, monday)
        found = [
            item
            for item in entry.view.occurrences
            if item.virtual and item.status != "cancelled" and item.ends_at > now
        ]
        if found:
            return min(found, key=lambda item: item.starts_at)
    return None


def _lessons_of(occurrences: list[Occurrence], today: date) -> list[Occurrence]:
    return sorted(
        (item for item in occurrences if item.starts_at.date() == today),
        key=lambda item: item.starts_at,
    )


def _next_room(rooms: list[RoomView]) -> RoomView | None:
    """The next virtual class not over yet (``my_rooms`` lists them by start time)."""
    return next((room for room in rooms if not room.over), None)


async def _children(services: Services, actor: Actor) -> list[tuple[int, str]]:
    """The parent's own children (each panel then reads them through the access checks)."""
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.select(people.c.id, people.c.given_name, people.c.family_name)
            .join(parent_links, parent_links.c.child_id == people.c.id)
            .where(
                parent_links.c.school_id == actor.school_id,
                parent_links.c.parent_id == actor.person_id,
                people.c.active.is_(True),
            )
            .order_by(people.c.given_name)
        )
        return [(int(row.id), f"{row.given_name} {row.family_name}") for row in rows]


async def _pupil_panel(
    services: Services,
    actor: Actor,
    pupil_id: int,
    name: str,
    today: date,
    *,
    lessons: list[Occurrence] | None,
) -> PupilPanel:
    entry = await todo_of(services, actor, pupil_id)
    if lessons is None:  # a parent: the child's week, read with the same access check
        child_week = await week(services, actor, monday_of(today), person_id=pupil_id)
        lessons = _lessons_of(child_week.occurrences, today)
    due_soon, returned = todo_cards(entry.todo, services.now(), entry.zone)
    return PupilPanel(
        pupil_id=pupil_id,
        name=name,
        lessons=lessons,
        due_soon=due_soon,
        returned=returned,
        new_marks=await _new_marks(services, actor, pupil_id, today),
    )


def todo_cards(todo: Todo, now: datetime, zone: ZoneInfo) -> tuple[list[TodoItem], list[TodoItem]]:
    """Work due before the end of the day after tomorrow and not yet done, and work the
    teacher gave back, newest first."""
    last_day = now.astimezone(zone).date() + timedelta(days=DUE_SOON_DAYS)
    due_soon: list[TodoItem] = []
    returned: list[TodoItem] = []
    for day in todo.days:
        for item in day.items:
            if item.returned or item.state is HandInState.RETURNED:
                returned.append(item)
            elif (
                not item.closed
                and not item.done
                and item.state is HandInState.ASSIGNED
                and now <= item.due_at
                and item.due_at.astimezone(zone).date() <= last_day
            ):
                due_soon.append(item)
    due_soon.sort(key=lambda item: item.due_at)
    returned.sort(key=lambda item: item.due_at, reverse=True)
    return due_soon[:SHOWN], returned[:SHOWN]


async def _new_marks(services: Services, actor: Actor, pupil_id: int, today: date) -> list[NewMark]:
    try:
        card = await report_card(services, actor, pupil_id)
    except PreauError:  # no term or no marks to show: the card is simply left out
        return []
    since = today - timedelta(days=NEW_MARK_DAYS)
    found = [
        NewMark(subject=subject.subject, line=line)
        for subject in card.subjects
        for line in subject.marks
        if line.day >= since and (line.points is not None or line.special is not None)
    ]
    found.sort(key=lambda mark: mark.line.day, reverse=True)
    return found[:SHOWN]


async def last_import(services: Services, actor: Actor) -> LastImport | None:
    """The school's last roster import (a school admin's upload), if any."""
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                sa.select(
                    roster_imports.c.source_name,
                    roster_imports.c.finished_at,
                    roster_imports.c.summary,
                )
                .where(roster_imports.c.school_id == actor.school_id)
                .order_by(roster_imports.c.started_at.desc())
                .limit(1)
            )
        ).first()
    if row is None:
        return None
    summary: dict[str, Any] = row.summary or {}
    return LastImport(
        source_name=row.source_name,
        finished_at=row.finished_at,
        rejected=int(summary.get("rejected_total", 0)),
    )
