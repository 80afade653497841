"""Reading attendance: a pupil's absences, lateness and half-days missed; a class's
figures; the office's list of justifications waiting and pupils past the threshold; a
teacher's lessons of the day with their roll calls. Each runs a fixed number of queries
whatever the number of pupils or absences."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import (
    access_class_attendance_by_id,
    access_pupil_attendance_by_id,
)
from preau.actions.attendance.common import group_pupils
from preau.actions.context import Services
from preau.actions.timetable.lessons import load_holidays, occurrences_for_person
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import (
    absences,
    attendance_audit,
    files,
    groups,
    people,
    roll_call_entries,
    roll_calls,
    school_years,
    timetable_lessons,
)
from preau.domain.attendance import (
    Absence,
    AttendanceAction,
    AuditEntry,
    ClassAttendance,
    ClassLine,
    Lateness,
    PupilAttendance,
    Reason,
    Source,
    Span,
    State,
    Status,
    count_half_days,
    missed_half_days,
    period_start,
)
from preau.domain.errors import Forbidden
from preau.domain.people import Actor, Profile
from preau.i18n import lazy

Row = sa.Row[Any]
recorder = people.alias("recorder")
absent_pupil = people.alias("absent_pupil")
ONLY_OFFICE_LIST = lazy("Only the school staff (vie scolaire) can see this list.")


async def _since(connection: AsyncConnection, school_id: int, today: date) -> date:
    start = (
        await connection.execute(
            sa.select(sa.func.max(school_years.c.starts_on)).where(
                school_years.c.school_id == school_id, school_years.c.starts_on <= today
            )
        )
    ).scalar()
    return period_start(today, start)


def _absences_query(school_id: int) -> sa.Select[Any]:
    return (
        sa.select(
            absences,
            absent_pupil.c.given_name.label("pupil_given"),
            absent_pupil.c.family_name.label("pupil_family"),
            recorder.c.given_name.label("recorder_given"),
            recorder.c.family_name.label("recorder_family"),
            timetable_lessons.c.subject,
            files.c.name.label("document_name"),
        )
        .join(absent_pupil, absent_pupil.c.id == absences.c.pupil_id)
        .join(recorder, recorder.c.id == absences.c.recorded_by)
        .outerjoin(roll_calls, roll_calls.c.id == absences.c.roll_call_id)
        .outerjoin(timetable_lessons, timetable_lessons.c.id == roll_calls.c.lesson_id)
        .outerjoin(files, files.c.id == absences.c.file_id)
        .where(absences.c.school_id == school_id)
        .order_by(absences.c.starts_at.desc(), absences.c.id.desc())
    )


def absence_view(row: Row) -> Absence:
    return Absence(
        id=int(row.id),
        pupil_id=int(row.pupil_id),
        pupil_name=f"{row.pupil_family} {row.pupil_given}",
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        source=Source(row.source),
        subject=row.subject or "",
        note=row.note,
        state=State(row.state),
        reason=Reason(row.reason) if row.reason else None,
        comment=row.comment,
        has_document=row.file_id is not None,
        document_name=row.document_name or "",
        decision_note=row.decision_note,
        recorded_by=f"{row.recorder_given} {row.recorder_family}",
    )


def _span(row: Row) -> Span:
    return Span(
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        justified=row.state == State.ACCEPTED.value,
    )


async def _holidays(
    connection: AsyncConnection, school_id: int, since: date, until: date
) -> list[tuple[date, date]]:
    found = await load_holidays(connection, school_id, since, until)
    return [(holiday.first_day, holiday.last_day) for holiday in found]


async def pupil_attendance(services: Services, actor: Actor, pupil_id: int) -> PupilAttendance:
    zone = await school_zone(services, actor.school_id)
    today = services.now().astimezone(zone).date()
    async with services.engine.connect() as connection:
        pupil = await access_pupil_attendance_by_id(
            connection, actor, pupil_id, AttendanceAction.READ
        )
        since = await _since(connection, actor.school_id, today)
        start = _local_midnight(since, zone)
        rows = (
            await connection.execute(
                _absences_query(actor.school_id).where(
                    absences.c.pupil_id == pupil_id, absences.c.ends_at > start
                )
            )
        ).all()
        late_rows = await connection.execute(
            sa.select(
                roll_calls.c.day,
                timetable_lessons.c.subject,
                roll_call_entries.c.status,
                roll_call_entries.c.minutes,
            )
            .join(roll_calls, roll_calls.c.id == roll_call_entries.c.roll_call_id)
            .join(timetable_lessons, timetable_lessons.c.id == roll_calls.c.lesson_id)
            .where(
                roll_call_entries.c.school_id == actor.school_id,
                roll_call_entries.c.pupil_id == pupil_id,
                roll_call_entries.c.status.in_([Status.LATE.value, Status.LEFT_EARLY.value]),
                roll_calls.c.day >= since,
            )
            .order_by(roll_calls.c.day.desc(), roll_calls.c.starts_at.desc())
        )
        lateness = [
            Lateness(
                day=row.day, subject=row.subject, status=Status(row.status), minutes=row.minutes
            )
            for row in late_rows
        ]
        holidays = await _holidays(connection, actor.school_id, since, today + timedelta(days=1))
    counts = count_half_days(missed_half_days([_span(row) for row in rows], zone, holidays))
    return PupilAttendance(
        pupil_id=pupil_id,
        pupil_name=f"{pupil.family_name} {pupil.given_name}",
        since=since,
        counts=counts,
        absences=[absence_view(row) for row in rows],
        lateness=lateness,
        can_justify=actor.profile is Profile.PARENT,
        can_record=actor.profile in (Profile.STAFF, Profile.ADMIN),
    )


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _class_lines(
    pupils: Sequence[tuple[int, str]],
    rows: Sequence[Any],
    late: dict[int, int],
    zone: ZoneInfo,
    holidays: Sequence[tuple[date, date]],
) -> list[ClassLine]:
    spans: dict[int, list[Span]] = defaultdict(list)
    pending: dict[int, int] = defaultdict(int)
    for row in rows:
        spans[int(row.pupil_id)].append(_span(row))
        if row.state == State.PENDING.value:
            pending[int(row.pupil_id)] += 1
    lines = []
    for pupil_id, name in pupils:
        counts = count_half_days(missed_half_days(spans[pupil_id], zone, holidays))
        lines.append(
            ClassLine(
                pupil_id=pupil_id,
                pupil_name=name,
                missed=counts.missed,
                unjustified=counts.unjustified,
                pending=pending[pupil_id],
                late=late.get(pupil_id, 0),
                flagged=counts.flagged,
            )
        )
    return lines


async def class_attendance(services: Services, actor: Actor, group_id: int) -> ClassAttendance:
    zone = await school_zone(services, actor.school_id)
    today = services.now().astimezone(zone).date()
    async with services.engine.connect() as connection:
        group = await access_class_attendance_by_id(connection, actor, group_id)
        since = await _since(connection, actor.school_id, today)
        pupils = await group_pupils(connection, actor.school_id, group_id)
        ids = [pupil_id for pupil_id, _name in pupils]
        rows = (
            await connection.execute(
                sa.select(
                    absences.c.pupil_id, absences.c.starts_at, absences.c.ends_at, absences.c.state
                ).where(
                    absences.c.school_id == actor.school_id,
                    absences.c.pupil_id.in_(ids),
                    absences.c.ends_at > _local_midnight(since, zone),
                )
            )
        ).all()
        late = {
            int(row.pupil_id): int(row.late_count)
            for row in await connection.execute(
                sa.select(roll_call_entries.c.pupil_id, sa.func.count().label("late_count"))
                .join(roll_calls, roll_calls.c.id == roll_call_entries.c.roll_call_id)
                .where(
                    roll_call_entries.c.school_id == actor.school_id,
                    roll_call_entries.c.pupil_id.in_(ids),
                    roll_call_entries.c.status == Status.LATE.value,
                    roll_calls.c.day >= since,
                )
                .group_by(roll_call_entries.c.pupil_id)
            )
        }
        holidays = await _holidays(connection, actor.school_id, since, today + timedelta(days=1))
    return ClassAttendance(
        group_id=group_id,
        group_name=str(group.name),
        since=since,
        lines=_class_lines(pupils, rows, late, zone, holidays),
    )


class Office(msgspec.Struct, kw_only=True):
    """The vie scolaire's desk: justifications waiting, pupils past the threshold, classes."""

    pending: list[Absence]
    flagged: list[ClassLine]
    classes: list[tuple[int, str]]
    since: date


