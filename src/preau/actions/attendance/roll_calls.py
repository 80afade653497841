"""The roll call of a lesson occurrence: read (prefilled from the virtual class the first
time), and saved at once, in one transaction with its absences, the audit and the notices
to parents. Saving is idempotent: an entry unchanged is neither written nor audited, and
nobody is told twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from preau import i18n
from preau.actions.access import access_roll_call_by_lesson
from preau.actions.attendance.common import (
    Notice,
    alert_parents,
    audit_row,
    group_pupils,
    in_school_language,
    moment_text,
    occurrence_of,
    post_notices,
    write_audit,
)
from preau.actions.context import Services
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import (
    absences,
    people,
    roll_call_entries,
    roll_calls,
    virtual_rooms,
    virtual_seats,
)
from preau.domain.attendance import (
    RollCall,
    RollEntry,
    RollLine,
    Seat,
    Source,
    State,
    Status,
    check_entries,
    prefill_from_seats,
)
from preau.domain.errors import Conflict
from preau.domain.people import Actor
from preau.domain.timetable import Occurrence
from preau.i18n import lazy

SAVED_MEANWHILE = lazy(
    "Someone saved this roll call at the same moment: reload the page and check it."
)
ABSENCE_TITLE = lazy("Absence: {name}")
ABSENCE_BODY = lazy(
    "{name} was marked absent from {subject} on {moment}. You can justify this absence "
    "online: {url}"
)

Row = sa.Row[Any]


def _entry_json(status: str, minutes: int | None) -> dict[str, Any]:
    return {"status": status, "minutes": minutes}


async def _saved(
    connection: AsyncConnection, school_id: int, lesson_id: int, day: date
) -> tuple[Row | None, dict[int, RollEntry]]:
    taker = people.alias("taker")
    row = (
        await connection.execute(
            sa.select(
                roll_calls,
                taker.c.given_name.label("taker_given"),
                taker.c.family_name.label("taker_family"),
            )
            .join(taker, taker.c.id == roll_calls.c.taken_by)
            .where(
                roll_calls.c.school_id == school_id,
                roll_calls.c.lesson_id == lesson_id,
                roll_calls.c.day == day,
            )
        )
    ).first()
    if row is None:
        return None, {}
    entries = {
        int(entry.pupil_id): RollEntry(
            pupil_id=int(entry.pupil_id), status=Status(entry.status), minutes=entry.minutes
        )
        for entry in await connection.execute(
            sa.select(roll_call_entries).where(
                roll_call_entries.c.school_id == school_id,
                roll_call_entries.c.roll_call_id == row.id,
            )
        )
    }
    return row, entries


async def _seats(connection: AsyncConnection, school_id: int, occurrence: Occurrence) -> list[Seat]:
    rows = await connection.execute(
        sa.select(
            virtual_seats.c.person_id, virtual_seats.c.issued_at, virtual_seats.c.last_seen_at
        )
        .join(virtual_rooms, virtual_rooms.c.id == virtual_seats.c.room_id)
        .where(
            virtual_rooms.c.school_id == school_id,
            virtual_rooms.c.lesson_id == occurrence.lesson_id,
            virtual_rooms.c.day == occurrence.day,
            virtual_seats.c.role == "pupil",
        )
    )
    return [
        Seat(pupil_id=int(row.person_id), joined_at=row.issued_at, last_seen_at=row.last_seen_at)
        for row in rows
    ]


async def _covered_by_periods(
    connection: AsyncConnection, school_id: int, pupil_ids: Sequence[int], occurrence: Occurrence
) -> set[int]:
    """Pupils the office recorded absent over a period that overlaps the lesson."""
    if not pupil_ids:
        return set()
    rows = await connection.execute(
        sa.select(absences.c.pupil_id).where(
            absences.c.school_id == school_id,
            absences.c.source == Source.PERIOD.value,
            absences.c.pupil_id.in_(list(pupil_ids)),
            absences.c.starts_at < occurrence.ends_at,
            absences.c.ends_at > occurrence.starts_at,
        )
    )
    return {int(row.pupil_id) for row in rows}


async def get_roll_call(services: Services, actor: Actor, lesson_id: int, day: date) -> RollCall:
    """The roll call as saved; before it is first saved, everyone present, except the
    pupils the office recorded absent and, in a virtual lesson, as the room saw them."""
    zone = await school_zone(services, actor.school_id)
    async with services.engine.connect() as connection:
        lesson = await access_roll_call_by_lesson(connection, actor, lesson_id)
        occurrence = await occurrence_of(connection, actor.school_id, lesson, day, zone)
        pupils = await group_pupils(connection, actor.school_id, lesson.group_id)
        row, saved = await _saved(connection, actor.school_id, lesson_id, day)
        ids = [pupil_id for pupil_id, _name in pupils]
        covered = await _covered_by_periods(connection, actor.school_id, ids, occurrence)
        suggested: dict[int, RollEntry] = {}
        if row is None and occurrence.virtual:
            suggested = prefill_from_seats(
                ids,
                await _seats(connection, actor.school_id, occurrence),
                starts_at=occurrence.starts_at,
                ends_at=occurrence.ends_at,
                now=services.now(),
            )
    lines = []
    for pupil_id, name in pupils:
        entry = saved.get(pupil_id) or suggested.get(pupil_id)
        if entry is None:
            status = Status.ABSENT if pupil_id in covered else Status.PRESENT
            entry = RollEntry(pupil_id=pupil_id, status=status)
        lines.append(
            RollLine(
                pupil_id=pupil_id,
                pupil_name=name,
                status=entry.status,
                minutes=entry.minutes,
                from_room=pupil_id not in saved and pupil_id in suggested,
                period_absence=pupil_id in covered,
            )
        )
    return RollCall(
        lesson_id=lesson_id,
        day=day,
        group_id=lesson.group_id,
        group_name=lesson.group_name,
        subject=occurrence.subject,
        starts_at=occurrence.starts_at,
        ends_at=occurrence.ends_at,
        virtual=occurrence.virtual,
        taken=row is not None,
        taken_by=f"{row.taker_given} {row.taker_family}" if row is not None else "",
        updated_at=row.updated_at if row is not None else None,
        can_change=True,
        lines=lines,
    )


async def save_roll_call(
    services: Services, actor: Actor, lesson_id: int, day: date, entries: Sequence[RollEntry]
) -> tuple[RollCall, int]:
    """Save the roll call (all of it or nothing) and return it with the number of entries
    that changed. Pupils not sent keep their saved entry, or are present on a first save."""
    now = services.now()
    try:
        async with services.engine.begin() as connection:
            changed, told = await _save(
                connection, services, actor, lesson_id=lesson_id, day=day, entries=entries, now=now
            )
    except IntegrityError:
        raise Conflict(SAVED_MEANWHILE) from None
    await alert_parents(services, actor.school_id, told)
    return await get_roll_call(services, actor, lesson_id, day), changed


async def _save(
    connection: AsyncConnection,
    services: Services,
    actor: Actor,
    *,
    lesson_id: int,
    day: date,
    entries: Sequence[RollEntry],
    now: datetime,
) -> tuple[int, list[int]]:
    school_id = actor.school_id
    zone = await school_zone(services, school_id, connection)
    lesson = await access_roll_call_by_lesson(connection, actor, lesson_id)
    occurrence = await occurrence_of(connection, school_id, lesson, day, zone)
    pupils = dict(await group_pupils(connection, school_id, lesson.group_id))
    checked = {entry.pupil_id: entry for entry in check_entries(entries, pupils)}
    row, saved = await _saved(connection, school_id, lesson_id, day)
    if row is None:
        created = await connection.execute(
            roll_calls.insert().values(
                school_id=school_id,
                lesson_id=lesson_id,
                day=day,
                group_id=lesson.group_id,
                starts_at=occurrence.starts_at,
                ends_at=occurrence.ends_at,
                taken_by=actor.person_id,
                taken_at=now,
                updated_at=now,
            )
        )
        roll_call_id = int(created.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
        for pupil_id in pupils:
            checked.setdefault(pupil_id, RollEntry(pupil_id=pupil_id, status=Status.PRESENT))
    else:
        roll_call_id = int(row.id)
        for pupil_id in pupils:
            if pupil_id not in checked and pupil_id not in saved:
                checked[pupil_id] = RollEntry(pupil_id=pupil_id, status=Status.PRESENT)
    changes = [
        (saved.get(pupil_id), entry)
        for pupil_id, entry in checked.items()
        if saved.get(pupil_id) != entry
    ]
    if not changes:
        return 0, []
    changed_ids = [entry.pupil_id for _before, entry in changes]
    await connection.execute(
        roll_call_entries.delete().where(
            roll_call_entries.c.school_id == school_id,
            roll_call_entries.c.roll_call_id == roll_call_id,
            roll_call_entries.c.pupil_id.in_(changed_ids),
        )
    )
    await connection.execute(
        roll_call_entries.insert(),
        [
            {
                "school_id": school_id,
                "roll_call_id": roll_call_id,
                "pupil_id": entry.pupil_id,
                "status": entry.status.value,
                "minutes": entry.minutes,
            }
            for _before, entry in changes
        ],
    )
    if row is not None:
        await connection.execute(
            roll_calls.update().where(roll_calls.c.id == roll_call_id).values(updated_at=now)
        )
    audit = [
        audit_row(
            school_id,
            actor.person_id,
            entry.pupil_id,
            "roll_call",
            before=_entry_json(before.status.value, before.minutes) if before else None,
            after=_entry_json(entry.status.value, entry.minutes),
            now=now,
            roll_call_id=roll_call_id,
        )
        for before, entry in changes
    ]
    newly_absent, no_longer = _absence_moves(changes)
    notices: list[Notice] = []
    if no_longer:
        removed = await connection.execute(
            absences.delete()
            .where(
                absences.c.school_id == school_id,
                absences.c.roll_call_id == roll_call_id,
                absences.c.pupil_id.in_(no_longer),
            )
            .returning(absences.c.id, absences.c.pupil_id, absences.c.state)
        )
        audit += [
            audit_row(
                school_id,
                actor.person_id,
                int(gone.pupil_id),
                "removed",
                before={"state": gone.state},
                after=None,
                now=now,
                roll_call_id=roll_call_id,
                absence_id=int(gone.id),
            )
            for gone in removed
        ]
    if newly_absent:
        added = await connection.execute(
            absences.insert().returning(
                absences.c.id, absences.c.pupil_id, sort_by_parameter_order=True
            ),
            [
                {
                    "school_id": school_id,
                    "pupil_id": pupil_id,
                    "starts_at": occurrence.starts_at,
                    "ends_at": occurrence.ends_at,
                    "source": Source.LESSON.value,
                    "roll_call_id": roll_call_id,
                    "recorded_by": actor.person_id,
                    "recorded_at": now,
                    "state": State.UNJUSTIFIED.value,
                }
                for pupil_id in newly_absent
            ],
        )
        base = services.settings.base_url.rstrip("/")
        token = in_school_language(services)
        try:
            for item in added:
                pupil_id = int(item.pupil_id)
                audit.append(
                    audit_row(
                        school_id,
                        actor.person_id,
                        pupil_id,
                        "absence",
                        before=None,
                        after={"state": State.UNJUSTIFIED.value, "source": Source.LESSON.value},
                        now=now,
                        roll_call_id=roll_call_id,
                        absence_id=int(item.id),
                    )
                )
                name = pupils[pupil_id]
                notices.append(
                    Notice(
                        pupil_id=pupil_id,
                        title=i18n.gettext(ABSENCE_TITLE).format(name=name),
                        body=i18n.gettext(ABSENCE_BODY).format(
                            name=name,
                            subject=occurrence.subject,
                            moment=moment_text(occurrence.starts_at, zone),
                            url=f"{base}/attendance/pupils/{pupil_id}",
                        ),
                    )
                )
        finally:
            i18n.current_locale.reset(token)
    await write_audit(connection, audit)
    told = await post_notices(connection, school_id, actor.person_id, notices, now)
    return len(changes), told


def _absence_moves(
    changes: Sequence[tuple[RollEntry | None, RollEntry]],
) -> tuple[list[int], list[int]]:
    """Pupils who became absent (an absence to record), and who no longer are."""
    newly: list[int] = []
    no_longer: list[int] = []
    for before, after in changes:
        was = before is not None and before.status is Status.ABSENT
        now_absent = after.status is Status.ABSENT
        if now_absent and not was:
            newly.append(after.pupil_id)
        elif was and not now_absent:
            no_longer.append(after.pupil_id)
    return newly, no_longer
