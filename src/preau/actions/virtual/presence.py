"""Who was in a virtual class, when and for how long: each open class page (its live
stream) is a stay, from the moment it connects to the moment it closes. The teacher reads
the totals after the class; the roll call reads the seat's ``last_seen_at``, which a stay
keeps current (docs/attendance.md), so attendance has one source and no second copy."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_room_by_id
from preau.actions.context import Services
from preau.actions.virtual.rooms import require_host
from preau.actions.virtual.seats import seated_people
from preau.adapters.sql.schema import virtual_presence, virtual_rooms, virtual_seats
from preau.domain.people import Actor
from preau.domain.virtual import Role
from preau.domain.virtual_room import seconds_present


class Stay(msgspec.Struct, kw_only=True):
    joined_at: datetime
    left_at: datetime | None


class PresenceLine(msgspec.Struct, kw_only=True):
    person_id: int
    name: str
    role: str
    first_joined_at: datetime | None
    last_left_at: datetime | None  # None while still there (or never came)
    seconds: int
    stays: list[Stay]


async def arrive(services: Services, actor: Actor, room_id: int) -> tuple[int, Role, int]:
    """The actor's page opened its stream: (the stay's id, the actor's role, the teacher)."""
    now = services.now()
    async with services.engine.begin() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
        stay_id = (
            await connection.execute(
                virtual_presence.insert()
                .values(
                    school_id=actor.school_id,
                    room_id=room_id,
                    person_id=actor.person_id,
                    joined_at=now,
                )
                .returning(virtual_presence.c.id)
            )
        ).scalar_one()
        await _seen(connection, room_id, actor.person_id, now)
    return int(stay_id), role, int(room.teacher_id)


async def leave(services: Services, room_id: int, person_id: int, stay_id: int) -> None:
    """The page closed (or its connection was lost): the stay ends now."""
    now = services.now()
    async with services.engine.begin() as connection:
        await connection.execute(
            virtual_presence.update()
            .where(virtual_presence.c.id == stay_id, virtual_presence.c.left_at.is_(None))
            .values(left_at=now)
        )
        await _seen(connection, room_id, person_id, now)


async def _seen(connection: AsyncConnection, room_id: int, person_id: int, now: datetime) -> None:
    await connection.execute(
        virtual_seats.update()
        .where(virtual_seats.c.room_id == room_id, virtual_seats.c.person_id == person_id)
        .values(last_seen_at=now)
    )


async def presence(services: Services, actor: Actor, room_id: int) -> list[PresenceLine]:
    """Everyone given a seat, with their stays and total time (the teacher)."""
    async with services.engine.connect() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        seats = await seated_people(connection, room_id)
        stays = (
            await connection.execute(
                sa.select(virtual_presence)
                .where(virtual_presence.c.room_id == room_id)
                .order_by(virtual_presence.c.joined_at)
            )
        ).all()
        ends = (
            await connection.execute(
                sa.select(virtual_rooms.c.ends_at, virtual_rooms.c.ended_at).where(
                    virtual_rooms.c.id == room.id
                )
            )
        ).one()
    until = min(services.now(), ends.ended_at or ends.ends_at)
    by_person: dict[int, list[Stay]] = defaultdict(list)
    for stay in stays:
        by_person[stay.person_id].append(Stay(joined_at=stay.joined_at, left_at=stay.left_at))
    lines = []
    for seat in seats:
        own = by_person.get(seat.person_id, [])
        still_there = any(stay.left_at is None for stay in own)
        lefts = [stay.left_at for stay in own if stay.left_at is not None]
        lines.append(
            PresenceLine(
                person_id=seat.person_id,
                name=f"{seat.given_name} {seat.family_name}",
                role=seat.role,
                first_joined_at=own[0].joined_at if own else None,
                last_left_at=None if still_there or not lefts else max(lefts),
                seconds=seconds_present(((s.joined_at, s.left_at) for s in own), until),
                stays=own,
            )
        )
    return lines
