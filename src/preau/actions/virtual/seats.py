"""Joining a virtual class: a seat for each person (no more than the room holds) and the
tokens Janus checks, which expire when the lesson ends."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_room_by_id
from preau.actions.context import Services
from preau.actions.virtual.placement import place_room
from preau.actions.virtual.rooms import room_view
from preau.adapters.sql.schema import people, virtual_rooms, virtual_seats
from preau.domain.errors import Conflict, ServiceUnavailable
from preau.domain.people import Actor
from preau.domain.turn import ice_servers, parse_turn_urls
from preau.domain.virtual import (
    NOT_OPEN_YET,
    ROOM_FULL,
    ROOM_OVER,
    UNAVAILABLE,
    JoinGrant,
    Role,
    core_token,
    room_token,
)


async def join(services: Services, actor: Actor, room_id: int) -> JoinGrant:
    """Tokens for the actor's seat in the room, which expire when the lesson ends.

    The first join of each person takes a seat; seats beyond the room's capacity are
    refused (Janus itself would let anyone with a token in). Joining again, after a
    reload or a fail-over, reuses the seat.
    """
    pool = services.janus
    now = services.now()
    async with services.engine.begin() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
        view = room_view(services, room, role, now)
        if view.over:
            raise Conflict(ROOM_OVER)
        if not view.open_now:
            minutes = (
                services.settings.janus_lead_minutes
                if role is Role.TEACHER
                else services.settings.janus_join_early_minutes
            )
            raise Conflict(NOT_OPEN_YET, minutes=minutes)
        # Only once the room is known to exist for this person and be open: 404 (or 409)
        # before 503, so an unavailable video service reveals nothing about rooms.
        if pool is None or not pool.configured:
            raise ServiceUnavailable(UNAVAILABLE)
        # Hold the room row while counting seats, so two joins cannot both take the last.
        await connection.execute(
            sa.select(virtual_rooms.c.id).where(virtual_rooms.c.id == room_id).with_for_update()
        )
        seated = (
            await connection.execute(
                sa.select(virtual_seats.c.role).where(
                    virtual_seats.c.room_id == room_id,
                    virtual_seats.c.person_id == actor.person_id,
                )
            )
        ).first()
        if seated is None:
            taken = (
                await connection.execute(
                    sa.select(sa.func.count())
                    .select_from(virtual_seats)
                    .where(virtual_seats.c.room_id == room_id)
                )
            ).scalar_one()
            if taken >= room.capacity and role is not Role.TEACHER:
                raise Conflict(ROOM_FULL)
            await connection.execute(
                virtual_seats.insert().values(
                    school_id=actor.school_id,
                    room_id=room_id,
                    person_id=actor.person_id,
                    role=role.value,
                    issued_at=now,
                    last_seen_at=now,
                )
            )
        else:  # back after a reload or a fail-over: still there, for the roll call
            await connection.execute(
                virtual_seats.update()
                .where(
                    virtual_seats.c.room_id == room_id,
                    virtual_seats.c.person_id == actor.person_id,
                )
                .values(last_seen_at=now)
            )
        me = (
            await connection.execute(
                sa.select(people.c.given_name, people.c.family_name).where(
                    people.c.id == actor.person_id
                )
            )
        ).one()
    node_name = room.node
    if not pool.healthy(node_name):
        # Placed on demand: an unscheduled class, a room whose node just died, or one
        # the scheduler has not reached yet.
        node_name = await place_room(services, room_id, from_node=node_name)
    node = pool.by_name[node_name]
    secret = services.settings.janus_token_secret
    ends_at = room.ends_at
    return JoinGrant(
        room_id=room_id,
        janus_room=room.janus_room,
        janus_url=node.janus_url,
        node=node.name,
        core_token=core_token(secret, ends_at),
        room_token=room_token(secret, ends_at, room.janus_room),
        role=role,
        display=f"{role.value}:{actor.person_id}:{me.given_name} {me.family_name}"[:100],
        expires_at=ends_at,
        title=room.title,
        ice_servers=ice_servers(
            secret=services.settings.turn_secret,
            urls=parse_turn_urls(services.settings.turn_urls),
            person_id=actor.person_id,
            now=now,
            ttl_seconds=services.settings.turn_ttl_seconds,
        ),
    )


async def seated_people(
    connection: AsyncConnection, room_id: int
) -> Sequence[sa.Row[int, str, str, str]]:
    """Everyone given a seat in the room: person id, role, given and family name, sorted
    by name. The caller has checked the actor may see them."""
    return (
        await connection.execute(
            sa.select(
                virtual_seats.c.person_id,
                virtual_seats.c.role,
                people.c.given_name,
                people.c.family_name,
            )
            .join(people, people.c.id == virtual_seats.c.person_id)
            .where(virtual_seats.c.room_id == room_id)
            .order_by(people.c.family_name, people.c.given_name)
        )
    ).all()
