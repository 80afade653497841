"""The pure rules of attendance, without a database: checking a roll call, prefilling it
from a virtual room, half-days (with hypothesis), the monthly threshold, and who may do
what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preau.domain.access import (
    Decision,
    attendance_decision,
    class_attendance_decision,
    roll_call_decision,
)
from preau.domain.attendance import (
    THRESHOLD_HALF_DAYS,
    AttendanceAction,
    Half,
    HalfDay,
    PeriodDraft,
    RollEntry,
    Seat,
    Span,
    Status,
    check_entries,
    count_half_days,
    half_days_of,
    missed_half_days,
    period_bounds,
    prefill_from_seats,
)
from preau.domain.errors import InvalidInput
from preau.domain.people import Actor, Profile

PARIS = ZoneInfo("Europe/Paris")
REUNION = ZoneInfo("Indian/Reunion")


def at(day: date, hour: int, minute: int = 0, zone: ZoneInfo = PARIS) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


MONDAY = date(2026, 11, 23)


def test_a_roll_call_is_checked_entry_by_entry() -> None:
    entries = [
        RollEntry(pupil_id=1, status=Status.LATE, minutes=10),
        RollEntry(pupil_id=2, status=Status.ABSENT, minutes=10),
    ]
    checked = check_entries(entries, [1, 2, 3])
    assert checked[1].minutes is None  # minutes mean nothing for an absence
    with pytest.raises(InvalidInput) as unknown:
        check_entries([RollEntry(pupil_id=9, status=Status.PRESENT)], [1])
    assert unknown.value.field == "entries.0"
    with pytest.raises(InvalidInput):
        check_entries([RollEntry(pupil_id=1, status=Status.LATE)], [1])
    with pytest.raises(InvalidInput):
        check_entries([RollEntry(pupil_id=1, status=Status.LEFT_EARLY, minutes=0)], [1])
    with pytest.raises(InvalidInput) as twice:
        check_entries([RollEntry(pupil_id=1, status=Status.ABSENT)] * 2, [1])
    assert twice.value.field == "entries.1"


def test_a_virtual_room_prefills_the_roll_call() -> None:
    starts, ends = at(MONDAY, 8), at(MONDAY, 9)
    seats = [
        Seat(pupil_id=1, joined_at=at(MONDAY, 8, 4), last_seen_at=at(MONDAY, 8, 58)),
        Seat(pupil_id=2, joined_at=at(MONDAY, 8, 17), last_seen_at=None),
        Seat(pupil_id=3, joined_at=at(MONDAY, 7, 58), last_seen_at=at(MONDAY, 8, 30)),
    ]
    during = prefill_from_seats([1, 2, 3, 4], seats, starts_at=starts, ends_at=ends,
                                now=at(MONDAY, 8, 40))  # fmt: skip
    assert {pupil: (entry.status, entry.minutes) for pupil, entry in during.items()} == {
        1: (Status.PRESENT, None),
        2: (Status.LATE, 17),
        3: (Status.PRESENT, None),  # the lesson is not over: nobody has left early yet
        4: (Status.ABSENT, None),
    }
    after = prefill_from_seats([3], seats, starts_at=starts, ends_at=ends, now=ends)
    assert (after[3].status, after[3].minutes) == (Status.LEFT_EARLY, 30)


def test_half_days_split_at_noon_school_time_and_skip_sundays_and_holidays() -> None:
    lesson = half_days_of(at(MONDAY, 11, 30), at(MONDAY, 12, 30), PARIS, [])
    assert lesson == [HalfDay(MONDAY, Half.MORNING), HalfDay(MONDAY, Half.AFTERNOON)]
    week = half_days_of(at(MONDAY, 0), at(MONDAY + timedelta(days=7), 0), PARIS, [])
    assert len(week) == 12  # Monday to Saturday; not Sunday
    holiday = [(MONDAY + timedelta(days=1), MONDAY + timedelta(days=2))]
    assert len(half_days_of(at(MONDAY, 0), at(MONDAY, 23), PARIS, holiday)) == 2
    assert len(half_days_of(at(MONDAY, 0), at(MONDAY + timedelta(days=3), 0), PARIS, holiday)) == 2
    # The same UTC moment is morning in Paris and afternoon in Réunion.
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert half_days_of(moment, moment + timedelta(minutes=55), PARIS, [])[0].half is Half.MORNING
    assert half_days_of(moment, moment + timedelta(minutes=55), REUNION, [])[0].half is (
        Half.AFTERNOON
    )


def test_a_period_runs_from_half_day_to_half_day() -> None:
    draft = PeriodDraft(pupil_id=1, first_day=MONDAY, first_half=Half.AFTERNOON,
                        last_day=MONDAY + timedelta(days=1), last_half=Half.MORNING)  # fmt: skip
    starts, ends = period_bounds(draft, PARIS)
    assert (starts, ends) == (at(MONDAY, 12), at(MONDAY + timedelta(days=1), 12))
    assert len(half_days_of(starts, ends, PARIS, [])) == 2
    backwards = PeriodDraft(pupil_id=1, first_day=MONDAY, first_half=Half.AFTERNOON,
                            last_day=MONDAY, last_half=Half.MORNING)  # fmt: skip
    with pytest.raises(InvalidInput):
        period_bounds(backwards, PARIS)


lessons = st.builds(
    lambda day, hour, length, justified: Span(
        starts_at=at(MONDAY + timedelta(days=day), hour),
        ends_at=at(MONDAY + timedelta(days=day), hour) + timedelta(minutes=length),
        justified=justified,
    ),
    st.integers(0, 40),
    st.integers(8, 16),
    st.integers(30, 120),
    st.booleans(),
)


@given(st.lists(lessons, max_size=30))
def test_half_days_missed_never_exceed_the_absences_and_add_up(spans: list[Span]) -> None:
    missed = missed_half_days(spans, PARIS)
    counts = count_half_days(missed)
    assert counts.missed == counts.justified + counts.unjustified == len(missed)
    assert counts.missed <= 2 * len(spans)  # a lesson of at most 2 hours: two half-days
    assert sum(month.missed for month in counts.months) == counts.missed
    assert sum(month.unjustified for month in counts.months) == counts.unjustified
    # Justifying every absence leaves nothing unjustified and the same half-days missed.
    all_justified = [Span(starts_at=s.starts_at, ends_at=s.ends_at, justified=True) for s in spans]
    assert count_half_days(missed_half_days(all_justified, PARIS)).unjustified == 0
    assert missed_half_days(all_justified, PARIS).keys() == missed.keys()


@given(st.lists(lessons, max_size=30), st.lists(lessons, max_size=5))
def test_an_unjustified_absence_is_never_hidden_by_a_justified_one(
    spans: list[Span], more: list[Span]
) -> None:
    before = missed_half_days(spans, PARIS)
    after = missed_half_days(spans + more, PARIS)
    for half_day, justified in after.items():
        if half_day in before and not before[half_day]:
            assert not justified


@given(st.integers(0, 12))
def test_the_threshold_is_four_unjustified_half_days_in_a_month(count: int) -> None:
    mornings = {HalfDay(date(2026, 11, 2) + timedelta(days=n), Half.MORNING): False
                for n in range(count)}  # fmt: skip
    counts = count_half_days(mornings)
    assert counts.flagged is (count >= THRESHOLD_HALF_DAYS)
    justified = dict.fromkeys(mornings, True)
    assert count_half_days(justified).flagged is False


def test_the_threshold_counts_each_calendar_month_apart() -> None:
    half_days = {
        HalfDay(date(2026, 11, 27), Half.MORNING): False,
        HalfDay(date(2026, 11, 28), Half.MORNING): False,
        HalfDay(date(2026, 12, 1), Half.MORNING): False,
        HalfDay(date(2026, 12, 2), Half.MORNING): False,
    }
    counts = count_half_days(half_days)
    assert counts.unjustified == 4
    assert counts.flagged is False
    assert [month.month for month in counts.months] == ["2026-11", "2026-12"]


def actor(profile: Profile, person_id: int = 1, school_id: int = 1) -> Actor:
    return Actor(person_id=person_id, school_id=school_id, profile=profile)


def test_who_may_do_what_to_a_pupils_attendance() -> None:
    def decide(who: Actor, action: AttendanceAction, **facts: bool) -> Decision:
        values = {"is_child_of_actor": False, "parent_access_limited": False,
                  "teaches_pupil": False, **facts}  # fmt: skip
        return attendance_decision(who, action, pupil_id=7, pupil_school_id=1, **values)

    parent = actor(Profile.PARENT)
    assert decide(parent, AttendanceAction.JUSTIFY, is_child_of_actor=True) is Decision.ALLOW
    assert decide(parent, AttendanceAction.RECORD, is_child_of_actor=True) is Decision.FORBID
    limited = {"is_child_of_actor": True, "parent_access_limited": True}
    assert decide(parent, AttendanceAction.READ, **limited) is Decision.HIDE
    assert decide(actor(Profile.PUPIL, 7), AttendanceAction.READ) is Decision.ALLOW
    assert decide(actor(Profile.PUPIL, 7), AttendanceAction.JUSTIFY) is Decision.FORBID
    assert decide(actor(Profile.PUPIL, 8), AttendanceAction.READ) is Decision.HIDE
    teacher = actor(Profile.TEACHER)
    assert decide(teacher, AttendanceAction.READ, teaches_pupil=True) is Decision.ALLOW
    assert decide(teacher, AttendanceAction.RECORD, teaches_pupil=True) is Decision.FORBID
    assert decide(actor(Profile.STAFF), AttendanceAction.RECORD) is Decision.ALLOW
    assert decide(actor(Profile.STAFF), AttendanceAction.JUSTIFY) is Decision.FORBID
    assert decide(actor(Profile.ADMIN, school_id=2), AttendanceAction.READ) is Decision.HIDE
    assert roll_call_decision(teacher, school_id=1, teaches_lesson=False,
                              actor_or_child_in_group=False) is Decision.FORBID  # fmt: skip
    assert roll_call_decision(parent, school_id=1, teaches_lesson=False,
                              actor_or_child_in_group=False) is Decision.HIDE  # fmt: skip
    assert class_attendance_decision(actor(Profile.STAFF), school_id=1, teaches_group=False,
                                     actor_or_child_in_group=False) is Decision.ALLOW  # fmt: skip
