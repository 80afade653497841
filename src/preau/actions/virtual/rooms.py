"""The virtual classes a person sees (hosted, their class's, invited to), a class started
now by its teacher, and staff invited as guests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from preau.actions.access import access_group_for_virtual_class, access_room_by_id, joinable_rooms
from preau.actions.context import Services
from preau.actions.virtual.placement import insert_room, place_room
from preau.actions.virtual.pool import pool_of
from preau.adapters.sql.schema import (
    people,
    virtual_breakout_rooms,
    virtual_guests,
    virtual_rooms,
)
from preau.domain.errors import Forbidden, InvalidInput
from preau.domain.people import STAFF_PROFILES, Actor
from preau.domain.virtual import Role, join_window
from preau.i18n import lazy

Row = sa.Row[Any]

ONLY_HOST = lazy("Only the teacher of this virtual class can do this.")
GUEST_NOT_STAFF = lazy("Only staff of your school can be invited.")
BAD_MINUTES = lazy("A virtual class lasts between 10 and 240 minutes.")


class RoomView(msgspec.Struct, kw_only=True):
    id: int
    title: str
    group_id: int
    group_name: str
    starts_at: datetime
    ends_at: datetime
    node: str | None
    role: Role
    open_from: datetime
    open_now: bool
    over: bool


def room_view(services: Services, room: Row, role: Role, now: datetime) -> RoomView:
    opens, closes = join_window(
        room.starts_at,
        room.ends_at,
        role=role,
        early_minutes=services.settings.janus_join_early_minutes,
        lead_minutes=services.settings.janus_lead_minutes,
    )
    return RoomView(
        id=room.id,
        title=room.title,
        group_id=room.group_id,
        group_name=room.group_name,
        starts_at=room.starts_at,
        ends_at=room.ends_at,
        node=room.node,
        role=role,
        open_from=opens,
        open_now=opens <= now < closes and room.ended_at is None,
        over=now >= closes or room.ended_at is not None,
    )


def require_host(role: Role) -> None:
    """Refuse what only the room's teacher may do: invite, give the floor, list who is in."""
    if role is not Role.TEACHER:
        raise Forbidden(ONLY_HOST)


async def my_rooms(services: Services, actor: Actor) -> list[RoomView]:
    """Today's and upcoming virtual classes the actor may join (host, pupil, guest)."""
    now = services.now()
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.select(virtual_rooms.c.id)
            .where(
                virtual_rooms.c.school_id == actor.school_id,
                virtual_rooms.c.ends_at > now,
                virtual_rooms.c.ended_at.is_(None),
                joinable_rooms(actor),
                # A breakout group's room opens from its class's page, not from the list.
                virtual_rooms.c.id.not_in(sa.select(virtual_breakout_rooms.c.group_room_id)),
            )
            .order_by(virtual_rooms.c.starts_at)
            .limit(50)
        )
        views = []
        for row in rows.all():
            room, role = await access_room_by_id(connection, actor, row.id)
            views.append(room_view(services, room, role, now))
    return views


async def get_room(services: Services, actor: Actor, room_id: int) -> RoomView:
    async with services.engine.connect() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
    return room_view(services, room, role, services.now())


async def start_unscheduled(
    services: Services, actor: Actor, group_id: int, *, title: str, minutes: int = 55
) -> RoomView:
    """A teacher opens a virtual class for a class or group they teach, now; it is
    placed at once."""
    if not 10 <= minutes <= 240:
        raise InvalidInput(BAD_MINUTES, field="minutes")
    title = " ".join(title.split())[:200]
    now = services.now()
    async with services.engine.begin() as connection:
        group = await access_group_for_virtual_class(connection, actor, group_id)
        room_id = await insert_room(
            services,
            connection,
            school_id=actor.school_id,
            group_id=group_id,
            teacher_id=actor.person_id,
            title=title or group.name,
            starts_at=now,
            ends_at=now + timedelta(minutes=minutes),
        )
    if pool_of(services).configured:
        await place_room(services, room_id)
    return await get_room(services, actor, room_id)


async def invite(services: Services, actor: Actor, room_id: int, person_id: int) -> None:
    async with services.engine.begin() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        guest = (
            await connection.execute(
                sa.select(people.c.profile).where(
                    people.c.id == person_id, people.c.school_id == actor.school_id
                )
            )
        ).first()
        if guest is None or guest.profile not in {p.value for p in STAFF_PROFILES}:
            raise InvalidInput(GUEST_NOT_STAFF, field="person_id")
        try:
            async with connection.begin_nested():
                await connection.execute(
                    virtual_guests.insert().values(
                        school_id=actor.school_id, room_id=room_id, person_id=person_id
                    )
                )
        except IntegrityError:
            pass  # already invited
