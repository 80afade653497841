"""What the attendance actions share: the occurrence a roll call is for, a group's pupils,
the audit, and the notices that tell parents (an announcement to them, so the inbox, live
alerts and the daily digest carry it, and quiet hours hold the alerts back)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime
from sqlalchemy.ext.asyncio import AsyncConnection

from preau import i18n
from preau.actions.context import Services
from preau.actions.messages.unread import announce_change
from preau.actions.timetable.lessons import load_changes, load_holidays
from preau.adapters.sql.schema import (
    announcement_recipients,
    announcements,
    attendance_audit,
    enrolments,
    parent_links,
    people,
)
from preau.domain.attendance import LESSON_CANCELLED, NO_LESSON_THAT_DAY
from preau.domain.errors import Conflict, NotFound
from preau.domain.timetable import Lesson, Occurrence, expand

NOTICE_TITLE_MAX = 200


async def occurrence_of(
    connection: AsyncConnection, school_id: int, lesson: Lesson, day: date, zone: ZoneInfo
) -> Occurrence:
    """The lesson's occurrence of original day ``day``, moved or changed as the timetable
    says; "not found" when the lesson does not take place that day, a conflict when it was
    cancelled."""
    changes = await load_changes(connection, school_id, [lesson.id], day, day)
    change = next((item for item in changes if item.day == day), None)
    happens_on = change.new_day if change is not None and change.new_day else day
    holidays = await load_holidays(connection, school_id, happens_on, happens_on)
    found = expand([lesson], changes, holidays, first_day=happens_on, days=1, zone=zone)
    occurrence = next((item for item in found if item.day == day), None)
    if occurrence is None:
        raise NotFound(NO_LESSON_THAT_DAY, field="day")
    if occurrence.status == "cancelled":
        raise Conflict(LESSON_CANCELLED)
    return occurrence


async def group_pupils(
    connection: AsyncConnection, school_id: int, group_id: int
) -> list[tuple[int, str]]:
    """A group's pupils, by family name: (id, "Family Given")."""
    rows = await connection.execute(
        sa.select(people.c.id, people.c.given_name, people.c.family_name)
        .join(enrolments, enrolments.c.person_id == people.c.id)
        .where(
            enrolments.c.school_id == school_id,
            enrolments.c.group_id == group_id,
            enrolments.c.role == "pupil",
            people.c.school_id == school_id,
        )
        .order_by(people.c.family_name, people.c.given_name, people.c.id)
    )
    return [(int(row.id), f"{row.family_name} {row.given_name}") for row in rows]


def audit_row(
    school_id: int,
    actor_id: int,
    pupil_id: int,
    change: str,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
    roll_call_id: int | None = None,
    absence_id: int | None = None,
) -> dict[str, Any]:
    return {
        "school_id": school_id,
        "pupil_id": pupil_id,
        "roll_call_id": roll_call_id,
        "absence_id": absence_id,
        "actor_id": actor_id,
        "change": change,
        "before": before,
        "after": after,
        "changed_at": now,
    }


async def write_audit(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await connection.execute(attendance_audit.insert(), list(rows))


def moment_text(value: datetime, zone: ZoneInfo) -> str:
    """A moment in the school's zone and the current locale: "lundi 23 novembre, 08:00"."""
    return format_datetime(
        value, "EEEE d MMMM, HH:mm", tzinfo=zone, locale=i18n.current_locale.get()
    )


@dataclass(frozen=True)
class Notice:
    """A sentence for the parents of one pupil."""

    pupil_id: int
    title: str
    body: str


async def parents_to_tell(
    connection: AsyncConnection, school_id: int, pupil_ids: Iterable[int]
) -> dict[int, list[int]]:
    """Each pupil's active parents whose access the school has not limited."""
    chosen = sorted(set(pupil_ids))
    found: dict[int, list[int]] = {}
    if not chosen:
        return found
    rows = await connection.execute(
        sa.select(parent_links.c.child_id, parent_links.c.parent_id)
        .join(people, people.c.id == parent_links.c.parent_id)
        .where(
            parent_links.c.school_id == school_id,
            parent_links.c.child_id.in_(chosen),
            parent_links.c.limited_access.is_(False),
            people.c.active.is_(True),
        )
    )
    for row in rows:
        found.setdefault(int(row.child_id), []).append(int(row.parent_id))
    return found


async def post_notices(
    connection: AsyncConnection,
    school_id: int,
    author_id: int,
    notices: Sequence[Notice],
    now: datetime,
) -> list[int]:
    """Inside the caller's transaction: one announcement per notice, to the pupil's parents
    (none for a pupil without a parent to tell). Returns who to alert after the commit.
    A fixed number of queries whatever the number of notices."""
    parents = await parents_to_tell(connection, school_id, [n.pupil_id for n in notices])
    kept = [notice for notice in notices if parents.get(notice.pupil_id)]
    if not kept:
        return []
    created = await connection.execute(
        announcements.insert().returning(announcements.c.id, sort_by_parameter_order=True),
        [
            {
                "school_id": school_id,
                "author_id": author_id,
                "title": notice.title[:NOTICE_TITLE_MAX],
                "body": notice.body,
                "include_parents": True,
                "created_at": now,
            }
            for notice in kept
        ],
    )
    ids = [int(row.id) for row in created]
    recipients = [
        {
            "school_id": school_id,
            "announcement_id": announcement_id,
            "person_id": parent_id,
            "as_parent": True,
        }
        for announcement_id, notice in zip(ids, kept, strict=True)
        for parent_id in parents[notice.pupil_id]
    ]
    await connection.execute(announcement_recipients.insert(), recipients)
    return sorted({row["person_id"] for row in recipients})


async def alert_parents(services: Services, school_id: int, parent_ids: Sequence[int]) -> None:
    """After the commit: new unread counts, and an alert outside quiet hours."""
    if parent_ids:
        await announce_change(services, school_id, parent_ids, "announcement")


def in_school_language(services: Services) -> Any:
    """Notices are written once for every reader, in the school's default language."""
    return i18n.current_locale.set(services.settings.default_locale)
