"""People, the school directory, classes and groups."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.core import (
    GROUP_NOT_FOUND,
    NOT_YOUR_VIRTUAL_CLASS,
    PERSON_NOT_FOUND,
    Row,
    child_ids,
    enforce,
    teaches,
)
from preau.adapters.sql.schema import (
    enrolments,
    groups,
    people,
)
from preau.domain.access import (
    Action,
    activation_code_decision,
    directory_decision,
    group_decision,
    person_decision,
)
from preau.domain.classwork import (
    NOT_YOUR_CLASS,
)
from preau.domain.errors import Forbidden, InvalidInput, NotFound
from preau.domain.messages import (
    announcement_refusal,
)
from preau.domain.people import STAFF_PROFILES, Actor, Profile

# -- people and the school directory ----------------------------------------------------------


async def access_person_by_id(
    connection: AsyncConnection, actor: Actor, person_id: int, action: Action
) -> Row:
    row = (
        await connection.execute(
            sa.select(people).where(people.c.id == person_id, people.c.school_id == actor.school_id)
        )
    ).first()
    if row is None:
        raise NotFound(PERSON_NOT_FOUND)
    is_child = person_id in await child_ids(connection, actor)
    enforce(
        person_decision(
            actor,
            action,
            target_id=person_id,
            target_school_id=row.school_id,
            target_is_child_of_actor=is_child,
        )
    )
    return row


async def access_person_for_activation_code(
    connection: AsyncConnection, actor: Actor, person_id: int | None
) -> Row | None:
    """A person of the actor's school to issue an activation code for (a password reset):
    administrators for anyone, the vie scolaire for pupils, parents and teachers. With
    ``person_id`` None: may the actor issue codes at all (the profiles they may issue for
    are :func:`preau.domain.access.activation_code_profiles`)."""
    if person_id is None:
        enforce(activation_code_decision(actor, school_id=actor.school_id, target_profile=None))
        return None
    row = (
        await connection.execute(
            sa.select(people).where(people.c.id == person_id, people.c.school_id == actor.school_id)
        )
    ).first()
    if row is None:
        raise NotFound(PERSON_NOT_FOUND)
    if actor.profile not in STAFF_PROFILES and row.id != actor.person_id:
        # Pupils and parents learn nothing about other people (as access_person_by_id).
        await access_person_by_id(connection, actor, person_id, Action.READ)
    enforce(
        activation_code_decision(
            actor, school_id=row.school_id, target_profile=Profile(row.profile)
        )
    )
    return row


def access_school_directory(actor: Actor, action: Action) -> None:
    """The actor's school directory as a whole: staff list it, administrators manage it
    (people, groups, activation codes, roster imports)."""
    enforce(directory_decision(actor, action, school_id=actor.school_id))


# -- classes and groups ---------------------------------------------------------------------


async def _group_row(connection: AsyncConnection, actor: Actor, group_id: int) -> Row | None:
    return (
        await connection.execute(
            sa.select(groups).where(groups.c.id == group_id, groups.c.school_id == actor.school_id)
        )
    ).first()


async def access_group_by_id(
    connection: AsyncConnection, actor: Actor, group_id: int, action: Action
) -> Row:
    row = await _group_row(connection, actor, group_id)
    if row is None:
        raise NotFound(GROUP_NOT_FOUND)
    member = False
    if actor.profile in (Profile.PUPIL, Profile.PARENT):
        members = {actor.person_id} | await child_ids(connection, actor)
        member = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(enrolments)
                .where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.group_id == group_id,
                    enrolments.c.person_id.in_(members),
                )
            )
        ).scalar_one() > 0
    enforce(
        group_decision(
            actor, action, group_school_id=row.school_id, actor_or_child_is_member=member
        ),
        GROUP_NOT_FOUND,
    )
    return row


async def access_group_for_teaching(
    connection: AsyncConnection, actor: Actor, group_id: int
) -> Row:
    """A class or group the actor teaches, to set homework for it."""
    row = await _group_row(connection, actor, group_id)
    if row is None:
        raise NotFound(GROUP_NOT_FOUND, field="group_id")
    if not await teaches(connection, actor, group_id):
        if actor.profile in STAFF_PROFILES:
            raise Forbidden(NOT_YOUR_CLASS, field="group_id")
        # Pupils and parents only learn about their own groups.
        members = {actor.person_id} | await child_ids(connection, actor)
        enrolled = await connection.execute(
            sa.select(enrolments.c.id).where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.group_id == group_id,
                enrolments.c.person_id.in_(members),
            )
        )
        if enrolled.first() is None:
            raise NotFound(GROUP_NOT_FOUND, field="group_id")
        raise Forbidden(NOT_YOUR_CLASS, field="group_id")
    return row


async def access_group_for_virtual_class(
    connection: AsyncConnection, actor: Actor, group_id: int
) -> Row:
    """A class or group the actor teaches, to start a virtual class for it now. Pupils and
    parents are not told whether the group exists, even their own."""
    row = await _group_row(connection, actor, group_id)
    teaching = row is not None and await teaches(connection, actor, group_id)
    if row is None or (not teaching and actor.profile not in STAFF_PROFILES):
        raise NotFound(GROUP_NOT_FOUND)
    if not teaching:
        raise Forbidden(NOT_YOUR_VIRTUAL_CLASS, field="group_id")
    return row


# Built once: the groups asked for and, in the same statement, their active pupils.
_GROUPS_WITH_PUPILS = (
    sa.select(groups.c.id, enrolments.c.person_id)
    .select_from(
        groups.outerjoin(
            enrolments.join(
                people,
                sa.and_(
                    people.c.id == enrolments.c.person_id,
                    people.c.school_id == enrolments.c.school_id,
                    people.c.active.is_(True),
                ),
            ),
            sa.and_(
                enrolments.c.school_id == groups.c.school_id,
                enrolments.c.group_id == groups.c.id,
                enrolments.c.role == "pupil",
            ),
        )
    )
    .where(
        groups.c.school_id == sa.bindparam("school_id", type_=sa.Integer),
        groups.c.id.in_(sa.bindparam("group_ids", expanding=True)),
    )
)


async def access_groups_for_conversation(
    connection: AsyncConnection, actor: Actor, group_ids: Sequence[int]
) -> dict[int, set[int]]:
    """Classes and groups (distinct ids) whose pupils or parents the actor may write to:
    any of their school's (the profiles allowed at all are checked before, by
    ``group_refusal``). One of another school is an unknown group in the form. Returns
    each group's active pupils, read in the same statement."""
    rows = await connection.execute(
        _GROUPS_WITH_PUPILS, {"school_id": actor.school_id, "group_ids": list(group_ids)}
    )
    pupils: dict[int, set[int]] = {}
    for row in rows:
        found = pupils.setdefault(int(row.id), set())
        if row.person_id is not None:
            found.add(int(row.person_id))
    if len(pupils) != len(group_ids):
        raise InvalidInput(GROUP_NOT_FOUND, field="group_ids")
    return pupils


