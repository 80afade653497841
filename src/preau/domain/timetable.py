"""The timetable (emploi du temps): weekly lessons, one-off changes, holidays, week views
and the iCalendar feed. Pure: the school's time zone and the week are passed in.

A lesson repeats every week (or only in week A or B: A is an odd ISO week number) between
two days. A change alters one occurrence, named by the lesson and its original day:
cancelled, moved (another day or time) or replaced (another teacher, room or subject).
Holidays remove every occurrence inside them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import msgspec

from preau.domain.bounds import Id, Input, check_day
from preau.domain.errors import InvalidInput
from preau.domain.people import check_name

MINUTES_PER_DAY = 24 * 60
ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
UID_DOMAIN = "preau"
FEED_WEEKS_BEFORE = 4
FEED_WEEKS_AFTER = 16


def lazy(message: str) -> str:
    """Mark a sentence for the catalogue; it is translated where shown (as ``i18n.lazy``)."""
    return message


LESSON_NOT_FOUND = lazy("This lesson does not exist or is not in your school.")
BAD_WEEK = lazy("Write the week as year, W and week number, like 2026-W48.")


class Weeks(enum.StrEnum):
    ALL = "all"
    A = "A"  # odd ISO week numbers
    B = "B"  # even ISO week numbers


class ChangeKind(enum.StrEnum):
    CANCELLED = "cancelled"
    MOVED = "moved"
    REPLACED = "replaced"
    VIRTUAL = "virtual"  # only held as a virtual class (or back in class): not shown as a change


class LessonDraft(Input, kw_only=True):
    group_id: Id
    subject: str
    teacher_id: Id | None = None
    room: str = ""
    weekday: int  # 1 = Monday … 7 = Sunday
    starts: str  # "08:00", school time
    ends: str  # "08:55"
    weeks: Weeks = Weeks.ALL
    first_day: date
    last_day: date
    virtual: bool = False


class ChangeDraft(Input, kw_only=True):
    multiline = frozenset({"note"})
    lesson_id: Id
    day: date  # the occurrence's original day
    kind: ChangeKind
    new_day: date | None = None
    new_starts: str | None = None
    new_ends: str | None = None
    new_room: str | None = None
    new_teacher_id: Id | None = None
    new_subject: str | None = None
    note: str = ""
    virtual: bool | None = None  # None keeps the lesson's own choice


class HolidayDraft(Input, kw_only=True):
    name: str
    first_day: date
    last_day: date


class Lesson(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    group_id: int
    group_name: str
    subject: str
    teacher_id: int | None
    teacher_name: str
    room: str
    weekday: int
    starts_minute: int
    ends_minute: int
    weeks: Weeks
    first_day: date
    last_day: date
    virtual: bool


class Change(msgspec.Struct, frozen=True, kw_only=True):
    lesson_id: int
    day: date
    kind: ChangeKind
    new_day: date | None = None
    new_starts_minute: int | None = None
    new_ends_minute: int | None = None
    new_room: str | None = None
    new_teacher_id: int | None = None
    new_teacher_name: str | None = None
    new_subject: str | None = None
    note: str = ""
    virtual: bool | None = None


class Holiday(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    first_day: date
    last_day: date


class Occurrence(msgspec.Struct, frozen=True, kw_only=True):
    """One lesson on one day, as it will happen (or not: ``status`` says)."""

    uid: str
    lesson_id: int
    day: date  # original day: with lesson_id, names the occurrence
    starts_at: datetime
    ends_at: datetime
    subject: str
    group_id: int
    group_name: str
    teacher_id: int | None
    teacher_name: str
    room: str
    status: str  # "normal" or a ChangeKind value
    note: str
    virtual: bool


class WeekView(msgspec.Struct, kw_only=True):
    week: str  # 2026-W48
    monday: date
    previous_week: str
    next_week: str
    holidays: list[str]
    occurrences: list[Occurrence]


# -- checks ------------------------------------------------------------------------------


def parse_minute(text: str, field: str) -> int:
    match = re.fullmatch(r"\s*(\d{1,2})[:h](\d{2})\s*", text or "")
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise InvalidInput("Write the time as hours and minutes, like 08:30.", field=field)
    return int(match.group(1)) * 60 + int(match.group(2))


def minute_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def check_times(starts: str, ends: str, prefix: str = "") -> tuple[int, int]:
    start = parse_minute(starts, prefix + "starts")
    end = parse_minute(ends, prefix + "ends")
    if end <= start:
        raise InvalidInput("A lesson must end after it starts.", field=prefix + "ends")
    return start, end


def check_lesson(draft: LessonDraft) -> tuple[LessonDraft, int, int]:
    subject = check_name(draft.subject, "subject")
    room = " ".join(draft.room.split())
    if len(room) > 50:
        raise InvalidInput("A room name is at most 50 characters.", field="room")
    if not 1 <= draft.weekday <= 7:
        raise InvalidInput("Choose a day of the week.", field="weekday")
    start, end = check_times(draft.starts, draft.ends)
    if draft.last_day < draft.first_day:
        raise InvalidInput("The last day comes before the first day.", field="last_day")
    if (draft.last_day - draft.first_day).days > 400:
        raise InvalidInput("A lesson repeats for at most one school year.", field="last_day")
    return msgspec.structs.replace(draft, subject=subject, room=room), start, end


def check_change(draft: ChangeDraft) -> tuple[int | None, int | None]:
    if draft.kind is ChangeKind.MOVED and draft.new_day is None and draft.new_starts is None:
        raise InvalidInput("Give the new day or the new time of the lesson.", field="new_day")
    if len(draft.note) > 500:
        raise InvalidInput("A note is at most 500 characters.", field="note")
    if draft.new_room is not None and len(draft.new_room) > 50:
        raise InvalidInput("A room name is at most 50 characters.", field="new_room")
    if draft.new_subject is not None:
        check_name(draft.new_subject, "new_subject")
    if draft.new_starts or draft.new_ends:
        if not (draft.new_starts and draft.new_ends):
            raise InvalidInput("Give both the new start and end times.", field="new_ends")
        return check_times(draft.new_starts, draft.new_ends, "new_")
    return None, None


def check_holiday(draft: HolidayDraft) -> HolidayDraft:
    name = check_name(draft.name, "name")
    if draft.last_day < draft.first_day:
        raise InvalidInput("The last day comes before the first day.", field="last_day")
    return msgspec.structs.replace(draft, name=name)


# -- weeks -------------------------------------------------------------------------------


def parse_week(text: str) -> date:
    """The Monday of ISO week ``2026-W48``."""
    match = ISO_WEEK.match(text.strip())
    if not match:
        raise InvalidInput(BAD_WEEK, field="week")
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise InvalidInput(BAD_WEEK, field="week") from None
    return check_day(monday, "week")


def week_name(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def in_week_pattern(weeks: Weeks, day: date) -> bool:
    if weeks is Weeks.ALL:
        return True
    odd = day.isocalendar().week % 2 == 1
    return odd if weeks is Weeks.A else not odd


def on_holiday(holidays: Iterable[Holiday], day: date) -> bool:
    return any(holiday.first_day <= day <= holiday.last_day for holiday in holidays)


def occurrence_uid(lesson_id: int, day: date) -> str:
    """Stable across feeds and edits: the lesson and its original day."""
    return f"lesson-{lesson_id}-{day:%Y%m%d}@{UID_DOMAIN}"


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)


def expand(  # noqa: C901 - one pass over a week: lessons, their changes, holidays, in order
    lessons: Sequence[Lesson],
    changes: Sequence[Change],
    holidays: Sequence[Holiday],
    *,
    first_day: date,
    days: int,
    zone: ZoneInfo,
) -> list[Occurrence]:
    """Every occurrence whose original or moved day falls in ``[first_day, first_day+days)``,
    sorted by start. Cancelled ones are kept (shown struck through)."""
    last_day = first_day + timedelta(days=days - 1)
    by_key = {(change.lesson_id, change.day): change for change in changes}
    found: list[Occurrence] = []
    seen: set[tuple[int, date]] = set()

    def add(lesson: Lesson, day: date) -> None:
        if (lesson.id, day) in seen:
            return
        seen.add((lesson.id, day))
        change = by_key.get((lesson.id, day))
        happens_on = day
        start, end = lesson.starts_minute, lesson.ends_minute
        occurrence = {
            "room": lesson.room,
            "teacher_id": lesson.teacher_id,
            "teacher_name": lesson.teacher_name,
            "subject": lesson.subject,
            "status": "normal",
            "note": "",
            "virtual": lesson.virtual,
        }
        if change is not None:
            if change.kind is not ChangeKind.VIRTUAL:
                occurrence["status"] = change.kind.value
            occurrence["note"] = change.note
            happens_on = change.new_day or day
            start = change.new_starts_minute if change.new_starts_minute is not None else start
            end = change.new_ends_minute if change.new_ends_minute is not None else end
            if change.new_room is not None:
                occurrence["room"] = change.new_room
            if change.new_teacher_id is not None:
                occurrence["teacher_id"] = change.new_teacher_id
                occurrence["teacher_name"] = change.new_teacher_name or ""
            if change.new_subject:
                occurrence["subject"] = change.new_subject
            if change.virtual is not None:
                occurrence["virtual"] = change.virtual
        if not first_day <= happens_on <= last_day:
            return
        found.append(
            Occurrence(
                uid=occurrence_uid(lesson.id, day),
                lesson_id=lesson.id,
                day=day,
                starts_at=_at(happens_on, start, zone),
                ends_at=_at(happens_on, end, zone),
                group_id=lesson.group_id,
                group_name=lesson.group_name,
                **occurrence,  # type: ignore[arg-type]  # keys and types fixed above
            )
        )

    lessons_by_id = {lesson.id: lesson for lesson in lessons}
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if on_holiday(holidays, day):
            continue
        for lesson in lessons:
            if (
                lesson.weekday == day.isoweekday()
                and lesson.first_day <= day <= lesson.last_day
                and in_week_pattern(lesson.weeks, day)
            ):
                add(lesson, day)
    # Occurrences moved into this range from a day outside it.
    for change in changes:
        moved = lessons_by_id.get(change.lesson_id)
        if (
            moved is not None
            and change.new_day is not None
            and not on_holiday(holidays, change.day)
        ):
            add(moved, change.day)
    found.sort(key=lambda item: (item.starts_at, item.group_name, item.lesson_id))
    return found


def week_view(
    lessons: Sequence[Lesson],
    changes: Sequence[Change],
    holidays: Sequence[Holiday],
    *,
    monday: date,
    zone: ZoneInfo,
) -> WeekView:
    sunday = monday + timedelta(days=6)
    return WeekView(
        week=week_name(monday),
        monday=monday,
        previous_week=week_name(monday - timedelta(days=7)),
        next_week=week_name(monday + timedelta(days=7)),
        holidays=[
            holiday.name
            for holiday in holidays
            if holiday.first_day <= sunday and holiday.last_day >= monday
        ],
        occurrences=expand(lessons, changes, holidays, first_day=monday, days=7, zone=zone),
    )


# -- iCalendar (RFC 5545) ----------------------------------------------------------------


def calendar_feed(
    occurrences: Sequence[Occurrence], *, title: str, stamp: datetime, zone: ZoneInfo
) -> bytes:
    """A VCALENDAR with one VEVENT per occurrence, times in the school's zone (with its
    VTIMEZONE), UIDs stable across fetches; cancelled lessons stay with STATUS:CANCELLED
    so calendar apps remove them."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Préau//Emploi du temps//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    calendar.add("x-wr-timezone", zone.key)
    for occurrence in occurrences:
        event = icalendar.Event()
        event.add("uid", occurrence.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", occurrence.starts_at.astimezone(zone))
        event.add("dtend", occurrence.ends_at.astimezone(zone))
        summary = f"{occurrence.subject} — {occurrence.group_name}"
        event.add("summary", summary)
        if occurrence.room:
            event.add("location", occurrence.room)
        details = [occurrence.teacher_name, occurrence.note]
        event.add("description", "\n".join(text for text in details if text))
        event.add("status", "CANCELLED" if occurrence.status == "cancelled" else "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    text: bytes = calendar.to_ical()
    return text