async def office(services: Services, actor: Actor) -> Office:
    if actor.profile not in (Profile.STAFF, Profile.ADMIN):
        raise Forbidden(ONLY_OFFICE_LIST)
    zone = await school_zone(services, actor.school_id)
    today = services.now().astimezone(zone).date()
    async with services.engine.connect() as connection:
        since = await _since(connection, actor.school_id, today)
        pending = (
            await connection.execute(
                _absences_query(actor.school_id).where(absences.c.state == State.PENDING.value)
            )
        ).all()
        rows = (
            await connection.execute(
                sa.select(
                    absences.c.pupil_id,
                    absences.c.starts_at,
                    absences.c.ends_at,
                    absences.c.state,
                    people.c.given_name,
                    people.c.family_name,
                )
                .join(people, people.c.id == absences.c.pupil_id)
                .where(
                    absences.c.school_id == actor.school_id,
                    absences.c.ends_at > _local_midnight(since, zone),
                )
            )
        ).all()
        classes = [
            (int(row.id), str(row.name))
            for row in await connection.execute(
                sa.select(groups.c.id, groups.c.name)
                .where(groups.c.school_id == actor.school_id, groups.c.active.is_(True))
                .order_by(groups.c.kind, groups.c.name)
            )
        ]
        holidays = await _holidays(connection, actor.school_id, since, today + timedelta(days=1))
    names = {int(row.pupil_id): f"{row.family_name} {row.given_name}" for row in rows}
    lines = _class_lines(sorted(names.items(), key=lambda item: item[1]), rows, {}, zone, holidays)
    return Office(
        pending=[absence_view(row) for row in reversed(pending)],
        flagged=[line for line in lines if line.flagged],
        classes=classes,
        since=since,
    )


