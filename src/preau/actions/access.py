"""The only place directory objects are fetched for an actor: ``access_<thing>_by_id``.

Each loads the facts the pure rule in :mod:`preau.domain.access` needs, applies it and
returns the row, or raises :class:`NotFound` / :class:`Forbidden`. Handlers never check
permissions by hand.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.adapters.sql.schema import enrolments, groups, parent_links, people, schools
from preau.domain.access import Action, Decision, group_decision, person_decision
from preau.domain.errors import Forbidden, NotFound
from preau.domain.people import Actor, Profile
from preau.i18n import lazy

PERSON_NOT_FOUND = lazy("This person does not exist or is not in your school.")
GROUP_NOT_FOUND = lazy("This class or group does not exist or is not in your school.")
NOT_YOURS = lazy("You are not allowed to do this. Only a school administrator can.")


def enforce(decision: Decision, not_found: str = PERSON_NOT_FOUND) -> None:
    if decision is Decision.HIDE:
        raise NotFound(not_found)
    if decision is Decision.FORBID:
        raise Forbidden(NOT_YOURS)


async def child_ids(connection: AsyncConnection, actor: Actor) -> set[int]:
    if actor.profile is not Profile.PARENT:
        return set()
    rows = await connection.execute(
        sa.select(parent_links.c.child_id).where(
            parent_links.c.school_id == actor.school_id, parent_links.c.parent_id == actor.person_id
        )
    )
    return {row.child_id for row in rows}


async def access_person_by_id(
    connection: AsyncConnection, actor: Actor, person_id: int, action: Action
) -> sa.Row[tuple[object, ...]]:
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


async def access_group_by_id(
    connection: AsyncConnection, actor: Actor, group_id: int, action: Action
) -> sa.Row[tuple[object, ...]]:
    row = (
        await connection.execute(
            sa.select(groups).where(groups.c.id == group_id, groups.c.school_id == actor.school_id)
        )
    ).first()
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


NOT_OPERATOR = lazy("Only the platform's operators can see or change the waiting room.")


async def access_platform_operator(
    connection: AsyncConnection, actor: Actor, operator_uais: str
) -> None:
    """The waiting room is the whole platform's: only administrators of the schools named
    in ``PREAU_OPERATOR_UAIS`` run it. Others are told it is not theirs."""
    allowed = {uai.strip().upper() for uai in operator_uais.split(",") if uai.strip()}
    if actor.profile is Profile.ADMIN and allowed:
        uai = (
            await connection.execute(
                sa.select(schools.c.uai).where(schools.c.id == actor.school_id)
            )
        ).scalar()
        if uai in allowed:
            return
    raise Forbidden(NOT_OPERATOR)
