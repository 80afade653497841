"""Classwork: homework, hand-ins and their files."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.core import (
    Row,
    child_ids,
    enforce,
    teaches,
)
from preau.adapters.sql.schema import (
    enrolments,
    files,
    hand_in_files,
    hand_ins,
    homework,
    homework_attachments,
    homework_extensions,
    homework_targets,
    people,
)
from preau.domain.access import (
    Action,
    file_decision,
    hand_in_decision,
    homework_decision,
)
from preau.domain.classwork import (
    FILE_NOT_FOUND,
    HAND_IN_NOT_FOUND,
    HOMEWORK_NOT_FOUND,
    NOT_YOUR_CLASS,
    READ_ONLY,
    HandInRight,
)
from preau.domain.errors import Forbidden, NotFound
from preau.domain.people import STAFF_PROFILES, Actor, Profile

# -- classwork: homework, hand-ins, files --------------------------------------------------


async def is_set_for(connection: AsyncConnection, work: Row, pupil_ids: set[int]) -> set[int]:
    """Which of ``pupil_ids`` the homework ``work`` is set for."""
    if not pupil_ids:
        return set()
    mapping = work._mapping
    if mapping["chosen_pupils"]:
        query = sa.select(homework_targets.c.pupil_id).where(
            homework_targets.c.school_id == mapping["school_id"],
            homework_targets.c.homework_id == mapping["id"],
            homework_targets.c.pupil_id.in_(pupil_ids),
        )
    else:
        query = sa.select(enrolments.c.person_id).where(
            enrolments.c.school_id == mapping["school_id"],
            enrolments.c.group_id == mapping["group_id"],
            enrolments.c.role == "pupil",
            enrolments.c.person_id.in_(pupil_ids),
        )
    return {row[0] for row in await connection.execute(query)}


async def access_homework_by_id(
    connection: AsyncConnection, actor: Actor, homework_id: int, action: Action, *, now: datetime
) -> Row:
    return (await _homework_reach(connection, actor, homework_id, action, now=now)).row


async def access_hand_ins_by_homework_id(
    connection: AsyncConnection, actor: Actor, homework_id: int, *, now: datetime
) -> Row:
    """A homework whose every hand-in the actor may list: teachers of its group, staff and
    administrators. Whoever may not read the homework gets "not found"; pupils, parents
    and teachers of other groups who may, a refusal."""
    reach = await _homework_reach(connection, actor, homework_id, Action.READ, now=now)
    if actor.profile not in STAFF_PROFILES or (
        actor.profile is Profile.TEACHER and not reach.teaching
    ):
        raise Forbidden(NOT_YOUR_CLASS)
    return reach.row


class _Reach(NamedTuple):
    """What deciding on a homework read: the row, whether the actor teaches its group, and
    for pupils and parents, their children and which of the actor and their children it
    is set for (so the callers that decide more never ask the database twice)."""

    row: Row
    teaching: bool
    children: set[int]
    set_for: set[int]


async def _homework_reach(
    connection: AsyncConnection, actor: Actor, homework_id: int, action: Action, *, now: datetime
) -> _Reach:
    """The homework the actor may read or change, with what was read to decide it."""
    row = (
        await connection.execute(
            sa.select(homework).where(
                homework.c.id == homework_id,
                homework.c.school_id == actor.school_id,
                homework.c.deleted_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise NotFound(HOMEWORK_NOT_FOUND)
    children: set[int] = set()
    set_for: set[int] = set()
    if actor.profile in (Profile.PUPIL, Profile.PARENT):
        children = await child_ids(connection, actor)
        set_for = await is_set_for(connection, row, {actor.person_id} | children)
    teaching = actor.profile in STAFF_PROFILES and await teaches(connection, actor, row.group_id)
    enforce(
        homework_decision(
            actor,
            action,
            school_id=row.school_id,
            teaches_group=teaching,
            for_actor_or_child=bool(set_for),
            published=row.publish_at <= now,
        ),
        HOMEWORK_NOT_FOUND,
        NOT_YOUR_CLASS if actor.profile in STAFF_PROFILES else READ_ONLY,
    )
    return _Reach(row, teaching, children, set_for)


async def access_hand_in_by_id(
    connection: AsyncConnection,
    actor: Actor,
    homework_id: int,
    pupil_id: int,
    right: HandInRight,
    *,
    now: datetime,
) -> tuple[Row, Row | None]:
    """The homework and ``pupil_id``'s hand-in for it (None if nothing happened yet)."""
    reach = await _homework_reach(connection, actor, homework_id, Action.READ, now=now)
    work = reach.row
    if actor.profile in (Profile.PUPIL, Profile.PARENT) and (
        pupil_id == actor.person_id or pupil_id in reach.children
    ):
        set_for_pupil = pupil_id in reach.set_for  # already read to decide on the homework
    else:
        set_for_pupil = bool(await is_set_for(connection, work, {pupil_id}))
    if not set_for_pupil:
        raise NotFound(HAND_IN_NOT_FOUND)
    enforce(
        hand_in_decision(
            actor,
            right,
            school_id=work.school_id,
            pupil_id=pupil_id,
            teaches_group=reach.teaching,
            is_parent_of_pupil=pupil_id in reach.children,
        ),
        HAND_IN_NOT_FOUND,
        NOT_YOUR_CLASS if actor.profile in STAFF_PROFILES else READ_ONLY,
    )
    hand_in = (
        await connection.execute(
            sa.select(hand_ins).where(
                hand_ins.c.school_id == actor.school_id,
                hand_ins.c.homework_id == homework_id,
                hand_ins.c.pupil_id == pupil_id,
            )
        )
    ).first()
    return work, hand_in


