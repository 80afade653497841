"""Marks: groups' marks books, evaluations, report cards and the school's settings
(docs/marks.md)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.core import (
    GROUP_NOT_FOUND,
    child_ids,
    enforce,
    teaches_pupil,
)
from preau.adapters.sql.schema import (
    enrolments,
    evaluations,
    groups,
    parent_links,
    people,
)
from preau.domain.access import (
    Action,
    marks_decision,
    marks_settings_decision,
    report_card_decision,
)
from preau.domain.errors import NotFound
from preau.domain.marks import EVALUATION_NOT_FOUND
from preau.domain.marks import NOT_YOUR_CLASS as NOT_YOUR_MARKS
from preau.domain.marks import PUPIL_NOT_FOUND as MARKS_PUPIL_NOT_FOUND
from preau.domain.marks import READ_ONLY as MARKS_READ_ONLY
from preau.domain.people import STAFF_PROFILES, Actor, Profile

# -- marks (docs/marks.md) -------------------------------------------------------------------


def marks_refusal(actor: Actor) -> str:
    """What a refusal says: to staff, that the marks are their teachers'; to pupils and
    parents, that they may read but not change them."""
    return NOT_YOUR_MARKS if actor.profile in STAFF_PROFILES else MARKS_READ_ONLY


async def _marks_links(
    connection: AsyncConnection, actor: Actor, group_id: int
) -> tuple[bool, bool]:
    """Whether the actor teaches the group, and whether they (or a child of theirs) are
    one of its pupils: one query whatever the profile."""
    if actor.profile in STAFF_PROFILES:
        related: sa.ColumnElement[bool] = enrolments.c.person_id == actor.person_id
    else:
        children = sa.select(parent_links.c.child_id).where(
            parent_links.c.school_id == actor.school_id,
            parent_links.c.parent_id == actor.person_id,
        )
        related = sa.or_(
            enrolments.c.person_id == actor.person_id, enrolments.c.person_id.in_(children)
        )
    roles = {
        row.role
        for row in await connection.execute(
            sa.select(enrolments.c.role).where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.group_id == group_id,
                related,
            )
        )
    }
    teaches = actor.profile in STAFF_PROFILES and "teacher" in roles
    return teaches, "pupil" in roles


async def _enforce_marks(
    connection: AsyncConnection,
    actor: Actor,
    action: Action,
    school_id: int,
    group_id: int,
    *,
    whole_class: bool,
    not_found: str,
) -> bool:
    """Decide on a group's marks (the whole book, or one evaluation of it) from the actor's
    links to the group; whether the actor teaches it."""
    teaches, member = await _marks_links(connection, actor, group_id)
    decision = marks_decision(
        actor,
        action,
        school_id=school_id,
        teaches_group=teaches,
        actor_or_child_in_group=member,
        whole_class=whole_class,
    )
    enforce(decision, not_found, marks_refusal(actor))
    return teaches


async def access_marks_group_by_id(
    connection: AsyncConnection, actor: Actor, group_id: int, action: Action
) -> tuple[sa.Row[tuple[object, ...]], bool]:
    """A class or group whose whole marks book (grid, CSV, new evaluations) the actor may
    read or change, and whether they teach it."""
    row = (
        await connection.execute(
            sa.select(groups).where(groups.c.id == group_id, groups.c.school_id == actor.school_id)
        )
    ).first()
    if row is None:
        raise NotFound(GROUP_NOT_FOUND, field="group_id")
    teaches = await _enforce_marks(
        connection,
        actor,
        action,
        row.school_id,
        group_id,
        whole_class=True,
        not_found=GROUP_NOT_FOUND,
    )
    return row, teaches


async def access_evaluation_by_id(
    connection: AsyncConnection, actor: Actor, evaluation_id: int, action: Action
) -> tuple[sa.Row[tuple[object, ...]], bool]:
    """An evaluation the actor may read (pupils and parents: their own or their child's
    mark on it) or change (the teachers of its group), and whether they teach the group."""
    row = (
        await connection.execute(
            sa.select(evaluations).where(
                evaluations.c.id == evaluation_id,
                evaluations.c.school_id == actor.school_id,
                evaluations.c.deleted_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise NotFound(EVALUATION_NOT_FOUND, field="evaluation_id")
    teaches = await _enforce_marks(
        connection,
        actor,
        action,
        row.school_id,
        row.group_id,
        whole_class=False,
        not_found=EVALUATION_NOT_FOUND,
    )
    return row, teaches


async def pupil_facts(
    connection: AsyncConnection, actor: Actor, pupil_id: int
) -> tuple[sa.Row[tuple[object, ...]] | None, bool, bool]:
    """The pupil (None if no pupil of the actor's school has this id), whether they are the
    actor's child and whether the actor teaches one of their groups: the facts of
    ``report_card_decision`` and ``skill_summary_decision``."""
    row = (
        await connection.execute(
            sa.select(people).where(
                people.c.id == pupil_id,
                people.c.school_id == actor.school_id,
                people.c.profile == Profile.PUPIL.value,
            )
        )
    ).first()
    if row is None:
        return None, False, False
    is_child = False
    teaches = False
    if actor.profile is Profile.PARENT:
        is_child = pupil_id in await child_ids(connection, actor)
    elif actor.profile is Profile.TEACHER:
        teaches = await teaches_pupil(connection, actor, pupil_id)
    return row, is_child, teaches


async def access_report_card_by_pupil_id(
    connection: AsyncConnection, actor: Actor, pupil_id: int
) -> sa.Row[tuple[object, ...]]:
    """The pupil whose report card the actor may read (see ``report_card_decision``)."""
    row, is_child, teaches_pupil = await pupil_facts(connection, actor, pupil_id)
    if row is None:
        raise NotFound(MARKS_PUPIL_NOT_FOUND, field="pupil_id")
    decision = report_card_decision(
        actor,
        pupil_id=pupil_id,
        pupil_school_id=row.school_id,
        is_child_of_actor=is_child,
        teaches_pupil=teaches_pupil,
    )
    enforce(decision, MARKS_PUPIL_NOT_FOUND, marks_refusal(actor))
    return row


def access_marks_settings(actor: Actor, action: Action) -> None:
    """A school's terms and way of counting (no row to load: the school is the actor's)."""
    enforce(marks_settings_decision(actor, action, school_id=actor.school_id))