async def access_groups_for_announcement(
    connection: AsyncConnection, actor: Actor, group_ids: Sequence[int]
) -> None:
    """Classes and groups (distinct ids) the actor may post one announcement to: all of
    their school's for staff and administrators, those they teach for a teacher (the
    profiles allowed at all are checked before, by ``announcement_refusal``)."""
    await access_groups_for_conversation(connection, actor, group_ids)
    if actor.profile is Profile.TEACHER:
        taught = (
            await connection.execute(
                sa.select(sa.func.count(sa.distinct(enrolments.c.group_id))).where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.person_id == actor.person_id,
                    enrolments.c.role == "teacher",
                    enrolments.c.group_id.in_(group_ids),
                )
            )
        ).scalar_one()
        refusal = announcement_refusal(actor, teaches_every_group=taught == len(group_ids))
        if refusal is not None:
            raise Forbidden(refusal, field="group_ids")


async def visible_groups(connection: AsyncConnection, actor: Actor) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``groups`` (besides the school) keeping the classes and groups the
    actor may list: none for staff; for pupils and parents, their own or their children's."""
    if actor.profile in STAFF_PROFILES:
        return []
    members = {actor.person_id} | await child_ids(connection, actor)
    return [
        groups.c.id.in_(
            sa.select(enrolments.c.group_id).where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.person_id.in_(members),
            )
        )
    ]
