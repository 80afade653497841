"""Virtual classes' rooms."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.core import (
    Row,
)
from preau.adapters.sql.schema import (
    enrolments,
    groups,
    virtual_breakout_rooms,
    virtual_breakouts,
    virtual_chat,
    virtual_guests,
    virtual_polls,
    virtual_rooms,
)
from preau.domain.access import (
    Decision,
    room_decision,
)
from preau.domain.errors import Forbidden, NotFound
from preau.domain.people import Actor, Profile
from preau.domain.virtual import ROOM_NOT_FOUND, Role
from preau.domain.virtual_room import MESSAGE_NOT_FOUND, POLL_NOT_FOUND
from preau.i18n import lazy

ONLY_HOST = lazy("Only the teacher of this virtual class can do this.")

# -- virtual classes -------------------------------------------------------------------------


async def access_room_by_id(
    connection: AsyncConnection, actor: Actor, room_id: int
) -> tuple[Row, Role]:
    """The only way to reach a virtual room for an actor: the room and the actor's role."""
    room = (
        await connection.execute(
            sa.select(virtual_rooms, groups.c.name.label("group_name"))
            .join(groups, groups.c.id == virtual_rooms.c.group_id)
            .where(virtual_rooms.c.id == room_id, virtual_rooms.c.school_id == actor.school_id)
        )
    ).first()
    if room is None:
        raise NotFound(ROOM_NOT_FOUND)
    in_group = (
        await connection.execute(
            sa.select(enrolments.c.id).where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.group_id == room.group_id,
                enrolments.c.person_id == actor.person_id,
                enrolments.c.role == "pupil",
            )
        )
    ).first() is not None
    guest = (
        await connection.execute(
            sa.select(virtual_guests.c.person_id).where(
                virtual_guests.c.school_id == actor.school_id,
                virtual_guests.c.room_id == room_id,
                virtual_guests.c.person_id == actor.person_id,
            )
        )
    ).first() is not None
    decision, role = room_decision(
        actor,
        room_school_id=room.school_id,
        is_host=room.teacher_id == actor.person_id,
        is_pupil_of_group=in_group,
        is_guest=guest,
    )
    if decision is not Decision.ALLOW or role is None:
        raise NotFound(ROOM_NOT_FOUND)
    if role is Role.PUPIL and not await _in_its_breakout_group(connection, actor, room_id):
        raise NotFound(ROOM_NOT_FOUND)
    return room, role


async def _in_its_breakout_group(connection: AsyncConnection, actor: Actor, room_id: int) -> bool:
    """A breakout group's room is for the pupils put in that group (and the teacher); any
    other room is not a group's, and this holds."""
    found = (
        await connection.execute(
            sa.select(virtual_breakouts.c.person_id)
            .select_from(virtual_breakout_rooms)
            .outerjoin(
                virtual_breakouts,
                sa.and_(
                    virtual_breakouts.c.group_room_id == virtual_breakout_rooms.c.group_room_id,
                    virtual_breakouts.c.person_id == actor.person_id,
                ),
            )
            .where(virtual_breakout_rooms.c.group_room_id == room_id)
        )
    ).first()
    return found is None or found.person_id is not None


def joinable_rooms(actor: Actor) -> sa.ColumnElement[bool]:
    """A condition on ``virtual_rooms`` (besides the school) keeping the rooms the actor
    may join, as :func:`access_room_by_id` decides: hosted, their class's (pupils), or
    invited to."""
    my_groups = sa.select(enrolments.c.group_id).where(
        enrolments.c.school_id == actor.school_id,
        enrolments.c.person_id == actor.person_id,
        enrolments.c.role == "pupil",
    )
    invited = sa.select(virtual_guests.c.room_id).where(
        virtual_guests.c.school_id == actor.school_id,
        virtual_guests.c.person_id == actor.person_id,
    )
    return sa.or_(
        virtual_rooms.c.teacher_id == actor.person_id,
        virtual_rooms.c.group_id.in_(my_groups) if actor.profile is Profile.PUPIL else sa.false(),
        virtual_rooms.c.id.in_(invited),
    )


# -- inside a virtual class: chat messages and polls ----------------------------------------


async def access_chat_message_by_id(
    connection: AsyncConnection, actor: Actor, room_id: int, message_id: int, *, delete: bool
) -> tuple[Row, Role]:
    """A chat message of a room the actor is in: read by everyone there when public, by
    its author and the teacher when private; deleted by the teacher only. Anything else is
    "not found" (a private message's existence is not revealed), or refused (deleting)."""
    _room, role = await access_room_by_id(connection, actor, room_id)
    message = (
        await connection.execute(
            sa.select(virtual_chat).where(
                virtual_chat.c.id == message_id,
                virtual_chat.c.room_id == room_id,
                virtual_chat.c.school_id == actor.school_id,
                virtual_chat.c.deleted_at.is_(None),
            )
        )
    ).first()
    if message is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    if message.to_teacher and role is not Role.TEACHER and message.author_id != actor.person_id:
        raise NotFound(MESSAGE_NOT_FOUND)
    if delete and role is not Role.TEACHER:
        raise Forbidden(ONLY_HOST)
    return message, role


async def access_poll_by_id(
    connection: AsyncConnection, actor: Actor, room_id: int, poll_id: int
) -> tuple[Row, Role]:
    """A poll of a room the actor is in (everyone there sees it; what each may do with it,
    answer or show the results, follows from the role returned)."""
    _room, role = await access_room_by_id(connection, actor, room_id)
    poll = (
        await connection.execute(
            sa.select(virtual_polls).where(
                virtual_polls.c.id == poll_id,
                virtual_polls.c.room_id == room_id,
                virtual_polls.c.school_id == actor.school_id,
            )
        )
    ).first()
    if poll is None:
        raise NotFound(POLL_NOT_FOUND)
    return poll, role
