"""Deciding, and the facts several sections need: :func:`enforce`, the messages the
sections share, who a parent's children are and who teaches a group."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.adapters.sql.schema import (
    enrolments,
    parent_links,
)
from preau.domain.access import (
    Decision,
)
from preau.domain.errors import Forbidden, NotFound
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.i18n import lazy

Row = sa.Row[tuple[object, ...]]

PERSON_NOT_FOUND = lazy("This person does not exist or is not in your school.")
GROUP_NOT_FOUND = lazy("This class or group does not exist or is not in your school.")
NOT_YOURS = lazy("You are not allowed to do this. Only a school administrator can.")
NOT_YOUR_VIRTUAL_CLASS = lazy("You can only start a virtual class for a class or group you teach.")
CONVERSATION_NOT_FOUND = lazy("This conversation does not exist or you cannot see it.")
ANNOUNCEMENT_NOT_FOUND = lazy("This announcement does not exist or you cannot see it.")
REPLIES_CLOSED = lazy(
    "Replies are closed in this conversation: only the person who started it can write."
)
NOT_A_PARTICIPANT = lazy("Only the people in this conversation can do this.")
ONLY_MODERATORS = lazy("Only the school staff can do this.")
MESSAGE_NOT_FOUND = lazy("This message does not exist or you cannot see it.")
ATTACHMENT_NOT_FOUND = lazy("This file does not exist or you cannot see it.")
ONLY_RECIPIENTS = lazy("Only the recipients of an announcement can mark it as read.")
ONLY_OVERSEERS = lazy(
    "Only the author of an announcement and the school staff can see who read it."
)
NOT_OPERATOR = lazy("Only the platform's operators can see or change the waiting room.")


# -- deciding, and the facts several sections need ----------------------------------------


def enforce(
    decision: Decision, not_found: str = PERSON_NOT_FOUND, forbidden: str = NOT_YOURS
) -> None:
    """Raise what ``decision`` means: "not found" with ``not_found``, a refusal with
    ``forbidden``; nothing when it allows."""
    if decision is Decision.HIDE:
        raise NotFound(not_found)
    if decision is Decision.FORBID:
        raise Forbidden(forbidden)


async def child_ids(connection: AsyncConnection, actor: Actor) -> set[int]:
    """The children of a parent (one indexed query); nobody else has any (no query)."""
    if actor.profile is not Profile.PARENT:
        return set()
    rows = await connection.execute(
        sa.select(parent_links.c.child_id).where(
            parent_links.c.school_id == actor.school_id, parent_links.c.parent_id == actor.person_id
        )
    )
    return {int(row.child_id) for row in rows}


async def teaches(connection: AsyncConnection, actor: Actor, group_id: int) -> bool:
    """Does the actor teach this class or group? Only staff can be enrolled as teachers
    (``directory.enrol``, the roster import), so nobody else costs a query."""
    if actor.profile not in STAFF_PROFILES:
        return False
    found = await connection.execute(
        sa.select(enrolments.c.id).where(
            enrolments.c.school_id == actor.school_id,
            enrolments.c.group_id == group_id,
            enrolments.c.person_id == actor.person_id,
            enrolments.c.role == "teacher",
        )
    )
    return found.first() is not None


async def teaches_pupil(connection: AsyncConnection, actor: Actor, pupil_id: int) -> bool:
    """Does the actor teach a class or group this pupil is enrolled in? (one indexed query
    for staff; nobody else is enrolled as a teacher, so no query)."""
    if actor.profile not in STAFF_PROFILES:
        return False
    taught = enrolments.alias("taught")
    found = await connection.execute(
        sa.select(enrolments.c.id)
        .join(taught, taught.c.group_id == enrolments.c.group_id)
        .where(
            enrolments.c.school_id == actor.school_id,
            enrolments.c.person_id == pupil_id,
            enrolments.c.role == "pupil",
            taught.c.person_id == actor.person_id,
            taught.c.role == "teacher",
        )
        .limit(1)
    )
    return found.first() is not None