class OwnHandIn(NamedTuple):
    """What a pupil's action on their own hand-in needs, read in one statement: the
    homework, their hand-in (None if nothing happened yet), their extension's due and
    cut-off times (None without one) and their name as lists show it."""

    work: Row
    hand_in: Any
    extension: tuple[datetime, datetime | None] | None
    pupil_name: str


def _own_hand_in_statement() -> sa.Select[Any]:
    """Built once: the homework, whether it is set for the pupil (its chosen pupils, or
    the pupils of its group), the pupil's hand-in, extension and name."""
    pupil = sa.bindparam("pupil_id", type_=sa.Integer)
    chosen = (
        sa.select(homework_targets.c.pupil_id)
        .where(
            homework_targets.c.school_id == homework.c.school_id,
            homework_targets.c.homework_id == homework.c.id,
            homework_targets.c.pupil_id == pupil,
        )
        .exists()
    )
    enrolled = (
        sa.select(enrolments.c.person_id)
        .where(
            enrolments.c.school_id == homework.c.school_id,
            enrolments.c.group_id == homework.c.group_id,
            enrolments.c.role == "pupil",
            enrolments.c.person_id == pupil,
        )
        .exists()
    )
    return (
        sa.select(
            homework,
            sa.case((homework.c.chosen_pupils, chosen), else_=enrolled).label("own_set_for"),
            *[column.label(f"own_hand_in_{column.name}") for column in hand_ins.c],
            homework_extensions.c.due_at.label("own_extension_due_at"),
            homework_extensions.c.cutoff_at.label("own_extension_cutoff_at"),
            homework_extensions.c.pupil_id.label("own_extension_pupil_id"),
            people.c.given_name.label("own_given_name"),
            people.c.family_name.label("own_family_name"),
        )
        .select_from(
            homework.outerjoin(
                hand_ins,
                sa.and_(
                    hand_ins.c.school_id == homework.c.school_id,
                    hand_ins.c.homework_id == homework.c.id,
                    hand_ins.c.pupil_id == pupil,
                ),
            )
            .outerjoin(
                homework_extensions,
                sa.and_(
                    homework_extensions.c.school_id == homework.c.school_id,
                    homework_extensions.c.homework_id == homework.c.id,
                    homework_extensions.c.pupil_id == pupil,
                ),
            )
            .outerjoin(
                people, sa.and_(people.c.school_id == homework.c.school_id, people.c.id == pupil)
            )
        )
        .where(
            homework.c.id == sa.bindparam("homework_id", type_=sa.Integer),
            homework.c.school_id == sa.bindparam("school_id", type_=sa.Integer),
            homework.c.deleted_at.is_(None),
        )
    )


