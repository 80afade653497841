"""Attendance (vie scolaire): roll calls, absences, justifications, half-days missed and the
national threshold. Pure: the school's time zone, its holidays and the moment are passed in.

Half-days (docs/attendance.md): a day has a morning (before 12:00, school-local time) and
an afternoon (from 12:00). An absence misses every half-day its time overlaps, except on
Sundays and the school's holidays. A half-day missed is justified when every absence that
overlaps it is justified (its justification accepted); otherwise it is unjustified. From 4
unjustified half-days in a calendar month the pupil is flagged (Code de l'éducation,
article L131-8: the head of the school then tells the academic authority).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo

import msgspec

from preau.domain.bounds import Id, Input
from preau.domain.errors import InvalidInput


def lazy(message: str) -> str:
    """Mark a sentence for the catalogue; it is translated where shown (as ``i18n.lazy``)."""
    return message


NOON = time(12, 0)
THRESHOLD_HALF_DAYS = 4  # unjustified half-days in a calendar month (L131-8)
MAX_LATE_MINUTES = 240
LATE_AFTER_MINUTES = 5  # a virtual seat taken later than this is "late"
LEFT_EARLY_MINUTES = 5  # last seen in the room earlier than this before the end: "left early"
MAX_NOTE = 500
MAX_PERIOD_DAYS = 366

ABSENCE_NOT_FOUND = lazy("This absence does not exist or you cannot see it.")
PUPIL_NOT_FOUND = lazy("This pupil does not exist or is not in your school.")
NOT_YOUR_ROLL_CALL = lazy(
    "Only the teachers of this class or group and the school staff can do this."
)
ONLY_OFFICE = lazy("Only the school staff (vie scolaire) can do this.")
ONLY_PARENTS_JUSTIFY = lazy("Only the pupil's parents can justify an absence.")
NO_LESSON_THAT_DAY = lazy("This lesson does not take place on that day.")
LESSON_CANCELLED = lazy("This lesson was cancelled: there is no roll call to take.")
UNKNOWN_PUPIL = lazy("Pupil number {pupil_id} is not in this class or group: nothing was saved.")
TWICE = lazy("A pupil appears twice in the roll call: nothing was saved.")
LATE_NEEDS_MINUTES = lazy("Say how many minutes late the pupil was (1 to 240): nothing was saved.")
BAD_MINUTES = lazy("Minutes are a whole number from 1 to 240: nothing was saved.")
BAD_PERIOD = lazy("The end of the absence comes before its start.")
LONG_PERIOD = lazy("An absence lasts at most a year; record a long one in several parts.")
NOTE_TOO_LONG = lazy("A note is at most 500 characters.")
REASON_NEEDED = lazy("Choose the reason for the absence.")
ALREADY_JUSTIFIED = lazy("This absence is already justified or waiting for the staff's answer.")
NOTHING_TO_DECIDE = lazy("There is no justification waiting for an answer on this absence.")
REFUSAL_NEEDS_SENTENCE = lazy("Write a sentence to the parents saying why it is refused.")


class Status(enum.StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    LATE = "late"
    LEFT_EARLY = "left_early"


class Half(enum.StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"


class Source(enum.StrEnum):
    LESSON = "lesson"  # a roll call marked the pupil absent
    PERIOD = "period"  # the office recorded an absence from–to


class State(enum.StrEnum):
    UNJUSTIFIED = "unjustified"  # nobody justified it yet
    PENDING = "pending"  # the parents justified it, the office has not answered
    ACCEPTED = "accepted"  # justified
    REFUSED = "refused"  # the office refused the reason; the parents may try again


class Reason(enum.StrEnum):
    ILLNESS = "illness"
    FAMILY = "family"
    APPOINTMENT = "appointment"
    TRANSPORT = "transport"
    OTHER = "other"


class AttendanceAction(enum.StrEnum):
    READ = "read"
    JUSTIFY = "justify"  # parents: a reason and a document
    RECORD = "record"  # the office: periods, answers to justifications


# -- the roll call ---------------------------------------------------------------------------


class RollEntry(Input, kw_only=True):
    pupil_id: Id
    status: Status
    minutes: Annotated[int, msgspec.Meta(ge=0, le=24 * 60)] | None = (
        None  # late: how late; left early: how long before the end
    )


class RollCallDraft(Input, kw_only=True):
    entries: list[RollEntry]


class Seat(msgspec.Struct, frozen=True, kw_only=True):
    """Who took a seat in the lesson's virtual class, when, and when last seen there."""

    pupil_id: int
    joined_at: datetime
    last_seen_at: datetime | None


