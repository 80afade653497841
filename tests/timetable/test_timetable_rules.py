"""The pure timetable rules: weeks A and B, holidays, changes, moves across weeks, iCal."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest

from preau.domain.errors import InvalidInput
from preau.domain.timetable import (
    Change,
    ChangeKind,
    Holiday,
    Lesson,
    LessonDraft,
    Weeks,
    calendar_feed,
    check_lesson,
    expand,
    parse_week,
    week_name,
)

PARIS = ZoneInfo("Europe/Paris")


def lesson(lesson_id: int = 1, weekday: int = 1, weeks: Weeks = Weeks.ALL) -> Lesson:
    return Lesson(
        id=lesson_id,
        group_id=10,
        group_name="6e A",
        subject="Maths",
        teacher_id=5,
        teacher_name="Julien Martin",
        room="B12",
        weekday=weekday,
        starts_minute=8 * 60,
        ends_minute=8 * 60 + 55,
        weeks=weeks,
        first_day=date(2026, 9, 1),
        last_day=date(2027, 7, 4),
        virtual=False,
    )


def test_week_names_round_trip() -> None:
    assert parse_week("2026-W48") == date(2026, 11, 23)
    assert week_name(date(2026, 11, 29)) == "2026-W48"
    with pytest.raises(InvalidInput):
        parse_week("2026-48")
    with pytest.raises(InvalidInput):
        parse_week("2026-W60")


def test_weeks_a_and_b_alternate() -> None:
    both = [lesson(1, weeks=Weeks.A), lesson(2, weeks=Weeks.B)]
    week_48 = expand(both, [], [], first_day=date(2026, 11, 23), days=7, zone=PARIS)
    week_49 = expand(both, [], [], first_day=date(2026, 11, 30), days=7, zone=PARIS)
    assert [item.lesson_id for item in week_48] == [2]  # 48 is even: week B
    assert [item.lesson_id for item in week_49] == [1]


def test_times_are_school_times_across_the_clock_change() -> None:
    found = expand([lesson()], [], [], first_day=date(2026, 10, 19), days=14, zone=PARIS)
    assert [item.starts_at.astimezone(UTC).hour for item in found] == [6, 7]  # CEST, then CET


def test_holidays_remove_lessons_and_changes_apply() -> None:
    holidays = [Holiday(name="Noël", first_day=date(2026, 12, 19), last_day=date(2027, 1, 3))]
    changes = [
        Change(lesson_id=1, day=date(2026, 11, 23), kind=ChangeKind.CANCELLED, note="Sortie"),
        Change(
            lesson_id=1,
            day=date(2026, 11, 30),
            kind=ChangeKind.MOVED,
            new_day=date(2026, 12, 10),
            new_starts_minute=14 * 60,
            new_ends_minute=15 * 60,
        ),
        Change(
            lesson_id=1,
            day=date(2026, 12, 7),
            kind=ChangeKind.REPLACED,
            new_teacher_id=6,
            new_teacher_name="Isabelle Garnier",
            new_room="Labo",
        ),
    ]
    found = expand([lesson()], changes, holidays, first_day=date(2026, 11, 23), days=42, zone=PARIS)
    summary = [(item.starts_at.date(), item.status, item.teacher_id, item.room) for item in found]
    assert summary == [
        (date(2026, 11, 23), "cancelled", 5, "B12"),
        (date(2026, 12, 7), "replaced", 6, "Labo"),
        (date(2026, 12, 10), "moved", 5, "B12"),
        (date(2026, 12, 14), "normal", 5, "B12"),
    ]
    moved_in = expand(
        [lesson()], changes, holidays, first_day=date(2026, 12, 7), days=7, zone=PARIS
    )
    assert [item.uid for item in moved_in] == [
        "lesson-1-20261207@preau",
        "lesson-1-20261130@preau",  # its name is the original day, so its UID never moves
    ]


def test_lessons_are_checked() -> None:
    draft = LessonDraft(
        group_id=1,
        subject="Maths",
        weekday=1,
        starts="09:00",
        ends="08:00",
        first_day=date(2026, 9, 1),
        last_day=date(2027, 7, 4),
    )
    with pytest.raises(InvalidInput) as error:
        check_lesson(draft)
    assert error.value.field == "ends"


def test_the_feed_parses_back_with_its_time_zone() -> None:
    found = expand([lesson()], [], [], first_day=date(2026, 11, 23), days=7, zone=PARIS)
    text = calendar_feed(found, title="Léa", stamp=datetime(2026, 11, 22, tzinfo=UTC), zone=PARIS)
    calendar = icalendar.Calendar.from_ical(text)
    events = list(calendar.walk("VEVENT"))
    assert [str(event["UID"]) for event in events] == ["lesson-1-20261123@preau"]
    assert events[0].decoded("DTSTART") == datetime(2026, 11, 23, 8, 0, tzinfo=PARIS)
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
