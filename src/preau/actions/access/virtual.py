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
    virtual_guests,
    virtual_rooms,
)
from preau.domain.access import (
    Decision,
    room_decision,
)
from preau.domain.errors import NotFound
from preau.domain.people import Actor, Profile
from preau.domain.virtual import ROOM_NOT_FOUND, Role

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
    return room, role


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
