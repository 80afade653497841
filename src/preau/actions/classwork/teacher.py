"""What a teacher picks from and looks over: the groups they teach, a group's pupils, and
homework by week with its hand-in counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_group_by_id, access_group_for_teaching
from preau.actions.classwork.homework import Row
from preau.actions.context import Services
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import (
    enrolments,
    groups,
    hand_ins,
    homework,
    homework_targets,
    people,
)
from preau.domain.access import Action
from preau.domain.classwork import HandInState, HomeworkSummary, TeacherWeek, in_utc, week_start
from preau.domain.errors import Forbidden, InvalidInput
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.i18n import lazy

LIST_NEEDS_GROUP = lazy("Choose a class or group to see its homework.")


async def teachable_groups(services: Services, actor: Actor) -> list[Any]:
    """The classes and groups the actor teaches (to set homework for)."""
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.select(
                groups.c.id,
                groups.c.name,
                sa.func.coalesce(enrolments.c.subject, groups.c.subject).label("subject"),
            )
            .join(enrolments, enrolments.c.group_id == groups.c.id)
            .where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.person_id == actor.person_id,
                enrolments.c.role == "teacher",
                groups.c.active.is_(True),
            )
            .order_by(groups.c.name)
        )
        return list(rows.all())


async def group_pupils(services: Services, actor: Actor, group_id: int) -> list[Row]:
    async with services.engine.connect() as connection:
        await access_group_for_teaching(connection, actor, group_id)
        return list(
            await connection.execute(
                sa.select(people.c.id, people.c.given_name, people.c.family_name)
                .join(enrolments, enrolments.c.person_id == people.c.id)
                .where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.group_id == group_id,
                    enrolments.c.role == "pupil",
                )
                .order_by(people.c.family_name, people.c.given_name)
            )
        )


async def teacher_homework(
    services: Services,
    actor: Actor,
    *,
    group_id: int | None = None,
    week_of: datetime | None = None,
) -> list[TeacherWeek]:
    """Homework by week (of its due time) for the groups the actor teaches, or for one
    group; staff and administrators name the group."""
    if actor.profile not in STAFF_PROFILES:
        raise Forbidden("Only a teacher of this class or group can do this.")
    now = services.now()
    async with services.engine.connect() as connection:
        zone = await school_zone(services, actor.school_id, connection)
        conditions: list[sa.ColumnElement[bool]] = [
            homework.c.school_id == actor.school_id,
            homework.c.deleted_at.is_(None),
        ]
        if group_id is not None:
            await access_group_by_id(connection, actor, group_id, Action.READ)
            conditions.append(homework.c.group_id == group_id)
        elif actor.profile is Profile.TEACHER:
            conditions.append(
                homework.c.group_id.in_(
                    sa.select(enrolments.c.group_id).where(
                        enrolments.c.school_id == actor.school_id,
                        enrolments.c.person_id == actor.person_id,
                        enrolments.c.role == "teacher",
                    )
                )
            )
        else:
            raise InvalidInput(LIST_NEEDS_GROUP, field="group_id")
        if week_of is not None:
            start_day = week_start(in_utc(week_of, zone), zone)
            start = datetime.combine(start_day, datetime.min.time(), zone)
            conditions.append(homework.c.due_at >= start)
            conditions.append(homework.c.due_at < start + timedelta(days=7))
        rows = (
            await connection.execute(
                sa.select(homework, groups.c.name.label("group_name"))
                .join(groups, groups.c.id == homework.c.group_id)
                .where(*conditions)
                .order_by(homework.c.due_at.desc(), homework.c.id)
                .limit(500)
            )
        ).all()
        ids = [row.id for row in rows]
        states: dict[int, Counter[str]] = {homework_id: Counter() for homework_id in ids}
        if ids:
            for homework_id, state, late, count in await connection.execute(
                sa.select(
                    hand_ins.c.homework_id, hand_ins.c.state, hand_ins.c.late, sa.func.count()
                )
                .where(hand_ins.c.school_id == actor.school_id, hand_ins.c.homework_id.in_(ids))
                .group_by(hand_ins.c.homework_id, hand_ins.c.state, hand_ins.c.late)
            ):
                states[homework_id][state] += count
                if late:
                    states[homework_id]["late"] += count
        pupils = await _pupil_counts(connection, actor.school_id, rows)
    weeks: dict[Any, list[HomeworkSummary]] = {}
    for row in rows:
        counts = states[row.id]
        total = pupils.get(row.id, 0)
        counted = sum(counts[s.value] for s in HandInState if s is not HandInState.ASSIGNED)
        assigned = max(total - counted, 0)
        due = row.due_at
        late = counts["late"] + (assigned if row.hand_in_expected and now > due else 0)
        summary = HomeworkSummary(
            id=row.id,
            group_id=row.group_id,
            group_name=row.group_name,
            title=row.title,
            publish_at=row.publish_at,
            due_at=due,
            hand_in_expected=row.hand_in_expected,
            published=row.publish_at <= now,
            assigned=assigned,
            turned_in=counts[HandInState.TURNED_IN.value],
            late=late,
            returned=counts[HandInState.RETURNED.value],
            missing=counts[HandInState.MISSING.value],
            excused=counts[HandInState.EXCUSED.value],
        )
        weeks.setdefault(week_start(due, zone), []).append(summary)
    return [TeacherWeek(week_start=start, items=items) for start, items in weeks.items()]


async def _pupil_counts(
    connection: AsyncConnection, school_id: int, rows: Sequence[Row]
) -> dict[int, int]:
    counts: dict[int, int] = {}
    chosen = [row.id for row in rows if row.chosen_pupils]
    if chosen:
        for homework_id, count in await connection.execute(
            sa.select(homework_targets.c.homework_id, sa.func.count())
            .where(
                homework_targets.c.school_id == school_id,
                homework_targets.c.homework_id.in_(chosen),
            )
            .group_by(homework_targets.c.homework_id)
        ):
            counts[homework_id] = count  # noqa: PERF403 - a query, then a dict
    group_ids = {row.group_id for row in rows if not row.chosen_pupils}
    if group_ids:
        sizes: dict[int, int] = dict(
            (
                await connection.execute(
                    sa.select(enrolments.c.group_id, sa.func.count())
                    .where(
                        enrolments.c.school_id == school_id,
                        enrolments.c.group_id.in_(group_ids),
                        enrolments.c.role == "pupil",
                    )
                    .group_by(enrolments.c.group_id)
                )
            ).all()
        )
        for row in rows:
            if not row.chosen_pupils:
                counts[row.id] = sizes.get(row.group_id, 0)
    return counts
