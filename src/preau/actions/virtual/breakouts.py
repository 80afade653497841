"""Breakout groups: the teacher splits the pupils who joined a virtual class into groups
(at random or as chosen); each group gets a room of its own, placed on the Janus pool like
any room; the teacher visits any of them; bringing everyone back ends the group rooms and
every pupil's page returns to the main room (live event ``back``)."""

from __future__ import annotations

import random

import msgspec
import sqlalchemy as sa

from preau.actions.access import access_room_by_id
from preau.actions.context import Services
from preau.actions.virtual.placement import insert_room, place_room
from preau.actions.virtual.pool import pool_of
from preau.actions.virtual.rooms import require_host
from preau.adapters.sql.schema import (
    virtual_breakout_rooms,
    virtual_breakouts,
    virtual_rooms,
    virtual_seats,
)
from preau.domain.errors import Conflict, InvalidInput
from preau.domain.people import Actor
from preau.domain.virtual import Role
from preau.domain.virtual_room import (
    BREAKOUT_ALREADY,
    BREAKOUT_NONE,
    split_as_chosen,
    split_at_random,
)
from preau.i18n import lazy

NOT_SPLIT_HOW = lazy("Give either a number of groups or each pupil's group, not both.")

_chance = random.SystemRandom()


class BreakoutGroup(msgspec.Struct, kw_only=True):
    number: int
    room_id: int  # the group's own room: join it like any room
    members: list[int]


class Breakouts(msgspec.Struct, kw_only=True):
    groups: list[BreakoutGroup]
    mine: int | None  # the actor's group room, for a pupil


async def split(
    services: Services,
    actor: Actor,
    room_id: int,
    *,
    groups: int | None,
    chosen: dict[int, int] | None,
) -> Breakouts:
    if (groups is None) == (chosen is None):
        raise InvalidInput(NOT_SPLIT_HOW, field="groups")
    async with services.engine.begin() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        already = (
            await connection.execute(
                sa.select(virtual_breakout_rooms.c.group_room_id).where(
                    virtual_breakout_rooms.c.room_id == room_id
                )
            )
        ).first()
        if already is not None:
            raise Conflict(BREAKOUT_ALREADY)
        pupils = [
            row.person_id
            for row in await connection.execute(
                sa.select(virtual_seats.c.person_id)
                .where(
                    virtual_seats.c.room_id == room_id,
                    virtual_seats.c.role == Role.PUPIL.value,
                )
                .order_by(virtual_seats.c.person_id)
            )
        ]
        parts = (
            split_at_random(pupils, groups, _chance.shuffle)
            if groups is not None
            else split_as_chosen(chosen or {}, pupils)
        )
        made: list[BreakoutGroup] = []
        for number, members in enumerate(parts, start=1):
            group_room = await insert_room(
                services,
                connection,
                school_id=actor.school_id,
                group_id=room.group_id,
                teacher_id=room.teacher_id,
                title=f"{room.title} · {number}",
                starts_at=services.now(),
                ends_at=room.ends_at,
            )
            await connection.execute(
                virtual_rooms.update()
                .where(virtual_rooms.c.id == group_room)
                .values(expected=len(members) + 1)
            )
            await connection.execute(
                virtual_breakout_rooms.insert().values(
                    group_room_id=group_room,
                    school_id=actor.school_id,
                    room_id=room_id,
                    number=number,
                )
            )
            await connection.execute(
                virtual_breakouts.insert(),
                [
                    {
                        "school_id": actor.school_id,
                        "room_id": room_id,
                        "person_id": person_id,
                        "number": number,
                        "group_room_id": group_room,
                    }
                    for person_id in members
                ],
            )
            made.append(BreakoutGroup(number=number, room_id=group_room, members=members))
    if pool_of(services).configured:
        for group in made:
            await place_room(services, group.room_id)
    for group in made:
        await services.room_live.publish(
            services.state,
            room_id,
            "breakout",
            {"room_id": group.room_id, "number": group.number},
            to=group.members,
        )
    result = Breakouts(groups=made, mine=None)
    await services.room_live.publish(
        services.state, room_id, "breakouts", result, to=[int(room.teacher_id)]
    )
    return result


async def current(services: Services, actor: Actor, room_id: int) -> Breakouts:
    """The groups now (the teacher sees them all; a pupil only their own room)."""
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        rows = (
            await connection.execute(
                sa.select(virtual_breakouts)
                .where(virtual_breakouts.c.room_id == room_id)
                .order_by(virtual_breakouts.c.number, virtual_breakouts.c.person_id)
            )
        ).all()
    mine = next((row.group_room_id for row in rows if row.person_id == actor.person_id), None)
    if role is not Role.TEACHER:
        return Breakouts(groups=[], mine=mine)
    by_number: dict[int, BreakoutGroup] = {}
    for row in rows:
        group = by_number.setdefault(
            row.number, BreakoutGroup(number=row.number, room_id=row.group_room_id, members=[])
        )
        group.members.append(row.person_id)
    return Breakouts(groups=list(by_number.values()), mine=None)


async def bring_back(services: Services, actor: Actor, room_id: int) -> None:
    """Everyone back in the main room: the group rooms end, their pages follow."""
    now = services.now()
    async with services.engine.begin() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        group_rooms = [
            row.group_room_id
            for row in await connection.execute(
                sa.select(virtual_breakout_rooms.c.group_room_id).where(
                    virtual_breakout_rooms.c.room_id == room_id
                )
            )
        ]
        if not group_rooms:
            raise Conflict(BREAKOUT_NONE)
        await connection.execute(
            virtual_breakouts.delete().where(virtual_breakouts.c.room_id == room_id)
        )
        await connection.execute(
            virtual_breakout_rooms.delete().where(virtual_breakout_rooms.c.room_id == room_id)
        )
        await connection.execute(
            virtual_rooms.update().where(virtual_rooms.c.id.in_(group_rooms)).values(ended_at=now)
        )
    await services.room_live.publish(services.state, room_id, "back", {"room_id": room_id})