OWN_HAND_IN = _own_hand_in_statement()
_HAND_IN_COLUMNS = tuple((column.name, f"own_hand_in_{column.name}") for column in hand_ins.c)


async def access_own_hand_in(
    connection: AsyncConnection, actor: Actor, homework_id: int, right: HandInRight, *,
    now: datetime,
) -> OwnHandIn:  # fmt: skip
    """A pupil's own hand-in, decided as :func:`access_hand_in_by_id` decides it (the
    same rules, the same errors) from one statement instead of three; the extension and
    the name come with it for the writer. Pupils only."""
    if actor.profile is not Profile.PUPIL:
        raise ValueError("access_own_hand_in is for pupils acting on their own hand-in")
    row = (
        await connection.execute(
            OWN_HAND_IN,
            {"homework_id": homework_id, "school_id": actor.school_id, "pupil_id": actor.person_id},
        )
    ).first()
    if row is None:
        raise NotFound(HOMEWORK_NOT_FOUND)
    set_for = bool(row.own_set_for)
    enforce(
        homework_decision(
            actor,
            Action.READ,
            school_id=row.school_id,
            teaches_group=False,
            for_actor_or_child=set_for,
            published=row.publish_at <= now,
        ),
        HOMEWORK_NOT_FOUND,
        READ_ONLY,
    )
    if not set_for:
        raise NotFound(HAND_IN_NOT_FOUND)
    enforce(
        hand_in_decision(
            actor,
            right,
            school_id=row.school_id,
            pupil_id=actor.person_id,
            teaches_group=False,
            is_parent_of_pupil=False,
        ),
        HAND_IN_NOT_FOUND,
        READ_ONLY,
    )
    mapping = row._mapping
    hand_in = None
    if mapping["own_hand_in_id"] is not None:
        hand_in = SimpleNamespace(**{name: mapping[label] for name, label in _HAND_IN_COLUMNS})
    extension = None
    if row.own_extension_pupil_id is not None:
        extension = (row.own_extension_due_at, row.own_extension_cutoff_at)
    return OwnHandIn(row, hand_in, extension, f"{row.own_given_name} {row.own_family_name}")


async def access_file_by_id(
    connection: AsyncConnection, actor: Actor, file_id: str, *, now: datetime
) -> Row:
    """A file the actor uploaded, or one attached to homework or a hand-in they may read."""
    row = (
        await connection.execute(
            sa.select(files).where(files.c.id == file_id, files.c.school_id == actor.school_id)
        )
    ).first()
    if row is None:
        raise NotFound(FILE_NOT_FOUND)
    reachable = False
    if row.owner_id != actor.person_id:
        reachable = await _reachable(connection, actor, file_id, now=now)
    enforce(
        file_decision(actor, school_id=row.school_id, owner_id=row.owner_id, reachable=reachable),
        FILE_NOT_FOUND,
    )
    return row


async def _reachable(
    connection: AsyncConnection, actor: Actor, file_id: str, *, now: datetime
) -> bool:
    attached_to = await connection.execute(
        sa.select(homework_attachments.c.homework_id).where(
            homework_attachments.c.school_id == actor.school_id,
            homework_attachments.c.file_id == file_id,
        )
    )
    for (homework_id,) in attached_to.all():
        try:
            await access_homework_by_id(connection, actor, homework_id, Action.READ, now=now)
        except (NotFound, Forbidden):
            continue
        return True
    handed_in_with = await connection.execute(
        sa.select(hand_ins.c.homework_id, hand_ins.c.pupil_id)
        .join(hand_in_files, hand_in_files.c.hand_in_id == hand_ins.c.id)
        .where(hand_in_files.c.school_id == actor.school_id, hand_in_files.c.file_id == file_id)
    )
    for homework_id, pupil_id in handed_in_with.all():
        try:
            await access_hand_in_by_id(
                connection, actor, homework_id, pupil_id, HandInRight.READ, now=now
            )
        except (NotFound, Forbidden):
            continue
        return True
    return False