def check_entries(entries: Sequence[RollEntry], pupil_ids: Iterable[int]) -> list[RollEntry]:
    """Every entry checked before anything is written: pupils of the group, once each,
    minutes where they belong. Minutes are dropped for present and absent."""
    allowed = set(pupil_ids)
    seen: set[int] = set()
    checked = []
    for index, entry in enumerate(entries):
        field = f"entries.{index}"
        if entry.pupil_id not in allowed:
            raise InvalidInput(UNKNOWN_PUPIL, field=field, pupil_id=entry.pupil_id)
        if entry.pupil_id in seen:
            raise InvalidInput(TWICE, field=field)
        seen.add(entry.pupil_id)
        minutes = entry.minutes
        if entry.status is Status.LATE and minutes is None:
            raise InvalidInput(LATE_NEEDS_MINUTES, field=field + ".minutes")
        if entry.status in (Status.PRESENT, Status.ABSENT):
            minutes = None
        if minutes is not None and not 1 <= minutes <= MAX_LATE_MINUTES:
            raise InvalidInput(BAD_MINUTES, field=field + ".minutes")
        checked.append(RollEntry(pupil_id=entry.pupil_id, status=entry.status, minutes=minutes))
    return checked


def prefill_from_seats(
    pupil_ids: Iterable[int],
    seats: Iterable[Seat],
    *,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> dict[int, RollEntry]:
    """A virtual lesson's roll call as the room saw it: no seat is absent; a seat taken more
    than ``LATE_AFTER_MINUTES`` after the start is late by that much; a pupil last seen
    more than ``LEFT_EARLY_MINUTES`` before the end of a finished lesson left early."""
    by_pupil = {seat.pupil_id: seat for seat in seats}
    found = {}
    for pupil_id in pupil_ids:
        seat = by_pupil.get(pupil_id)
        if seat is None:
            found[pupil_id] = RollEntry(pupil_id=pupil_id, status=Status.ABSENT)
            continue
        late = int((seat.joined_at - starts_at).total_seconds() // 60)
        if late > LATE_AFTER_MINUTES:
            minutes = min(late, MAX_LATE_MINUTES)
            found[pupil_id] = RollEntry(pupil_id=pupil_id, status=Status.LATE, minutes=minutes)
            continue
        last = seat.last_seen_at or seat.joined_at
        missed = int((ends_at - last).total_seconds() // 60)
        if now >= ends_at and missed > LEFT_EARLY_MINUTES:
            found[pupil_id] = RollEntry(
                pupil_id=pupil_id,
                status=Status.LEFT_EARLY,
                minutes=min(missed, MAX_LATE_MINUTES),
            )
            continue
        found[pupil_id] = RollEntry(pupil_id=pupil_id, status=Status.PRESENT)
    return found


# -- periods and half-days -----------------------------------------------------------------


class PeriodDraft(Input, kw_only=True):
    """An absence the office records from a half-day to a half-day, both included."""

    multiline: ClassVar[frozenset[str]] = frozenset({"note"})
    pupil_id: Id
    first_day: date
    first_half: Half = Half.MORNING
    last_day: date
    last_half: Half = Half.AFTERNOON
    note: str = ""
    reason: Reason | None = None  # given (e.g. the parents phoned): justified at once


def half_day_bounds(day: date, half: Half, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A half-day's start and end, school-local."""
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    noon = datetime.combine(day, NOON, tzinfo=zone)
    if half is Half.MORNING:
        return midnight, noon
    return noon, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def check_note(text: str, field: str = "note") -> str:
    note = " ".join(text.split())
    if len(note) > MAX_NOTE:
        raise InvalidInput(NOTE_TOO_LONG, field=field)
    return note


def period_bounds(draft: PeriodDraft, zone: ZoneInfo) -> tuple[datetime, datetime]:
    starts, _ = half_day_bounds(draft.first_day, draft.first_half, zone)
    _, ends = half_day_bounds(draft.last_day, draft.last_half, zone)
    if ends <= starts:
        raise InvalidInput(BAD_PERIOD, field="last_day")
    if (draft.last_day - draft.first_day).days > MAX_PERIOD_DAYS:
        raise InvalidInput(LONG_PERIOD, field="last_day")
    return starts, ends


class Span(msgspec.Struct, frozen=True, kw_only=True):
    """An absence as counting sees it: when, and whether it is justified."""

    starts_at: datetime
    ends_at: datetime
    justified: bool


class HalfDay(msgspec.Struct, frozen=True, order=True):
    day: date
    half: Half


def half_days_of(
    starts_at: datetime, ends_at: datetime, zone: ZoneInfo, holidays: Sequence[tuple[date, date]]
) -> list[HalfDay]:
    """The half-days a span of time overlaps (by any moment), school-local, leaving out
    Sundays and holidays (``(first_day, last_day)`` pairs, both included)."""
    if ends_at <= starts_at:
        return []
    local_start = starts_at.astimezone(zone)
    local_end = ends_at.astimezone(zone)
    found = []
    day = local_start.date()
    while day <= local_end.date():
        if day.isoweekday() != 7 and not any(first <= day <= last for first, last in holidays):
            for half in Half:
                begin, end = half_day_bounds(day, half, zone)
                if begin < local_end and local_start < end:
                    found.append(HalfDay(day, half))
        day += timedelta(days=1)
    return found


def missed_half_days(
    spans: Iterable[Span], zone: ZoneInfo, holidays: Sequence[tuple[date, date]] = ()
) -> dict[HalfDay, bool]:
    """Every half-day missed, and whether it is justified (all its absences are)."""
    found: dict[HalfDay, bool] = {}
    for span in spans:
        for half_day in half_days_of(span.starts_at, span.ends_at, zone, holidays):
            found[half_day] = found.get(half_day, True) and span.justified
    return found


class MonthCount(msgspec.Struct, frozen=True, kw_only=True):
    month: str  # 2026-11
    missed: int
    unjustified: int
    flagged: bool  # at least THRESHOLD_HALF_DAYS unjustified


class Counts(msgspec.Struct, frozen=True, kw_only=True):
    missed: int
    justified: int
    unjustified: int
    months: list[MonthCount]  # months with a half-day missed, oldest first
    flagged: bool  # some month reached the threshold


def count_half_days(missed: dict[HalfDay, bool]) -> Counts:
    """Totals and months from :func:`missed_half_days`; a month is flagged from
    ``THRESHOLD_HALF_DAYS`` unjustified half-days."""
    per_month: Counter[str] = Counter()
    unjustified_per_month: Counter[str] = Counter()
    for half_day, justified in missed.items():
        month = f"{half_day.day:%Y-%m}"
        per_month[month] += 1
        if not justified:
            unjustified_per_month[month] += 1
    months = [
        MonthCount(
            month=month,
            missed=per_month[month],
            unjustified=unjustified_per_month[month],
            flagged=unjustified_per_month[month] >= THRESHOLD_HALF_DAYS,
        )
        for month in sorted(per_month)
    ]
    unjustified = sum(1 for justified in missed.values() if not justified)
    return Counts(
        missed=len(missed),
        justified=len(missed) - unjustified,
        unjustified=unjustified,
        months=months,
        flagged=any(month.flagged for month in months),
    )


# -- justifications --------------------------------------------------------------------------


def check_justification(reason: str, comment: str) -> tuple[Reason, str]:
    try:
        chosen = Reason(reason)
    except ValueError:
        raise InvalidInput(REASON_NEEDED, field="reason") from None
    return chosen, check_note(comment, "comment")


class Answer(Input, kw_only=True):
    multiline: ClassVar[frozenset[str]] = frozenset({"note"})
    accept: bool
    note: str = ""  # the sentence to the parents; required when refusing


def check_answer(answer: Answer) -> str:
    note = check_note(answer.note)
    if not answer.accept and not note:
        raise InvalidInput(REFUSAL_NEEDS_SENTENCE, field="note")
    return note


def may_justify(state: State) -> bool:
    return state in (State.UNJUSTIFIED, State.REFUSED)


# -- views -----------------------------------------------------------------------------------


class RollLine(msgspec.Struct, kw_only=True):
    pupil_id: int
    pupil_name: str
    status: Status
    minutes: int | None
    from_room: bool  # suggested from the virtual class, not yet saved
    period_absence: bool  # the office recorded an absence covering the lesson


class RollCall(msgspec.Struct, kw_only=True):
    lesson_id: int
    day: date
    group_id: int
    group_name: str
    subject: str
    starts_at: datetime
    ends_at: datetime
    virtual: bool
    taken: bool  # saved at least once
    taken_by: str
    updated_at: datetime | None
    can_change: bool
    lines: list[RollLine]


class Absence(msgspec.Struct, kw_only=True):
    id: int
    pupil_id: int
    pupil_name: str
    starts_at: datetime
    ends_at: datetime
    source: Source
    subject: str  # the lesson's, for an absence from a roll call
    note: str
    state: State
    reason: Reason | None
    comment: str
    has_document: bool
    document_name: str
    decision_note: str
    recorded_by: str


class Lateness(msgspec.Struct, kw_only=True):
    day: date
    subject: str
    status: Status  # late or left early
    minutes: int | None


class PupilAttendance(msgspec.Struct, kw_only=True):
    pupil_id: int
    pupil_name: str
    since: date
    counts: Counts
    absences: list[Absence]  # newest first
    lateness: list[Lateness]
    can_justify: bool
    can_record: bool


class ClassLine(msgspec.Struct, kw_only=True):
    pupil_id: int
    pupil_name: str
    missed: int
    unjustified: int
    pending: int
    late: int
    flagged: bool


class ClassAttendance(msgspec.Struct, kw_only=True):
    group_id: int
    group_name: str
    since: date
    lines: list[ClassLine]


class AuditEntry(msgspec.Struct, kw_only=True):
    change: str
    actor_name: str
    changed_at: datetime
    before: dict[str, object] | None
    after: dict[str, object] | None


def period_start(today: date, school_year_start: date | None) -> date:
    """Counts run from the start of the school year, or over the last year without one."""
    if school_year_start is not None and school_year_start <= today:
        return school_year_start
    return today - timedelta(days=365)
