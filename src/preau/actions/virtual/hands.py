"""Hands raised and the floor given in a virtual class, kept on the shared state, and the
teacher's list of participants."""

from __future__ import annotations

import time

import msgspec

from preau.actions.access import access_room_by_id
from preau.actions.context import Services
from preau.actions.virtual.rooms import require_host
from preau.actions.virtual.seats import seated_people
from preau.adapters.janus import JanusUnavailable
from preau.adapters.sql.schema import virtual_seats
from preau.domain.people import Actor
from preau.domain.virtual import Role

SPEAK_MARKS = 6 * 3600  # seconds a raised hand or a given floor is remembered at most


class Participant(msgspec.Struct, kw_only=True):
    person_id: int
    name: str
    role: str
    present: bool
    hand_raised: bool
    may_speak: bool


class Floor(msgspec.Struct, kw_only=True):
    """A participant's own state: hand raised, floor given."""

    hand_raised: bool
    may_speak: bool


def _hand_key(room_id: int, person_id: int) -> str:
    return f"virtual:hand:{room_id}:{person_id}"


def _floor_key(room_id: int, person_id: int) -> str:
    return f"virtual:floor:{room_id}:{person_id}"


async def _floor_of(services: Services, room_id: int, person_id: int, *, pupil: bool) -> Floor:
    """One person's hand and floor as the shared state holds them; only pupils wait for the
    floor, everyone else may always speak."""
    hand = await services.state.get(_hand_key(room_id, person_id))
    may_speak = not pupil or await services.state.get(_floor_key(room_id, person_id)) is not None
    return Floor(hand_raised=hand is not None, may_speak=may_speak)


async def raise_hand(services: Services, actor: Actor, room_id: int, *, raised: bool) -> Floor:
    async with services.engine.connect() as connection:
        await access_room_by_id(connection, actor, room_id)
    if raised:
        await services.state.set(_hand_key(room_id, actor.person_id), b"1", ttl_seconds=SPEAK_MARKS)
    else:
        await services.state.delete(_hand_key(room_id, actor.person_id))
    return await floor(services, actor, room_id)


# A page asks for its floor every few seconds; ``last_seen_at`` is written at most once a
# minute per pupil from each process (``services.seen_written`` remembers when).
SEEN_EVERY = 60.0
SEEN_REMEMBERED = 50_000


async def floor(services: Services, actor: Actor, room_id: int) -> Floor:
    """The pupil's hand and floor; asking also says the pupil is still in the room, which
    the roll call reads (``virtual_seats.last_seen_at``, docs/attendance.md)."""
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
    if role is Role.PUPIL:
        await _still_here(services, room_id, actor.person_id)
    return await _floor_of(services, room_id, actor.person_id, pupil=role is Role.PUPIL)


async def _still_here(services: Services, room_id: int, person_id: int) -> None:
    key = (room_id, person_id)
    moment = time.monotonic()
    written = services.seen_written
    if key in written and moment - written[key] < SEEN_EVERY:
        return
    if len(written) >= SEEN_REMEMBERED:
        written.clear()
    written[key] = moment
    async with services.engine.begin() as connection:
        await connection.execute(
            virtual_seats.update()
            .where(virtual_seats.c.room_id == room_id, virtual_seats.c.person_id == person_id)
            .values(last_seen_at=services.now())
        )


async def give_floor(
    services: Services, actor: Actor, room_id: int, person_id: int, *, allowed: bool
) -> None:
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
    require_host(role)
    if allowed:
        await services.state.set(_floor_key(room_id, person_id), b"1", ttl_seconds=SPEAK_MARKS)
        await services.state.delete(_hand_key(room_id, person_id))
    else:
        await services.state.delete(_floor_key(room_id, person_id))


async def participants(services: Services, actor: Actor, room_id: int) -> list[Participant]:
    """Who was given a seat, who is in the room now (as Janus sees it), hands and floor."""
    pool = services.janus
    async with services.engine.connect() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        rows = await seated_people(connection, room_id)
    present: set[int] = set()
    if pool is not None and pool.healthy(room.node):
        try:
            for item in await pool.admin.participants(pool.by_name[room.node], room.janus_room):
                parts = str(item.get("display", "")).split(":", 2)
                if len(parts) == 3 and parts[1].isdigit():
                    present.add(int(parts[1]))
        except JanusUnavailable:
            pass
    found: list[Participant] = []
    for row in rows:
        state = await _floor_of(
            services, room_id, row.person_id, pupil=row.role == Role.PUPIL.value
        )
        found.append(
            Participant(
                person_id=row.person_id,
                name=f"{row.given_name} {row.family_name}",
                role=row.role,
                present=row.person_id in present,
                hand_raised=state.hand_raised,
                may_speak=state.may_speak,
            )
        )
    return found