class LessonToCall(msgspec.Struct, kw_only=True):
    lesson_id: int
    day: date
    subject: str
    group_name: str
    starts_at: Any
    ends_at: Any
    virtual: bool
    taken: bool


async def lessons_of_day(
    services: Services, actor: Actor, day: date | None = None
) -> list[LessonToCall]:
    """The lessons a teacher teaches on ``day`` (today, school time, by default), not
    cancelled, and whether each roll call is taken."""
    zone = await school_zone(services, actor.school_id)
    day = day or services.now().astimezone(zone).date()
    async with services.engine.connect() as connection:
        person: Row = (
            await connection.execute(
                sa.select(people).where(
                    people.c.school_id == actor.school_id, people.c.id == actor.person_id
                )
            )
        ).one()
        found = await occurrences_for_person(connection, actor.school_id, person, day, 1, zone=zone)
        found = [item for item in found if item.status != "cancelled"]
        taken = set()
        if found:
            taken = {
                (int(row.lesson_id), row.day)
                for row in await connection.execute(
                    sa.select(roll_calls.c.lesson_id, roll_calls.c.day).where(
                        roll_calls.c.school_id == actor.school_id,
                        roll_calls.c.lesson_id.in_([item.lesson_id for item in found]),
                        roll_calls.c.day.in_({item.day for item in found}),
                    )
                )
            }
    return [
        LessonToCall(
            lesson_id=item.lesson_id,
            day=item.day,
            subject=item.subject,
            group_name=item.group_name,
            starts_at=item.starts_at,
            ends_at=item.ends_at,
            virtual=item.virtual,
            taken=(item.lesson_id, item.day) in taken,
        )
        for item in found
    ]


async def history(services: Services, actor: Actor, pupil_id: int) -> list[AuditEntry]:
    """Every change to a pupil's attendance, newest first (the office)."""
    async with services.engine.connect() as connection:
        await access_pupil_attendance_by_id(connection, actor, pupil_id, AttendanceAction.RECORD)
        rows = await connection.execute(
            sa.select(attendance_audit, people.c.given_name, people.c.family_name)
            .join(people, people.c.id == attendance_audit.c.actor_id)
            .where(
                attendance_audit.c.school_id == actor.school_id,
                attendance_audit.c.pupil_id == pupil_id,
            )
            .order_by(attendance_audit.c.changed_at.desc(), attendance_audit.c.id.desc())
        )
        return [
            AuditEntry(
                change=row.change,
                actor_name=f"{row.given_name} {row.family_name}",
                changed_at=row.changed_at,
                before=row.before,
                after=row.after,
            )
            for row in rows
        ]
