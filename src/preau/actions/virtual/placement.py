"""Rooms created ahead of each virtual lesson and placed on the Janus node with the most
spare capacity; the live rooms of a node that stopped answering moved to another.

Rooms are claimed with compare-and-set updates, so several processes doing this at once
place each room once.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.actions.timetable.lessons import expand_lessons, load_lessons
from preau.actions.virtual.pool import JanusPool, pool_of
from preau.actions.zones import school_zone
from preau.adapters.janus import JanusUnavailable
from preau.adapters.sql.schema import (
    enrolments,
    timetable_changes,
    timetable_lessons,
    virtual_rooms,
)
from preau.domain.errors import ServiceUnavailable
from preau.domain.virtual import (
    AUDIO_BITRATE,
    NO_ROOM_FOR_CLASS,
    UNAVAILABLE,
    NodeLoad,
    choose_node,
    planned_bitrate,
    room_secret,
)

log = logging.getLogger("preau.virtual")


async def node_loads(
    connection: AsyncConnection, pool: JanusPool, now: datetime
) -> dict[str, NodeLoad]:
    rows = await connection.execute(
        sa.select(
            virtual_rooms.c.node,
            sa.func.coalesce(sa.func.sum(virtual_rooms.c.expected), 0).label("participants"),
            sa.func.count().label("rooms"),
            # The same egress as planned_bitrate: the teacher's stream to every other one.
            sa.func.coalesce(
                sa.func.sum(
                    (virtual_rooms.c.expected - 1) * (virtual_rooms.c.bitrate + AUDIO_BITRATE)
                ),
                0,
            ).label("bitrate"),
        )
        .where(
            virtual_rooms.c.node.is_not(None),
            virtual_rooms.c.ends_at > now,
            virtual_rooms.c.ended_at.is_(None),
        )
        .group_by(virtual_rooms.c.node)
    )
    used = {row.node: row for row in rows}
    loads = {}
    for node in pool.nodes:
        health = pool.health[node.name]
        row = used.get(node.name)
        loads[node.name] = NodeLoad(
            name=node.name,
            healthy=health.healthy,
            accepting=health.accepting,
            participants=int(row.participants) if row else 0,
            bitrate=int(row.bitrate) if row else 0,
        )
    return loads


async def place_room(services: Services, room_id: int, *, from_node: str | None = None) -> str:
    """Put the room on the node with the most spare capacity and create it there.

    ``from_node`` is the node it is leaving (fail-over), or None for a first placement;
    the claim only succeeds if the room is still where the caller saw it.
    """
    pool = pool_of(services)
    tried: set[str] = set()
    while True:
        async with services.engine.begin() as connection:
            room = (
                await connection.execute(
                    sa.select(virtual_rooms).where(virtual_rooms.c.id == room_id)
                )
            ).one()
            if room.node != from_node:
                return str(room.node)  # someone else placed or moved it
            loads = await node_loads(connection, pool, services.now())
            for name in tried:
                loads.pop(name, None)
            if from_node is not None:
                loads.pop(from_node, None)
            node = choose_node(
                pool.nodes,
                loads,
                room.expected,
                planned_bitrate(room.expected, room.bitrate),
            )
            if node is None:
                raise ServiceUnavailable(NO_ROOM_FOR_CLASS if pool.any_available() else UNAVAILABLE)
            claim = virtual_rooms.update().where(virtual_rooms.c.id == room_id)
            claim = claim.where(
                virtual_rooms.c.node.is_(None)
                if from_node is None
                else virtual_rooms.c.node == from_node
            )
            claimed = await connection.execute(
                claim.values(node=node.name, placed_at=services.now())
            )
            if claimed.rowcount != 1:
                continue
        try:
            await pool.admin.create_room(
                node,
                janus_room=room.janus_room,
                description=room.title,
                bitrate=room.bitrate,
                room_secret=room_secret(services.settings.janus_token_secret, room.janus_room),
            )
        except JanusUnavailable as error:
            log.warning("could not create room %s on %s: %s", room_id, node.name, error)
            tried.add(node.name)
            async with services.engine.begin() as connection:
                await connection.execute(
                    virtual_rooms.update()
                    .where(virtual_rooms.c.id == room_id, virtual_rooms.c.node == node.name)
                    .values(node=from_node)
                )
            continue
        log.info("room %s placed on %s (was %s)", room_id, node.name, from_node)
        return node.name


async def _expected(connection: AsyncConnection, school_id: int, group_id: int) -> int:
    pupils = (
        await connection.execute(
            sa.select(sa.func.count())
            .select_from(enrolments)
            .where(
                enrolments.c.school_id == school_id,
                enrolments.c.group_id == group_id,
                enrolments.c.role == "pupil",
            )
        )
    ).scalar_one()
    return int(pupils) + 1


def new_janus_room() -> int:
    """A random id below 2**53, so the page's JavaScript reads it exactly."""
    return secrets.randbelow(2**53 - 2**20) + 2**20


async def insert_room(
    services: Services,
    connection: AsyncConnection,
    *,
    school_id: int,
    group_id: int,
    teacher_id: int,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    lesson_id: int | None = None,
    day: date | None = None,
) -> int:
    """A new room for a class or group, sized for its pupils and teacher; placed apart."""
    expected = await _expected(connection, school_id, group_id)
    result = await connection.execute(
        virtual_rooms.insert().values(
            school_id=school_id,
            group_id=group_id,
            lesson_id=lesson_id,
            day=day,
            teacher_id=teacher_id,
            title=title[:200],
            starts_at=starts_at.astimezone(UTC),
            ends_at=ends_at.astimezone(UTC),
            janus_room=new_janus_room(),
            expected=expected,
            capacity=max(services.settings.janus_room_cap, 2),
            bitrate=services.settings.janus_room_bitrate,
            created_at=services.now(),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]  # one key


async def place_upcoming(services: Services, now: datetime | None = None) -> list[int]:
    """Create the rooms of virtual lessons starting within the lead time (or under way),
    then place every room due and not yet placed. Returns the rooms placed now."""
    now = now or services.now()
    lead = timedelta(minutes=services.settings.janus_lead_minutes)
    async with services.engine.begin() as connection:
        await _create_lesson_rooms(services, connection, now, lead)
        due = await connection.execute(
            sa.select(virtual_rooms.c.id).where(
                virtual_rooms.c.node.is_(None),
                virtual_rooms.c.ended_at.is_(None),
                virtual_rooms.c.starts_at <= now + lead,
                virtual_rooms.c.ends_at > now,
            )
        )
        due_ids = [row.id for row in due]
    placed: list[int] = []
    if not pool_of(services).configured:
        return placed
    for room_id in due_ids:
        try:
            await place_room(services, room_id)
            placed.append(room_id)
        except ServiceUnavailable as error:
            log.warning("room %s not placed: %s", room_id, error.message)
    return placed


async def _create_lesson_rooms(
    services: Services, connection: AsyncConnection, now: datetime, lead: timedelta
) -> None:
    """The room of every virtual lesson, in every school, starting within ``lead`` (or under
    way) that has none yet; rooms created by another process at the same time are kept."""
    # A system query across schools: which lessons can be virtual at all.
    flagged = await connection.execute(
        sa.select(timetable_lessons.c.school_id, timetable_lessons.c.id).where(
            sa.or_(
                timetable_lessons.c.virtual.is_(True),
                timetable_lessons.c.id.in_(
                    sa.select(timetable_changes.c.lesson_id).where(
                        timetable_changes.c.virtual.is_(True)
                    )
                ),
            )
        )
    )
    by_school: dict[int, list[int]] = defaultdict(list)
    for row in flagged:
        by_school[row.school_id].append(row.id)
    for school_id, lesson_ids in by_school.items():
        lessons = await load_lessons(connection, school_id, lesson_ids=lesson_ids)
        zone = await school_zone(services, school_id, connection)
        today = now.astimezone(zone).date()
        occurrences = await expand_lessons(connection, school_id, lessons, today, 2, zone=zone)
        for item in occurrences:
            if not item.virtual or item.status == "cancelled" or item.teacher_id is None:
                continue
            if not item.starts_at - lead <= now < item.ends_at:
                continue
            exists = await connection.execute(
                sa.select(virtual_rooms.c.id).where(
                    virtual_rooms.c.lesson_id == item.lesson_id,
                    virtual_rooms.c.day == item.day,
                )
            )
            if exists.first() is not None:
                continue
            try:
                async with connection.begin_nested():
                    await insert_room(
                        services,
                        connection,
                        school_id=school_id,
                        group_id=item.group_id,
                        teacher_id=item.teacher_id,
                        title=f"{item.subject} — {item.group_name}",
                        starts_at=item.starts_at,
                        ends_at=item.ends_at,
                        lesson_id=item.lesson_id,
                        day=item.day,
                    )
            except IntegrityError:
                continue  # another process created it first


async def relocate_rooms(services: Services) -> list[int]:
    """Re-create on another node every live room of a node that stopped answering."""
    pool = pool_of(services)
    dead = [node.name for node in pool.nodes if not pool.health[node.name].healthy]
    if not dead:
        return []
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.select(virtual_rooms.c.id, virtual_rooms.c.node).where(
                virtual_rooms.c.node.in_(dead),
                virtual_rooms.c.ends_at > services.now(),
                virtual_rooms.c.ended_at.is_(None),
            )
        )
        stranded = [(row.id, row.node) for row in rows]
    moved = []
    for room_id, node in stranded:
        try:
            await place_room(services, room_id, from_node=node)
            moved.append(room_id)
        except ServiceUnavailable as error:
            log.warning("room %s stays on dead node %s: %s", room_id, node, error.message)
    return moved
